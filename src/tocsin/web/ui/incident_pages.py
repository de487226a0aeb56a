"""Console pages of incidents: the list, the declare form, and an incident with its timeline and edit forms.

Each page has a `.json` twin rendered from the same view. Forms work without JavaScript, post
the incident's `version` (a stale one gets a 409 page saying so), and go through the same
functions as the API, so every change is timelined and audited; the CSRF check is the guard's.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.datastructures import FormData

from tocsin.incidents.model import ROLES, SEVERITIES, Severity, Status
from tocsin.web import incident_views as v
from tocsin.web.api.alerts import group_detail
from tocsin.web.api.incidents import ChangeRequest, DeclareRequest, add_note, change_incident, declare_incident, detail
from tocsin.web.api.incidents import service as incident_service
from tocsin.web.ui.forms import form_text, form_values
from tocsin.web.ui.render import error_page, render, twin

router = APIRouter(include_in_schema=False)
RECENT = 50  # closed incidents shown under the open ones
DEFAULT_SEVERITY = Severity.SEV3


class IncidentPage(BaseModel):
    """The incidents page: open ones (newest first), then the most recent resolved ones."""

    open: list[v.IncidentView]
    recent: list[v.IncidentView]


class DeclareForm(BaseModel):
    """The declare form, possibly prefilled from an alert group, with the reason it was refused."""

    title: str = ""
    severity: str = DEFAULT_SEVERITY.value
    summary: str = ""
    group_key: str = ""
    error: str | None = None


async def _incident_page(request: Request) -> IncidentPage:
    found = [v.incident_view(i) for i in await incident_service(request).store.find()]
    open_ = [i for i in found if i.status != Status.RESOLVED.value]
    recent = [i for i in found if i.status == Status.RESOLVED.value][:RECENT]
    return IncidentPage(open=open_, recent=recent)


@router.get("/incidents.json")
async def incidents_json(request: Request) -> JSONResponse:
    """JSON twin of the incidents page."""
    return twin(await _incident_page(request))


@router.get("/incidents")
async def incidents_page(request: Request) -> Response:
    """Open incidents first, then recently resolved ones, with severity and status."""
    return render(request, "incidents.html", await _incident_page(request), active="incidents")


async def _prefilled(request: Request, key: str) -> DeclareForm:
    """The declare form prefilled from alert group `key` (title and summary from its alerts)."""
    group = (await group_detail(request, key)).group
    summaries = [a.annotations.get("summary") or a.labels.get("alertname", "") for a in group.alerts]
    labels = ", ".join(f"{k}={val}" for k, val in group.labels.items())
    title = next((s for s in summaries if s), "") or labels or "Alert group"
    summary = "\n".join(sorted({s for s in summaries if s}))
    return DeclareForm(title=title[:300], summary=summary, group_key=key)


def _declare_form(request: Request, form: DeclareForm, status: int = 200) -> Response:
    return render(request, "incident_form.html", form, status=status, active="incidents", severities=SEVERITIES)


@router.get("/incidents/new")
async def new_incident(request: Request, group: str = "") -> Response:
    """The declare form; `?group=KEY` prefills it from an alert group and links the incident to it."""
    return _declare_form(request, await _prefilled(request, group) if group else DeclareForm())


@router.post("/incidents")
async def declare_form(request: Request) -> Response:
    """Declare an incident from the form (audited); on a problem, show the form again with the reason."""
    data = await form_values(request)
    form = DeclareForm(
        title=form_text(data, "title"),
        severity=form_text(data, "severity") or DEFAULT_SEVERITY.value,
        summary=form_text(data, "summary"),
        group_key=form_text(data, "group_key"),
    )
    if not form.title.strip():
        return _declare_form(request, form.model_copy(update={"error": "title: give the incident a title"}), 400)
    body = DeclareRequest(
        title=form.title[:300], severity=form.severity, summary=form.summary, group_key=form.group_key or None
    )
    try:
        created = await declare_incident(request, body)
    except HTTPException as exc:
        return _declare_form(request, form.model_copy(update={"error": str(exc.detail)}), exc.status_code)
    return RedirectResponse(f"/incidents/{created.incident.id}", status_code=303)


@router.get("/incidents/{incident_id}.json")
async def incident_json(request: Request, incident_id: int) -> JSONResponse:
    """JSON twin of an incident's page (the same body as `GET /api/v1/incidents/{incident_id}`)."""
    return twin(await detail(request, incident_id))


def _incident(request: Request, view: v.IncidentDetail, error: str | None = None, status: int = 200) -> Response:
    return render(
        request,
        "incident.html",
        view,
        status=status,
        active="incidents",
        error=error,
        severities=SEVERITIES,
        roles=ROLES,
        timeline=list(reversed(view.timeline)),
    )


@router.get("/incidents/{incident_id}")
async def incident_page(request: Request, incident_id: int) -> Response:
    """An incident: record, roles, times, linked alert groups, the timeline newest first, and edit forms."""
    return _incident(request, await detail(request, incident_id))


def _change(data: FormData) -> ChangeRequest:
    """The edit one form asks for: a status, a severity, or a role (an empty user clears it)."""
    version = form_text(data, "version")
    if not version.isdigit():
        raise HTTPException(400, "version: the form lost the incident's version; reload the page")
    fields: dict[str, object] = {n: form_text(data, n) for n in ("status", "severity") if form_text(data, n)}
    if role := form_text(data, "role"):
        fields["roles"] = {role: form_text(data, "user").strip() or None}
    return ChangeRequest.model_validate({"version": int(version), **fields})  # only what the form set is audited


def _stale(incident_id: int, reason: str) -> str:
    return (
        f"Someone changed incident {incident_id} after you opened it ({reason}), so nothing was changed. "
        "Reload the incident's page to see the change, then apply yours again."
    )


async def _refused(request: Request, incident_id: int, exc: HTTPException) -> Response:
    """A refused edit: a 409 page for a stale version, the incident page with the reason for a 400."""
    if exc.status_code == 409:
        return error_page(request, 409, _stale(incident_id, str(exc.detail)))
    if exc.status_code != 400:
        raise exc
    return _incident(request, await detail(request, incident_id), str(exc.detail), 400)


@router.post("/incidents/{incident_id}/change")
async def change_form(request: Request, incident_id: int) -> Response:
    """The status, severity and role forms: apply the edit at the posted version (audited)."""
    try:
        await change_incident(request, incident_id, _change(await form_values(request)))
    except HTTPException as exc:
        return await _refused(request, incident_id, exc)
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.post("/incidents/{incident_id}/notes")
async def note_form(request: Request, incident_id: int) -> Response:
    """The note form: add a note to the timeline (audited; notes need no version)."""
    text = form_text(await form_values(request), "text")
    try:
        await add_note(request, incident_id, text[:10_000])
    except HTTPException as exc:
        return await _refused(request, incident_id, exc)
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)
