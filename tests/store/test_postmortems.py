"""Postmortems in the store (SQLite and PostgreSQL): versions, the version check, listing, and the
read-only queries its facts come from (impacts, curated timeline, actions, updates, pages, acks)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.store.store_factories import T0
from tocsin.incidents.model import Milestones, Status
from tocsin.incidents.postmortem_model import Ack, ActionItem, Affected, Moment, Page, PublicUpdate
from tocsin.store.access_records import AuditEntry
from tocsin.store.alert_tables import outbox
from tocsin.store.incident_facts import IncidentFacts
from tocsin.store.incident_response_tables import incident_impacts, incident_updates
from tocsin.store.incident_tables import incident_actions, incident_timeline
from tocsin.store.incidents import Incident, IncidentStore, TimelineEntry, VersionConflict
from tocsin.store.oncall_tables import oncall_escalations
from tocsin.store.postmortems import Postmortem, PostmortemExists, PostmortemNotFound, PostmortemStore
from tocsin.store.store import Store
from tocsin.store.tables import audit_log
from tocsin.store.times import to_ms

GROUP = '{}:{alertname="PaymentsDown"}'


def minutes(m: float) -> Any:
    return T0 + timedelta(minutes=m)


async def an_incident(store: Store, title: str = "Payments down") -> int:
    incident = Incident(
        title, "SEV2", Status.RESOLVED, "", "alice", T0, minutes(60), Milestones(detected=T0, resolved=minutes(60))
    )
    return await IncidentStore(store).create(incident, [], None)


def draft(incident_id: int, body: str = "# Postmortem\n") -> Postmortem:
    return Postmortem(incident_id, "draft", 1, body, {"required": True}, True, minutes(61), minutes(61), "tocsin")


async def rows(store: Store, table: Any, values: list[dict[str, Any]]) -> None:
    async def job(conn: AsyncConnection) -> None:
        await conn.execute(insert(table), values)

    await store.writer.run(job)


async def test_versions_and_the_version_check(store: Store) -> None:
    iid = await an_incident(store)
    pms = PostmortemStore(store)
    note = TimelineEntry(minutes(61), "tocsin", "postmortem", "postmortem drafted")
    audit = AuditEntry(minutes(61), "tocsin", "system", "postmortem.create", str(iid), "tocsin")
    await pms.create(draft(iid), note, audit)
    with pytest.raises(PostmortemExists):
        await pms.create(draft(iid), None, None)

    first = await pms.get(iid)
    assert first is not None
    assert (first.version, first.state, first.required, first.title, first.severity) == (
        1,
        "draft",
        True,
        "Payments down",
        "SEV2",
    )
    alice = await pms.save(
        Postmortem(**{**_fields(first), "body": "alice's text", "updated_by": "alice", "updated_at": minutes(70)}),
        None,
        None,
    )
    assert alice.version == 2
    # bob opened version 1 too: his save is refused and nothing of alice's is lost
    with pytest.raises(VersionConflict, match="at version 2, not 1"):
        await pms.save(Postmortem(**{**_fields(first), "body": "bob's text", "updated_by": "bob"}), None, None)
    assert (await pms.get(iid)).body == "alice's text"  # type: ignore[union-attr]
    with pytest.raises(PostmortemNotFound):
        await pms.save(draft(iid + 1), None, None)

    versions = await pms.versions(iid)
    assert [(v.version, v.body, v.actor) for v in versions] == [
        (2, "alice's text", "alice"),
        (1, "# Postmortem\n", "tocsin"),
    ]
    assert (await pms.version(iid, 1)).body == "# Postmortem\n"  # type: ignore[union-attr]
    assert await pms.version(iid, 3) is None
    timeline = await IncidentStore(store).timeline(iid)
    assert [(e.kind, e.text) for e in timeline] == [("postmortem", "postmortem drafted")]
    async with store.database.read() as conn:
        actions = [r.action for r in await conn.execute(select(audit_log.c.action))]
    assert actions == ["postmortem.create"]


def _fields(p: Postmortem) -> dict[str, Any]:
    return {name: getattr(p, name) for name in Postmortem.__dataclass_fields__}


async def test_list_by_state(store: Store) -> None:
    pms = PostmortemStore(store)
    one, two = await an_incident(store, "one"), await an_incident(store, "two")
    await pms.create(draft(one), None, None)
    await pms.create(draft(two), None, None)
    first = await pms.get(one)
    assert first is not None
    await pms.save(Postmortem(**{**_fields(first), "state": "published", "updated_at": minutes(90)}), None, None)
    assert [p.incident_id for p in await pms.find()] == [one, two]  # most recently updated first
    assert [p.title for p in await pms.find("published")] == ["one"]
    assert [p.title for p in await pms.find("draft")] == ["two"]
    assert await pms.find("in_review") == []


async def test_facts_queries(store: Store) -> None:
    iid = await an_incident(store)
    await rows(
        store,
        incident_impacts,
        [
            {"incident_id": iid, "kind": "component", "page": "public", "name": "Checkout", "impact": "partial_outage"},
            {"incident_id": iid, "kind": "service", "page": "", "name": "payments", "impact": "major_outage"},
        ],
    )
    timeline = [
        {"at_ms": to_ms(minutes(5)), "actor": "alice", "kind": "note", "text": "seen", "pinned": True, "hidden": False},
        {"at_ms": to_ms(minutes(6)), "actor": "bob", "kind": "note", "text": "noise", "pinned": False, "hidden": True},
        {"at_ms": to_ms(minutes(7)), "actor": "bob", "kind": "note", "text": "fixed", "pinned": False, "hidden": False},
    ]
    await rows(store, incident_timeline, [{"incident_id": iid, "detail": {}, **t} for t in timeline])
    await rows(
        store,
        incident_actions,
        [
            {
                "incident_id": iid,
                "title": "Renew early",
                "owner": "carol",
                "created_at_ms": to_ms(minutes(61)),
                "kind": "prevent",
                "status": "open",
                "due_ms": to_ms(minutes(10_000)),
            },
        ],
    )
    await rows(
        store,
        incident_updates,
        [
            {
                "incident_id": iid,
                "at_ms": to_ms(minutes(8)),
                "actor": "alice",
                "audience": "public",
                "status": "investigating",
                "body": "We are looking",
                "pages": ["public"],
                "components": {},
            },
            {
                "incident_id": iid,
                "at_ms": to_ms(minutes(9)),
                "actor": "alice",
                "audience": "internal",
                "status": "investigating",
                "body": "internal only",
                "pages": [],
                "components": {},
            },
        ],
    )
    page = {"group_key": GROUP, "integration": 0, "reason": "escalation", "payload": {}, "attempts": 1}
    page["delivered_at_ms"] = None
    await rows(
        store,
        outbox,
        [
            {
                **page,
                "idempotency_key": "a",
                "receiver": "oncall:alice",
                "channel": "sms",
                "status": "delivered",
                "created_at_ms": to_ms(minutes(3)),
                "next_attempt_ms": to_ms(minutes(3)),
                "delivered_at_ms": to_ms(minutes(4)),
            },
            {
                **page,
                "idempotency_key": "b",
                "receiver": "oncall:bob",
                "channel": "email",
                "status": "pending",
                "created_at_ms": to_ms(minutes(3)),
                "next_attempt_ms": to_ms(minutes(20)),
            },
            {
                **page,
                "idempotency_key": "c",
                "receiver": "slack-ops",
                "channel": "slack",
                "status": "delivered",
                "created_at_ms": to_ms(minutes(3)),
                "next_attempt_ms": to_ms(minutes(3)),
            },  # not an on-call page
            {
                **page,
                "idempotency_key": "d",
                "receiver": "oncall:alice",
                "channel": "sms",
                "status": "delivered",
                "created_at_ms": to_ms(minutes(-900)),
                "next_attempt_ms": to_ms(minutes(-900)),
            },  # an earlier trigger
        ],
    )
    await rows(
        store,
        oncall_escalations,
        [
            {
                "group_key": GROUP,
                "incident": 2,
                "policy": "core",
                "receiver": "core",
                "urgency": "high",
                "group_labels": {},
                "triggered_at_ms": to_ms(minutes(3)),
                "acks": [[to_ms(minutes(6)), "alice"]],
                "sent_until_ms": 0,
                "step": 0,
                "repetition": 0,
                "updated_at_ms": to_ms(minutes(6)),
            },
        ],
    )
    facts = IncidentFacts(store.database)
    assert await facts.affected(iid) == [
        Affected("service", "payments", "major_outage"),
        Affected("component", "Checkout", "partial_outage", "public"),
    ]
    assert await facts.timeline(iid) == [
        Moment(minutes(5), "alice", "note", "seen", pinned=True),
        Moment(minutes(7), "bob", "note", "fixed"),
    ]
    assert await facts.actions(iid) == [ActionItem("Renew early", "prevent", "open", "carol", minutes(10_000))]
    assert await facts.public_updates(iid) == [PublicUpdate(minutes(8), "investigating", "We are looking")]
    assert await facts.pages([GROUP], T0, minutes(60)) == [
        Page("alice", "sms", minutes(4), "delivered", GROUP),
        Page("bob", "email", minutes(20), "pending", GROUP),
    ]
    assert await facts.acks([GROUP], T0, minutes(60)) == [Ack("alice", minutes(6), GROUP)]
    assert await facts.acks([GROUP], minutes(7), None) == []
    assert await facts.pages([], T0, None) == []
    assert await facts.source(iid) is None  # created without a source
