"""Persistence of incidents: the incident row with its roles and linked groups, and its timeline.

Every change goes through the store's single writer with its timeline entries and audit entry
in the same transaction; edits name the version they saw and fail with VersionConflict when
someone else changed the incident first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.incidents.model import MILESTONES, Impact, Milestones, Status
from tocsin.store import audit, users
from tocsin.store.access_records import AuditEntry
from tocsin.store.incident_response_tables import incident_impacts
from tocsin.store.incident_tables import incident_alert_groups, incident_roles, incident_timeline, incidents
from tocsin.store.store import Store
from tocsin.store.times import from_ms, opt_from_ms, opt_to_ms, to_ms


class VersionConflict(RuntimeError):
    """The incident changed since the version the caller saw."""


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident as kept; `id` and `version` are 0 before it is first saved."""

    title: str
    severity: str  # one of the configured levels when it was set (it may since have left the config)
    status: Status
    summary: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    times: Milestones = field(default_factory=Milestones)
    roles: dict[str, str] = field(default_factory=dict)  # role → user name
    alert_groups: tuple[str, ...] = ()
    impacts: tuple[Impact, ...] = ()
    source: str = ""  # console, api, cli, alert_group, rule:<name>; "" for incidents from before 0008
    id: int = 0
    version: int = 0


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event of an incident's timeline: a change (written automatically) or a human note."""

    at: datetime
    actor: str
    kind: str  # declared, status, severity, role, time, title, summary, impact, note, alert_group, action, ...
    text: str
    detail: dict[str, Any] = field(default_factory=dict)
    id: int = 0
    pinned: bool = False
    hidden: bool = False  # left out of the postmortem
    edited_at: datetime | None = None
    history: tuple[dict[str, Any], ...] = ()  # earlier texts, oldest first: {"at", "actor", "text"}


def _incident_row(i: Incident) -> dict[str, Any]:
    row: dict[str, Any] = {
        "title": i.title,
        "severity": i.severity,
        "status": i.status.value,
        "summary": i.summary,
        "created_by": i.created_by,
        "created_at_ms": to_ms(i.created_at),
        "updated_at_ms": to_ms(i.updated_at),
        "source": i.source or None,
    }
    row.update({f"{name}_ms": opt_to_ms(getattr(i.times, name)) for name in MILESTONES})
    return row


def _incident_from(m: Any, children: _Children) -> Incident:
    times = Milestones(**{name: opt_from_ms(m[f"{name}_ms"]) for name in MILESTONES})
    return Incident(
        title=m["title"],
        severity=m["severity"],
        status=Status(m["status"]),
        summary=m["summary"],
        created_by=m["created_by"],
        created_at=from_ms(m["created_at_ms"]),
        updated_at=from_ms(m["updated_at_ms"]),
        times=times,
        roles=children.roles.get(m["id"], {}),
        alert_groups=tuple(children.groups.get(m["id"], [])),
        impacts=tuple(sorted(children.impacts.get(m["id"], []))),
        source=m["source"] or "",
        id=m["id"],
        version=m["version"],
    )


def _entry_row(incident_id: int, e: TimelineEntry) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "at_ms": to_ms(e.at),
        "actor": e.actor[:200],
        "kind": e.kind,
        "text": e.text,
        "detail": e.detail,
    }


async def _write_children(
    conn: AsyncConnection, i: Incident, incident_id: int, entries: Sequence[TimelineEntry]
) -> None:
    await conn.execute(delete(incident_roles).where(incident_roles.c.incident_id == incident_id))
    if i.roles:
        rows = [{"incident_id": incident_id, "role": r, "user_name": u} for r, u in i.roles.items()]
        await conn.execute(insert(incident_roles), rows)
    await conn.execute(delete(incident_impacts).where(incident_impacts.c.incident_id == incident_id))
    if i.impacts:
        impacts = [
            {"incident_id": incident_id, "kind": x.kind, "page": x.page, "name": x.name, "impact": x.impact}
            for x in i.impacts
        ]
        await conn.execute(insert(incident_impacts), impacts)
    if entries:
        await conn.execute(insert(incident_timeline), [_entry_row(incident_id, e) for e in entries])


