"""`/api/v1/monitors`: list, get, results with paging, pause and resume; `/api/v1/events`."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from tocsin.web import views
from tocsin.web.deps import audit, monitor_record, runtime

router = APIRouter(prefix="/api/v1", tags=["monitors"])


class ResultsPage(BaseModel):
    """A page of results, newest first; pass `next_before` as `before` for the next page."""

    results: list[views.ResultView]
    next_before: datetime | None


class PauseAnswer(BaseModel):
    """The monitor's status after pause or resume."""

    name: str
    status: str
    paused: bool


class EventView(BaseModel):
    """An alert event produced by a monitor state change."""

    id: int
    at: datetime
    source: str
    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]


@router.get("/monitors", response_model=views.MonitorList)
async def list_monitors(
    request: Request,
    page: Annotated[int, Query(ge=1)] = 1,
    status: Annotated[str | None, Query(pattern="^(up|down|degraded|pending|paused)$")] = None,
) -> views.MonitorList:
    """Monitors, worst first, with state, last result, uptime windows and latency."""
    return await views.monitor_list(runtime(request), page, status)


@router.get("/monitors/{name}", response_model=views.MonitorDetail)
async def get_monitor(request: Request, name: str) -> views.MonitorDetail:
    """One monitor with recent results and failures, latency chart data and daily uptime."""
    return await views.monitor_detail(runtime(request), await monitor_record(request, name))


@router.get("/monitors/{name}/results", response_model=ResultsPage)
async def results(
    request: Request,
    name: str,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: datetime | None = None,
) -> ResultsPage:
    """Raw results, newest first, keyset-paged by time."""
    record = await monitor_record(request, name)
    rows = await runtime(request).store.recent_results(record.name, limit=limit, before=before)
    next_before = rows[-1].at if len(rows) == limit else None
    return ResultsPage(results=[views.result_view(r) for r in rows], next_before=next_before)


async def _pause(request: Request, name: str, paused: bool) -> PauseAnswer:
    record = await monitor_record(request, name)
    entry = audit(request, "monitor.pause" if paused else "monitor.resume", record.name)
    state = await runtime(request).runner.set_paused(record.name, paused, entry)
    status = state.status.value if state else "unknown"
    return PauseAnswer(name=record.name, status=status, paused=paused)


@router.post("/monitors/{name}/pause", response_model=PauseAnswer)
async def pause(request: Request, name: str) -> PauseAnswer:
    """Stop checking a monitor; its firing alert is resolved."""
    return await _pause(request, name, True)


@router.post("/monitors/{name}/resume", response_model=PauseAnswer)
async def resume(request: Request, name: str) -> PauseAnswer:
    """Start checking a paused monitor again (it restarts as pending)."""
    return await _pause(request, name, False)


@router.get("/events", response_model=list[EventView])
async def events(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """Alert events from monitor state changes, newest first."""
    return [asdict(e) for e in await runtime(request).store.recent_events(limit)]
