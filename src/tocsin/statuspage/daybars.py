"""Turning a component's day bars into the views a page shows, cheaply: a page of 100 components has 9,000 days.

The 90 date strings are made once per page and each distinct day (maintenance, good
results, results) is worded and coloured once, so a day costs a few lookups and one small
object; the uptime sums come out of the same pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import date, timedelta

from tocsin.statuspage import uptime as up
from tocsin.statuspage.incidents import IncidentView


@dataclass(frozen=True, slots=True)
class BarIncident:
    """An incident that touched a day of a component."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class BarView:
    """One day bar (a slotted dataclass, not a model: a page of 100 components has 9,000 of them)."""

    day: str
    total: int
    down: int
    uptime: float | None
    maintenance: bool
    css: str
    label: str
    incidents: tuple[BarIncident, ...] = ()


@dataclass(frozen=True, slots=True)
class ComponentBars:
    """A component's bars and its uptime over all of them and over the last 30 (maintenance days left out)."""

    bars: list[BarView]
    uptime_90d: float | None
    uptime_30d: float | None


_Facts = tuple[float | None, str, str]  # uptime, text after the date, colour class
_NONE = (0, 0, 0, 0)


class BarMaker:
    """Makes the bar views of every component of one page, for the `days` days from `first` on."""

    def __init__(self, first: date, days: int = up.DAYS) -> None:
        self.first, self.days = first, days
        self._dates = [first + timedelta(days=k) for k in range(days)]
        self._names = [d.isoformat() for d in self._dates]
        self._facts: dict[tuple[bool, int, int], _Facts] = {}

    def _fact(self, maintenance: bool, good: int, total: int) -> _Facts:
        key = (maintenance, good, total)
        found = self._facts.get(key)
        if found is None:
            value = good / total if total else None
            found = self._facts[key] = (value, up.day_text(maintenance, value), up.day_class(maintenance, value))
        return found

    def make(
        self,
        counts: Mapping[int, Sequence[int]],
        maintenance: Set[date],
        touched: Mapping[date, Sequence[IncidentView]],
    ) -> ComponentBars:
        """Views of the days from `first`: `counts` (`[total, up, degraded, down]` by `up.day_number`), the days
        maintenance touched, and the incidents that touched each day."""
        out: list[BarView] = []
        sums = [0, 0, 0, 0]  # good and total results over all days, then over the last 30
        first, recent = up.day_number(self.first), self.days - 30
        for k, day in enumerate(self._dates):
            total, good_up, degraded, down = counts.get(first + k) or _NONE
            good, held = good_up + degraded, day in maintenance
            value, text, css = self._fact(held, good, total)
            if not held:
                sums[0], sums[1] = sums[0] + good, sums[1] + total
                if k >= recent:
                    sums[2], sums[3] = sums[2] + good, sums[3] + total
            hit = touched.get(day) if touched else None
            label = f"{self._names[k]}: {text}"
            if hit:
                label += "; incidents: " + ", ".join(i.name for i in hit)
            incidents = tuple(BarIncident(i.id, i.name) for i in hit) if hit else ()
            out.append(BarView(self._names[k], total, down, value, held, css, label, incidents))
        return ComponentBars(out, _share(sums[0], sums[1]), _share(sums[2], sums[3]))


def _share(good: int, total: int) -> float | None:
    return good / total if total else None
