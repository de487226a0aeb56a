"""HTML pages and their `.json` twins, rendered from the same view models."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from tocsin.web import views
from tocsin.web.deps import audit, monitor_record, runtime
from tocsin.web.ui import charts
from tocsin.web.ui.render import render, twin

router = APIRouter(include_in_schema=False)


def _pct(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 100:.3f}".rstrip("0").rstrip(".") + "%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _ago(when: datetime, now: datetime) -> str:
    seconds = max(0, int((now - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def templates() -> Jinja2Templates:
    """The Jinja2 environment with tocsin's filters and chart helpers."""
    env = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
    env.env.globals.update(
        pct=_pct,
        ms=_ms,
        ago=_ago,
        sparkline=charts.sparkline,
        latency_chart=charts.latency_chart,
        uptime_bars=charts.uptime_bars,
    )
    return env


def _render(request: Request, template: str, view: BaseModel) -> Response:
    return render(request, template, view, active="monitors")


@router.get("/monitors.json")
async def monitorstwin(request: Request, page: Annotated[int, Query(ge=1)] = 1) -> JSONResponse:
    """JSON twin of the monitors page."""
    return twin(await views.monitor_list(runtime(request), page))


@router.get("/monitors", response_class=HTMLResponse)
async def monitors_page(request: Request, page: Annotated[int, Query(ge=1)] = 1) -> Response:
    """Monitors with status, uptime and a latency sparkline."""
    return _render(request, "monitors.html", await views.monitor_list(runtime(request), page))


@router.get("/monitors/{name}.json")
async def monitortwin(request: Request, name: str) -> JSONResponse:
    """JSON twin of a monitor's page."""
    return twin(await views.monitor_detail(runtime(request), await monitor_record(request, name)))


@router.get("/monitors/{name}", response_class=HTMLResponse)
async def monitor_page(request: Request, name: str) -> Response:
    """A monitor with latency chart, 90-day uptime bars and recent failures."""
    return _render(
        request,
        "monitor.html",
        await views.monitor_detail(runtime(request), await monitor_record(request, name)),
    )


@router.post("/monitors/{name}/pause")
async def pause_form(request: Request, name: str) -> RedirectResponse:
    """The pause button (works without JavaScript)."""
    record = await monitor_record(request, name)
    await runtime(request).runner.set_paused(record.name, True, audit(request, "monitor.pause", record.name))
    return RedirectResponse(f"/monitors/{record.name}", status_code=303)


@router.post("/monitors/{name}/resume")
async def resume_form(request: Request, name: str) -> RedirectResponse:
    """The resume button."""
    record = await monitor_record(request, name)
    await runtime(request).runner.set_paused(record.name, False, audit(request, "monitor.resume", record.name))
    return RedirectResponse(f"/monitors/{record.name}", status_code=303)
