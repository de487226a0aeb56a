"""iCalendar (RFC 5545) feeds of the final schedule: one per schedule and one per user; pure.

Each event is one final shift (layers and overrides applied) written in local time with a
TZID and a VTIMEZONE, and a UID that hashes the schedule, the user and the shift's start, so
a calendar app that refreshes the feed updates its events instead of duplicating them.
See docs/oncall/calendars.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone

from tocsin.oncall.model import Schedule, Shift, load_zone
from tocsin.oncall.resolve import shifts
from tocsin.oncall.rotation import as_utc

PRODID = "-//tocsin//on-call calendar//EN"
REACH = timedelta(days=28)
"""How far past the requested range a shift is followed, so events are whole and UIDs stable."""
REFRESH = timedelta(hours=1)
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Zulu", "Zulu"})


@dataclass(frozen=True)
class Entry:
    """One event to write: `user` (None for a gap) on call for `schedule` over [start, end)."""

    schedule: str
    user: str | None
    start: datetime
    end: datetime
    layers: tuple[str, ...]
    time_zone: str

    @property
    def uid(self) -> str:
        """A UID that stays the same while the shift keeps its schedule, person and start."""
        key = f"{self.schedule}\x00{self.user or ''}\x00{self.start.astimezone(UTC).isoformat()}"
        return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@tocsin"


Summary = Callable[[Entry], str]


def schedule_calendar(
    schedule: Schedule,
    start: datetime,
    end: datetime,
    *,
    name: str,
    url: str | None = None,
    stamp: datetime | None = None,
    gaps: bool = False,
) -> bytes:
    """The schedule's final shifts overlapping [start, end) as an iCalendar feed; `gaps` adds flagged gaps."""
    entries = [entry for entry in schedule_entries(schedule, start, end) if gaps or entry.user is not None]
    stamp = _stamp(stamp, start)
    return render(entries, name=name, url=url, stamp=stamp, summary=_schedule_summary, time_zone=schedule.time_zone)


def user_calendar(
    schedules: Sequence[Schedule],
    user: str,
    start: datetime,
    end: datetime,
    *,
    name: str | None = None,
    url: str | None = None,
    stamp: datetime | None = None,
    time_zone: str | None = None,
) -> bytes:
    """`user`'s shifts in every one of `schedules` overlapping [start, end), in `time_zone` if given."""
    entries = [
        entry if time_zone is None else replace(entry, time_zone=time_zone)
        for schedule in schedules
        for entry in schedule_entries(schedule, start, end)
        if entry.user == user
    ]
    title = name if name is not None else f"{user} on call"
    zone = time_zone or "UTC"
    return render(entries, name=title, url=url, stamp=_stamp(stamp, start), summary=_user_summary, time_zone=zone)


def _stamp(stamp: datetime | None, start: datetime) -> datetime:
    """The DTSTAMP to write: the one given, else the start of the range (never the clock)."""
    return as_utc(stamp if stamp is not None else start, "stamp")


def schedule_entries(schedule: Schedule, start: datetime, end: datetime) -> list[Entry]:
    """The final schedule as whole entries (gaps included) that overlap [start, end)."""
    start, end = as_utc(start, "start"), as_utc(end, "end")
    pieces = shifts(schedule, _grid(start) - REACH, _grid(end) + 2 * REACH)
    entries = [_entry(schedule, group) for group in _by_person(pieces)]
    return [entry for entry in entries if entry.start < end and entry.end > start]


def _grid(t: datetime) -> datetime:
    """`t` rounded down to a multiple of `REACH` since 1970.

    Following shifts from a fixed grid rather than from `start` means an event clipped by
    the reach (someone on call for months) keeps its start, and so its UID, while the
    requested range slides, until the range crosses into the next cell.
    """
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + (t - epoch) // REACH * REACH


def _by_person(pieces: Iterable[Shift]) -> list[list[Shift]]:
    """Runs of neighbouring shifts with the same person (or gap), whatever layer they come from."""
    runs: list[list[Shift]] = []
    for piece in pieces:
        if runs and runs[-1][-1].user == piece.user and runs[-1][-1].end == piece.start:
            runs[-1].append(piece)
        else:
            runs.append([piece])
    return runs


