"""Retention: raw results for `raw_retention`, minute rows 8 days (never those not folded yet), hour rows 400,
day rows forever."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Table, delete, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.store.fold import watermark
from tocsin.store.stats import HORIZON_KEYS
from tocsin.store.tables import monitors, results, rollup_hour, rollup_minute, store_meta
from tocsin.store.times import to_ms
from tocsin.store.writer import Writer

MINUTE_RETENTION = timedelta(days=8)
HOUR_RETENTION = timedelta(days=400)
CHUNK_ROWS = 5000  # rows per delete transaction: result batches get the writer in between
MONITOR_GROUP = 200  # monitors per delete statement, so every delete walks the (monitor, time) key


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Rows strictly older than these go: raw by epoch ms, rollups by bucket start (epoch s)."""

    raw_ms: int
    minute_s: int
    hour_s: int


def cutoffs(now: datetime, raw_retention: timedelta) -> Cutoffs:
    """What `purge(now)` deletes."""
    return Cutoffs(
        raw_ms=to_ms(now - raw_retention),
        minute_s=to_ms(now - MINUTE_RETENTION) // 1000,
        hour_s=to_ms(now - HOUR_RETENTION) // 1000,
    )


async def purge(writer: Writer[Any], now: datetime, raw_retention: timedelta) -> dict[str, int]:
    """Delete expired rows in bounded chunks through the writer; counts per table."""
    limits = cutoffs(now, raw_retention)

    async def publish(conn: AsyncConnection) -> tuple[int, list[int]]:
        # Why: minute rows from the fold watermark on are in no hour or day row yet (store/fold.py).
        folded = await watermark(conn)
        minute_s = limits.minute_s if folded is None else min(limits.minute_s, folded)
        # Why first: readers stop planning windows on rollup rows before those rows vanish.
        await _raise_horizon(conn, HORIZON_KEYS["minute"], minute_s)
        await _raise_horizon(conn, HORIZON_KEYS["hour"], limits.hour_s)
        return minute_s, list((await conn.scalars(select(monitors.c.id).order_by(monitors.c.id))).all())

    minute_s, ids = await writer.run(publish)
    targets = (
        (results, results.c.at_ms, limits.raw_ms),
        (rollup_minute, rollup_minute.c.bucket, minute_s),
        (rollup_hour, rollup_hour.c.bucket, limits.hour_s),
    )
    return {table.name: await _purge_table(writer, table, col, cut, ids) for table, col, cut in targets}


async def _purge_table(writer: Writer[Any], table: Table, time: Column[int], cutoff: int, ids: Sequence[int]) -> int:
    deleted = 0
    for first in range(0, len(ids), MONITOR_GROUP):
        group = list(ids[first : first + MONITOR_GROUP])
        while True:
            count = await writer.run(
                lambda conn, g=group: _delete_chunk(conn, table, time, g, cutoff)  # type: ignore[misc]
            )
            deleted += count
            if count < CHUNK_ROWS:
                break
    return deleted


async def _delete_chunk(conn: AsyncConnection, table: Table, time: Column[int], ids: list[int], cutoff: int) -> int:
    keys = list(table.primary_key.columns)
    oldest = select(*keys).where(table.c.monitor_id.in_(ids), time < cutoff).limit(CHUNK_ROWS)
    target = keys[0] if len(keys) == 1 else tuple_(*keys)
    done = await conn.execute(delete(table).where(target.in_(oldest)))
    return int(done.rowcount)


async def _raise_horizon(conn: AsyncConnection, key: str, value: int) -> None:
    """Upsert a horizon, never moving it back."""
    if conn.dialect.name == "postgresql":
        stmt = postgresql.insert(store_meta).values(key=key, value=value)
        newer = func.greatest(store_meta.c.value, stmt.excluded.value)
        await conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": newer}))
    else:
        lite = sqlite.insert(store_meta).values(key=key, value=value)
        newest = func.max(store_meta.c.value, lite.excluded.value)
        await conn.execute(lite.on_conflict_do_update(index_elements=["key"], set_={"value": newest}))
