"""Overrides and shift swaps made in the console or API: value types, checks, and merging them into schedules; pure.

Config overrides come first in each schedule and stored ones after them in the order they
were made, so the newest override wins where two overlap (see docs/oncall/console.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from tocsin.oncall.directory import Directory
from tocsin.oncall.ical import schedule_entries
from tocsin.oncall.model import Override, Schedule, Shift
from tocsin.oncall.rotation import as_utc

SwapState = Literal["requested", "accepted", "cancelled"]
INSTANT = timedelta(microseconds=1)


class OverrideProblem(ValueError):
    """Why an override or swap cannot be made, in words for the person who asked."""


@dataclass(frozen=True, slots=True)
class StoredOverride:
    """An override kept in the database: `override` applies to `schedule`; `swap` names the swap it came from."""

    id: int
    schedule: str
    override: Override
    created_by: str
    created_at: datetime
    swap: int | None = None


@dataclass(frozen=True, slots=True)
class Swap:
    """`requester` asks `other` to trade shifts: requester's `shift` for other's `other_shift`."""

    id: int
    schedule: str
    shift: Shift
    other_shift: Shift
    state: SwapState
    created_by: str
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None

    @property
    def requester(self) -> str:
        """Who asked for the swap."""
        return self.shift.user or ""

    @property
    def other(self) -> str:
        """Who is asked to accept it."""
        return self.other_shift.user or ""


def with_overrides(directory: Directory, stored: Iterable[StoredOverride]) -> Directory:
    """The directory with stored overrides laid on top of each schedule's config overrides."""
    extra: dict[str, list[Override]] = {}
    for item in sorted(stored, key=lambda s: s.id):
        extra.setdefault(item.schedule, []).append(item.override)
    schedules = {name: _merged(schedule, extra.get(name, [])) for name, schedule in directory.schedules.items()}
    return replace(directory, schedules=schedules, _shifts={})


def _merged(schedule: Schedule, extra: list[Override]) -> Schedule:
    return replace(schedule, overrides=(*schedule.overrides, *extra)) if extra else schedule


def check_override(
    directory: Directory, schedule: str, user: str, start: datetime, end: datetime, replaces: str | None
) -> Override:
    """The override asked for, or OverrideProblem saying what is wrong with it."""
    _known_schedule(directory, schedule)
    _known_user(directory, user)
    start, end = as_utc(start, "start"), as_utc(end, "end")
    if end <= start:
        raise OverrideProblem(f"the override ends ({end.isoformat()}) before it starts ({start.isoformat()})")
    if replaces is not None:
        _known_user(directory, replaces)
        if not _has_shift(directory.schedules[schedule], replaces, start, end):
            window = f"{start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC"
            raise OverrideProblem(f"{replaces!r} has no shift in {schedule!r} between {window}")
    return Override(user, start, end, replaces)


def shift_at(directory: Directory, schedule: str, user: str, at: datetime) -> Shift:
    """`user`'s whole shift in `schedule` that contains `at`, or OverrideProblem when they are not on call then."""
    _known_schedule(directory, schedule)
    _known_user(directory, user)
    at = as_utc(at, "at")
    for entry in schedule_entries(directory.schedules[schedule], at, at + INSTANT):
        if entry.user == user:
            return Shift(user, entry.start, entry.end)
    raise OverrideProblem(f"{user!r} has no shift in {schedule!r} at {at:%Y-%m-%d %H:%M} UTC")


def check_swap(first: Shift, second: Shift) -> None:
    """Raise OverrideProblem when two shifts cannot be swapped (same person, or overlapping)."""
    if first.user == second.user:
        raise OverrideProblem("a swap needs two different people")
    if first.start < second.end and second.start < first.end:
        raise OverrideProblem("the two shifts overlap; pick shifts at different times")


def _has_shift(schedule: Schedule, user: str, start: datetime, end: datetime) -> bool:
    return any(entry.user == user for entry in schedule_entries(schedule, start, end))


def _known_schedule(directory: Directory, name: str) -> None:
    if name not in directory.schedules:
        raise OverrideProblem(f"no schedule {name!r}; GET /api/v1/oncall/now lists them")


def _known_user(directory: Directory, name: str) -> None:
    if name not in directory.users:
        raise OverrideProblem(f"{name!r} is not under oncall.users")
