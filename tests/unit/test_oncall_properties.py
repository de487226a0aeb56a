"""Invariants of layers and the final schedule over random rotations, zones and windows."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.oncall import (
    OVERRIDE,
    Layer,
    Override,
    Restriction,
    Schedule,
    Shift,
    ShiftLength,
    days,
    fixed,
    hours,
    layer_shifts,
    shifts,
    weeks,
    who_is_on_call,
)
from tocsin.oncall.rotation import handoff, user_at

# Zones with 1h DST both hemispheres, a 30-minute DST (Lord Howe), a :30 offset, and none.
ZONES = st.sampled_from(
    [
        "Europe/London",
        "America/New_York",
        "Australia/Sydney",
        "Australia/Lord_Howe",
        "America/St_Johns",
        "Asia/Kolkata",
        "UTC",
    ]
)
LENGTHS: st.SearchStrategy[ShiftLength] = st.one_of(
    st.integers(1, 36).map(hours),
    st.integers(1, 10).map(days),
    st.integers(1, 3).map(weeks),
    st.integers(30, 4 * 24 * 60).map(lambda m: fixed(timedelta(minutes=m))),
)
CLOCK = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
PEOPLE = st.lists(st.sampled_from("abcdefg"), min_size=1, max_size=4).map(tuple)
RESTRICTIONS = st.lists(
    st.builds(
        Restriction,
        CLOCK,
        CLOCK,
        st.frozensets(st.integers(0, 6), min_size=1),
        st.integers(0, 2),
    ),
    max_size=3,
).map(tuple)


@st.composite
def layers(draw: st.DrawFn, restricted: bool = True) -> Layer:
    """A random layer starting in 2023-2025, with restrictions when `restricted`."""
    return Layer(
        draw(st.sampled_from(["l0", "l1", "l2"])),
        draw(PEOPLE),
        draw(LENGTHS),
        draw(st.dates(date(2023, 1, 1), date(2025, 12, 31))),
        draw(CLOCK),
        draw(ZONES),
        draw(RESTRICTIONS) if restricted else (),
    )


@st.composite
def windows(draw: st.DrawFn, around: datetime) -> tuple[datetime, datetime]:
    """A window from a few days before `around` to up to three weeks later."""
    start = around + timedelta(minutes=draw(st.integers(-3 * 1440, 300 * 1440)))
    return start, start + timedelta(minutes=draw(st.integers(1, 21 * 1440)))


@st.composite
def schedules(draw: st.DrawFn) -> tuple[Schedule, datetime, datetime]:
    """A random schedule of up to three layers and overrides, and a window to look at."""
    stack = tuple(draw(st.lists(layers(), min_size=1, max_size=3)))
    start, end = draw(windows(handoff(stack[0], 0)))
    overrides = draw(st.lists(overrides_within(start, end), max_size=3))
    return Schedule("s", layers=stack, overrides=tuple(overrides)), start, end


@st.composite
def overrides_within(draw: st.DrawFn, start: datetime, end: datetime) -> Override:
    """An override that overlaps [start, end), maybe replacing one person."""
    span = int((end - start).total_seconds() // 60)
    first = start + timedelta(minutes=draw(st.integers(-60, span)))
    last = first + timedelta(minutes=draw(st.integers(1, 3 * 1440)))
    replaces = draw(st.one_of(st.none(), st.sampled_from("abcdefg")))
    return Override(draw(st.sampled_from("xyz")), first, last, replaces)


def instants(start: datetime, end: datetime) -> st.SearchStrategy[datetime]:
    """Instants in [start, end), to the microsecond."""
    micros = (end - start) // timedelta(microseconds=1)
    return st.integers(0, micros - 1).map(lambda n: start + timedelta(microseconds=n))


def contiguous(found: list[Shift], start: datetime, end: datetime) -> bool:
    """True if `found` tiles [start, end) exactly: no holes, no overlaps, no empty shifts."""
    edges = [found[0].start] + [s.end for s in found]
    starts = [s.start for s in found] + [found[-1].end]
    return edges == starts and found[0].start == start and found[-1].end == end and all(s.start < s.end for s in found)


def containing(found: list[Shift], t: datetime) -> Shift:
    """The shift of `found` that contains `t`."""
    return next(s for s in found if s.start <= t < s.end)


@settings(max_examples=150, deadline=None)
@given(layer=layers(restricted=False), data=st.data())
def test_a_fully_covered_layer_has_exactly_one_person_at_every_instant(layer: Layer, data: st.DataObject) -> None:
    first = handoff(layer, 0)
    start, end = data.draw(windows(first))
    start = max(start, first)
    if start >= end:
        return
    found = layer_shifts(layer, start, end)
    assert contiguous(found, start, end)
    for _ in range(5):
        t = data.draw(instants(start, end))
        assert user_at(layer, t) == containing(found, t).user is not None
    for shift in found:
        assert user_at(layer, shift.start) == shift.user


@settings(max_examples=150, deadline=None)
@given(layer=layers(), data=st.data())
def test_layer_shifts_agree_with_user_at(layer: Layer, data: st.DataObject) -> None:
    start, end = data.draw(windows(handoff(layer, 0)))
    found = layer_shifts(layer, start, end)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))
    for shift in found:
        assert user_at(layer, shift.start) == shift.user
        assert user_at(layer, shift.end - timedelta(microseconds=1)) == shift.user
    t = data.draw(instants(start, end))
    inside = [s.user for s in found if s.start <= t < s.end]
    assert [user_at(layer, t)] == (inside or [None])


@settings(max_examples=150, deadline=None)
@given(case=schedules())
def test_final_shifts_are_contiguous_and_do_not_overlap(
    case: tuple[Schedule, datetime, datetime],
) -> None:
    schedule, start, end = case
    found = shifts(schedule, start, end)
    assert contiguous(found, start.astimezone(UTC), end.astimezone(UTC))
    pairs = itertools.pairwise(found)
    assert all((a.user, a.layer) != (b.user, b.layer) for a, b in pairs)
    assert all(s.gap == (s.user is None) == (s.layer is None) for s in found)


@settings(max_examples=150, deadline=None)
@given(case=schedules(), data=st.data())
def test_who_is_on_call_agrees_with_shifts(case: tuple[Schedule, datetime, datetime], data: st.DataObject) -> None:
    schedule, start, end = case
    found = shifts(schedule, start, end)
    probes = [s.start for s in found] + [s.end - timedelta(microseconds=1) for s in found]
    probes += [data.draw(instants(start, end))]
    for t in probes:
        user = containing(found, t).user
        assert who_is_on_call(schedule, t) == (() if user is None else (user,))


@settings(max_examples=150, deadline=None)
@given(case=schedules(), data=st.data())
def test_overrides_win(case: tuple[Schedule, datetime, datetime], data: st.DataObject) -> None:
    schedule, start, end = case
    cover = Override("boss", start, start + (end - start) / 2)  # listed last, so it wins
    schedule = Schedule("s", layers=schedule.layers, overrides=(*schedule.overrides, cover))
    t = data.draw(instants(cover.start, cover.end))
    assert who_is_on_call(schedule, t) == ("boss",)
    inside = shifts(schedule, cover.start, cover.end)
    assert [(s.user, s.layer) for s in inside] == [("boss", OVERRIDE)]


@settings(max_examples=100, deadline=None)
@given(layer=layers(restricted=False), turn=st.integers(0, 2000))
def test_handoffs_never_go_backwards(layer: Layer, turn: int) -> None:
    assert handoff(layer, turn) <= handoff(layer, turn + 1)
    assert handoff(layer, turn).utcoffset() == timedelta(0)
