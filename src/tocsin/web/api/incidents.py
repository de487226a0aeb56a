"""`/api/v1/incidents`: declare, list, read, change (with a version check), notes, Markdown timeline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from tocsin.incidents.model import IncidentError, parse_role, parse_severity, parse_status
from tocsin.incidents.service import Changes, Declaration, IncidentNotFound, IncidentService
from tocsin.incidents.timeline import markdown
from tocsin.store.incidents import VersionConflict
from tocsin.web import incident_views as v
from tocsin.web.deps import audit, now, principal, runtime

router = APIRouter(prefix="/api/v1", tags=["incidents"])
STATUSES = "^(investigating|identified|monitoring|resolved)$"


class DeclareRequest(BaseModel):
    """A new incident; `group_key` links the alert group it is declared from."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=300)
    severity: str
    summary: str = ""
    group_key: str | None = None


class ChangeRequest(BaseModel):
    """An edit of the incident at `version`: any of status, severity, roles and times (null clears)."""

    model_config = ConfigDict(extra="forbid")
    version: int
    status: str | None = None
    severity: str | None = None
    roles: dict[str, str | None] = {}
    times: dict[str, datetime | None] = {}


class NoteRequest(BaseModel):
    """A human note for the timeline."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)


def service(request: Request) -> IncidentService:
    """The runtime's incident service (its listeners see every change)."""
    return runtime(request).incidents


@asynccontextmanager
async def answers() -> AsyncIterator[None]:
    """Turn the service's refusals into HTTP answers: 400 with the reason, 404, 409 on a stale version."""
    try:
        yield
    except IncidentError as exc:
        raise HTTPException(400, str(exc)) from exc
    except IncidentNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except VersionConflict as exc:
        raise HTTPException(409, str(exc)) from exc


def check_group(request: Request, key: str | None) -> None:
    """404 unless `key` (when given) is a current alert group."""
    if key is not None and key not in runtime(request).alerts.dispatcher.groups:
        raise HTTPException(404, "no alert group with this key; GET /api/v1/alerts/groups lists them")


async def declare_incident(request: Request, body: DeclareRequest) -> v.IncidentDetail:
    """Declare an incident (shared with the console's form)."""
    check_group(request, body.group_key)
    async with answers():
        d = Declaration(body.title, parse_severity(body.severity), body.summary, body.group_key)
        entry = audit(request, "incident.declare", "", title=d.title, severity=d.severity.value)
        incident = await service(request).declare(d, principal(request).actor, now(request), entry)
    return await detail(request, incident.id)


async def change_incident(request: Request, incident_id: int, body: ChangeRequest) -> v.IncidentDetail:
    """Change an incident (shared with the console's forms)."""
    async with answers():
        changes = Changes(
            version=body.version,
            status=parse_status(body.status) if body.status else None,
            severity=parse_severity(body.severity) if body.severity else None,
            roles={parse_role(r): u for r, u in body.roles.items()},
            times=dict(body.times),
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


async def detail(request: Request, incident_id: int) -> v.IncidentDetail:
    """One incident with its timeline; 404 when unknown."""
    svc = service(request)
    async with answers():
        incident = await svc.get(incident_id)
    return v.detail_view(incident, await svc.store.timeline(incident_id))


async def incident_list(request: Request, status: str | None) -> v.IncidentList:
    """Incidents, newest first, optionally with one status."""
    found = await service(request).store.find(status=status)
    return v.IncidentList(incidents=[v.incident_view(i) for i in found])


@router.post("/incidents", response_model=v.IncidentDetail, status_code=201)
async def declare(request: Request, body: DeclareRequest) -> v.IncidentDetail:
    """Declare an incident → 201; 400 for a bad severity, 404 for an unknown alert group."""
    return await declare_incident(request, body)


@router.get("/incidents", response_model=v.IncidentList)
async def incidents(request: Request, status: Annotated[str | None, Query(pattern=STATUSES)] = None) -> v.IncidentList:
    """Incidents, newest first."""
    return await incident_list(request, status)


@router.get("/incidents/{incident_id}", response_model=v.IncidentDetail)
async def incident(request: Request, incident_id: int) -> v.IncidentDetail:
    """One incident with its timeline."""
    return await detail(request, incident_id)


@router.patch("/incidents/{incident_id}", response_model=v.IncidentDetail)
async def change(request: Request, incident_id: int, body: ChangeRequest) -> v.IncidentDetail:
    """Change status, severity, roles or times; 400 with the reason, 409 when `version` is stale."""
    return await change_incident(request, incident_id, body)


@router.post("/incidents/{incident_id}/notes", response_model=v.IncidentDetail, status_code=201)
async def note(request: Request, incident_id: int, body: NoteRequest) -> v.IncidentDetail:
    """Add a note to the timeline → 201."""
    return await add_note(request, incident_id, body.text)


@router.get("/incidents/{incident_id}/timeline.md", response_class=PlainTextResponse)
async def timeline_markdown(request: Request, incident_id: int) -> PlainTextResponse:
    """The incident and its timeline as Markdown."""
    svc = service(request)
    async with answers():
        incident = await svc.get(incident_id)
    text = markdown(incident, await svc.store.timeline(incident_id))
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")
