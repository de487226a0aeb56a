"""Persistence of postmortems: the current text and state, and every saved version.

Each save names the version it saw and fails with VersionConflict when someone saved in
between, so concurrent edits never overwrite each other's text; the row update, the new
version row, the incident timeline entry and the audit entry commit in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.store import audit
from tocsin.store.access_records import AuditEntry
from tocsin.store.incident_response_tables import postmortem_versions, postmortems
from tocsin.store.incident_tables import incident_timeline, incidents
from tocsin.store.incidents import TimelineEntry, VersionConflict
from tocsin.store.store import Store
from tocsin.store.times import from_ms, opt_from_ms, opt_to_ms, to_ms


class PostmortemExists(RuntimeError):
    """The incident already has a postmortem."""


class PostmortemNotFound(LookupError):
    """The incident has no postmortem (yet)."""


@dataclass(frozen=True, slots=True)
class Postmortem:
    """A postmortem as kept: `body` is Markdown, `facts` the JSON document it was generated from."""

    incident_id: int
    state: str
    version: int
    body: str
    facts: dict[str, Any]
    required: bool
    generated_at: datetime
    updated_at: datetime
    updated_by: str
    published_at: datetime | None = None
    title: str = ""  # the incident's title (read only)
    severity: str = ""  # the incident's severity (read only)


@dataclass(frozen=True, slots=True)
class PostmortemVersion:
    """One saved version of a postmortem's text."""

    incident_id: int
    version: int
    state: str
    body: str
    at: datetime
    actor: str


def _row(p: Postmortem) -> dict[str, Any]:
    return {
        "state": p.state,
        "body": p.body,
        "facts": p.facts,
        "required": p.required,
        "generated_at_ms": to_ms(p.generated_at),
        "updated_at_ms": to_ms(p.updated_at),
        "updated_by": p.updated_by[:200],
        "published_at_ms": opt_to_ms(p.published_at),
    }


def _from(m: Any) -> Postmortem:
    return Postmortem(
        incident_id=m["incident_id"],
        state=m["state"],
        version=m["version"],
        body=m["body"],
        facts=dict(m["facts"]),
        required=bool(m["required"]),
        generated_at=from_ms(m["generated_at_ms"]),
        updated_at=from_ms(m["updated_at_ms"]),
        updated_by=m["updated_by"],
        published_at=opt_from_ms(m["published_at_ms"]),
        title=m["title"],
        severity=m["severity"],
    )


def _version_row(p: Postmortem) -> dict[str, Any]:
    return {
        "incident_id": p.incident_id,
        "version": p.version,
        "state": p.state,
        "body": p.body,
        "at_ms": to_ms(p.updated_at),
        "actor": p.updated_by[:200],
    }


async def _timeline(conn: AsyncConnection, incident_id: int, entry: TimelineEntry | None) -> None:
    if entry is not None:
        row = {
            "incident_id": incident_id,
            "at_ms": to_ms(entry.at),
            "actor": entry.actor[:200],
            "kind": entry.kind,
            "text": entry.text,
            "detail": entry.detail,
        }
        await conn.execute(insert(incident_timeline), row)


_SELECT = select(postmortems, incidents.c.title, incidents.c.severity).join(
    incidents, incidents.c.id == postmortems.c.incident_id
)


class PostmortemStore:
    """Postmortems in the store: reads on the pool, writes through the one writer."""

    def __init__(self, store: Store) -> None:
        self._db, self._writer = store.database, store.writer

    async def create(self, p: Postmortem, note: TimelineEntry | None, entry: AuditEntry | None) -> None:
        """Insert the first version of an incident's postmortem (PostmortemExists if it has one)."""
        first = replace(p, version=1)

        async def job(conn: AsyncConnection) -> None:
            found = await conn.execute(select(postmortems.c.version).where(postmortems.c.incident_id == p.incident_id))
            if found.first() is not None:
                raise PostmortemExists(f"incident {p.incident_id} already has a postmortem")
            await conn.execute(insert(postmortems), {**_row(first), "incident_id": p.incident_id, "version": 1})
            await conn.execute(insert(postmortem_versions), _version_row(first))
            await _timeline(conn, p.incident_id, note)
            await audit.append(conn, entry)

        try:
            await self._writer.run(job)
        except IntegrityError as exc:  # another node created it between the check and the insert
            raise PostmortemExists(f"incident {p.incident_id} already has a postmortem") from exc

    async def save(self, p: Postmortem, note: TimelineEntry | None, entry: AuditEntry | None) -> Postmortem:
        """Store `p` if the postmortem is still at `p.version` (else VersionConflict); the saved postmortem."""
        c = postmortems.c
        saved = replace(p, version=p.version + 1)
        stmt = update(postmortems).where(and_(c.incident_id == p.incident_id, c.version == p.version))

        async def job(conn: AsyncConnection) -> None:
            if not (await conn.execute(stmt.values(**_row(saved), version=saved.version))).rowcount:
                found = await conn.execute(select(c.version).where(c.incident_id == p.incident_id))
                current = found.scalar_one_or_none()
                if current is None:
                    raise PostmortemNotFound(f"incident {p.incident_id} has no postmortem")
                raise VersionConflict(
                    f"the postmortem of incident {p.incident_id} is at version {current}, not {p.version}: "
                    "someone saved it after you opened it; reload, merge your text and save again"
                )
            await conn.execute(insert(postmortem_versions), _version_row(saved))
            await _timeline(conn, p.incident_id, note)
            await audit.append(conn, entry)

        await self._writer.run(job)
        return saved

    async def get(self, incident_id: int) -> Postmortem | None:
        """An incident's postmortem, or None."""
        async with self._db.read() as conn:
            row = (await conn.execute(_SELECT.where(postmortems.c.incident_id == incident_id))).first()
        return None if row is None else _from(row._mapping)

    async def find(self, state: str | None = None) -> list[Postmortem]:
        """Postmortems, most recently updated first, optionally only those in `state`."""
        query = _SELECT.order_by(postmortems.c.updated_at_ms.desc(), postmortems.c.incident_id.desc())
        if state:
            query = query.where(postmortems.c.state == state)
        async with self._db.read() as conn:
            return [_from(r._mapping) for r in await conn.execute(query)]

    async def versions(self, incident_id: int) -> list[PostmortemVersion]:
        """Every saved version, newest first."""
        v = postmortem_versions.c
        query = select(postmortem_versions).where(v.incident_id == incident_id).order_by(v.version.desc())
        async with self._db.read() as conn:
            return [_version(r._mapping) for r in await conn.execute(query)]

    async def version(self, incident_id: int, version: int) -> PostmortemVersion | None:
        """One saved version, or None."""
        v = postmortem_versions.c
        query = select(postmortem_versions).where(and_(v.incident_id == incident_id, v.version == version))
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _version(row._mapping)


def _version(m: Any) -> PostmortemVersion:
    return PostmortemVersion(m["incident_id"], m["version"], m["state"], m["body"], from_ms(m["at_ms"]), m["actor"])
