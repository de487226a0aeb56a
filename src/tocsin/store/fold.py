"""Folding minute rollups into hour and day rows, a few minutes at a time, off the results hot path.

Why: a results batch used to upsert three rollup rows per result (minute, hour, day). The hour
and day upserts were a quarter of the store's CPU per check (bench/RESULTS.md, issue 2), yet
nothing reads an hour or a day row before its minutes are over. So batches write minute rows,
and every `STEP` seconds one transaction adds the minutes of `[W, W')` to their hour and day
rows with two set-based upserts, then moves the watermark `W` (store_meta `FOLDED_UNTIL`).

The invariant every reader relies on: an hour or day row holds exactly its minutes before
`W`. A batch keeps it by reading `W` in its own transaction (PostgreSQL: `FOR SHARE`, so a
fold on another node waits for it, and it for the fold) and writing hour and day rows only for
results before `W` (late results); the fold takes the same row `FOR UPDATE`. Readers add the
minute rows from `W` on (rollups.plan, stats.buckets, status_rollups, slo.monitor_rows), and
minute retention never deletes them. Until the first fold the watermark is `NOT_STARTED`, later
than every minute: batches write every resolution, as before, and readers use hour and day
rows as they are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import Insert, Select, bindparam, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.store.rollups import (
    DAY,
    HOUR,
    MINUTE,
    PAST_DAY_WRITES,
    VALUE_COLUMNS,
    Resolution,
    ceil_to,
    floor_to,
    past_day_cutoff,
)
from tocsin.store.tables import ROLLUPS, monitors, rollup_minute, store_meta

FOLDED_UNTIL = "rollup_folded_until"  # store_meta key: epoch s; hour and day rows hold the minutes before it
NOT_STARTED = 2**62  # its value until the first fold (migration 0009): later than every minute, so nothing is folded
STEP = 300  # seconds: how often a fold runs; folds move the watermark to multiples of it
GRACE = 60  # seconds a minute stays unfolded after it ends, so results still in flight count as on time
MAX_SPAN = 6 * HOUR  # most minutes one fold transaction takes on; a long-stalled fold catches up in steps

SETTLE_TRIES = 3
T = TypeVar("T")

_compiled: dict[tuple[str, str], str] = {}
_READS = ("read", "lock", "exclusive")
_PARAMETERS = {"hour": ("lo", "hi"), "day": ("lo", "hi"), "newest": (), **dict.fromkeys(_READS, ("key",))}


def target(now_s: int, folded: int) -> int:
    """Where a fold at `now_s` moves the watermark from `folded` (no further than `MAX_SPAN`)."""
    return max(folded, min(floor_to(now_s - GRACE, STEP), folded + MAX_SPAN))


def next_run(now_s: float) -> float:
    """When the fold loop next has a whole `STEP` to fold: `GRACE` after the next multiple of `STEP`."""
    return floor_to(int(now_s) - GRACE, STEP) + STEP + GRACE


def first_watermark(now_s: int, newest: int | None = None) -> int:
    """The watermark a store starts folding from: the next minute after now and after every minute batches have
    written in full so far (the newest minute row is `newest`). Later folds move it in whole `STEP`s.

    Why that is enough: until then the watermark's row says `NOT_STARTED`, which every batch
    reads `FOR SHARE` and the first fold takes `FOR UPDATE`, so the batches that wrote all
    three rollups are committed, and their minutes seen, before the first fold picks its
    watermark; later batches read that watermark (migration 0009)."""
    start = ceil_to(now_s, MINUTE)
    return start if newest is None else max(start, ceil_to(newest + MINUTE, MINUTE))


async def watermark(conn: AsyncConnection, *, lock: bool = False) -> int | None:
    """The fold watermark (`NOT_STARTED` before the first fold; None on a store not migrated to 0009); with
    `lock`, held shared until the transaction ends (PostgreSQL; SQLite's single writer needs no lock)."""
    found = (await conn.exec_driver_sql(_sql(conn.dialect, "lock" if lock else "read"), (FOLDED_UNTIL,))).scalar()
    return None if found is None else int(found)


async def settled(conn: AsyncConnection, read: Callable[[int | None], Awaitable[T]], end: int) -> T:
    """`read(W)` for a reader of buckets before `end` (epoch s) that adds minute rows from the watermark `W` to
    hour or day rows still open there: run again while a fold moved `W` during it (it would count the
    folded minutes twice).

    Why only then: with `W` at or after `end` the read adds no minutes, and a fold changes no
    row before `W`. Why not for `rollups.plan`: it reads only hour and day rows that end by `W`.
    A fold runs every `STEP`; a read that overlaps more than `SETTLE_TRIES` of them in a row
    keeps its last answer."""
    found = await watermark(conn)
    for _ in range(SETTLE_TRIES):
        out = await read(found)
        if found is None or found >= end:
            break
        after = await watermark(conn)
        if after == found:
            break
        found = after
    return out


async def fold(conn: AsyncConnection, now_s: int) -> tuple[int | None, int]:
    """One fold step, in the caller's transaction: (watermark before, watermark after).

    The first call on a store only sets the watermark. Call again while the two differ and the
    second is short of `target(now_s, ...)`: one call folds at most `MAX_SPAN`."""
    before = (await conn.exec_driver_sql(_sql(conn.dialect, "exclusive"), (FOLDED_UNTIL,))).scalar()
    if before is None or before >= NOT_STARTED:
        newest = (await conn.exec_driver_sql(_sql(conn.dialect, "newest"))).scalar()
        start = first_watermark(now_s, None if newest is None else int(newest))
        await conn.exec_driver_sql(_sql(conn.dialect, "set"), (FOLDED_UNTIL, start))
        return None, start
    begin = int(before)
    end = target(now_s, begin)
    if end <= begin:
        return begin, begin
    for resolution in ("hour", "day"):
        await conn.exec_driver_sql(_sql(conn.dialect, resolution), (begin, end))
    if floor_to(begin, DAY) < past_day_cutoff(now_s):  # a past day's row grew: status pages read it again
        await conn.exec_driver_sql(_sql(conn.dialect, "past"), (PAST_DAY_WRITES, 1))
    await conn.exec_driver_sql(_sql(conn.dialect, "set"), (FOLDED_UNTIL, end))
    return begin, end


def watermark_sql(dialect: Dialect, *, lock: bool = False) -> str:
    """The driver SQL `watermark` runs, for callers on a DB-API connection; its one parameter is `FOLDED_UNTIL`."""
    return _sql(dialect, "lock" if lock else "read")


def _sql(dialect: Dialect, name: str) -> str:
    key = (dialect.name, name)
    cached = _compiled.get(key)
    if cached is None:
        compiled = _statement(dialect.name, name).compile(dialect=dialect)
        expected = _PARAMETERS.get(name, ("key", "value"))
        if tuple(compiled.positiontup or ()) != expected:
            raise RuntimeError(f"{name}: parameters compile as {compiled.positiontup}")
        cached = _compiled[key] = compiled.string
    return cached


def _statement(dialect: str, name: str) -> Select[tuple[int]] | Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    if name == "newest":  # the newest minute row: one key seek per monitor, not a scan of every minute row
        m = rollup_minute.c
        newest = select(func.max(m.bucket)).where(m.monitor_id == monitors.c.id).scalar_subquery()
        return select(func.max(newest)).select_from(monitors)
    if name in _READS:
        query = select(store_meta.c.value).where(store_meta.c.key == bindparam("key"))
        if name == "read":
            return query
        return query.with_for_update(read=name == "lock")  # SQLite leaves the clause out
    if name in ("set", "past"):
        row = insert(store_meta).values(key=bindparam("key"), value=bindparam("value"))
        value = row.excluded.value if name == "set" else store_meta.c.value + row.excluded.value
        return row.on_conflict_do_update(index_elements=["key"], set_={"value": value})
    return _fold(insert, name)  # type: ignore[arg-type]


def _fold(insert: type[postgresql.Insert] | type[sqlite.Insert], resolution: Resolution) -> Insert:
    """Add the minute rows of `[lo, hi)` into `resolution`'s rows: one INSERT ... SELECT ... GROUP BY upsert.

    Why `monitor_id IN (SELECT id FROM monitors)`: the minute table's key is (monitor, bucket), and
    this is the form both planners turn into a seek per monitor for its few minutes (a plain join
    had SQLite scan all eight days of minute rows)."""
    size = HOUR if resolution == "hour" else DAY
    m = rollup_minute.c
    bucket = (m.bucket - m.bucket % literal_column(str(size))).label("bucket")  # a constant, not a parameter
    sums = [func.sum(m[c]).label(c) for c in VALUE_COLUMNS]
    minutes = (
        select(m.monitor_id, bucket, *sums)
        .where(m.monitor_id.in_(select(monitors.c.id)), m.bucket >= bindparam("lo"), m.bucket < bindparam("hi"))
        .group_by(m.monitor_id, bucket)
    )
    table = ROLLUPS[resolution]
    stmt = insert(table).from_select(["monitor_id", "bucket", *VALUE_COLUMNS], minutes)
    adds = {c: table.c[c] + stmt.excluded[c] for c in VALUE_COLUMNS}
    return stmt.on_conflict_do_update(index_elements=["monitor_id", "bucket"], set_=adds)
