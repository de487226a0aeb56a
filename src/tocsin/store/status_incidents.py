"""Reading the incidents a status page shows: public text only (never internal updates or notes).

An incident is on a page when one of its component impacts names the page, or when a public
update was published to the page. Its public updates shown there are those published to the
page, plus those published to no page in particular when the incident affects the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from tocsin.store.database import Database
from tocsin.store.incident_response_tables import incident_impacts, incident_updates
from tocsin.store.incident_tables import incidents
from tocsin.store.times import from_ms, opt_from_ms

CHUNK = 500  # ids per IN (...) list, well under every backend's parameter limit


@dataclass(frozen=True, slots=True)
class PublicUpdate:
    """A public update as published: when, the status it announced, its text, component impacts by name."""

    id: int
    incident_id: int
    at: datetime
    status: str
    body: str
    components: dict[str, str]  # component name on this page -> impact at the time of the update


@dataclass(frozen=True, slots=True)
class PageIncident:
    """An incident as one status page shows it."""

    id: int
    title: str
    status: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime
    resolved_at: datetime | None
    impacts: dict[str, str] = field(default_factory=dict)  # component name -> current impact
    updates: tuple[PublicUpdate, ...] = ()  # newest first


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    return [list(ids[i : i + CHUNK]) for i in range(0, len(ids), CHUNK)]


def _update(m: Any, slug: str) -> PublicUpdate:
    prefix = slug + "/"
    components = {k[len(prefix) :]: str(v) for k, v in dict(m["components"] or {}).items() if k.startswith(prefix)}
    return PublicUpdate(m["id"], m["incident_id"], from_ms(m["at_ms"]), m["status"], m["body"], components)


def _shown(m: Any, slug: str, affected: bool) -> bool:
    pages = list(m["pages"] or [])
    return slug in pages or (affected and not pages)


def _incident(m: Any, impacts: dict[str, str], updates: list[PublicUpdate]) -> PageIncident:
    created = from_ms(m["created_at_ms"])
    return PageIncident(
        id=m["id"],
        title=m["title"],
        status=m["status"],
        created_at=created,
        updated_at=from_ms(m["updated_at_ms"]),
        started_at=opt_from_ms(m["impact_start_ms"]) or created,
        resolved_at=opt_from_ms(m["resolved_ms"]),
        impacts=impacts,
        updates=tuple(sorted(updates, key=lambda u: (u.at, u.id), reverse=True)),
    )


async def page_incidents(db: Database, slug: str, since: datetime | None) -> list[PageIncident]:
    """The page's incidents that are unresolved or were resolved at or after `since` (all when None), newest first."""
    c = incidents.c
    query = select(incidents)
    if since is not None:
        since_ms = int(since.timestamp() * 1000)
        query = query.where(or_(c.status != "resolved", c.resolved_ms.is_(None), c.resolved_ms >= since_ms))
    async with db.read() as conn:
        rows = {r.id: r._mapping for r in await conn.execute(query)}
        impacts: dict[int, dict[str, str]] = {}
        updates: dict[int, list[Any]] = {}
        for chunk in _chunks(sorted(rows)):
            found = await conn.execute(
                select(incident_impacts).where(
                    and_(
                        incident_impacts.c.incident_id.in_(chunk),
                        incident_impacts.c.kind == "component",
                        incident_impacts.c.page == slug,
                    )
                )
            )
            for r in found:
                impacts.setdefault(r.incident_id, {})[r.name] = r.impact
            public = await conn.execute(
                select(incident_updates).where(
                    and_(incident_updates.c.incident_id.in_(chunk), incident_updates.c.audience == "public")
                )
            )
            for r in public:
                updates.setdefault(r.incident_id, []).append(r._mapping)
    out = []
    for incident_id, m in rows.items():
        affected = incident_id in impacts
        shown = [_update(u, slug) for u in updates.get(incident_id, []) if _shown(u, slug, affected)]
        if affected or shown:
            out.append(_incident(m, impacts.get(incident_id, {}), shown))
    return sorted(out, key=lambda i: (i.created_at, i.id), reverse=True)
