"""`/api/v1/reports/incidents`: MTTD/MTTA/MTTM/MTTR, incident counts and on-call load over a range."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request

from tocsin.web.deps import now, runtime
from tocsin.web.report_views import IncidentReport, RangeError, incident_report, report_range

router = APIRouter(prefix="/api/v1", tags=["reports"])

From = Annotated[str | None, Query(alias="from", description="2026-10-01 or RFC 3339; default: 90 days before `to`")]
To = Annotated[str | None, Query(alias="to", description="exclusive; 2026-11-01 or RFC 3339; default: now")]


async def report_for(request: Request, start: str | None, end: str | None) -> IncidentReport:
    """The report of the range asked for; 400 with the reason for a range that cannot be used."""
    try:
        since, until = report_range(start, end, now(request))
    except RangeError as exc:
        raise HTTPException(400, str(exc)) from exc
    return await incident_report(runtime(request), since, until)


@router.get("/reports/incidents", response_model=IncidentReport)
async def incidents_report(request: Request, start: From = None, end: To = None) -> IncidentReport:
    """Incident metrics by service, severity and month, and pages per responder; 400 for a bad range."""
    return await report_for(request, start, end)
