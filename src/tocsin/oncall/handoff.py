"""Handoff notifications: "you are on call for primary from Mon 09:00 until Mon 09:00", sent ahead; pure.

A handoff is the start of a run of final shifts with the same person (layers and
overrides applied, so an override that hands a night to someone else tells them too).
Its notice is due `lead` before the start. See docs/oncall/escalation.md#handoff-notifications.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from tocsin.oncall.ical import schedule_entries
from tocsin.oncall.model import Schedule, load_zone
from tocsin.oncall.rotation import as_utc

HORIZON = timedelta(days=14)  # how far ahead the next notice is looked for before sleeping on it


@dataclass(frozen=True, slots=True)
class Handoff:
    """`user` goes on call for `schedule` at `start` until `end`; they are told at `notify_at`."""

    schedule: str
    user: str
    start: datetime
    end: datetime
    notify_at: datetime


def handoffs(schedule: Schedule, since: datetime, until: datetime, lead: timedelta) -> list[Handoff]:
    """The handoffs of `schedule` whose notice is due in [since, until), in order."""
    since, until = as_utc(since, "since"), as_utc(until, "until")
    if since >= until:
        return []
    first, last = since + lead, until + lead
    return [
        Handoff(schedule.name, entry.user, entry.start, entry.end, entry.start - lead)
        for entry in schedule_entries(schedule, first, last)
        if entry.user is not None and first <= entry.start < last
    ]


def due_handoffs(schedules: Mapping[str, Schedule], since: datetime, until: datetime, lead: timedelta) -> list[Handoff]:
    """Every schedule's handoffs with a notice due in [since, until), ordered by notice."""
    found = [h for schedule in schedules.values() for h in handoffs(schedule, since, until, lead)]
    return sorted(found, key=lambda h: (h.notify_at, h.schedule))


def next_notice(schedules: Mapping[str, Schedule], after: datetime, lead: timedelta) -> datetime | None:
    """When the next notice falls due at or after `after` (looking `HORIZON` ahead), else None."""
    upcoming = due_handoffs(schedules, after, after + HORIZON, lead)
    return upcoming[0].notify_at if upcoming else None


def notice_text(handoff: Handoff, time_zone: str) -> str:
    """The sentence a person reads, with times on their own wall clock."""
    zone = load_zone(time_zone)
    start, end = handoff.start.astimezone(zone), handoff.end.astimezone(zone)
    return f"You are on call for {handoff.schedule} from {_when(start)} until {_when(end)}."


def _when(at: datetime) -> str:
    """`Mon 2 Mar 2026 09:00 GMT`."""
    return f"{at:%a} {at.day} {at:%b %Y %H:%M} {at.tzname()}"
