"""The iCalendar feeds, read back with `icalendar` and `recurring-ical-events`, agree with `who_is_on_call`."""

from __future__ import annotations

import bisect
import itertools
import random
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from icalendar import Calendar, Timezone

from tocsin.oncall import (
    WEEKEND,
    WORKDAYS,
    Layer,
    Override,
    Restriction,
    Schedule,
    days,
    fixed,
    hours,
    shifts,
    weeks,
    who_is_on_call,
)
from tocsin.oncall.ical import schedule_calendar, schedule_entries, user_calendar, wall_time

ZONES = ["Europe/London", "America/New_York", "Australia/Sydney"]
# Eight weeks each: spring 2026 holds New York's (8 Mar) and London's (29 Mar) clocks going
# forward and Sydney's going back (5 Apr); autumn holds the opposite changes (4 Oct, 25 Oct, 1 Nov).
WINDOWS = {"spring": date(2026, 3, 1), "autumn": date(2026, 9, 27)}
STAMP = datetime(2026, 1, 1, 12, tzinfo=UTC)
INSTANTS = 1000


def schedule_in(zone: str, first: date) -> Schedule:
    """A schedule meant to be hard: DST handoffs, restrictions, gaps, fixed shifts, overrides."""
    tz = ZoneInfo(zone)
    base = Layer(
        "base",
        ("ann", "bob", "cat"),
        days(1),
        first + timedelta(days=3),  # nobody before: a gap at the start of the window
        time(9),
        zone,
        # Sunday 12:00 to Monday 00:00 is left open, a gap every week unless a layer above covers it.
        (Restriction(time(0), time(0), WORKDAYS | {5}), Restriction(time(0), time(12), frozenset({6}))),
    )
    # Fixed 36-hour turns drift against the wall clock; in UTC, over part of the Sunday gap.
    drift = Layer("drift", ("gus", "hal"), fixed(timedelta(hours=36)), first, time(17), "UTC", (_sunday(14, 16),))
    # 12-hour turns handing off at 01:30 and 13:30: 01:30 is skipped or repeated in London,
    # and 02:30 below in New York and Sydney, on their change days.
    nights = Layer("nights", ("dan", "eve"), hours(12), first, time(1, 30), zone, (Restriction(time(22), time(6)),))
    small = Layer("small-hours", ("fay",), hours(1), first, time(2, 30), zone, (Restriction(time(2), time(3)),))
    weekend = Restriction(time(18), time(0), WEEKEND)
    evenings = Layer("weekend", ("ivy", "jon"), weeks(1), first, time(18), zone, (weekend,))
    return Schedule(
        "core",
        zone,
        layers=(base, drift, nights, small, evenings),
        overrides=_overrides(first, tz),
    )


def _sunday(opens: int, closes: int) -> Restriction:
    """A window on Sundays between two whole hours."""
    return Restriction(time(opens), time(closes), frozenset({6}))


def _overrides(first: date, tz: ZoneInfo) -> tuple[Override, ...]:
    """Overrides over a week, over a gap, replacing one person, and starting in a repeated hour."""
    start = datetime.combine(first, time(0), tz)
    repeated = [o for o in (_second_occurrence(first + timedelta(days=d), tz) for d in range(56)) if o is not None]
    overrides = [
        Override("kim", start + timedelta(days=10, hours=8), start + timedelta(days=17, hours=8)),
        Override("lea", start + timedelta(days=1), start + timedelta(days=2, hours=5)),
        Override("max", start + timedelta(days=20), start + timedelta(days=40), replaces="bob"),
        Override("ned", start + timedelta(days=25), start + timedelta(days=25, hours=3)),
    ]
    if repeated:  # starts and ends during the second pass through the repeated hour
        overrides.append(Override("oli", repeated[0], repeated[0] + timedelta(minutes=20)))
    return tuple(overrides)


def _second_occurrence(day: date, tz: ZoneInfo) -> datetime | None:
    """The instant of the second 01:30 or 02:30 on `day` in `tz`, if the clocks go back then."""
    for hour in (1, 2):
        first = datetime.combine(day, time(hour, 30), tz)
        second = first.replace(fold=1)
        if first.utcoffset() != second.utcoffset():
            return second.astimezone(UTC)
    return None


def window(first: date) -> tuple[datetime, datetime]:
    """Eight weeks from `first`, midnight UTC."""
    start = datetime.combine(first, time(0), UTC)
    return start, start + timedelta(weeks=8)


def parse(feed: bytes) -> Calendar:
    """The feed as the `icalendar` parser reads it."""
    return Calendar.from_ical(feed)


