"""Rolling and calendar SLO windows, including periods that cross a DST change."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.slo.windows import (
    CalendarWindow,
    RollingWindow,
    elapsed_share,
    instant_of,
    local_midnight,
    minute_of,
    parse_window,
    window_bounds,
    window_minutes,
)

H = 60
DAY = 24 * H


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A UTC instant."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


CALENDAR = [
    # (unit, zone, now, start, end, length in minutes), one comment per row: what it proves
    # London, spring forward 2024-03-31 01:00Z: March is one hour short.
    ("month", "Europe/London", utc(2024, 3, 15), utc(2024, 3, 1), utc(2024, 3, 31, 23), 31 * DAY - H),
    # London, 00:30 BST on 1 April is already April although it is still 31 March in UTC.
    ("month", "Europe/London", utc(2024, 3, 31, 23, 30), utc(2024, 3, 31, 23), utc(2024, 4, 30, 23), 30 * DAY),
    # London, fall back 2024-10-27: October is one hour long.
    ("month", "Europe/London", utc(2024, 10, 27, 12), utc(2024, 9, 30, 23), utc(2024, 11, 1), 31 * DAY + H),
    # London, the ISO week (Monday start) holding the spring change is 7 days minus an hour.
    ("week", "Europe/London", utc(2024, 3, 31, 12), utc(2024, 3, 25), utc(2024, 3, 31, 23), 7 * DAY - H),
    # London, Q1 of a leap year (91 days) loses the spring hour.
    ("quarter", "Europe/London", utc(2024, 2, 29, 12), utc(2024, 1, 1), utc(2024, 3, 31, 23), 91 * DAY - H),
    # London, Q2 is all summer time: exactly 91 days, both ends at 23:00Z.
    ("quarter", "Europe/London", utc(2024, 5, 5), utc(2024, 3, 31, 23), utc(2024, 6, 30, 23), 91 * DAY),
    # New York, spring forward 2024-03-10 07:00Z: March starts at 05:00Z, ends at 04:00Z.
    ("month", "America/New_York", utc(2024, 3, 10, 8), utc(2024, 3, 1, 5), utc(2024, 4, 1, 4), 31 * DAY - H),
    # New York, fall back 2024-11-03: November gains an hour.
    ("month", "America/New_York", utc(2024, 11, 3, 12), utc(2024, 11, 1, 4), utc(2024, 12, 1, 5), 30 * DAY + H),
    # New York, 23:30 EST on 31 December is still December although UTC is in the new year.
    ("month", "America/New_York", utc(2025, 1, 1, 4, 30), utc(2024, 12, 1, 5), utc(2025, 1, 1, 5), 31 * DAY),
    # New York, the week holding the fall-back Sunday is 7 days plus an hour.
    ("week", "America/New_York", utc(2024, 11, 2), utc(2024, 10, 28, 4), utc(2024, 11, 4, 5), 7 * DAY + H),
    # New York, Q4 (92 days) gains the fall-back hour and ends in the next year.
    ("quarter", "America/New_York", utc(2024, 12, 31), utc(2024, 10, 1, 4), utc(2025, 1, 1, 5), 92 * DAY + H),
    # Sydney, DST ends 2024-04-07 (+11 to +10): April is an hour long.
    ("month", "Australia/Sydney", utc(2024, 4, 10), utc(2024, 3, 31, 13), utc(2024, 4, 30, 14), 30 * DAY + H),
    # Sydney, DST starts 2024-10-06 (+10 to +11): October is an hour short.
    ("month", "Australia/Sydney", utc(2024, 10, 6), utc(2024, 9, 30, 14), utc(2024, 10, 31, 13), 31 * DAY - H),
    # Sydney, the week holding the spring change starts on the Sunday in UTC.
    ("week", "Australia/Sydney", utc(2024, 10, 1), utc(2024, 9, 29, 14), utc(2024, 10, 6, 13), 7 * DAY - H),
    # Sydney, Q4 starts in summer-less +10 and ends in +11 on 31 December in UTC.
    ("quarter", "Australia/Sydney", utc(2024, 11, 11), utc(2024, 9, 30, 14), utc(2024, 12, 31, 13), 92 * DAY - H),
    # UTC, February of a leap year.
    ("month", "UTC", utc(2024, 2, 29, 23, 59), utc(2024, 2, 1), utc(2024, 3, 1), 29 * DAY),
]


@pytest.mark.parametrize(("unit", "zone", "now", "start", "end", "minutes"), CALENDAR)
def test_calendar_bounds(unit: str, zone: str, now: datetime, start: datetime, end: datetime, minutes: int) -> None:
    """Each calendar period starts and ends at local midnight, whatever DST does in between."""
    spec = CalendarWindow(unit, zone)  # type: ignore[arg-type]
    assert window_bounds(spec, now) == (start, end)
    assert window_minutes(spec, now) == minutes


def test_period_end_belongs_to_the_next_period() -> None:
    """Windows are half-open: the end instant of March is the start of April."""
    spec = CalendarWindow("month", "Europe/London")
    assert window_bounds(spec, utc(2024, 3, 31, 23))[0] == utc(2024, 3, 31, 23)
    assert window_bounds(spec, utc(2024, 3, 31, 22, 59))[1] == utc(2024, 3, 31, 23)


def test_now_in_any_zone_means_the_same_instant() -> None:
    """`now` may carry any offset; only the instant matters."""
    spec = CalendarWindow("month", "America/New_York")
    tokyo = utc(2024, 3, 10, 8).astimezone(ZoneInfo("Asia/Tokyo"))
    assert window_bounds(spec, tokyo) == window_bounds(spec, utc(2024, 3, 10, 8))


def test_naive_now_is_refused() -> None:
    """Time is an explicit instant: naive datetimes would silently mean local time."""
    with pytest.raises(ValueError, match="timezone-aware"):
        window_bounds(RollingWindow(timedelta(days=30)), datetime(2024, 1, 1))


def test_rolling_window_ends_now() -> None:
    """A rolling window is [now - length, now) and is always fully elapsed."""
    spec = RollingWindow(timedelta(days=28))
    now = utc(2024, 3, 31, 1, 30)
    assert window_bounds(spec, now) == (utc(2024, 3, 3, 1, 30), now)
    assert window_minutes(spec, now) == 28 * DAY
    assert elapsed_share(spec, now) == 1.0


def test_elapsed_share_of_a_calendar_window() -> None:
    """Elapsed share counts real elapsed time: 0 at the start, half at the middle of 30 days."""
    spec = CalendarWindow("month", "UTC")
    assert elapsed_share(spec, utc(2024, 4, 1)) == 0.0
    assert elapsed_share(spec, utc(2024, 4, 16)) == 0.5


def test_skipped_midnight_starts_the_day_at_the_jump() -> None:
    """Chile skipped 2022-09-11 00:00 local: that day starts at the jump to 01:00 (04:00Z)."""
    assert local_midnight(date(2022, 9, 11), ZoneInfo("America/Santiago")) == utc(2022, 9, 11, 4)


def test_minute_numbers_round_trip() -> None:
    """Minute numbers floor to the minute and map back to its start."""
    assert minute_of(utc(1970, 1, 1, 0, 1, 59)) == 1
    assert instant_of(minute_of(utc(2024, 3, 31, 1, 30, 5))) == utc(2024, 3, 31, 1, 30)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30d", RollingWindow(timedelta(days=30))),  # the Prometheus duration syntax
        (timedelta(days=7), RollingWindow(timedelta(days=7))),  # already a timedelta
        ({"calendar": "month"}, CalendarWindow("month", "UTC")),  # zone defaults to UTC
        ({"calendar": "week", "time_zone": "Europe/London"}, CalendarWindow("week", "Europe/London")),
    ],
)
def test_parse_window(value: object, expected: object) -> None:
    """Config values become window specs."""
    assert parse_window(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("90s", "number of minutes"),  # windows are whole minutes
        ({"calendar": "year"}, "week, month or quarter"),  # unsupported unit
        ({"calendar": "month", "time_zone": "Mars/Olympus"}, "unknown time zone"),
        ({"calendar": "month", "tz": "UTC"}, "calendar window is"),  # misspelt key
    ],
)
def test_bad_windows_say_what_is_wrong(value: object, message: str) -> None:
    """Bad window specs raise ValueError naming the problem."""
    with pytest.raises(ValueError, match=message):
        parse_window(value)


ZONES = st.sampled_from(["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata"])
UNITS = st.sampled_from(["week", "month", "quarter"])
INSTANTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1))


@given(UNITS, ZONES, INSTANTS)
def test_periods_tile_time(unit: str, zone: str, naive: datetime) -> None:
    """Every instant lies in exactly one period, periods start at local midnight and abut."""
    spec = CalendarWindow(unit, zone)  # type: ignore[arg-type]
    now = naive.replace(tzinfo=UTC)
    start, end = window_bounds(spec, now)
    assert start <= now < end
    local = start.astimezone(ZoneInfo(zone))
    assert (local.hour, local.minute) == (0, 0)
    assert window_bounds(spec, end)[0] == end
    assert 0.0 <= elapsed_share(spec, now) < 1.0
