"""Frozen value types for schedules: layers of rotations, restrictions, overrides, shifts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Weekdays follow `date.weekday()`: Monday is 0, Sunday is 6.
MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)
EVERY_DAY: frozenset[int] = frozenset(range(7))
WORKDAYS: frozenset[int] = frozenset(range(5))
WEEKEND: frozenset[int] = frozenset({SATURDAY, SUNDAY})

OVERRIDE = "override"
"""The `Shift.layer` of a shift that comes from an override."""


def load_zone(name: str) -> ZoneInfo:
    """Return the IANA time zone called `name`, or raise ValueError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name like Asia/Tokyo") from exc


def require_aware(value: datetime, what: str) -> None:
    """Raise ValueError if `value` has no UTC offset, since a naive instant is ambiguous."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")


class Unit(StrEnum):
    """A calendar unit counted on the wall clock of the layer's time zone."""

    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"


@dataclass(frozen=True)
class CalendarLength:
    """A shift of `count` wall-clock units: 1 day is 09:00 to 09:00 local, 23h or 25h over DST."""

    count: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"a shift lasts at least 1 {self.unit}, got {self.count}")

    def step(self, turns: int) -> timedelta:
        """The wall-clock distance covered by `turns` shifts, added to naive local times."""
        per_unit = {Unit.HOURS: timedelta(hours=1), Unit.DAYS: timedelta(days=1)}
        return per_unit.get(self.unit, timedelta(weeks=1)) * (self.count * turns)


@dataclass(frozen=True)
class FixedLength:
    """A shift of exactly `duration` elapsed time, whatever the wall clock says."""

    duration: timedelta

    def __post_init__(self) -> None:
        if self.duration <= timedelta(0):
            raise ValueError(f"a shift must be longer than zero, got {self.duration}")


ShiftLength = CalendarLength | FixedLength


def hours(count: int) -> CalendarLength:
    """A shift of `count` wall-clock hours."""
    return CalendarLength(count, Unit.HOURS)


def days(count: int) -> CalendarLength:
    """A shift of `count` local calendar days."""
    return CalendarLength(count, Unit.DAYS)


def weeks(count: int) -> CalendarLength:
    """A shift of `count` local calendar weeks."""
    return CalendarLength(count, Unit.WEEKS)


def fixed(duration: timedelta) -> FixedLength:
    """A shift of exactly `duration` elapsed time."""
    return FixedLength(duration)


@dataclass(frozen=True)
class Restriction:
    """A window that opens at `start` on each of `days` and closes at the next `end`."""

    # An `end` not after `start` crosses midnight (`start == end` is a whole 24 hours);
    # `extra_days` stretches a window further, e.g. Friday 17:00 to Monday 08:00.

    start: time
    end: time
    days: frozenset[int] = EVERY_DAY
    extra_days: int = 0

    def __post_init__(self) -> None:
        if not self.days <= EVERY_DAY:
            raise ValueError(f"weekdays are 0 (Monday) to 6 (Sunday), got {sorted(self.days)}")
        if self.extra_days < 0:
            raise ValueError("extra_days cannot be negative")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("restriction times are local times of day, without a zone")

    @classmethod
    def weekly(cls, start_day: int, start: time, end_day: int, end: time) -> Restriction:
        """A window once a week, from `start_day` at `start` to the next `end_day` at `end`."""
        span = (end_day - start_day) % 7
        if span == 0 and end <= start:
            span = 7
        crosses = 1 if end <= start else 0
        return cls(start, end, frozenset({start_day}), span - crosses)

    @property
    def span_days(self) -> int:
        """How many local dates after its opening date the window closes."""
        return self.extra_days + (1 if self.end <= self.start else 0)


@dataclass(frozen=True)
class Layer:
    """A rotation: participants take turns of `length`, the first turn starting at
    `handoff` local time on `start`, in `time_zone`, only inside `restrictions` if any."""

    name: str
    participants: tuple[str, ...]
    length: ShiftLength
    start: date
    handoff: time = time(9, 0)
    time_zone: str = "UTC"
    restrictions: tuple[Restriction, ...] = ()

    def __post_init__(self) -> None:
        if not self.participants:
            raise ValueError(f"layer {self.name!r} needs at least one participant")
        if self.name == OVERRIDE:
            raise ValueError(f"{OVERRIDE!r} is reserved for overrides; name the layer otherwise")
        if self.handoff.tzinfo is not None:
            raise ValueError("the handoff is a local time of day; give the zone in time_zone")
        load_zone(self.time_zone)

    @property
    def zone(self) -> ZoneInfo:
        """The layer's IANA time zone."""
        return load_zone(self.time_zone)

    @property
    def first_handoff(self) -> datetime:
        """The naive local wall time at which the first turn starts."""
        return datetime.combine(self.start, self.handoff)


@dataclass(frozen=True)
class Override:
    """`user` is on call from `start` to `end`, for everyone or only instead of `replaces`."""

    user: str
    start: datetime
    end: datetime
    replaces: str | None = None

    def __post_init__(self) -> None:
        require_aware(self.start, "override start")
        require_aware(self.end, "override end")
        if self.end <= self.start:
            raise ValueError(f"override for {self.user!r} ends before it starts")


@dataclass(frozen=True)
class Schedule:
    """Layers ordered lowest to highest priority, with overrides on top (later ones win)."""

    name: str
    time_zone: str = "UTC"
    layers: tuple[Layer, ...] = ()
    overrides: tuple[Override, ...] = field(default=())

    def __post_init__(self) -> None:
        load_zone(self.time_zone)


@dataclass(frozen=True)
class Shift:
    """`user` is on call over [start, end) because of `layer`; a gap has no user and no layer."""

    user: str | None
    start: datetime
    end: datetime
    layer: str | None = None

    @property
    def gap(self) -> bool:
        """True when nobody is on call during this shift."""
        return self.user is None

    @property
    def duration(self) -> timedelta:
        """The elapsed length of the shift."""
        return self.end - self.start


def swap_overrides(first: Shift, second: Shift) -> tuple[Override, Override]:
    """The two overrides that make an accepted swap of `first` and `second` take effect."""
    if first.user is None or second.user is None:
        raise ValueError("only shifts with someone on call can be swapped")
    return (
        Override(second.user, first.start, first.end, replaces=first.user),
        Override(first.user, second.start, second.end, replaces=second.user),
    )
