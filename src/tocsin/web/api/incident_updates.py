"""`/api/v1/incidents/{incident_id}/updates`: post and list internal and public updates; update templates.

Posting checks everything before changing anything: the pages, the text (given or from a
template), then the optional status move (through the incident service, with its own
timeline and audit entries), then one transaction stores the update, its `update` timeline
entry, the outbox rows that deliver an internal update and the `incident.update_posted` audit entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from tocsin.incidents.audience import audience, console_url, public_url
from tocsin.incidents.model import IncidentError, Status, parse_status
from tocsin.incidents.service import Changes
from tocsin.incidents.updates import (
    Audience,
    deliveries,
    fill,
    find_template,
    publish_pages,
    snapshot,
    template_values,
    update_notice,
)
from tocsin.notify.outbox import Integration
from tocsin.statuspage.registry import registry
from tocsin.store.alerting import Delivery
from tocsin.store.incident_updates import IncidentUpdate, UpdateStore
from tocsin.store.incidents import Incident, TimelineEntry
from tocsin.web.api.incidents import answers, service
from tocsin.web.deps import audit, now, principal, runtime

router = APIRouter(prefix="/api/v1", tags=["incidents"])
BODY_LIMIT = 10_000


class UpdateRequest(BaseModel):
    """An update: `body`, or a configured `template` filled in (a given body wins); `status` also moves the incident."""

    model_config = ConfigDict(extra="forbid")
    audience: Audience
    body: str | None = Field(default=None, max_length=BODY_LIMIT)
    template: str | None = None
    status: str | None = None
    pages: list[str] | None = None


class UpdateView(BaseModel):
    """A posted update; `components` is what was affected when it was posted."""

    id: int
    incident_id: int
    at: datetime
    actor: str
    audience: str
    status: str
    body: str
    pages: list[str]
    components: dict[str, str]
    fanned_out_at: datetime | None


class PostedUpdate(BaseModel):
    """The answer to a post: the update, the receivers it went to (internal) and the incident's status now."""

    update: UpdateView
    receivers: list[str]
    incident_status: str
    incident_version: int


class UpdateList(BaseModel):
    """An incident's updates, newest first."""

    updates: list[UpdateView]


class TemplateView(BaseModel):
    """A configured update template."""

    name: str
    audience: str
    status: str | None
    body: str


class TemplateList(BaseModel):
    """The configured update templates, in config order."""

    templates: list[TemplateView]


def update_view(u: IncidentUpdate) -> UpdateView:
    """The view of one update."""
    return UpdateView(
        id=u.id,
        incident_id=u.incident_id,
        at=u.at,
        actor=u.actor,
        audience=u.audience,
        status=u.status,
        body=u.body,
        pages=list(u.pages),
        components=dict(u.components),
        fanned_out_at=u.fanned_out_at,
    )


def update_store(request: Request) -> UpdateStore:
    """The store of updates of the running process."""
    return UpdateStore(runtime(request).store)


def templates(request: Request) -> TemplateList:
    """The configured templates."""
    found = runtime(request).loaded.config.incidents.templates
    return TemplateList(
        templates=[TemplateView(name=t.name, audience=t.audience, status=t.status, body=t.body) for t in found]
    )


async def known_pages(request: Request) -> list[str]:
    """Slugs of every status page: the config file's and the console's."""
    pages = registry(request.app.state, runtime(request))
    await pages.refresh()
    return [entry.spec.slug for entry in pages.pages()]


def update_text(request: Request, body: UpdateRequest, i: Incident, status: str, pages: Sequence[str]) -> str:
    """The given body, else the named template filled in for `i`; IncidentError when there is neither."""
    if body.body and body.body.strip():
        return body.body.strip()
    if not body.template:
        raise IncidentError("body: write the update, or name a template (GET /api/v1/incidents/templates lists them)")
    rt = runtime(request)
    template = find_template(rt.loaded.config.incidents.templates, body.template)
    url = public_url(rt, tuple(pages)) if body.audience == "public" else console_url(rt, f"/incidents/{i.id}")
    return fill(template.body, template_values(i, status, i.impacts, url))[:BODY_LIMIT]


