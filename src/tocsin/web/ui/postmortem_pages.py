"""Console pages of postmortems: read (sanitised HTML), edit with preview, review states, versions.

Everything works without JavaScript: "Preview" posts the text and gets the page back with it
rendered and still in the edit box, nothing saved. Every form posts the `version` it showed;
a stale one gets a 409 page that keeps the text you tried to save in the edit box, next to
the newer saved version, so nothing is lost. Each page has a `.json` twin from the same view.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from tocsin.incidents.postmortem import html
from tocsin.incidents.postmortem_service import MAX_BODY
from tocsin.incidents.service import IncidentNotFound
from tocsin.web.api import postmortems as api
from tocsin.web.deps import runtime
from tocsin.web.ui.forms import form_text, form_values
from tocsin.web.ui.render import render, twin

router = APIRouter(include_in_schema=False)


class PostmortemPage(BaseModel):
    """The postmortem page: the incident, its postmortem (None until drafted), versions, the edit box."""

    incident_id: int
    incident_title: str
    incident_status: str
    postmortem: api.PostmortemView | None
    versions: list[api.VersionSummary]
    text: str  # what the edit box holds: the saved text, or what was posted for a preview or refused
    preview: str | None = None  # HTML of the posted text when previewing
    conflict: str | None = None  # why the posted text was not saved (someone saved first)
    error: str | None = None
    skipped: list[str] = []  # sections "regenerate facts" left alone (their markers were removed)


async def _page(request: Request, incident_id: int, **extra: object) -> PostmortemPage:
    try:
        incident = await runtime(request).incidents.get(incident_id)
    except IncidentNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    found = await api.service(request).store.get(incident_id)
    view = api.postmortem_view(found) if found is not None else None
    listed = (await api.versions(request, incident_id)).versions if found is not None else []
    page = PostmortemPage(
        incident_id=incident_id,
        incident_title=incident.title,
        incident_status=incident.status.value,
        postmortem=view,
        versions=listed,
        text=view.body if view else "",
    )
    return page.model_copy(update=extra)


def _show(request: Request, page: PostmortemPage, status: int = 200) -> Response:
    return render(request, "postmortem.html", page, status=status, active="incidents")


def _back(incident_id: int) -> Response:
    return RedirectResponse(f"/incidents/{incident_id}/postmortem", status_code=303)


def _version(text: str) -> int:
    if not text.isdigit():
        raise HTTPException(400, "version: the form lost the postmortem's version; reload the page")
    return int(text)


async def _refused(request: Request, incident_id: int, exc: HTTPException, text: str | None = None) -> Response:
    """The page again with why: 409 keeps the posted text next to the newer version, 400 says what is wrong."""
    if exc.status_code not in (400, 409):
        raise exc
    if exc.status_code == 409:
        conflict = (
            f"Not saved: {exc.detail} Your text is still in the edit box below; the saved version is shown above it."
        )
        page = await _page(request, incident_id, conflict=conflict)
    else:
        page = await _page(request, incident_id, error=str(exc.detail))
    if text is not None:
        page = page.model_copy(update={"text": text})
    return _show(request, page, exc.status_code)


@router.get("/incidents/{incident_id}/postmortem.json")
async def postmortem_json(request: Request, incident_id: int) -> JSONResponse:
    """JSON twin of the postmortem page."""
    return twin(await _page(request, incident_id))


@router.get("/incidents/{incident_id}/postmortem")
async def postmortem_page(request: Request, incident_id: int) -> Response:
    """The postmortem rendered, its state and review buttons, the edit form and the versions."""
    return _show(request, await _page(request, incident_id))


@router.post("/incidents/{incident_id}/postmortem")
async def draft_form(request: Request, incident_id: int) -> Response:
    """Draft the postmortem of a resolved incident (audited)."""
    try:
        await api.draft(request, incident_id)
    except HTTPException as exc:
        return await _refused(request, incident_id, exc)
    return _back(incident_id)


@router.post("/incidents/{incident_id}/postmortem/edit")
async def edit_form(request: Request, incident_id: int) -> Response:
    """Save the text at the posted version, or with `action=preview` show it rendered without saving."""
    data = await form_values(request)
    text = form_text(data, "body")[: MAX_BODY + 1]
    if form_text(data, "action") == "preview":
        page = await _page(request, incident_id, text=text, preview=html(text))
        return _show(request, page)
    try:
        await api.edit(request, incident_id, _version(form_text(data, "version")), text)
    except HTTPException as exc:
        return await _refused(request, incident_id, exc, text)
    return _back(incident_id)


@router.post("/incidents/{incident_id}/postmortem/state")
async def state_form(request: Request, incident_id: int) -> Response:
    """Move the postmortem through review at the posted version (audited, timelined)."""
    data = await form_values(request)
    try:
        await api.move(request, incident_id, _version(form_text(data, "version")), form_text(data, "state"))
    except HTTPException as exc:
        return await _refused(request, incident_id, exc)
    return _back(incident_id)


@router.post("/incidents/{incident_id}/postmortem/regenerate")
async def regenerate_form(request: Request, incident_id: int) -> Response:
    """Regenerate the facts of a draft at the posted version; says which sections were left alone."""
    data = await form_values(request)
    try:
        done = await api.refresh(request, incident_id, _version(form_text(data, "version")))
    except HTTPException as exc:
        return await _refused(request, incident_id, exc)
    return _show(request, await _page(request, incident_id, skipped=done.skipped))


@router.get("/incidents/{incident_id}/postmortem/versions/{version}.json")
async def version_json(request: Request, incident_id: int, version: int) -> JSONResponse:
    """JSON twin of one saved version's page."""
    return twin(await api.saved_version(request, incident_id, version))


@router.get("/incidents/{incident_id}/postmortem/versions/{version}")
async def version_page(request: Request, incident_id: int, version: int) -> Response:
    """One saved version, rendered, with its Markdown."""
    view = await api.saved_version(request, incident_id, version)
    return render(request, "postmortem_version.html", view, active="incidents")
