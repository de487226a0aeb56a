"""Console page of an incident's updates: the updates newest first and a form to post one.

The form works without JavaScript: `?template=NAME` reloads the page with the template's
audience, status and filled-in text in the form. Posting goes through the same function as
the API, so an update from the console is timelined, audited and delivered exactly alike.
The page has a `.json` twin rendered from the same view.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from tocsin.incidents.audience import console_url, public_url
from tocsin.incidents.model import TRANSITIONS, IncidentError
from tocsin.incidents.updates import AUDIENCES, fill, find_template, publish_pages, template_values
from tocsin.store.incidents import Incident
from tocsin.web.api.incident_updates import (
    BODY_LIMIT,
    TemplateView,
    UpdateRequest,
    UpdateView,
    known_pages,
    post_update,
    templates,
    update_list,
)
from tocsin.web.api.incidents import answers, service
from tocsin.web.deps import runtime
from tocsin.web.ui.forms import form_list, form_text, form_values
from tocsin.web.ui.render import error_page, render, twin

router = APIRouter(include_in_schema=False)


class UpdateForm(BaseModel):
    """The post form's values: prefilled from a template, or as posted when it was refused (with the reason)."""

    audience: str = "internal"
    template: str = ""
    status: str = ""  # "" keeps the incident's status
    body: str = ""
    pages: list[str] = []
    error: str | None = None


class UpdatesPage(BaseModel):
    """An incident's updates (newest first), the templates, the status pages and the form."""

    incident_id: int
    title: str
    severity: str
    status: str
    next_statuses: list[str]
    updates: list[UpdateView]
    templates: list[TemplateView]
    pages: list[str]  # every status page a public update can name
    form: UpdateForm


async def _page(request: Request, incident_id: int, form: UpdateForm | None = None) -> UpdatesPage:
    async with answers():
        i = await service(request).get(incident_id)
    pages = await known_pages(request)
    if form is None:
        form = UpdateForm(pages=_default_pages(i, pages))
    return UpdatesPage(
        incident_id=i.id,
        title=i.title,
        severity=i.severity,
        status=i.status.value,
        next_statuses=sorted(s.value for s in TRANSITIONS[i.status]),
        updates=(await update_list(request, incident_id)).updates,
        templates=templates(request).templates,
        pages=pages,
        form=form,
    )


def _default_pages(i: Incident, known: list[str]) -> list[str]:
    """The pages of the incident's affected components (what a public update goes to by default)."""
    try:
        return list(publish_pages("public", None, i.impacts, known))
    except IncidentError:
        return []


async def _prefilled(request: Request, incident_id: int, name: str) -> UpdateForm:
    """The form with template `name` filled in for the incident; the reason when there is no such template."""
    rt = runtime(request)
    async with answers():
        i = await service(request).get(incident_id)
    pages = _default_pages(i, await known_pages(request))
    try:
        template = find_template(rt.loaded.config.incidents.templates, name)
    except IncidentError as exc:
        return UpdateForm(pages=pages, error=str(exc))
    status = template.status or i.status.value
    url = public_url(rt, tuple(pages)) if template.audience == "public" else console_url(rt, f"/incidents/{i.id}")
    body = fill(template.body, template_values(i, status, i.impacts, url))
    return UpdateForm(audience=template.audience, template=name, status=template.status or "", body=body, pages=pages)


def _show(request: Request, view: UpdatesPage, status: int = 200) -> Response:
    return render(request, "incident_updates.html", view, status=status, active="incidents", audiences=AUDIENCES)


@router.get("/incidents/{incident_id}/updates.json")
async def updates_json(request: Request, incident_id: int, template: str = "") -> JSONResponse:
    """JSON twin of the updates page (with the form as `?template=` prefills it)."""
    form = await _prefilled(request, incident_id, template) if template else None
    return twin(await _page(request, incident_id, form))


@router.get("/incidents/{incident_id}/updates")
async def updates_page(request: Request, incident_id: int, template: str = "") -> Response:
    """The incident's updates newest first; `?template=NAME` prefills the form from a configured template."""
    form = await _prefilled(request, incident_id, template) if template else None
    view = await _page(request, incident_id, form)
    return _show(request, view, 400 if view.form.error else 200)


def _posted(data: FormData) -> UpdateForm:
    audience = form_text(data, "audience")
    return UpdateForm(
        audience=audience,
        template=form_text(data, "template"),
        status=form_text(data, "status"),
        body=form_text(data, "body")[:BODY_LIMIT],
        pages=form_list(data, "pages") if audience == "public" else [],  # boxes stay ticked when internal is picked
    )


def _request(form: UpdateForm) -> UpdateRequest:
    """The API request the form asks for; a bad audience is refused with the reason."""
    try:
        return UpdateRequest.model_validate(
            {
                "audience": form.audience,
                "body": form.body or None,
                "template": None if form.body.strip() else form.template or None,
                "status": form.status or None,
                "pages": form.pages or None,
            }
        )
    except ValidationError:
        raise HTTPException(400, f"audience: choose one of {', '.join(AUDIENCES)}") from None


@router.post("/incidents/{incident_id}/updates")
async def post_form(request: Request, incident_id: int) -> Response:
    """Post an update from the form; on a refusal show the page again with the form as posted and the reason."""
    form = _posted(await form_values(request))
    try:
        await post_update(request, incident_id, _request(form))
    except HTTPException as exc:
        if exc.status_code == 404:
            return error_page(request, 404, str(exc.detail))
        refused = form.model_copy(update={"error": str(exc.detail)})
        return _show(request, await _page(request, incident_id, refused), exc.status_code)
    return RedirectResponse(f"/incidents/{incident_id}/updates", status_code=303)
