"""Persistence of status page subscribers and the fan-out of public incident updates to the outbox.

A subscription and its confirmation email are written in one transaction, and so are an
update's outbox rows and its `fanned_out_at_ms`: a crash leaves both or neither, and a
second node that picks the same update finds it taken and queues nothing (the outbox's
unique idempotency keys guard the rest).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.statuspage.subscribers import PublicUpdate, Subscriber, expired
from tocsin.store import audit
from tocsin.store.access_records import AuditEntry
from tocsin.store.alert_tables import outbox
from tocsin.store.alerting import Delivery, delivery_row
from tocsin.store.incident_response_tables import incident_updates, status_subscribers
from tocsin.store.incident_tables import incidents
from tocsin.store.sql import insert_for
from tocsin.store.store import Store
from tocsin.store.times import from_ms, opt_from_ms, to_ms

Builder = Callable[[Sequence[Subscriber]], list[Delivery]]
_S = status_subscribers.c


@dataclass(frozen=True, slots=True)
class Signup:
    """What a subscribe request did: the subscription as stored, and whether it was new or still unconfirmed."""

    subscriber: Subscriber
    pending: bool  # new or unconfirmed: a confirmation email is due; confirmed already: nothing changes


def _subscriber(m: Any) -> Subscriber:
    return Subscriber(
        id=m["id"],
        page=m["page"],
        kind=m["kind"],
        address=m["address"],
        components=tuple(m["components"]),
        token=m["token"],
        created_at=from_ms(m["created_at_ms"]),
        confirmed_at=opt_from_ms(m["confirmed_at_ms"]),
    )


async def _queue(conn: AsyncConnection, deliveries: Sequence[Delivery], now: datetime) -> None:
    """Insert outbox rows in one statement; a row whose idempotency key exists is skipped."""
    if deliveries:
        stmt = insert_for(conn, outbox).on_conflict_do_nothing(index_elements=["idempotency_key"])
        await conn.execute(stmt, [delivery_row(d, now) for d in deliveries])


class SubscriberStore:
    """Subscribers of status pages: reads on the pool, writes through the one writer."""

    def __init__(self, store: Store) -> None:
        self._db, self._writer = store.database, store.writer

    async def subscribe(
        self, sub: Subscriber, confirm: Callable[[Subscriber], Delivery | None], now: datetime
    ) -> Signup:
        """Store `sub`, or refresh an unconfirmed subscription of the same address, and queue `confirm(stored)`.

        A confirmed subscription is left exactly as it is, so a stranger cannot change or
        learn anything about it (the caller answers every signup the same way).
        """

        async def job(conn: AsyncConnection) -> Signup:
            found = await _find(conn, sub.page, sub.kind, sub.address)
            if found is not None and found.confirmed:
                return Signup(found, False)
            if found is None:
                stored = await _insert(conn, replace(sub, created_at=now))
            else:
                stored = replace(found, components=sub.components, created_at=now)
                values = {"components": list(stored.components), "created_at_ms": to_ms(now)}
                await conn.execute(update(status_subscribers).where(_S.id == found.id).values(**values))
            delivery = confirm(stored)
            await _queue(conn, [delivery] if delivery else [], now)
            return Signup(stored, True)

        return await self._writer.run(job)

    async def confirm(self, page: str, token: str, now: datetime) -> Subscriber | None:
        """Mark the subscription with this token confirmed (idempotent); None when there is none or it expired."""

        async def job(conn: AsyncConnection) -> Subscriber | None:
            found = await _by_token(conn, page, token)
            if found is None or found.confirmed or expired(found, now):
                return None if found is None or expired(found, now) else found
            when = to_ms(now)
            await conn.execute(update(status_subscribers).where(_S.id == found.id).values(confirmed_at_ms=when))
            return replace(found, confirmed_at=from_ms(when))

        return await self._writer.run(job)

    async def unsubscribe(self, page: str, token: str) -> Subscriber | None:
        """Delete the subscription with this token; None when there is none (already gone)."""

        async def job(conn: AsyncConnection) -> Subscriber | None:
            found = await _by_token(conn, page, token)
            if found is not None:
                await conn.execute(delete(status_subscribers).where(_S.id == found.id))
            return found

        return await self._writer.run(job)

    async def by_token(self, page: str, token: str) -> Subscriber | None:
        """The subscription of `page` with this token."""
        async with self._db.read() as conn:
            return await _by_token(conn, page, token)

    async def delete(self, page: str, subscriber_id: int, entry: AuditEntry | None = None) -> bool:
        """Remove one subscriber of `page` (an admin's action, audited in the same transaction); False if none."""
        stmt = delete(status_subscribers).where(and_(_S.page == page, _S.id == subscriber_id))

        async def job(conn: AsyncConnection) -> bool:
            result = await conn.execute(stmt)
            if result.rowcount:
                await audit.append(conn, entry)
            return bool(result.rowcount)

        return await self._writer.run(job)

    async def page_subscribers(self, page: str, *, limit: int = 100, offset: int = 0) -> list[Subscriber]:
        """Subscribers of `page`, oldest first."""
        query = select(status_subscribers).where(_S.page == page).order_by(_S.id).limit(limit).offset(offset)
        async with self._db.read() as conn:
            return [_subscriber(r._mapping) for r in await conn.execute(query)]

    async def counts(self, page: str) -> dict[str, int]:
        """Subscribers of `page` by `email`/`webhook` and `confirmed`/`unconfirmed`, e.g. `email_confirmed`."""
        confirmed = _S.confirmed_at_ms.is_not(None)
        query = select(_S.kind, confirmed, func.count()).where(_S.page == page).group_by(_S.kind, confirmed)
        out = {f"{k}_{s}": 0 for k in ("email", "webhook") for s in ("confirmed", "unconfirmed")}
        async with self._db.read() as conn:
            for kind, is_confirmed, n in await conn.execute(query):
                out[f"{kind}_{'confirmed' if is_confirmed else 'unconfirmed'}"] = int(n)
        return out

    async def purge_unconfirmed(self, before: datetime) -> int:
        """Forget email subscriptions never confirmed and created before `before`."""
        stmt = delete(status_subscribers).where(and_(_S.confirmed_at_ms.is_(None), _S.created_at_ms < to_ms(before)))
        result = await self._writer.run(lambda c: c.execute(stmt))
        return int(result.rowcount or 0)

    async def pending_updates(self, limit: int = 50) -> list[PublicUpdate]:
        """Public updates not fanned out yet, oldest first, with their incident's title and start."""
        u = incident_updates.c
        query = (
            select(incident_updates, incidents.c.title, incidents.c.created_at_ms.label("incident_created_ms"))
            .join(incidents, incidents.c.id == u.incident_id)
            .where(and_(u.audience == "public", u.fanned_out_at_ms.is_(None)))
            .order_by(u.id)
            .limit(limit)
        )
        async with self._db.read() as conn:
            return [_update(r._mapping) for r in await conn.execute(query)]

    async def fan_out(self, update_id: int, pages: Sequence[str], build: Builder, now: datetime) -> int | None:
        """Claim the update, read its pages' confirmed subscribers, queue `build(subscribers)`, all in one
        transaction; the number queued, or None when another node fanned it out first."""

        async def job(conn: AsyncConnection) -> int | None:
            claim = (
                update(incident_updates)
                .where(and_(incident_updates.c.id == update_id, incident_updates.c.fanned_out_at_ms.is_(None)))
                .values(fanned_out_at_ms=to_ms(now))
            )
            if not (await conn.execute(claim)).rowcount:
                return None
            query = select(status_subscribers).where(and_(_S.page.in_(list(pages)), _S.confirmed_at_ms.is_not(None)))
            subscribers = [_subscriber(r._mapping) for r in await conn.execute(query)] if pages else []
            deliveries = build(subscribers)
            await _queue(conn, deliveries, now)
            return len(deliveries)

        return await self._writer.run(job)


def _update(m: Any) -> PublicUpdate:
    return PublicUpdate(
        id=m["id"],
        incident_id=m["incident_id"],
        incident_title=m["title"],
        incident_created_at=from_ms(m["incident_created_ms"]),
        at=from_ms(m["at_ms"]),
        status=m["status"],
        body=m["body"],
        pages=tuple(m["pages"] or ()),
        components=dict(m["components"] or {}),
    )


async def _find(conn: AsyncConnection, page: str, kind: str, address: str) -> Subscriber | None:
    query = select(status_subscribers).where(and_(_S.page == page, _S.kind == kind, _S.address == address))
    row = (await conn.execute(query)).first()
    return _subscriber(row._mapping) if row else None


async def _by_token(conn: AsyncConnection, page: str, token: str) -> Subscriber | None:
    row = (await conn.execute(select(status_subscribers).where(and_(_S.token == token, _S.page == page)))).first()
    return _subscriber(row._mapping) if row else None


async def _insert(conn: AsyncConnection, sub: Subscriber) -> Subscriber:
    row = {
        "page": sub.page,
        "kind": sub.kind,
        "address": sub.address,
        "components": list(sub.components),
        "token": sub.token,
        "created_at_ms": to_ms(sub.created_at),
        "confirmed_at_ms": to_ms(sub.confirmed_at) if sub.confirmed_at else None,
    }
    result = await conn.execute(insert(status_subscribers).returning(_S.id), row)
    return replace(sub, id=int(result.scalar_one()))