def _entry(schedule: Schedule, run: list[Shift]) -> Entry:
    """One entry covering a run of shifts."""
    layers = tuple(dict.fromkeys(piece.layer for piece in run if piece.layer is not None))
    return Entry(schedule.name, run[0].user, run[0].start, run[-1].end, layers, schedule.time_zone)


def _schedule_summary(entry: Entry) -> str:
    """The title of an event in a schedule's feed."""
    return f"{entry.user} on call" if entry.user is not None else f"Nobody on call ({entry.schedule})"


def _user_summary(entry: Entry) -> str:
    """The title of an event in a user's feed."""
    return f"On call: {entry.schedule}"


def render(
    entries: Sequence[Entry], *, name: str, url: str | None, stamp: datetime, summary: Summary, time_zone: str
) -> bytes:
    """The VCALENDAR for `entries`, with a VTIMEZONE for every TZID it uses."""
    calendar = _header(name, url)
    for entry in sorted(entries, key=lambda e: (e.start, e.schedule)):
        calendar.add_component(_event(entry, stamp, summary(entry)))
    if entries:
        first = min(entry.start for entry in entries).year
        calendar.add_missing_timezones(date(first, 1, 1), date(max(e.end for e in entries).year + 1, 1, 1))
    else:  # RFC 5545 wants at least one component: the feed's own zone will do
        years = date(stamp.year, 1, 1), date(stamp.year + 1, 1, 1)
        calendar.add_component(Timezone.from_tzid(time_zone, first_date=years[0], last_date=years[1]))
    for zone in calendar.walk("VTIMEZONE"):
        zone.pop("COMMENT", None)  # icalendar's note on the years covered; RFC 5545 has no COMMENT here
    ical: bytes = calendar.to_ical()
    return ical


def _header(name: str, url: str | None) -> Calendar:
    """The calendar's own properties: who made it, its name, where and how often to refresh it."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.calendar_name = name  # NAME (RFC 7986) and X-WR-CALNAME, which older apps read
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")  # what Outlook and Google read instead
    if url is not None:
        calendar.add("url", url, parameters={"VALUE": "URI"})
        calendar.add("source", url, parameters={"VALUE": "URI"})
    return calendar


def _event(entry: Entry, stamp: datetime, title: str) -> Event:
    """One VEVENT; on-call time does not make anyone busy, so it is TRANSPARENT."""
    event = Event()
    event.add("uid", entry.uid)
    event.add("dtstamp", stamp)
    start, end = event_times(entry)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", title)
    event.add("description", _description(entry))
    event.add("transp", "TRANSPARENT")
    event.add("categories", ["On call" if entry.user is not None else "Gap"])
    event.add("x-tocsin-schedule", entry.schedule)
    if entry.user is None:
        event.add("x-tocsin-gap", "TRUE")
    else:
        event.add("x-tocsin-user", entry.user)
    return event


def _description(entry: Entry) -> str:
    """What the event means, in words."""
    if entry.user is None:
        return f"Nobody is on call for schedule {entry.schedule}: add an override or a backstop layer."
    return f"{entry.user} is on call for schedule {entry.schedule} (layers: {', '.join(entry.layers)})."


def event_times(entry: Entry) -> tuple[datetime, datetime]:
    """DTSTART and DTEND: both on the wall clock of the entry's zone, or both in UTC."""
    # Readers such as recurring-ical-events compute DTEND - DTSTART and add it back with
    # wall-clock arithmetic, which is only right when both ends are written the same way.
    start, end = wall_time(entry.start, entry.time_zone), wall_time(entry.end, entry.time_zone)
    if (start.tzinfo is UTC) != (end.tzinfo is UTC):
        return as_utc(entry.start), as_utc(entry.end)
    return start, end


def wall_time(instant: datetime, time_zone: str) -> datetime:
    """`instant` in `time_zone` for a TZID value, or in UTC where the wall time would be ambiguous."""
    # RFC 5545 reads a repeated wall time (clocks going back) as its first occurrence, so an
    # instant in the second one cannot be written with a TZID; UTC says it exactly.
    instant = as_utc(instant)
    if time_zone in _UTC_NAMES:
        return instant
    zone: ZoneInfo = load_zone(time_zone)
    local = instant.astimezone(zone)
    if local.replace(fold=0).astimezone(UTC) != instant:
        return instant
    return local.replace(fold=0)
