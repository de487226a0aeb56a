"""The `Store` facade: the one object the rest of tocsin uses to reach the database.

Reads run on pooled connections, concurrently. Every write goes through the single writer
task (see writer.py): results are batched, everything else runs as its own transaction on
the same task, in order, and is committed before the awaiting call returns.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.alerting.alert import Alert
from tocsin.checks.result import CheckResult
from tocsin.clock import SystemClock
from tocsin.store import events, fold, monitor_edits, monitors, results, retention, stats
from tocsin.store.access import AccessStore
from tocsin.store.access_records import AuditEntry
from tocsin.store.audit import append as append_audit
from tocsin.store.database import Database, StoreUnavailable
from tocsin.store.direct import DbapiWork
from tocsin.store.migrate import upgrade
from tocsin.store.records import (
    Bucket,
    MonitorDefinition,
    MonitorRecord,
    ResultWrite,
    StoredEvent,
    WindowStats,
)
from tocsin.store.results import Prepared
from tocsin.store.rollups import Resolution
from tocsin.store.tables import monitors as monitors_table
from tocsin.store.times import to_ms
from tocsin.store.writer import OnBatch, StoreClosed, Writer

__all__ = ["Store", "StoreClosed", "StoreUnavailable"]


def new_token() -> str:
    """A fresh heartbeat token: 24 random bytes, URL-safe."""
    return secrets.token_urlsafe(24)


class Store:
    """Monitors, check results, rollups and events in SQLite or PostgreSQL."""

    def __init__(
        self,
        db: Database,
        raw_retention: timedelta,
        on_batch: OnBatch | None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._db = db
        self.raw_retention = raw_retention
        self._now = now or SystemClock().now
        self._writer: Writer[Prepared] = Writer(db, self._batch_work, on_batch=on_batch)
        self._ids: dict[str, int] = {}  # monitor name -> id; ids never change (no deletes)
        self._closed = False
        self.access = AccessStore(db, self._writer)

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        raw_retention: timedelta = timedelta(days=14),
        migrate: bool = True,
        on_batch: Callable[[int, float], None] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> Store:
        """Connect (StoreUnavailable if not possible), migrate to head if asked, start the writer; `now` is the
        clock batches are written by (the wall clock unless given)."""
        db = Database(url)
        store = cls(db, raw_retention, on_batch, now)
        try:
            await db.check()
            store._writer.start()
            if migrate:
                await store.migrate()
                await store._load_ids()
        except BaseException:
            await store.close()
            raise
        return store

    def _batch_work(self, items: list[Prepared]) -> DbapiWork[None]:
        return results.batch_work(self._db.engine.dialect, items, self._now())

    @property
    def url(self) -> str:
        """The database URL with its password hidden."""
        return self._db.redacted

    @property
    def database(self) -> Database:
        """The connection pool, for repositories built on this store (e.g. alerting)."""
        return self._db

    @property
    def writer(self) -> Writer[Prepared]:
        """The single writer every write goes through."""
        return self._writer

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._db.dialect

    async def migrate(self) -> None:
        """Bring the schema to the newest revision shipped with this tocsin."""
        await self._writer.run(upgrade)

    async def close(self) -> None:
        """Commit pending writes, stop the writer and close every connection."""
        if self._closed:
            return
        self._closed = True
        await self._writer.close()
        await self._db.dispose()

    # monitors

    async def sync_monitors(
        self, defs: Sequence[MonitorDefinition], source: str = "config"
    ) -> dict[str, MonitorRecord]:
        """Register `defs` under `source` (state kept) and mark that source's other monitors removed."""
        records = await self._writer.run(lambda c: monitors.sync(c, defs, source, new_token))
        self._remember(records.values())
        return records

    async def list_monitors(self, include_removed: bool = False) -> list[MonitorRecord]:
        """Every monitor, by name."""
        async with self._db.read() as conn:
            found = await monitors.fetch(conn, include_removed=include_removed)
        return self._remember(found)

    async def get_monitor(self, name: str) -> MonitorRecord | None:
        """One monitor by name (removed ones too), or None."""
        async with self._db.read() as conn:
            found = self._remember(await monitors.fetch(conn, name=name))
        return found[0] if found else None

    async def monitor_by_token(self, token: str) -> MonitorRecord | None:
        """The live (not removed) heartbeat monitor owning `token`, or None."""
        async with self._db.read() as conn:
            found = await monitors.fetch(conn, token=token, include_removed=False)
        return self._remember(found)[0] if found else None

    async def set_paused(self, name: str, paused: bool, audit: AuditEntry | None = None) -> bool:
        """Pause or resume a monitor (audited in the same transaction); False if there is no such monitor."""

        async def job(conn: AsyncConnection) -> bool:
            done = await monitors.set_paused(conn, name, paused)
            if done:
                await append_audit(conn, audit)
            return done

        return await self._writer.run(job)

    async def create_monitor(self, definition: MonitorDefinition, audit: AuditEntry | None) -> MonitorRecord:
        """Add a monitor defined through the API (MonitorConflict if the name is taken)."""
        return await self._edit(lambda c: monitor_edits.create(c, definition, new_token), audit)

    async def replace_monitor(self, definition: MonitorDefinition, audit: AuditEntry | None) -> MonitorRecord:
        """Replace an API monitor's spec, state kept (MonitorMissing, or MonitorConflict for config ones)."""
        return await self._edit(lambda c: monitor_edits.replace(c, definition, new_token), audit)

    async def delete_monitor(self, name: str, audit: AuditEntry | None) -> MonitorRecord:
        """Remove an API monitor, history kept (MonitorMissing, or MonitorConflict for config ones)."""
        return await self._edit(lambda c: monitor_edits.remove(c, name), audit)

    async def _edit(
        self, change: Callable[[AsyncConnection], Awaitable[MonitorRecord]], audit: AuditEntry | None
    ) -> MonitorRecord:
        async def job(conn: AsyncConnection) -> MonitorRecord:
            record = await change(conn)
            await append_audit(conn, audit)
            return record

        record = await self._writer.run(job)
        self._remember([record])
        return record

    async def record_ping(self, name: str, kind: Literal["ping", "start", "fail"], at: datetime) -> None:
        """Commit a heartbeat signal (`fail` only checks the monitor exists); KeyError if unknown."""
        await self._writer.run(lambda c: monitors.record_ping(c, name, kind, at))

    # results

    def enqueue(self, writes: Sequence[ResultWrite]) -> None:
        """Queue results for the next batch without waiting; KeyError for a monitor never synced."""
        self._writer.enqueue([(self._ids[w.result.monitor], w) for w in writes])

    async def write(self, writes: Sequence[ResultWrite]) -> None:
        """Queue results and return once the batch holding them is committed."""
        await self._writer.write([(await self._id(w.result.monitor), w) for w in writes])

    async def flush(self) -> None:
        """Return once everything queued so far is committed."""
        await self._writer.flush()

    async def recent_results(self, name: str, limit: int = 50, before: datetime | None = None) -> list[CheckResult]:
        """Raw results newest first; page with `before` = the oldest `at` of the previous page."""
        await self._caught_up()
        async with self._db.read() as conn:
            return await results.recent(conn, name, limit, before)

    async def recent_failures(self, name: str, limit: int = 20) -> list[CheckResult]:
        """Raw results that were not up, newest first."""
        await self._caught_up()
        async with self._db.read() as conn:
            return await results.recent(conn, name, limit, failures_only=True)

    async def window_stats(self, name: str, since: datetime, until: datetime) -> WindowStats:
        """Counts and latency over a window, from rollups (see docs/storage.md for alignment)."""
        return (await self.many_window_stats([name], since, until))[name]

    async def many_window_stats(self, names: Sequence[str], since: datetime, until: datetime) -> dict[str, WindowStats]:
        """`window_stats` for many monitors in one query."""
        await self._caught_up()
        async with self._db.read() as conn:
            return await stats.many_window_stats(conn, names, since, until)

    async def buckets(self, name: str, since: datetime, until: datetime, resolution: Resolution) -> list[Bucket]:
        """Stored rollup rows overlapping the window, oldest first (missing = no results)."""
        await self._caught_up()
        async with self._db.read() as conn:
            return await stats.buckets(conn, name, since, until, resolution)

    # events

    async def record_event(self, alert: Alert, source: str) -> StoredEvent:
        """Commit one alert event and return it as stored."""
        return await self._writer.run(lambda c: events.record(c, alert, source))

    async def recent_events(self, limit: int = 100) -> list[StoredEvent]:
        """The latest events, newest first."""
        async with self._db.read() as conn:
            return await events.recent(conn, limit)

    # housekeeping

    async def fold_rollups(self, now: datetime) -> int:
        """Fold minute rollups into hour and day rows as far as `now` allows, a transaction per step
        (store/fold.py); the fold watermark after, epoch s."""
        now_s = to_ms(now) // 1000
        while True:
            before, after = await self._writer.run(lambda conn: fold.fold(conn, now_s))
            if before is None or after >= fold.target(now_s, after):
                return after

    async def purge(self, now: datetime) -> dict[str, int]:
        """Delete rows past retention in bounded chunks; counts per table."""
        return await retention.purge(self._writer, now, self.raw_retention)

    # internals

    def _remember(self, records: Iterable[MonitorRecord]) -> list[MonitorRecord]:
        found = list(records)
        self._ids.update((r.name, r.id) for r in found)
        return found

    async def _caught_up(self) -> None:
        """Read your writes: results still lingering for a batch are committed before a read of results."""
        if self.writer.pending:
            await self.writer.flush()

    async def _id(self, name: str) -> int:
        if name not in self._ids and await self.get_monitor(name) is None:
            raise KeyError(name)
        return self._ids[name]

    async def _load_ids(self) -> None:
        query = select(monitors_table.c.name, monitors_table.c.id)
        async with self._db.read() as conn:
            self._ids.update((name, monitor_id) for name, monitor_id in await conn.execute(query))