def expanded(feed: bytes, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str | None]]:
    """Every event `recurring-ical-events` finds in [start, end): (start, end, user or None), in UTC."""
    events = recurring_ical_events.of(parse(feed)).between(start, end)
    return sorted((event.start.astimezone(UTC), event.end.astimezone(UTC), _user(event)) for event in events)


def _user(event: object) -> str | None:
    """The person an event names, None for a gap."""
    value = event.get("X-TOCSIN-USER")  # type: ignore[attr-defined]
    return None if value is None else str(value)


def on_call_in(events: list[tuple[datetime, datetime, str | None]], t: datetime) -> tuple[str, ...]:
    """Who the expanded calendar has on call at `t`; checks no two events overlap there."""
    index = bisect.bisect_right(events, (t, datetime.max.replace(tzinfo=UTC), "")) - 1
    covering = [e for e in events[max(index - 1, 0) : index + 1] if e[0] <= t < e[1]]
    assert len(covering) <= 1, f"overlapping events at {t}: {covering}"
    return (covering[0][2],) if covering and covering[0][2] is not None else ()


def random_instants(seed: str, start: datetime, end: datetime) -> list[datetime]:
    """`INSTANTS` instants drawn uniformly from [start, end), to the microsecond, reproducibly."""
    rng = random.Random(seed)
    span = int((end - start) / timedelta(microseconds=1))
    return [start + timedelta(microseconds=rng.randrange(span)) for _ in range(INSTANTS)]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("season", list(WINDOWS))
def test_calendar_names_who_is_on_call_at_1000_random_instants(zone: str, season: str) -> None:
    schedule = schedule_in(zone, WINDOWS[season])
    start, end = window(WINDOWS[season])
    feed = schedule_calendar(schedule, start, end, name="core", stamp=STAMP, gaps=True)
    events = expanded(feed, start, end)
    for t in random_instants(f"{zone}/{season}", start, end):
        assert on_call_in(events, t) == who_is_on_call(schedule, t), t.isoformat()


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("season", list(WINDOWS))
def test_calendar_agrees_either_side_of_every_handoff(zone: str, season: str) -> None:
    schedule = schedule_in(zone, WINDOWS[season])
    start, end = window(WINDOWS[season])
    events = expanded(schedule_calendar(schedule, start, end, name="core", stamp=STAMP, gaps=True), start, end)
    edges = {shift.start for shift in shifts(schedule, start, end)} - {start}
    for edge in sorted(edges):
        for t in (edge - timedelta(microseconds=1), edge):
            assert on_call_in(events, t) == who_is_on_call(schedule, t), t.isoformat()


@pytest.mark.parametrize("zone", ZONES)
def test_events_cover_the_range_without_overlap_when_gaps_are_included(zone: str) -> None:
    schedule = schedule_in(zone, WINDOWS["spring"])
    start, end = window(WINDOWS["spring"])
    events = expanded(schedule_calendar(schedule, start, end, name="core", stamp=STAMP, gaps=True), start, end)
    assert events[0][0] <= start  # the first event is whole, so it may begin earlier
    assert events[-1][1] >= end
    assert all(a[1] == b[0] for a, b in itertools.pairwise(events))  # contiguous, no overlap
    assert all(a[2] != b[2] for a, b in itertools.pairwise(events))  # neighbours are merged


def test_gaps_are_separate_flagged_events_only_when_asked_for() -> None:
    schedule = schedule_in("Europe/London", WINDOWS["spring"])
    start, end = window(WINDOWS["spring"])
    with_gaps = parse(schedule_calendar(schedule, start, end, name="core", stamp=STAMP, gaps=True))
    without = parse(schedule_calendar(schedule, start, end, name="core", stamp=STAMP))
    gap_events = [e for e in with_gaps.walk("VEVENT") if e.get("X-TOCSIN-GAP") == "TRUE"]
    assert gap_events, "the schedule has gaps (before the base layer starts, Sunday afternoons)"
    assert all("X-TOCSIN-USER" not in e and e["SUMMARY"] == "Nobody on call (core)" for e in gap_events)
    assert [str(c) for e in gap_events for c in e.categories] == ["Gap"] * len(gap_events)
    assert len(without.walk("VEVENT")) == len(with_gaps.walk("VEVENT")) - len(gap_events)
    assert all("X-TOCSIN-GAP" not in e for e in without.walk("VEVENT"))


