"""Runs one check, folds its result into the monitor's state, stores it, and raises alerts.

This is the thin shell around the pure parts (judge, evaluate, heartbeat, alerts). State
is read and written without an `await` in between, so concurrent pings and scheduled runs
of the same monitor cannot interleave their updates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from prometheus_client import Counter, Histogram

from tocsin.alerting.ingest import Ingest
from tocsin.checks import heartbeat
from tocsin.checks.alerts import alerts_for
from tocsin.checks.conditions import CompiledCondition
from tocsin.checks.evaluate import Transition, apply_result, pause
from tocsin.checks.judge import judge
from tocsin.checks.probes import ProbeContext, run_probe
from tocsin.checks.result import CheckResult, MonitorStatus, Outcome
from tocsin.clock import Clock
from tocsin.config.models import HeartbeatMonitor, MonitorBase
from tocsin.metrics import Metrics
from tocsin.store.access_records import AuditEntry
from tocsin.store.records import MonitorRecord, MonitorState, ResultWrite
from tocsin.store.store import Store

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Pings:
    """The last heartbeat signals of one monitor."""

    last_ping: datetime | None = None
    last_start: datetime | None = None


@dataclass(frozen=True, slots=True)
class Monitored:
    """A monitor as configured, with its conditions compiled once."""

    spec: MonitorBase
    kind: str
    conditions: list[CompiledCondition]


class CheckRunner:
    """Owns the in-memory state of every monitor and the path from probe to store."""

    def __init__(
        self,
        clock: Clock,
        store: Store,
        ingest: Ingest,
        metrics: Metrics,
        probes: ProbeContext,
        external_url: str | None = None,
    ) -> None:
        self._clock, self._store, self._ingest, self._metrics = clock, store, ingest, metrics
        self._probes = probes
        self.external_url = external_url
        self.watching_since = clock.now()
        self.monitors: dict[str, Monitored] = {}
        self.states: dict[str, MonitorState] = {}
        self.paused: set[str] = set()
        self.pings: dict[str, Pings] = {}
        self.change_listeners: list[Callable[[str], None]] = []  # called with the monitor's name on a state change
        self._children: dict[tuple[str, Outcome], tuple[Counter, Histogram]] = {}

    def configure(self, monitors: dict[str, Monitored], records: dict[str, MonitorRecord]) -> None:
        """Adopt a new monitor set; state of monitors that stay is kept, new ones load from the store."""
        self.monitors = monitors
        for name, record in records.items():
            if name not in self.states:
                self.states[name] = record.state
                self.pings[name] = Pings(record.last_ping_at, record.last_start_at)
            if record.paused:
                self.paused.add(name)
        for gone in set(self.states) - set(monitors):
            self.states.pop(gone, None)
            self.pings.pop(gone, None)
            self.paused.discard(gone)

    def state(self, name: str) -> MonitorState:
        """The current state of a monitor (pending if never seen)."""
        return self.states.get(name, MonitorState())

    async def run(self, name: str, due: float) -> None:
        """The scheduler's callback: probe (or judge a heartbeat deadline), then record."""
        monitored = self.monitors.get(name)
        if monitored is None or name in self.paused:
            return
        now = self._clock.now()
        spec = monitored.spec
        if isinstance(spec, HeartbeatMonitor):
            pings = self.pings.setdefault(name, Pings())
            result = heartbeat.judge_deadline(spec, self.watching_since, pings.last_ping, pings.last_start, now)
        else:
            observation = await run_probe(spec, self._probes, now)
            result = judge(spec, observation, monitored.conditions, now)
        await self.record(spec, result)

    async def record(self, spec: MonitorBase, result: CheckResult, *, durable: bool = False) -> None:
        """Fold a result into state, queue it for the store, and ingest alerts on a change."""
        before = self.state(spec.name)
        after, change = apply_result(before, result, spec.failure_threshold, spec.success_threshold)
        self.states[spec.name] = after
        self._count(spec, result)
        write = [ResultWrite(result, after)]
        if durable:
            await self._store.write(write)
        else:
            self._store.enqueue(write)
        if change is not None:
            await self._on_change(spec, change, result, before.since)

    async def set_paused(self, name: str, paused: bool, audit: AuditEntry | None = None) -> MonitorState | None:
        """Pause or resume (audited with the change); a paused monitor's firing alert is resolved. None if unknown."""
        monitored = self.monitors.get(name)
        if monitored is None or not await self._store.set_paused(name, paused, audit):
            return None
        (self.paused.add if paused else self.paused.discard)(name)
        before = self.state(name)
        after, change = pause(before, paused)
        after = replace(after, since=self._clock.now()) if change else after
        self.states[name] = after
        if change is not None:
            await self._on_change(monitored.spec, change, None, before.since)
        return after

    async def retire(self, name: str) -> None:
        """A monitor leaves the config: resolve its firing alert, keep its history."""
        monitored = self.monitors.get(name)
        before = self.states.get(name)
        if monitored is None or before is None or before.status not in (MonitorStatus.DOWN, MonitorStatus.DEGRADED):
            return
        self.states[name] = replace(before, status=MonitorStatus.PENDING)
        await self._on_change(monitored.spec, Transition(before.status, MonitorStatus.PENDING), None, before.since)

    async def ping(self, record: MonitorRecord, kind: str, body: str) -> CheckResult | None:
        """Record a heartbeat signal (committed), and its immediate result, if any."""
        monitored = self.monitors.get(record.name)
        if monitored is None or not isinstance(monitored.spec, HeartbeatMonitor):
            return None
        now = self._clock.now()
        await self._store.record_ping(record.name, kind, now)  # type: ignore[arg-type]
        self._metrics.heartbeat_pings.labels(kind).inc()
        pings = self.pings.setdefault(record.name, Pings())
        started = (
            pings.last_start
            if pings.last_start and (not pings.last_ping or pings.last_start > pings.last_ping)
            else None
        )
        if kind == "start":
            pings.last_start = now
        elif kind == "ping":
            pings.last_ping = now
        result = heartbeat.ping_result(monitored.spec, kind, now, body, started)
        if result is not None and record.name not in self.paused:
            await self.record(monitored.spec, result, durable=True)
        return result

    async def _on_change(
        self,
        spec: MonitorBase,
        change: Transition,
        result: CheckResult | None,
        previous_since: datetime | None,
    ) -> None:
        log.info("monitor %s: %s -> %s", spec.name, change.previous.value, change.current.value)
        for listener in self.change_listeners:
            listener(spec.name)
        now = self._clock.now()
        alerts = alerts_for(spec, change, result, previous_since, now, self.external_url)
        for alert in alerts:
            status = "resolved" if alert.ends_at else "firing"
            self._metrics.alert_events.labels(alert.labels["alertname"], status).inc()
        if alerts:
            await self._ingest(alerts, source="monitor")

    def _count(self, spec: MonitorBase, result: CheckResult) -> None:
        m, kind = self._metrics, self.monitors[spec.name].kind
        children = self._children.get((kind, result.outcome))
        if children is None:  # labels() validates and locks on every call: look each pair up once
            children = (m.checks.labels(kind, result.outcome.value), m.check_duration.labels(kind))
            self._children[(kind, result.outcome)] = children
        children[0].inc()
        if result.outcome is not Outcome.UP and result.reason is not None:
            m.check_failures.labels(kind, result.reason.value).inc()
        if result.latency_ms is not None:
            children[1].observe(result.latency_ms / 1000)

    def status_counts(self) -> dict[str, int]:
        """Monitors by status; read by the metrics endpoint at scrape time (O(monitors), never per check)."""
        counts = {status.value: 0 for status in MonitorStatus}
        for name in self.monitors:
            status = MonitorStatus.PAUSED if name in self.paused else self.state(name).status
            counts[status.value] += 1
        return counts
