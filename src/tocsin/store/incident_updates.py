"""Persistence of incident updates, and what reminders need: quiet incidents and their last reminder.

Posting an update writes the update row, its timeline entry, the outbox rows that deliver an
internal update and the audit entry in one transaction through the single writer, so an
accepted update (2xx) is durable together with its deliveries. A reminder is claimed with a
conditional write on `incidents.reminded_at_ms`, so with several nodes it is sent once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.store import audit
from tocsin.store.access_records import AuditEntry
from tocsin.store.alert_tables import notification_log, outbox
from tocsin.store.alerting import Delivery, delivery_row
from tocsin.store.incident_response_tables import incident_updates
from tocsin.store.incident_tables import incident_roles, incident_timeline, incidents
from tocsin.store.incidents import TimelineEntry
from tocsin.store.store import Store
from tocsin.store.times import from_ms, opt_from_ms, opt_to_ms, to_ms


@dataclass(frozen=True, slots=True)
class IncidentUpdate:
    """One posted update; `id` is 0 before it is stored."""

    incident_id: int
    at: datetime
    actor: str
    audience: str  # internal, public
    status: str  # the incident status the update announces
    body: str
    pages: tuple[str, ...] = ()
    components: dict[str, str] = field(default_factory=dict)  # {"page/component": impact} when posted
    fanned_out_at: datetime | None = None
    id: int = 0


@dataclass(frozen=True, slots=True)
class QuietIncident:
    """An open incident as reminders see it: when it was declared, last updated and last reminded."""

    id: int
    title: str
    severity: str
    status: str
    declared_at: datetime
    last_update_at: datetime | None
    reminded_at: datetime | None
    commander: str | None


def _update_row(u: IncidentUpdate) -> dict[str, Any]:
    return {
        "incident_id": u.incident_id,
        "at_ms": to_ms(u.at),
        "actor": u.actor[:200],
        "audience": u.audience,
        "status": u.status,
        "body": u.body,
        "pages": list(u.pages),
        "components": dict(u.components),
        "fanned_out_at_ms": opt_to_ms(u.fanned_out_at),
    }


def _update_from(m: Any) -> IncidentUpdate:
    return IncidentUpdate(
        incident_id=m["incident_id"],
        at=from_ms(m["at_ms"]),
        actor=m["actor"],
        audience=m["audience"],
        status=m["status"],
        body=m["body"],
        pages=tuple(m["pages"]),
        components=dict(m["components"]),
        fanned_out_at=opt_from_ms(m["fanned_out_at_ms"]),
        id=m["id"],
    )


def _timeline_row(incident_id: int, e: TimelineEntry) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "at_ms": to_ms(e.at),
        "actor": e.actor[:200],
        "kind": e.kind,
        "text": e.text,
        "detail": e.detail,
    }


# Builds an update's timeline entry and outbox rows once its id is known (inside the transaction).
Followers = Callable[[int], tuple[TimelineEntry, Sequence[Delivery]]]


class UpdateStore:
    """Incident updates in the store: reads on the pool, writes through the one writer."""

    def __init__(self, store: Store) -> None:
        self._db, self._writer = store.database, store.writer

    async def post(self, u: IncidentUpdate, followers: Followers, entry: AuditEntry | None) -> IncidentUpdate:
        """Store `u` with its timeline entry, outbox rows and audit entry in one transaction; `u` with its id."""

        async def job(conn: AsyncConnection) -> int:
            stmt = insert(incident_updates).returning(incident_updates.c.id)
            update_id = int((await conn.execute(stmt, _update_row(u))).scalar_one())
            timeline, deliveries = followers(update_id)
            await conn.execute(insert(incident_timeline), _timeline_row(u.incident_id, timeline))
            if deliveries:
                await conn.execute(insert(outbox), [delivery_row(d, u.at) for d in deliveries])
            touched = update(incidents).where(incidents.c.id == u.incident_id).values(updated_at_ms=to_ms(u.at))
            await conn.execute(touched)
            await audit.append(conn, None if entry is None else _with_target(entry, u.incident_id, update_id))
            return update_id

        update_id = await self._writer.run(job)
        return replace(u, id=update_id)

    async def queue(self, deliveries: Sequence[Delivery], now: datetime) -> None:
        """Put notices (e.g. a reminder to the audience) in the outbox, due now."""
        if not deliveries:
            return

        async def job(conn: AsyncConnection) -> None:
            await conn.execute(insert(outbox), [delivery_row(d, now) for d in deliveries])

        await self._writer.run(job)

    async def updates(self, incident_id: int) -> list[IncidentUpdate]:
        """An incident's updates, newest first."""
        c = incident_updates.c
        query = select(incident_updates).where(c.incident_id == incident_id).order_by(c.at_ms.desc(), c.id.desc())
        async with self._db.read() as conn:
            return [_update_from(r._mapping) for r in await conn.execute(query)]

    async def notified_receivers(self, group_keys: Sequence[str]) -> list[str]:
        """The receivers alert groups were notified through (from the notification log), in name order."""
        if not group_keys:
            return []
        c = notification_log.c
        query = select(c.receiver).where(c.group_key.in_(list(group_keys))).distinct().order_by(c.receiver)
        async with self._db.read() as conn:
            return [r.receiver for r in await conn.execute(query)]

    async def quiet_candidates(self) -> list[QuietIncident]:
        """Every open incident with its last update time, last reminder and commander."""
        u, r, i = incident_updates.c, incident_roles.c, incidents.c
        last = select(u.incident_id, func.max(u.at_ms).label("last_ms")).group_by(u.incident_id).subquery()
        commander = select(r.incident_id, r.user_name).where(r.role == "commander").subquery()
        query = (
            select(i.id, i.title, i.severity, i.status, i.created_at_ms, i.reminded_at_ms, last.c.last_ms)
            .add_columns(commander.c.user_name)
            .outerjoin(last, last.c.incident_id == i.id)
            .outerjoin(commander, commander.c.incident_id == i.id)
            .where(i.status != "resolved")
            .order_by(i.id)
        )
        async with self._db.read() as conn:
            return [
                QuietIncident(
                    row.id,
                    row.title,
                    row.severity,
                    row.status,
                    from_ms(row.created_at_ms),
                    opt_from_ms(row.last_ms),
                    opt_from_ms(row.reminded_at_ms),
                    row.user_name,
                )
                for row in await conn.execute(query)
            ]

    async def claim_reminder(self, q: QuietIncident, now: datetime, note: TimelineEntry) -> bool:
        """Mark `q` reminded at `now` with a timeline entry, unless someone reminded it since `q` was read."""
        c = incidents.c
        seen = c.reminded_at_ms.is_(None) if q.reminded_at is None else c.reminded_at_ms == to_ms(q.reminded_at)
        stmt = update(incidents).where(and_(c.id == q.id, seen)).values(reminded_at_ms=to_ms(now))

        async def job(conn: AsyncConnection) -> bool:
            if not (await conn.execute(stmt)).rowcount:
                return False
            await conn.execute(insert(incident_timeline), _timeline_row(q.id, note))
            return True

        return await self._writer.run(job)


def _with_target(entry: AuditEntry, incident_id: int, update_id: int) -> AuditEntry:
    """The audit entry naming the incident, with the new update's id (unknown until the insert)."""
    return replace(entry, target=str(incident_id), detail={**entry.detail, "update_id": update_id})
