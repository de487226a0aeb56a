"""`/api/v1/incidents`: declare, list, read, change (with a version check), notes, timeline edits and exports.

Severities and roles are the configured ones (`incidents.severities`, `incidents.roles`);
impacts name known services and status-page components.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from tocsin.incidents.actions import ActionNotFound
from tocsin.incidents.model import (
    Impact,
    IncidentError,
    Levels,
    Milestones,
    check_impacts,
    parse_role,
    parse_severity,
    parse_status,
)
from tocsin.incidents.service import (
    Changes,
    Declaration,
    EntryNotFound,
    IncidentNotFound,
    IncidentService,
    group_milestones,
)
from tocsin.incidents.timeline import markdown, shown
from tocsin.store.incidents import Incident, VersionConflict
from tocsin.web import incident_views as v
from tocsin.web.deps import audit, now, principal, runtime
from tocsin.web.incident_targets import known_components, known_services

router = APIRouter(prefix="/api/v1", tags=["incidents"])
STATUSES = "^(investigating|identified|monitoring|resolved)$"
Source = Literal["console", "api", "cli", "alert_group"]


class DeclareRequest(BaseModel):
    """A new incident; `group_key` links the alert group it is declared from, `source` says from where."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=300)
    severity: str
    summary: str = Field(default="", max_length=20_000)
    group_key: str | None = None
    source: Source = "api"


class ImpactRequest(BaseModel):
    """One affected service (`page` left out) or status-page component (`page` is its slug)."""

    model_config = ConfigDict(extra="forbid")
    kind: str
    page: str = ""
    name: str = Field(min_length=1, max_length=200)
    impact: str


class ChangeRequest(BaseModel):
    """An edit of the incident at `version`: any fields (null clears a role or time); `impacts` replaces the set."""

    model_config = ConfigDict(extra="forbid")
    version: int
    title: str | None = Field(default=None, max_length=300)
    summary: str | None = Field(default=None, max_length=20_000)
    status: str | None = None
    severity: str | None = None
    roles: dict[str, str | None] = {}
    times: dict[str, datetime | None] = {}
    impacts: list[ImpactRequest] | None = None


class NoteRequest(BaseModel):
    """A human note for the timeline."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)


class EntryRequest(BaseModel):
    """Pin or unpin, hide from or show in the postmortem, or reword a timeline entry (the old text is kept)."""

    model_config = ConfigDict(extra="forbid")
    pinned: bool | None = None
    hidden: bool | None = None
    text: str | None = Field(default=None, max_length=10_000)


def service(request: Request) -> IncidentService:
    """The runtime's incident service (its listeners see every change)."""
    return runtime(request).incidents


def severities(request: Request) -> Levels:
    """The configured severities, worst first: name → description."""
    return {s.name: s.description for s in runtime(request).loaded.config.incidents.severities}


def roles(request: Request) -> Levels:
    """The configured roles: name → description."""
    return {r.name: r.description for r in runtime(request).loaded.config.incidents.roles}


@asynccontextmanager
async def answers() -> AsyncIterator[None]:
    """Turn the service's refusals into HTTP answers: 400 with the reason, 404, 409 on a stale version."""
    try:
        yield
    except IncidentError as exc:
        raise HTTPException(400, str(exc)) from exc
    except (IncidentNotFound, EntryNotFound, ActionNotFound) as exc:
        raise HTTPException(404, str(exc)) from exc
    except VersionConflict as exc:
        raise HTTPException(409, str(exc)) from exc


def check_group(request: Request, key: str | None) -> None:
    """404 unless `key` (when given) is a current alert group."""
    if key is not None and key not in runtime(request).alerts.dispatcher.groups:
        raise HTTPException(404, "no alert group with this key; GET /api/v1/alerts/groups lists them")


def group_times(request: Request, key: str) -> Milestones:
    """What the alert group already tells: when its alerts started and when its page was acknowledged."""
    rt = runtime(request)
    group = rt.alerts.dispatcher.groups.get(key)
    starts = [a.starts_at for a in group.alerts.values()] if group is not None else []
    escalation = rt.oncall.escalation(key)
    acks = [ack.at for ack in escalation.acks] if escalation is not None else []
    return group_milestones(starts, acks, now(request))


async def open_incident_of(request: Request, key: str) -> Incident | None:
    """The open incident alert group `key` is linked to, if any (the newest when several are)."""
    return await service(request).store.open_for_group(key)


async def check_unlinked(request: Request, key: str | None) -> None:
    """409 when alert group `key` already belongs to an open incident: two people declaring at once get one incident."""
    linked = await open_incident_of(request, key) if key else None
    if linked is not None:
        raise HTTPException(
            409,
            f"alert group {key} is already linked to open incident {linked.id} ({linked.title}); "
            f"work in that one (/incidents/{linked.id}), or declare without group_key",
        )


async def declare_incident(request: Request, body: DeclareRequest) -> v.IncidentDetail:
    """Declare an incident (shared with the console's form)."""
    check_group(request, body.group_key)
    async with answers():
        severity = parse_severity(body.severity, severities(request))
    await check_unlinked(request, body.group_key)
    async with answers():
        times = group_times(request, body.group_key) if body.group_key else None
        d = Declaration(body.title, severity, body.summary, body.group_key, body.source, times)
        entry = audit(request, "incident.declare", "", title=d.title, severity=d.severity, declared_from=d.source)
        incident = await service(request).declare(d, principal(request).actor, now(request), entry)
    return await detail(request, incident.id)


