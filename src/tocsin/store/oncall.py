"""Persistence of on-call: escalation state, pages into the outbox, used ack tokens, secrets, keys, cursors.

Every write goes through the store's single writer (one transaction per call): an
escalation's progress and the outbox rows of its pages commit together, so a crash never
loses a page it recorded as sent, nor sends one twice (outbox rows are unique by their
idempotency key and inserted with ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

import base64
import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.oncall.state import Ack, Escalation
from tocsin.store.alert_tables import outbox
from tocsin.store.alerting import Delivery, delivery_row
from tocsin.store.oncall_overrides import OverrideStore
from tocsin.store.oncall_tables import (
    oncall_change_events,
    oncall_cursors,
    oncall_escalations,
    oncall_integration_keys,
    oncall_secrets,
    oncall_used_tokens,
)
from tocsin.store.store import Store
from tocsin.store.times import from_ms, opt_from_ms, opt_to_ms, to_ms

RESOLVED_RETENTION = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class StoredKey:
    """An integration key created through the API (its secret is only kept as a digest)."""

    digest: str
    service: str
    name: str
    kind: str
    created_at: datetime
    created_by: str


def _insert(conn: AsyncConnection, table: Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def _row(esc: Escalation, now: datetime) -> dict[str, Any]:
    return {
        "group_key": esc.group_key,
        "incident": esc.incident,
        "policy": esc.policy,
        "receiver": esc.receiver,
        "service": esc.service,
        "urgency": esc.urgency,
        "group_labels": dict(esc.group_labels),
        "triggered_at_ms": to_ms(esc.triggered_at),
        "acks": [[to_ms(a.at), a.by] for a in esc.acks],
        "resolved_at_ms": opt_to_ms(esc.resolved_at),
        "resolved_by": esc.resolved_by,
        "sent_until_ms": to_ms(esc.sent_until),
        "step": esc.step,
        "repetition": esc.repetition,
        "updated_at_ms": to_ms(now),
    }


def _escalation(m: Any) -> Escalation:
    return Escalation(
        group_key=m["group_key"],
        incident=m["incident"],
        policy=m["policy"],
        receiver=m["receiver"],
        service=m["service"],
        urgency="low" if m["urgency"] == "low" else "high",
        triggered_at=from_ms(m["triggered_at_ms"]),
        sent_until=from_ms(m["sent_until_ms"]),
        group_labels=dict(m["group_labels"]),
        acks=tuple(Ack(from_ms(at), by) for at, by in m["acks"]),
        resolved_at=opt_from_ms(m["resolved_at_ms"]),
        resolved_by=m["resolved_by"],
        step=m["step"],
        repetition=m["repetition"],
    )


@functools.cache
def _upsert_escalations(dialect: str) -> Any:
    """The escalation upsert, built once per dialect (building `excluded` costs more than running it)."""
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(oncall_escalations)
    columns = {c.name: stmt.excluded[c.name] for c in oncall_escalations.columns if c.name != "group_key"}
    return stmt.on_conflict_do_update(index_elements=["group_key"], set_=columns)


@functools.cache
def _insert_outbox(dialect: str) -> Any:
    """Outbox insert that skips rows whose idempotency key is already queued, built once per dialect."""
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(outbox)
    return stmt.on_conflict_do_nothing(index_elements=["idempotency_key"])


async def _enqueue(conn: AsyncConnection, deliveries: Sequence[tuple[Delivery, datetime]], now: datetime) -> None:
    """Insert outbox rows, skipping any whose idempotency key is already queued."""
    if deliveries:
        await conn.execute(_insert_outbox(conn.dialect.name), [delivery_row(d, now, at) for d, at in deliveries])


class OncallStore:
    """On-call's view of the store: reads on the pool, writes through the one writer."""

    def __init__(self, store: Store) -> None:
        self._db, self._writer = store.database, store.writer
        self.overrides = OverrideStore(store)

    async def load_escalations(self) -> list[Escalation]:
        """Every stored escalation (active and resolved)."""
        async with self._db.read() as conn:
            return [_escalation(r._mapping) for r in await conn.execute(select(oncall_escalations))]

    async def escalation(self, group_key: str) -> Escalation | None:
        """The stored escalation of one group, if any."""
        query = select(oncall_escalations).where(oncall_escalations.c.group_key == group_key)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _escalation(row._mapping)

    async def save(
        self, changes: Sequence[Escalation], deliveries: Sequence[tuple[Delivery, datetime]], now: datetime
    ) -> None:
        """Upsert escalations and queue their pages (each due at its instant), in one transaction."""
        rows = [_row(esc, now) for esc in changes]

        async def job(conn: AsyncConnection) -> None:
            if rows:
                await conn.execute(_upsert_escalations(conn.dialect.name), rows)
            await _enqueue(conn, deliveries, now)

        await self._writer.run(job)

    async def advance_cursor(
        self, name: str, at: datetime, deliveries: Sequence[tuple[Delivery, datetime]], now: datetime
    ) -> None:
        """Move cursor `name` to `at` and queue `deliveries`, in one transaction."""

        async def job(conn: AsyncConnection) -> None:
            stmt = _insert(conn, oncall_cursors)
            upsert = stmt.on_conflict_do_update(index_elements=["name"], set_={"at_ms": stmt.excluded.at_ms})
            await conn.execute(upsert, {"name": name, "at_ms": to_ms(at)})
            await _enqueue(conn, deliveries, now)

        await self._writer.run(job)

    async def cursor(self, name: str) -> datetime | None:
        """Where cursor `name` stands, if it was ever moved."""
        query = select(oncall_cursors.c.at_ms).where(oncall_cursors.c.name == name)
        async with self._db.read() as conn:
            found = (await conn.execute(query)).scalar()
        return None if found is None else from_ms(found)

    async def secret(self, name: str, size: int = 32) -> bytes:
        """The secret called `name`, created at random on first use (the first writer wins on a race)."""
        fresh = base64.b64encode(secrets.token_bytes(size)).decode()

        async def job(conn: AsyncConnection) -> str:
            stmt = _insert(conn, oncall_secrets).on_conflict_do_nothing(index_elements=["name"])
            await conn.execute(stmt, {"name": name, "value": fresh})
            value: str = (
                await conn.execute(select(oncall_secrets.c.value).where(oncall_secrets.c.name == name))
            ).scalar_one()
            return value

        return base64.b64decode(await self._writer.run(job))

    async def use_token(self, nonce: str, expires_at: datetime, now: datetime) -> bool:
        """Record one use of a token's nonce; False when it was used before (a replay)."""
        row = {"nonce": nonce, "used_at_ms": to_ms(now), "expires_at_ms": to_ms(expires_at)}

        async def job(conn: AsyncConnection) -> bool:
            result = await conn.execute(_insert(conn, oncall_used_tokens).on_conflict_do_nothing(), row)
            return bool(result.rowcount)

        return await self._writer.run(job)

    async def token_used(self, nonce: str) -> bool:
        """True when a token with this nonce was used."""
        query = select(oncall_used_tokens.c.nonce).where(oncall_used_tokens.c.nonce == nonce)
        async with self._db.read() as conn:
            return (await conn.execute(query)).first() is not None

    async def purge(self, now: datetime) -> None:
        """Forget used tokens that expired (they cannot verify any more) and long-resolved escalations."""
        tokens = delete(oncall_used_tokens).where(oncall_used_tokens.c.expires_at_ms < to_ms(now))
        old = to_ms(now - RESOLVED_RETENTION)
        escalations = delete(oncall_escalations).where(oncall_escalations.c.resolved_at_ms < old)

        async def job(conn: AsyncConnection) -> None:
            await conn.execute(tokens)
            await conn.execute(escalations)

        await self._writer.run(job)

    # integration keys created through the API

    async def keys(self) -> list[StoredKey]:
        """Every API-created integration key (digests, never secrets)."""
        async with self._db.read() as conn:
            rows = await conn.execute(select(oncall_integration_keys).order_by(oncall_integration_keys.c.service))
            return [
                StoredKey(r.digest, r.service, r.name, r.kind, from_ms(r.created_at_ms), r.created_by) for r in rows
            ]

    async def add_key(self, key: StoredKey) -> None:
        """Store a new key; IntegrityError when the service already has a key of that name."""
        row = {
            "digest": key.digest,
            "service": key.service,
            "name": key.name,
            "kind": key.kind,
            "created_at_ms": to_ms(key.created_at),
            "created_by": key.created_by,
        }
        await self._writer.run(lambda c: c.execute(insert(oncall_integration_keys), row))

    async def delete_key(self, service: str, name: str) -> bool:
        """Delete one key; False when there was none."""
        c = oncall_integration_keys.c
        stmt = delete(oncall_integration_keys).where(and_(c.service == service, c.name == name))
        result = await self._writer.run(lambda conn: conn.execute(stmt))
        return bool(result.rowcount)

    async def record_change(self, service: str, key_name: str, at: datetime, summary: str, event: Any) -> None:
        """Keep a PagerDuty change event."""
        row = {"service": service, "key_name": key_name, "at_ms": to_ms(at), "summary": summary, "event": event}
        await self._writer.run(lambda c: c.execute(insert(oncall_change_events), row))

    async def changes(self, limit: int = 100) -> list[dict[str, Any]]:
        """The most recent change events, newest first."""
        query = select(oncall_change_events).order_by(oncall_change_events.c.id.desc()).limit(limit)
        async with self._db.read() as conn:
            return [
                {
                    "service": r.service,
                    "key": r.key_name,
                    "at": from_ms(r.at_ms),
                    "summary": r.summary,
                    "event": r.event,
                }
                for r in await conn.execute(query)
            ]
