"""Maintenance windows: one-off or recurring (RRULE + duration in a time zone), scoped by matchers or monitors.

Pure: every function takes `now`. A recurring window's occurrences are computed in its
own time zone, so `BYHOUR=2` stays at 02:00 local across daylight-saving changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule as rrules

from tocsin.labels import Matcher, matches


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A period during which matching alerts are muted and uptime/SLOs exclude the time."""

    name: str
    matchers: tuple[Matcher, ...] = ()
    monitors: tuple[str, ...] = ()
    start: datetime | None = None  # one-off: start and end
    end: datetime | None = None
    rrule: str | None = None  # recurring: rule, duration, time zone
    duration: timedelta = timedelta(0)
    time_zone: str = "UTC"
    description: str = ""

    def scopes(self, labels: Mapping[str, str]) -> bool:
        """True when the window applies to alerts with these labels."""
        if self.monitors and labels.get("monitor") in self.monitors:
            return True
        return bool(self.matchers) and matches(self.matchers, labels)

    def occurrence_at(self, now: datetime) -> tuple[datetime, datetime] | None:
        """The (start, end) occurrence containing `now`, if any."""
        if self.rrule is None:
            if self.start and self.end and self.start <= now < self.end:
                return self.start, self.end
            return None
        start = self._rule(now - self.duration).before(now.astimezone(self._zone()), inc=True)
        if start is not None and now < start + self.duration:
            return start, start + self.duration
        return None

    def next_occurrences(self, now: datetime, count: int = 5) -> list[tuple[datetime, datetime]]:
        """The current occurrence (if any) and the next ones, at most `count`."""
        if self.rrule is None:
            return [(self.start, self.end)] if self.start and self.end and self.end > now else []
        found: list[tuple[datetime, datetime]] = []
        current = self.occurrence_at(now)
        if current:
            found.append(current)
        rule = self._rule(now)
        t: datetime | None = now.astimezone(self._zone())
        while len(found) < count and t is not None:
            t = rule.after(t)
            if t is not None:
                found.append((t, t + self.duration))
        return found[:count]

    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def _rule(self, around: datetime) -> rrules.rrule | rrules.rruleset:
        """The rule anchored at a local midnight well before `around`, so BY* parts decide the times."""
        zone = self._zone()
        anchor = (around - timedelta(days=400)).astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        return rrules.rrulestr(self.rrule or "", dtstart=anchor)


def active_windows(windows: Iterable[MaintenanceWindow], labels: Mapping[str, str], now: datetime) -> list[str]:
    """Names of the windows that mute an alert with these labels at `now`."""
    return [w.name for w in windows if w.scopes(labels) and w.occurrence_at(now) is not None]
