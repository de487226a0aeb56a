"""`/api/v1/slos`: the SLO list, one SLO, budget consumed over an interval, the monthly report, pushed events.

`POST /api/v1/slos/{name}/events` needs an `ingest` token, like every other push of
machine data: the service that counts its requests can push and read nothing.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from tocsin.slo.evaluator import SloEvaluator
from tocsin.slo.sources import EventsBody, NotAnEventsSlo, push_events
from tocsin.slo.views import Consumed, consumed, report_csv
from tocsin.web.bodies import InvalidBody
from tocsin.web.deps import now, runtime
from tocsin.web.slo_views import SloList, SloPage, SloReport, slo_list, slo_page, slo_report

router = APIRouter(prefix="/api/v1", tags=["slos"])
Months = Annotated[int, Query(ge=1, le=120, description="calendar months, the current one last")]


class EventsAnswer(BaseModel):
    """What a push did: batches counted now, and batches whose key was already counted."""

    accepted: int
    duplicates: int


def evaluator(request: Request) -> SloEvaluator:
    """The runtime's SLO evaluator."""
    return runtime(request).slo


def unknown_slo(evaluator: SloEvaluator, name: str) -> HTTPException:
    """A 404 that says how to find the right name (and suggests a close one)."""
    close = difflib.get_close_matches(name, list(evaluator.slos), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return HTTPException(404, f"no SLO named {name!r}; {hint}GET /api/v1/slos lists them")


async def page_or_404(request: Request, name: str) -> SloPage:
    """One SLO's page view; 404 when unknown, 503 before its first evaluation."""
    ev = evaluator(request)
    if name not in ev.slos:
        raise unknown_slo(ev, name)
    found = await slo_page(ev, name)
    if found is None:
        raise HTTPException(503, f"SLO {name!r} has not been evaluated yet; try again in a minute")
    return found


@router.get("/slos", response_model=SloList)
async def list_all(request: Request) -> SloList:
    """Every SLO, least budget left first: SLI, budget, 1h burn rate, status, policy flags, firing tier."""
    return await slo_list(evaluator(request))


@router.get("/slos/report", response_model=SloReport)
async def report(request: Request, months: Months = 12) -> SloReport:
    """The SLI of every SLO in each calendar month (in the SLO's time zone), met or missed."""
    return await slo_report(evaluator(request), now(request), months)


@router.get("/slos/report.csv", response_class=Response)
async def report_as_csv(request: Request, months: Months = 12) -> Response:
    """The monthly report as CSV: slo, month, objective, sli (percent), met, good, total."""
    view = await slo_report(evaluator(request), now(request), months)
    headers = {"Content-Disposition": 'attachment; filename="slo-report.csv"'}
    return Response(report_csv(view.rows), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/slos/{name}", response_model=SloPage)
async def detail(request: Request, name: str) -> SloPage:
    """One SLO: burn rates, tiers and which fires, budget, burn-down and SLI over the window, recent spend."""
    return await page_or_404(request, name)


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@router.get("/slos/{name}/consumed", response_model=Consumed)
async def consumed_between(request: Request, name: str, start: datetime, end: datetime | None = None) -> Consumed:
    """Share of the budget that [start, end) consumed (end defaults to now; times without offset are UTC)."""
    ev = evaluator(request)
    if name not in ev.slos:
        raise unknown_slo(ev, name)
    first, last = _utc(start), _utc(end or now(request))
    if last <= first:
        raise InvalidBody([{"field": "query.end", "message": "end must be after start", "type": "value_error"}])
    return await consumed(ev, name, first, last)


@router.post("/slos/{name}/events", response_model=EventsAnswer)
async def push(request: Request, name: str, body: EventsBody) -> EventsAnswer:
    """Count good and total events now; a batch whose `key` was seen in the last 7 days is ignored."""
    ev = evaluator(request)
    try:
        result = await push_events(ev.store, ev.slos, name, body, now(request))
    except KeyError:
        raise unknown_slo(ev, name) from None
    except NotAnEventsSlo as exc:
        raise HTTPException(409, str(exc)) from None
    return EventsAnswer(accepted=result.accepted, duplicates=result.duplicates)