@pytest.mark.parametrize("zone", ZONES)
def test_times_carry_the_schedule_tzid_and_a_matching_vtimezone(zone: str) -> None:
    schedule = schedule_in(zone, WINDOWS["autumn"])
    start, end = window(WINDOWS["autumn"])
    calendar = parse(schedule_calendar(schedule, start, end, name="core", stamp=STAMP))
    (vtimezone,) = calendar.walk("VTIMEZONE")
    assert vtimezone["TZID"] == zone
    defined, real = vtimezone.to_tz(), ZoneInfo(zone)
    for event in calendar.walk("VEVENT"):
        for key in ("DTSTART", "DTEND"):
            prop = event[key]
            assert prop.params.get("TZID", zone) == zone
            instant = prop.dt.astimezone(UTC)
            # The VTIMEZONE, not just the IANA name, gives the right offset at every boundary.
            assert instant.astimezone(defined).utcoffset() == instant.astimezone(real).utcoffset()


def test_an_instant_in_a_repeated_hour_is_written_in_utc() -> None:
    sydney = ZoneInfo("Australia/Sydney")
    first_pass = datetime(2026, 4, 5, 2, 30, tzinfo=sydney)  # 02:30 AEDT, read as the first occurrence
    second_pass = first_pass.replace(fold=1).astimezone(UTC)  # 02:30 AEST, an hour later
    assert wall_time(first_pass, "Australia/Sydney").tzinfo == sydney
    assert wall_time(second_pass, "Australia/Sydney") == second_pass
    assert wall_time(second_pass, "Australia/Sydney").tzinfo is UTC
    schedule = Schedule(
        "s", "Australia/Sydney", overrides=(Override("oli", second_pass, second_pass + timedelta(hours=1)),)
    )
    feed = schedule_calendar(
        schedule, second_pass - timedelta(days=1), second_pass + timedelta(days=1), name="s", stamp=STAMP
    )
    # Both ends in UTC: readers add DTEND - DTSTART back on the wall clock, so they must match.
    assert b"DTSTART:20260404T163000Z" in feed
    assert b"DTEND:20260404T173000Z" in feed


def test_a_utc_schedule_needs_no_vtimezone() -> None:
    layer = Layer("l", ("ann", "bob"), days(1), date(2026, 1, 1))
    feed = schedule_calendar(Schedule("s", "UTC", (layer,)), *window(date(2026, 3, 1)), name="s", stamp=STAMP)
    assert b"VTIMEZONE" not in feed
    assert b"DTSTART:20260228T090000Z" in feed  # the turn under way when the window opens, whole


def test_uids_are_stable_as_the_window_slides_and_unique_within_a_feed() -> None:
    schedule = schedule_in("America/New_York", WINDOWS["spring"])
    start, end = window(WINDOWS["spring"])
    one = parse(schedule_calendar(schedule, start, end, name="core", stamp=STAMP, gaps=True))
    later = start + timedelta(days=2, hours=5)
    two = parse(schedule_calendar(schedule, later, end + timedelta(days=3), name="core", stamp=STAMP, gaps=True))
    first = {str(e["UID"]): (e.start, e.end) for e in one.walk("VEVENT")}
    second = {str(e["UID"]): (e.start, e.end) for e in two.walk("VEVENT")}
    assert len(first) == len(one.walk("VEVENT"))
    shared = [uid for uid, span in second.items() if span[0].astimezone(UTC) < end]
    assert shared
    assert all(first[uid] == second[uid] for uid in shared)


def test_the_same_input_gives_the_same_bytes_and_the_stamp_is_the_one_given() -> None:
    schedule = schedule_in("Europe/London", WINDOWS["autumn"])
    start, end = window(WINDOWS["autumn"])
    feed = schedule_calendar(schedule, start, end, name="core", stamp=STAMP)
    assert feed == schedule_calendar(schedule, start, end, name="core", stamp=STAMP)
    stamps = {e.decoded("DTSTAMP") for e in parse(feed).walk("VEVENT")}
    assert stamps == {STAMP}
    default = parse(schedule_calendar(schedule, start, end, name="core"))
    assert {e.decoded("DTSTAMP") for e in default.walk("VEVENT")} == {start}


