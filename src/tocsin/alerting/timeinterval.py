"""Alertmanager `time_intervals`: times of day, weekdays, days of month, months, years, location.

Semantics follow Alertmanager's `timeinterval` package: every field present must match,
any element of a field may match; times are start-inclusive and end-exclusive; negative
days of month count from the end of the month; a field given as an empty list matches
nothing; without `location` times are read in UTC.

`ConfigError` lives here because this is the lowest module of the alerting configuration;
`amconfig` re-exports it.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_TIME = re.compile(r"(([01][0-9]|2[0-3]):[0-5][0-9])|24:00")
_INT = re.compile(r"[+-]?[0-9]+")
_T = TypeVar("_T")
_INTERVAL_KEYS = frozenset({"times", "weekdays", "days_of_month", "months", "years", "location"})


class ConfigError(ValueError):
    """An alerting configuration value that is wrong, with the key path that holds it."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Minutes of the day in `[start_minute, end_minute)`; 24:00 is minute 1440."""

    start_minute: int
    end_minute: int


@dataclass(frozen=True, slots=True)
class Span:
    """An inclusive range of weekdays (0 = Sunday), days of month, months (1-12) or years."""

    begin: int
    end: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.begin <= value <= self.end


@dataclass(frozen=True, slots=True)
class TimeInterval:
    """One Alertmanager time interval; `None` fields match anything, `()` matches nothing."""

    times: tuple[TimeRange, ...] | None = None
    weekdays: tuple[Span, ...] | None = None
    days_of_month: tuple[Span, ...] | None = None
    months: tuple[Span, ...] | None = None
    years: tuple[Span, ...] | None = None
    location: str | None = None

    def contains(self, t: datetime) -> bool:
        """Whether the instant `t` (timezone-aware) falls inside this interval."""
        local = to_location(t, self.location)
        minute = local.hour * 60 + local.minute
        checks = (
            (self.times, lambda r: r.start_minute <= minute < r.end_minute),
            (self.days_of_month, lambda s: _day_in(s, local)),
            (self.months, lambda s: local.month in s),
            (self.weekdays, lambda s: local.isoweekday() % 7 in s),
            (self.years, lambda s: local.year in s),
        )
        return all(_any_or_unset(items, test) for items, test in checks)


@dataclass(frozen=True, slots=True)
class NamedTimeInterval:
    """A named list of time intervals, as in the top-level `time_intervals:` list."""

    name: str
    intervals: tuple[TimeInterval, ...]

    def contains(self, t: datetime) -> bool:
        """Whether any of the intervals contains `t`."""
        return any(interval.contains(t) for interval in self.intervals)


def _any_or_unset(items: tuple[Any, ...] | None, test: Callable[[Any], bool]) -> bool:
    return items is None or any(test(item) for item in items)


