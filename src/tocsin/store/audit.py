"""The audit log: append an entry inside the caller's transaction, read with filters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.store.access_records import AuditEntry, AuditQuery, AuditRecord
from tocsin.store.tables import audit_log
from tocsin.store.times import from_ms, to_ms


async def append(conn: AsyncConnection, entry: AuditEntry | None) -> None:
    """Insert `entry` (nothing for None) in the transaction that makes the change it describes."""
    if entry is None:
        return
    await conn.execute(
        insert(audit_log),
        {
            "at_ms": to_ms(entry.at),
            "actor": entry.actor[:160],
            "actor_kind": entry.actor_kind,
            "action": entry.action,
            "target": entry.target[:300],
            "source": entry.source[:64],
            "detail": entry.detail,
        },
    )


async def query(conn: AsyncConnection, q: AuditQuery) -> list[AuditRecord]:
    """Entries matching every filter, newest first."""
    c = audit_log.c
    stmt = select(audit_log).order_by(c.id.desc()).limit(q.limit)
    if q.actor:
        stmt = stmt.where(c.actor == q.actor)
    if q.action:
        stmt = stmt.where(c.action.startswith(q.action) if q.action.endswith(".") else c.action == q.action)
    if q.target:
        stmt = stmt.where(c.target == q.target)
    if q.since:
        stmt = stmt.where(c.at_ms >= to_ms(q.since))
    if q.until:
        stmt = stmt.where(c.at_ms < to_ms(q.until))
    if q.before:
        stmt = stmt.where(c.id < q.before)
    return [_record(row) for row in await conn.execute(stmt)]


def _record(row: Row[Any]) -> AuditRecord:
    m = row._mapping
    entry = AuditEntry(
        at=from_ms(m["at_ms"]),
        actor=m["actor"],
        actor_kind=m["actor_kind"],
        action=m["action"],
        target=m["target"],
        source=m["source"],
        detail=dict(m["detail"]),
    )
    return AuditRecord(m["id"], entry)
