"""Persistence of console status pages and hand-set component statuses, and the status pages' change token.

Writes go through the store's single writer with their audit entry in the same transaction;
a page edit names the version it saw and fails with PageVersionConflict when someone else
saved the page first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.store import audit
from tocsin.store.access_records import AuditEntry
from tocsin.store.incident_response_tables import (
    incident_impacts,
    incident_updates,
    status_component_overrides,
    status_pages,
)
from tocsin.store.incident_tables import incidents
from tocsin.store.store import Store
from tocsin.store.times import from_ms, to_ms


class PageExists(RuntimeError):
    """A console page with this slug exists already."""


class PageMissing(LookupError):
    """No console page has this slug."""


class PageVersionConflict(RuntimeError):
    """The page changed since the version the caller saw."""


@dataclass(frozen=True, slots=True)
class StoredPage:
    """A console status page: its spec (shaped like a `status_pages:` entry) and bookkeeping."""

    slug: str
    spec: dict[str, Any]
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Override:
    """A component status set by hand; it stands until cleared."""

    page: str
    component: str
    status: str
    set_by: str
    set_at: datetime


def _page(m: Any) -> StoredPage:
    return StoredPage(
        m["slug"],
        dict(m["spec"]),
        m["version"],
        m["created_by"],
        from_ms(m["created_at_ms"]),
        from_ms(m["updated_at_ms"]),
    )


def _override(m: Any) -> Override:
    return Override(m["page"], m["component"], m["status"], m["set_by"], from_ms(m["set_at_ms"]))


def _token_query() -> Any:
    """One row of cheap aggregates that changes whenever anything a status page shows from the store changes."""
    p, o, i = status_pages.c, status_component_overrides.c, incidents.c
    return select(
        select(func.count()).select_from(status_pages).scalar_subquery(),
        select(func.max(p.updated_at_ms)).scalar_subquery(),
        select(func.sum(p.version)).scalar_subquery(),
        select(func.count()).select_from(status_component_overrides).scalar_subquery(),
        select(func.max(o.set_at_ms)).scalar_subquery(),
        select(func.max(i.updated_at_ms)).scalar_subquery(),
        select(func.sum(i.version)).scalar_subquery(),
        select(func.count()).select_from(incident_impacts).scalar_subquery(),
        select(func.max(incident_updates.c.id)).scalar_subquery(),
        select(func.count()).select_from(incident_updates).scalar_subquery(),
    )


class StatusPageStore:
    """Console pages and overrides: reads on the pool, writes through the one writer."""

    def __init__(self, store: Store) -> None:
        self._db, self._writer = store.database, store.writer

    async def pages(self) -> list[StoredPage]:
        """Every console page, by slug."""
        async with self._db.read() as conn:
            rows = await conn.execute(select(status_pages).order_by(status_pages.c.slug))
            return [_page(r._mapping) for r in rows]

    async def page(self, slug: str) -> StoredPage | None:
        """One console page, if it exists."""
        async with self._db.read() as conn:
            row = (await conn.execute(select(status_pages).where(status_pages.c.slug == slug))).first()
        return None if row is None else _page(row._mapping)

    async def create(self, slug: str, spec: dict[str, Any], by: str, at: datetime, entry: AuditEntry | None) -> None:
        """Insert a console page at version 1 (PageExists when the slug is taken)."""
        row = {"slug": slug, "spec": spec, "version": 1, "created_by": by[:200]}
        row |= {"created_at_ms": to_ms(at), "updated_at_ms": to_ms(at)}

        async def job(conn: AsyncConnection) -> None:
            if (await conn.execute(select(status_pages.c.id).where(status_pages.c.slug == slug))).first():
                raise PageExists(f"a console status page {slug!r} exists already")
            try:
                await conn.execute(insert(status_pages), row)
            except IntegrityError as exc:  # created by another node in between
                raise PageExists(f"a console status page {slug!r} exists already") from exc
            await audit.append(conn, entry)

        await self._writer.run(job)

    async def replace(
        self, slug: str, spec: dict[str, Any], version: int, at: datetime, entry: AuditEntry | None
    ) -> int:
        """Replace a console page if it is still at `version`; the new version."""
        c = status_pages.c
        stmt = (
            update(status_pages)
            .where(and_(c.slug == slug, c.version == version))
            .values(spec=spec, version=c.version + 1, updated_at_ms=to_ms(at))
        )

        async def job(conn: AsyncConnection) -> int:
            if not (await conn.execute(stmt)).rowcount:
                found = (await conn.execute(select(c.version).where(c.slug == slug))).scalar()
                if found is None:
                    raise PageMissing(f"no console status page {slug!r}")
                raise PageVersionConflict(
                    f"status page {slug!r} is at version {found}, not {version}: someone saved it after you read it; "
                    "GET it again and reapply your change"
                )
            await audit.append(conn, entry)
            return version + 1

        return await self._writer.run(job)

    async def delete(self, slug: str, entry: AuditEntry | None) -> None:
        """Delete a console page and its hand-set statuses (PageMissing when there is none)."""

        async def job(conn: AsyncConnection) -> None:
            if not (await conn.execute(delete(status_pages).where(status_pages.c.slug == slug))).rowcount:
                raise PageMissing(f"no console status page {slug!r}")
            await conn.execute(delete(status_component_overrides).where(status_component_overrides.c.page == slug))
            await audit.append(conn, entry)

        await self._writer.run(job)

    async def overrides(self, page: str | None = None) -> list[Override]:
        """Hand-set statuses, of one page or of all, by page and component."""
        c = status_component_overrides.c
        query = select(status_component_overrides).order_by(c.page, c.component)
        if page is not None:
            query = query.where(c.page == page)
        async with self._db.read() as conn:
            return [_override(r._mapping) for r in await conn.execute(query)]

    async def set_override(self, o: Override, entry: AuditEntry | None) -> None:
        """Set (or replace) a component's hand-set status."""
        c = status_component_overrides.c
        where = and_(c.page == o.page, c.component == o.component)
        row: dict[str, Any] = {"page": o.page, "component": o.component, "status": o.status}
        row |= {"set_by": o.set_by[:200], "set_at_ms": to_ms(o.set_at)}

        async def job(conn: AsyncConnection) -> None:
            await conn.execute(delete(status_component_overrides).where(where))
            await conn.execute(insert(status_component_overrides), row)
            await audit.append(conn, entry)

        await self._writer.run(job)

    async def clear_override(self, page: str, component: str, entry: AuditEntry | None) -> bool:
        """Clear a component's hand-set status; False when it had none."""
        c = status_component_overrides.c
        stmt = delete(status_component_overrides).where(and_(c.page == page, c.component == component))

        async def job(conn: AsyncConnection) -> bool:
            if not (await conn.execute(stmt)).rowcount:
                return False
            await audit.append(conn, entry)
            return True

        return await self._writer.run(job)

    async def change_token(self) -> tuple[object, ...]:
        """Aggregates that change whenever pages, overrides, incidents, impacts or updates change."""
        async with self._db.read() as conn:
            row = (await conn.execute(_token_query())).one()
        return tuple(row)
