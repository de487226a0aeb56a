"""The alert engine: ingest, the alert store in memory, dispatcher timers, and the flush loop.

Ingest commits before it returns (an accepted alert survives kill -9). The flush loop reads
the clock once per turn, hands due groups through the pipeline, and persists group
timers, so a restart resumes timers and the notification log prevents re-notifying.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from tocsin.alerting.alert import VECTOR_MIN, Alert, prime_fingerprints
from tocsin.alerting.amconfig import AlertingConfig
from tocsin.alerting.dispatch import Dispatcher, Group
from tocsin.alerting.inhibit import InhibitIndex
from tocsin.alerting.maintenance import MaintenanceWindow, active_windows
from tocsin.alerting.silence import Silence, silenced_by
from tocsin.clock import Clock, Signal, sleep_until_or
from tocsin.notify.outbox import Integration, Wake
from tocsin.pipeline.build import Sources, build_pipeline
from tocsin.pipeline.declare import DeclareHook
from tocsin.pipeline.escalate import EscalationHook
from tocsin.pipeline.stage import Flush, run_stages
from tocsin.store.access_records import AuditEntry
from tocsin.store.alerting import AlertStore, StoredAlert

log = logging.getLogger(__name__)

RESOLVED_RETENTION = timedelta(hours=1)  # resolved alerts outside any group are forgotten after this
FLUSH_CHUNK = 64  # due groups flushed together (see AlertEngine.tick)


@dataclass(frozen=True, slots=True)
class Incoming:
    """An alert as a source sends it; missing times are filled in as Alertmanager does."""

    labels: dict[str, str]
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    generator_url: str = ""


@dataclass(frozen=True, slots=True)
class AlertingSetup:
    """Everything the engine needs from the config, swapped whole on reload."""

    config: AlertingConfig
    integrations: dict[str, list[Integration]]
    maintenance: list[MaintenanceWindow]
    resolve_timeout: timedelta = timedelta(minutes=5)
    external_url: str = ""


@dataclass(frozen=True, slots=True)
class AlertStatus:
    """How the pipeline sees one alert now (the Alertmanager API's `status`)."""

    state: str  # active, suppressed, unprocessed
    silenced_by: tuple[str, ...]
    inhibited_by: tuple[str, ...]
    maintenance: tuple[str, ...]
    receivers: tuple[str, ...]


def normalise(incoming: Incoming, now: datetime, resolve_timeout: timedelta | None) -> tuple[Alert, bool]:
    """Alertmanager's defaults: drop empty labels, startsAt from endsAt or now, endsAt from resolve_timeout."""
    labels = {k: v for k, v in incoming.labels.items() if v != ""}
    starts = incoming.starts_at or incoming.ends_at or now
    ends, timeout = incoming.ends_at, False
    if ends is None and resolve_timeout is not None:
        ends, timeout = now + resolve_timeout, True
    return Alert(labels, starts, dict(incoming.annotations), ends, incoming.generator_url), timeout


def merge(old: StoredAlert | None, new: StoredAlert, now: datetime) -> StoredAlert:
    """Alertmanager's merge: overlapping activity extends the alert, otherwise the new one replaces it."""
    if old is None or not _overlaps(old.alert, new.alert):
        return new
    a, o = old.alert, new.alert
    starts = min(a.starts_at, o.starts_at)
    ends = o.ends_at
    if o.resolved_at(now):
        if a.resolved_at(now) and a.ends_at and ends and a.ends_at > ends:
            ends = a.ends_at
    elif a.ends_at and ends and a.ends_at > ends and not old.timeout:
        ends = a.ends_at
    merged = Alert(o.labels, starts, o.annotations, ends, o.generator_url)
    return StoredAlert(merged, new.updated_at, new.timeout, new.source)


def _overlaps(old: Alert, new: Alert) -> bool:
    """Alertmanager's test: the new alert ends or starts inside the old one's activity (open ends are infinite)."""
    never = datetime.max.replace(tzinfo=old.starts_at.tzinfo)
    old_end, new_end = old.ends_at or never, new.ends_at or never
    return (old.starts_at < new_end < old_end) or (old.starts_at < new.starts_at < old_end)


class AlertWatch(Protocol):
    """Sees the alerts of a group as they arrive and as they are flushed (incident timelines)."""

    def observe(self, key: str, alerts: Iterable[Alert], now: datetime) -> None:
        """Alerts of group `key` as they stand at `now`; must be cheap for groups it does not follow, never raise."""
        ...


class AlertEngine:
    """Owns alerts, silences and groups for one process (the one dispatching node)."""

    def __init__(
        self,
        clock: Clock,
        store: AlertStore,
        setup: AlertingSetup,
        wake_outbox: Wake,
        escalation: EscalationHook | None = None,
    ) -> None:
        self._clock, self._store, self.setup = clock, store, setup
        self.alerts: dict[str, StoredAlert] = {}
        self.silences: dict[str, tuple[Silence, datetime]] = {}
        self.dispatcher = Dispatcher(setup.config.route)
        self._wake = Signal()
        self._rewrite_timers = False  # after a reload: group keys may all have changed
        sources = Sources(
            maintenance=lambda: self.setup.maintenance,
            time_intervals=lambda: self.setup.config.time_intervals,
            inhibit_rules=lambda: self.setup.config.inhibit_rules,
            firing_alerts=lambda: (s.alert for s in self.alerts.values()),
            silences=lambda: [s for s, _ in self.silences.values()],
            log=store.log_entry,
            external_url=lambda: self.setup.external_url,
            wake_outbox=wake_outbox,
            now=clock.now,
            declare=lambda: self.declare,
        )
        self.declare: DeclareHook | None = None  # incident automation: declare by rule (set by the runtime)
        self.watch: AlertWatch | None = None  # incident automation: timeline entries (set by the runtime)
        self.stages = build_pipeline(sources, store, escalation)
        self.flushes = 0

    async def start(self) -> None:
        """Load alerts, silences and group timers; route every alert."""
        self.silences = {s.id: (s, updated) for s, updated in await self._store.load_silences()}
        self.alerts = {s.alert.fingerprint: s for s in await self._store.load_alerts()}
        self.dispatcher = Dispatcher(self.setup.config.route, await self._store.load_timers())
        now = self._clock.timestamp()
        for stored in self.alerts.values():
            self.dispatcher.insert(stored.alert, now)

    def reconfigure(self, setup: AlertingSetup) -> None:
        """Adopt a new config: re-route every alert; groups that keep their key keep their timers."""
        timers = self.dispatcher.timers()
        self.setup = setup
        self.dispatcher = Dispatcher(setup.config.route, timers)
        now = self._clock.timestamp()
        for stored in self.alerts.values():
            self.dispatcher.insert(stored.alert, now)
        self._rewrite_timers = True
        self._wake.set()

    async def ingest(self, incoming: Sequence[Incoming], source: str, *, timeout: bool = True) -> list[Alert]:
        """Normalise, merge and commit alerts, then route them; returns them as stored."""
        now = self._clock.now()
        resolve_timeout = self.setup.resolve_timeout if timeout else None
        merged: dict[str, StoredAlert] = {}
        if len(incoming) >= VECTOR_MIN:  # a batch: its new label sets are hashed together
            prime_fingerprints(item.labels for item in incoming)
        for item in incoming:
            alert, timed = normalise(item, now, resolve_timeout)
            new = StoredAlert(alert, now, timed, source)
            fingerprint = alert.fingerprint
            merged[fingerprint] = merge(merged.get(fingerprint) or self.alerts.get(fingerprint), new, now)
        await self._store.save_alerts(list(merged.values()))
        stamp = self._clock.timestamp()  # the loop's own time base: a datetime round-trip can land past it
        watch = self.watch
        for fingerprint, stored in merged.items():
            self.alerts[fingerprint] = stored
            for group in self.dispatcher.insert(stored.alert, stamp):
                if watch is not None:
                    watch.observe(group.key, (stored.alert,), now)
        self._wake.set()
        return [s.alert for s in merged.values()]

    async def ingest_internal(self, alerts: Sequence[Alert], source: str) -> None:
        """Ingest alerts from tocsin's own sources: firing until they say they ended (no resolve timeout)."""
        incoming = [
            Incoming(dict(a.labels), dict(a.annotations), a.starts_at, a.ends_at, a.generator_url) for a in alerts
        ]
        await self.ingest(incoming, source, timeout=False)

    async def run(self, idle: float = 30.0) -> None:
        """The flush loop; cancel to stop."""
        while True:
            self._wake.clear()
            await self.tick()
            deadline = self.dispatcher.next_deadline()
            until = (
                self._clock.timestamp() + idle if deadline is None else min(deadline, self._clock.timestamp() + idle)
            )
            await sleep_until_or(self._clock, until, self._wake)

    async def tick(self) -> int:
        """Flush every due group once; persist timers when they changed; returns groups flushed.

        Why in chunks, concurrently: the flushes of one chunk share their enqueue transactions
        (store/batcher.py), and the due list is read again after each chunk, so a group that
        became due meanwhile (a new alert) waits for one chunk, not for a whole burst.
        """
        done: set[str] = set()
        while True:
            now = self._clock.timestamp()
            due = [g for g in self.dispatcher.due(now) if g.key not in done][:FLUSH_CHUNK]
            if not due:
                break
            done.update(g.key for g in due)
            await asyncio.gather(*(self._flush(group, now) for group in due))
        if self._rewrite_timers:
            self.dispatcher.timer_changes()
            await self._store.save_timers(self.dispatcher.timers(), replace=True)
            self._rewrite_timers = False
        else:
            await self._store.save_timers(*self.dispatcher.timer_changes())
        return len(done)

    async def _flush(self, group: Group, now: float) -> None:
        alerts = self.dispatcher.flushing(group, now)
        at = self._clock.now()
        for integration in self.setup.integrations.get(group.receiver, []):
            flush = Flush(
                now=at,
                group_key=group.key,
                group_labels=group.labels,
                receiver=group.receiver,
                integration=integration.index,
                channel=integration.kind,
                send_resolved=integration.send_resolved,
                route=group.route,
                alerts=alerts,
            )
            await run_stages(self.stages, flush)
        if self.watch is not None:  # after the stages: a group declared just now is linked already
            self.watch.observe(group.key, alerts, at)
        self.dispatcher.flushed(group, alerts, at)
        self.flushes += 1

    # silences

    async def put_silence(self, silence: Silence, entry: AuditEntry | None = None) -> Silence:
        """Create or update a silence (committed with its audit entry), effective at once."""
        now = self._clock.now()
        await self._store.save_silence(silence, now, entry)
        self.silences[silence.id] = (silence, now)
        return silence

    async def expire_silence(self, silence_id: str, entry: AuditEntry | None = None) -> Silence | None:
        """End a silence now; None if unknown or already expired."""
        found = self.silences.get(silence_id)
        now = self._clock.now()
        if found is None or found[0].ends_at <= now:
            return None
        old = found[0]
        ended = Silence(old.id, old.matchers, min(old.starts_at, now), now, old.created_by, old.comment)
        return await self.put_silence(ended, entry)

    # queries

    def statuses(self, alerts: Sequence[Alert], now: datetime) -> list[AlertStatus]:
        """Whether each alert is active or suppressed, and by what; shared inputs are built once."""
        silences = [s for s, _ in self.silences.values() if s.state(now) == "active"]
        rules = self.setup.config.inhibit_rules
        index = InhibitIndex(rules, (s.alert.labels for s in self.alerts.values() if not s.alert.resolved_at(now)))
        tree, windows = self.setup.config.route, self.setup.maintenance
        out = []
        for alert in alerts:
            silenced = tuple(silenced_by(silences, alert.labels, now)) if silences else ()
            inhibited = tuple(index.inhibited_by(alert.labels)) if rules else ()
            maintenance = tuple(active_windows(windows, alert.labels, now)) if windows else ()
            receivers = tuple(dict.fromkeys(r.opts.receiver for r in tree.match(alert.labels)))
            state = "suppressed" if silenced or inhibited or maintenance else "active"
            out.append(AlertStatus(state, silenced, inhibited, maintenance, receivers))
        return out

    def status(self, alert: Alert, now: datetime) -> AlertStatus:
        """Whether one alert is active or suppressed (use `statuses` for many)."""
        return self.statuses([alert], now)[0]

    async def collect_garbage(self) -> int:
        """Forget alerts resolved for longer than RESOLVED_RETENTION that no group still holds."""
        now = self._clock.now()
        grouped = {fp for g in self.dispatcher.groups.values() for fp in g.alerts}
        old = [
            fp
            for fp, s in self.alerts.items()
            if s.alert.ends_at and s.alert.ends_at < now - RESOLVED_RETENTION and fp not in grouped
        ]
        await self._store.delete_alerts(old)
        for fp in old:
            del self.alerts[fp]
        return len(old)
