"""Persistence of the alert pipeline: alerts, silences, group timers, notification log, outbox.

Every write goes through the store's single writer (one transaction per call), so an
accepted alert or an enqueued notification is committed before the caller goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.alerting.alert import Alert
from tocsin.alerting.dispatch import GroupTimer
from tocsin.alerting.silence import Silence
from tocsin.labels import Matcher
from tocsin.pipeline.dedup import LogEntry
from tocsin.store import audit
from tocsin.store.access_records import AuditEntry
from tocsin.store.alert_tables import alert_groups, alerts, delivery_attempts, notification_log, outbox, silences
from tocsin.store.alert_writes import DriverSQL, driver_sql
from tocsin.store.batcher import Batcher
from tocsin.store.direct import INLINE_ROWS, DbapiWork
from tocsin.store.sql import upsert
from tocsin.store.store import Store
from tocsin.store.times import from_ms, opt_from_ms, to_ms

LOG_CACHE_SIZE = 100_000  # notification log entries remembered (least recently used dropped first)


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


def _alert_row(stored: StoredAlert) -> tuple[Any, ...]:
    """An alert as driver parameters in alert_writes.ALERT_FIELDS order, label maps pre-serialised with orjson."""
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
        dialect = store.database.engine.dialect
        self._sql: Callable[[str], DriverSQL] = lambda name: driver_sql(dialect, name)
        self._saves: Batcher[list[tuple[Any, ...]], None] = Batcher(store.writer, self._save_work, len)
        # Rows per item, for inline-or-thread (store/direct.py): an enqueue is a log row and an outbox row,
        # a settle an outbox update and an attempt row.
        self._enqueues: Batcher[_Enqueued, int | None] = Batcher(store.writer, self._enqueue_work, lambda _: 2)
        self._settles: Batcher[_Settled, None] = Batcher(store.writer, self._settle_work, lambda _: 2)
        # What was last notified per (group, receiver, integration), as committed: the dedup stage
        # reads it on every flush. Only the dispatching node's engine writes the log (enqueue).
        self._log: dict[tuple[str, str, int], LogEntry | None] = {}
        self._logged: set[tuple[str, str, int]] | None = None  # every key the log holds, read once
        self._written: set[tuple[str, str, int]] = set()  # keys enqueued before that read

    # alerts

    async def save_alerts(self, stored: Sequence[StoredAlert]) -> None:
        """Insert or replace alerts by fingerprint, committed before returning.

        Concurrent saves share one transaction (batcher.py): one executemany, in order, the
        last row of a fingerprint winning.
        """
        if stored:
            await self._saves.submit([_alert_row(s) for s in stored])

    def _save_work(self, chunks: list[list[tuple[Any, ...]]]) -> DbapiWork[list[None]]:
        stmt = self._sql("alert_upsert")
        rows = _last_per_fingerprint([row for chunk in chunks for row in chunk])

        def work(conn: Any) -> list[None]:
            conn.cursor().executemany(stmt.sql, rows)
            return [None] * len(chunks)

        return work

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
        if not (changed or dropped or replace):
            return
        rows = [(t.key, round(t.next_flush * 1000), t.has_flushed) for t in changed]
        upsert_sql, delete_sql = self._sql("timer_upsert").sql, self._sql("timer_delete").sql
        clear = f"DELETE FROM {alert_groups.name}"

        def work(conn: Any) -> None:
            cursor = conn.cursor()
            if replace:
                cursor.execute(clear)
            elif dropped:
                cursor.executemany(delete_sql, [(key,) for key in dropped])
            if rows:
                cursor.executemany(upsert_sql, rows)

        small = not replace and len(rows) + len(dropped) <= INLINE_ROWS
        await self._writer.run_dbapi(lambda: work, lambda: small)

    async def load_timers(self) -> list[GroupTimer]:
        """The persisted group timers."""
        async with self._db.read() as conn:
            rows = await conn.execute(select(alert_groups))
            return [GroupTimer(r.key, r.next_flush_ms / 1000, bool(r.has_flushed)) for r in rows]

    # notification log and outbox

    async def log_entry(self, group_key: str, receiver: str, integration: int) -> LogEntry | None:
        """What was last notified for a group and integration (remembered once read or written).

        Why the key set: every new group is looked up before its first notification; knowing
        which keys the log holds answers those without a query.
        """
        key = (group_key, receiver, integration)
        if key in self._log:
            return self._log[key]
        if self._logged is None:
            loaded = await self._log_keys()
            self._logged = loaded | self._written  # with keys committed while it was read
        entry = await self._read_log(key) if key in self._logged else None
        self._remember(key, entry)
        return entry

    async def _log_keys(self) -> set[tuple[str, str, int]]:
        c = notification_log.c
        async with self._db.read() as conn:
            rows = await conn.execute(select(c.group_key, c.receiver, c.integration))
            return {(r.group_key, r.receiver, r.integration) for r in rows}

    async def _read_log(self, key: tuple[str, str, int]) -> LogEntry | None:
        c = notification_log.c
        query = select(notification_log).where(
            and_(c.group_key == key[0], c.receiver == key[1], c.integration == key[2])
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return LogEntry(frozenset(row.firing), frozenset(row.resolved), from_ms(row.sent_at_ms))

    def _remember(self, key: tuple[str, str, int], entry: LogEntry | None) -> None:
        log = self._log
        log.pop(key, None)  # re-inserted last: the dict's order is least recently used first
        log[key] = entry
        if len(log) > LOG_CACHE_SIZE:
            del log[next(iter(log))]

    async def enqueue(
        self,
        key: tuple[str, str, int],
        entry: LogEntry,
        delivery: Delivery | None,
        now: datetime,
        claim_ms: int | None = None,
        claimed_from: datetime | None = None,
    ) -> OutboxRow | None:
        """Record what is being notified and (if anything is sent) its outbox row, in one transaction.

        With `claim_ms` the row is inserted already claimed for that long from `claimed_from`
        (default `now`), and returned, so the caller hands it straight to its delivery worker: no
        claim round, and a crash before the delivery settles leaves a pending row that is due
        again once the claim runs out.
        """
        log_row = (key[0], key[1], key[2], _json_list(entry.firing), _json_list(entry.resolved), to_ms(entry.at))
        claim_from_ms = to_ms(claimed_from or now)
        row_id = await self._enqueues.submit(_Enqueued(log_row, delivery, to_ms(now), claim_ms, claim_from_ms))
        (self._written if self._logged is None else self._logged).add(key)
        self._remember(key, entry)
        if delivery is None or row_id is None or claim_ms is None:
            return None
        return OutboxRow(row_id, delivery, "pending", 0, now, now, None, None)

    def _enqueue_work(self, items: list[_Enqueued]) -> DbapiWork[list[int | None]]:
        log_sql, insert_sql = self._sql("log_upsert").sql, self._sql("outbox_insert").sql
        log_rows = list({row[:3]: row for row in (item.log_row for item in items)}.values())
        outbox_rows = [
            _outbox_row(i.delivery, i.now_ms, i.claim_ms, i.claim_from_ms) if i.delivery else None for i in items
        ]

        def work(conn: Any) -> list[int | None]:
            cursor = conn.cursor()
            cursor.executemany(log_sql, log_rows)
            ids: list[int | None] = []
            for row in outbox_rows:
                if row is None:
                    ids.append(None)
                    continue
                cursor.execute(insert_sql, row)
                ids.append(int(cursor.fetchone()[0]))
            return ids

        return work

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
        """Record an attempt and the row's new state (delivered, pending with a next try, or dead).

        Why batched: the outbox worker settles a claimed batch concurrently; one transaction per
        row made settling, not sending, the limit of a large fan-out (10k subscriber emails).
        """
        row = (
            status,
            None if next_attempt is None else to_ms(next_attempt),
            None,  # the claim ends
            to_ms(attempt.at) if status == "delivered" else None,
            None if attempt.outcome == "delivered" else attempt.detail,
            row_id,
        )
        await self._settles.submit(_Settled(row, _attempt_row(attempt)))

    def _settle_work(self, items: list[_Settled]) -> DbapiWork[list[None]]:
        settle_sql, attempt_sql = self._sql("settle").sql, self._sql("attempt_insert").sql
        rows, attempts = [i.row for i in items], [i.attempt for i in items]

        def work(conn: Any) -> list[None]:
            cursor = conn.cursor()
            cursor.executemany(settle_sql, rows)
            cursor.executemany(attempt_sql, attempts)
            return [None] * len(items)

        return work

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


def _attempt_row(a: Attempt) -> tuple[Any, ...]:
    """An attempt as driver parameters in alert_writes.ATTEMPT_FIELDS order."""
    return (a.outbox_id, to_ms(a.at), a.outcome, a.status_code, a.latency_ms, a.detail[:2000])


def _outbox_row(d: Delivery, now_ms: int, claim_ms: int | None, claim_from_ms: int) -> tuple[Any, ...]:
    """An outbox row due now, in alert_writes.OUTBOX_FIELDS order, claimed from `claim_from_ms` for `claim_ms`
    when given."""
    claimed_until = None if claim_ms is None else claim_from_ms + claim_ms
    return (
        d.idempotency_key,
        d.group_key,
        d.receiver,
        d.integration,
        d.channel,
        d.reason,
        orjson.dumps(d.payload).decode(),
        "pending",
        0,
        now_ms,
        now_ms,
        claimed_until,
    )


def _json_list(items: frozenset[str]) -> str:
    return orjson.dumps(sorted(items)).decode()


@dataclass(frozen=True, slots=True)
class _Enqueued:
    """One enqueue waiting for its batch: the log row, and the delivery to queue if any."""

    log_row: tuple[Any, ...]
    delivery: Delivery | None
    now_ms: int
    claim_ms: int | None
    claim_from_ms: int  # the claim starts here: the wall clock when it is past the flush's logical time


@dataclass(frozen=True, slots=True)
class _Settled:
    """One settle waiting for its batch: the outbox update and the attempt row."""

    row: tuple[Any, ...]
    attempt: tuple[Any, ...]
