"""Escalation acceptance on a fake clock: who is paged when, through the real pipeline, outbox and HTTP.

The alert engine, the on-call engine and the outbox run in-process against a real database
and a webhook sink that stands for everyone's phone. Every page is recorded with the fake
time it arrived and the person it was for; a test fails on any page it did not expect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import aiohttp
import orjson
import pytest

from tests.pipeline.conftest import T0
from tocsin.clock import FakeClock
from tocsin.config.models import TocsinConfig
from tocsin.notify.outbox import Integration, OutboxWorker
from tocsin.oncall.engine import OncallEngine
from tocsin.oncall.groups import EngineGroups
from tocsin.oncall.settings import compile_settings
from tocsin.pipeline.engine import AlertEngine, Incoming
from tocsin.pipeline.setup import alerting_setup
from tocsin.store.alerting import AlertStore
from tocsin.store.oncall import OncallStore
from tocsin.store.store import Store
from tocsin.testing import WebhookSink

MIN = 60.0


@dataclass
class Page:
    """One page as the sink got it: fake seconds after the start, for whom, why, and its links."""

    at: float
    user: str
    reason: str
    links: dict[str, str]
    summary: str = ""


@dataclass
class Pager:
    """Drives the alert engine, the on-call engine and the outbox through fake time."""

    start: datetime
    clock: FakeClock
    store: Store
    alerts: AlertEngine
    oncall: OncallEngine
    outbox: OutboxWorker
    sink: WebhookSink
    http: aiohttp.ClientSession
    seen: list[Page] = field(default_factory=list)
    checked: int = 0

    def t(self) -> float:
        return self.clock.timestamp() - self.start.timestamp()

    async def fire(self, name: str = "Down", **labels: str) -> None:
        """An alert that fires until told otherwise (like tocsin's own sources)."""
        await self.alerts.ingest([Incoming({"alertname": name, **labels})], "test", timeout=False)

    async def end(self, name: str = "Down", **labels: str) -> None:
        await self.alerts.ingest([Incoming({"alertname": name, **labels}, ends_at=self.clock.now())], "test")

    def group(self) -> str:
        [key] = self.alerts.dispatcher.groups
        return key

    async def run_until(self, t: float) -> None:
        """Move to `t` seconds after the start, stopping at every group flush and every due page."""
        while self.t() < t:
            stops = [t]
            if (deadline := self.alerts.dispatcher.next_deadline()) is not None:
                stops.append(deadline - self.start.timestamp())
            if (due := self.oncall.next_due()) is not None:
                stops.append((due - self.start).total_seconds())
            await self.clock.advance(max(min(stops) - self.t(), 0.0) or min(1.0, t - self.t()))
            await self.step()

    async def step(self) -> None:
        await self.alerts.tick()
        await self.oncall.tick()
        while await self.outbox.deliver_due():
            pass
        self._collect()

    def _collect(self) -> None:
        while len(self.seen) < len(self.sink.requests):
            body = orjson.loads(self.sink.requests[len(self.seen)]["body"])
            summary = body["alerts"][0]["annotations"].get("summary", "") if body["alerts"] else ""
            self.seen.append(
                Page(self.t(), body["receiver"].removeprefix("oncall:"), "", body.get("links", {}), summary)
            )

    def expect(self, at: float, *users: str) -> list[Page]:
        """The next pages arrived at `at`, one for each of `users` (in any order)."""
        got = self.seen[self.checked : self.checked + len(users)]
        self.checked += len(got)
        assert sorted((p.at, p.user) for p in got) == sorted((at, u) for u in users), f"expected {users} at {at}s"
        return got

    def expect_nothing_more(self) -> None:
        extra = [(p.at, p.user) for p in self.seen[self.checked :]]
        assert not extra, f"unexpected pages: {extra}"


def people(hook: str, *names: str) -> list[dict[str, Any]]:
    """Users whose only contact method is a webhook to the sink."""
    return [{"name": n, "contact_methods": [{"name": "hook", "kind": "webhook", "url": hook}]} for n in names]


def oncall_section(hook: str, **policy: Any) -> dict[str, Any]:
    """alice and bob rotate daily at 09:00 London time; carol is the backstop."""
    return {
        "users": people(hook, "alice", "bob", "carol"),
        "schedules": [
            {
                "name": "primary",
                "time_zone": "Europe/London",
                "layers": [{"name": "daily", "participants": ["alice", "bob"], "shift": "1d", "start": "2026-01-05"}],
            }
        ],
        "escalation_policies": [
            {
                "name": "core",
                "steps": [
                    {"targets": [{"schedule": "primary"}], "delay": "10m"},
                    {"targets": [{"user": "carol"}], "delay": "10m"},
                ],
                **policy,
            }
        ],
        "handoff_notice": None,
    }


ALERTING = {
    "route": {"receiver": "pager", "group_by": ["alertname"], "group_wait": "30s", "group_interval": "5m"},
    "receivers": [{"name": "pager", "escalation_policy": "core"}],
}


async def make_pager(url: str, sink: WebhookSink, start: datetime, section: dict[str, Any]) -> Pager:
    clock = FakeClock(start)
    store = await Store.open(url)
    config = TocsinConfig.model_validate(
        {"alerting": ALERTING, "server": {"external_url": "https://t.example"}, "oncall": section}
    )
    setup = alerting_setup(config)
    oncall_store = OncallStore(store)
    http = aiohttp.ClientSession()
    oncall = OncallEngine(clock, oncall_store, lambda: None)

    def lookup(receiver: str, index: int) -> Integration | None:
        return (
            oncall.integration(receiver, index)
            if receiver.startswith("oncall:")
            else setup.integrations[receiver][index]
        )

    outbox = OutboxWorker(clock, AlertStore(store), lookup, http)
    alerts = AlertEngine(clock, AlertStore(store), setup, outbox.wake, escalation=oncall)
    await alerts.start()
    settings = compile_settings(config.oncall, setup.config, setup.external_url)
    await oncall.start(settings, EngineGroups(alerts))
    return Pager(start, clock, store, alerts, oncall, outbox, sink, http)


@pytest.fixture
async def pager(db_url: str, sink: WebhookSink, request: pytest.FixtureRequest) -> AsyncIterator[Pager]:
    marker = request.node.get_closest_marker("alerting")
    policy: dict[str, Any] = marker.kwargs if marker else {}
    p = await make_pager(db_url, sink, T0, oncall_section(sink.url, **policy))
    try:
        yield p
        p.expect_nothing_more()
    finally:
        await p.http.close()
        await p.store.close()


def token(page: Page, action: str) -> str:
    return unquote(page.links[action].rsplit("/ack/", 1)[1])


# T0 is 2026-06-01 12:00 UTC (13:00 in London), 147 daily shifts after alice's first: bob is on call.


async def test_steps_escalate_until_acknowledged(pager: Pager) -> None:
    await pager.fire()
    await pager.run_until(30)  # group_wait: the first flush starts paging
    [first] = pager.expect(30, "bob")  # step 1: whoever the schedule has on call
    await pager.run_until(30 + 10 * MIN - 1)
    assert len(pager.seen) == 1  # nothing before the step's delay has passed
    await pager.run_until(30 + 10 * MIN)
    [second] = pager.expect(30 + 10 * MIN, "carol")  # no ack within 10m: step 2
    claim, outcome = await pager.oncall.use_link(token(second, "Acknowledge"))
    assert (claim.user, outcome.status) == ("carol", "done")
    await pager.run_until(6 * 3600)  # acknowledged: nothing more, ever (no ack_timeout)
    esc = pager.oncall.escalation(pager.group())
    assert esc is not None
    assert [a.by for a in esc.acks] == ["carol"]
    assert first.links.keys() == {"Acknowledge", "Resolve"}


@pytest.mark.alerting(ack_timeout="30m")
async def test_an_expired_ack_resumes_escalation_while_the_group_fires(pager: Pager) -> None:
    await pager.fire()
    await pager.run_until(30)
    [page] = pager.expect(30, "bob")
    await pager.run_until(5 * MIN)
    await pager.oncall.acknowledge(pager.group(), "bob")
    await pager.run_until(5 * MIN + 30 * MIN)  # the ack lapses 30m later: bob's step is paged again
    pager.expect(35 * MIN, "bob")
    await pager.run_until(45 * MIN)  # and escalation carries on from there
    pager.expect(45 * MIN, "carol")
    await pager.run_until(3 * 3600)  # the last step paged and no repeat: done
    assert page.summary == ""


async def test_resolving_stops_escalation(pager: Pager) -> None:
    await pager.fire()
    await pager.run_until(30)
    pager.expect(30, "bob")
    await pager.run_until(5 * MIN)
    await pager.end()  # the source says it is over
    await pager.run_until(3 * 3600)  # step 2 never comes
    assert not pager.oncall.active


async def test_resolve_link_ends_the_alerts_and_a_used_link_is_refused(pager: Pager) -> None:
    await pager.fire()
    await pager.run_until(30)
    [page] = pager.expect(30, "bob")
    key = pager.group()
    await pager.oncall.use_link(token(page, "Resolve"))
    assert all(a.resolved_at(pager.clock.now()) for a in pager.alerts.dispatcher.groups[key].alerts.values())
    with pytest.raises(ValueError, match="already used"):
        await pager.oncall.use_link(token(page, "Resolve"))
    await pager.run_until(3 * 3600)


async def test_a_trigger_after_resolve_is_a_new_incident_and_old_links_do_not_ack_it(pager: Pager) -> None:
    await pager.fire()
    await pager.run_until(30)
    [old] = pager.expect(30, "bob")
    await pager.run_until(5 * MIN)
    await pager.end()
    await pager.run_until(10 * MIN)  # the resolved alert left the group; the escalation stopped
    assert not pager.oncall.active
    await pager.fire()
    await pager.run_until(10 * MIN + 30)  # a new group: group_wait, then paging starts again
    [new] = pager.expect(10 * MIN + 30, "bob")
    _, outcome = await pager.oncall.use_link(token(old, "Acknowledge"))
    assert outcome.status == "stale"  # the old link is bound to incident 1
    esc = pager.oncall.escalation(pager.group())
    assert esc is not None
    assert esc.incident == 2
    assert not esc.acks
    _, outcome = await pager.oncall.use_link(token(new, "Acknowledge"))
    assert outcome.status == "done"
    await pager.run_until(3 * 3600)


async def test_a_step_after_a_dst_handoff_pages_the_new_person(db_url: str, sink: WebhookSink) -> None:
    # 2026-03-29: London springs forward at 01:00 UTC, so the 09:00 handoff is at 08:00 UTC.
    start = datetime(2026, 3, 29, 7, 50, tzinfo=UTC)  # 08:50 BST: still alice's shift of the 28th
    p = await make_pager(
        db_url,
        sink,
        start,
        oncall_section(
            sink.url,
            steps=[
                {"targets": [{"schedule": "primary"}], "delay": "15m"},
                {"targets": [{"schedule": "primary"}], "delay": "15m"},
            ],
        ),
    )
    try:
        await p.fire()
        await p.run_until(30)
        p.expect(30, "alice")  # 07:50:30 UTC, 08:50 BST
        await p.run_until(30 + 15 * MIN)  # 08:05 UTC = 09:05 BST: after the handoff
        p.expect(30 + 15 * MIN, "bob")
        await p.run_until(3 * 3600)
        p.expect_nothing_more()
    finally:
        await p.http.close()
        await p.store.close()


async def test_escalation_survives_a_restart(db_url: str, sink: WebhookSink) -> None:
    first = await make_pager(db_url, sink, T0, oncall_section(sink.url))
    await first.fire()
    await first.run_until(30)
    first.expect(30, "bob")
    await first.http.close()
    await first.store.close()
    second = await make_pager(db_url, sink, T0 + timedelta(seconds=first.t()), oncall_section(sink.url))
    second.start, second.seen, second.checked = T0, first.seen, first.checked
    try:
        await second.run_until(30 + 10 * MIN)
        second.expect(30 + 10 * MIN, "carol")  # step 2 on time, step 1 not repeated
        await second.run_until(2 * 3600)
        second.expect_nothing_more()
    finally:
        await second.http.close()
        await second.store.close()


async def test_the_next_person_on_call_is_told_an_hour_ahead(db_url: str, sink: WebhookSink) -> None:
    # The next 09:00 London handoff after T0 is 2026-06-02 08:00 UTC (BST): alice takes over from bob.
    p = await make_pager(db_url, sink, T0, {**oncall_section(sink.url), "handoff_notice": "1h"})
    try:
        await p.run_until(19 * 3600 - 1)
        assert not p.seen
        await p.run_until(20 * 3600)
        [notice] = p.expect(19 * 3600, "alice")
        assert (
            notice.summary
            == "You are on call for primary from Tue 2 Jun 2026 08:00 UTC until Wed 3 Jun 2026 08:00 UTC."
        )
        assert notice.links == {}  # nothing to acknowledge
        await p.run_until(43 * 3600)  # and bob a day later
        p.expect(43 * 3600, "bob")
        p.expect_nothing_more()
    finally:
        await p.http.close()
        await p.store.close()
