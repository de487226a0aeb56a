"""Reading the daily result counts a status page's bars show: every monitor of the page in one query.

Only the four counts are read (not the latency histogram), and rows come back as plain
tuples keyed by monitor name, so a page of 100 components and 90 days costs one indexed
query instead of one per component (bench/statuspage.py); the SQL is compiled once.

Past days hardly ever change, so a caller that rebuilds the page often can pass a `DayMemo`:
days before `split` are then checked with one aggregate row per monitor (its digest) and
only the monitors whose digest changed are read again; the days from `split` on are always read.
Even that check scans every past row (~1.5 ms on SQLite, ~6 ms on PostgreSQL for 8,900 rows),
so it runs only when the store's past-day writes mark moved since the last check (every batch
that adds to a past day's rollup bumps it in the same transaction, and so does a fold into a
past day: store/results.py, store/fold.py), or when the last check is `REVERIFY` old, for
writes that did not come through tocsin. Minutes not folded into their day rows yet are read
and added on every call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnClause,
    CompoundSelect,
    Select,
    bindparam,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.store.database import Database
from tocsin.store.fold import FOLDED_UNTIL, SETTLE_TRIES
from tocsin.store.rollups import PAST_DAY_WRITES, ceil_to, floor_to
from tocsin.store.stats import window_seconds
from tocsin.store.tables import monitors, rollup_day, rollup_minute, store_meta
from tocsin.store.times import to_ms

DAY_SECONDS = 86400
CHUNK = 500  # names per IN (...) list, well under every backend's parameter limit
REVERIFY = 600  # seconds: past days are checked by digest at least this often, whatever the mark says

DayCounts = tuple[int, int, int, int, int]  # day start (epoch seconds, UTC), total, up, degraded, down
Digest = tuple[int, int]  # rows, and the sum of their totals
_EMPTY: Digest = (0, 0)
_compiled: dict[tuple[str, str, int], tuple[str, tuple[int, ...]]] = {}
_META_KEYS = (PAST_DAY_WRITES, FOLDED_UNTIL)


@dataclass(slots=True)
class DayMemo:
    """Each monitor's daily counts before a split day, as last read, with their digest; for one span of days.

    Why a digest is enough: a daily rollup changes only when results are added to it (its
    total grows by one per result; a late result can land on a past day) or when a row is
    added or deleted, so any change to a monitor's past rows changes its row count or its
    sum of totals. (Summing more columns would cost SQLite ~0.4 ms a column at 9,000 rows.)
    """

    span: tuple[int, int] = (0, 0)  # (first day start, split) in epoch seconds, UTC
    rows: dict[str, tuple[Digest, list[DayCounts]]] = field(default_factory=dict)
    mark: int | None = None  # the store's past-day writes mark when the digests were last checked
    checked: int = 0  # when they were, epoch seconds
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, compare=False, repr=False)


def digest(rows: Sequence[DayCounts]) -> Digest:
    """The digest of one monitor's rows, as the aggregate query computes it."""
    return (len(rows), sum(r[1] for r in rows))


