"""SLO windows: rolling (a fixed length ending now) and calendar (week, month, quarter).

All instants are timezone-aware; bounds are returned in UTC. Calendar periods start at
local midnight in an IANA time zone, so a month that contains a DST change is an hour
shorter or longer than its number of days. See docs/slo/math.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tocsin.config.duration import parse_duration

CalendarUnit = Literal["week", "month", "quarter"]

MINUTE = timedelta(minutes=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The short burn-rate windows of issue 5, in minutes: 5m, 30m, 1h, 2h, 6h, 1d, 3d.
BURN_WINDOWS: tuple[int, ...] = (5, 30, 60, 120, 360, 1440, 4320)


@dataclass(frozen=True)
class RollingWindow:
    """A window of fixed length (whole minutes) that ends at the evaluation instant."""

    length: timedelta

    def __post_init__(self) -> None:
        """Reject lengths that are not a positive whole number of minutes."""
        if self.length <= timedelta(0) or self.length % MINUTE:
            raise ValueError(f"a rolling window is a positive number of minutes, not {self.length}")


@dataclass(frozen=True)
class CalendarWindow:
    """A calendar period (ISO week from Monday, month, quarter) in an IANA time zone."""

    unit: CalendarUnit
    time_zone: str = "UTC"

    def __post_init__(self) -> None:
        """Reject unknown units and time zones early, with the accepted values."""
        if self.unit not in get_args(CalendarUnit):
            raise ValueError(f"calendar must be week, month or quarter, not {self.unit!r}")
        zone_of(self.time_zone)


WindowSpec = RollingWindow | CalendarWindow


def zone_of(name: str) -> ZoneInfo:
    """Load an IANA time zone, raising ValueError for an unknown name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def parse_window(value: object) -> WindowSpec:
    """Read `30d`, a timedelta, or `{calendar: month, time_zone: Europe/London}` as a window."""
    if isinstance(value, RollingWindow | CalendarWindow):
        return value
    if isinstance(value, dict):
        unknown = set(value) - {"calendar", "time_zone"}
        if unknown or "calendar" not in value:
            raise ValueError("a calendar window is {calendar: week|month|quarter, time_zone: ...}")
        return CalendarWindow(value["calendar"], value.get("time_zone", "UTC"))
    return RollingWindow(parse_duration(value))


def require_aware(now: datetime) -> datetime:
    """Return `now` in UTC, refusing naive datetimes (time is always an explicit instant)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def window_bounds(spec: WindowSpec, now: datetime) -> tuple[datetime, datetime]:
    """The window that holds `now` as UTC [start, end); rolling windows end at `now`."""
    now = require_aware(now)
    if isinstance(spec, RollingWindow):
        return now - spec.length, now
    zone = zone_of(spec.time_zone)
    first = period_start(spec.unit, now.astimezone(zone).date())
    return local_midnight(first, zone), local_midnight(next_period(spec.unit, first), zone)


def window_minutes(spec: WindowSpec, now: datetime) -> int:
    """The length in minutes of the window that holds `now` (a whole calendar period)."""
    start, end = window_bounds(spec, now)
    return minute_of(end) - minute_of(start)


def elapsed_share(spec: WindowSpec, now: datetime) -> float:
    """The share of the window already behind `now`: 1 for rolling windows, (0, 1] for calendar."""
    start, end = window_bounds(spec, now)
    return min((require_aware(now) - start) / (end - start), 1.0)


def minute_of(instant: datetime) -> int:
    """The UTC minute number (minutes since the Unix epoch, floored) of an instant."""
    return (require_aware(instant) - EPOCH) // MINUTE


def instant_of(minute: int) -> datetime:
    """The UTC instant at the start of a minute number, the inverse of `minute_of`."""
    return EPOCH + minute * MINUTE


def period_start(unit: CalendarUnit, day: date) -> date:
    """The first local day of the calendar period that contains `day`."""
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def next_period(unit: CalendarUnit, first: date) -> date:
    """The first local day of the period after the one starting on `first`."""
    if unit == "week":
        return first + timedelta(days=7)
    months = first.month - 1 + (1 if unit == "month" else 3)
    return date(first.year + months // 12, months % 12 + 1, 1)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local day begins (the DST jump itself when midnight is skipped)."""
    # fold=0 on a skipped wall time uses the offset from before the jump, which lands exactly
    # on the transition instant when the gap starts at midnight (Chile, Cuba, Lebanon).
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
