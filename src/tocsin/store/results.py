"""The hot path: one batch of check results as raw rows, rollup upserts and monitor states.

Everything a batch writes goes out in a read of the fold watermark, a raw insert, a minute
rollup upsert (plus hour and day upserts for late results, those before the watermark:
store/fold.py) and one state update, each an executemany, all in one transaction run by the
writer in one trip to the driver's side (store/direct.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Insert, Update, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.checks.result import CheckResult, ConditionFailure, Outcome, Reason
from tocsin.store.direct import DbapiWork
from tocsin.store.fold import FOLDED_UNTIL, watermark_sql
from tocsin.store.records import MonitorState, ResultWrite
from tocsin.store.rollups import PAST_DAY_WRITES, VALUE_COLUMNS, Sample, aggregate, past_day_cutoff
from tocsin.store.tables import ROLLUPS, monitors, results, store_meta
from tocsin.store.times import from_ms, opt_to_ms, to_ms

MAX_MESSAGE = 2000  # characters kept of a failure message; probes can return whole pages
Prepared = tuple[int, ResultWrite]  # (monitor id, write), resolved when queued

RAW_FIELDS = ("monitor_id", "at_ms", "outcome", "latency_ms", "reason", "message", "failures")
ROLLUP_FIELDS = ("monitor_id", "bucket", *VALUE_COLUMNS)
STATE_FIELDS = ("p_status", "p_ok", "p_fail", "p_since", "p_outcome", "p_at", "p_id")
_compiled: dict[tuple[str, str], str] = {}


def batch_work(dialect: Dialect, items: list[Prepared], now: datetime | None = None) -> DbapiWork[None]:
    """Write one batch, as work for `Database.run_dbapi` (one trip on SQLite): raw rows, rollups aggregated per
    (monitor, bucket), latest states; and, when it adds to the daily rollup of a day before `now`'s (a late
    result), one bump of the past-day writes mark. Hour and day rollups are written only for results before
    the fold watermark (store/fold.py), which the work reads first, inside its transaction.

    Why driver SQL: the statements are built with Core and compiled once per dialect, then
    run with plain tuples; SQLAlchemy's per-row parameter handling was half the CPU per result.
    Why one trip: through the async engine each statement was a round trip to the driver's thread.
    """
    raw: list[tuple[Any, ...]] = []
    samples: list[Sample] = []
    latest: dict[int, MonitorState] = {}
    for monitor_id, write in items:
        result = write.result
        at_ms = to_ms(result.at)
        raw.append(_raw_row(monitor_id, at_ms, result))
        samples.append((monitor_id, at_ms, result.outcome.value, result.latency_ms))
        latest[monitor_id] = write.state  # arrival order is the evaluator's order
    states = [_state_row(i, s) for i, s in sorted(latest.items(), key=lambda item: item[0])]
    cutoff = None if now is None else past_day_cutoff(to_ms(now) // 1000)
    lock_sql = watermark_sql(dialect, lock=True)
    sql = {name: _sql(dialect, name) for name in ("raw", "minute", "hour", "day", "past", "state")}

    def work(conn: Any) -> None:
        cursor = conn.cursor()
        # First: a fold on another node waits for this batch, or it for the fold.
        cursor.execute(lock_sql, (FOLDED_UNTIL,))
        found = cursor.fetchone()
        folded = None if found is None else int(found[0])
        cursor.executemany(sql["raw"], raw)
        # Why sorted: rows are locked in key order, so two PostgreSQL nodes can never deadlock.
        aggregates = aggregate(samples, folded)
        for resolution, rows in aggregates.items():
            if rows:
                cursor.executemany(sql[resolution], [(*key, *vector) for key, vector in sorted(rows.items())])
        days = aggregates["day"]
        if cutoff is None or (days and min(bucket for _, bucket in days) < cutoff):
            cursor.execute(sql["past"], (PAST_DAY_WRITES, 1))
        cursor.executemany(sql["state"], states)

    return work


def _raw_row(monitor_id: int, at_ms: int, result: CheckResult) -> tuple[Any, ...]:
    latency = result.latency_ms
    return (
        monitor_id,
        at_ms,
        result.outcome.value,
        None if latency is None else float(latency),
        None if result.reason is None else result.reason.value,
        result.message[:MAX_MESSAGE],
        _encode_failures(result.failures) if result.failures else None,
    )


def _state_row(monitor_id: int, state: MonitorState) -> tuple[Any, ...]:
    return (
        state.status.value,
        state.consecutive_ok,
        state.consecutive_fail,
        opt_to_ms(state.since),
        None if state.last_outcome is None else state.last_outcome.value,
        opt_to_ms(state.last_result_at),
        monitor_id,
    )


def _sql(dialect: Dialect, name: str) -> str:
    """The driver SQL of one hot-path statement, compiled once per dialect."""
    key = (dialect.name, name)
    cached = _compiled.get(key)
    if cached is None:
        statement, fields = _statement(dialect.name, name)
        compiled = statement.compile(dialect=dialect, for_executemany=True)
        if tuple(compiled.positiontup or ()) != fields:
            raise RuntimeError(f"{name}: parameters compile as {compiled.positiontup}")
        cached = _compiled[key] = compiled.string
    return cached


def _statement(dialect: str, name: str) -> tuple[Insert | Update, tuple[str, ...]]:
    if name == "raw":
        return insert(results).values({f: bindparam(f) for f in RAW_FIELDS}), RAW_FIELDS
    if name == "state":
        return _state_update(), STATE_FIELDS
    if name == "past":  # count one more batch that wrote a past day's rollup
        mark = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(store_meta)
        mark = mark.values(key=bindparam("key"), value=bindparam("value"))
        bump = {"value": store_meta.c.value + mark.excluded.value}
        return mark.on_conflict_do_update(index_elements=["key"], set_=bump), ("key", "value")
    table = ROLLUPS[name]  # the remaining names are resolutions
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    stmt = stmt.values({f: bindparam(f) for f in ROLLUP_FIELDS})
    adds = {c: table.c[c] + stmt.excluded[c] for c in VALUE_COLUMNS}  # upsert arithmetic
    return stmt.on_conflict_do_update(index_elements=["monitor_id", "bucket"], set_=adds), ROLLUP_FIELDS


def _state_update() -> Update:
    return (
        update(monitors)
        .where(monitors.c.id == bindparam("p_id"))
        .values(
            status=bindparam("p_status"),
            consecutive_ok=bindparam("p_ok"),
            consecutive_fail=bindparam("p_fail"),
            status_since_ms=bindparam("p_since"),
            last_outcome=bindparam("p_outcome"),
            last_result_ms=bindparam("p_at"),
        )
    )


def _encode_failures(failures: Sequence[ConditionFailure]) -> str:
    return orjson.dumps([[f.condition, f.actual, f.expected, f.degraded_only] for f in failures]).decode()


def _decode_failures(text: str | None) -> tuple[ConditionFailure, ...]:
    if not text:
        return ()
    return tuple(ConditionFailure(c, a, e, bool(d)) for c, a, e, d in orjson.loads(text))


async def recent(
    conn: AsyncConnection,
    monitor: str,
    limit: int,
    before: datetime | None = None,
    *,
    failures_only: bool = False,
) -> list[CheckResult]:
    """Newest first, keyset-paged on time: pass the last `at` seen as `before` for the next page."""
    query = (
        select(
            results.c.at_ms,
            results.c.outcome,
            results.c.latency_ms,
            results.c.reason,
            results.c.message,
            results.c.failures,
        )
        .join(monitors, monitors.c.id == results.c.monitor_id)
        .where(monitors.c.name == monitor)
        .order_by(results.c.at_ms.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(results.c.at_ms < to_ms(before))
    if failures_only:
        query = query.where(results.c.outcome != "up")  # matches the partial index exactly
    rows = (await conn.execute(query)).all()
    return [
        CheckResult(
            monitor=monitor,
            at=from_ms(at_ms),
            outcome=Outcome(outcome),
            latency_ms=latency,
            reason=None if reason is None else Reason(reason),
            message=message,
            failures=_decode_failures(failures),
        )
        for at_ms, outcome, latency, reason, message, failures in rows
    ]
