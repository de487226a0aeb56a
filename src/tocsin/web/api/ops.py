"""Operational endpoints: health, readiness, metrics, reload, and the test clock."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict

from tocsin.clock import FakeClock
from tocsin.config.duration import parse_duration
from tocsin.web.deps import access, audit, runtime

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready when started and the database answers."""
    rt = runtime(request)
    if not rt.ready:
        return JSONResponse({"status": "starting"}, status_code=503)
    try:
        await rt.store.get_monitor("")
    except Exception as exc:  # any database failure means not ready
        return JSONResponse({"status": "database unavailable", "error": str(exc)[:200]}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """tocsin's metrics in Prometheus exposition format."""
    return Response(generate_latest(runtime(request).metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.post("/-/reload")
async def reload(request: Request) -> JSONResponse:
    """Re-read the config file; a bad file keeps the running config (400 with the errors)."""
    rt = runtime(request)
    outcome = await rt.reload()
    entry = audit(request, "config.reload", str(rt.config_path), ok=outcome.ok, errors=list(outcome.errors)[:20])
    await access(request).store.record(entry)
    if outcome.ok:
        return JSONResponse({"status": "success", "monitors": outcome.monitors})
    return JSONResponse({"status": "error", "errors": list(outcome.errors)}, status_code=400)


class ClockMove(BaseModel):
    """Move the test clock by a duration or to an instant."""

    model_config = ConfigDict(extra="forbid")
    advance: str | None = None
    set: datetime | None = None


test_clock_router = APIRouter(tags=["testing"])


@test_clock_router.post("/-/clock")
async def move_clock(request: Request, move: ClockMove) -> dict[str, str]:
    """Fast-forward the fake clock (exists only with `tocsin serve --test-clock`)."""
    clock = runtime(request).clock
    if not isinstance(clock, FakeClock):
        raise HTTPException(404, "not found")
    try:
        if move.advance is not None:
            await clock.advance(parse_duration(move.advance).total_seconds())
        if move.set is not None:
            await clock.set(move.set)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    return {"now": clock.now().isoformat()}


@test_clock_router.get("/-/clock")
async def read_clock(request: Request) -> dict[str, str]:
    """The fake clock's current time."""
    return {"now": runtime(request).clock.now().isoformat()}
