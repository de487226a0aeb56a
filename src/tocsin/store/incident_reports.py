"""Reads for the incident report: incidents placed in a range with their services, and pages to people.

Read-only, on the pool. An incident is placed by its `detected` time, or by when it was
declared when `detected` was cleared. A page is an escalation notification queued to a
person (outbox receiver `oncall:<user>`, reason `escalation`; handoff notices are not pages);
the rows of one page sent through several contact methods at the same instant count once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select

from tocsin.incidents.metrics import IncidentFacts, Page
from tocsin.incidents.model import MILESTONES, Milestones
from tocsin.store.alert_tables import outbox
from tocsin.store.incident_response_tables import incident_impacts
from tocsin.store.incident_tables import incidents
from tocsin.store.store import Store
from tocsin.store.times import from_ms, opt_from_ms, to_ms

PAGE_RECEIVER = "oncall:"  # the outbox receiver prefix of pages to people (tocsin.oncall.contacts)
PAGE_REASON = "escalation"


class IncidentReportStore:
    """The report's queries against the store."""

    def __init__(self, store: Store) -> None:
        self._db = store.database

    async def incidents(self, start: datetime, end: datetime) -> list[IncidentFacts]:
        """Incidents placed in [start, end), oldest first, with the services they affect."""
        c = incidents.c
        at = func.coalesce(c.detected_ms, c.created_at_ms)
        placed = and_(at >= to_ms(start), at < to_ms(end))
        query = select(incidents).where(placed).order_by(at, c.id)
        i = incident_impacts.c
        impacts = (
            select(i.incident_id, i.name)
            .where(and_(i.kind == "service", i.incident_id.in_(select(c.id).where(placed))))
            .order_by(i.incident_id, i.name)
        )
        async with self._db.read() as conn:
            rows = [r._mapping for r in await conn.execute(query)]
            services: dict[int, list[str]] = {}
            for r in await conn.execute(impacts):
                services.setdefault(r.incident_id, []).append(r.name)
        return [_facts(r, tuple(services.get(r["id"], ()))) for r in rows]

    async def pages(self, start: datetime, end: datetime) -> list[Page]:
        """Pages to people queued in [start, end), oldest first."""
        o = outbox.c
        query = (
            select(o.receiver, o.group_key, o.created_at_ms)
            .where(
                and_(
                    o.reason == PAGE_REASON,
                    o.receiver.startswith(PAGE_RECEIVER, autoescape=True),
                    o.created_at_ms >= to_ms(start),
                    o.created_at_ms < to_ms(end),
                )
            )
            .distinct()  # one page through several contact methods at once is one page
            .order_by(o.created_at_ms, o.receiver, o.group_key)
        )
        async with self._db.read() as conn:
            rows = list(await conn.execute(query))
        return [Page(r.receiver.removeprefix(PAGE_RECEIVER), from_ms(r.created_at_ms)) for r in rows]


def _facts(m: Any, services: tuple[str, ...]) -> IncidentFacts:
    times = Milestones(**{name: opt_from_ms(m[f"{name}_ms"]) for name in MILESTONES})
    return IncidentFacts(m["id"], m["severity"], m["status"], from_ms(m["created_at_ms"]), times, services)
