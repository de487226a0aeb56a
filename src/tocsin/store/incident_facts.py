"""Read-only queries a postmortem's facts need: the incident's impacts, curated timeline, actions,
public updates and source, and the on-call pages and acknowledgements of its alert groups.

Reads only (no writer); each returns the postmortem model's typed records.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, select

from tocsin.incidents.postmortem_model import Ack, ActionItem, Affected, Moment, Page, PublicUpdate
from tocsin.store.alert_tables import outbox
from tocsin.store.database import Database
from tocsin.store.incident_response_tables import incident_impacts, incident_updates
from tocsin.store.incident_tables import incident_actions, incident_timeline, incidents
from tocsin.store.oncall_tables import oncall_escalations
from tocsin.store.times import from_ms, opt_from_ms, to_ms

ONCALL_PREFIX = "oncall:"  # on-call pages go to receiver `oncall:<user>` (tocsin.oncall.contacts)


class IncidentFacts:
    """The incident-side records a postmortem reports, read on the pool."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def source(self, incident_id: int) -> str | None:
        """How the incident was declared (console, api, cli, rule:<name>, ...), when recorded."""
        async with self._db.read() as conn:
            found = await conn.execute(select(incidents.c.source).where(incidents.c.id == incident_id))
            value = found.scalar_one_or_none()
        return str(value) if value else None

    async def affected(self, incident_id: int) -> list[Affected]:
        """Affected services, then status-page components, by name."""
        c = incident_impacts.c
        query = select(incident_impacts).where(c.incident_id == incident_id).order_by(c.kind.desc(), c.page, c.name)
        async with self._db.read() as conn:
            return [Affected(r.kind, r.name, r.impact, r.page) for r in await conn.execute(query)]

    async def timeline(self, incident_id: int) -> list[Moment]:
        """The curated timeline, oldest first: hidden entries left out, pinned ones marked."""
        c = incident_timeline.c
        query = (
            select(c.at_ms, c.actor, c.kind, c.text, c.pinned)
            .where(and_(c.incident_id == incident_id, c.hidden.is_(False)))
            .order_by(c.at_ms, c.id)
        )
        async with self._db.read() as conn:
            return [
                Moment(from_ms(r.at_ms), r.actor, r.kind, r.text, bool(r.pinned)) for r in await conn.execute(query)
            ]

    async def actions(self, incident_id: int) -> list[ActionItem]:
        """Follow-up actions in the order they were added."""
        c = incident_actions.c
        query = select(incident_actions).where(c.incident_id == incident_id).order_by(c.created_at_ms, c.id)
        async with self._db.read() as conn:
            return [
                ActionItem(r.title, r.kind, r.status, r.owner, opt_from_ms(r.due_ms)) for r in await conn.execute(query)
            ]

    async def public_updates(self, incident_id: int) -> list[PublicUpdate]:
        """Updates published on status pages, oldest first."""
        c = incident_updates.c
        query = (
            select(c.at_ms, c.status, c.body)
            .where(and_(c.incident_id == incident_id, c.audience == "public"))
            .order_by(c.at_ms, c.id)
        )
        async with self._db.read() as conn:
            return [PublicUpdate(from_ms(r.at_ms), r.status, r.body) for r in await conn.execute(query)]

    async def pages(self, group_keys: Sequence[str], start: datetime, end: datetime | None) -> list[Page]:
        """On-call pages of these alert groups due in [start, end], oldest first."""
        if not group_keys:
            return []
        c = outbox.c
        query = (
            select(c.group_key, c.receiver, c.channel, c.status, c.next_attempt_ms, c.delivered_at_ms, c.id)
            .where(and_(c.group_key.in_(group_keys), c.receiver.startswith(ONCALL_PREFIX), c.reason == "escalation"))
            .order_by(c.id)
        )
        async with self._db.read() as conn:
            rows = list(await conn.execute(query))
        pages = [
            _page(r.group_key, r.receiver, r.channel, r.status, r.delivered_at_ms or r.next_attempt_ms) for r in rows
        ]
        return sorted((p for p in pages if _within(p.at, start, end)), key=lambda p: (p.at, p.user, p.method))

    async def acks(self, group_keys: Sequence[str], start: datetime, end: datetime | None) -> list[Ack]:
        """Acknowledgements of these alert groups' pages in [start, end], oldest first."""
        if not group_keys:
            return []
        c = oncall_escalations.c
        async with self._db.read() as conn:
            rows = list(await conn.execute(select(c.group_key, c.acks).where(c.group_key.in_(group_keys))))
        found = [Ack(str(by), from_ms(int(at)), r.group_key) for r in rows for at, by in r.acks]
        return sorted((a for a in found if _within(a.at, start, end)), key=lambda a: (a.at, a.by))


def _page(group_key: str, receiver: str, channel: str, status: str, at_ms: int) -> Page:
    return Page(receiver.removeprefix(ONCALL_PREFIX), channel, from_ms(at_ms), status, group_key)


def _within(at: datetime, start: datetime, end: datetime | None) -> bool:
    return to_ms(start) <= to_ms(at) and (end is None or to_ms(at) <= to_ms(end))
