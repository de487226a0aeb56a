"""Maintenance occurrences in a past or future span, and which windows cover a monitor (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule as rrules

from tocsin.alerting.maintenance import MaintenanceWindow

Span = tuple[datetime, datetime]


def covers(window: MaintenanceWindow, monitor: str) -> bool:
    """True when the window applies to the monitor (named, or matched by its `monitor` label)."""
    return window.scopes({"monitor": monitor})


def occurrences(window: MaintenanceWindow, since: datetime, until: datetime) -> list[Span]:
    """Occurrences of the window that overlap `[since, until)`, oldest first."""
    if window.rrule is None:
        if window.start and window.end and window.start < until and window.end > since:
            return [(window.start, window.end)]
        return []
    zone = ZoneInfo(window.time_zone)
    # Anchored at a local midnight well before the span, like the window's own rule, so BY* parts decide times.
    anchor = (since - window.duration - timedelta(days=400)).astimezone(zone)
    anchor = anchor.replace(hour=0, minute=0, second=0, microsecond=0)
    rule = rrules.rrulestr(window.rrule, dtstart=anchor)
    starts = rule.between((since - window.duration).astimezone(zone), until.astimezone(zone), inc=True)
    return [(s, s + window.duration) for s in starts if s + window.duration > since and s < until]


def spans_for(
    windows: Iterable[MaintenanceWindow], monitors: Iterable[str], since: datetime, until: datetime
) -> list[Span]:
    """Every occurrence in the span of the windows that cover any of the monitors."""
    names = list(monitors)
    found = [s for w in windows if any(covers(w, m) for m in names) for s in occurrences(w, since, until)]
    return sorted(found)
