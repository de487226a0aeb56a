"""`/api/v1/incidents/{incident_id}/postmortem` and `/api/v1/postmortems`: read, draft, edit with a
version check, move through review, versions, Markdown download.

The console's pages call the same functions, so every change is versioned, timelined and audited
the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from tocsin.incidents.postmortem import html
from tocsin.incidents.postmortem_model import TRANSITIONS, PostmortemError, PostmortemState, parse_state
from tocsin.incidents.postmortem_service import MAX_BODY, PostmortemService
from tocsin.incidents.service import IncidentNotFound
from tocsin.store.incidents import VersionConflict
from tocsin.store.postmortems import Postmortem, PostmortemExists, PostmortemNotFound, PostmortemVersion
from tocsin.web.deps import audit, now, principal, runtime

router = APIRouter(prefix="/api/v1", tags=["postmortems"])
STATES = "^(draft|in_review|published)$"


class EditRequest(BaseModel):
    """A new text for the postmortem seen at `version`."""

    model_config = ConfigDict(extra="forbid")
    version: int
    body: str = Field(min_length=1, max_length=MAX_BODY)


class StateRequest(BaseModel):
    """A move of the postmortem seen at `version` to `state`."""

    model_config = ConfigDict(extra="forbid")
    version: int
    state: str


class VersionRequest(BaseModel):
    """The version of the postmortem the caller saw."""

    model_config = ConfigDict(extra="forbid")
    version: int


class PostmortemView(BaseModel):
    """A postmortem: its Markdown `body` and the same as sanitised `html`, the facts it was drafted from."""

    incident_id: int
    title: str
    severity: str
    state: str
    next_states: list[str]
    editable: bool
    version: int
    required: bool
    body: str
    html: str
    facts: dict[str, Any]
    generated_at: datetime
    updated_at: datetime
    updated_by: str
    published_at: datetime | None


class PostmortemSummary(BaseModel):
    """One row of the postmortem list."""

    incident_id: int
    title: str
    severity: str
    state: str
    version: int
    required: bool
    updated_at: datetime
    updated_by: str
    published_at: datetime | None


class PostmortemList(BaseModel):
    """Postmortems, most recently updated first."""

    postmortems: list[PostmortemSummary]


class VersionSummary(BaseModel):
    """One saved version (without its text)."""

    version: int
    state: str
    at: datetime
    actor: str
    characters: int


class VersionList(BaseModel):
    """Every saved version of a postmortem, newest first."""

    incident_id: int
    current: int
    versions: list[VersionSummary]


class VersionView(VersionSummary):
    """One saved version with its text, as Markdown and HTML."""

    incident_id: int
    body: str
    html: str


class Regenerated(BaseModel):
    """The postmortem after "regenerate facts" and the sections left alone because their markers were gone."""

    postmortem: PostmortemView
    skipped: list[str]


def service(request: Request) -> PostmortemService:
    """The runtime's postmortem service."""
    return runtime(request).postmortems


@asynccontextmanager
async def answers() -> AsyncIterator[None]:
    """Turn refusals into HTTP answers: 400 with the reason, 404, 409 when stale or already drafted."""
    try:
        yield
    except PostmortemError as exc:
        raise HTTPException(400, str(exc)) from exc
    except (IncidentNotFound, PostmortemNotFound) as exc:
        raise HTTPException(404, str(exc)) from exc
    except (VersionConflict, PostmortemExists) as exc:
        raise HTTPException(409, str(exc)) from exc


def postmortem_view(p: Postmortem) -> PostmortemView:
    """The view of a postmortem."""
    state = PostmortemState(p.state)
    return PostmortemView(
        incident_id=p.incident_id,
        title=p.title,
        severity=p.severity,
        state=p.state,
        next_states=sorted(TRANSITIONS[state]),
        editable=state is not PostmortemState.PUBLISHED,
        version=p.version,
        required=p.required,
        body=p.body,
        html=html(p.body),
        facts=p.facts,
        generated_at=p.generated_at,
        updated_at=p.updated_at,
        updated_by=p.updated_by,
        published_at=p.published_at,
    )


def _summary(p: Postmortem) -> PostmortemSummary:
    return PostmortemSummary(
        incident_id=p.incident_id,
        title=p.title,
        severity=p.severity,
        state=p.state,
        version=p.version,
        required=p.required,
        updated_at=p.updated_at,
        updated_by=p.updated_by,
        published_at=p.published_at,
    )


def _version_summary(v: PostmortemVersion) -> VersionSummary:
    return VersionSummary(version=v.version, state=v.state, at=v.at, actor=v.actor, characters=len(v.body))


async def read(request: Request, incident_id: int) -> PostmortemView:
    """An incident's postmortem; 404 when the incident or its postmortem does not exist."""
    async with answers():
        return postmortem_view(await service(request).get(incident_id))


