"""Console pages of incidents: the list, the declare form, and an incident with its timeline and edit forms.

Each page has a `.json` twin rendered from the same view. Forms work without JavaScript, post
the incident's `version` (a stale one gets a 409 page saying so), and go through the same
functions as the API, so every change is timelined and audited; the CSRF check is the guard's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from tocsin.incidents.actions import KINDS, STATUSES
from tocsin.incidents.model import IMPACTS, MILESTONES, Status
from tocsin.web import incident_views as v
from tocsin.web.api.alerts import group_detail
from tocsin.web.api.incident_actions import ActionRequest, change_action, create_action
from tocsin.web.api.incidents import (
    ChangeRequest,
    DeclareRequest,
    EntryRequest,
    ImpactRequest,
    add_note,
    change_incident,
    declare_incident,
    detail,
    edit_entry,
    open_incident_of,
    roles,
    severities,
)
from tocsin.web.api.incidents import service as incident_service
from tocsin.web.deps import runtime
from tocsin.web.incident_targets import known_components, known_services
from tocsin.web.ui.forms import form_text, form_values
from tocsin.web.ui.render import error_page, render, twin

router = APIRouter(include_in_schema=False)
RECENT = 50  # closed incidents shown under the open ones
LOCAL = "%Y-%m-%dT%H:%M:%S"  # what <input type="datetime-local" step="1"> posts; the console's times are UTC


class IncidentPage(BaseModel):
    """The incidents page: open ones (newest first), then the most recent resolved ones."""

    open: list[v.IncidentView]
    recent: list[v.IncidentView]


class DeclareForm(BaseModel):
    """The declare form, possibly prefilled from an alert group, with the reason it was refused."""

    title: str = ""
    severity: str = ""  # the form preselects the middle of the configured levels
    summary: str = ""
    group_key: str = ""
    error: str | None = None
    linked_id: int | None = None  # the open incident the group already belongs to: declaring again is refused
    linked_title: str = ""


async def _incident_page(request: Request) -> IncidentPage:
    levels = severities(request)
    found = [v.incident_view(i, levels) for i in await incident_service(request).store.find()]
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
    form = DeclareForm(title=title[:300], summary=summary, group_key=key)
    return await _with_link(request, form)


async def _with_link(request: Request, form: DeclareForm) -> DeclareForm:
    """The form with the open incident its alert group already belongs to, if any."""
    linked = await open_incident_of(request, form.group_key) if form.group_key else None
    if linked is None:
        return form
    return form.model_copy(update={"linked_id": linked.id, "linked_title": linked.title})


def _middle(request: Request) -> str:
    """The severity the console suggests: the middle of the configured levels."""
    levels = list(severities(request))
    return levels[len(levels) // 2]


async def _one_click(request: Request, form: DeclareForm) -> DeclareForm:
    """The alert group page's one-click declare: the form's prefilled title and summary, the middle severity."""
    try:
        prefilled = await _prefilled(request, form.group_key)
    except HTTPException:
        return form  # an unknown group: declaring says so
    update = {"title": form.title or prefilled.title, "summary": form.summary or prefilled.summary}
    return form.model_copy(update={**update, "severity": form.severity or _middle(request)})


def _declare_form(request: Request, form: DeclareForm, status: int = 200) -> Response:
    levels = severities(request)
    if not form.severity:
        form = form.model_copy(update={"severity": _middle(request)})
    return render(request, "incident_form.html", form, status=status, active="incidents", severities=levels)


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
        severity=form_text(data, "severity"),
        summary=form_text(data, "summary"),
        group_key=form_text(data, "group_key"),
    )
    if form_text(data, "quick") and form.group_key:
        form = await _one_click(request, form)
    if not form.title.strip():
        return _declare_form(request, form.model_copy(update={"error": "title: give the incident a title"}), 400)
    body = DeclareRequest(
        title=form.title[:300],
        severity=form.severity,
        summary=form.summary[:20_000],
        group_key=form.group_key or None,
        source="alert_group" if form.group_key else "console",
    )
    try:
        created = await declare_incident(request, body)
    except HTTPException as exc:
        refused = await _with_link(request, form.model_copy(update={"error": str(exc.detail)}))
        return _declare_form(request, refused, exc.status_code)
    return RedirectResponse(f"/incidents/{created.incident.id}", status_code=303)


@router.get("/incidents/{incident_id}.json")
async def incident_json(request: Request, incident_id: int) -> JSONResponse:
    """JSON twin of an incident's page (the same body as `GET /api/v1/incidents/{incident_id}`)."""
    return twin(await detail(request, incident_id))


async def _incident(request: Request, view: v.IncidentDetail, error: str | None = None, status: int = 200) -> Response:
    rt = runtime(request)
    components = await known_components(rt)
    targets = [("service", "", name) for name in known_services(rt)]
    targets += [("component", page, name) for page, names in components.items() for name in names]
    return render(
        request,
        "incident.html",
        view,
        status=status,
        active="incidents",
        error=error,
        severities=severities(request),
        roles=roles(request),
        timeline=list(reversed(view.timeline)),
        local_times={n: at.astimezone(UTC).strftime(LOCAL) if at else "" for n, at in view.incident.times.items()},
        targets=targets,
        impacts=IMPACTS,
        action_kinds=KINDS,
        action_statuses=STATUSES,
    )


@router.get("/incidents/{incident_id}")
async def incident_page(request: Request, incident_id: int) -> Response:
    """An incident: record, impacts, roles, times, alert groups, actions, the timeline newest first, and forms."""
    return await _incident(request, await detail(request, incident_id))


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
    return await _incident(request, await detail(request, incident_id), str(exc.detail), 400)


