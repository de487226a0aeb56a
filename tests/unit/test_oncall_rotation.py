"""Rotation handoffs, restrictions and the final schedule, from tables around DST changes.

2024 transitions used below (local wall clock):
  Europe/London      spring 31 Mar 01:00 GMT -> 02:00 BST, autumn 27 Oct 02:00 BST -> 01:00 GMT
  America/New_York   spring 10 Mar 02:00 EST -> 03:00 EDT, autumn  3 Nov 02:00 EDT -> 01:00 EST
  Australia/Sydney   autumn  7 Apr 03:00 AEDT -> 02:00 AEST, spring 6 Oct 02:00 AEST -> 03:00 AEDT
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tocsin.oncall import (
    EVERY_DAY,
    OVERRIDE,
    Layer,
    Override,
    Restriction,
    Schedule,
    Shift,
    ShiftLength,
    days,
    fixed,
    gaps,
    hours,
    layer_shifts,
    shifts,
    swap_overrides,
    weeks,
    who_is_on_call,
)
from tocsin.oncall.model import FRIDAY, MONDAY
from tocsin.oncall.rotation import handoff, local_to_utc, turn_at, user_at

LON, NYC, SYD = "Europe/London", "America/New_York", "Australia/Sydney"
PEOPLE = ("ann", "bob", "cat")
H = timedelta(hours=1)


def at(zone: str, y: int, mo: int, d: int, h: int = 0, mi: int = 0, fold: int = 0) -> datetime:
    """An instant given as a wall time in `zone` (fold=1 picks the repeated hour's second pass)."""
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def rota(zone: str, length: ShiftLength, handoff_at: time = time(9), **kw: object) -> Layer:
    """A three-person layer starting on Monday 1 January 2024."""
    return Layer("primary", PEOPLE, length, date(2024, 1, 1), handoff_at, zone, **kw)  # type: ignore[arg-type]


def turn_around(layer: Layer, t: datetime) -> tuple[datetime, datetime]:
    """The [start, end) of the turn that contains `t`."""
    turn = turn_at(layer, t)
    assert turn is not None
    return handoff(layer, turn), handoff(layer, turn + 1)


DAILY_09 = [
    (LON, (2024, 3, 30), (2024, 3, 31), 23),  # London spring forward: Sat 09:00 -> Sun 09:00 is 23h
    (LON, (2024, 3, 31), (2024, 4, 1), 24),  # the day after is an ordinary 24h again
    (LON, (2024, 10, 26), (2024, 10, 27), 25),  # London autumn: the shift over the change is 25h
    (NYC, (2024, 3, 9), (2024, 3, 10), 23),  # New York spring forward: 23h
    (NYC, (2024, 11, 2), (2024, 11, 3), 25),  # New York fall back: 25h
    (NYC, (2024, 7, 1), (2024, 7, 2), 24),  # a summer day in between is 24h
    (SYD, (2024, 4, 6), (2024, 4, 7), 25),  # Sydney DST ends in April: 25h
    (SYD, (2024, 10, 5), (2024, 10, 6), 23),  # Sydney DST starts in October: 23h
]


@pytest.mark.parametrize(("zone", "day", "next_day", "length"), DAILY_09)
def test_daily_handoff_stays_at_0900_local(
    zone: str, day: tuple[int, int, int], next_day: tuple[int, int, int], length: int
) -> None:
    layer = rota(zone, days(1))
    start, end = turn_around(layer, at(zone, *day, 12))
    assert (start, end) == (at(zone, *day, 9), at(zone, *next_day, 9))
    assert end - start == length * H


@pytest.mark.parametrize(("zone", "day", "next_day", "length"), DAILY_09)
def test_daily_rotation_hands_over_to_the_next_person(
    zone: str, day: tuple[int, int, int], next_day: tuple[int, int, int], length: int
) -> None:
    layer = rota(zone, days(1))
    before, after = (
        user_at(layer, at(zone, *next_day, 8, 59)),
        user_at(layer, at(zone, *next_day, 9)),
    )
    assert before is not None
    assert after is not None
    assert PEOPLE.index(after) == (PEOPLE.index(before) + 1) % 3


WEEKLY_MONDAY_09 = [
    (LON, (2024, 3, 25), (2024, 4, 1), 167),  # London: the week holding spring forward is 167h
    (
        LON,
        (2024, 10, 21),
        (2024, 10, 28),
        169,
    ),  # London: the week holding the autumn change is 169h
    (NYC, (2024, 3, 4), (2024, 3, 11), 167),  # New York spring forward week
    (NYC, (2024, 10, 28), (2024, 11, 4), 169),  # New York fall back week
    (SYD, (2024, 4, 1), (2024, 4, 8), 169),  # Sydney April week, DST ends
    (SYD, (2024, 9, 30), (2024, 10, 7), 167),  # Sydney October week, DST starts
    (SYD, (2024, 6, 3), (2024, 6, 10), 168),  # a winter week with no change is exactly 168h
]


@pytest.mark.parametrize(("zone", "monday", "next_monday", "length"), WEEKLY_MONDAY_09)
def test_weekly_handoff_stays_on_monday_0900_local(
    zone: str, monday: tuple[int, int, int], next_monday: tuple[int, int, int], length: int
) -> None:
    layer = rota(zone, weeks(1))
    start, end = turn_around(layer, at(zone, *monday, 12))
    assert (start, end) == (at(zone, *monday, 9), at(zone, *next_monday, 9))
    assert end - start == length * H


TWELVE_HOURS = [
    (LON, (2024, 3, 30, 21), (2024, 3, 31, 9), 11),  # London spring: the night shift loses an hour
    (LON, (2024, 3, 31, 9), (2024, 3, 31, 21), 12),  # ...and the next day shift is a full 12h
    (LON, (2024, 10, 26, 21), (2024, 10, 27, 9), 13),  # London autumn: the night shift gains one
    (NYC, (2024, 3, 9, 21), (2024, 3, 10, 9), 11),  # New York spring night shift
    (NYC, (2024, 11, 2, 21), (2024, 11, 3, 9), 13),  # New York fall back night shift
    (SYD, (2024, 4, 6, 21), (2024, 4, 7, 9), 13),  # Sydney April night shift
    (SYD, (2024, 10, 5, 21), (2024, 10, 6, 9), 11),  # Sydney October night shift
]


@pytest.mark.parametrize(("zone", "begins", "ends", "length"), TWELVE_HOURS)
def test_twelve_hour_shifts_keep_0900_and_2100(
    zone: str, begins: tuple[int, ...], ends: tuple[int, ...], length: int
) -> None:
    layer = rota(zone, hours(12))
    start, end = turn_around(layer, at(zone, *begins) + timedelta(minutes=1))
    assert (start, end) == (at(zone, *begins), at(zone, *ends))
    assert end - start == length * H


ODD_HANDOFFS = [
    # A handoff in the skipped hour happens when the clocks jump: 03:00 EDT = 07:00Z.
    (NYC, time(2, 30), (2024, 3, 10), datetime(2024, 3, 10, 7, tzinfo=UTC)),
    # A handoff in the repeated hour happens at its first pass: 01:30 EDT = 05:30Z.
    (NYC, time(1, 30), (2024, 11, 3), datetime(2024, 11, 3, 5, 30, tzinfo=UTC)),
    # London 01:30 does not exist on 31 March: handoff at 02:00 BST = 01:00Z.
    (LON, time(1, 30), (2024, 3, 31), datetime(2024, 3, 31, 1, tzinfo=UTC)),
    # London 01:30 happens twice on 27 October: the first is 01:30 BST = 00:30Z.
    (LON, time(1, 30), (2024, 10, 27), datetime(2024, 10, 27, 0, 30, tzinfo=UTC)),
    # Sydney 02:30 does not exist on 6 October: 03:00 AEDT = 16:00Z the day before.
    (SYD, time(2, 30), (2024, 10, 6), datetime(2024, 10, 5, 16, tzinfo=UTC)),
    # Sydney 02:30 happens twice on 7 April: first pass is 02:30 AEDT = 15:30Z the day before.
    (SYD, time(2, 30), (2024, 4, 7), datetime(2024, 4, 6, 15, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize(("zone", "handoff_at", "day", "expected"), ODD_HANDOFFS)
def test_handoff_in_a_skipped_or_repeated_hour(
    zone: str, handoff_at: time, day: tuple[int, int, int], expected: datetime
) -> None:
    layer = rota(zone, days(1), handoff_at)
    turn = (date(*day) - date(2024, 1, 1)).days
    assert handoff(layer, turn) == expected
    assert handoff(layer, turn - 1) < expected < handoff(layer, turn + 1)


def test_one_hour_turn_inside_the_skipped_hour_is_empty_but_coverage_continues() -> None:
    # New York hourly rota: the 02:00 turn on 10 March has no length, so nobody is unpaged.
    layer = rota(NYC, hours(1), time(0))
    got = layer_shifts(layer, at(NYC, 2024, 3, 10, 1), at(NYC, 2024, 3, 10, 4))
    assert [s.end - s.start for s in got] == [H, H]
    assert got[0].end == got[1].start == datetime(2024, 3, 10, 7, tzinfo=UTC)


def test_fixed_length_ignores_the_wall_clock() -> None:
    # A custom 24h length drifts to 10:00 local once London springs forward.
    layer = rota(LON, fixed(timedelta(hours=24)))
    start, end = turn_around(layer, at(LON, 2024, 4, 1, 12))
    assert (start, end - start) == (at(LON, 2024, 4, 1, 10), 24 * H)


def test_nobody_before_the_layer_starts() -> None:
    layer = rota(LON, days(1))
    assert user_at(layer, at(LON, 2024, 1, 1, 8, 59)) is None
    assert user_at(layer, at(LON, 2024, 1, 1, 9)) == "ann"
    assert layer_shifts(layer, at(LON, 2023, 12, 31), at(LON, 2024, 1, 1, 10)) == [
        Shift("ann", at(LON, 2024, 1, 1, 9), at(LON, 2024, 1, 1, 10), "primary")
    ]


NIGHTS = Restriction(time(22), time(6))  # 22:00 to 06:00 next morning, every night
NIGHT_WATCH = [
    (LON, (2024, 3, 30), (2024, 3, 31), 7),  # London night over spring forward is 7h
    (LON, (2024, 10, 26), (2024, 10, 27), 9),  # London night over the autumn change is 9h
    (NYC, (2024, 3, 9), (2024, 3, 10), 7),  # New York spring night
    (NYC, (2024, 11, 2), (2024, 11, 3), 9),  # New York fall back night
    (SYD, (2024, 4, 6), (2024, 4, 7), 9),  # Sydney April night
    (SYD, (2024, 10, 5), (2024, 10, 6), 7),  # Sydney October night
    (SYD, (2024, 7, 6), (2024, 7, 7), 8),  # an ordinary Sydney winter night is 8h
]


@pytest.mark.parametrize(("zone", "evening", "morning", "length"), NIGHT_WATCH)
def test_restriction_across_midnight(
    zone: str, evening: tuple[int, int, int], morning: tuple[int, int, int], length: int
) -> None:
    layer = rota(zone, weeks(1), restrictions=(NIGHTS,))
    got = layer_shifts(layer, at(zone, *evening, 12), at(zone, *morning, 12))
    assert [(s.start, s.end) for s in got] == [(at(zone, *evening, 22), at(zone, *morning, 6))]
    assert got[0].end - got[0].start == length * H


def test_weekend_restriction_over_spring_forward() -> None:
    # Friday 17:00 to Monday 08:00 in London, over the 31 March change: 63h less one.
    weekend = Restriction.weekly(FRIDAY, time(17), MONDAY, time(8))
    layer = rota(LON, weeks(1), time(17), restrictions=(weekend,))
    got = layer_shifts(layer, at(LON, 2024, 3, 25, 9), at(LON, 2024, 4, 2))
    assert [(s.start, s.end - s.start) for s in got] == [(at(LON, 2024, 3, 29, 17), 62 * H)]


def test_handoff_inside_a_window_splits_it_between_two_people() -> None:
    # Working hours 08:00-18:00 with a 09:00 handoff: the first hour is yesterday's person.
    layer = rota(NYC, days(1), restrictions=(Restriction(time(8), time(18)),))
    got = layer_shifts(layer, at(NYC, 2024, 1, 2), at(NYC, 2024, 1, 3))
    assert [(s.user, s.start, s.end) for s in got] == [
        ("ann", at(NYC, 2024, 1, 2, 8), at(NYC, 2024, 1, 2, 9)),
        ("bob", at(NYC, 2024, 1, 2, 9), at(NYC, 2024, 1, 2, 18)),
    ]


def test_whole_day_restriction_on_chosen_days() -> None:
    # start == end is a whole day: Saturday and Sunday 00:00 to 00:00 merge into one window.
    layer = rota(LON, weeks(1), restrictions=(Restriction(time(0), time(0), frozenset({5, 6})),))
    got = layer_shifts(layer, at(LON, 2024, 3, 29), at(LON, 2024, 4, 2))
    assert [(s.start, s.end - s.start) for s in got] == [(at(LON, 2024, 3, 30), 47 * H)]


def region(name: str, zone: str, opens: int, closes: int, who: str) -> Layer:
    """A follow-the-sun layer: one person covering local hours [opens, closes)."""
    window = Restriction(time(opens), time(closes), EVERY_DAY)
    return Layer(name, (who,), weeks(1), date(2024, 1, 1), time(0), zone, (window,))


def test_follow_the_sun_in_utc_has_no_gaps_over_any_change() -> None:
    # Three regions on UTC windows: every instant of 2024's DST weeks is covered.
    sun = Schedule(
        "sun",
        layers=(
            region("apac", "UTC", 0, 8, "syd"),
            region("emea", "UTC", 8, 16, "lon"),
            region("amer", "UTC", 16, 0, "nyc"),
        ),
    )
    for start in (at(NYC, 2024, 3, 8), at(SYD, 2024, 4, 4), at(SYD, 2024, 10, 3)):
        assert gaps(sun, start, start + timedelta(days=28)) == []


def test_follow_the_sun_in_local_zones_shows_the_dst_mismatch_as_gaps() -> None:
    # London 07-19 and New York 14-02 meet exactly in winter; between the US change
    # (10 Mar) and the UK one (31 Mar) New York covers 18:00Z-06:00Z, leaving 06:00-07:00Z.
    sun = Schedule(
        "sun",
        layers=(
            region("emea", LON, 7, 19, "lon"),
            region("amer", NYC, 14, 2, "nyc"),
        ),
    )
    holes = gaps(sun, datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 8, tzinfo=UTC))
    assert [(g.start, g.end) for g in holes] == [
        (datetime(2024, 3, day, 6, tzinfo=UTC), datetime(2024, 3, day, 7, tzinfo=UTC)) for day in range(11, 31)
    ]
    # The higher layer (amer) wins the hour where both cover.
    assert who_is_on_call(sun, datetime(2024, 3, 15, 18, 30, tzinfo=UTC)) == ("nyc",)
    # A 24/7 backstop layer underneath closes every gap.
    backstop = Layer("backstop", ("boss",), weeks(1), date(2024, 1, 1), time(0), LON)
    covered = Schedule("sun", layers=(backstop, *sun.layers))
    assert gaps(covered, datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 8, tzinfo=UTC)) == []
    assert who_is_on_call(covered, datetime(2024, 3, 15, 6, 30, tzinfo=UTC)) == ("boss",)


DAY = rota(LON, days(1))  # ann on 1 Jan, bob on 2 Jan, cat on 3 Jan...
OVERRIDES = [
    # a plain override wins over the layer
    (Override("dan", at(LON, 2024, 1, 2, 12), at(LON, 2024, 1, 2, 14)), (2024, 1, 2, 13), "dan"),
    # ...but only inside its window
    (Override("dan", at(LON, 2024, 1, 2, 12), at(LON, 2024, 1, 2, 14)), (2024, 1, 2, 14), "bob"),
    # an override replacing bob applies while bob is on
    (Override("dan", at(LON, 2024, 1, 2), at(LON, 2024, 1, 4), "bob"), (2024, 1, 2, 10), "dan"),
    # ...and leaves cat alone
    (Override("dan", at(LON, 2024, 1, 2), at(LON, 2024, 1, 4), "bob"), (2024, 1, 3, 10), "cat"),
    # an override covers a time the layer has not started yet
    (Override("dan", at(LON, 2023, 12, 31), at(LON, 2024, 1, 2)), (2023, 12, 31, 10), "dan"),
]


@pytest.mark.parametrize(("override", "when", "expected"), OVERRIDES)
def test_overrides(override: Override, when: tuple[int, ...], expected: str) -> None:
    schedule = Schedule("s", LON, (DAY,), (override,))
    assert who_is_on_call(schedule, at(LON, *when)) == (expected,)


def test_later_override_wins_and_final_shifts_are_merged() -> None:
    first = Override("dan", at(LON, 2024, 1, 2, 10), at(LON, 2024, 1, 2, 16))
    second = Override("eve", at(LON, 2024, 1, 2, 12), at(LON, 2024, 1, 2, 13))
    schedule = Schedule("s", LON, (DAY,), (first, second))
    got = shifts(schedule, at(LON, 2024, 1, 2, 9), at(LON, 2024, 1, 3, 9))
    assert [(s.user, s.layer, s.start.hour, s.end.hour) for s in got] == [
        ("bob", "primary", 9, 10),
        ("dan", OVERRIDE, 10, 12),
        ("eve", OVERRIDE, 12, 13),
        ("dan", OVERRIDE, 13, 16),
        ("bob", "primary", 16, 9),
    ]


def test_accepted_swap_exchanges_two_shifts() -> None:
    day = timedelta(days=1)
    bobs = Shift("bob", at(LON, 2024, 1, 2, 9), at(LON, 2024, 1, 3, 9), "primary")
    cats = Shift("cat", bobs.start + day, bobs.end + day, "primary")
    schedule = Schedule("s", LON, (DAY,), swap_overrides(bobs, cats))
    assert who_is_on_call(schedule, at(LON, 2024, 1, 2, 12)) == ("cat",)
    assert who_is_on_call(schedule, at(LON, 2024, 1, 3, 12)) == ("bob",)
    assert who_is_on_call(schedule, at(LON, 2024, 1, 4, 12)) == ("ann",)


def test_gaps_are_explicit_in_the_final_schedule() -> None:
    office = rota(NYC, days(1), restrictions=(Restriction(time(9), time(17), frozenset(range(5))),))
    schedule = Schedule("s", NYC, (office,))
    got = shifts(schedule, at(NYC, 2024, 1, 5, 9), at(NYC, 2024, 1, 8, 17))  # Friday to Monday
    assert [(s.user, s.gap) for s in got] == [("bob", False), (None, True), ("bob", False)]
    assert got[1].duration == 64 * H
    assert who_is_on_call(schedule, at(NYC, 2024, 1, 6, 12)) == ()


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        rota("Mars/Olympus", days(1))
    with pytest.raises(ValueError, match="participant"):
        Layer("empty", (), days(1), date(2024, 1, 1))
    with pytest.raises(ValueError, match="at least 1"):
        days(0)
    with pytest.raises(ValueError, match="timezone-aware"):
        user_at(DAY, datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="ends before"):
        Override("dan", at(LON, 2024, 1, 2), at(LON, 2024, 1, 1))


def test_local_to_utc_is_monotonic_through_the_gap() -> None:
    # 02:10 (skipped) maps to the jump at 07:00Z, never after 03:05 EDT (07:05Z).
    tz = ZoneInfo(NYC)
    skipped = local_to_utc(datetime(2024, 3, 10, 2, 10), tz)
    assert skipped == datetime(2024, 3, 10, 7, tzinfo=UTC)
    assert skipped < local_to_utc(datetime(2024, 3, 10, 3, 5), tz)
