"""Incident updates in the store (SQLite and PostgreSQL) and the reminder loop on a fake clock."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from tests.store.test_access import entry
from tocsin.clock import FakeClock
from tocsin.incidents.model import Status
from tocsin.incidents.reminders import UpdateReminders
from tocsin.incidents.updates import deliveries, update_notice
from tocsin.notify.model import SKIPPED, DeliveryResult, Notification
from tocsin.notify.outbox import Integration
from tocsin.store.access_records import AuditQuery
from tocsin.store.alerting import AlertStore, Delivery
from tocsin.store.incident_updates import IncidentUpdate, QuietIncident, UpdateStore
from tocsin.store.incidents import Incident, IncidentStore, TimelineEntry
from tocsin.store.store import Store

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
M = timedelta(minutes=1)


class Quiet:
    async def send(self, n: Notification, http: object) -> DeliveryResult:
        return SKIPPED


async def declare(store: Store, at: datetime = T0, commander: str | None = "alice", title: str = "Checkout") -> int:
    roles = {"commander": commander} if commander else {}
    i = Incident(title, "SEV2", Status.INVESTIGATING, "", "alice", at, at, roles=roles)
    return await IncidentStore(store).create(i, [TimelineEntry(at, "alice", "declared", "declared")], None)


async def test_post_writes_update_timeline_outbox_and_audit_together(store: Store) -> None:
    updates = UpdateStore(store)
    iid = await declare(store)
    incident = await IncidentStore(store).get(iid)
    assert incident is not None
    u = IncidentUpdate(iid, T0 + M, "bob", "internal", "identified", "Found it.")
    through = [Integration("core", 0, "webhook", True, Quiet())]

    def followers(update_id: int) -> tuple[TimelineEntry, Sequence[Delivery]]:
        note = TimelineEntry(u.at, u.actor, "update", "internal update to core: Found it.", {"update_id": update_id})
        return note, deliveries(update_notice(incident, u, "https://x/incidents/1", "https://x"), through, update_id)

    stored = await updates.post(u, followers, entry("incident.update_posted", "ignored"))
    assert stored.id > 0
    public = IncidentUpdate(
        iid, T0 + 2 * M, "bob", "public", "identified", "We know.", ("public",), {"public/API": "x"}
    )
    stored_public = await updates.post(public, lambda n: (TimelineEntry(public.at, "bob", "update", "p"), ()), None)

    listed = await updates.updates(iid)
    assert [x.id for x in listed] == [stored_public.id, stored.id]  # newest first
    assert (listed[0].pages, listed[0].components, listed[0].fanned_out_at) == (("public",), {"public/API": "x"}, None)
    timeline = await IncidentStore(store).timeline(iid)
    assert [e.kind for e in timeline] == ["declared", "update", "update"]
    assert timeline[1].detail == {"update_id": stored.id}
    [row] = await AlertStore(store).deliveries()
    assert (row.delivery.receiver, row.delivery.reason, row.status) == ("core", "incident", "pending")
    assert row.delivery.payload["subject"] == "[SEV2] Incident 1 update: Checkout"
    [audited] = await store.access.audit_log(AuditQuery(action="incident.update_posted"))
    assert (audited.entry.target, audited.entry.detail["update_id"]) == (str(iid), stored.id)
    after = await IncidentStore(store).get(iid)
    assert after is not None
    assert after.updated_at == T0 + 2 * M
    assert await updates.updates(iid + 1) == []


async def test_a_failed_post_leaves_nothing(store: Store) -> None:
    updates = UpdateStore(store)
    iid = await declare(store)
    u = IncidentUpdate(iid, T0, "bob", "internal", "identified", "x")

    def broken(update_id: int) -> tuple[TimelineEntry, Sequence[Delivery]]:
        raise RuntimeError("cannot build the deliveries")

    with pytest.raises(RuntimeError, match="cannot build"):
        await updates.post(u, broken, None)
    assert await updates.updates(iid) == []


async def test_quiet_candidates_and_one_claim_per_reading(store: Store) -> None:
    updates = UpdateStore(store)
    first = await declare(store)
    second = await declare(store, commander=None, title="Search")
    await updates.post(
        IncidentUpdate(first, T0 + 5 * M, "bob", "internal", "investigating", "x"),
        lambda n: (TimelineEntry(T0 + 5 * M, "bob", "update", "x"), ()),
        None,
    )
    found = {q.id: q for q in await updates.quiet_candidates()}
    assert found[first] == QuietIncident(first, "Checkout", "SEV2", "investigating", T0, T0 + 5 * M, None, "alice")
    assert (found[second].last_update_at, found[second].commander) == (None, None)

    note = TimelineEntry(T0 + 40 * M, "tocsin", "reminder", "no update for 35m")
    assert await updates.claim_reminder(found[first], T0 + 40 * M, note)
    assert not await updates.claim_reminder(found[first], T0 + 41 * M, note)  # another node got it first
    again = {q.id: q for q in await updates.quiet_candidates()}
    assert again[first].reminded_at == T0 + 40 * M
    assert await updates.claim_reminder(again[first], T0 + 80 * M, note)  # the next period, read afresh
    assert [e.kind for e in await IncidentStore(store).timeline(first)] == [
        "declared",
        "update",
        "reminder",
        "reminder",
    ]


async def test_reminder_loop_on_a_fake_clock(store: Store) -> None:
    clock = FakeClock(T0)
    updates = UpdateStore(store)
    period: list[timedelta | None] = [timedelta(minutes=30)]
    sent: list[tuple[int, str, datetime]] = []

    async def send(q: QuietIncident, subject: str, text: str, now: datetime) -> None:
        sent.append((q.id, subject, now))

    reminders = UpdateReminders(clock, updates, lambda: period[0], send, lambda i: f"https://x/incidents/{i}/updates")
    iid = await declare(store)
    task = asyncio.create_task(reminders.run())
    try:
        await settle(clock)
        assert sent == []
        await advance(clock, 29 * M)
        assert sent == []
        await advance(clock, 1 * M)
        assert sent == [(iid, "[SEV2] Incident 1: no update for 30m", T0 + 30 * M)]
        await advance(clock, 20 * M)
        assert len(sent) == 1  # once per period
        await updates.post(
            IncidentUpdate(iid, clock.now(), "alice", "public", "investigating", "x", ("p",)),
            lambda n: (TimelineEntry(clock.now(), "alice", "update", "x"), ()),
            None,
        )
        await advance(clock, 29 * M)
        assert len(sent) == 1  # the update restarted the wait (at most a poll late)
        await advance(clock, 2 * M)
        assert sent[-1][1:] == ("[SEV2] Incident 1: no update for 30m", T0 + 80 * M)
        period[0] = None  # update_reminder: null after a reload
        await advance(clock, 120 * M)
        assert len(sent) == 2
    finally:
        task.cancel()
    [*_, last] = await IncidentStore(store).timeline(iid)
    assert (last.kind, last.actor, last.text) == (
        "reminder",
        "tocsin",
        "no update for 30m: reminded the commander alice",
    )


async def settle(clock: FakeClock) -> None:
    """Let the loop finish a turn that reads the store (real I/O, so loop turns are not enough)."""
    for _ in range(50):
        await asyncio.sleep(0.01)
        if clock.pending():
            return


async def advance(clock: FakeClock, by: timedelta) -> None:
    """Move the clock minute by minute, letting the loop catch up after each step."""
    for _ in range(int(by / M)):
        await clock.advance(60)
        await settle(clock)