async def daily_counts(
    db: Database,
    names: Iterable[str],
    since: datetime,
    until: datetime,
    memo: DayMemo | None = None,
    split: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, list[DayCounts]]:
    """Daily counts of each named monitor for the days overlapping `[since, until)`, oldest first per monitor.

    With `memo` and `split` (a midnight), days before `split` come from the memo for monitors whose digest is
    unchanged, and the memo is refreshed with what was read again. With `now` too, the digests are skipped
    while the store's past-day writes mark is the one they were last checked at, for up to `REVERIFY`."""
    wanted = sorted(set(names))
    since_s, until_s = window_seconds(since, until)
    first, end = floor_to(since_s, DAY_SECONDS), ceil_to(until_s, DAY_SECONDS)
    async with db.read() as conn:
        for _ in range(SETTLE_TRIES):
            if memo is None or split is None:
                _, folded = await _meta(conn)  # the watermark before the day rows are read
                days = await _rows(conn, wanted, first, until_s)
            else:
                split_s = to_ms(split) // 1000
                async with memo.lock:  # one build at a time reads and refreshes a memo: its rows and mark go together
                    mark, folded = await _meta(conn)
                    now_s = None if now is None else to_ms(now) // 1000
                    known = await _past(conn, memo, wanted, (first, split_s), now_s, mark)
                recent = await _rows(conn, wanted, split_s, until_s)
                days = {n: known[n][1] + recent.get(n, []) for n in wanted if known[n][1] or n in recent}
            if folded is None or folded >= end:
                return days
            # Minutes not folded into their day rows yet, with the watermark read in the same statement:
            # if a fold moved it since the day rows were read, they hold some of these minutes already.
            minutes, after = await _minutes(conn, wanted, max(first, folded), end)
            if after == folded:
                break
        _add_minutes(days, minutes)  # a read overlapping SETTLE_TRIES folds in a row keeps its last answer
    return days


async def _meta(conn: AsyncConnection) -> tuple[int, int | None]:
    """The store's past-day writes mark (0 before the first) and the fold watermark, in one query."""
    sql, _ = _sql(conn, "meta", 0)
    rows: list[Any] = list(await conn.exec_driver_sql(sql))
    found = {key: int(value) for key, value in rows}
    return found.get(PAST_DAY_WRITES, 0), found.get(FOLDED_UNTIL)


async def _minutes(conn: AsyncConnection, names: list[str], since_s: int, until_s: int) -> tuple[list[Any], int | None]:
    """The named monitors' minute rows in `[since, until)` and the fold watermark as of the same statement (the
    first chunk's, when there are several: a fold after the day rows were read changes none of them, so only
    one before the first chunk matters)."""
    rows = await _fetch(conn, "minutes", names, since_s, until_s)
    marks = [row[1] for row in rows if row[0] is None]
    return [row for row in rows if row[0] is not None], (int(marks[0]) if marks else None)


def _add_minutes(days: dict[str, list[DayCounts]], minutes: Iterable[Sequence[Any]]) -> None:
    """Add minute rows (name, bucket, total, up, degraded, down) into their monitors' daily counts, in place
    of each list (a memo's lists are never changed)."""
    extra: dict[str, dict[int, list[int]]] = {}
    for name, bucket, *counts in minutes:
        into = extra.setdefault(name, {}).setdefault(floor_to(bucket, DAY_SECONDS), [0, 0, 0, 0])
        for i, value in enumerate(counts):
            into[i] += value
    for name, by_day in extra.items():
        merged = {row[0]: list(row[1:]) for row in days.get(name, [])}
        for day, counts in by_day.items():
            into = merged.setdefault(day, [0, 0, 0, 0])
            for i, value in enumerate(counts):
                into[i] += value
        days[name] = [(day, *merged[day]) for day in sorted(merged)]  # type: ignore[misc]


async def _past(
    conn: AsyncConnection, memo: DayMemo, wanted: list[str], span: tuple[int, int], now_s: int | None, mark: int
) -> dict[str, tuple[Digest, list[DayCounts]]]:
    """The memo's past rows for `wanted`, refreshed where the store says they changed (see `daily_counts`); `mark`
    is the past-day writes mark, read before any of the rows (a write after that moves it again)."""
    if memo.span != span:
        memo.span, memo.rows, memo.mark = span, {}, None
    known = memo.rows
    checked = now_s is not None and mark == memo.mark and 0 <= now_s - memo.checked < REVERIFY
    if checked:
        stale = [n for n in wanted if n not in known]  # no past day written since: only new names
    else:
        current = await _digests(conn, wanted, *span)
        stale = [n for n in wanted if (found := known.get(n)) is None or found[0] != current.get(n, _EMPTY)]
    if stale:
        reread = await _rows(conn, stale, *span)
        for name in stale:
            rows = reread.get(name, [])
            known[name] = (digest(rows), rows)  # from the rows themselves: always a consistent pair
    if not checked:
        memo.mark, memo.checked = mark, now_s or 0
    if len(known) > len(wanted):  # monitors left the page: forget them
        memo.rows = known = {n: known[n] for n in wanted}
    return known


