"""Postmortems from scripted incidents on a real store (SQLite and PostgreSQL) with a FakeClock.

An SLO over a monitor with known failures checks the budget the postmortem reports against a
hand-computed value; the drafted document is compared with a golden file (regenerate with
TOCSIN_UPDATE_GOLDEN=1, see tests/unit/test_postmortem.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.component.test_slo_evaluator import Captured, slo
from tests.store.store_factories import T0, define, result
from tests.unit.test_postmortem import golden
from tocsin.alerting.alert import Alert
from tocsin.alerting.route import parse_route_tree
from tocsin.checks.result import Outcome
from tocsin.clock import FakeClock
from tocsin.incidents.model import Impact, Status
from tocsin.incidents.postmortem_facts import group_alerts
from tocsin.incidents.postmortem_model import PostmortemError, PostmortemState, facts_from_json
from tocsin.incidents.postmortem_service import PostmortemService, wire
from tocsin.incidents.service import Changes, Declaration, IncidentService
from tocsin.slo.evaluator import SloEvaluator
from tocsin.store.incident_tables import incident_actions
from tocsin.store.incidents import IncidentStore, VersionConflict
from tocsin.store.store import Store
from tocsin.store.times import to_ms

NOW = T0 + timedelta(hours=3, seconds=45)  # minute 180 is complete
BAD = {(172, 0), (172, 20)}  # two failed checks out of 540 in the window


async def monitor_results(store: Store) -> None:
    """Three checks a minute of `api` for three hours; exactly the two in BAD failed."""
    await store.sync_monitors([define("api")])
    writes = [
        result("api", T0 + timedelta(minutes=m, seconds=s), Outcome.DOWN if (m, s) in BAD else Outcome.UP)
        for m in range(180)
        for s in (0, 20, 40)
    ]
    await store.write(writes)


class Script:
    """A running incident service with postmortems wired as the runtime wires them."""

    def __init__(self, store: Store, clock: FakeClock, evaluator: SloEvaluator, threshold: float = 20.0) -> None:
        self.store, self.clock, self.threshold = store, clock, threshold
        self.incidents = IncidentService(IncidentStore(store))
        self.postmortems: PostmortemService = wire(store, self.incidents, evaluator, None, lambda: self.threshold)

    async def at(self, minutes: float) -> datetime:
        await self.clock.advance(minutes * 60 - (self.clock.now() - NOW).total_seconds())
        return self.clock.now()

    async def change(self, iid: int, minutes: float, actor: str = "alice", **changes: object) -> None:
        now = await self.at(minutes)
        version = (await self.incidents.get(iid)).version
        await self.incidents.change(iid, Changes(version=version, **changes), actor, now, None)  # type: ignore[arg-type]


async def scripted(store: Store, threshold: float = 20.0) -> tuple[Script, int]:
    """The API outage: declared at NOW, impact from T0+170m, identified, mitigated, resolved at NOW+10m."""
    await monitor_results(store)
    clock = FakeClock(NOW)
    web = slo("web-availability", service="web", sli={"monitor": "api"})  # another service: not reported
    ev = SloEvaluator(clock, store, Captured())
    await ev.configure([slo(objective=99), web])
    s = Script(store, clock, ev, threshold)
    declared = await s.incidents.declare(
        Declaration("API returns errors", "SEV2", "Requests to the API failed after deploy 1234.", source="console"),
        "alice",
        clock.now(),
        None,
    )
    iid = declared.id
    await s.change(iid, 1, times={"impact_start": T0 + timedelta(minutes=170), "acknowledged": await s.at(1)})
    await s.change(iid, 1, impacts=(Impact("service", "", "api", "major_outage"),))
    await s.change(iid, 2, "bob", status=Status.IDENTIFIED)
    await s.incidents.note(iid, "deploy 1234 broke the connection pool; rolling back", "bob", await s.at(3), None)
    await s.incidents.note(iid, "coffee", "carol", await s.at(4), None)
    timeline = await s.incidents.store.timeline(iid)
    rollback = next(e for e in timeline if e.text.startswith("deploy 1234"))
    coffee = next(e for e in timeline if e.text == "coffee")
    await s.incidents.edit_entry(iid, rollback.id, {"pinned": True}, "alice", await s.at(4), None)
    await s.incidents.edit_entry(iid, coffee.id, {"hidden": True}, "alice", await s.at(4), None)
    await s.change(iid, 5, status=Status.MONITORING)
    await s.change(iid, 10, status=Status.RESOLVED)
    return s, iid


async def test_drafted_on_resolve_with_the_budget_the_slo_engine_computes(store: Store) -> None:
    s, iid = await scripted(store)
    pm = await s.postmortems.get(iid)
    assert (pm.state, pm.version, pm.updated_by) == ("draft", 1, "tocsin")
    facts = facts_from_json(pm.facts)
    [spend] = facts.slos  # web-availability is for another service
    # hand-computed: 2 of the 30 checks of the impact window failed; the 30-day window holds 540
    # checks at a 99% objective, so the budget is 0.01 x 540 = 5.4 bad checks: 2 / 5.4 of it is spent
    assert (spend.slo, spend.bad_events, spend.total_events) == ("api-availability", 2, 30)
    assert spend.consumed == pytest.approx(100 * 2 / 5.4, abs=1e-4)
    assert spend.over_threshold
    assert pm.required
    assert (facts.window_start, facts.window_end) == (T0 + timedelta(minutes=170), NOW + timedelta(minutes=10))
    assert facts.durations.to_detect == (NOW - (T0 + timedelta(minutes=170))).total_seconds()
    assert [m.text for m in facts.timeline if m.pinned] == ["deploy 1234 broke the connection pool; rolling back"]
    assert "coffee" not in [m.text for m in facts.timeline]  # hidden entries are left out
    timeline = await s.incidents.store.timeline(iid)
    assert [e.text for e in timeline if e.kind == "postmortem"] == ["postmortem drafted"]
    golden("scripted.md", pm.body)


async def test_threshold_decides_required(store: Store) -> None:
    s, iid = await scripted(store, threshold=50.0)
    pm = await s.postmortems.get(iid)
    assert not pm.required
    assert not facts_from_json(pm.facts).slos[0].over_threshold


async def test_reopen_and_resolve_again_keeps_the_text_and_edits_never_overwrite(store: Store) -> None:
    s, iid = await scripted(store)
    pm = await s.postmortems.get(iid)
    ours = pm.body.replace("- _A contributing factor_", "- The pool size was not load-tested")
    saved = await s.postmortems.edit(iid, pm.version, ours, "alice", await s.at(20), None)
    assert saved.version == 2
    # bob edited version 1 too: refused, alice's text stays
    with pytest.raises(VersionConflict, match="at version 2, not 1"):
        await s.postmortems.edit(iid, 1, pm.body + "\nbob", "bob", await s.at(21), None)
    await s.change(iid, 30, status=Status.INVESTIGATING)
    await s.change(iid, 40, status=Status.RESOLVED)
    again = await s.postmortems.get(iid)
    assert (again.version, again.body) == (2, ours)

    async def add_action(conn: AsyncConnection) -> None:
        row = {"incident_id": iid, "title": "Load-test pool sizes", "created_at_ms": to_ms(await s.at(41))}
        await conn.execute(insert(incident_actions), row)

    await store.writer.run(add_action)
    refreshed, skipped = await s.postmortems.regenerate(iid, 2, "alice", await s.at(42), None)
    assert skipped == []
    assert "- The pool size was not load-tested" in refreshed.body
    assert "| Load-test pools sizes" not in refreshed.body
    assert "| Load-test pool sizes | prevent | unassigned | open | — |" in refreshed.body
    assert facts_from_json(refreshed.facts).window_end == NOW + timedelta(minutes=40)

    moved = await s.postmortems.move(iid, 3, PostmortemState.IN_REVIEW, "alice", await s.at(43), None)
    with pytest.raises(PostmortemError, match="in draft only"):
        await s.postmortems.regenerate(iid, moved.version, "alice", await s.at(44), None)
    published = await s.postmortems.move(iid, 4, PostmortemState.PUBLISHED, "bob", await s.at(45), None)
    assert published.published_at == await s.at(45)
    with pytest.raises(PostmortemError, match="read-only"):
        await s.postmortems.edit(iid, 5, "new", "bob", await s.at(46), None)
    notes = [e.text for e in await s.incidents.store.timeline(iid) if e.kind == "postmortem"]
    assert notes == ["postmortem drafted", "postmortem draft → in review", "postmortem in review → published"]


async def test_on_demand_only_for_resolved_incidents(store: Store) -> None:
    clock = FakeClock(NOW)
    ev = SloEvaluator(clock, store, Captured())
    s = Script(store, clock, ev)
    open_ = await s.incidents.declare(Declaration("Still burning", "SEV3"), "alice", clock.now(), None)
    with pytest.raises(PostmortemError, match="is investigating"):
        await s.postmortems.create(open_.id, "alice", clock.now(), None)


def test_alerts_of_a_linked_group_follow_the_routing_tree() -> None:
    route = parse_route_tree(
        {"receiver": "ops", "group_by": ["alertname"], "routes": [{"receiver": "db", "matchers": ['service="db"']}]}
    )
    api = Alert({"alertname": "Errors", "service": "api"}, T0)
    db = Alert({"alertname": "Errors", "service": "db"}, T0)
    key = '{}:{alertname="Errors"}'
    assert group_alerts(route, [api, db], key) == [api]
