"""Incident metrics (MTTD, MTTA, MTTM, MTTR), incident counts and on-call load; pure.

Definitions (docs/reports.md says the same for people):

- MTTD, time to detect = detected - impact_start
- MTTA, time to acknowledge = acknowledged - detected
- MTTM, time to mitigate = mitigated - impact_start (detected when impact_start is unknown)
- MTTR, time to resolve = resolved - impact_start (detected when impact_start is unknown)

An incident missing a time a metric needs is skipped for that metric only and counted as
`missing`. Each metric is summarised by its mean, median and 90th percentile (linear
interpolation between the closest ranks). An incident belongs to the month of its `detected`
time (when it was declared if `detected` was cleared) and counts once in each service it affects.
A page is out of hours outside 09:00-18:00, Monday to Friday, in the responder's own time zone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tocsin.incidents.model import Milestones

UNASSIGNED = "unassigned"  # the service group of incidents that name no service
RESOLVED = "resolved"
WORK_START, WORK_END = time(9), time(18)  # working hours, in the responder's zone: [09:00, 18:00)
WORKDAYS = frozenset(range(5))  # Monday (0) to Friday (4)
METRICS: tuple[str, ...] = ("mttd", "mtta", "mttm", "mttr")


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What the metrics need of one incident; `declared` places it when `detected` is unknown."""

    id: int
    severity: str
    status: str
    declared: datetime
    times: Milestones
    services: tuple[str, ...] = ()

    @property
    def at(self) -> datetime:
        """The instant that places the incident in a report range and a month."""
        return self.times.detected or self.declared


@dataclass(frozen=True, slots=True)
class Summary:
    """One metric over a group: how many incidents had the times it needs, how many did not, and figures."""

    count: int
    missing: int
    mean: timedelta | None = None
    median: timedelta | None = None
    p90: timedelta | None = None


@dataclass(frozen=True, slots=True)
class GroupStats:
    """Counts and the four metrics of one group of incidents (a service, a severity, a month, or all)."""

    key: str
    incidents: int
    open: int
    resolved: int
    metrics: Mapping[str, Summary]


@dataclass(frozen=True, slots=True)
class Page:
    """One page to a person: an escalation notification, however many contact methods carried it."""

    user: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Load:
    """Pages one responder got (overall, or in one month) and how many were out of hours."""

    user: str
    time_zone: str
    pages: int
    out_of_hours: int
    month: str = ""

    @property
    def out_of_hours_share(self) -> float:
        """The fraction of pages that came out of hours (0 without pages)."""
        return self.out_of_hours / self.pages if self.pages else 0.0


def _since(start: datetime | None, end: datetime | None) -> timedelta | None:
    return None if start is None or end is None else end - start


def durations(t: Milestones) -> dict[str, timedelta | None]:
    """The four durations of one incident; None where a time they need is unknown."""
    began = t.impact_start or t.detected
    return {
        "mttd": _since(t.impact_start, t.detected),
        "mtta": _since(t.detected, t.acknowledged),
        "mttm": _since(began, t.mitigated),
        "mttr": _since(began, t.resolved),
    }


def quantile(ordered: Sequence[timedelta], q: float) -> timedelta:
    """The `q` quantile of sorted values, interpolating linearly between the closest ranks."""
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(values: Iterable[timedelta | None]) -> Summary:
    """Count, missing, mean, median and p90 of durations (None: the incident lacked a time)."""
    given = list(values)
    known = sorted(v for v in given if v is not None)
    missing = len(given) - len(known)
    if not known:
        return Summary(0, missing)
    mean = sum(known, timedelta()) / len(known)
    return Summary(len(known), missing, mean, quantile(known, 0.5), quantile(known, 0.9))


def group_stats(key: str, incidents: Sequence[IncidentFacts]) -> GroupStats:
    """Counts and metrics of one group."""
    each = [durations(i.times) for i in incidents]
    resolved = sum(1 for i in incidents if i.status == RESOLVED)
    metrics = {name: summarize(d[name] for d in each) for name in METRICS}
    return GroupStats(key, len(incidents), len(incidents) - resolved, resolved, metrics)


def _grouped(
    incidents: Iterable[IncidentFacts], keys: Callable[[IncidentFacts], Iterable[str]]
) -> dict[str, list[IncidentFacts]]:
    found: dict[str, list[IncidentFacts]] = {}
    for incident in incidents:
        for key in dict.fromkeys(keys(incident)):  # each key once, even if named twice
            found.setdefault(key, []).append(incident)
    return found


def by_service(incidents: Sequence[IncidentFacts]) -> list[GroupStats]:
    """One group per affected service, by name, then `unassigned` for incidents naming none."""
    groups = _grouped(incidents, lambda i: i.services or (UNASSIGNED,))
    names = sorted(k for k in groups if k != UNASSIGNED) + ([UNASSIGNED] if UNASSIGNED in groups else [])
    return [group_stats(name, groups[name]) for name in names]


