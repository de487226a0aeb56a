"""A timeline harness for the alert pipeline, in the style of Alertmanager's acceptance tests.

The engine and outbox run in-process on a FakeClock against a real database (SQLite and
PostgreSQL) and a real HTTP webhook sink. `Timeline.run_until(t)` moves time one second
at a time, flushing due groups and delivering what was queued; every notification is
recorded with the fake time it arrived, and a test fails on any it did not expect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
import pytest

from tests.store.conftest import db_url  # noqa: F401 - the parametrised database fixture
from tocsin.clock import FakeClock
from tocsin.config.models import TocsinConfig
from tocsin.notify.outbox import OutboxWorker
from tocsin.pipeline.engine import AlertEngine, Incoming
from tocsin.pipeline.setup import alerting_setup
from tocsin.store.alerting import AlertStore
from tocsin.store.store import Store
from tocsin.testing import WebhookSink, webhook_sink

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class Received:
    """One notification as the sink got it, at fake time `at` (seconds since T0)."""

    at: float
    body: dict[str, Any]

    @property
    def alertnames(self) -> list[tuple[str, str]]:
        return [(a["labels"].get("alertname", ""), a["status"]) for a in self.body["alerts"]]


@dataclass
class Timeline:
    """Drives one engine through fake time and checks what arrived."""

    clock: FakeClock
    store: Store
    engine: AlertEngine
    outbox: OutboxWorker
    sink: WebhookSink
    seen: list[Received] = field(default_factory=list)
    checked: int = 0

    def t(self) -> float:
        return self.clock.timestamp() - T0.timestamp()

    async def push(self, *alerts: Incoming) -> None:
        await self.engine.ingest(list(alerts), "test")

    async def run_until(self, t: float) -> None:
        """Move time to `t` seconds after T0, stopping at every group deadline, flushing and delivering."""
        while self.t() < t:
            deadline = self.engine.dispatcher.next_deadline()
            stop = t if deadline is None else min(t, max(deadline - T0.timestamp(), self.t()))
            await self.clock.advance(max(stop - self.t(), 0.0) or min(1.0, t - self.t()))
            await self.engine.tick()
            while await self.outbox.deliver_due():
                pass
            self._collect()

    def _collect(self) -> None:
        while len(self.seen) < len(self.sink.requests):
            raw = self.sink.requests[len(self.seen)]
            self.seen.append(Received(self.t(), orjson.loads(raw["body"])))

    def expect(self, at: float, alerts: list[tuple[str, str]], status: str = "firing") -> Received:
        """The next unchecked notification arrived at `at` and carried exactly `alerts` (name, status).

        Groups flushed at the same instant are sent concurrently, so among the notifications that
        arrived at `at` the matching one is taken, whatever order they were received in.
        """
        assert len(self.seen) > self.checked, f"no notification at {at}s; got {[r.at for r in self.seen]}"
        for j in range(self.checked, len(self.seen)):
            other = self.seen[j]
            if other.at != at:
                break
            if sorted(other.alertnames) == sorted(alerts) and other.body["status"] == status:
                self.seen[self.checked], self.seen[j] = other, self.seen[self.checked]
                break
        got = self.seen[self.checked]
        self.checked += 1
        assert got.at == at, f"notification expected at {at}s, arrived at {got.at}s"
        assert sorted(got.alertnames) == sorted(alerts)
        assert got.body["status"] == status
        return got

    def expect_nothing_more(self) -> None:
        """Fail on any notification nobody asked for."""
        extra = [(r.at, r.alertnames) for r in self.seen[self.checked :]]
        assert not extra, f"unexpected notifications: {extra}"


def alerting(sink_url: str, **route: Any) -> dict[str, Any]:
    """An alertmanager.yml section with one webhook receiver and the given root route options."""
    return {
        "route": {
            "receiver": "hook",
            "group_by": ["alertname"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            **route,
        },
        "receivers": [{"name": "hook", "webhook_configs": [{"url": sink_url, "send_resolved": True}]}],
    }


def alert(name: str, start: float = 0, end: float | None = None, **labels: str) -> Incoming:
    """An incoming alert starting `start` seconds after T0 (and ending at `end` if given)."""
    return Incoming(
        labels={"alertname": name, **labels},
        starts_at=T0 + timedelta(seconds=start),
        ends_at=T0 + timedelta(seconds=end) if end is not None else None,
    )


@pytest.fixture
async def sink() -> AsyncIterator[WebhookSink]:
    async with webhook_sink() as s:
        yield s


async def make_timeline(url: str, section: dict[str, Any], sink: WebhookSink, clock: FakeClock) -> Timeline:
    store = await Store.open(url)
    alert_store = AlertStore(store)
    setup = alerting_setup(TocsinConfig.model_validate({"alerting": section}))
    http = aiohttp.ClientSession()
    outbox = OutboxWorker(clock, alert_store, lambda r, i: setup.integrations[r][i], http)
    engine = AlertEngine(clock, alert_store, setup, outbox.wake)
    await engine.start()
    timeline = Timeline(clock, store, engine, outbox, sink)
    timeline._http = http  # type: ignore[attr-defined]
    return timeline


async def close_timeline(timeline: Timeline) -> None:
    await timeline._http.close()  # type: ignore[attr-defined]
    await timeline.store.close()
