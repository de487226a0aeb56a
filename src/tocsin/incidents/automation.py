"""Incident automation: declare by rule when an alert group starts firing, and write automatic timeline entries.

The runtime plugs one `IncidentAutomation` into the alert engine (the declare stage and the
alert watch), the outbox (settled deliveries), the on-call engine (acknowledgements), the SLO
evaluator (budget and burn-rate alerts) and the incident service (changes). Every hook is
guarded: a failure is logged and counted (`tocsin_incident_recorder_errors_total`), never
passed on to the pipeline. Entries are written in batches by `run()`; links made elsewhere
(the API, the console, another node) are picked up from the store every REFRESH.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tocsin.alerting.alert import Alert
from tocsin.clock import wait_or_timeout
from tocsin.incidents.config import IncidentsConfig
from tocsin.incidents.declare_rules import Decision, DeclareRules, compile_rules, decide, summary, title
from tocsin.incidents.model import IncidentError, Status
from tocsin.incidents.recorder import (
    ACTOR,
    ONCALL_PREFIX,
    Recorder,
    ack_entry,
    ack_event,
    delivery_event,
    page_entry,
    slo_alert_entry,
)
from tocsin.incidents.service import Changes, Declaration, IncidentService, group_milestones
from tocsin.pipeline.stage import Flush
from tocsin.slo.engine import Snapshot
from tocsin.slo.evaluator import BurnChange
from tocsin.slo.model import Slo
from tocsin.store.access_records import AuditEntry
from tocsin.store.incident_events import IncidentEvents
from tocsin.store.incident_facts import IncidentFacts
from tocsin.store.incidents import Incident, TimelineEntry, VersionConflict

if TYPE_CHECKING:
    from tocsin.config.loader import LoadedConfig
    from tocsin.notify.outbox import OutboxWorker
    from tocsin.oncall.engine import OncallEngine
    from tocsin.pipeline.engine import AlertEngine
    from tocsin.runtime import Runtime
    from tocsin.slo.evaluator import SloEvaluator

log = logging.getLogger(__name__)

REFRESH = 10.0  # real seconds between reads of the links made elsewhere (API, console, other nodes)
ACK_ATTEMPTS = 3  # tries to set an incident's acknowledged time when someone else edits it meanwhile

GroupAlerts = Callable[[str], Iterable[Alert]]  # the alerts a group holds now (empty when it is gone)
SloCatalog = Callable[[], Mapping[str, Slo]]  # the configured SLOs by name


class IncidentAutomation:
    """Declares incidents by rule and keeps the timelines of linked incidents; see the module docstring."""

    def __init__(
        self,
        service: IncidentService,
        events: IncidentEvents,
        group_alerts: GroupAlerts,
        slos: SloCatalog,
        on_error: Callable[[str], None],
    ) -> None:
        self._service, self._events = service, events
        self._facts = IncidentFacts(service.store.root.database)
        self._group_alerts, self._slos = group_alerts, slos
        self.recorder = Recorder(on_error)
        self.rules = DeclareRules()
        self._slo_names: tuple[Mapping[str, Slo] | None, dict[str, str]] = (None, {})

    def configure(self, cfg: IncidentsConfig) -> None:
        """Adopt the declaration rules of a (re)loaded config."""
        self.rules = compile_rules(cfg)

    async def start(self) -> None:
        """Index the groups linked to open incidents, with the alert states their timelines already show."""
        await self.refresh(seed=False)
        opened = {i for ids in self.recorder.open.values() for i in ids}
        self.recorder.states = await self._events.alert_states(sorted(opened))

    # the loop

    async def run(self) -> None:
        """Write queued entries as they come, and pick up links made elsewhere every REFRESH; cancel to stop."""
        loop = asyncio.get_running_loop()
        next_refresh = loop.time() + REFRESH
        while True:
            await wait_or_timeout(self.recorder.wake, max(next_refresh - loop.time(), 0.0))
            self.recorder.wake.clear()
            with self.recorder.guard("refresh"):
                if loop.time() >= next_refresh:
                    next_refresh = loop.time() + REFRESH
                    await self.refresh()
            await self.flush()

    async def flush(self) -> int:
        """Write the queued entries in one batch; how many (on failure they are counted and dropped)."""
        entries = self.recorder.take()
        if entries:
            with self.recorder.guard("write"):
                await self._events.append(entries)
        return len(entries)

    async def refresh(self, *, seed: bool = True) -> None:
        """Re-read every link from the store: follow new ones (recording their group's alerts), drop stale ones."""
        known = self.recorder.linked()  # before the read: links made while it runs must not look stale
        links = await self._events.links()
        current = {(i, key) for key, ids in links.open.items() for i in ids}
        for incident_id, key in known - current:
            self.recorder.unlink(incident_id, key)
        for key, at in links.last_linked.items():
            self.recorder.note_link(key, at)
        for incident_id, key in sorted(current - known):
            await self._follow(incident_id, key, links.last_linked[key], seed=seed)

    async def _follow(self, incident_id: int, key: str, at: datetime, *, seed: bool = True) -> None:
        """Index a new link; record the alerts its group holds now (after what the timeline already shows)."""
        if not self.recorder.link(incident_id, key, at):
            return
        if seed:
            await self.flush()  # so the states read back include entries still queued (a reopened incident)
            stored = await self._events.alert_states([incident_id])
            pair = (incident_id, key)  # what was recorded while reading is newer than what was stored
            self.recorder.states[pair] = {**stored.get(pair, {}), **self.recorder.states.get(pair, {})}
            self.recorder.observe(key, list(self._group_alerts(key)), at)

    # declaring (the pipeline's declare stage)

    async def __call__(self, flush: Flush) -> None:
        """Declare an incident for a flushed group that a rule asks for, unless one is open or was declared already."""
        with self.recorder.guard("declare"):
            decision = self._decision(flush)
            if decision is not None:
                await self._declare(flush, decision)

    def _decision(self, flush: Flush) -> Decision | None:
        key, rules = flush.group_key, self.rules
        if key in self.recorder.open:
            return None
        route = flush.route.opts.declare_incident
        if route is None and not rules.rules and rules.slo_page is None:
            return None  # the common case: nothing could ask for an incident
        firing = flush.firing()
        last = self.recorder.last_linked.get(key)
        if not firing or (last is not None and last >= min(a.starts_at for a in firing)):
            return None  # an incident was declared for this episode already (maybe resolved since)
        slos = self._slo_alert_names() if rules.slo_page is not None else {}
        return decide(rules, route, [a.labels for a in firing], slos)

    def _slo_alert_names(self) -> dict[str, str]:
        slos = self._slos()
        if self._slo_names[0] is not slos:  # rebuilt only when the evaluator's SLO list changed
            self._slo_names = (slos, {name: s.alert_name for name, s in slos.items()})
        return self._slo_names[1]

    async def _declare(self, flush: Flush, decision: Decision) -> None:
        firing, key = flush.firing(), flush.group_key
        times = group_milestones([a.starts_at for a in firing], [], flush.now)
        d = Declaration(title(firing), decision.severity, summary(decision, key, firing), key, decision.source, times)
        detail = {"title": d.title, "severity": d.severity, "group_key": key, "source": decision.source}
        entry = AuditEntry(flush.now, ACTOR, "system", "incident.declare", "", decision.source, detail)
        incident = await self._service.declare(d, ACTOR, flush.now, entry)
        log.info("declared incident %d (%s, %s) for alert group %s", incident.id, d.severity, decision.source, key)
        await self._follow(incident.id, key, flush.now)

    # the incident service's listener

    async def changed(self, before: Incident, after: Incident) -> None:
        """Follow an incident's groups while it is open; forget it once resolved."""
        with self.recorder.guard("listener"):
            if after.status is Status.RESOLVED:
                self.recorder.forget(after.id)
                return
            for key in set(before.alert_groups) - set(after.alert_groups):
                self.recorder.unlink(after.id, key)
            for key in after.alert_groups:
                if after.id not in self.recorder.open.get(key, ()):
                    await self._follow(after.id, key, after.updated_at)
            for key in sorted(set(after.alert_groups) - set(before.alert_groups)):
                await self._backfill(after.id, key, after.updated_at)

    async def _backfill(self, incident_id: int, key: str, at: datetime) -> None:
        """Timeline the pages and acknowledgements of a newly linked group's current episode, up to `at`.

        Why: people usually declare after being paged and acknowledging, so without this the
        timeline would start after the two moments the response began with.
        """
        starts = [a.starts_at for a in self._group_alerts(key)]
        since = min(starts, default=at)
        for page in await self._facts.pages([key], since, at):
            event = delivery_event(key, ONCALL_PREFIX + page.user, page.method, page.at)
            if page.status != "pending" and self.recorder.once(incident_id, event):
                self.recorder.add(incident_id, page_entry(page))
        for ack in await self._facts.acks([key], since, at):
            if self.recorder.once(incident_id, ack_event(key, ack.by, ack.at)):
                self.recorder.add(incident_id, ack_entry(key, ack.by, None, ack.at))

    # the on-call engine's acknowledgements

    async def acknowledged(self, key: str, by: str, page: int, now: datetime) -> None:
        """Timeline the acknowledgement of a linked group's page and set the incident's acknowledged time if unset."""
        ids = self.recorder.open.get(key)
        if not ids:
            return
        with self.recorder.guard("acknowledged"):
            for incident_id in sorted(ids):
                if self.recorder.once(incident_id, ack_event(key, by, now)):
                    self.recorder.add(incident_id, ack_entry(key, by, page, now))
                await self._set_acknowledged(incident_id, by, now)

    async def _set_acknowledged(self, incident_id: int, by: str, now: datetime) -> None:
        for _ in range(ACK_ATTEMPTS):
            incident = await self._service.get(incident_id)
            if incident.times.acknowledged is not None:
                return
            audit = AuditEntry(
                now, ACTOR, "system", "incident.update", str(incident_id), "oncall", {"acknowledged_by": by}
            )
            try:
                await self._service.change(
                    incident_id, Changes(incident.version, times={"acknowledged": now}), ACTOR, now, audit
                )
                return
            except VersionConflict:
                continue  # someone edited it meanwhile: read it again
            except IncidentError as exc:  # e.g. already mitigated before this ack: the order would be wrong
                log.info("incident %d: acknowledged time not set: %s", incident_id, exc)
                return
        log.warning("incident %d: acknowledged time not set after %d conflicting edits", incident_id, ACK_ATTEMPTS)

    # the SLO evaluator

    async def slo_evaluated(
        self, slos: Sequence[Slo], snapshot: Snapshot, changes: Sequence[BurnChange], now: datetime
    ) -> None:
        """Budget thresholds crossed and burn-rate alerts of SLOs that open incidents care about."""
        with self.recorder.guard("slo"):
            watched = await self._watched_slos(slos)
            consumed = snapshot.evaluation.budget.consumed
            pairs: set[tuple[int, str]] = set()
            for index, slo in enumerate(slos):
                for incident_id in watched.get(slo.name, ()):
                    pairs.add((incident_id, slo.name))
                    self.recorder.budget(incident_id, slo.name, float(consumed[index]), now)
            self.recorder.watch_only(pairs)
            for change in changes:
                for incident_id in watched.get(change.slo.name, ()):
                    for entry in _burn_entries(change, now):
                        self.recorder.add(incident_id, entry)

    async def _watched_slos(self, slos: Sequence[Slo]) -> dict[str, set[int]]:
        """SLO name → open incidents that affect its service or link the group of its burn-rate alert."""
        watched: dict[str, set[int]] = {}
        affected = await self._events.affected_services()
        if affected:
            by_service: dict[str, list[str]] = {}
            for slo in slos:
                by_service.setdefault(slo.service, []).append(slo.name)
            for incident_id, service in affected:
                for name in by_service.get(service, ()):
                    watched.setdefault(name, set()).add(incident_id)
        for key, ids in self.recorder.open.items():
            for alert in self._group_alerts(key):
                if (slo_name := alert.labels.get("slo")) is not None:
                    watched.setdefault(slo_name, set()).update(ids)
        return watched


def _burn_entries(change: BurnChange, now: datetime) -> list[TimelineEntry]:
    """`slo_alert` entries: the old tier resolved, the new one fired, with the figures at the time."""
    report = change.report
    figures: dict[str, Any] = {
        "budget_remaining": f"{report.budget_remaining:.2%}",
        "burn_rates": {k: round(v, 4) for k, v in report.burn_rates.items() if not math.isnan(v)},
    }
    out = []
    if change.previous is not None:
        sev = change.previous.labels.get("severity", "")
        out.append(slo_alert_entry(change.slo.name, change.previous.tier, sev, False, figures, now))
    if change.current is not None:
        sev = change.current.labels.get("severity", "")
        out.append(slo_alert_entry(change.slo.name, change.current.tier, sev, True, figures, now))
    return out


def plug(
    automation: IncidentAutomation,
    engine: AlertEngine,
    outbox: OutboxWorker,
    incidents: IncidentService,
    oncall: OncallEngine | None = None,
    slo: SloEvaluator | None = None,
) -> None:
    """Connect the automation to every hook point it listens on."""
    engine.declare, engine.watch = automation, automation.recorder
    outbox.observer = automation.recorder.delivered
    incidents.listeners.append(automation.changed)
    if oncall is not None:
        oncall.ack_listeners.append(automation.acknowledged)
    if slo is not None:
        slo.observers.append(automation.slo_evaluated)


def group_alerts_of(engine: AlertEngine) -> GroupAlerts:
    """The alerts a group of the engine holds now (none once the group is gone)."""

    def alerts(key: str) -> Iterable[Alert]:
        group = engine.dispatcher.groups.get(key)
        return tuple(group.alerts.values()) if group is not None else ()

    return alerts


async def start_automation(rt: Runtime) -> list[asyncio.Task[None]]:
    """Build the runtime's automation, load its index, plug it in, follow reloads; its writer task."""

    def on_error(step: str) -> None:
        rt.metrics.incident_recorder_errors.labels(step).inc()

    events = IncidentEvents(rt.store)
    automation = IncidentAutomation(rt.incidents, events, group_alerts_of(rt.alerts), lambda: rt.slo.slos, on_error)
    automation.configure(rt.loaded.config.incidents)
    await automation.start()

    async def reconfigure(loaded: LoadedConfig) -> None:
        automation.configure(loaded.config.incidents)

    rt.reload_hooks.append(reconfigure)
    plug(automation, rt.alerts, rt.outbox, rt.incidents, rt.oncall, rt.slo)
    return [asyncio.create_task(automation.run(), name="incident-automation")]
