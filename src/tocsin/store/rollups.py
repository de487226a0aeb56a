"""Pure rollup math: bucket alignment, batch aggregation, histogram quantiles, window plans.

A rollup row holds, per monitor and bucket, the vector laid out by `VALUE_COLUMNS`:
counts by outcome, the latency sum and count, and a fixed latency histogram. Minute rows
are written with every batch. Hour and day rows are folded from them later (store/fold.py):
below the fold watermark `W` an hour or day row is the exact sum of its minute rows before
`W`, and from `W` on only minute rows exist. That is what lets a window mix them.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tocsin.store.records import Bucket, LatencyQuantiles, WindowStats
from tocsin.store.times import from_s

Resolution = Literal["minute", "hour", "day"]
MINUTE, HOUR, DAY = 60, 3600, 86400
SIZE: dict[Resolution, int] = {"minute": MINUTE, "hour": HOUR, "day": DAY}
COARSE_TO_FINE: tuple[Resolution, ...] = ("day", "hour", "minute")

# Upper bounds (ms, inclusive) of the histogram buckets; the first starts at 0.
LATENCY_BOUNDS_MS: tuple[float, ...] = (
    5, 10, 25, 50, 75, 100, 150, 250, 400, 600, 1000, 1500, 2500, 5000, 10000, math.inf,
)  # fmt: skip
HISTOGRAM_COLUMNS = tuple(f"h{i:02d}" for i in range(len(LATENCY_BOUNDS_MS)))
COUNT_COLUMNS = ("total", "up", "degraded", "down", "latency_sum_ms", "latency_count")
VALUE_COLUMNS = COUNT_COLUMNS + HISTOGRAM_COLUMNS
TOTAL, UP, DEGRADED, DOWN, LAT_SUM, LAT_COUNT, HIST = 0, 1, 2, 3, 4, 5, 6
OUTCOME_INDEX = {"up": UP, "degraded": DEGRADED, "down": DOWN}

Vector = list[float]  # laid out as VALUE_COLUMNS; every slot but LAT_SUM holds an int
Sample = tuple[int, int, str, float | None]  # (monitor_id, at_ms, outcome, latency_ms)
Aggregates = dict[Resolution, dict[tuple[int, int], Vector]]


def floor_to(seconds: int, size: int) -> int:
    """The start of the `size`-second bucket containing `seconds`."""
    return seconds - seconds % size


def ceil_to(seconds: int, size: int) -> int:
    """The smallest multiple of `size` that is at least `seconds`."""
    return -(-seconds // size) * size


PAST_DAY_WRITES = "rollup_day_past_writes"  # store_meta key: bumped by every batch writing a past day's rollup
CLOCK_SKEW = 300  # seconds: a day's last minutes count as past already, for nodes whose clocks run behind


def past_day_cutoff(now_s: int) -> int:
    """Day buckets starting before this (epoch seconds) are past days for a batch written at `now_s`: those a
    status page keeps between rebuilds (store/status_rollups.py), so writing one bumps `PAST_DAY_WRITES`."""
    return floor_to(now_s + CLOCK_SKEW, DAY)


def latency_bucket(latency_ms: float) -> int:
    """Index of the histogram bucket `(bound[i-1], bound[i]]` holding a latency."""
    return bisect_left(LATENCY_BOUNDS_MS, latency_ms)


def empty_vector() -> Vector:
    """A zero rollup vector: ints for the integer columns, a float for the latency sum."""
    vector: Vector = [0] * len(VALUE_COLUMNS)
    vector[LAT_SUM] = 0.0
    return vector


def aggregate(samples: Iterable[Sample], folded: int | None = None) -> Aggregates:
    """Sum a batch into one vector per (monitor, bucket) per resolution, ready to upsert.

    With a fold watermark `folded` (epoch s), samples from it on count in minute rows only: the
    fold adds them to hour and day rows later. Earlier samples (late results) count in all three.
    """
    out: Aggregates = {"minute": {}, "hour": {}, "day": {}}
    minute, hour, day = out["minute"], out["hour"], out["day"]
    every = ((minute, MINUTE), (hour, HOUR), (day, DAY))
    only_minutes = ((minute, MINUTE),)
    for monitor_id, at_ms, outcome, latency in samples:
        seconds = at_ms // 1000
        slot = OUTCOME_INDEX[outcome]
        hist = -1 if latency is None or math.isnan(latency) else HIST + latency_bucket(latency)
        for table, size in every if folded is None or seconds < folded else only_minutes:
            key = (monitor_id, seconds - seconds % size)
            row = table.get(key)
            if row is None:
                row = table[key] = empty_vector()
            row[TOTAL] += 1
            row[slot] += 1
            if hist >= 0:
                row[LAT_SUM] += latency  # type: ignore[operator]  # hist >= 0 implies a float
                row[LAT_COUNT] += 1
                row[hist] += 1
    return out


def add_into(total: Vector, other: Sequence[float]) -> None:
    """Add a vector into a running total, in place."""
    for i, value in enumerate(other):
        total[i] += value or 0


def quantile(histogram: Sequence[float], permille: int) -> float | None:
    """Estimate a latency quantile by linear interpolation inside the bucket holding its rank.

    The rank is nearest-rank (`ceil(q * n)`), so the estimate always lies in the same bucket
    as the true value: the error is at most that bucket's width. Values past the last finite
    bound are reported as that bound (10 s).
    """
    n = int(sum(histogram))
    if n == 0:
        return None
    rank = max(1, -(-permille * n // 1000))
    seen = 0
    for i, value in enumerate(histogram):
        count = int(value)
        if count and seen + count >= rank:
            low = 0.0 if i == 0 else LATENCY_BOUNDS_MS[i - 1]
            high = LATENCY_BOUNDS_MS[i]
            return low if math.isinf(high) else low + (high - low) * (rank - seen) / count
        seen += count
    return None  # unreachable: the ranks are within n


def latency_of(vector: Sequence[float]) -> LatencyQuantiles:
    """Mean and p50/p95/p99 of a rollup vector."""
    hist = vector[HIST:]
    count = vector[LAT_COUNT]
    return LatencyQuantiles(
        p50=quantile(hist, 500),
        p95=quantile(hist, 950),
        p99=quantile(hist, 990),
        mean=vector[LAT_SUM] / count if count else None,
    )


def stats_of(vector: Sequence[float], since: datetime, until: datetime) -> WindowStats:
    """WindowStats from a summed vector."""
    return WindowStats(
        since=since,
        until=until,
        total=int(vector[TOTAL]),
        up=int(vector[UP]),
        degraded=int(vector[DEGRADED]),
        down=int(vector[DOWN]),
        latency=latency_of(vector),
    )


def bucket_of(start: int, vector: Sequence[float]) -> Bucket:
    """A chart Bucket from one stored rollup row."""
    count = vector[LAT_COUNT]
    return Bucket(
        start=from_s(start),
        total=int(vector[TOTAL]),
        up=int(vector[UP]),
        degraded=int(vector[DEGRADED]),
        down=int(vector[DOWN]),
        latency_mean=vector[LAT_SUM] / count if count else None,
    )


@dataclass(frozen=True, slots=True)
class Horizons:
    """The oldest bucket start (epoch s) still kept per resolution (day rows are kept forever), and the fold
    watermark: hour and day rows hold only minutes before `folded` (None: every minute)."""

    minute: int = 0
    hour: int = 0
    folded: int | None = None


@dataclass(frozen=True, slots=True)
class Span:
    """Read the rows of one resolution with `start <= bucket < end` (epoch seconds)."""

    resolution: Resolution
    start: int
    end: int


def widen(since_s: int, until_s: int, horizons: Horizons) -> tuple[int, int]:
    """The window actually counted: whole minutes, or whole hours/days where finer rows are gone."""
    start, end = floor_to(since_s, MINUTE), ceil_to(until_s, MINUTE)
    if start < horizons.minute:
        start = floor_to(start, HOUR)
    if floor_to(end, HOUR) < horizons.minute:
        end = ceil_to(end, HOUR)
    if start < horizons.hour:
        start = floor_to(start, DAY)
    if floor_to(end, DAY) < horizons.hour:
        end = ceil_to(end, DAY)
    return start, end


def decompose(start: int, end: int, levels: Sequence[Resolution] = COARSE_TO_FINE) -> list[Span]:
    """Cover `[start, end)` with the coarsest aligned rows in the middle and finer ones at the edges."""
    if start >= end:
        return []
    level, finer = levels[0], levels[1:]
    if not finer:
        return [Span(level, start, end)]
    size = SIZE[level]
    inner_start, inner_end = ceil_to(start, size), floor_to(end, size)
    if inner_start >= inner_end:
        return decompose(start, end, finer)
    return [
        *decompose(start, inner_start, finer),
        Span(level, inner_start, inner_end),
        *decompose(inner_end, end, finer),
    ]


def plan(since_s: int, until_s: int, horizons: Horizons) -> tuple[int, int, list[Span]]:
    """The counted window and the spans of rollup rows that add up to it exactly.

    Hour and day rows are read only for buckets that end by the fold watermark (they are whole
    there); from the watermark on, minute rows are."""
    start, end = widen(since_s, until_s, horizons)
    cut = horizons.folded
    if cut is None or cut >= end:
        return start, end, decompose(start, end)
    if cut <= start:
        return start, end, [Span("minute", start, end)]
    spans = decompose(start, cut)
    last = spans[-1]
    if last.resolution == "minute":  # one minute span up to the end, not two meeting at the watermark
        spans[-1] = Span("minute", last.start, end)
    else:
        spans.append(Span("minute", cut, end))
    return start, end, spans
