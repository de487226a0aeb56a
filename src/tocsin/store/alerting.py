"""Persistence of the alert pipeline: alerts, silences, group timers, notification log, outbox.

Every write goes through the store's single writer (one transaction per call), so an
accepted alert or an enqueued notification is committed before the caller goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.alerting.alert import Alert
from tocsin.alerting.dispatch import GroupTimer
from tocsin.alerting.silence import Silence
from tocsin.labels import Matcher
from tocsin.pipeline.dedup import LogEntry
from tocsin.store import audit
from tocsin.store.access_records import AuditEntry
from tocsin.store.alert_tables import alert_groups, alerts, delivery_attempts, notification_log, outbox, silences
from tocsin.store.sql import insert_for, upsert
from tocsin.store.store import Store
from tocsin.store.times import from_ms, opt_from_ms, to_ms


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """An alert as kept: `timeout` says its end came from resolve_timeout, not from the source."""

    alert: Alert
    updated_at: datetime
    timeout: bool
    source: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification to deliver to one integration (a row of the outbox)."""

    idempotency_key: str
    group_key: str
    receiver: str
    integration: int
    channel: str
    reason: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A delivery with its state."""

    id: int
    delivery: Delivery
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at delivering an outbox row."""

    outbox_id: int
    at: datetime
    outcome: str  # delivered, retryable, permanent
    status_code: int | None
    latency_ms: float
    detail: str


ALERT_FIELDS = (
    "fingerprint",
    "labels",
    "annotations",
    "starts_at_ms",
    "ends_at_ms",
    "timeout",
    "updated_at_ms",
    "generator_url",
    "source",
)
_compiled: dict[str, str] = {}  # dialect name -> driver SQL of the alert upsert


def _alert_row(stored: StoredAlert) -> tuple[Any, ...]:
    """An alert as driver parameters in ALERT_FIELDS order, label maps pre-serialised with orjson."""
    a = stored.alert
    ends = a.ends_at
    return (
        a.fingerprint,
        _json(a.labels),
        _json(a.annotations),
        to_ms(a.starts_at),
        None if ends is None else to_ms(ends),
        stored.timeout,
        to_ms(stored.updated_at),
        a.generator_url,
        stored.source,
    )


def _json(pairs: Mapping[str, str]) -> str:
    return orjson.dumps(pairs if type(pairs) is dict else dict(pairs)).decode()


def _alert_upsert_sql(conn: AsyncConnection) -> str:
    """The driver SQL of the alert upsert, compiled once per dialect.

    Why driver SQL: SQLAlchemy's per-row parameter processing (JSON encoding, type
    coercion) cost more than the write itself at 100k alerts a second.
    """
    dialect = conn.dialect
    cached = _compiled.get(dialect.name)
    if cached is None:
        stmt = insert_for(conn, alerts).values({f: bindparam(f) for f in ALERT_FIELDS})
        stmt = stmt.on_conflict_do_update(
            index_elements=["fingerprint"], set_={f: stmt.excluded[f] for f in ALERT_FIELDS[1:]}
        )
        compiled = stmt.compile(dialect=dialect, for_executemany=True)
        if tuple(compiled.positiontup or ()) != ALERT_FIELDS:
            raise RuntimeError(f"alert upsert: parameters compile as {compiled.positiontup}")
        cached = _compiled[dialect.name] = compiled.string
    return cached


def _alert_from(m: Any) -> StoredAlert:
    alert = Alert(
        labels=dict(m["labels"]),
        annotations=dict(m["annotations"]),
        starts_at=from_ms(m["starts_at_ms"]),
        ends_at=opt_from_ms(m["ends_at_ms"]),
        generator_url=m["generator_url"],
    )
    return StoredAlert(alert, from_ms(m["updated_at_ms"]), bool(m["timeout"]), m["source"])


def _silence_row(s: Silence, updated_at: datetime) -> dict[str, Any]:
    matchers = [{"name": m.name, "op": m.op, "value": m.value} for m in s.matchers]
    return {
        "id": s.id,
        "matchers": matchers,
        "starts_at_ms": to_ms(s.starts_at),
        "ends_at_ms": to_ms(s.ends_at),
        "updated_at_ms": to_ms(updated_at),
        "created_by": s.created_by,
        "comment": s.comment,
    }