async def impacts_of(request: Request, body: list[ImpactRequest]) -> tuple[Impact, ...]:
    """The requested impacts, checked against the known services and status-page components."""
    impacts = tuple(Impact(i.kind, "" if i.kind == "service" else i.page, i.name, i.impact) for i in body)
    rt = runtime(request)
    check_impacts(impacts, await known_components(rt), known_services(rt))
    return impacts


async def change_incident(request: Request, incident_id: int, body: ChangeRequest) -> v.IncidentDetail:
    """Change an incident (shared with the console's forms)."""
    async with answers():
        changes = Changes(
            version=body.version,
            status=parse_status(body.status) if body.status else None,
            severity=parse_severity(body.severity, severities(request)) if body.severity else None,
            roles={parse_role(r, roles(request)): u for r, u in body.roles.items()},
            times=dict(body.times),
            title=body.title,
            summary=body.summary,
            impacts=None if body.impacts is None else await impacts_of(request, body.impacts),
        )
        entry = audit(request, "incident.update", str(incident_id), **body.model_dump(mode="json", exclude_unset=True))
        await service(request).change(incident_id, changes, principal(request).actor, now(request), entry)
    return await detail(request, incident_id)


async def add_note(request: Request, incident_id: int, text: str) -> v.IncidentDetail:
    """Add a note (shared with the console's form)."""
    async with answers():
        entry = audit(request, "incident.note", str(incident_id))
        await service(request).note(incident_id, text, principal(request).actor, now(request), entry)
    return await detail(request, incident_id)


async def edit_entry(request: Request, incident_id: int, entry_id: int, body: EntryRequest) -> v.TimelineView:
    """Pin, hide or reword a timeline entry (shared with the console's buttons)."""
    edits = body.model_dump(exclude_none=True)
    async with answers():
        if not edits:
            raise IncidentError("give any of pinned, hidden, text")
        entry = audit(request, "incident.timeline", str(incident_id), entry=entry_id, **edits)
        after = await service(request).edit_entry(
            incident_id, entry_id, edits, principal(request).actor, now(request), entry
        )
    return v.entry_view(after)


async def detail(request: Request, incident_id: int) -> v.IncidentDetail:
    """One incident with its timeline and actions; 404 when unknown."""
    svc = service(request)
    async with answers():
        incident = await svc.get(incident_id)
    entries = await svc.store.timeline(incident_id)
    actions = await svc.actions.store.find(incident_ids=[incident_id])
    return v.detail_view(incident, entries, severities(request), actions, now(request))


async def incident_list(request: Request, status: str | None) -> v.IncidentList:
    """Incidents, newest first, optionally with one status."""
    found = await service(request).store.find(status=status)
    levels = severities(request)
    return v.IncidentList(incidents=[v.incident_view(i, levels) for i in found])


@router.post("/incidents", response_model=v.IncidentDetail, status_code=201)
async def declare(request: Request, body: DeclareRequest) -> v.IncidentDetail:
    """Declare an incident → 201; 400 for an unknown severity, 404 for an unknown alert group, 409 if it is in one."""
    return await declare_incident(request, body)


@router.get("/incidents", response_model=v.IncidentList)
async def incidents(request: Request, status: Annotated[str | None, Query(pattern=STATUSES)] = None) -> v.IncidentList:
    """Incidents, newest first."""
    return await incident_list(request, status)


@router.get("/incidents/{incident_id}", response_model=v.IncidentDetail)
async def incident(request: Request, incident_id: int) -> v.IncidentDetail:
    """One incident with its timeline and follow-up actions."""
    return await detail(request, incident_id)


@router.patch("/incidents/{incident_id}", response_model=v.IncidentDetail)
async def change(request: Request, incident_id: int, body: ChangeRequest) -> v.IncidentDetail:
    """Change title, summary, status, severity, roles, times or impacts; 400 with the reason, 409 when stale."""
    return await change_incident(request, incident_id, body)


@router.post("/incidents/{incident_id}/notes", response_model=v.IncidentDetail, status_code=201)
async def note(request: Request, incident_id: int, body: NoteRequest) -> v.IncidentDetail:
    """Add a note to the timeline → 201."""
    return await add_note(request, incident_id, body.text)


@router.patch("/incidents/{incident_id}/timeline/{entry_id}", response_model=v.TimelineView)
async def timeline_entry(request: Request, incident_id: int, entry_id: int, body: EntryRequest) -> v.TimelineView:
    """Pin, hide from the postmortem, or reword a timeline entry (earlier texts kept in `history`)."""
    return await edit_entry(request, incident_id, entry_id, body)


@router.get("/incidents/{incident_id}/timeline.json", response_model=v.TimelineList)
async def timeline_json(request: Request, incident_id: int, all: bool = False) -> v.TimelineList:
    """The timeline, oldest first, without entries hidden from the postmortem unless `?all=1`."""
    svc = service(request)
    async with answers():
        await svc.get(incident_id)
    entries = shown(await svc.store.timeline(incident_id), all)
    return v.TimelineList(incident_id=incident_id, timeline=[v.entry_view(e) for e in entries])


@router.get("/incidents/{incident_id}/timeline.md", response_class=PlainTextResponse)
async def timeline_markdown(request: Request, incident_id: int, all: bool = False) -> PlainTextResponse:
    """The incident and its timeline as Markdown: pinned entries marked, hidden ones left out unless `?all=1`."""
    svc = service(request)
    async with answers():
        incident = await svc.get(incident_id)
    text = markdown(incident, await svc.store.timeline(incident_id), severities(request), all)
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")
