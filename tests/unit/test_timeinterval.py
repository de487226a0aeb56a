"""Time intervals with Alertmanager's semantics: `(interval, instant) -> contained?` tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.alerting.timeinterval import (
    ConfigError,
    TimeInterval,
    parse_named_time_interval,
    parse_time_interval,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


WORK = {"times": [{"start_time": "09:00", "end_time": "17:00"}], "weekdays": ["monday:friday"]}

CONTAINS: list[tuple[dict[str, Any], str, bool]] = [
    ({}, "2024-01-01T00:00", True),  # no fields: every instant
    (WORK, "2024-01-01T09:00", True),  # Monday 09:00: start is inclusive
    (WORK, "2024-01-01T16:59", True),  # the last minute inside
    (WORK, "2024-01-01T17:00", False),  # end is exclusive
    (WORK, "2024-01-01T08:59", False),  # a minute early
    (WORK, "2024-01-06T12:00", False),  # Saturday is outside monday:friday
    (WORK, "2024-01-05T12:00", True),  # Friday is inside (ranges are inclusive)
    ({"times": [{"start_time": "22:00", "end_time": "24:00"}]}, "2024-01-01T23:59", True),  # 24:00 ends the day
    ({"weekdays": ["sunday"]}, "2024-01-07T00:00", True),  # Sunday is day 0
    ({"weekdays": ["Saturday", "SUNDAY"]}, "2024-01-06T10:00", True),  # names are case-insensitive
    ({"days_of_month": ["1:5"]}, "2024-03-05T23:59", True),  # day range inclusive
    ({"days_of_month": ["-1"]}, "2024-02-29T12:00", True),  # -1 is the last day (leap February)
    ({"days_of_month": ["-1"]}, "2023-02-28T12:00", True),  # ... and of a common February
    ({"days_of_month": ["-1"]}, "2024-02-28T12:00", False),  # the day before the last is not -1
    ({"days_of_month": ["-7:-1"]}, "2024-04-24T00:00", True),  # the last week of April (24..30)
    ({"days_of_month": ["-7:-1"]}, "2024-04-23T23:59", False),  # the day before it
    ({"days_of_month": ["25:31"]}, "2023-02-28T00:00", True),  # an end past the month is clamped
    ({"days_of_month": ["30:31"]}, "2023-02-28T00:00", False),  # a start past the month skips it
    ({"days_of_month": ["-31:-1"]}, "2023-02-01T00:00", True),  # -31 in February clamps to the 1st
    ({"days_of_month": ["1:-1"]}, "2024-07-31T00:00", True),  # positive start, negative end
    ({"months": ["january", "3"]}, "2024-03-10T00:00", True),  # names and numbers mix
    ({"months": ["may:august"]}, "2024-08-31T23:59", True),  # month range inclusive
    ({"years": ["2020:2022"]}, "2023-01-01T00:00", False),  # year range
    ({"years": ["2024"]}, "2024-12-31T23:59", True),  # single year
    ({"weekdays": []}, "2024-01-01T00:00", False),  # an empty list matches nothing (as in Alertmanager)
    ({"weekdays": None}, "2024-01-01T00:00", True),  # an empty key is unset
    ({**WORK, "location": "Europe/London"}, "2024-07-01T08:00", True),  # 09:00 BST is 08:00 UTC
    ({**WORK, "location": "Europe/London"}, "2024-07-01T16:00", False),  # 17:00 BST
    ({**WORK, "location": "Europe/London"}, "2024-01-08T16:59", True),  # 16:59 GMT in winter
    ({**WORK, "location": "Australia/Sydney"}, "2024-01-07T23:00", True),  # Monday 10:00 in Sydney, Sunday in UTC
    ({"days_of_month": ["1"], "location": "America/New_York"}, "2024-03-01T03:00", False),  # Feb 29th in New York
]


@pytest.mark.parametrize(("data", "instant", "expected"), CONTAINS, ids=[f"{d} {i}" for d, i, _ in CONTAINS])
def test_contains(data: dict[str, Any], instant: str, expected: bool) -> None:
    assert parse_time_interval(data, "ti").contains(utc(instant)) is expected


PARSE_ERRORS: list[tuple[dict[str, Any], str, str]] = [
    ({"times": [{"start_time": "09:00"}]}, "ti.times[0]", "both start_time and end_time"),  # both needed
    ({"times": [{"start_time": "9:00", "end_time": "10:00"}]}, "ti.times[0]", "HH:MM"),  # two-digit hours
    ({"times": [{"start_time": "10:00", "end_time": "10:00"}]}, "ti.times[0]", "before end_time"),  # empty range
    ({"times": [{"start_time": "00:00", "end_time": "24:01"}]}, "ti.times[0]", "HH:MM"),  # past midnight
    ({"weekdays": ["1"]}, "ti.weekdays[0]", "not a valid weekday"),  # weekdays are names
    ({"weekdays": ["friday:monday"]}, "ti.weekdays[0]", "start day comes after the end day"),  # reversed
    ({"weekdays": ["mon"]}, "ti.weekdays[0]", "not a valid weekday"),  # no abbreviations
    ({"weekdays": ["saturday:sunday"]}, "ti.weekdays[0]", "start day comes after"),  # no wrap-around (6:0)
    ({"days_of_month": ["0"]}, "ti.days_of_month[0]", "not a valid day of the month"),  # no day 0
    ({"days_of_month": ["32"]}, "ti.days_of_month[0]", "not a valid day of the month"),  # out of range
    ({"days_of_month": ["-3:5"]}, "ti.days_of_month[0]", "must be negative"),  # sign mix
    ({"days_of_month": ["10:-20"]}, "ti.days_of_month[0]", "always before"),  # 10..8 in February
    ({"days_of_month": ["1:2:3"]}, "ti.days_of_month[0]", "begin:end"),  # too many parts
    ({"months": ["december:february"]}, "ti.months[0]", "before the start month"),  # no wrap-around
    ({"months": ["jan"]}, "ti.months[0]", "not a valid month"),  # no abbreviations
    ({"years": ["2022:2020"]}, "ti.years[0]", "before start year"),  # reversed
    ({"location": "Mars/Olympus"}, "ti.location", "unknown time zone"),  # unknown zone
    ({"weekday": ["monday"]}, "ti.weekday", "unknown field"),  # a typo in a key
]


@pytest.mark.parametrize(("data", "path", "message"), PARSE_ERRORS, ids=[m for _, _, m in PARSE_ERRORS])
def test_parse_errors_name_the_key(data: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_time_interval(data, "ti")
    assert caught.value.path == path
    assert message in caught.value.message


def test_unquoted_yaml_times_are_read_back() -> None:
    # PyYAML reads an unquoted 17:00 as the base-60 integer 1020; Go's YAML reads "17:00".
    interval = parse_time_interval({"times": [{"start_time": "09:00", "end_time": 1020}]}, "ti")
    assert interval.times is not None
    assert interval.times[0].end_minute == 17 * 60


def test_named_interval_matches_any_of_its_intervals() -> None:
    named = parse_named_time_interval(
        {"name": "nights", "time_intervals": [{"times": [{"start_time": "00:00", "end_time": "06:00"}]}, WORK]},
        "time_intervals[0]",
    )
    assert named.contains(utc("2024-01-06T05:00"))  # first interval
    assert named.contains(utc("2024-01-02T10:00"))  # second interval
    assert not named.contains(utc("2024-01-06T10:00"))  # neither


def test_named_interval_needs_a_name() -> None:
    with pytest.raises(ConfigError, match="missing name"):
        parse_named_time_interval({"time_intervals": []}, "time_intervals[0]")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TimeInterval().contains(datetime(2024, 1, 1))


instants = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@given(instants, offsets, st.sampled_from([None, "Europe/London", "Asia/Kolkata", "America/St_Johns"]))
def test_only_the_instant_matters(instant: datetime, offset: timezone, location: str | None) -> None:
    interval = parse_time_interval({**WORK, "location": location}, "ti")
    assert interval.contains(instant) == interval.contains(instant.astimezone(offset))


@given(instants, st.sampled_from(["UTC", "Europe/Berlin", "Pacific/Chatham"]))
def test_weekdays_agree_with_the_calendar(instant: datetime, location: str) -> None:
    interval = parse_time_interval({"weekdays": ["monday:friday"], "location": location}, "ti")
    assert interval.contains(instant) == (instant.astimezone(ZoneInfo(location)).weekday() < 5)


@given(instants, st.integers(0, 1439), st.integers(1, 1440))
def test_times_are_start_inclusive_end_exclusive(instant: datetime, start: int, end: int) -> None:
    if start >= end:
        return
    clock = [{"start_time": f"{start // 60:02d}:{start % 60:02d}", "end_time": f"{end // 60:02d}:{end % 60:02d}"}]
    minute = instant.hour * 60 + instant.minute
    assert parse_time_interval({"times": clock}, "ti").contains(instant) == (start <= minute < end)
