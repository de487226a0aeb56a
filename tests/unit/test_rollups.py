"""Pure rollup math: alignment, aggregation, histogram quantiles and window plans."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.store.rollups import (
    DAY,
    HIST,
    HOUR,
    LATENCY_BOUNDS_MS,
    MINUTE,
    Horizons,
    Span,
    aggregate,
    ceil_to,
    decompose,
    floor_to,
    latency_bucket,
    plan,
    quantile,
    widen,
)

D = 1_767_225_600  # 2026-01-01T00:00Z, a day boundary


@pytest.mark.parametrize(
    ("seconds", "size", "floor", "ceil"),
    [
        (D, MINUTE, D, D),  # aligned stays put both ways
        (D + 1, MINUTE, D, D + 60),
        (D + 59, MINUTE, D, D + 60),
        (D + 3599, HOUR, D, D + 3600),
        (D - 1, DAY, D - DAY, D),  # the last second of the previous UTC day
    ],
)
def test_alignment(seconds: int, size: int, floor: int, ceil: int) -> None:
    assert (floor_to(seconds, size), ceil_to(seconds, size)) == (floor, ceil)


@pytest.mark.parametrize(
    ("latency", "bucket"),
    [
        (0.0, 0),  # the first bucket starts at 0
        (5.0, 0),  # bounds are inclusive upper bounds (Prometheus `le`)
        (5.0001, 1),
        (250.0, 7),
        (10_000.0, 14),
        (10_000.1, 15),  # +Inf
    ],
)
def test_latency_bucket(latency: float, bucket: int) -> None:
    assert latency_bucket(latency) == bucket


def test_aggregate_sums_per_monitor_and_bucket() -> None:
    ms = D * 1000
    out = aggregate(
        [
            (1, ms, "up", 3.0),
            (1, ms + 59_999, "down", None),  # same minute, no latency
            (1, ms + 60_000, "degraded", 300.0),  # next minute, same hour and day
            (2, ms, "up", 20_000.0),
        ]
    )
    minute = out["minute"][(1, D)]
    assert minute[:6] == [2, 1, 0, 1, 3.0, 1]
    assert minute[HIST + 0] == 1
    assert out["minute"][(1, D + 60)][:6] == [1, 0, 1, 0, 300.0, 1]
    assert out["hour"][(1, D)][:6] == [3, 1, 1, 1, 303.0, 2]
    assert out["day"][(2, D)][HIST + 15] == 1
    assert isinstance(out["minute"][(1, D)][4], float)
    assert isinstance(out["minute"][(1, D)][5], int)


@pytest.mark.parametrize(
    ("histogram", "permille", "expected"),
    [
        ([0] * 16, 500, None),  # no latencies, no quantile
        ([4] + [0] * 15, 500, 2.5),  # rank 2 of 4 in (0, 5]: halfway
        ([0, 1] + [0] * 14, 990, 10.0),  # a lone value sits at its bucket's upper bound
        ([1, 1] + [0] * 14, 500, 5.0),  # rank 1 is the top of the first bucket
        ([0] * 15 + [3], 500, 10_000.0),  # +Inf reports the last finite bound
        ([98, 0, 2] + [0] * 13, 990, 17.5),  # rank 99: 1st of 2 in (10, 25]
    ],
)
def test_quantile_table(histogram: list[int], permille: int, expected: float | None) -> None:
    assert quantile(histogram, permille) == expected


@given(
    st.lists(st.floats(0, 30_000, allow_nan=False), min_size=1, max_size=200),
    st.sampled_from([1, 500, 900, 950, 990, 1000]),
)
def test_quantile_lies_in_the_bucket_of_the_true_value(values: list[float], permille: int) -> None:
    histogram = [0] * 16
    for value in values:
        histogram[latency_bucket(value)] += 1
    true = sorted(values)[max(1, math.ceil(permille * len(values) / 1000)) - 1]
    i = latency_bucket(true)
    low, high = (LATENCY_BOUNDS_MS[i - 1] if i else 0.0), LATENCY_BOUNDS_MS[i]
    estimate = quantile(histogram, permille)
    assert estimate is not None
    assert low <= estimate <= min(high, LATENCY_BOUNDS_MS[-2])


@pytest.mark.parametrize(
    ("since", "until", "horizons", "expected"),
    [
        (D + 30, D + 90, Horizons(), (D, D + 120)),  # whole minutes overlapping the window
        (D + 120, D + 180, Horizons(), (D + 120, D + 180)),  # aligned: unchanged
        (D + 3700, D + 9000, Horizons(minute=D + 7200), (D + 3600, D + 9000)),  # far edge to the hour
        (D + 60, D + 120, Horizons(minute=D + DAY), (D, D + 3600)),  # both edges purged
        (D + 3700, D + 9000, Horizons(minute=D + DAY, hour=D + DAY), (D, D + DAY)),  # hours gone too
    ],
)
def test_widen(since: int, until: int, horizons: Horizons, expected: tuple[int, int]) -> None:
    assert widen(since, until, horizons) == expected


def test_decompose_uses_the_coarsest_rows_inside() -> None:
    start, end = D + 7 * 60, D + 5 * DAY + 13 * 60
    assert decompose(start, end) == [
        Span("minute", D + 7 * 60, D + HOUR),
        Span("hour", D + HOUR, D + DAY),
        Span("day", D + DAY, D + 5 * DAY),
        Span("minute", D + 5 * DAY, D + 5 * DAY + 13 * 60),
    ]
    assert decompose(D + 60, D + 180) == [Span("minute", D + 60, D + 180)]
    assert decompose(D, D) == []


@given(
    st.integers(0, 40 * DAY),
    st.integers(1, 40 * DAY),
    st.integers(0, 40 * DAY),
    st.integers(0, 40 * DAY),
)
def test_plan_covers_the_widened_window_with_kept_rows(
    offset: int, length: int, minute_kept: int, hour_kept: int
) -> None:
    horizons = Horizons(minute=D + max(minute_kept, hour_kept), hour=D + hour_kept)
    since, until = D + offset, D + offset + length
    start, end, spans = plan(since, until, horizons)
    assert start <= since
    assert end >= until
    assert end - until < DAY  # widening never adds more than a day per edge
    assert spans[0].start == start
    assert spans[-1].end == end
    for before, after in itertools.pairwise(spans):
        assert before.end == after.start  # contiguous: nothing counted twice or missed
    for span in spans:
        size = {"minute": MINUTE, "hour": HOUR, "day": DAY}[span.resolution]
        assert span.start % size == 0
        assert span.end % size == 0
        if span.resolution == "minute":
            assert span.start >= horizons.minute  # only rows that still exist
        if span.resolution == "hour":
            assert span.start >= horizons.hour
    if floor_to(since, MINUTE) >= horizons.minute:
        assert start == floor_to(since, MINUTE)  # exact to the minute while minute rows exist