async def draft(request: Request, incident_id: int) -> PostmortemView:
    """Draft the postmortem of a resolved incident (shared with the console)."""
    async with answers():
        entry = audit(request, "postmortem.create", str(incident_id))
        created = await service(request).create(incident_id, principal(request).actor, now(request), entry)
    return postmortem_view(created)


async def edit(request: Request, incident_id: int, version: int, body: str) -> PostmortemView:
    """Save a new text at `version` (shared with the console)."""
    async with answers():
        entry = audit(request, "postmortem.update", str(incident_id), version=version, characters=len(body))
        saved = await service(request).edit(incident_id, version, body, principal(request).actor, now(request), entry)
    return postmortem_view(saved)


async def move(request: Request, incident_id: int, version: int, state: str) -> PostmortemView:
    """Move the postmortem to `state` (shared with the console)."""
    async with answers():
        target = parse_state(state)
        entry = audit(request, "postmortem.state", str(incident_id), version=version, state=target.value)
        moved = await service(request).move(incident_id, version, target, principal(request).actor, now(request), entry)
    return postmortem_view(moved)


async def refresh(request: Request, incident_id: int, version: int) -> Regenerated:
    """Regenerate the facts of a draft (shared with the console)."""
    async with answers():
        entry = audit(request, "postmortem.regenerate", str(incident_id), version=version)
        svc = service(request)
        saved, skipped = await svc.regenerate(incident_id, version, principal(request).actor, now(request), entry)
    return Regenerated(postmortem=postmortem_view(saved), skipped=skipped)


async def versions(request: Request, incident_id: int) -> VersionList:
    """Every saved version, newest first."""
    svc = service(request)
    async with answers():
        current = await svc.get(incident_id)
    found = await svc.store.versions(incident_id)
    return VersionList(incident_id=incident_id, current=current.version, versions=[_version_summary(v) for v in found])


async def saved_version(request: Request, incident_id: int, number: int) -> VersionView:
    """One saved version with its text; 404 when there is no such version."""
    svc = service(request)
    async with answers():
        current = await svc.get(incident_id)
    found = await svc.store.version(incident_id, number)
    if found is None:
        raise HTTPException(404, f"the postmortem of incident {incident_id} has versions 1 to {current.version}")
    summary = _version_summary(found).model_dump()
    return VersionView(**summary, incident_id=incident_id, body=found.body, html=html(found.body))


def download(p: PostmortemView) -> Response:
    """The postmortem as a Markdown file to save."""
    name = f"postmortem-incident-{p.incident_id}-v{p.version}.md"
    return Response(
        p.body,
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/postmortems", response_model=PostmortemList)
async def postmortems(request: Request, state: Annotated[str | None, Query(pattern=STATES)] = None) -> PostmortemList:
    """Postmortems across incidents, most recently updated first, optionally in one state."""
    found = await service(request).store.find(state)
    return PostmortemList(postmortems=[_summary(p) for p in found])


@router.get("/incidents/{incident_id}/postmortem", response_model=PostmortemView)
async def get_postmortem(request: Request, incident_id: int) -> PostmortemView:
    """The incident's postmortem."""
    return await read(request, incident_id)


@router.post("/incidents/{incident_id}/postmortem", response_model=PostmortemView, status_code=201)
async def create_postmortem(request: Request, incident_id: int) -> PostmortemView:
    """Draft the postmortem of a resolved incident → 201; 400 unless resolved, 409 if it has one."""
    return await draft(request, incident_id)


@router.put("/incidents/{incident_id}/postmortem", response_model=PostmortemView)
async def put_postmortem(request: Request, incident_id: int, body: EditRequest) -> PostmortemView:
    """Replace the text; 409 when `version` is stale (nothing is saved), 400 when published."""
    return await edit(request, incident_id, body.version, body.body)


@router.post("/incidents/{incident_id}/postmortem/state", response_model=PostmortemView)
async def postmortem_state(request: Request, incident_id: int, body: StateRequest) -> PostmortemView:
    """Move through review: draft → in_review → published, back to draft from either."""
    return await move(request, incident_id, body.version, body.state)


@router.post("/incidents/{incident_id}/postmortem/regenerate", response_model=Regenerated)
async def regenerate_postmortem(request: Request, incident_id: int, body: VersionRequest) -> Regenerated:
    """Recompute the facts of a draft and replace only the generated sections."""
    return await refresh(request, incident_id, body.version)


@router.get("/incidents/{incident_id}/postmortem.md")
async def postmortem_markdown(request: Request, incident_id: int) -> Response:
    """The postmortem as a Markdown download."""
    return download(await read(request, incident_id))


@router.get("/incidents/{incident_id}/postmortem/versions", response_model=VersionList)
async def postmortem_versions(request: Request, incident_id: int) -> VersionList:
    """Every saved version, newest first (without texts)."""
    return await versions(request, incident_id)


@router.get("/incidents/{incident_id}/postmortem/versions/{version}", response_model=VersionView)
async def postmortem_version(request: Request, incident_id: int, version: int) -> VersionView:
    """One saved version with its text."""
    return await saved_version(request, incident_id, version)
