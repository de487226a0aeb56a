"""Persistence of SLOs: input counts per minute, SLI counts per hour, event keys, evaluator state.

Every write goes through the store's single writer (one transaction per call), so pushed
events are committed before the API answers. Reads name SLOs and monitors in groups of
`GROUP`, so every read walks the (name, time) primary key.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.store.fold import settled
from tocsin.store.rollups import HISTOGRAM_COLUMNS, ceil_to
from tocsin.store.slo_tables import slo_event_keys, slo_hours, slo_minutes, slo_state
from tocsin.store.sql import insert_for, upsert
from tocsin.store.stats import horizons
from tocsin.store.store import Store
from tocsin.store.tables import monitors, rollup_hour, rollup_minute
from tocsin.store.times import to_ms

GROUP = 500  # names per statement: bounded IN lists (SQLite caps parameters) that still use the key
MINUTE_RETENTION = timedelta(days=8)
KEY_RETENTION = timedelta(days=7)
Counts = tuple[int, float, float]  # (minute, good, total)


@dataclass(frozen=True, slots=True)
class EventItem:
    """One pushed batch of counts, identified by the client's idempotency key."""

    key: str
    good: float
    total: float


@dataclass(frozen=True, slots=True)
class SloState:
    """What the evaluator keeps per SLO across restarts."""

    data_key: str
    hours_start: int
    hours_end: int
    firing: dict[str, Any] | None = None  # {"tier", "labels", "starts_at_ms"} of the alert sent


@dataclass(frozen=True, slots=True)
class MonitorRow:
    """One rollup row of a monitor: counts by outcome and the latency histogram."""

    time: int  # minute number of the bucket start
    total: int
    up: int
    degraded: int
    histogram: tuple[int, ...]


