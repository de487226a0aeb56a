"""Reading the daily result counts a status page's bars show: every monitor of the page in one query.

Only the four counts are read (not the latency histogram), and rows come back as plain
tuples keyed by monitor name, so a page of 100 components and 90 days costs one indexed
query instead of one per component (bench/statuspage.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from tocsin.store.database import Database
from tocsin.store.rollups import floor_to
from tocsin.store.stats import window_seconds
from tocsin.store.tables import monitors, rollup_day

DAY_SECONDS = 86400
CHUNK = 500  # names per IN (...) list, well under every backend's parameter limit

DayCounts = tuple[int, int, int, int, int]  # day start (epoch seconds, UTC), total, up, degraded, down


async def daily_counts(
    db: Database, names: Iterable[str], since: datetime, until: datetime
) -> dict[str, list[DayCounts]]:
    """Daily counts of each named monitor for the days overlapping `[since, until)`, oldest first per monitor."""
    wanted = sorted(set(names))
    since_s, until_s = window_seconds(since, until)
    t = rollup_day.c
    out: dict[str, list[DayCounts]] = {}
    async with db.read() as conn:
        for start in range(0, len(wanted), CHUNK):
            query = (
                select(monitors.c.name, t.bucket, t.total, t.up, t.degraded, t.down)
                .join(monitors, monitors.c.id == t.monitor_id)
                .where(
                    monitors.c.name.in_(wanted[start : start + CHUNK]),
                    t.bucket >= floor_to(since_s, DAY_SECONDS),
                    t.bucket < until_s,
                )
                .order_by(t.monitor_id, t.bucket)
            )
            for row in await conn.execute(query):
                out.setdefault(row[0], []).append(row[1:])
    return out
