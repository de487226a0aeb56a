"""Day bars made in stretches and past days reused between builds: always what one pass over all days makes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tocsin.statuspage import uptime as up
from tocsin.statuspage.daybars import BarMaker, ComponentBars, runs
from tocsin.statuspage.incidents import IncidentView
from tocsin.statuspage.pastdays import Kept, PageMemo, component_bars
from tocsin.statuspage.status import Indicator
from tocsin.store.status_rollups import DAY_SECONDS, DayCounts

FIRST = date(2026, 8, 25)  # 90 days ending 2026-11-22
TODAY = FIRST + timedelta(days=89)


def incident(n: int) -> IncidentView:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    return IncidentView(id=str(n), name=f"outage {n}", status="resolved", impact=Indicator.MINOR, created_at=at,
                        updated_at=at, started_at=at, monitoring_at=None, resolved_at=at, components=["c1"],
                        component_names=["API"], updates=[])  # fmt: skip


def rows_of(downs: list[int], monitor: int = 0) -> list[DayCounts]:
    """One monitor's rows for the 90 days: 100 results a day, `downs[k]` of them down on day k."""
    start = up.day_number(FIRST) * DAY_SECONDS
    return [(start + k * DAY_SECONDS, 100, 100 - d - monitor, monitor, d) for k, d in enumerate(downs)]


def whole(
    maker: BarMaker, rows: list[list[DayCounts]], held: set[date], touched: dict[date, list[IncidentView]]
) -> ComponentBars:
    """The bars in one pass, as before stretches and the memo."""
    return maker.make(up.sum_by_day(r for monitor in rows for r in monitor), held, touched)


same_days = st.lists(st.sampled_from([0, 0, 0, 1, 50]), min_size=90, max_size=90)  # runs of equal days
some_days = st.sets(st.integers(0, 89), max_size=6)


@given(downs=same_days, held=some_days, hit=some_days, split=st.integers(0, 90))
def test_stretches_joined_are_one_pass(downs: list[int], held: set[int], hit: set[int], split: int) -> None:
    maker = BarMaker(FIRST)
    counts = up.sum_by_day(rows_of(downs))
    days = {FIRST + timedelta(days=k) for k in held}
    touched = {FIRST + timedelta(days=k): [incident(k)] for k in hit}
    made = maker.join(maker.stretch(counts, days, touched, 0, split), maker.stretch(counts, days, touched, split))
    expected = maker.make(counts, days, touched)
    assert made == expected
    assert made.runs == tuple(runs(made.bars, True))  # runs joined across the seam, incident days alone


def build(
    memo: PageMemo, rows: list[list[DayCounts]], held: set[date], touched: dict[date, list[IncidentView]]
) -> ComponentBars:
    """Component "c1"'s bars through the memo, checked against one pass, with the memo moved on as a page does."""
    maker = BarMaker(FIRST)
    made: dict[str, Kept] = {}
    bars = component_bars(memo, made, "c1", maker, rows, held, touched)
    assert bars == whole(maker, rows, held, touched)
    memo.bars = made
    return bars


def test_past_days_are_reused_until_what_they_show_changes() -> None:
    memo = PageMemo()
    downs = [0] * 90
    downs[10] = 5

    first = build(memo, [rows_of(downs)], set(), {})
    assert build(memo, [rows_of(downs)], set(), {}) is first  # nothing changed: the whole bars are reused
    kept = memo.bars["c1"].before
    today_changed = rows_of(downs)
    today_changed[-1] = (*today_changed[-1][:4], 7)
    second = build(memo, [today_changed], {TODAY}, {TODAY: [incident(1)]})  # today's counts, maintenance, incident
    assert memo.bars["c1"].before is kept  # the 89 past days were not made again
    assert second is not first
    assert second.bars[:89] == first.bars[:89]
    assert second.bars[-1].down == 7

    for rows, held, touched in (
        ([rows_of([*downs[:20], 9, *downs[21:]])], set(), {}),  # a late result on a past day
        ([rows_of(downs), rows_of(downs, monitor=1)], set(), {}),  # a second monitor
        ([rows_of(downs)], {FIRST}, {}),  # maintenance on a past day
        ([rows_of(downs)], set(), {FIRST + timedelta(days=3): [incident(2)]}),  # an incident on a past day
    ):
        before = memo.bars["c1"].before
        build(memo, rows, held, touched)
        assert memo.bars["c1"].before is not before

    next_day = BarMaker(FIRST + timedelta(days=1))  # midnight: every day moves
    made: dict[str, Kept] = {}
    shifted = rows_of(downs)[1:]
    bars = component_bars(memo, made, "c1", next_day, [shifted], set(), {})
    assert bars == whole(next_day, [shifted], set(), {})


def test_whole_bars_are_made_again_when_anything_of_today_changes() -> None:
    memo = PageMemo()
    downs = [0] * 90

    base = build(memo, [rows_of(downs)], set(), {})
    one_more = rows_of(downs)
    one_more[-1] = (one_more[-1][0], 101, 100, 0, 1)
    for rows, held, touched in (
        ([one_more], set(), {}),  # a result today
        ([rows_of(downs)], {TODAY}, {}),  # maintenance today
        ([rows_of(downs)], set(), {TODAY: [incident(3)]}),  # an incident today
        ([rows_of(downs)], set(), {TODAY: [incident(4)]}),  # another incident instead
        ([rows_of(downs), rows_of(downs, monitor=1)], set(), {}),  # a second monitor
    ):
        before = memo.bars["c1"].bars
        made = build(memo, rows, held, touched)
        assert made is not before
        assert build(memo, rows, held, touched) is made
    assert base.bars[-1].down == 0
