"""What incident automation reads and writes: links of alert groups to incidents, automatic timeline entries.

Automatic entries (alert fired or resolved, notification sent, page acknowledged, SLO budget
and burn-rate alerts) are facts, not edits: they are appended in batches through the single
writer without touching the incident's version, so they never conflict with a person's edit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.store.incident_response_tables import incident_impacts
from tocsin.store.incident_tables import incident_alert_groups, incident_timeline, incidents
from tocsin.store.incidents import TimelineEntry
from tocsin.store.store import Store
from tocsin.store.times import from_ms, to_ms

RESOLVED = "resolved"
ALERT_KINDS = ("alert_fired", "alert_resolved")


@dataclass(frozen=True, slots=True)
class Links:
    """Alert groups linked to incidents: the open incidents of each group, and when each group was last linked."""

    open: dict[str, set[int]] = field(default_factory=dict)
    last_linked: dict[str, datetime] = field(default_factory=dict)


AlertStates = dict[tuple[int, str], dict[str, bool]]  # (incident, group key) → fingerprint → firing


def _entry_row(incident_id: int, e: TimelineEntry) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "at_ms": to_ms(e.at),
        "actor": e.actor[:200],
        "kind": e.kind,
        "text": e.text,
        "detail": e.detail,
    }


class IncidentEvents:
    """Reads on the pool, the batched appends through the one writer."""

    def __init__(self, store: Store) -> None:
        self._db, self._writer = store.database, store.writer

    async def links(self) -> Links:
        """Every group → incident link: which are to open incidents, and each group's latest link time."""
        g, i = incident_alert_groups.c, incidents.c
        query = select(g.group_key, g.incident_id, g.linked_at_ms, i.status).join(incidents, i.id == g.incident_id)
        found = Links()
        async with self._db.read() as conn:
            for row in await conn.execute(query):
                if row.status != RESOLVED:
                    found.open.setdefault(row.group_key, set()).add(row.incident_id)
                at, last = from_ms(row.linked_at_ms), found.last_linked.get(row.group_key)
                if last is None or at > last:
                    found.last_linked[row.group_key] = at
        return found

    async def alert_states(self, incident_ids: Sequence[int]) -> AlertStates:
        """Each alert's last recorded state per incident and group, from the alert entries already written."""
        states: AlertStates = {}
        if not incident_ids:
            return states
        t = incident_timeline.c
        query = (
            select(t.incident_id, t.kind, t.detail)
            .where(and_(t.incident_id.in_(list(incident_ids)), t.kind.in_(ALERT_KINDS)))
            .order_by(t.at_ms, t.id)
        )
        async with self._db.read() as conn:
            for row in await conn.execute(query):
                detail = dict(row.detail)
                key, fingerprint = detail.get("group_key"), detail.get("fingerprint")
                if isinstance(key, str) and isinstance(fingerprint, str):
                    states.setdefault((row.incident_id, key), {})[fingerprint] = row.kind == "alert_fired"
        return states

    async def affected_services(self) -> list[tuple[int, str]]:
        """(incident, service) for every service an open incident affects."""
        m, i = incident_impacts.c, incidents.c
        query = (
            select(m.incident_id, m.name)
            .join(incidents, i.id == m.incident_id)
            .where(and_(m.kind == "service", i.status != RESOLVED))
        )
        async with self._db.read() as conn:
            return [(row.incident_id, row.name) for row in await conn.execute(query)]

    async def append(self, entries: Sequence[tuple[int, TimelineEntry]]) -> None:
        """Append automatic timeline entries, all in one transaction."""
        if not entries:
            return
        rows = [_entry_row(incident_id, e) for incident_id, e in entries]

        async def job(conn: AsyncConnection) -> None:
            await conn.execute(insert(incident_timeline), rows)

        await self._writer.run(job)
