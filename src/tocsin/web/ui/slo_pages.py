"""Console pages of SLOs: the list, one SLO with its charts and burn-rate table, the monthly report.

Each page has a `.json` twin that answers exactly what the API does. Charts are inline
SVG rendered here, so the pages work without JavaScript. Importing this module also adds
the "SLOs burning" section to the overview.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from tocsin.web.api.slos import Months, evaluator, page_or_404
from tocsin.web.deps import now
from tocsin.web.overview import SECTIONS, events_section
from tocsin.web.slo_views import SloReport, report_table, slo_list, slo_report, slos_section
from tocsin.web.ui import slo_charts
from tocsin.web.ui.render import render, twin

router = APIRouter(include_in_schema=False)

if slos_section not in SECTIONS:  # after the monitors, before the event log
    SECTIONS.insert(SECTIONS.index(events_section) if events_section in SECTIONS else len(SECTIONS), slos_section)


def _page(request: Request, template: str, view: BaseModel, **extra: Any) -> Response:
    return render(request, template, view, active="slos", budget_bar=slo_charts.budget_bar, **extra)


@router.get("/slos.json")
async def slos_json(request: Request) -> JSONResponse:
    """JSON twin of the SLO list."""
    return twin(await slo_list(evaluator(request)))


@router.get("/slos")
async def slos_page(request: Request) -> Response:
    """Every SLO, least budget left first: status, SLI, budget bar, burn rate, policy flags."""
    return _page(request, "slos.html", await slo_list(evaluator(request)))


async def _report(request: Request, months: int) -> SloReport:
    return await slo_report(evaluator(request), now(request), months)


@router.get("/slos/report.json")
async def report_json(request: Request, months: Months = 12) -> JSONResponse:
    """JSON twin of the monthly report."""
    return twin(await _report(request, months))


@router.get("/slos/report")
async def report_page(request: Request, months: Months = 12) -> Response:
    """The SLI of every SLO per calendar month, met or missed, with JSON and CSV links."""
    view = await _report(request, months)
    labels, grid = report_table(view.rows)
    return _page(request, "slo_report.html", view, labels=labels, grid=grid)


@router.get("/slos/{name}.json")
async def slo_json(request: Request, name: str) -> JSONResponse:
    """JSON twin of an SLO's page."""
    return twin(await page_or_404(request, name))


@router.get("/slos/{name}")
async def slo_page(request: Request, name: str) -> Response:
    """One SLO: budget burn-down and SLI charts, burn-rate tiers and which fires, policy flags."""
    view = await page_or_404(request, name)
    objective = evaluator(request).slos[name].objective
    burn_down = slo_charts.burn_down_chart(view.burn_down, view.window_start, view.window_end)
    sli = slo_charts.sli_chart(view.sli_series, objective, view.window_start, view.window_end)
    return _page(request, "slo.html", view, burn_down_svg=burn_down, sli_svg=sli)
