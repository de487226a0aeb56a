"""Subscriber persistence on SQLite and PostgreSQL: signups, confirmation, expiry, and fanning updates out once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.statuspage.subscribers import Subscriber
from tocsin.store.alert_tables import outbox
from tocsin.store.alerting import Delivery
from tocsin.store.incident_response_tables import incident_updates
from tocsin.store.incident_tables import incidents
from tocsin.store.store import Store
from tocsin.store.subscribers import SubscriberStore
from tocsin.store.times import to_ms

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def new(address: str, kind: str = "email", components: tuple[str, ...] = (), page: str = "acme") -> Subscriber:
    confirmed = NOW if kind == "webhook" else None
    return Subscriber(0, page, kind, address, components, f"tok-{page}-{address}", NOW, confirmed)  # type: ignore[arg-type]


def mail(sub: Subscriber) -> Delivery:
    return Delivery(f"confirm:{sub.id}", "g", "status:acme", 0, "subscriber-email", "confirm", {"to": sub.address})


async def outbox_keys(store: Store) -> list[str]:
    async with store.database.read() as conn:
        return [r.idempotency_key for r in await conn.execute(select(outbox.c.idempotency_key).order_by(outbox.c.id))]


async def test_signup_confirm_unsubscribe(store: Store) -> None:
    subs = SubscriberStore(store)
    first = await subs.subscribe(new("ann@example.com", components=("API",)), mail, NOW)
    assert first.pending
    assert first.subscriber.id > 0
    assert await outbox_keys(store) == [f"confirm:{first.subscriber.id}"]  # with the row, in one transaction
    later = NOW + timedelta(hours=1)
    again = await subs.subscribe(new("ann@example.com", components=("DB",)), mail, later)  # still unconfirmed
    assert again.pending
    assert again.subscriber.token == first.subscriber.token
    assert again.subscriber.components == ("DB",)
    confirmed = await subs.confirm("acme", first.subscriber.token, later)
    assert confirmed is not None
    assert confirmed.confirmed_at == later
    assert await subs.confirm("other", first.subscriber.token, later) is None  # a token is bound to its page
    third = await subs.subscribe(new("ann@example.com", components=("Web",)), mail, later)
    assert not third.pending
    assert third.subscriber.components == ("DB",)
    assert len(await outbox_keys(store)) == 1  # ... and gets no email: the visitor's answer is the same anyway
    assert (await subs.unsubscribe("acme", first.subscriber.token)) is not None
    assert await subs.unsubscribe("acme", first.subscriber.token) is None
    assert await subs.page_subscribers("acme") == []


async def test_unconfirmed_signups_expire(store: Store) -> None:
    subs = SubscriberStore(store)
    signup = await subs.subscribe(new("bob@example.com"), lambda _: None, NOW)
    assert await subs.confirm("acme", signup.subscriber.token, NOW + timedelta(days=8)) is None  # link too old
    await subs.subscribe(new("carol@example.com"), lambda _: None, NOW + timedelta(days=6))
    assert await subs.purge_unconfirmed(NOW + timedelta(days=1)) == 1
    assert [s.address for s in await subs.page_subscribers("acme")] == ["carol@example.com"]


async def test_counts_and_admin_delete(store: Store) -> None:
    subs = SubscriberStore(store)
    ann = (await subs.subscribe(new("ann@example.com"), lambda _: None, NOW)).subscriber
    await subs.subscribe(new("https://hooks.example.com/x", "webhook"), lambda _: None, NOW)
    await subs.subscribe(new("dan@example.com", page="other"), lambda _: None, NOW)
    assert await subs.counts("acme") == {
        "email_confirmed": 0,
        "email_unconfirmed": 1,
        "webhook_confirmed": 1,
        "webhook_unconfirmed": 0,
    }
    assert not await subs.delete("other", ann.id)  # not that page's subscriber
    assert await subs.delete("acme", ann.id)
    assert [s.kind for s in await subs.page_subscribers("acme")] == ["webhook"]


async def _incident_with_update(store: Store, pages: list[str], audience: str = "public") -> int:
    async def job(conn: AsyncConnection) -> int:
        row = {"title": "API errors", "severity": "SEV2", "status": "identified", "summary": "", "version": 1,
               "created_by": "ann", "created_at_ms": to_ms(NOW), "updated_at_ms": to_ms(NOW)}  # fmt: skip
        incident_id = (await conn.execute(insert(incidents).returning(incidents.c.id), row)).scalar_one()
        update = {"incident_id": incident_id, "at_ms": to_ms(NOW), "actor": "ann", "audience": audience,
                  "status": "identified", "body": "Rolling back.", "pages": pages,
                  "components": {"acme/API": "major_outage"}}  # fmt: skip
        return int((await conn.execute(insert(incident_updates).returning(incident_updates.c.id), update)).scalar_one())

    return await store.writer.run(job)


async def test_fan_out_once_in_one_transaction(store: Store) -> None:
    subs = SubscriberStore(store)
    for i in range(3):
        signup = await subs.subscribe(new(f"u{i}@example.com"), lambda _: None, NOW)
        if i < 2:
            await subs.confirm("acme", signup.subscriber.token, NOW)
    await subs.subscribe(new("z@example.com", page="other"), lambda _: None, NOW)
    internal = await _incident_with_update(store, [], "internal")
    update_id = await _incident_with_update(store, ["acme"])
    [pending] = await subs.pending_updates()  # internal updates are not for subscribers
    assert (pending.id, pending.incident_title, pending.pages, pending.body) == (
        update_id,
        "API errors",
        ("acme",),
        "Rolling back.",
    )
    assert pending.components == {"acme/API": "major_outage"}
    assert internal != update_id

    def build(found: Sequence[Subscriber]) -> list[Delivery]:
        return [Delivery(f"u:{s.id}", "g", "status:acme", 0, "subscriber-email", "update", {}) for s in found]

    assert await subs.fan_out(update_id, pending.pages, build, NOW) == 2  # confirmed ones of that page only
    assert await subs.fan_out(update_id, pending.pages, build, NOW) is None  # claimed: another node queues nothing
    assert await subs.pending_updates() == []
    assert len(await outbox_keys(store)) == 2