def to_location(t: datetime, location: str | None) -> datetime:
    """`t` seen in an IANA location (`Local` is the host's zone, none or empty is UTC)."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("time intervals need a timezone-aware datetime")
    if location == "Local":
        return t.astimezone()
    return t.astimezone(ZoneInfo(location) if location not in (None, "", "UTC") else UTC)


def _day_in(span: Span, t: datetime) -> bool:
    """Alertmanager's day-of-month test: negatives count from the month's end, then clamp."""
    days = calendar.monthrange(t.year, t.month)[1]
    begin = days + span.begin + 1 if span.begin < 0 else span.begin
    end = days + span.end + 1 if span.end < 0 else span.end
    if begin > days:
        return False
    begin, end = (max(-days, min(days, n)) for n in (begin, end))
    return begin <= t.day <= end


# ---------------------------------------------------------------------------------------
# Parsing from the YAML dict


def parse_named_time_intervals(data: Any, path: str) -> list[NamedTimeInterval]:
    """Parse a top-level `time_intervals:` (or deprecated `mute_time_intervals:`) list."""
    items = expect_list(data, path)
    return [parse_named_time_interval(item, f"{path}[{i}]") for i, item in enumerate(items)]


def parse_named_time_interval(data: Any, path: str) -> NamedTimeInterval:
    """Parse `{name: ..., time_intervals: [...]}`."""
    mapping = expect_mapping(data, path, {"name", "time_intervals"})
    name = mapping.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{path}.name", "missing name in time interval")
    path = f"{path}.time_intervals"
    raw = expect_list(mapping.get("time_intervals"), path)
    intervals = tuple(parse_time_interval(d, f"{path}[{i}]") for i, d in enumerate(raw))
    return NamedTimeInterval(name, intervals)


def parse_time_interval(data: Any, path: str) -> TimeInterval:
    """Parse one interval mapping (`times`, `weekdays`, `days_of_month`, `months`, ...)."""
    mapping = expect_mapping(data, path, _INTERVAL_KEYS)
    return TimeInterval(
        times=_field(mapping, "times", path, _parse_time_range),
        weekdays=_field(mapping, "weekdays", path, _parse_weekdays),
        days_of_month=_field(mapping, "days_of_month", path, _parse_days_of_month),
        months=_field(mapping, "months", path, _parse_months),
        years=_field(mapping, "years", path, _parse_years),
        location=_parse_location(mapping.get("location"), f"{path}.location"),
    )


def _field(mapping: Mapping[str, Any], key: str, path: str, parse: Callable[[Any], _T]) -> tuple[_T, ...] | None:
    if mapping.get(key) is None:
        return None
    items = expect_list(mapping[key], f"{path}.{key}")
    result: list[_T] = []
    for i, item in enumerate(items):
        try:
            result.append(parse(item))
        except ValueError as exc:
            raise ConfigError(f"{path}.{key}[{i}]", str(exc)) from None
    return tuple(result)


def _parse_time_range(data: Any) -> TimeRange:
    if not isinstance(data, Mapping) or set(data) - {"start_time", "end_time"}:
        raise ValueError("a time range is a mapping with start_time and end_time")
    if not data.get("start_time") or not data.get("end_time"):
        raise ValueError("both start_time and end_time must be provided")
    start, end = _parse_clock(data["start_time"]), _parse_clock(data["end_time"])
    if start >= end:
        raise ValueError("start_time must be before end_time (end_time is exclusive)")
    return TimeRange(start, end)


def _parse_clock(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 loaders (PyYAML) read an unquoted 17:00 as the base-60 number 1020.
        value = f"{value // 60:02d}:{value % 60:02d}"
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise ValueError(f"{value!r} is not a time of day; write HH:MM between 00:00 and 24:00")
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _parse_weekdays(value: Any) -> Span:
    span = _parse_span(value, _weekday)
    if span.begin > span.end:
        raise ValueError(f"{value!r}: the start day comes after the end day")
    return span


def _parse_days_of_month(value: Any) -> Span:
    span = _parse_span(value, _integer)
    for n in (span.begin, span.end):
        if n == 0 or not -31 <= n <= 31:
            raise ValueError(f"{n} is not a valid day of the month: use 1..31 or -31..-1")
    if span.begin < 0 < span.end:
        raise ValueError(f"{value!r}: the end day must be negative if the start day is")
    # Like Alertmanager, assume the shortest month (28 days) to reject ranges that never match.
    if _shortest_month_day(span.begin) > _shortest_month_day(span.end):
        raise ValueError(f"{value!r}: end day {span.end} is always before start day {span.begin}")
    return span


def _shortest_month_day(day: int) -> int:
    return 28 + day if day < 0 else day


def _parse_months(value: Any) -> Span:
    span = _parse_span(value, _month)
    if span.begin > span.end:
        raise ValueError(f"{value!r}: the end month is before the start month")
    return span


def _parse_years(value: Any) -> Span:
    span = _parse_span(value, _integer)
    if span.begin > span.end:
        raise ValueError(f"{value!r}: end year {span.end} is before start year {span.begin}")
    return span


def _parse_span(value: Any, member: Callable[[str], int]) -> Span:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string like 'monday:friday' or '1:15'")
    parts = value.lower().split(":")
    if len(parts) > 2:
        raise ValueError(f"couldn't parse range {value!r}: use begin:end")
    return Span(member(parts[0]), member(parts[-1]))


def _integer(text: str) -> int:
    if not _INT.fullmatch(text):
        raise ValueError(f"{text!r} is not a number")
    return int(text)


def _weekday(text: str) -> int:
    if text not in _WEEKDAYS:
        raise ValueError(f"{text!r} is not a valid weekday; use sunday..saturday")
    return _WEEKDAYS.index(text)


def _month(text: str) -> int:
    if text in _MONTHS:
        return _MONTHS.index(text) + 1
    if not _INT.fullmatch(text):
        raise ValueError(f"{text!r} is not a valid month; use january..december or 1..12")
    return int(text)


def _parse_location(value: Any, path: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(path, "a location is an IANA time zone name like Europe/London")
    if value not in ("", "UTC", "Local"):
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(path, f"unknown time zone {value!r}") from None
    return value


# ---------------------------------------------------------------------------------------
# Small shape checks shared by the alerting config parsers


def expect_mapping(data: Any, path: str, allowed: Iterable[str] | None = None) -> Mapping[str, Any]:
    """`data` as a mapping with only `allowed` keys (Alertmanager rejects unknown fields)."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(path, f"expected a mapping, got {type(data).__name__}")
    unknown = sorted(str(k) for k in data if allowed is not None and k not in set(allowed))
    if unknown:
        raise ConfigError(f"{path}.{unknown[0]}", "unknown field")
    return data


def expect_list(data: Any, path: str) -> list[Any]:
    """`data` as a list (`None` is an empty list)."""
    if data is None:
        return []
    if not isinstance(data, list | tuple):
        raise ConfigError(path, f"expected a list, got {type(data).__name__}")
    return list(data)


def expect_str_list(data: Any, path: str) -> list[str]:
    """`data` as a list of strings."""
    items = expect_list(data, path)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise ConfigError(f"{path}[{i}]", f"expected a string, got {type(item).__name__}")
    return items
