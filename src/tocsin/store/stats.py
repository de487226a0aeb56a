"""Reads over rollups (never raw rows): window statistics and chart buckets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.store.fold import FOLDED_UNTIL, settled
from tocsin.store.records import Bucket, WindowStats
from tocsin.store.rollups import (
    SIZE,
    VALUE_COLUMNS,
    Horizons,
    Resolution,
    Span,
    Vector,
    add_into,
    bucket_of,
    ceil_to,
    empty_vector,
    floor_to,
    plan,
    stats_of,
)
from tocsin.store.tables import ROLLUPS, monitors, store_meta
from tocsin.store.times import from_s, to_ms

HORIZON_KEYS: dict[Resolution, str] = {
    "minute": "rollup_minute_kept_from",
    "hour": "rollup_hour_kept_from",
}
# Past this many names one unfiltered GROUP BY is cheaper than a huge IN list (and SQLite
# caps bound parameters), so the monitor list page reads every monitor and picks.
MAX_NAMES_FILTERED = 500


def window_seconds(since: datetime, until: datetime) -> tuple[int, int]:
    """The window in whole epoch seconds, widened outwards."""
    return to_ms(since) // 1000, -(-to_ms(until) // 1000)


async def horizons(conn: AsyncConnection) -> Horizons:
    """How far back minute and hour rows are still kept (written by purge before it deletes), and the fold
    watermark (store/fold.py)."""
    keys = [*HORIZON_KEYS.values(), FOLDED_UNTIL]
    rows = await conn.execute(select(store_meta.c.key, store_meta.c.value).where(store_meta.c.key.in_(keys)))
    kept = {key: int(value) for key, value in rows}
    minute, hour = kept.get(HORIZON_KEYS["minute"], 0), kept.get(HORIZON_KEYS["hour"], 0)
    return Horizons(minute=minute, hour=hour, folded=kept.get(FOLDED_UNTIL))


async def many_window_stats(
    conn: AsyncConnection, names: Sequence[str], since: datetime, until: datetime
) -> dict[str, WindowStats]:
    """Window stats of many monitors in one query; see `rollups.plan` for which rows are read."""
    if not names or since >= until:
        return {name: WindowStats(since=since, until=until) for name in names}
    start, end, spans = plan(*window_seconds(since, until), await horizons(conn))
    wanted = list(dict.fromkeys(names))
    totals = await _span_totals(conn, spans, wanted if len(wanted) <= MAX_NAMES_FILTERED else None)
    first, last = from_s(start), from_s(end)
    return {name: stats_of(totals.get(name) or empty_vector(), first, last) for name in wanted}


async def _span_totals(conn: AsyncConnection, spans: Sequence[Span], names: list[str] | None) -> dict[str, Vector]:
    parts = [_span_query(span, names) for span in spans]
    query = parts[0] if len(parts) == 1 else union_all(*parts)
    totals: dict[str, Vector] = {}
    for row in await conn.execute(query):
        add_into(totals.setdefault(row[0], empty_vector()), row[1:])
    return totals


def _span_query(span: Span, names: list[str] | None) -> Select[*tuple[Any, ...]]:
    table = ROLLUPS[span.resolution]
    query = (
        select(monitors.c.name, *(func.sum(table.c[c]) for c in VALUE_COLUMNS))
        .select_from(table.join(monitors, monitors.c.id == table.c.monitor_id))
        .where(table.c.bucket >= span.start, table.c.bucket < span.end)
        .group_by(monitors.c.name)
    )
    return query if names is None else query.where(monitors.c.name.in_(names))


async def buckets(
    conn: AsyncConnection, name: str, since: datetime, until: datetime, resolution: Resolution
) -> list[Bucket]:
    """Stored rows overlapping `[since, until)`, oldest first; a missing bucket had no results.

    Hour and day buckets from the fold watermark on add the minute rows not folded into them yet."""
    since_s, until_s = window_seconds(since, until)
    size = SIZE[resolution]
    first, end = floor_to(since_s, size), ceil_to(until_s, size)  # a bucket overlapping the window is whole

    async def read(folded: int | None) -> list[Bucket]:
        vectors: dict[int, Vector] = {}
        for start, *values in await conn.execute(_bucket_query(resolution, name, first, until_s)):
            vectors[start] = list(values)
        if folded is not None and folded < end:
            for start, *values in await conn.execute(_bucket_query("minute", name, max(first, folded), end)):
                add_into(vectors.setdefault(floor_to(start, size), empty_vector()), values)
        return [bucket_of(start, vectors[start]) for start in sorted(vectors)]

    if resolution == "minute":
        return await read(None)
    return await settled(conn, read, end)


def _bucket_query(resolution: Resolution, name: str, start: int, end: int) -> Select[*tuple[Any, ...]]:
    table = ROLLUPS[resolution]
    return (
        select(table.c.bucket, *(table.c[c] for c in VALUE_COLUMNS))
        .join(monitors, monitors.c.id == table.c.monitor_id)
        .where(monitors.c.name == name, table.c.bucket >= start, table.c.bucket < end)
        .order_by(table.c.bucket)
    )
