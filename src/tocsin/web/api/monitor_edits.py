"""`/api/v1/monitors` writes: create, replace and delete monitors that live in the database."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import ValidationError

from tocsin.checks.catalog import parse_monitor
from tocsin.config.models import MonitorBase
from tocsin.store.monitor_edits import MonitorConflict, MonitorMissing
from tocsin.web import views
from tocsin.web.bodies import InvalidBody, field_errors, json_object
from tocsin.web.deps import audit, monitor_record, runtime

router = APIRouter(prefix="/api/v1", tags=["monitors"])


def validated(data: dict[str, Any]) -> MonitorBase:
    """The monitor `data` describes, checked like a config entry; 422 naming each bad field."""
    try:
        return parse_monitor(data)
    except ValidationError as exc:
        raise InvalidBody(field_errors(exc, data.get("kind"))) from None


async def save(request: Request, spec: MonitorBase, *, create: bool) -> views.MonitorDetail:
    """Store and start checking a monitor; 409 for a clash with another or a config monitor, 404 if gone."""
    action = "monitor.create" if create else "monitor.update"
    entry = audit(request, action, spec.name, kind=spec.kind)  # type: ignore[attr-defined]
    try:
        await runtime(request).save_monitor(spec, entry, create=create)
    except MonitorConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except MonitorMissing as exc:
        raise HTTPException(404, str(exc)) from None
    except ValueError as exc:
        raise InvalidBody([{"field": "conditions", "message": str(exc), "type": "value_error"}]) from None
    return await views.monitor_detail(runtime(request), await monitor_record(request, spec.name))


async def remove(request: Request, name: str) -> None:
    """Stop and remove a database monitor (history kept); 409 for a config monitor, 404 if unknown."""
    try:
        await runtime(request).delete_monitor(name, audit(request, "monitor.delete", name))
    except MonitorConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except MonitorMissing as exc:
        raise HTTPException(404, str(exc)) from None


@router.post("/monitors", response_model=views.MonitorDetail, status_code=201)
async def create_monitor(request: Request) -> views.MonitorDetail:
    """Create a monitor from a JSON body shaped like a `monitors:` entry of the config file."""
    return await save(request, validated(await json_object(request)), create=True)


@router.put("/monitors/{name}", response_model=views.MonitorDetail)
async def replace_monitor(request: Request, name: str) -> views.MonitorDetail:
    """Replace a database monitor's definition (state kept); the body's `name` may be left out."""
    data = await json_object(request)
    if data.setdefault("name", name) != name:
        message = "must match the monitor in the path (to rename, delete and create)"
        raise InvalidBody([{"field": "name", "message": message, "type": "value_error"}])
    return await save(request, validated(data), create=False)


@router.delete("/monitors/{name}", status_code=204)
async def delete_monitor(request: Request, name: str) -> Response:
    """Delete a database monitor: checks stop now, a firing alert resolves, history stays."""
    await remove(request, name)
    return Response(status_code=204)
