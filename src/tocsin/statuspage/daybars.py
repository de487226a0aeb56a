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


Run = tuple[int, int]  # first and last index of consecutive days that say the same
_Said = tuple[str, str] | None  # what a day says (colour class, text after the date); None: it stands alone


@dataclass(frozen=True, slots=True)
class ComponentBars:
    """A component's bars and its uptime over all of them and over the last 30 (maintenance days left out), with
    the runs of days that say the same when days with incidents stand alone (as the page links them), if known."""

    bars: list[BarView]
    uptime_90d: float | None
    uptime_30d: float | None
    runs: tuple[Run, ...] | None = None


def runs(bars: Sequence[BarView], linked: bool) -> list[Run]:
    """Index ranges of consecutive days that say the same (a day with a linked incident stands alone)."""
    out: list[Run] = []
    key: _Said = None
    for i, b in enumerate(bars):
        this = _said(b, linked)
        if this is not None and this == key:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
        key = this
    return out


@dataclass(frozen=True, slots=True)
class Stretch:
    """Bar views of some consecutive days of a component, with the good and total results among them over all
    of them and over those in the last 30 days (maintenance days left out): parts of `ComponentBars`."""

    bars: tuple[BarView, ...]
    sums: tuple[int, int, int, int]
    runs: tuple[Run, ...]  # as `runs(bars, linked=True)`, indexes from the stretch's first day
    ends: tuple[_Said, _Said]  # what its first and last day say, to join runs across stretches


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

    @property
    def today(self) -> date:
        """The last day of the bars."""
        return self._dates[-1]

    def make(
        self,
        counts: Mapping[int, Sequence[int]],
        maintenance: Set[date],
        touched: Mapping[date, Sequence[IncidentView]],
    ) -> ComponentBars:
        """Views of the days from `first`: `counts` (`[total, up, degraded, down]` by `up.day_number`), the days
        maintenance touched, and the incidents that touched each day."""
        return self.join(self.stretch(counts, maintenance, touched))

    def stretch(
        self,
        counts: Mapping[int, Sequence[int]],
        maintenance: Set[date],
        touched: Mapping[date, Sequence[IncidentView]],
        start: int = 0,
        stop: int | None = None,
    ) -> Stretch:
        """Views of the days with index `start` to `stop` (excluded; the end by default), as `make` words them."""
        out: list[BarView] = []
        sums = [0, 0, 0, 0]  # good and total results over all days, then over the last 30
        spans: list[Run] = []  # as `runs(out, linked=True)`, made in the same pass
        said: _Said = None
        first, recent = up.day_number(self.first), self.days - 30
        for k in range(start, self.days if stop is None else stop):
            day = self._dates[k]
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
            before, said = said, None if hit else (css, text)  # a day with incidents links to them: alone
            if said is not None and said == before:
                spans[-1] = (spans[-1][0], k - start)
            else:
                spans.append((k - start, k - start))
        ends = (_said(out[0], True), said) if out else (None, None)
        return Stretch(tuple(out), (sums[0], sums[1], sums[2], sums[3]), tuple(spans), ends)

    @staticmethod
    def join(*parts: Stretch) -> ComponentBars:
        """One component's bars from stretches of its consecutive days, in order, with their runs joined."""
        bars: list[BarView] = []
        sums = [0, 0, 0, 0]
        joined: list[Run] = []
        last: _Said = None
        for part in parts:
            offset, spans = len(bars), part.runs
            if spans and last is not None and last == part.ends[0]:  # the run goes on across the seam
                joined[-1], spans = (joined[-1][0], offset + spans[0][1]), spans[1:]
            joined += spans if offset == 0 else [(offset + a, offset + b) for a, b in spans]
            bars += part.bars
            sums = [x + y for x, y in zip(sums, part.sums, strict=True)]
            last = part.ends[1] if part.bars else last
        return ComponentBars(bars, _share(sums[0], sums[1]), _share(sums[2], sums[3]), tuple(joined))


def _said(bar: BarView, linked: bool) -> _Said:
    """What a day says, as runs compare it: None when it stands alone (a linked day with incidents)."""
    return None if linked and bar.incidents else (bar.css, bar.label.partition(": ")[2])


def _share(good: int, total: int) -> float | None:
    return good / total if total else None
