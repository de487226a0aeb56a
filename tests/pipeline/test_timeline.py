"""Alertmanager's notification timing, reproduced: group_wait, group_interval, repeat, resolve, silence, inhibit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from tests.pipeline.conftest import T0, Timeline, alert, alerting, close_timeline, make_timeline
from tocsin.alerting.silence import Silence
from tocsin.clock import FakeClock
from tocsin.labels import parse_matchers
from tocsin.testing import WebhookSink


@pytest.fixture
async def timeline(db_url: str, sink: WebhookSink, request: pytest.FixtureRequest) -> AsyncIterator[Timeline]:
    marker = request.node.get_closest_marker("alerting")
    extra: dict[str, Any] = marker.kwargs if marker else {}
    section = alerting(sink.url, **extra.get("route", {}))
    section.update({k: v for k, v in extra.items() if k != "route"})
    tl = await make_timeline(db_url, section, sink, FakeClock(T0))
    try:
        yield tl
        tl.expect_nothing_more()
    finally:
        await close_timeline(tl)


async def test_group_wait_then_group_interval(timeline: Timeline) -> None:
    await timeline.push(alert("Disk", instance="a"))
    await timeline.run_until(29)
    assert not timeline.seen  # group_wait holds the first notification
    await timeline.run_until(30)
    timeline.expect(30, [("Disk", "firing")])
    await timeline.run_until(40)
    await timeline.push(alert("Disk", start=40, instance="b"))  # joins the group after its first flush
    await timeline.run_until(329)
    await timeline.run_until(330)  # next group_interval tick: 30 + 300
    # a was never re-sent, so resolve_timeout (5m) ended it at 300 s; b is new and firing
    timeline.expect(330, [("Disk", "resolved"), ("Disk", "firing")])


async def test_unchanged_group_repeats_after_repeat_interval(timeline: Timeline) -> None:
    await timeline.push(alert("Load"))
    await timeline.run_until(30)
    timeline.expect(30, [("Load", "firing")])
    # Keep re-sending like Prometheus does, so resolve_timeout never ends the alert.
    for t in range(60, 4 * 3600 + 331, 60):
        await timeline.run_until(t)
        await timeline.push(alert("Load"))
    # 4h repeat, rounded up to the group_interval grid: the first flush at or after 30 + 4h.
    timeline.expect(30 + 4 * 3600, [("Load", "firing")])


async def test_resolved_alert_is_notified_at_the_next_flush(timeline: Timeline) -> None:
    await timeline.push(alert("Up"))
    await timeline.run_until(30)
    timeline.expect(30, [("Up", "firing")])
    await timeline.run_until(100)
    await timeline.push(alert("Up", end=100))
    await timeline.run_until(330)
    timeline.expect(330, [("Up", "resolved")], status="resolved")
    await timeline.run_until(1000)  # the resolved alert left the group: nothing more


async def test_alert_without_end_resolves_after_resolve_timeout(timeline: Timeline) -> None:
    await timeline.push(alert("Quiet"))
    await timeline.run_until(30)
    timeline.expect(30, [("Quiet", "firing")])
    await timeline.run_until(630)  # not re-sent: ends at 0 + 5m; flushes at 330 and 630
    timeline.expect(330, [("Quiet", "resolved")], status="resolved")


async def test_silenced_alerts_are_not_notified(timeline: Timeline) -> None:
    silence = Silence(
        str(uuid.uuid4()), tuple(parse_matchers('{alertname="Noisy"}')), T0, T0 + timedelta(hours=1), "me", "test"
    )
    await timeline.engine.put_silence(silence)
    await timeline.push(alert("Noisy"), alert("Real"))
    await timeline.run_until(30)
    timeline.expect(30, [("Real", "firing")])
    await timeline.run_until(400)  # both end by resolve_timeout at 300 s; only Real was ever notified
    timeline.expect(330, [("Real", "resolved")], status="resolved")


@pytest.mark.alerting(
    inhibit_rules=[
        {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'], "equal": ["cluster"]}
    ],
)
async def test_inhibited_alerts_are_not_notified(timeline: Timeline) -> None:
    await timeline.push(
        alert("DatacenterDown", severity="critical", cluster="eu"),
        alert("LatencyHigh", severity="warning", cluster="eu"),  # inhibited: same cluster
        alert("LatencyHigh2", severity="warning", cluster="us"),  # not inhibited: other cluster
    )
    await timeline.run_until(30)
    timeline.expect(30, [("DatacenterDown", "firing")])
    timeline.expect(30, [("LatencyHigh2", "firing")])


@pytest.mark.alerting(route={"group_wait": "10s", "group_interval": "1m"})
async def test_an_old_alert_flushes_a_new_group_at_once(timeline: Timeline) -> None:
    await timeline.run_until(100)
    await timeline.push(alert("Stale", start=0))  # started 100 s ago, longer than group_wait
    await timeline.run_until(101)
    timeline.expect(101, [("Stale", "firing")])


async def test_restart_neither_renotifies_nor_forgets(db_url: str, sink: WebhookSink) -> None:
    clock = FakeClock(T0)
    first = await make_timeline(db_url, alerting(sink.url), sink, clock)
    await first.push(alert("Persist"))
    await first.run_until(30)
    first.expect(30, [("Persist", "firing")])
    await first.run_until(60)
    await first.push(alert("Persist", end=60))
    await close_timeline(first)  # "crash" before the resolved notification was due

    second = await make_timeline(db_url, alerting(sink.url), sink, clock)
    second.seen, second.checked = first.seen, first.checked
    await second.run_until(330)  # the group timer resumed: resolved at the original 330 s flush
    second.expect(330, [("Persist", "resolved")], status="resolved")
    await second.run_until(700)
    second.expect_nothing_more()
    await close_timeline(second)