async def _apply(request: Request, incident_id: int, change: Any) -> Response:
    """Run one form's change; back to the incident's page, or the refusal (400 page, 409 page)."""
    try:
        await change
    except HTTPException as exc:
        return await _refused(request, incident_id, exc)
    except ValidationError as exc:
        return await _refused(request, incident_id, HTTPException(400, _first_error(exc)))
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"


def _version(data: FormData) -> int:
    version = form_text(data, "version")
    if not version.isdigit():
        raise HTTPException(400, "version: the form lost the incident's version; reload the page")
    return int(version)


def _when(data: FormData, key: str) -> datetime | None:
    """A posted datetime-local value read as UTC; None when empty."""
    text = form_text(data, key).strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        raise HTTPException(400, f"{key}: {text!r} is not a date and time (YYYY-MM-DDTHH:MM)") from None


def _edit(data: FormData, current: v.IncidentView) -> ChangeRequest:
    """The title, summary and time edits of the record form: only what differs from what the page showed."""
    fields: dict[str, Any] = {"title": form_text(data, "title"), "summary": form_text(data, "summary")}
    times: dict[str, datetime | None] = {}
    for name in MILESTONES:
        if name not in data:
            continue
        shown = current.times.get(name)
        if form_text(data, name).strip() != (shown.astimezone(UTC).strftime(LOCAL) if shown else ""):
            times[name] = _when(data, name)
    return ChangeRequest.model_validate({"version": _version(data), **fields, "times": times})


@router.post("/incidents/{incident_id}/change")
async def change_form(request: Request, incident_id: int) -> Response:
    """The status, severity and role forms: apply the edit at the posted version (audited)."""
    try:
        await change_incident(request, incident_id, _change(await form_values(request)))
    except HTTPException as exc:
        return await _refused(request, incident_id, exc)
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)


@router.post("/incidents/{incident_id}/edit")
async def edit_form(request: Request, incident_id: int) -> Response:
    """The record form: title, summary and the five times (UTC) at the posted version (audited)."""
    data = await form_values(request)
    current = (await detail(request, incident_id)).incident

    async def run() -> None:
        await change_incident(request, incident_id, _edit(data, current))

    return await _apply(request, incident_id, run())


@router.post("/incidents/{incident_id}/impacts")
async def impacts_form(request: Request, incident_id: int) -> Response:
    """The impact form: set (or with `none`, remove) one service's or component's impact, keeping the others."""
    data = await form_values(request)
    current = (await detail(request, incident_id)).incident

    async def run() -> None:
        kind, _, rest = form_text(data, "target").partition(":")
        page, _, name = rest.partition("/") if kind == "component" else ("", "", rest)
        keep = [i for i in current.impacts if (i.kind, i.page, i.name) != (kind, page, name)]
        impact = form_text(data, "impact")
        new = [ImpactRequest(kind=kind, page=page, name=name, impact=impact)] if impact != "none" else []
        impacts = [ImpactRequest(**i.model_dump()) for i in keep] + new
        await change_incident(request, incident_id, ChangeRequest(version=_version(data), impacts=impacts))

    return await _apply(request, incident_id, run())


@router.post("/incidents/{incident_id}/timeline/{entry_id}")
async def entry_form(request: Request, incident_id: int, entry_id: int) -> Response:
    """The timeline buttons and edit form: pin/unpin, hide/show in the postmortem, reword (audited)."""
    data = await form_values(request)
    flags = {"pin": ("pinned", True), "unpin": ("pinned", False), "hide": ("hidden", True), "show": ("hidden", False)}
    op = form_text(data, "op")
    body: dict[str, Any] = dict([flags[op]]) if op in flags else {"text": form_text(data, "text")[:10_000]}
    return await _apply(request, incident_id, edit_entry(request, incident_id, entry_id, EntryRequest(**body)))


@router.post("/incidents/{incident_id}/actions")
async def action_form(request: Request, incident_id: int) -> Response:
    """The new-action form (audited; no version: actions are their own records)."""
    data = await form_values(request)

    async def run() -> None:
        due = _when(data, "due")
        body = ActionRequest(
            title=form_text(data, "title"),
            owner=form_text(data, "owner").strip() or None,
            kind=form_text(data, "kind") or "prevent",
            due=due,
        )
        await create_action(request, incident_id, body)

    return await _apply(request, incident_id, run())


@router.post("/incidents/{incident_id}/actions/{action_id}")
async def action_change_form(request: Request, incident_id: int, action_id: int) -> Response:
    """An action's row form: status, owner and due date (an empty owner or due clears it)."""
    data = await form_values(request)

    async def run() -> None:
        values: dict[str, Any] = {k: form_text(data, k) for k in ("status", "kind") if form_text(data, k)}
        if "owner" in data:
            values["owner"] = form_text(data, "owner").strip() or None
        if "due" in data:
            values["due"] = _when(data, "due")
        await change_action(request, incident_id, action_id, values)

    return await _apply(request, incident_id, run())


@router.post("/incidents/{incident_id}/notes")
async def note_form(request: Request, incident_id: int) -> Response:
    """The note form: add a note to the timeline (audited; notes need no version)."""
    text = form_text(await form_values(request), "text")
    try:
        await add_note(request, incident_id, text[:10_000])
    except HTTPException as exc:
        return await _refused(request, incident_id, exc)
    return RedirectResponse(f"/incidents/{incident_id}", status_code=303)