async def moved(request: Request, i: Incident, target: Status | None) -> Incident:
    """The incident after moving it to `target` (unchanged when None or already there)."""
    if target is None or target == i.status:
        return i
    entry = audit(request, "incident.update", str(i.id), status=target.value)
    changes = Changes(version=i.version, status=target)
    return await service(request).change(i.id, changes, principal(request).actor, now(request), entry)


def _timeline(u: IncidentUpdate, update_id: int, receivers: Sequence[str]) -> TimelineEntry:
    where = f"on {', '.join(u.pages)}" if u.audience == "public" else f"to {', '.join(receivers) or 'nobody'}"
    first = u.body.splitlines()[0] if u.body else ""
    text = f"{u.audience} update {where}: {first[:200]}"
    detail = {"audience": u.audience, "update_id": update_id, "pages": list(u.pages), "status": u.status}
    return TimelineEntry(u.at, u.actor, "update", text, detail)


async def post_update(request: Request, incident_id: int, body: UpdateRequest) -> PostedUpdate:
    """Validate, move the status if asked, then store the update with its deliveries (shared with the console)."""
    rt, store = runtime(request), update_store(request)
    async with answers():
        incident = await service(request).get(incident_id)
        target = parse_status(body.status) if body.status else None
        known = await known_pages(request) if body.audience == "public" else []
        pages = publish_pages(body.audience, body.pages, incident.impacts, known)
        text = update_text(request, body, incident, (target or incident.status).value, pages)
        incident = await moved(request, incident, target)
    actor, at = principal(request).actor, now(request)
    components = snapshot(incident.impacts)
    u = IncidentUpdate(incident_id, at, actor, body.audience, incident.status.value, text, pages, components)
    through: list[Integration] = await audience(rt, store, incident.alert_groups) if body.audience == "internal" else []
    receivers = list(dict.fromkeys(i.receiver for i in through))

    def followers(update_id: int) -> tuple[TimelineEntry, list[Delivery]]:
        url = console_url(rt, f"/incidents/{incident_id}")
        n = update_notice(incident, u, url, rt.loaded.config.server.external_url or "")
        return _timeline(u, update_id, receivers), deliveries(n, through, update_id)

    detail: dict[str, object] = {"audience": body.audience, "status": u.status, "pages": list(pages)}
    if body.template:
        detail["template"] = body.template
    entry = audit(request, "incident.update_posted", str(incident_id), **detail)
    stored = await store.post(u, followers, entry)
    if through:
        rt.outbox.wake()
    if body.audience == "public":
        registry(request.app.state, rt).invalidate()
        await rt.subscriptions.wake()  # fan it out to the page's subscribers now
    return PostedUpdate(
        update=update_view(stored),
        receivers=receivers,
        incident_status=incident.status.value,
        incident_version=incident.version,
    )


async def update_list(request: Request, incident_id: int) -> UpdateList:
    """An incident's updates, newest first; 404 for an unknown incident."""
    async with answers():
        await service(request).get(incident_id)
    return UpdateList(updates=[update_view(u) for u in await update_store(request).updates(incident_id)])


# Declared before `/incidents/{incident_id}` (this router is included first), so it is not read as an id.
@router.get("/incidents/templates", response_model=TemplateList)
async def template_list(request: Request) -> TemplateList:
    """The configured update templates."""
    return templates(request)


@router.post("/incidents/{incident_id}/updates", response_model=PostedUpdate, status_code=201)
async def post(request: Request, incident_id: int, body: UpdateRequest) -> PostedUpdate:
    """Post an update → 201; 400 with the reason (no text, unknown template or page, no page, refused move)."""
    return await post_update(request, incident_id, body)


@router.get("/incidents/{incident_id}/updates", response_model=UpdateList)
async def updates(request: Request, incident_id: int) -> UpdateList:
    """An incident's updates, newest first."""
    return await update_list(request, incident_id)
