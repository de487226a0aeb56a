"""The incident report as a typed view, shared by `GET /api/v1/reports/incidents` and the `/reports` page.

Durations are in seconds. The range is `from` (inclusive) to `to` (exclusive): dates (midnight
UTC) or RFC 3339 instants with an offset; by default the last 90 days up to and including now;
at most two years.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from tocsin.incidents.metrics import METRICS, GroupStats, IncidentFacts, Load, Page, Report, Summary, report
from tocsin.store.incident_reports import IncidentReportStore

if TYPE_CHECKING:  # the runtime imports the whole server; views only need its type
    from tocsin.runtime import Runtime

DEFAULT_SPAN = timedelta(days=90)
PRECISION = timedelta(milliseconds=1)  # the store keeps milliseconds
MAX_SPAN = timedelta(days=731)  # two years, a leap day included
WORKING_HOURS = "09:00-18:00 Monday-Friday in the responder's time zone"


class RangeError(ValueError):
    """A report range that cannot be used; the message says why and how to fix it."""


class SummaryView(BaseModel):
    """One metric over a group: incidents that had the times it needs (`count`), those skipped (`missing`)."""

    count: int
    missing: int
    mean_seconds: float | None
    median_seconds: float | None
    p90_seconds: float | None


class GroupView(BaseModel):
    """Counts and metrics of one group (a service, a severity, a month, or all incidents)."""

    key: str
    incidents: int
    open: int
    resolved: int
    mttd: SummaryView
    mtta: SummaryView
    mttm: SummaryView
    mttr: SummaryView


class MonthSeverities(BaseModel):
    """Incidents of one month by severity (every configured severity, zeros included)."""

    month: str
    counts: dict[str, int]


class ResponderView(BaseModel):
    """Pages to one responder (in the whole range, or in `month`) and how many came out of hours."""

    user: str
    time_zone: str
    month: str | None = None
    pages: int
    out_of_hours: int
    out_of_hours_share: float


class OncallLoadView(BaseModel):
    """Pages to people: escalation notifications, not handoff notices."""

    pages: int
    out_of_hours: int
    working_hours: str = WORKING_HOURS
    by_responder: list[ResponderView]
    by_responder_month: list[ResponderView]


class IncidentReport(BaseModel):
    """Incident metrics and on-call load over [from, to); months are UTC calendar months."""

    model_config = ConfigDict(serialize_by_alias=True)
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    time_zone: str = "UTC"
    severities: list[str]
    months: list[str]
    totals: GroupView
    by_service: list[GroupView]
    by_severity: list[GroupView]
    by_month: list[GroupView]
    severity_by_month: list[MonthSeverities]
    oncall: OncallLoadView


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 3)


def summary_view(s: Summary) -> SummaryView:
    """The view of one metric's summary."""
    return SummaryView(
        count=s.count,
        missing=s.missing,
        mean_seconds=_seconds(s.mean),
        median_seconds=_seconds(s.median),
        p90_seconds=_seconds(s.p90),
    )


def group_view(g: GroupStats) -> GroupView:
    """The view of one group."""
    metrics = {name: summary_view(g.metrics[name]) for name in METRICS}
    return GroupView(key=g.key, incidents=g.incidents, open=g.open, resolved=g.resolved, **metrics)


def responder_view(x: Load) -> ResponderView:
    """The view of one responder's load."""
    share = round(x.out_of_hours_share, 4)
    return ResponderView(
        user=x.user,
        time_zone=x.time_zone,
        month=x.month or None,
        pages=x.pages,
        out_of_hours=x.out_of_hours,
        out_of_hours_share=share,
    )


def report_view(r: Report, severities: list[str]) -> IncidentReport:
    """The view of a computed report."""
    load = OncallLoadView(
        pages=r.pages,
        out_of_hours=r.out_of_hours,
        by_responder=[responder_view(x) for x in r.responders],
        by_responder_month=[responder_view(x) for x in r.responder_months],
    )
    return IncidentReport(
        start=r.start,
        end=r.end,
        severities=severities,
        months=list(r.months),
        totals=group_view(r.totals),
        by_service=[group_view(g) for g in r.by_service],
        by_severity=[group_view(g) for g in r.by_severity],
        by_month=[group_view(g) for g in r.by_month],
        severity_by_month=[MonthSeverities(month=m, counts=c) for m, c in r.severity_by_month.items()],
        oncall=load,
    )


def parse_instant(value: str, name: str) -> datetime:
    """A date (midnight UTC) or an RFC 3339 instant with an offset; RangeError naming the parameter."""
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        at = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise RangeError(
            f"{name}: {value!r} is not a date (2026-10-01) or an RFC 3339 time (2026-10-01T00:00:00Z)"
        ) from None
    if at.tzinfo is None:
        raise RangeError(f"{name}: {value!r} has no UTC offset; add Z or one like +02:00")
    return at.astimezone(UTC)


def report_range(start: str | None, end: str | None, now: datetime) -> tuple[datetime, datetime]:
    """The range [from, to) asked for: the last 90 days (now included) by default, at most two years."""
    until = parse_instant(end, "to") if end else None
    since = parse_instant(start, "from") if start else None
    if until is None:
        until = now + PRECISION  # up to and including now: an incident declared this instant is in
    if since is None:
        since = until - DEFAULT_SPAN
    if since >= until:
        raise RangeError(f"from ({since.isoformat()}) must be before to ({until.isoformat()}); to is exclusive")
    if until - since > MAX_SPAN:
        raise RangeError(f"the range is {(until - since).days} days; a report covers at most two years (731 days)")
    return since, until


async def incident_report(rt: Runtime, start: datetime, end: datetime) -> IncidentReport:
    """Compute the report of [start, end) from the store and the configured severities and time zones."""
    reads = IncidentReportStore(rt.store)
    found: list[IncidentFacts] = await reads.incidents(start, end)
    pages: list[Page] = await reads.pages(start, end)
    config = rt.loaded.config
    severities = [s.name for s in config.incidents.severities]
    zones = {u.name: u.time_zone for u in config.oncall.users}
    return report_view(report(found, pages, start, end, severities, zones), severities)
