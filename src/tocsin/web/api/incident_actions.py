"""Follow-up actions over the API: per incident (list, create, change) and across incidents (`/api/v1/actions`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tocsin.incidents.actions import STATUSES, new_action
from tocsin.web import incident_views as v
from tocsin.web.api.incidents import answers, service
from tocsin.web.deps import audit, now, principal

router = APIRouter(prefix="/api/v1", tags=["incidents"])
STATUS_PATTERN = f"^({'|'.join(STATUSES)})$"


class ActionRequest(BaseModel):
    """A new follow-up action: what, who (a known user), which kind, by when."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=1000)
    owner: str | None = None
    kind: str = "prevent"
    due: datetime | None = None


class ActionChange(BaseModel):
    """Any of the action's fields; `owner` and `due` may be null to clear them."""

    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, max_length=1000)
    owner: str | None = None
    kind: str | None = None
    status: str | None = None
    due: datetime | None = None


async def create_action(request: Request, incident_id: int, body: ActionRequest) -> v.ActionView:
    """Create an action (shared with the console's form)."""
    at = now(request)
    async with answers():
        action = new_action(incident_id, body.title, body.owner, body.kind, body.due, at)
        entry = audit(request, "incident.action", str(incident_id), **body.model_dump(mode="json"))
        stored = await service(request).actions.create(incident_id, action, principal(request).actor, at, entry)
    return v.action_view(stored, at)


async def change_action(request: Request, incident_id: int, action_id: int, values: dict[str, Any]) -> v.ActionView:
    """Change an action (shared with the console's form); `values` are the fields given."""
    at = now(request)
    async with answers():
        entry = audit(request, "incident.action", str(incident_id), action_id=action_id, **_json(values))
        svc = service(request).actions
        stored = await svc.change(incident_id, action_id, values, principal(request).actor, at, entry)
    return v.action_view(stored, at)


def _json(values: dict[str, Any]) -> dict[str, Any]:
    return {k: val.isoformat() if isinstance(val, datetime) else val for k, val in values.items()}


@router.get("/incidents/{incident_id}/actions", response_model=v.ActionList)
async def incident_actions(request: Request, incident_id: int) -> v.ActionList:
    """The incident's follow-up actions, soonest due first."""
    svc = service(request)
    async with answers():
        await svc.get(incident_id)
    at = now(request)
    return v.ActionList(
        actions=[v.action_view(a, at) for a in await svc.actions.store.find(incident_ids=[incident_id])]
    )


@router.post("/incidents/{incident_id}/actions", response_model=v.ActionView, status_code=201)
async def add_action(request: Request, incident_id: int, body: ActionRequest) -> v.ActionView:
    """Create a follow-up action → 201; 400 for an unknown owner or kind."""
    return await create_action(request, incident_id, body)


@router.patch("/incidents/{incident_id}/actions/{action_id}", response_model=v.ActionView)
async def edit_action(request: Request, incident_id: int, action_id: int, body: ActionChange) -> v.ActionView:
    """Change an action's title, owner, kind, status or due date; 400 with the reason."""
    return await change_action(request, incident_id, action_id, body.model_dump(exclude_unset=True))


@router.get("/actions", response_model=v.ActionList)
async def actions(
    request: Request,
    status: Annotated[str | None, Query(pattern=STATUS_PATTERN)] = None,
    owner: str | None = None,
    overdue: bool = False,
) -> v.ActionList:
    """Follow-up actions across incidents, soonest due first; `overdue=true` keeps the overdue ones."""
    at = now(request)
    found = await service(request).actions.store.find(status=status, owner=owner, overdue_at=at if overdue else None)
    return v.ActionList(actions=[v.action_view(a, at) for a in found])