def _silence_from(m: Any) -> tuple[Silence, datetime]:
    matchers = tuple(Matcher(x["name"], x["op"], x["value"]) for x in m["matchers"])
    silence = Silence(
        id=m["id"],
        matchers=matchers,
        starts_at=from_ms(m["starts_at_ms"]),
        ends_at=from_ms(m["ends_at_ms"]),
        created_by=m["created_by"],
        comment=m["comment"],
    )
    return silence, from_ms(m["updated_at_ms"])


def _outbox_from(m: Any) -> OutboxRow:
    delivery = Delivery(
        m["idempotency_key"],
        m["group_key"],
        m["receiver"],
        m["integration"],
        m["channel"],
        m["reason"],
        dict(m["payload"]),
    )
    return OutboxRow(
        m["id"],
        delivery,
        m["status"],
        m["attempts"],
        from_ms(m["created_at_ms"]),
        from_ms(m["next_attempt_ms"]),
        opt_from_ms(m["delivered_at_ms"]),
        m["last_error"],
    )


class AlertStore:
    """The alert pipeline's view of the store: reads on the pool, writes through the one writer."""

    def __init__(self, store: Store) -> None:
        self._db, self._writer = store.database, store.writer
        self._settling: list[tuple[int, dict[str, Any], Attempt, asyncio.Future[None]]] = []  # see settle()
        self._saving: list[tuple[list[tuple[Any, ...]], asyncio.Future[None]]] = []  # see save_alerts()

    # alerts

    async def save_alerts(self, stored: Sequence[StoredAlert]) -> None:
        """Insert or replace alerts by fingerprint, committed before returning.

        Why batched: concurrent ingest requests each wait for a commit; the saves queued by
        the time the writer gets to them share one transaction (one executemany), in order.
        """
        if not stored:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._saving.append(([_alert_row(s) for s in stored], future))
        if len(self._saving) == 1:  # the first since the last batch was taken: it runs the batch
            await self._save_batch()
        await future

    async def _save_batch(self) -> None:
        taken: list[tuple[list[tuple[Any, ...]], asyncio.Future[None]]] = []

        async def job(conn: AsyncConnection) -> None:
            taken.extend(self._saving)
            self._saving.clear()
            rows = _last_per_fingerprint([row for chunk, _ in taken for row in chunk])
            await conn.exec_driver_sql(_alert_upsert_sql(conn), rows)

        error: BaseException | None = None
        try:
            await self._writer.run(job)
        except Exception as exc:  # handed to every caller in the batch
            error = exc
        if not taken:  # the job never ran (the store is closed): fail what is queued
            taken.extend(self._saving)
            self._saving.clear()
        for _, future in taken:
            if not future.done():
                future.set_exception(error) if error else future.set_result(None)

    async def load_alerts(self) -> list[StoredAlert]:
        """Every stored alert (firing and not yet collected)."""
        async with self._db.read() as conn:
            return [_alert_from(r._mapping) for r in await conn.execute(select(alerts))]

    async def delete_alerts(self, fingerprints: Sequence[str]) -> None:
        """Forget alerts (garbage collection of long-resolved ones)."""
        if fingerprints:
            await self._writer.run(lambda c: c.execute(delete(alerts).where(alerts.c.fingerprint.in_(fingerprints))))

    # silences

    async def save_silence(self, silence: Silence, updated_at: datetime, entry: AuditEntry | None = None) -> None:
        """Create or replace a silence, with its audit entry in the same transaction."""
        row = _silence_row(silence, updated_at)

        async def job(conn: AsyncConnection) -> None:
            await conn.execute(upsert(conn, silences, ["id"], [k for k in row if k != "id"]), row)
            await audit.append(conn, entry)

        await self._writer.run(job)

    async def load_silences(self) -> list[tuple[Silence, datetime]]:
        """Every silence with its last update time."""
        async with self._db.read() as conn:
            return [_silence_from(r._mapping) for r in await conn.execute(select(silences))]

    async def delete_silences_ended_before(self, before: datetime) -> int:
        """Drop silences that expired before `before` (retention)."""
        result = await self._writer.run(
            lambda c: c.execute(delete(silences).where(silences.c.ends_at_ms < to_ms(before)))
        )
        return int(result.rowcount or 0)

    # group timers

    async def save_timers(
        self, changed: Sequence[GroupTimer], dropped: Sequence[str] = (), *, replace: bool = False
    ) -> None:
        """Upsert changed timers and delete dropped groups; `replace` rewrites the whole table (after a reload)."""
        rows = [
            {"key": t.key, "next_flush_ms": round(t.next_flush * 1000), "has_flushed": t.has_flushed} for t in changed
        ]

        async def job(conn: AsyncConnection) -> None:
            if replace:
                await conn.execute(delete(alert_groups))
            elif dropped:
                await conn.execute(delete(alert_groups).where(alert_groups.c.key.in_(list(dropped))))
            if rows:
                await conn.execute(upsert(conn, alert_groups, ["key"], ["next_flush_ms", "has_flushed"]), rows)

        if rows or dropped or replace:
            await self._writer.run(job)

    async def load_timers(self) -> list[GroupTimer]:
        """The persisted group timers."""
        async with self._db.read() as conn:
            rows = await conn.execute(select(alert_groups))
            return [GroupTimer(r.key, r.next_flush_ms / 1000, bool(r.has_flushed)) for r in rows]

    # notification log and outbox

    async def log_entry(self, group_key: str, receiver: str, integration: int) -> LogEntry | None:
        """What was last notified for a group and integration."""
        c = notification_log.c
        query = select(notification_log).where(
            and_(c.group_key == group_key, c.receiver == receiver, c.integration == integration)
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return LogEntry(frozenset(row.firing), frozenset(row.resolved), from_ms(row.sent_at_ms))

    async def enqueue(
        self, key: tuple[str, str, int], entry: LogEntry, delivery: Delivery | None, now: datetime
    ) -> None:
        """Record what is being notified and (if anything is sent) its outbox row, in one transaction."""
        log_row = {
            "group_key": key[0],
            "receiver": key[1],
            "integration": key[2],
            "firing": sorted(entry.firing),
            "resolved": sorted(entry.resolved),
            "sent_at_ms": to_ms(entry.at),
        }

        async def job(conn: AsyncConnection) -> None:
            await conn.execute(
                upsert(
                    conn,
                    notification_log,
                    ["group_key", "receiver", "integration"],
                    ["firing", "resolved", "sent_at_ms"],
                ),
                log_row,
            )
            if delivery is not None:
                await conn.execute(insert(outbox), delivery_row(delivery, now))

        await self._writer.run(job)

    async def claim(self, now: datetime, lease_ms: int, limit: int) -> list[OutboxRow]:
        """Take up to `limit` due deliveries for `lease_ms`; other nodes skip them (SKIP LOCKED on PostgreSQL)."""
        now_ms = to_ms(now)

        async def job(conn: AsyncConnection) -> list[OutboxRow]:
            c = outbox.c
            due = and_(
                c.status == "pending",
                c.next_attempt_ms <= now_ms,
                or_(c.claimed_until_ms.is_(None), c.claimed_until_ms <= now_ms),
            )
            query = select(outbox).where(due).order_by(c.next_attempt_ms).limit(limit)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = [_outbox_from(r._mapping) for r in await conn.execute(query)]
            if rows:
                ids = [r.id for r in rows]
                await conn.execute(update(outbox).where(c.id.in_(ids)).values(claimed_until_ms=now_ms + lease_ms))
            return rows

        return await self._writer.run(job)

    async def settle(self, row_id: int, attempt: Attempt, status: str, next_attempt: datetime | None) -> None:
        """Record an attempt and the row's new state (delivered, pending with a next try, or dead)."""
        values: dict[str, Any] = {
            "status": status,
            "attempts": outbox.c.attempts + 1,
            "claimed_until_ms": None,
            "last_error": None if attempt.outcome == "delivered" else attempt.detail,
        }
        if status == "delivered":
            values["delivered_at_ms"] = to_ms(attempt.at)
        if next_attempt is not None:
            values["next_attempt_ms"] = to_ms(next_attempt)

        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._settling.append((row_id, values, attempt, future))
        if len(self._settling) == 1:  # the first since the last batch was taken: it runs the batch
            await self._settle_batch()
        await future

    async def _settle_batch(self) -> None:
        """Commit every settle queued by the time the writer gets to it in one transaction.

        Why: the outbox worker settles a claimed batch concurrently; one transaction per row
        made settling, not sending, the limit of a large fan-out (10k subscriber emails).
        """
        taken: list[tuple[int, dict[str, Any], Attempt, asyncio.Future[None]]] = []

        async def job(conn: AsyncConnection) -> None:
            taken.extend(self._settling)
            self._settling.clear()
            shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # rows settled alike share one executemany
            for row_id, values, _, _ in taken:
                params = {f"v_{k}": v for k, v in values.items() if k != "attempts"}
                shapes.setdefault(tuple(sorted(params)), []).append({"v_id": row_id, **params})
            for names, rows in shapes.items():
                sets: dict[str, Any] = {name[2:]: bindparam(name) for name in names}
                stmt = (
                    update(outbox)
                    .where(outbox.c.id == bindparam("v_id"))
                    .values(attempts=outbox.c.attempts + 1, **sets)
                )
                await conn.execute(stmt, rows)
            await conn.execute(insert(delivery_attempts), [_attempt_row(a) for _, _, a, _ in taken])

        error: BaseException | None = None
        try:
            await self._writer.run(job)
        except Exception as exc:  # handed to every caller in the batch
            error = exc
        if not taken:  # the job never ran (the store is closed): fail what is queued
            taken.extend(self._settling)
            self._settling.clear()
        for *_, future in taken:
            if not future.done():
                future.set_exception(error) if error else future.set_result(None)

    async def retry(self, row_id: int, now: datetime, entry: AuditEntry | None = None) -> bool:
        """Put a dead delivery back in the queue (audited in the same transaction); False unless it was dead."""
        stmt = (
            update(outbox)
            .where(and_(outbox.c.id == row_id, outbox.c.status == "dead"))
            .values(status="pending", next_attempt_ms=to_ms(now), claimed_until_ms=None)
        )

        async def job(conn: AsyncConnection) -> bool:
            result = await conn.execute(stmt)
            if result.rowcount:
                await audit.append(conn, entry)
            return bool(result.rowcount)

        return await self._writer.run(job)

    async def deliveries(
        self, *, status: str | None = None, group_key: str | None = None, limit: int = 100
    ) -> list[OutboxRow]:
        """Outbox rows, newest first, optionally filtered."""
        query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
        if status:
            query = query.where(outbox.c.status == status)
        if group_key:
            query = query.where(outbox.c.group_key == group_key)
        async with self._db.read() as conn:
            return [_outbox_from(r._mapping) for r in await conn.execute(query)]

    async def attempts(self, row_ids: Sequence[int]) -> list[Attempt]:
        """Every attempt of the given rows, oldest first."""
        if not row_ids:
            return []
        query = (
            select(delivery_attempts).where(delivery_attempts.c.outbox_id.in_(row_ids)).order_by(delivery_attempts.c.id)
        )
        async with self._db.read() as conn:
            return [
                Attempt(r.outbox_id, from_ms(r.at_ms), r.outcome, r.status_code, r.latency_ms, r.detail)
                for r in await conn.execute(query)
            ]

    async def counts(self) -> dict[str, int]:
        """Outbox rows by status."""
        query = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        async with self._db.read() as conn:
            return {status: int(n) for status, n in await conn.execute(query)}


def _last_per_fingerprint(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The last row of each fingerprint, in first-seen order: one statement may not upsert a key twice on PostgreSQL."""
    return list({row[0]: row for row in rows}.values())


def delivery_row(d: Delivery, now: datetime, due: datetime | None = None) -> dict[str, Any]:
    """An outbox row queued at `now`, due at `due` (default now); every enqueuer writes this shape."""
    return {
        "idempotency_key": d.idempotency_key,
        "group_key": d.group_key,
        "receiver": d.receiver,
        "integration": d.integration,
        "channel": d.channel,
        "reason": d.reason,
        "payload": d.payload,
        "status": "pending",
        "attempts": 0,
        "created_at_ms": to_ms(now),
        "next_attempt_ms": to_ms(due or now),
    }


def _attempt_row(a: Attempt) -> dict[str, Any]:
    return {
        "outbox_id": a.outbox_id,
        "at_ms": to_ms(a.at),
        "outcome": a.outcome,
        "status_code": a.status_code,
        "latency_ms": a.latency_ms,
        "detail": a.detail[:2000],
    }
