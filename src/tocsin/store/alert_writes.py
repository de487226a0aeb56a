"""The alert pipeline's hot writes as driver SQL, for `Writer.run_dbapi` (one trip per transaction on SQLite).

Why driver SQL: SQLAlchemy's per-statement and per-row processing (JSON encoding, type
coercion, result objects) cost more than the writes themselves at tens of thousands of
alerts a second. Each statement is built with SQLAlchemy once per dialect, so quoting and
parameter style stay the dialect's; rows are plain tuples in the compiled parameter order,
documents pre-serialised with orjson.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, literal_column, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from tocsin.store.alert_tables import alert_groups, alerts, delivery_attempts, notification_log, outbox

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
LOG_FIELDS = ("group_key", "receiver", "integration", "firing", "resolved", "sent_at_ms")
OUTBOX_FIELDS = (
    "idempotency_key",
    "group_key",
    "receiver",
    "integration",
    "channel",
    "reason",
    "payload",
    "status",
    "attempts",
    "created_at_ms",
    "next_attempt_ms",
    "claimed_until_ms",
)
SETTLE_FIELDS = ("status", "next_attempt_ms", "claimed_until_ms", "delivered_at_ms", "last_error", "id")  # table order
ATTEMPT_FIELDS = ("outbox_id", "at_ms", "outcome", "status_code", "latency_ms", "detail")
TIMER_FIELDS = ("key", "next_flush_ms", "has_flushed")


@dataclass(frozen=True, slots=True)
class DriverSQL:
    """One statement as the driver takes it: SQL text whose positional parameters are `fields`, in order."""

    sql: str
    fields: tuple[str, ...]


def _insert(dialect: Dialect, table: Table) -> Any:
    return (postgresql.insert if dialect.name == "postgresql" else sqlite.insert)(table)


def _upsert(dialect: Dialect, table: Table, fields: Sequence[str], keys: Sequence[str]) -> Any:
    stmt = _insert(dialect, table).values({f: bindparam(f) for f in fields})
    return stmt.on_conflict_do_update(
        index_elements=list(keys), set_={f: stmt.excluded[f] for f in fields if f not in keys}
    )


def _settle(_: Dialect) -> Any:
    """Settle one row: attempts + 1, the claim released; a NULL time keeps the row's own."""
    c = outbox.c
    return (
        update(outbox)
        .where(c.id == bindparam("id"))
        .values(
            status=bindparam("status"),
            attempts=c.attempts + literal_column("1"),  # a literal: no parameter of its own
            claimed_until_ms=bindparam("claimed_until_ms"),
            last_error=bindparam("last_error"),
            delivered_at_ms=func.coalesce(bindparam("delivered_at_ms"), c.delivered_at_ms),
            next_attempt_ms=func.coalesce(bindparam("next_attempt_ms"), c.next_attempt_ms),
        )
    )


_BUILDERS: dict[str, tuple[Callable[[Dialect], Any], tuple[str, ...]]] = {
    "alert_upsert": (lambda d: _upsert(d, alerts, ALERT_FIELDS, ["fingerprint"]), ALERT_FIELDS),
    "log_upsert": (lambda d: _upsert(d, notification_log, LOG_FIELDS, LOG_FIELDS[:3]), LOG_FIELDS),
    "outbox_insert": (
        lambda d: insert(outbox).values({f: bindparam(f) for f in OUTBOX_FIELDS}).returning(outbox.c.id),
        OUTBOX_FIELDS,
    ),
    "settle": (_settle, SETTLE_FIELDS),
    "attempt_insert": (
        lambda d: insert(delivery_attempts).values({f: bindparam(f) for f in ATTEMPT_FIELDS}),
        ATTEMPT_FIELDS,
    ),
    "timer_upsert": (lambda d: _upsert(d, alert_groups, TIMER_FIELDS, ["key"]), TIMER_FIELDS),
    "timer_delete": (lambda d: delete(alert_groups).where(alert_groups.c.key == bindparam("key")), ("key",)),
}
_compiled: dict[tuple[str, str], DriverSQL] = {}


def driver_sql(dialect: Dialect, name: str) -> DriverSQL:
    """Statement `name` for `dialect`, compiled once; raises if its parameters do not compile in field order."""
    cached = _compiled.get((dialect.name, name))
    if cached is None:
        build, fields = _BUILDERS[name]
        compiled = build(dialect).compile(dialect=dialect)
        if tuple(compiled.positiontup or ()) != fields:
            raise RuntimeError(f"{name}: parameters compile as {compiled.positiontup}, expected {fields}")
        cached = _compiled[(dialect.name, name)] = DriverSQL(compiled.string, fields)
    return cached


def rows(stmt: DriverSQL, values: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """Parameter tuples for `stmt` from mappings of field name to value."""
    fields = stmt.fields
    return [tuple(v[f] for f in fields) for v in values]
