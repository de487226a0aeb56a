"""Per-minute good/total counts of many SLOs as running sums, so any window is two lookups.

Time is counted in UTC minute numbers (see `windows.minute_of`). A boundary `b` is the
instant between minute `b - 1` and minute `b`; a range [start, end) of boundaries holds
the minutes start .. end - 1. The series keeps the running sum C(b) of every SLO at
every minute boundary of the recent past (exact windows, default 3 days) and at every
hour boundary further back (default a quarter); a sum over [s, e) is C(e) - C(s). A
boundary older than the minute ring moves forward to the next hour boundary, so long
windows lose at most 59 minutes at their far edge. See docs/slo/math.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

HOUR = 60
DEFAULT_MINUTE_ROWS = 3 * 24 * 60 + HOUR + 1  # 3 days exact, plus the hour in progress
DEFAULT_HOUR_ROWS = 93 * 24 + 1  # a calendar quarter (at most 92 days) plus a day


class Method(StrEnum):
    """OpenSLO budgeting methods."""

    OCCURRENCES = "Occurrences"
    TIMESLICES = "Timeslices"
    RATIO_TIMESLICES = "RatioTimeslices"


class Counts(NamedTuple):
    """Good and total counts for every SLO (events, good slices/slices, or ratio sum/slices)."""

    good: FloatArray
    total: FloatArray


class RunningSums:
    """Running (good, total) sums of many SLOs at recent minute and older hour boundaries."""

    def __init__(
        self,
        size: int,
        origin: int,
        *,
        minute_rows: int = DEFAULT_MINUTE_ROWS,
        hour_rows: int = DEFAULT_HOUR_ROWS,
    ) -> None:
        """Start empty at boundary `origin`; everything before it counts as zero."""
        if minute_rows <= HOUR or hour_rows < 2:
            raise ValueError("keep more than an hour of minutes and at least two hours")
        # Time-major rows: appending a minute writes one contiguous row, and a window for
        # all SLOs reads two contiguous rows.
        self._minutes = np.zeros((minute_rows, 2, size))
        self._hours = np.zeros((hour_rows, 2, size))
        self._origin = self._end = origin

    @property
    def end(self) -> int:
        """The boundary after the last appended minute (where windows ending now end)."""
        return self._end

    @property
    def size(self) -> int:
        """How many SLOs the sums hold."""
        return int(self._minutes.shape[2])

    @property
    def nbytes(self) -> int:
        """Memory held by both rings."""
        return int(self._minutes.nbytes + self._hours.nbytes)

    def append(self, good: FloatArray, total: FloatArray) -> None:
        """Add one minute of counts for every SLO."""
        last = self._minutes[self._end % len(self._minutes)]
        self._end += 1
        row = self._minutes[self._end % len(self._minutes)]
        np.add(last[0], good, out=row[0])
        np.add(last[1], total, out=row[1])
        if self._end % HOUR == 0:
            self._hours[(self._end // HOUR) % len(self._hours)] = row

    @property
    def oldest(self) -> int:
        """The oldest boundary read exactly: the origin, or the oldest still in the minute or the hour ring."""
        in_minutes = max(self._origin, self._end - len(self._minutes) + 1)
        in_hours = max((self._end // HOUR - len(self._hours) + 1) * HOUR, -(-self._origin // HOUR) * HOUR)
        return min(in_minutes, in_hours)

    def effective(self, boundary: int) -> int:
        """The boundary actually used for `boundary`: exact if recent, else the next hour."""
        clamped = min(max(boundary, self._origin), self._end)
        if clamped > self._end - len(self._minutes):
            return clamped
        hour = -(-clamped // HOUR) * HOUR
        if hour <= self._end - len(self._hours) * HOUR:
            raise ValueError(f"minute {boundary} is older than the retained history")
        return hour

    def at(self, boundary: int) -> FloatArray:
        """The running sums (2 x size) at a boundary, after `effective` rounding."""
        use = self.effective(boundary)
        if use > self._end - len(self._minutes):
            row: FloatArray = self._minutes[use % len(self._minutes)]
        else:
            row = self._hours[(use // HOUR) % len(self._hours)]
        return row

    def between(self, start: int, end: int) -> Counts:
        """Counts of every SLO over the boundaries [start, end)."""
        if start > end:
            raise ValueError(f"range [{start}, {end}) runs backwards")
        last = self.effective(end)
        # An old start rounded up past an old end leaves an empty range, not a negative one.
        diff = self.at(last) - self.at(min(self.effective(start), last))
        return Counts(diff[0], diff[1])

    def since(self, starts: npt.ArrayLike) -> Counts:
        """Counts of every SLO from its own start boundary up to `end` (vectorised gather)."""
        begin = self._effective_many(np.asarray(starts, dtype=np.int64))
        columns = np.arange(self.size)
        recent = begin > self._end - len(self._minutes)
        from_minutes = self._minutes[begin % len(self._minutes), :, columns]
        from_hours = self._hours[(begin // HOUR) % len(self._hours), :, columns]
        first = np.where(recent[:, None], from_minutes, from_hours)
        diff = self.at(self._end) - first.T
        return Counts(diff[0], diff[1])

    def _effective_many(self, starts: IntArray) -> IntArray:
        """`effective` for an array of boundaries."""
        if starts.shape != (self.size,):
            raise ValueError(f"need one start per SLO ({self.size}), got shape {starts.shape}")
        clamped = np.clip(starts, self._origin, self._end)
        recent = clamped > self._end - len(self._minutes)
        hours = -(-clamped // HOUR) * HOUR
        if np.any(~recent & (hours <= self._end - len(self._hours) * HOUR)):
            raise ValueError("a window starts before the retained history")
        return np.where(recent, clamped, hours)


class SloSeries:
    """Minute-by-minute SLI counts of many SLOs, each with its own OpenSLO budgeting method.

    Occurrences SLOs add their events; Timeslices SLOs add (1 if the slice's ratio meets its
    target else 0, 1) when a slice ends; RatioTimeslices SLOs add (slice ratio, 1). Slices
    are aligned to multiples of their length in UTC minutes; a slice without events is not
    measured (neither good nor bad). Every window then reads `good / total` as its SLI.
    """

    def __init__(
        self,
        methods: Sequence[Method],
        origin: int,
        *,
        slice_minutes: npt.ArrayLike = 1,
        slice_targets: npt.ArrayLike = 0.0,
        minute_rows: int = DEFAULT_MINUTE_ROWS,
        hour_rows: int = DEFAULT_HOUR_ROWS,
    ) -> None:
        """Track `len(methods)` SLOs from boundary `origin` (a UTC minute number)."""
        size = len(methods)
        kinds = np.array([Method(m) for m in methods], dtype=object)
        self._ratio = kinds == Method.RATIO_TIMESLICES
        self._sliced = self._ratio | (kinds == Method.TIMESLICES)
        self._length = np.broadcast_to(np.asarray(slice_minutes, dtype=np.int64), (size,)).copy()
        self._target = np.broadcast_to(np.asarray(slice_targets, dtype=np.float64), (size,)).copy()
        _check_slices(self._length, self._target, self._sliced, minute_rows)
        self._acc = np.zeros((2, size))
        self.sums = RunningSums(size, origin, minute_rows=minute_rows, hour_rows=hour_rows)

    @property
    def end(self) -> int:
        """The boundary after the last appended minute."""
        return self.sums.end

    def append(self, good: npt.ArrayLike, total: npt.ArrayLike) -> None:
        """Add the next minute's good and total event counts of every SLO (one tick)."""
        g, t = _pair(good, total, self.sums.size)
        if not self._sliced.any():
            self.sums.append(g, t)
            return
        self._acc[0] += np.where(self._sliced, g, 0.0)
        self._acc[1] += np.where(self._sliced, t, 0.0)
        closing = self._sliced & ((self.end + 1) % self._length == 0)
        slice_good, slice_total = self._close_slices(closing)
        good_in = np.where(self._sliced, slice_good, g)
        self.sums.append(good_in, np.where(self._sliced, slice_total, t))

    def _close_slices(self, closing: NDArray[np.bool_]) -> tuple[FloatArray, FloatArray]:
        """Score the slices that end this minute and reset their accumulators."""
        measured = closing & (self._acc[1] > 0)
        ratio = np.divide(self._acc[0], self._acc[1], out=np.zeros(len(closing)), where=measured)
        score = np.where(self._ratio, ratio, (ratio >= self._target).astype(np.float64))
        self._acc[:, closing] = 0.0
        return np.where(measured, score, 0.0), measured.astype(np.float64)

    def window(self, minutes: int) -> Counts:
        """Counts of every SLO over the last `minutes` minutes."""
        return self.sums.between(self.end - minutes, self.end)

    def between(self, start: int, end: int) -> Counts:
        """Counts of every SLO over the minute boundaries [start, end)."""
        return self.sums.between(start, end)

    def since(self, starts: npt.ArrayLike) -> Counts:
        """Counts of every SLO from its own start boundary (e.g. its calendar period) to now."""
        return self.sums.since(starts)


def _pair(good: npt.ArrayLike, total: npt.ArrayLike, size: int) -> tuple[FloatArray, FloatArray]:
    """Validate one minute of counts: one non-negative value per SLO, good <= total."""
    g = np.asarray(good, dtype=np.float64)
    t = np.asarray(total, dtype=np.float64)
    if g.shape != (size,) or t.shape != (size,):
        raise ValueError(f"need {size} good and total counts, got {g.shape} and {t.shape}")
    if np.any(g < 0) or np.any(g > t):
        raise ValueError("counts must satisfy 0 <= good <= total")
    return g, t


def _check_slices(length: IntArray, target: FloatArray, sliced: NDArray[np.bool_], minute_rows: int) -> None:
    """Reject slice lengths and targets that cannot be scored."""
    if np.any(sliced & ((length < 1) | (length >= minute_rows))):
        raise ValueError("a timeslice is at least one minute and shorter than the minute ring")
    if np.any(sliced & ((target < 0) | (target > 1))):
        raise ValueError("a timeslice target is a ratio between 0 and 1")
