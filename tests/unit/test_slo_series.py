"""Running sums of many SLOs checked against brute-force recounts of the raw minutes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.slo.math import error_budget, sli
from tocsin.slo.series import Method, RunningSums, SloSeries

SLOS = 3


@st.composite
def histories(draw: st.DrawFn, max_minutes: int = 400) -> tuple[int, np.ndarray, np.ndarray]:
    """An origin minute and per-minute (good, total) integer counts for SLOS SLOs."""
    origin = draw(st.integers(0, 10_000))
    minutes = draw(st.integers(0, max_minutes))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    total = rng.integers(0, 1_000, size=(minutes, SLOS)).astype(float)
    total[rng.random(total.shape) < 0.2] = 0.0  # some silent minutes
    good = np.floor(total * rng.random(total.shape))
    return origin, good, total


def filled(origin: int, good: np.ndarray, total: np.ndarray, minute_rows: int, hour_rows: int) -> RunningSums:
    """Running sums with every minute of the history appended."""
    sums = RunningSums(SLOS, origin, minute_rows=minute_rows, hour_rows=hour_rows)
    for g, t in zip(good, total, strict=True):
        sums.append(g, t)
    return sums


def recount(origin: int, values: np.ndarray, start: int, end: int) -> np.ndarray:
    """Brute force: add up the raw minutes in [start, end)."""
    lo, hi = max(start - origin, 0), max(end - origin, 0)
    summed: np.ndarray = values[lo:hi].sum(axis=0)
    return summed


@settings(max_examples=150, deadline=None)
@given(histories(), st.integers(61, 200), st.data())
def test_exact_windows_equal_a_brute_force_recount(
    history: tuple[int, np.ndarray, np.ndarray], minute_rows: int, data: st.DataObject
) -> None:
    """Any range inside the minute ring is an exact sum of its minutes, for every SLO at once."""
    origin, good, total = history
    sums = filled(origin, good, total, minute_rows, hour_rows=4)
    oldest = sums.end - minute_rows + 1
    end = data.draw(st.integers(max(origin, oldest), sums.end))
    start = data.draw(st.integers(origin - 50 if oldest <= origin else oldest, end))
    counts = sums.between(start, end)
    assert counts.good.tolist() == recount(origin, good, start, end).tolist()
    assert counts.total.tolist() == recount(origin, total, start, end).tolist()


def documented_rule(sums: RunningSums, origin: int, boundary: int, minute_rows: int, hour_rows: int) -> int | None:
    """The rounding rule of docs/slo/math.md, written out; None when history is too short."""
    clamped = min(max(boundary, origin), sums.end)
    if clamped > sums.end - minute_rows:
        return clamped
    hour = -(-clamped // 60) * 60
    return None if hour <= sums.end - hour_rows * 60 else hour


@settings(max_examples=200, deadline=None)
@given(histories(max_minutes=1_000), st.integers(61, 120), st.integers(2, 12), st.data())
def test_old_boundaries_move_to_the_next_hour(
    history: tuple[int, np.ndarray, np.ndarray], minute_rows: int, hour_rows: int, data: st.DataObject
) -> None:
    """Beyond the minute ring a boundary rounds up to the hour; the sum is still an exact recount."""
    origin, good, total = history
    sums = filled(origin, good, total, minute_rows, hour_rows)
    start = data.draw(st.integers(origin - 100, sums.end))
    end = data.draw(st.integers(start, sums.end))
    first = documented_rule(sums, origin, start, minute_rows, hour_rows)
    last = documented_rule(sums, origin, end, minute_rows, hour_rows)
    if first is None or last is None:
        with pytest.raises(ValueError, match="older than the retained history"):
            sums.between(start, end)
        return
    counts = sums.between(start, end)
    assert counts.total.tolist() == recount(origin, total, min(first, last), last).tolist()
    assert counts.good.tolist() == recount(origin, good, min(first, last), last).tolist()
    per_slo = sums.since(np.full(SLOS, start))
    assert per_slo.good.tolist() == sums.between(start, sums.end).good.tolist()


@settings(max_examples=150, deadline=None)
@given(histories(max_minutes=1_000), st.integers(61, 120), st.integers(2, 12))
def test_oldest_is_the_first_exact_boundary(
    history: tuple[int, np.ndarray, np.ndarray], minute_rows: int, hour_rows: int
) -> None:
    """Every boundary from `oldest` on is read exactly; the one before it is not (or is before the origin)."""
    origin, good, total = history
    sums = filled(origin, good, total, minute_rows, hour_rows)
    oldest = sums.oldest
    assert documented_rule(sums, origin, oldest, minute_rows, hour_rows) == oldest
    assert oldest == origin or documented_rule(sums, origin, oldest - 1, minute_rows, hour_rows) != oldest - 1
    assert sums.between(oldest, sums.end).total.tolist() == recount(origin, total, oldest, sums.end).tolist()


@settings(max_examples=100, deadline=None)
@given(histories(max_minutes=300), st.lists(st.integers(0, 400), min_size=SLOS, max_size=SLOS))
def test_per_slo_starts_match_one_range_each(history: tuple[int, np.ndarray, np.ndarray], back: list[int]) -> None:
    """`since` with a start per SLO equals `between` for each SLO separately."""
    origin, good, total = history
    sums = filled(origin, good, total, minute_rows=150, hour_rows=10)
    starts = np.array([sums.end - b for b in back])
    together = sums.since(starts)
    for i, start in enumerate(starts):
        alone = sums.between(int(start), sums.end)
        assert together.total[i] == alone.total[i]
        assert together.good[i] == alone.good[i]


def slice_recount(
    origin: int, good: np.ndarray, total: np.ndarray, length: int, target: float, ratio: bool, end: int, window: int
) -> tuple[float, float]:
    """Brute force: score every slice that ends inside the window [end - window, end)."""
    score, count = 0.0, 0.0
    for close in range(origin + 1, end + 1):
        if close % length or close <= end - window:
            continue
        lo = max(close - length, origin) - origin
        g, t = good[lo : close - origin].sum(), total[lo : close - origin].sum()
        if t > 0:
            score += g / t if ratio else float(g / t >= target)
            count += 1
    return score, count


@settings(max_examples=100, deadline=None)
@given(histories(max_minutes=200), st.integers(1, 15), st.sampled_from([0.5, 0.9, 0.99]), st.integers(1, 150))
def test_timeslices_equal_a_brute_force_recount(
    history: tuple[int, np.ndarray, np.ndarray], length: int, target: float, window: int
) -> None:
    """Good slices (ratio >= target) and slice ratio sums match a recount of the raw minutes."""
    origin, good, total = history
    methods = [Method.OCCURRENCES, Method.TIMESLICES, Method.RATIO_TIMESLICES]
    series = SloSeries(methods, origin, slice_minutes=length, slice_targets=target, minute_rows=160, hour_rows=4)
    for g, t in zip(good, total, strict=True):
        series.append(g, t)
    counts = series.window(window)
    assert counts.total[0] == recount(origin, total, series.end - window, series.end)[0]
    expect_good, expect_slices = slice_recount(
        origin, good[:, 1], total[:, 1], length, target, False, series.end, window
    )
    assert (counts.good[1], counts.total[1]) == (expect_good, expect_slices)
    ratio_sum, slices = slice_recount(origin, good[:, 2], total[:, 2], length, target, True, series.end, window)
    assert counts.good[2] == pytest.approx(ratio_sum)
    assert counts.total[2] == slices


@given(
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.floats(0.5, 0.99999),
    st.just(0.0) | st.floats(1e-9, 1.0),
    st.integers(1, 100_000),
)
def test_remaining_budget_never_exceeds_everything(
    a: int, b: int, objective: float, elapsed: float, window_minutes: int
) -> None:
    """Whatever the counts, at most 100% of the budget is left (bad events only ever spend it)."""
    good, total = min(a, b), max(a, b)
    budget = error_budget(good, total, objective, window_minutes, elapsed)
    assert float(budget.remaining) <= 1.0
    assert float(budget.remaining_minutes) <= float(budget.total_minutes)


def test_occurrences_is_a_ratio_of_sums_not_an_average_of_ratios() -> None:
    """A quiet bad minute and a busy good one: Occurrences weighs events, RatioTimeslices minutes."""
    series = SloSeries([Method.OCCURRENCES, Method.RATIO_TIMESLICES], origin=0)
    series.append([0, 0], [1, 1])  # 1 request, failed
    series.append([99, 99], [100, 100])  # 100 requests, 99 good
    occurrences, ratio_slices = sli(*series.window(2))
    assert occurrences == pytest.approx(99 / 101)  # ratio of sums: 0.980
    assert ratio_slices == pytest.approx((0 / 1 + 99 / 100) / 2)  # average of ratios: 0.495
    assert occurrences != pytest.approx(ratio_slices)


def test_slices_without_events_are_not_measured() -> None:
    """An empty slice is neither good nor bad, so it cannot change the SLI."""
    series = SloSeries([Method.TIMESLICES], origin=0, slice_minutes=1, slice_targets=0.9)
    for good, total in [(10, 10), (0, 0), (1, 10)]:
        series.append([good], [total])
    assert [c.tolist() for c in series.window(3)] == [[1.0], [2.0]]


def test_minutes_must_be_consistent() -> None:
    """Counts are one per SLO and good never exceeds total."""
    series = SloSeries([Method.OCCURRENCES] * 2, origin=0)
    with pytest.raises(ValueError, match="0 <= good <= total"):
        series.append([2, 0], [1, 0])
    with pytest.raises(ValueError, match="need 2 good and total"):
        series.append([1], [1])


def test_bad_slice_settings_are_refused() -> None:
    """Timeslice targets are ratios and slices fit in the minute ring."""
    with pytest.raises(ValueError, match="ratio between 0 and 1"):
        SloSeries([Method.TIMESLICES], origin=0, slice_targets=99.0)
    with pytest.raises(ValueError, match="at least one minute"):
        SloSeries([Method.TIMESLICES], origin=0, slice_minutes=0)


def test_windows_reach_back_to_the_origin_only() -> None:
    """Before the first appended minute there is nothing: a long window sums what exists."""
    series = SloSeries([Method.OCCURRENCES], origin=1_000)
    series.append([5], [10])
    assert [c.tolist() for c in series.window(43_200)] == [[5.0], [10.0]]