async def _rows(conn: AsyncConnection, names: list[str], since_s: int, until_s: int) -> dict[str, list[DayCounts]]:
    out: dict[str, list[DayCounts]] = {}
    for row in await _fetch(conn, "rows", names, since_s, until_s):
        out.setdefault(row[0], []).append(row[1:])
    return out


async def _digests(conn: AsyncConnection, names: list[str], since_s: int, until_s: int) -> dict[str, Digest]:
    return {row[0]: (int(row[1]), int(row[2])) for row in await _fetch(conn, "digests", names, since_s, until_s)}


async def _fetch(conn: AsyncConnection, kind: str, names: list[str], since_s: int, until_s: int) -> list[Any]:
    out: list[Any] = []
    for start in range(0, len(names), CHUNK):
        chunk = names[start : start + CHUNK]
        sql, order = _sql(conn, kind, len(chunk))
        values = (*chunk, since_s, until_s)
        out += (await conn.exec_driver_sql(sql, tuple(values[i] for i in order))).all()
    return out


def _sql(conn: AsyncConnection, kind: str, count: int) -> tuple[str, tuple[int, ...]]:
    """The driver SQL of a query over `count` monitor names, compiled once per dialect and count, and the order its
    parameters go in, as indexes into `(*names, since, until)` (PostgreSQL's differs from SQLite's).

    Why driver SQL: with a 100-name IN list, SQLAlchemy's work per execution (expanding the
    list, processing each row) cost as much CPU as SQLite's own (bench/statuspage.py)."""
    key = (conn.dialect.name, kind, count)
    found = _compiled.get(key)
    if found is None:
        if kind == "meta":
            query = select(store_meta.c.key, store_meta.c.value).where(store_meta.c.key.in_(_META_KEYS))
            compiled = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
            found = _compiled[key] = (compiled.string, ())
            return found
        index = {f"names_{i + 1}": i for i in range(count)} | {"since": count, "until": count + 1}
        compiled = _query(kind, count).compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        order = tuple(index[name] for name in compiled.positiontup or ())
        if sorted(order) != list(range(count + 2)):
            raise RuntimeError(f"{kind}: parameters compile as {compiled.positiontup}")
        found = _compiled[key] = (compiled.string, order)
    return found


def _query(kind: str, count: int) -> Select[Any] | CompoundSelect[Any]:
    """Rows (oldest first per monitor) or digests of the named monitors' daily rollups in `[since, until)`, or
    their minute rows there (`minutes`)."""
    t = (rollup_minute if kind == "minutes" else rollup_day).c
    # The values are placeholders: only the SQL is kept, with one parameter per name.
    names: BindParameter[list[str]] = bindparam("names", [""] * count, expanding=True)
    where = (monitors.c.name.in_(names), t.bucket >= bindparam("since", 0), t.bucket < bindparam("until", 0))
    if kind == "minutes":  # and one row (NULL, watermark): read in the same statement, so as of the same rows
        zero: ColumnClause[int] = literal_column("0")
        mark = select(null(), store_meta.c.value, zero, zero, zero, zero)
        mark = mark.where(store_meta.c.key == literal_column(f"'{FOLDED_UNTIL}'"))
        rows = select(monitors.c.name, t.bucket, t.total, t.up, t.degraded, t.down)
        return union_all(rows.join_from(rollup_minute, monitors, monitors.c.id == t.monitor_id).where(*where), mark)
    if kind == "rows":
        query = select(monitors.c.name, t.bucket, t.total, t.up, t.degraded, t.down).order_by(t.monitor_id, t.bucket)
    else:
        query = select(monitors.c.name, func.count(), func.sum(t.total)).group_by(monitors.c.name)
    return query.join(monitors, monitors.c.id == t.monitor_id).where(*where)