def by_severity(incidents: Sequence[IncidentFacts], order: Sequence[str]) -> list[GroupStats]:
    """One group per configured severity, in the configured order (empty ones too), then any others."""
    groups = _grouped(incidents, lambda i: (i.severity,))
    names = [*order, *sorted(set(groups) - set(order))]
    return [group_stats(name, groups.get(name, [])) for name in names]


def month_of(at: datetime, zone: ZoneInfo | None = None) -> str:
    """`YYYY-MM` of an instant, in `zone` (UTC by default)."""
    return f"{at.astimezone(zone or UTC):%Y-%m}"


def months(start: datetime, end: datetime, zone: ZoneInfo | None = None) -> list[str]:
    """Every month that [start, end) touches, oldest first."""
    first, last = month_of(start, zone), month_of(end - timedelta(microseconds=1), zone)
    year, month = int(first[:4]), int(first[5:])
    found: list[str] = []
    while (label := f"{year:04d}-{month:02d}") <= last:
        found.append(label)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def by_month(
    incidents: Sequence[IncidentFacts], labels: Sequence[str], zone: ZoneInfo | None = None
) -> list[GroupStats]:
    """One group per month label (empty months too), by the month of each incident's `at`."""
    groups = _grouped(incidents, lambda i: (month_of(i.at, zone),))
    return [group_stats(label, groups.get(label, [])) for label in labels]


def severity_by_month(
    incidents: Sequence[IncidentFacts], labels: Sequence[str], order: Sequence[str], zone: ZoneInfo | None = None
) -> dict[str, dict[str, int]]:
    """Incident counts per month and severity (every month and severity present, zeros included)."""
    counts = {
        label: dict.fromkeys([*order, *sorted({i.severity for i in incidents} - set(order))], 0) for label in labels
    }
    for incident in incidents:
        row = counts.get(month_of(incident.at, zone))
        if row is not None:
            row[incident.severity] += 1
    return counts


def out_of_hours(at: datetime, zone: ZoneInfo) -> bool:
    """True when `at` is outside 09:00-18:00 Monday-Friday on the wall clock of `zone`."""
    local = at.astimezone(zone)
    return local.weekday() not in WORKDAYS or not WORK_START <= local.time() < WORK_END


def load(
    pages: Sequence[Page], zones: Mapping[str, str], month_zone: ZoneInfo | None = None
) -> tuple[list[Load], list[Load]]:
    """Pages per responder (most paged first) and per responder and month; zones default to UTC."""
    overall: dict[str, list[int]] = {}
    monthly: dict[tuple[str, str], list[int]] = {}
    for page in pages:
        late = int(out_of_hours(page.at, ZoneInfo(zones.get(page.user, "UTC"))))
        for tally in (
            overall.setdefault(page.user, [0, 0]),
            monthly.setdefault((page.user, month_of(page.at, month_zone)), [0, 0]),
        ):
            tally[0] += 1
            tally[1] += late
    people = [Load(user, zones.get(user, "UTC"), n, late) for user, (n, late) in overall.items()]
    people.sort(key=lambda x: (-x.pages, x.user))
    by_month_ = [
        Load(user, zones.get(user, "UTC"), n, late, month) for (user, month), (n, late) in sorted(monthly.items())
    ]
    return people, by_month_


@dataclass(frozen=True, slots=True)
class Report:
    """Everything the incident report shows for [start, end)."""

    start: datetime
    end: datetime
    months: tuple[str, ...]
    totals: GroupStats
    by_service: list[GroupStats]
    by_severity: list[GroupStats]
    by_month: list[GroupStats]
    severity_by_month: dict[str, dict[str, int]]
    responders: list[Load]
    responder_months: list[Load]

    @property
    def pages(self) -> int:
        """Pages to people in the range."""
        return sum(r.pages for r in self.responders)

    @property
    def out_of_hours(self) -> int:
        """Of those, the ones out of hours."""
        return sum(r.out_of_hours for r in self.responders)


def report(
    incidents: Sequence[IncidentFacts],
    pages: Sequence[Page],
    start: datetime,
    end: datetime,
    severities: Sequence[str],
    zones: Mapping[str, str],
) -> Report:
    """The report of the incidents placed in [start, end) and the pages sent in it (months in UTC)."""
    inside = [i for i in incidents if start <= i.at < end]
    paged = [p for p in pages if start <= p.at < end]
    labels = months(start, end)
    people, monthly = load(paged, zones)
    return Report(
        start=start,
        end=end,
        months=tuple(labels),
        totals=group_stats("all", inside),
        by_service=by_service(inside),
        by_severity=by_severity(inside, severities),
        by_month=by_month(inside, labels),
        severity_by_month=severity_by_month(inside, labels, severities),
        responders=people,
        responder_months=monthly,
    )