def test_calendar_properties_for_subscribing_apps() -> None:
    schedule = schedule_in("Europe/London", WINDOWS["spring"])
    url = "https://ops.example.com/oncall/calendars/3f9a.ics"
    calendar = parse(schedule_calendar(schedule, *window(WINDOWS["spring"]), name="Core on call", url=url, stamp=STAMP))
    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"] == "-//tocsin//on-call calendar//EN"
    assert calendar["NAME"] == calendar["X-WR-CALNAME"] == "Core on call"
    assert calendar["URL"] == calendar["SOURCE"] == url
    assert calendar.decoded("REFRESH-INTERVAL") == timedelta(hours=1)
    for event in calendar.walk("VEVENT"):
        assert {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"} <= set(event)
        assert event["TRANSP"] == "TRANSPARENT"
        assert event["SUMMARY"] == f"{event['X-TOCSIN-USER']} on call"


def test_feed_is_well_formed_rfc5545_text() -> None:
    schedule = schedule_in("Australia/Sydney", WINDOWS["spring"])
    feed = schedule_calendar(schedule, *window(WINDOWS["spring"]), name="core", stamp=STAMP, gaps=True)
    assert feed.endswith(b"\r\n")
    assert b"\n" not in feed.replace(b"\r\n", b"")
    lines = feed.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in lines)  # folded at 75 octets
    begins = [line[6:] for line in lines if line.startswith(b"BEGIN:")]
    ends = [line[4:] for line in lines if line.startswith(b"END:")]
    assert sorted(begins) == sorted(ends)
    assert lines[0] == b"BEGIN:VCALENDAR"
    assert lines[-1] == b"END:VCALENDAR"
    assert not re.search(rb"^COMMENT", feed, re.MULTILINE)
    parse(feed).validate()  # icalendar's own check of required properties and components


def test_user_calendar_collects_one_person_across_schedules() -> None:
    london = schedule_in("Europe/London", WINDOWS["spring"])
    sydney = Schedule(
        "apac",
        "Australia/Sydney",
        (Layer("l", ("ann", "zoe"), weeks(1), date(2026, 2, 2), time(9), "Australia/Sydney"),),
    )
    start, end = window(WINDOWS["spring"])
    feed = user_calendar([london, sydney], "ann", start, end, stamp=STAMP, time_zone="America/New_York")
    calendar = parse(feed)
    assert calendar["X-WR-CALNAME"] == "ann on call"
    events = calendar.walk("VEVENT")
    assert {str(e["X-TOCSIN-USER"]) for e in events} == {"ann"}
    assert {str(e["SUMMARY"]) for e in events} == {"On call: core", "On call: apac"}
    assert {str(z["TZID"]) for z in calendar.walk("VTIMEZONE")} == {"America/New_York"}
    expected = [e for s in (london, sydney) for e in schedule_entries(s, start, end) if e.user == "ann"]
    assert sorted(str(e["UID"]) for e in events) == sorted(e.uid for e in expected)
    for t in random_instants("ann", start, end):
        in_feed = {s for s in (london, sydney) if "ann" in who_is_on_call(s, t)}
        covering = [e for e in events if e.start.astimezone(UTC) <= t < e.end.astimezone(UTC)]
        assert {str(e["X-TOCSIN-SCHEDULE"]) for e in covering} == {s.name for s in in_feed}


def test_uids_match_between_a_schedule_feed_and_a_user_feed() -> None:
    schedule = schedule_in("Europe/London", WINDOWS["spring"])
    start, end = window(WINDOWS["spring"])
    team = parse(schedule_calendar(schedule, start, end, name="core", stamp=STAMP))
    mine = parse(user_calendar([schedule], "bob", start, end, stamp=STAMP))
    bobs = {str(e["UID"]) for e in team.walk("VEVENT") if e["X-TOCSIN-USER"] == "bob"}
    assert bobs == {str(e["UID"]) for e in mine.walk("VEVENT")}


@pytest.mark.parametrize("zone", ["UTC", "Europe/London"])
def test_a_feed_without_events_is_still_valid(zone: str) -> None:
    start, end = window(WINDOWS["spring"])
    for feed in (
        schedule_calendar(Schedule("empty", zone), start, end, name="empty", stamp=STAMP),
        user_calendar([], "nobody", start, end, stamp=STAMP, time_zone=zone),
    ):
        calendar = parse(feed)
        calendar.validate()  # RFC 5545: at least one component
        assert calendar.walk("VEVENT") == []
        assert [str(z["TZID"]) for z in calendar.walk("VTIMEZONE")] == [zone]


def test_naive_bounds_are_refused() -> None:
    schedule = schedule_in("Europe/London", WINDOWS["spring"])
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule_calendar(schedule, datetime(2026, 3, 1), datetime(2026, 4, 1), name="core", stamp=STAMP)


def test_vtimezone_parses_as_icalendar_timezone() -> None:
    feed = schedule_calendar(schedule_in("America/New_York", WINDOWS["spring"]), *window(WINDOWS["spring"]), name="c")
    (component,) = parse(feed).walk("VTIMEZONE")
    assert isinstance(component, Timezone)