class IncidentStore:
    """Incidents in the store: reads on the pool, writes through the one writer."""

    def __init__(self, store: Store) -> None:
        self.root = store
        self._db, self._writer = store.database, store.writer

    async def create(self, i: Incident, entries: Sequence[TimelineEntry], entry: AuditEntry | None) -> int:
        """Insert a new incident with its roles, linked groups and first timeline entries; its id."""

        async def job(conn: AsyncConnection) -> int:
            stmt = insert(incidents).returning(incidents.c.id)
            incident_id = int((await conn.execute(stmt, {**_incident_row(i), "version": 1})).scalar_one())
            links = [
                {"incident_id": incident_id, "group_key": k, "linked_at_ms": to_ms(i.created_at)}
                for k in i.alert_groups
            ]
            if links:
                await conn.execute(insert(incident_alert_groups), links)
            await _write_children(conn, i, incident_id, entries)
            await audit.append(conn, _targeted(entry, incident_id))
            return incident_id

        return await self._writer.run(job)

    async def save(self, i: Incident, entries: Sequence[TimelineEntry], entry: AuditEntry | None) -> None:
        """Replace incident `i.id` if it is still at `i.version` (else VersionConflict), bumping the version."""
        c = incidents.c
        stmt = (
            update(incidents)
            .where(and_(c.id == i.id, c.version == i.version))
            .values(**_incident_row(i), version=c.version + 1)
        )

        async def job(conn: AsyncConnection) -> None:
            if not (await conn.execute(stmt)).rowcount:
                raise VersionConflict(f"incident {i.id} changed since version {i.version}; reload and try again")
            await _write_children(conn, i, i.id, entries)
            await audit.append(conn, entry)

        await self._writer.run(job)

    async def note(self, incident_id: int, note: TimelineEntry, entry: AuditEntry | None) -> None:
        """Add a human note to the timeline (no version check: notes never conflict)."""

        async def job(conn: AsyncConnection) -> None:
            await conn.execute(insert(incident_timeline), _entry_row(incident_id, note))
            await conn.execute(
                update(incidents).where(incidents.c.id == incident_id).values(updated_at_ms=to_ms(note.at))
            )
            await audit.append(conn, entry)

        await self._writer.run(job)

    async def get(self, incident_id: int) -> Incident | None:
        """One incident, or None."""
        found = await self.find(ids=[incident_id])
        return found[0] if found else None

    async def find(self, *, status: str | None = None, ids: Sequence[int] | None = None) -> list[Incident]:
        """Incidents, newest first, optionally only those with `status` or the given ids."""
        query = select(incidents).order_by(incidents.c.id.desc())
        if status:
            query = query.where(incidents.c.status == status)
        if ids is not None:
            query = query.where(incidents.c.id.in_(ids))
        async with self._db.read() as conn:
            rows = [r._mapping for r in await conn.execute(query)]
            children = await _children(conn, [r["id"] for r in rows])
        return [_incident_from(r, children) for r in rows]

    async def open_for_group(self, group_key: str) -> Incident | None:
        """The newest open incident linked to alert group `group_key`, if any (one indexed lookup)."""
        g, i = incident_alert_groups.c, incidents.c
        query = (
            select(i.id)
            .join(incident_alert_groups, g.incident_id == i.id)
            .where(g.group_key == group_key, i.status != Status.RESOLVED.value)
            .order_by(i.id.desc())
            .limit(1)
        )
        async with self._db.read() as conn:
            found = (await conn.execute(query)).scalar()
        return None if found is None else await self.get(int(found))

    async def timeline(self, incident_id: int) -> list[TimelineEntry]:
        """An incident's timeline, oldest first."""
        c = incident_timeline.c
        query = select(incident_timeline).where(c.incident_id == incident_id).order_by(c.at_ms, c.id)
        async with self._db.read() as conn:
            return [_entry_from(r) for r in await conn.execute(query)]

    async def entry(self, incident_id: int, entry_id: int) -> TimelineEntry | None:
        """One timeline entry of an incident, or None."""
        c = incident_timeline.c
        query = select(incident_timeline).where(and_(c.incident_id == incident_id, c.id == entry_id))
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _entry_from(row)

    async def edit_entry(self, incident_id: int, e: TimelineEntry, entry: AuditEntry | None) -> None:
        """Store a timeline entry's pin, hide, text, edit time and history (entries are edited one at a time)."""
        c = incident_timeline.c
        values = {
            "pinned": e.pinned,
            "hidden": e.hidden,
            "text": e.text,
            "edited_at_ms": opt_to_ms(e.edited_at),
            "history": list(e.history) or None,
        }
        stmt = update(incident_timeline).where(and_(c.incident_id == incident_id, c.id == e.id)).values(**values)

        async def job(conn: AsyncConnection) -> None:
            await conn.execute(stmt)
            await audit.append(conn, entry)

        await self._writer.run(job)

    async def add_entries(self, incident_id: int, entries: Sequence[TimelineEntry], entry: AuditEntry | None) -> None:
        """Append automatic entries (e.g. who was notified) without touching the incident's version."""

        async def job(conn: AsyncConnection) -> None:
            if entries:
                await conn.execute(insert(incident_timeline), [_entry_row(incident_id, e) for e in entries])
            await audit.append(conn, entry)

        await self._writer.run(job)

    async def user_exists(self, name: str) -> bool:
        """Whether a user (local or from the config) has this name."""
        async with self._db.read() as conn:
            return bool(await users.fetch(conn, name=name))


def _entry_from(r: Any) -> TimelineEntry:
    return TimelineEntry(
        from_ms(r.at_ms),
        r.actor,
        r.kind,
        r.text,
        dict(r.detail),
        r.id,
        pinned=bool(r.pinned),
        hidden=bool(r.hidden),
        edited_at=opt_from_ms(r.edited_at_ms),
        history=tuple(r.history or ()),
    )


@dataclass
class _Children:
    """Roles, linked groups and impacts of a set of incidents, by incident id."""

    roles: dict[int, dict[str, str]] = field(default_factory=dict)
    groups: dict[int, list[str]] = field(default_factory=dict)
    impacts: dict[int, list[Impact]] = field(default_factory=dict)


async def _children(conn: AsyncConnection, ids: list[int]) -> _Children:
    out = _Children()
    if not ids:
        return out
    for r in await conn.execute(select(incident_roles).where(incident_roles.c.incident_id.in_(ids))):
        out.roles.setdefault(r.incident_id, {})[r.role] = r.user_name
    g = incident_alert_groups.c
    for r in await conn.execute(select(incident_alert_groups).where(g.incident_id.in_(ids)).order_by(g.linked_at_ms)):
        out.groups.setdefault(r.incident_id, []).append(r.group_key)
    for r in await conn.execute(select(incident_impacts).where(incident_impacts.c.incident_id.in_(ids))):
        out.impacts.setdefault(r.incident_id, []).append(Impact(r.kind, r.page, r.name, r.impact))
    return out


def _targeted(entry: AuditEntry | None, incident_id: int) -> AuditEntry | None:
    """The declare audit entry with the new incident's id as its target (unknown until the insert)."""
    return None if entry is None else replace(entry, target=str(incident_id))
