"""The console's incident report: a date range form, server-rendered charts, a table under each chart.

`/reports.json` is its twin (the same body as `GET /api/v1/reports/incidents`). The page works
without JavaScript: the form is a plain GET; a range that cannot be used shows the form again
with the reason and a 400.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from tocsin.web.api.reports import report_for
from tocsin.web.deps import now
from tocsin.web.report_views import DEFAULT_SPAN
from tocsin.web.ui import report_charts as charts
from tocsin.web.ui.render import render, twin

router = APIRouter(include_in_schema=False)

From = Annotated[str | None, Query(alias="from")]
To = Annotated[str | None, Query(alias="to")]


class RangeForm(BaseModel):
    """What the range form shows: the dates asked for (or the default range's) and why it was refused."""

    start: str
    end: str
    error: str | None = None


def _day_after(at: datetime) -> str:
    """The exclusive end date that covers `at` (itself when it is midnight)."""
    day = at.date() if at.time() == time() else at.date() + timedelta(days=1)
    return day.isoformat()


@router.get("/reports.json")
async def reports_json(request: Request, start: From = None, end: To = None) -> JSONResponse:
    """JSON twin of the reports page."""
    return twin(await report_for(request, start, end))


@router.get("/reports")
async def reports_page(request: Request, start: From = None, end: To = None) -> Response:
    """Incidents per month by severity, MTTA/MTTR per month, metrics by service and severity, on-call load."""
    try:
        view = await report_for(request, start, end)
    except HTTPException as exc:
        default = now(request)
        form = RangeForm(
            start=start or (default - DEFAULT_SPAN).date().isoformat(),
            end=end or _day_after(default),
            error=str(exc.detail),
        )
        return render(request, "reports.html", None, status=exc.status_code, active="reports", form=form)
    form = RangeForm(start=start or view.start.date().isoformat(), end=end or _day_after(view.end))
    return render(
        request,
        "reports.html",
        view,
        active="reports",
        form=form,
        dur=charts.duration_text,
        per_month_svg=charts.incidents_per_month_svg(view),
        times_svg=charts.response_times_svg(view),
        load_svg=charts.responder_load_svg(view.oncall.by_responder),
        colour=charts.severity_colour,
    )
