"""Incident automation driven through the real alert engine and outbox on a FakeClock (SQLite and PostgreSQL).

Alerts are pushed through `AlertEngine.ingest`, groups are flushed by the engine's timers and
notifications delivered to a real webhook sink; the tests read the incidents and timelines
the automation wrote, as the API would.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from tests.pipeline.conftest import T0, Timeline, alert, alerting, close_timeline, make_timeline
from tocsin.alerting.silence import Silence
from tocsin.clock import FakeClock
from tocsin.incidents.automation import IncidentAutomation, group_alerts_of, plug
from tocsin.incidents.config import IncidentsConfig
from tocsin.incidents.model import Impact, Status
from tocsin.incidents.service import Changes, Declaration, IncidentService
from tocsin.labels import parse_matchers
from tocsin.slo.alerts import Sent
from tocsin.slo.evaluator import BurnChange
from tocsin.slo.math import SloReport
from tocsin.slo.math import Status as SloStatus
from tocsin.slo.model import EventsSource, RollingWindow, Slo
from tocsin.store.incident_events import IncidentEvents
from tocsin.store.incidents import Incident, IncidentStore, TimelineEntry
from tocsin.testing import WebhookSink

KEY = '{}:{alertname="ApiDown"}'
API_SLO = Slo("api-availability", 0.999, RollingWindow(timedelta(days=30)), EventsSource(), service="api")


@dataclass
class Rig:
    """A timeline harness with an incident service and the automation plugged into the engine and outbox."""

    tl: Timeline
    service: IncidentService
    automation: IncidentAutomation
    errors: list[str] = field(default_factory=list)

    async def settle(self, t: float) -> None:
        await self.tl.run_until(t)
        await self.automation.flush()

    async def incidents(self) -> list[Incident]:
        return await self.service.store.find()

    async def timeline(self, incident_id: int) -> list[TimelineEntry]:
        return await self.service.store.timeline(incident_id)

    async def kinds(self, incident_id: int) -> list[tuple[float, str]]:
        return [(e.at.timestamp() - T0.timestamp(), e.kind) for e in await self.timeline(incident_id)]

    async def restart(self) -> None:
        """A new automation on the same store and engine, as after a process restart."""
        self.service.listeners.clear()
        self.automation = await automation_for(self.tl, self.service, self.automation_config, self.errors)

    automation_config: dict[str, Any] = field(default_factory=dict)


async def automation_for(
    tl: Timeline, service: IncidentService, config: dict[str, Any], errors: list[str]
) -> IncidentAutomation:
    automation = IncidentAutomation(
        service, IncidentEvents(tl.store), group_alerts_of(tl.engine), lambda: {API_SLO.name: API_SLO}, errors.append
    )
    automation.configure(IncidentsConfig.model_validate(config))
    await automation.start()
    plug(automation, tl.engine, tl.outbox, service)
    return automation


@pytest.fixture
async def rig(db_url: str, sink: WebhookSink, request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    marker = request.node.get_closest_marker("alerting")
    extra: dict[str, Any] = marker.kwargs if marker else {}
    section = alerting(sink.url, **extra.get("route", {}))
    tl = await make_timeline(db_url, section, sink, FakeClock(T0))
    service = IncidentService(IncidentStore(tl.store))
    errors: list[str] = []
    config = extra.get("incidents", {})
    automation = await automation_for(tl, service, config, errors)
    try:
        yield Rig(tl, service, automation, errors, config)
        assert not errors, f"automation failures: {errors}"
        tl.expect_nothing_more()
    finally:
        await close_timeline(tl)


@pytest.mark.alerting(route={"declare_incident": "SEV1"})
async def test_route_flag_declares_once_and_timelines_the_group(rig: Rig) -> None:
    await rig.tl.push(alert("ApiDown", instance="a"))
    await rig.settle(30)
    rig.tl.expect(30, [("ApiDown", "firing")])
    [incident] = await rig.incidents()
    assert (incident.severity, incident.source, incident.alert_groups) == ("SEV1", "route", (KEY,))
    assert incident.title == "ApiDown"
    assert await rig.kinds(incident.id) == [
        (0, "alert_fired"),
        (30, "declared"),
        (30, "alert_group"),
        (30, "notification"),
    ]
    notified = (await rig.timeline(incident.id))[-1]
    assert notified.detail == {
        "group_key": KEY,
        "receiver": "hook",
        "channel": "webhook",
        "reason": "new",
        "outcome": "delivered",
        "error": None,
    }

    await rig.tl.run_until(40)
    await rig.tl.push(alert("ApiDown", start=40, instance="b"))  # joins the linked group: recorded at ingest
    await rig.automation.flush()
    assert (await rig.kinds(incident.id))[-1] == (40, "alert_fired")
    await rig.tl.run_until(120)
    await rig.tl.push(alert("ApiDown", instance="a", end=100), alert("ApiDown", start=40, instance="b"))
    await rig.settle(330)
    rig.tl.expect(330, [("ApiDown", "resolved"), ("ApiDown", "firing")])
    assert len(await rig.incidents()) == 1  # the group is linked to an open incident: never a second one
    assert (await rig.kinds(incident.id))[4:] == [(40, "alert_fired"), (100, "alert_resolved"), (330, "notification")]
    resolved = [e for e in await rig.timeline(incident.id) if e.kind == "alert_resolved"]
    assert resolved[0].detail["labels"] == {"alertname": "ApiDown", "instance": "a"}

    before = await rig.kinds(incident.id)
    await rig.restart()  # the alert states come back from the timeline: nothing is written twice
    await rig.tl.run_until(600)
    await rig.tl.push(alert("ApiDown", start=40, instance="b"))
    await rig.settle(630)  # b unchanged: no notification, and no entry
    assert await rig.kinds(incident.id) == before


@pytest.mark.alerting(route={"declare_incident": "SEV2"})
async def test_a_resolved_incident_is_not_declared_again_until_the_group_fires_anew(rig: Rig) -> None:
    await rig.tl.push(alert("ApiDown"))
    await rig.settle(30)
    rig.tl.expect(30, [("ApiDown", "firing")])
    [first] = await rig.incidents()
    await rig.service.change(
        first.id, Changes(first.version, status=Status.RESOLVED), "alice", T0 + timedelta(seconds=60), None
    )
    for t in (60, 120, 180, 240, 300):  # still firing (Prometheus re-sends it)
        await rig.tl.run_until(t)
        await rig.tl.push(alert("ApiDown"))
    await rig.settle(330)  # flushed, unchanged: nobody is notified again
    assert len(await rig.incidents()) == 1  # same episode: no new incident
    await rig.tl.push(alert("ApiDown", end=340))
    await rig.settle(630)
    rig.tl.expect(630, [("ApiDown", "resolved")], status="resolved")
    await rig.tl.run_until(700)
    await rig.tl.push(alert("ApiDown", start=700))  # fires again: a new episode
    await rig.settle(730)
    rig.tl.expect(730, [("ApiDown", "firing")])
    second, _ = await rig.incidents()
    assert second.id != first.id
    assert second.alert_groups == (KEY,)
    assert await rig.kinds(second.id) == [
        (700, "alert_fired"),
        (730, "declared"),
        (730, "alert_group"),
        (730, "notification"),
    ]
    assert [k for _, k in await rig.kinds(first.id)].count("notification") == 1  # resolved: no longer followed


async def test_links_made_elsewhere_are_followed_while_the_incident_is_open(rig: Rig) -> None:
    await rig.tl.push(alert("ApiDown", instance="a"))
    await rig.settle(30)
    rig.tl.expect(30, [("ApiDown", "firing")])
    assert await rig.incidents() == []  # no rule: nothing declared
    at = T0 + timedelta(seconds=30)
    incident = await rig.service.declare(Declaration("By hand", "SEV3", group_key=KEY), "alice", at, None)
    await rig.automation.refresh()  # the declare did not go through the automation: picked up from the store
    await rig.automation.flush()
    assert await rig.kinds(incident.id) == [(0, "alert_fired"), (30, "declared"), (30, "alert_group")]

    resolved = await rig.service.change(
        incident.id, Changes(incident.version, status=Status.RESOLVED), "alice", at, None
    )
    await rig.tl.run_until(40)
    await rig.tl.push(alert("ApiDown", start=40, instance="b"))  # not followed any more
    await rig.automation.flush()
    assert len(await rig.kinds(incident.id)) == 4  # + status
    reopened = T0 + timedelta(seconds=45)
    await rig.service.change(
        incident.id, Changes(resolved.version, status=Status.INVESTIGATING), "alice", reopened, None
    )
    await rig.automation.flush()  # reopened: followed again, and b is recorded once
    await rig.tl.push(alert("ApiDown", start=40, instance="b"))
    await rig.automation.refresh()
    await rig.automation.flush()
    assert (await rig.kinds(incident.id))[-2:] == [(40, "alert_fired"), (45, "status")]
    assert [k for _, k in await rig.kinds(incident.id)].count("alert_fired") == 2


RULES = {
    "declare": [
        {"name": "payments", "matchers": ['service="payments"', 'severity=~"page|critical"'], "severity": "SEV2"}
    ],
    "declare_on_slo_page": "SEV3",
}


@pytest.mark.alerting(incidents=RULES)
async def test_rules_and_slo_pages_declare_with_their_source(rig: Rig) -> None:
    await rig.tl.push(
        alert("Checkout", service="payments", severity="critical"),
        alert("Latency", service="payments", severity="warning"),
        alert("SLOBurnRate", slo="api-availability", severity="page", service="api"),
        alert("SLOBurnRate", slo="api-availability", severity="ticket", service="api", long_window="6h"),
    )
    await rig.settle(30)
    assert len(rig.tl.seen) == 3  # one notification per alertname group
    rig.tl.checked = 3
    found = {i.source: i for i in await rig.incidents()}
    assert sorted(found) == ["rule:payments", "slo:api-availability"]
    assert (found["rule:payments"].severity, found["rule:payments"].title) == ("SEV2", "Checkout")
    assert found["slo:api-availability"].severity == "SEV3"
    assert found["rule:payments"].summary.startswith("Declared automatically (rule:payments) when alert group")


@pytest.mark.alerting(route={"declare_incident": "SEV1"})
async def test_muted_alerts_declare_nothing(rig: Rig) -> None:
    silence = Silence(
        str(uuid.uuid4()), tuple(parse_matchers('{alertname="Noisy"}')), T0, T0 + timedelta(hours=1), "me", "x"
    )
    await rig.tl.engine.put_silence(silence)
    await rig.tl.push(alert("Noisy"))
    await rig.settle(60)
    assert await rig.incidents() == []


@pytest.mark.alerting(route={"declare_incident": "SEV1"})
async def test_acknowledgement_is_timelined_and_sets_the_time_once(rig: Rig) -> None:
    await rig.tl.push(alert("ApiDown"))
    await rig.settle(30)
    rig.tl.expect(30, [("ApiDown", "firing")])
    [incident] = await rig.incidents()
    acked = T0 + timedelta(seconds=90)
    await rig.automation.acknowledged(KEY, "alice", 1, acked)
    await rig.automation.acknowledged(KEY, "bob", 1, acked + timedelta(seconds=5))
    await rig.automation.acknowledged("unlinked-group", "carol", 1, acked)
    await rig.automation.flush()
    after = (await rig.incidents())[0]
    assert after.times.acknowledged == acked
    entries = [e for e in await rig.timeline(incident.id) if e.kind in ("acknowledged", "time")]
    assert [(e.kind, e.actor) for e in entries] == [
        ("time", "tocsin"),
        ("acknowledged", "alice"),
        ("acknowledged", "bob"),
    ]
    assert entries[1].detail == {"group_key": KEY, "by": "alice", "page": 1}


def report(consumed: float) -> SloReport:
    return SloReport(
        0.99, 0.999, {"1h": 14.4}, consumed, 1 - consumed, 43.2, 0.0, 0.0, 0.0, None, SloStatus.OK, False, ()
    )


async def test_slo_budget_and_burn_alerts_of_affected_services(rig: Rig) -> None:
    incident = await rig.service.declare(Declaration("API slow", "SEV2"), "alice", T0, None)
    impacts = (Impact("service", "", "api", "major_outage"),)
    await rig.service.change(incident.id, Changes(incident.version, impacts=impacts), "alice", T0, None)
    other = Slo("db", 0.99, RollingWindow(timedelta(days=30)), EventsSource(), service="db")

    async def evaluate(at: float, consumed: list[float], changes: list[BurnChange] = []) -> None:  # noqa: B006
        snapshot = SimpleNamespace(evaluation=SimpleNamespace(budget=SimpleNamespace(consumed=np.array(consumed))))
        await rig.automation.slo_evaluated([API_SLO, other], snapshot, changes, T0 + timedelta(seconds=at))  # type: ignore[arg-type]

    await evaluate(60, [0.3, 0.9])  # first sight: the level is noted, not reported
    await evaluate(120, [0.8, 1.0])  # crossed 50 % and 75 %; the db SLO is not this incident's
    sent = Sent("page-1h", {"alertname": "SLOBurnRate", "slo": API_SLO.name, "severity": "page"}, T0)
    await evaluate(180, [0.8, 1.0], [BurnChange(API_SLO, None, sent, report(0.8))])
    await evaluate(240, [0.2, 1.0], [BurnChange(API_SLO, sent, None, report(0.2))])  # the window rolled on
    await evaluate(300, [0.3, 1.0])  # 25 % crossed again
    await rig.automation.flush()
    entries = [e for e in await rig.timeline(incident.id) if e.kind.startswith("slo_")]
    assert [(e.at.timestamp() - T0.timestamp(), e.kind, e.detail.get("threshold")) for e in entries] == [
        (120, "slo_budget", 50),
        (120, "slo_budget", 75),
        (180, "slo_alert", None),
        (240, "slo_alert", None),
        (300, "slo_budget", 25),
    ]
    assert entries[2].text == "SLO api-availability burn-rate alert fired (page, page-1h)"
    assert entries[2].detail["budget_remaining"] == "20.00%"


class Broken(IncidentEvents):
    async def append(self, entries: Any) -> None:
        raise RuntimeError("disk full")


@pytest.mark.alerting(route={"declare_incident": "SEV1"})
async def test_failures_are_counted_and_never_reach_the_pipeline(rig: Rig) -> None:
    rig.automation._events = Broken(rig.tl.store)

    async def refuse(*args: Any) -> Incident:
        raise RuntimeError("no")

    declare = rig.service.declare
    rig.service.declare = refuse  # type: ignore[method-assign]
    await rig.tl.push(alert("ApiDown"))
    await rig.settle(30)
    rig.tl.expect(30, [("ApiDown", "firing")])  # notified all the same
    assert rig.errors == ["declare"]
    rig.service.declare = declare  # type: ignore[method-assign]
    await rig.tl.run_until(200)
    await rig.tl.push(alert("ApiDown", start=200, instance="b"))
    await rig.settle(330)
    rig.tl.expect(330, [("ApiDown", "firing"), ("ApiDown", "resolved")])
    assert len(await rig.incidents()) == 1
    assert rig.errors == ["declare", "write"]  # the entries of that flush are dropped, not retried forever
    rig.errors.clear()
