"""Persistence of follow-up actions, with their timeline entry and audit entry in the same write.

The exporter marks an action exported only if it was not changed while the webhook call was
in flight (`updated_at_ms` still the one it sent), so a change made meanwhile is sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.incidents.actions import UNFINISHED, Action
from tocsin.store import audit
from tocsin.store.access_records import AuditEntry
from tocsin.store.incident_tables import incident_actions, incident_timeline, incidents
from tocsin.store.incidents import TimelineEntry
from tocsin.store.store import Store
from tocsin.store.times import from_ms, opt_from_ms, opt_to_ms, to_ms


def _row(a: Action) -> dict[str, Any]:
    return {
        "incident_id": a.incident_id,
        "title": a.title,
        "owner": a.owner,
        "kind": a.kind,
        "status": a.status,
        "due_ms": opt_to_ms(a.due),
        "created_at_ms": to_ms(a.created_at),
        "updated_at_ms": to_ms(a.updated_at),
    }


def _action(m: Any) -> Action:
    created = from_ms(m["created_at_ms"])
    return Action(
        incident_id=m["incident_id"],
        title=m["title"],
        owner=m["owner"],
        kind=m["kind"],
        status=m["status"],
        due=opt_from_ms(m["due_ms"]),
        created_at=created,
        updated_at=opt_from_ms(m["updated_at_ms"]) or created,  # rows from before 0008 have none
        exported_at=opt_from_ms(m["exported_at_ms"]),
        id=m["id"],
    )


async def _timeline(conn: AsyncConnection, incident_id: int, note: TimelineEntry) -> None:
    row = {
        "incident_id": incident_id,
        "at_ms": to_ms(note.at),
        "actor": note.actor[:200],
        "kind": note.kind,
        "text": note.text,
        "detail": note.detail,
    }
    await conn.execute(insert(incident_timeline), row)
    await conn.execute(update(incidents).where(incidents.c.id == incident_id).values(updated_at_ms=to_ms(note.at)))


class ActionStore:
    """Actions in the store: reads on the pool, writes through the one writer."""

    def __init__(self, store: Store) -> None:
        self._db, self._writer = store.database, store.writer

    async def create(self, a: Action, note: TimelineEntry, entry: AuditEntry | None) -> int:
        """Insert an action with its timeline entry; its id."""

        async def job(conn: AsyncConnection) -> int:
            stmt = insert(incident_actions).returning(incident_actions.c.id)
            action_id = int((await conn.execute(stmt, _row(a))).scalar_one())
            await _timeline(conn, a.incident_id, note)
            await audit.append(conn, entry)
            return action_id

        return await self._writer.run(job)

    async def save(self, a: Action, note: TimelineEntry, entry: AuditEntry | None) -> None:
        """Replace action `a.id` with its timeline entry."""
        stmt = update(incident_actions).where(incident_actions.c.id == a.id).values(**_row(a))

        async def job(conn: AsyncConnection) -> None:
            await conn.execute(stmt)
            await _timeline(conn, a.incident_id, note)
            await audit.append(conn, entry)

        await self._writer.run(job)

    async def mark_exported(self, a: Action, at: datetime) -> bool:
        """Record that the webhook accepted `a` as sent; False when it changed meanwhile (it goes again)."""
        c = incident_actions.c
        stmt = (
            update(incident_actions)
            .where(and_(c.id == a.id, c.updated_at_ms == to_ms(a.updated_at)))
            .values(exported_at_ms=to_ms(at))
        )

        async def job(conn: AsyncConnection) -> bool:
            return bool((await conn.execute(stmt)).rowcount)

        return await self._writer.run(job)

    async def get(self, action_id: int) -> Action | None:
        """One action, or None."""
        found = await self._select(select(incident_actions).where(incident_actions.c.id == action_id))
        return found[0] if found else None

    async def find(
        self,
        *,
        incident_ids: Sequence[int] | None = None,
        status: str | None = None,
        owner: str | None = None,
        overdue_at: datetime | None = None,
        limit: int = 1000,
    ) -> list[Action]:
        """Actions, soonest due first (undated last), filtered; `overdue_at` keeps those overdue at that time."""
        c = incident_actions.c
        query = select(incident_actions).order_by(c.due_ms.is_(None), c.due_ms, c.id).limit(limit)
        if incident_ids is not None:
            query = query.where(c.incident_id.in_(incident_ids))
        if status:
            query = query.where(c.status == status)
        if owner:
            query = query.where(c.owner == owner)
        if overdue_at is not None:
            query = query.where(and_(c.due_ms < to_ms(overdue_at), c.status.in_(sorted(UNFINISHED))))
        return await self._select(query)

    async def pending_export(self, limit: int = 100) -> list[Action]:
        """Actions created or changed since the webhook last accepted them, oldest change first."""
        c = incident_actions.c
        pending = or_(c.exported_at_ms.is_(None), c.exported_at_ms < c.updated_at_ms)
        return await self._select(select(incident_actions).where(pending).order_by(c.updated_at_ms, c.id).limit(limit))

    async def _select(self, query: Any) -> list[Action]:
        async with self._db.read() as conn:
            return [_action(r._mapping) for r in await conn.execute(query)]