async def _rollup_rows(
    conn: AsyncConnection, table: Table, names: Sequence[str], start_s: int, end_s: int
) -> dict[str, list[MonitorRow]]:
    t = table.c
    columns = [monitors.c.name, t.bucket, t.total, t.up, t.degraded, *(t[h] for h in HISTOGRAM_COLUMNS)]
    out: dict[str, list[MonitorRow]] = {}
    for group in _groups(names):
        query = (
            select(*columns)
            .select_from(table.join(monitors, monitors.c.id == t.monitor_id))
            .where(monitors.c.name.in_(group), t.bucket >= start_s, t.bucket < end_s)
            .order_by(t.bucket)
        )
        for name, bucket, total, up, degraded, *hist in await conn.execute(query):
            out.setdefault(name, []).append(MonitorRow(bucket // 60, total, up, degraded, tuple(hist)))
    return out


def _add_into_hours(hours: dict[str, list[MonitorRow]], minutes: dict[str, list[MonitorRow]]) -> None:
    """Add minute rows into the hour rows of their monitors (a row made for an hour that has none), in place."""
    for name, rows in minutes.items():
        by_hour = {row.time: row for row in hours.get(name, [])}
        for row in rows:
            hour = row.time - row.time % 60
            found = by_hour.get(hour)
            by_hour[hour] = replace(row, time=hour) if found is None else _plus(found, row)
        hours[name] = [by_hour[hour] for hour in sorted(by_hour)]


def _plus(a: MonitorRow, b: MonitorRow) -> MonitorRow:
    histogram = tuple(x + y for x, y in zip(a.histogram, b.histogram, strict=True))
    return MonitorRow(a.time, a.total + b.total, a.up + b.up, a.degraded + b.degraded, histogram)


def _groups(names: Sequence[str]) -> Iterator[list[str]]:
    unique = list(dict.fromkeys(names))
    for first in range(0, len(unique), GROUP):
        yield unique[first : first + GROUP]


class SloStore:
    """The SLO evaluator's view of the store: reads on the pool, writes through the one writer."""

    def __init__(self, store: Store) -> None:
        self._db, self._writer = store.database, store.writer

    # pushed events and Prometheus minutes

    async def add_events(self, slo: str, items: Sequence[EventItem], minute: int, now: datetime) -> int:
        """Add the counts of items whose key is new to `minute`; returns how many were new."""
        first: dict[str, EventItem] = {}
        for item in items:
            first.setdefault(item.key, item)
        if not first:
            return 0

        async def job(conn: AsyncConnection) -> int:
            rows = [{"slo": slo, "key": k, "at_ms": to_ms(now)} for k in first]
            stmt = insert_for(conn, slo_event_keys).values(rows).on_conflict_do_nothing()
            fresh = [first[k] for k in (await conn.execute(stmt.returning(slo_event_keys.c.key))).scalars()]
            if fresh:
                await _add_minute(conn, slo, minute, sum(i.good for i in fresh), sum(i.total for i in fresh))
            return len(fresh)

        return await self._writer.run(job)

    async def put_minutes(self, slo: str, rows: Sequence[Counts]) -> None:
        """Store (replace) input counts of minutes, e.g. polled from Prometheus."""
        if not rows:
            return
        values = [{"slo": slo, "minute": m, "good": g, "total": t} for m, g, t in rows]

        async def job(conn: AsyncConnection) -> None:
            await conn.execute(upsert(conn, slo_minutes, ["slo", "minute"]), values)

        await self._writer.run(job)

    async def minutes(self, slos: Sequence[str], start: int, end: int) -> dict[str, list[Counts]]:
        """Input counts of minutes in [start, end) per SLO, oldest first."""
        out: dict[str, list[Counts]] = {}
        c = slo_minutes.c
        async with self._db.read() as conn:
            for group in _groups(slos):
                query = select(c.slo, c.minute, c.good, c.total).where(
                    c.slo.in_(group), c.minute >= start, c.minute < end
                )
                for slo, minute, good, total in await conn.execute(query.order_by(c.slo, c.minute)):
                    out.setdefault(slo, []).append((minute, good, total))
        return out

    async def last_minute(self, slo: str) -> int | None:
        """The newest stored input minute of an SLO, or None."""
        async with self._db.read() as conn:
            found = await conn.scalar(select(func.max(slo_minutes.c.minute)).where(slo_minutes.c.slo == slo))
        return None if found is None else int(found)

    # monitor rollups

    async def minute_horizon(self) -> int:
        """The first minute whose monitor minute rollups are still kept (0: none purged yet)."""
        async with self._db.read() as conn:
            return -(-(await horizons(conn)).minute // 60)

    async def monitor_rows(
        self, names: Sequence[str], start: int, end: int, *, hours: bool = False
    ) -> dict[str, list[MonitorRow]]:
        """Minute (or hour) rollup rows of monitors with bucket start in minutes [start, end); hour rows from the
        fold watermark on include the minutes not folded into them yet (store/fold.py)."""

        # minutes not folded yet of the hours starting in the range, whole hours
        first, last = ceil_to(start * 60, 3600), ceil_to(end * 60, 3600)

        async def read(conn: AsyncConnection, folded: int | None) -> dict[str, list[MonitorRow]]:
            rows = await _rollup_rows(conn, rollup_hour if hours else rollup_minute, names, start * 60, end * 60)
            if folded is not None and folded < last:
                minutes = await _rollup_rows(conn, rollup_minute, names, max(first, folded), last)
                _add_into_hours(rows, minutes)
            return rows

        async with self._db.read() as conn:
            if not hours:
                return await read(conn, None)
            return await settled(conn, lambda folded: read(conn, folded), last)

    # SLI hours

    async def put_hours(self, rows: Sequence[tuple[str, int, float, float]]) -> None:
        """Store (replace) SLI counts of hours: (slo, hour minute, good, total)."""
        if not rows:
            return
        values = [{"slo": s, "hour": h, "good": g, "total": t} for s, h, g, t in rows]

        async def job(conn: AsyncConnection) -> None:
            await conn.execute(upsert(conn, slo_hours, ["slo", "hour"]), values)

        await self._writer.run(job)

    async def hours(self, slos: Sequence[str], start: int, end: int) -> dict[str, list[Counts]]:
        """SLI counts of hours starting in minutes [start, end) per SLO, oldest first."""
        out: dict[str, list[Counts]] = {}
        c = slo_hours.c
        async with self._db.read() as conn:
            for group in _groups(slos):
                query = select(c.slo, c.hour, c.good, c.total).where(c.slo.in_(group), c.hour >= start, c.hour < end)
                for slo, hour, good, total in await conn.execute(query.order_by(c.slo, c.hour)):
                    out.setdefault(slo, []).append((hour, good, total))
        return out

    # evaluator state

    async def states(self) -> dict[str, SloState]:
        """The stored state of every SLO ever evaluated."""
        async with self._db.read() as conn:
            rows = await conn.execute(select(slo_state))
            return {
                r.slo: SloState(r.data_key, r.hours_start, r.hours_end, dict(r.firing) if r.firing else None)
                for r in rows
            }

    async def save_states(self, states: dict[str, SloState], now: datetime) -> None:
        """Insert or replace the state of SLOs."""
        if not states:
            return
        rows = [
            {
                "slo": name,
                "data_key": s.data_key,
                "hours_start": s.hours_start,
                "hours_end": s.hours_end,
                "firing": s.firing,
                "updated_ms": to_ms(now),
            }
            for name, s in states.items()
        ]

        async def job(conn: AsyncConnection) -> None:
            await conn.execute(upsert(conn, slo_state, ["slo"]), rows)

        await self._writer.run(job)

    async def reset(self, slos: Sequence[str]) -> None:
        """Forget the stored SLI hours and state of SLOs whose definition changed or that are gone."""
        if not slos:
            return

        async def job(conn: AsyncConnection) -> None:
            for group in _groups(slos):
                await conn.execute(delete(slo_hours).where(slo_hours.c.slo.in_(group)))
                await conn.execute(delete(slo_state).where(slo_state.c.slo.in_(group)))

        await self._writer.run(job)

    async def purge(self, now: datetime) -> dict[str, int]:
        """Delete input minutes older than 8 days and idempotency keys older than 7 days."""
        cutoff = to_ms(now - MINUTE_RETENTION) // 60_000

        async def job(conn: AsyncConnection) -> dict[str, int]:
            old = await conn.execute(delete(slo_minutes).where(slo_minutes.c.minute < cutoff))
            keys = await conn.execute(delete(slo_event_keys).where(slo_event_keys.c.at_ms < to_ms(now - KEY_RETENTION)))
            return {"slo_minutes": int(old.rowcount or 0), "slo_event_keys": int(keys.rowcount or 0)}

        return await self._writer.run(job)


async def _add_minute(conn: AsyncConnection, slo: str, minute: int, good: float, total: float) -> None:
    """Add counts to one minute row (created if absent)."""
    stmt = insert_for(conn, slo_minutes).values(slo=slo, minute=minute, good=good, total=total)
    update = {"good": slo_minutes.c.good + stmt.excluded.good, "total": slo_minutes.c.total + stmt.excluded.total}
    await conn.execute(stmt.on_conflict_do_update(index_elements=["slo", "minute"], set_=update))


class ReadOnlySloStore(SloStore):
    """A SloStore that never writes SLI hours or state (for `tocsin slo status` next to a running server)."""

    async def put_hours(self, rows: Sequence[tuple[str, int, float, float]]) -> None:
        """Do nothing."""

    async def save_states(self, states: dict[str, SloState], now: datetime) -> None:
        """Do nothing."""

    async def reset(self, slos: Sequence[str]) -> None:
        """Do nothing."""
