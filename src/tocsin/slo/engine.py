"""The in-memory core of the evaluator: running sums of many SLOs and one evaluation per minute.

Pure: minutes of counts go in, figures and active burn-rate tiers come out; the caller
decides when a minute is complete and owns every I/O. Each SLO may have its own window,
budgeting method and tiers; SLOs sharing a window spec or a tier list are evaluated as
one numpy batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from tocsin.slo.math import BurnTier, Evaluation, SloReport, evaluate, evaluate_tiers
from tocsin.slo.model import Slo
from tocsin.slo.series import DEFAULT_MINUTE_ROWS, HOUR, Counts, SloSeries
from tocsin.slo.windows import (
    BURN_WINDOWS,
    CalendarWindow,
    RollingWindow,
    WindowSpec,
    elapsed_share,
    instant_of,
    minute_of,
    window_bounds,
)

T = TypeVar("T")
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
LONGEST_CALENDAR_MINUTES = {"week": 7 * 1440, "month": 31 * 1440 + 60, "quarter": 92 * 1440 + 60}


def window_span(spec: WindowSpec) -> int:
    """The most minutes a window can cover (a calendar period at its longest)."""
    if isinstance(spec, RollingWindow):
        return int(spec.length.total_seconds()) // 60
    return LONGEST_CALENDAR_MINUTES[spec.unit]


def hour_rows_for(slos: Sequence[Slo], margin_hours: int = 25) -> int:
    """Hour-ring rows that hold the longest window of `slos`, plus a margin for views."""
    longest = max((window_span(s.window) for s in slos), default=3 * 1440)
    return longest // HOUR + margin_hours


@dataclass(frozen=True)
class WindowState:
    """Where each SLO's window stands at the evaluation minute."""

    start: IntArray  # first minute of the window
    minutes: FloatArray  # the window's length in minutes (the whole calendar period)
    elapsed: FloatArray  # share of the window behind the evaluation instant


@dataclass(frozen=True)
class Snapshot:
    """One evaluation of every SLO at minute `end` (an instant on a minute boundary)."""

    end: int
    evaluation: Evaluation
    windows: WindowState
    firing: tuple[tuple[str, ...], ...]  # per SLO: tiers whose condition holds, before suppression
    active: tuple[BurnTier | None, ...]  # per SLO: the highest firing tier

    @property
    def at(self) -> datetime:
        """The evaluation instant."""
        return instant_of(self.end)

    def report(self, index: int) -> SloReport:
        """The plain figures of one SLO."""
        return self.evaluation.report(index)


class SloEngine:
    """Running sums of many SLOs plus their evaluation; see the module docstring."""

    def __init__(
        self,
        slos: Sequence[Slo],
        origin: int,
        *,
        minute_rows: int = DEFAULT_MINUTE_ROWS,
        hour_rows: int | None = None,
    ) -> None:
        """Track `slos` from boundary `origin` (a UTC minute number, everything before counts as zero)."""
        self.slos = tuple(slos)
        self.origin = origin
        self.index = {s.name: i for i, s in enumerate(self.slos)}
        self.series = SloSeries(
            [s.method for s in self.slos],
            origin,
            slice_minutes=np.array([s.slice_minutes for s in self.slos], dtype=np.int64),
            slice_targets=np.array([s.slice_target for s in self.slos]),
            minute_rows=minute_rows,
            hour_rows=hour_rows or hour_rows_for(self.slos),
        )
        self.objective = np.array([s.objective for s in self.slos])
        self._specs = _group(s.window for s in self.slos)
        self._tiers = _group(s.tiers for s in self.slos)
        tier_windows = {m for s in self.slos for t in s.tiers for m in (t.long_minutes, t.short_minutes)}
        self.windows = tuple(sorted(set(BURN_WINDOWS) | tier_windows))
        self.last: Snapshot | None = None

    @property
    def end(self) -> int:
        """The boundary after the last appended minute."""
        return self.series.end

    def append(self, good: FloatArray, total: FloatArray) -> None:
        """Add one minute of input counts (events or results) for every SLO."""
        self.series.append(good, total)

    def append_hour(self, good: FloatArray, total: FloatArray) -> None:
        """Add one whole hour already in method units (from stored SLI hours); the end must be on an hour."""
        if self.end % HOUR:
            raise ValueError("append_hour needs the series to end on an hour")
        zeros = np.zeros(len(self.slos))
        sums = self.series.sums
        for _ in range(HOUR - 1):
            sums.append(zeros, zeros)
        sums.append(good, total)

    def between(self, start: int, end: int) -> Counts:
        """Counts (method units) of every SLO over minutes [start, end)."""
        return self.series.between(start, end)

    def window_state(self, end: int) -> WindowState:
        """Each SLO's window start, length and elapsed share at boundary `end`."""
        now = instant_of(end)
        start = np.empty(len(self.slos), dtype=np.int64)
        minutes, elapsed = np.empty(len(self.slos)), np.empty(len(self.slos))
        for spec, members in self._specs:
            first, last = window_bounds(spec, now)
            start[members] = minute_of(first)
            minutes[members] = minute_of(last) - minute_of(first)
            elapsed[members] = elapsed_share(spec, now) if isinstance(spec, CalendarWindow) else 1.0
        return WindowState(start, minutes, elapsed)

    def evaluate(self) -> Snapshot:
        """Evaluate every SLO at the current end of the series."""
        state = self.window_state(self.end)
        recent = {m: self.series.window(m) for m in self.windows}
        whole = self.series.since(state.start)
        evaluation = evaluate(whole, recent, self.objective, state.minutes, state.elapsed, tiers=())
        firing: list[tuple[str, ...]] = [()] * len(self.slos)
        active: list[BurnTier | None] = [None] * len(self.slos)
        for tiers, members in self._tiers:
            if not tiers:
                continue
            part = {m: (g[members], t[members]) for m, (g, t) in recent.items()}
            result = evaluate_tiers(tiers, part, self.objective[members], state.minutes[members])
            top = result.highest()
            for column, slo in enumerate(members):
                firing[slo] = tuple(t.name for t, on in zip(tiers, result.firing[:, column], strict=True) if on)
                active[slo] = tiers[top[column]] if top[column] >= 0 else None
        self.last = Snapshot(self.end, evaluation, state, tuple(firing), tuple(active))
        return self.last


def _group(values: Iterable[T]) -> list[tuple[T, IntArray]]:
    """Positions of equal values: [(value, indices)], in first-seen order."""
    groups: dict[T, list[int]] = {}
    for index, value in enumerate(values):
        groups.setdefault(value, []).append(index)
    return [(value, np.array(members, dtype=np.int64)) for value, members in groups.items()]
