"""The update reminder: tells an open incident's commander when nobody posted an update for a while.

Every node runs the loop; a reminder is claimed in the store (a conditional write of
`incidents.reminded_at_ms` with its `reminder` timeline entry) before it is sent, so it goes
out once per period even with several nodes. A send that fails after the claim is logged and
not repeated until the next period: a reminder is a nudge, not a page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tocsin.clock import Clock, Signal, sleep_until_or
from tocsin.incidents.audience import audience, console_url
from tocsin.incidents.notices import notify_user
from tocsin.incidents.updates import (
    REMINDER_ALERT,
    deliveries,
    notice,
    quiet_since,
    reminder_due,
    reminder_due_at,
    reminder_message,
)
from tocsin.notify.render import format_duration
from tocsin.store.incident_updates import QuietIncident, UpdateStore
from tocsin.store.incidents import IncidentStore, TimelineEntry

if TYPE_CHECKING:
    from tocsin.runtime import Runtime

log = logging.getLogger(__name__)

POLL = timedelta(minutes=15)  # a safety net: declaring and changing incidents wake the loop (see `wake`)
ACTOR = "tocsin"

# Sends one claimed reminder (subject, text) about an incident.
Send = Callable[[QuietIncident, str, str, datetime], Awaitable[None]]


def reminder_entry(q: QuietIncident, now: datetime, quiet: timedelta) -> TimelineEntry:
    """The `reminder` timeline entry: how long it was quiet and who was reminded."""
    who = f"the commander {q.commander}" if q.commander else "the audience (no commander is assigned)"
    detail = {"to": q.commander or "audience", "quiet_s": int(quiet.total_seconds())}
    return TimelineEntry(now, ACTOR, "reminder", f"no update for {format_duration(quiet)}: reminded {who}", detail)


class UpdateReminders:
    """Reminds about each open incident at most once per `period()` while no update is posted."""

    def __init__(
        self,
        clock: Clock,
        store: UpdateStore,
        period: Callable[[], timedelta | None],
        send: Send,
        url: Callable[[int], str],
    ) -> None:
        self._clock, self._store, self._period, self._send, self._url = clock, store, period, send, url
        self.sent = 0
        self._wake = Signal()

    async def wake(self, *_: object) -> None:
        """Look again now (an incident listener: a new or reopened incident may need a reminder sooner)."""
        self._wake.set()

    async def run(self) -> None:
        """Remind until cancelled; wake at the next due reminder or after POLL, whichever is first."""
        while True:
            self._wake.clear()  # before the turn: a wake during it means "look again"
            try:
                wake = await self.tick()
            except Exception:  # a failed turn must not end reminders for good
                log.exception("incident update reminders failed")
                wake = None
            now = self._clock.timestamp()
            until = now + POLL.total_seconds() if wake is None else min(wake.timestamp(), now + POLL.total_seconds())
            await sleep_until_or(self._clock, max(until, now), self._wake)

    async def tick(self) -> datetime | None:
        """Send every reminder due now; when the next one is due (None: nothing to wait for)."""
        period, now = self._period(), self._clock.now()
        if period is None:
            return None
        upcoming: list[datetime] = []
        for q in await self._store.quiet_candidates():
            reminded = reminder_due(q, period, now) and await self._remind(q, now)
            upcoming.append(reminder_due_at(replace(q, reminded_at=now) if reminded else q, period))
        return min(upcoming, default=None)

    async def _remind(self, q: QuietIncident, now: datetime) -> bool:
        subject, text = reminder_message(q, now, self._url(q.id))
        if not await self._store.claim_reminder(q, now, reminder_entry(q, now, now - quiet_since(q))):
            return False  # another node reminded it since we read
        try:
            await self._send(q, subject, text, now)
        except Exception:
            log.exception("could not send the update reminder of incident %d", q.id)
            return True
        self.sent += 1
        return True


def runtime_reminders(rt: Runtime) -> UpdateReminders:
    """The reminders of a running process: commanders through their contact methods, else the audience."""
    store = UpdateStore(rt.store)
    incidents = IncidentStore(rt.store)

    def period() -> timedelta | None:
        return rt.loaded.config.incidents.update_reminder

    def url(incident_id: int) -> str:
        return console_url(rt, f"/incidents/{incident_id}/updates")

    async def send(q: QuietIncident, subject: str, text: str, now: datetime) -> None:
        if q.commander:
            await notify_user(rt, q.commander, subject, text, f"/incidents/{q.id}/updates", now)
            return
        found = await incidents.get(q.id)
        through = await audience(rt, store, found.alert_groups if found else ())
        n = notice(REMINDER_ALERT, q, subject, text, url(q.id), now, rt.loaded.config.server.external_url or "")
        await store.queue(deliveries(n, through, "reminder"), now)
        rt.outbox.wake()

    reminders = UpdateReminders(rt.clock, store, period, send, url)
    rt.incidents.listeners.append(reminders.wake)
    return reminders
