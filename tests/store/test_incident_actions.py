"""Incident impacts, timeline edits and follow-up actions in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tests.store.store_factories import T0
from tocsin.incidents.actions import edited_action, new_action
from tocsin.incidents.model import Impact
from tocsin.incidents.service import Changes, Declaration, IncidentService
from tocsin.store.incidents import IncidentStore
from tocsin.store.store import Store

HOUR = timedelta(hours=1)


async def test_impacts_source_and_timeline_edits_round_trip(store: Store) -> None:
    svc = IncidentService(IncidentStore(store))
    incident = await svc.declare(Declaration("DB down", "P9", source="rule:db"), "alice", T0, None)
    assert (incident.severity, incident.source) == ("P9", "rule:db")  # any configured level: a plain string
    impacts = (Impact("component", "public", "API", "major_outage"), Impact("service", "", "db", "partial_outage"))
    after = await svc.change(incident.id, Changes(1, impacts=impacts), "alice", T0 + HOUR, None)
    assert after.impacts == tuple(sorted(impacts))
    after = await svc.change(incident.id, Changes(2, impacts=impacts[1:]), "alice", T0 + HOUR, None)
    assert after.impacts == impacts[1:]

    [first, *_] = await svc.store.timeline(incident.id)
    await svc.edit_entry(incident.id, first.id, {"pinned": True, "text": "declared (by rule)"}, "bob", T0 + HOUR, None)
    await svc.edit_entry(incident.id, first.id, {"hidden": True}, "bob", T0 + HOUR, None)
    stored = await svc.store.entry(incident.id, first.id)
    assert stored is not None
    assert (stored.pinned, stored.hidden, stored.text, stored.edited_at) == (
        True,
        True,
        "declared (by rule)",
        T0 + HOUR,
    )
    assert [h["text"] for h in stored.history] == [first.text]
    assert await svc.store.entry(incident.id + 1, first.id) is None  # another incident's entry is not found


async def test_actions_find_overdue_and_export_bookkeeping(store: Store) -> None:
    svc = IncidentService(IncidentStore(store))
    incident = await svc.declare(Declaration("DB down", "SEV2"), "alice", T0, None)
    actions = svc.actions
    late = await actions.create(
        incident.id, new_action(incident.id, "lag alert", None, "detect", T0, T0), "a", T0, None
    )
    later = new_action(incident.id, "runbook", None, "process", T0 + 48 * HOUR, T0)
    soon = await actions.create(incident.id, later, "a", T0, None)
    await actions.create(incident.id, new_action(incident.id, "undated", None, "prevent", None, T0), "a", T0, None)
    assert [a.title for a in await actions.store.find()] == ["lag alert", "runbook", "undated"]  # soonest due first
    assert [a.id for a in await actions.store.find(overdue_at=T0 + HOUR)] == [late.id]
    assert [a.id for a in await actions.store.pending_export()] == [late.id, soon.id, soon.id + 1]

    assert await actions.store.mark_exported(late, T0)  # accepted as sent
    changed, _ = edited_action(late, {"status": "done"}, T0)
    await actions.store.save(changed, (await svc.store.timeline(incident.id))[0], None)
    assert not await actions.store.mark_exported(late, T0)  # changed meanwhile: stays pending
    assert late.id in [a.id for a in await actions.store.pending_export()]
    stored = await actions.get(incident.id, late.id)
    assert (stored.status, stored.exported_at, stored.pending_export) == ("done", T0, True)
    assert await actions.store.find(overdue_at=T0 + HOUR) == []  # done is never overdue
    assert [a.id for a in await actions.store.find(status="done")] == [late.id]
    kinds = [e.kind for e in await svc.store.timeline(incident.id)]
    assert kinds.count("action") == 3
    assert replace(stored, exported_at=None).pending_export
