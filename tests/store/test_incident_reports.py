"""The report's reads on SQLite and PostgreSQL: incidents placed by detection, their services, pages to people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.incidents.metrics import Page
from tocsin.store.alert_tables import outbox
from tocsin.store.incident_reports import IncidentReportStore
from tocsin.store.incident_response_tables import incident_impacts
from tocsin.store.incident_tables import incidents
from tocsin.store.store import Store
from tocsin.store.times import to_ms

T0 = datetime(2026, 10, 1, tzinfo=UTC)
H = timedelta(hours=1)


def incident(title: str, created: datetime, detected: datetime | None, **times: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {
        "title": title,
        "severity": "SEV2",
        "status": "resolved" if "resolved" in times else "investigating",
        "summary": "",
        "version": 1,
        "created_by": "alice",
        "created_at_ms": to_ms(created),
        "updated_at_ms": to_ms(created),
        "detected_ms": None if detected is None else to_ms(detected),
    }
    for name in ("impact_start", "acknowledged", "mitigated", "resolved"):
        row[f"{name}_ms"] = to_ms(times[name]) if name in times else None
    return row


def delivery(key: str, receiver: str, reason: str, at: datetime, group: str = "g1", index: int = 0) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "group_key": group,
        "receiver": receiver,
        "integration": index,
        "channel": "webhook",
        "reason": reason,
        "payload": {},
        "status": "delivered",
        "attempts": 1,
        "created_at_ms": to_ms(at),
        "next_attempt_ms": to_ms(at),
    }


async def seed(store: Store) -> None:
    rows = [
        incident("inside", T0, T0 + H, impact_start=T0, resolved=T0 + 3 * H),
        incident("declared inside, detected cleared", T0 + 2 * H, None),
        incident("declared before, detected inside", T0 - 48 * H, T0 + 4 * H),  # detected was moved later
        incident("detected at the end: outside", T0, T0 + 24 * H),
        incident("detected before: outside", T0 - H, T0 - H),
    ]
    pages = [
        delivery("k1", "oncall:alice", "escalation", T0 + H, index=0),
        delivery("k2", "oncall:alice", "escalation", T0 + H, index=1),  # the same page by a second method: once
        delivery("k3", "oncall:alice", "escalation", T0 + H + timedelta(minutes=5), index=1),  # a later rule: again
        delivery("k4", "oncall:bob", "escalation", T0 + H, group="g2"),
        delivery("k5", "oncall:bob", "handoff", T0 + 2 * H),  # a handoff notice is not a page
        delivery("k6", "team-slack", "escalation", T0 + 2 * H),  # a channel, not a person
        delivery("k7", "oncall%x", "escalation", T0 + 2 * H),  # LIKE wildcards do not match
        delivery("k8", "oncall:carol", "escalation", T0 + 24 * H),  # at the end: outside
    ]

    async def job(conn: AsyncConnection) -> None:
        ids = [int((await conn.execute(insert(incidents).returning(incidents.c.id), r)).scalar_one()) for r in rows]
        impacts = [
            {"incident_id": ids[0], "kind": "service", "page": "", "name": "db", "impact": "major_outage"},
            {"incident_id": ids[0], "kind": "service", "page": "", "name": "api", "impact": "partial_outage"},
            {"incident_id": ids[0], "kind": "component", "page": "public", "name": "API", "impact": "major_outage"},
            {"incident_id": ids[3], "kind": "service", "page": "", "name": "web", "impact": "partial_outage"},
        ]
        await conn.execute(insert(incident_impacts), impacts)
        await conn.execute(insert(outbox), pages)

    await store.writer.run(job)


async def test_incidents_and_pages_in_a_range(store: Store) -> None:
    await seed(store)
    reads = IncidentReportStore(store)
    found = await reads.incidents(T0, T0 + 24 * H)
    assert [i.services for i in found] == [("api", "db"), (), ()]  # services only (not components), by name
    assert [(i.at, i.times.detected) for i in found] == [
        (T0 + H, T0 + H),
        (T0 + 2 * H, None),  # placed by when it was declared
        (T0 + 4 * H, T0 + 4 * H),
    ]
    first = found[0]
    assert (first.severity, first.status, first.times.impact_start, first.times.resolved) == (
        "SEV2",
        "resolved",
        T0,
        T0 + 3 * H,
    )

    assert await reads.pages(T0, T0 + 24 * H) == [
        Page("alice", T0 + H),
        Page("bob", T0 + H),
        Page("alice", T0 + H + timedelta(minutes=5)),
    ]
    assert await reads.pages(T0 + 24 * H, T0 + 25 * H) == [Page("carol", T0 + 24 * H)]
