"""One tocsin process: config, store, probes, runner and scheduler, with transactional reload.

Reload is Prometheus-style: parse, validate and compile everything first, then swap in
one step; a failed reload keeps the old config running and sets a metric to 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp

from tocsin.alerting.ingest import Ingest
from tocsin.alerting.timeinterval import ConfigError as AlertingConfigError
from tocsin.checks import catalog
from tocsin.checks.conditions import compile_conditions
from tocsin.checks.probes import ProbeContext
from tocsin.checks.result import MonitorStatus
from tocsin.checks.runner import CheckRunner, Monitored
from tocsin.checks.scheduler import Scheduler
from tocsin.clock import Clock
from tocsin.config.errors import ConfigErrors
from tocsin.config.loader import LoadedConfig, load_config
from tocsin.config.models import MonitorBase
from tocsin.incidents.automation import start_automation
from tocsin.incidents.postmortem_service import PostmortemService
from tocsin.incidents.postmortem_service import wire as wire_postmortems
from tocsin.incidents.reminders import runtime_reminders
from tocsin.incidents.service import IncidentService
from tocsin.incidents.setup import start_incident_response
from tocsin.metrics import Metrics
from tocsin.notify.outbox import Integration, OutboxWorker
from tocsin.oncall.engine import OncallEngine
from tocsin.oncall.groups import EngineGroups
from tocsin.oncall.settings import compile_settings
from tocsin.pipeline.engine import AlertEngine
from tocsin.pipeline.setup import alerting_setup
from tocsin.slo.evaluator import SloEvaluator
from tocsin.slo.setup import ingest_via, slo_inputs
from tocsin.statuspage.fanout import RECEIVER_PREFIX as STATUS_RECEIVER
from tocsin.statuspage.fanout import Subscriptions, start_subscriptions
from tocsin.store import fold
from tocsin.store.access_records import AuditEntry
from tocsin.store.alerting import AlertStore
from tocsin.store.incidents import IncidentStore
from tocsin.store.oncall import OncallStore
from tocsin.store.records import MonitorDefinition, MonitorRecord
from tocsin.store.store import Store, StoreClosed

log = logging.getLogger(__name__)

HOUSEKEEPING_EVERY = timedelta(minutes=10)
GC_YOUNG_THRESHOLD = 10_000  # allocations between young-generation collections (default 700)


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    """What a reload did: ok, or the errors that kept the old config running."""

    ok: bool
    errors: tuple[str, ...] = ()
    monitors: int = 0


def database_url(loaded: LoadedConfig, override: str | None = None) -> str:
    """The URL to use: an explicit override, then TOCSIN_DATABASE_URL, then storage.url."""
    return override or os.environ.get("TOCSIN_DATABASE_URL") or loaded.config.storage.url


def monitored(loaded: LoadedConfig) -> dict[str, Monitored]:
    """Compile every monitor's conditions; raises ValueError naming the monitor on failure."""
    out: dict[str, Monitored] = {}
    for spec in loaded.config.monitors:
        try:
            out[spec.name] = Monitored(spec, spec.kind, compile_conditions(spec.conditions, spec.kind))
        except ValueError as exc:
            raise ValueError(f"monitors[{spec.name}].conditions: {exc}") from exc
    return out


def definitions(loaded: LoadedConfig) -> list[MonitorDefinition]:
    """The config's monitors as store definitions, with their file:line."""
    return [
        MonitorDefinition(m.name, m.kind, m.model_dump(mode="json"), "config", loaded.monitor_location(m.name))
        for m in loaded.config.monitors
    ]


class Runtime:
    """Starts, reloads and stops everything a `tocsin serve` process runs."""

    def __init__(self, config_path: str | Path, clock: Clock, *, database_url: str | None = None) -> None:
        self.config_path = Path(config_path)
        self.clock = clock
        self.metrics = Metrics()
        self._database_url = database_url
        self._reload_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._probes = ProbeContext()
        self.loaded: LoadedConfig
        self.store: Store
        self.runner: CheckRunner
        self.scheduler: Scheduler
        self.alerts: AlertEngine
        self.outbox: OutboxWorker
        self.oncall: OncallEngine
        self.slo: SloEvaluator
        self.incidents: IncidentService
        self.postmortems: PostmortemService
        self.subscriptions: Subscriptions  # status page subscribers and their fan-out
        self._http: aiohttp.ClientSession | None = None
        self.ready = False
        self.started_at: datetime | None = None  # when start() finished (Alertmanager API's `uptime`)
        # Called after every successful config load (start and reload), e.g. to mirror config users.
        self.reload_hooks: list[Callable[[LoadedConfig], Awaitable[None]]] = []

    async def start(self) -> None:
        """Load config (errors raise ConfigErrors), open the store, start the scheduler."""
        loaded = load_config(self.config_path)
        compiled = monitored(loaded)
        slo_config = slo_inputs(loaded)
        url = database_url(loaded, self._database_url)
        self.store = await Store.open(
            url,
            raw_retention=loaded.config.storage.raw_retention,
            on_batch=self.metrics.observe_batch,
            now=self.clock.now,
        )
        await self._probes.__aenter__()
        self.incidents = IncidentService(IncidentStore(self.store))
        await self._start_alerting(loaded)
        self.slo = SloEvaluator(
            self.clock,
            self.store,
            ingest_via(self.alerts),
            session=self._http,
            external_url=loaded.config.server.external_url or "",
        )
        await slo_config.apply(self.slo)
        # Drafts a postmortem when an incident resolves (an incident listener); facts read the SLO engine.
        self.postmortems = wire_postmortems(
            self.store,
            self.incidents,
            self.slo,
            self.alerts,
            lambda: self.loaded.config.incidents.postmortem_budget_threshold,
        )
        self.runner = CheckRunner(
            self.clock,
            self.store,
            Ingest(self.store, self.alerts),
            self.metrics,
            self._probes,
            loaded.config.server.external_url,
        )
        self.scheduler = Scheduler(self.clock, self.runner.run, loaded.config.checks.max_concurrency)
        self.scheduler.stats.lag_observer = self.metrics.scheduler_lag.observe
        self.scheduler.stats.missed_observer = self.metrics.scheduler_missed.inc
        self.metrics.scheduler_running.set_function(lambda: self.scheduler.stats.running)
        for status in MonitorStatus:  # computed at scrape time, not on every status change
            self.metrics.monitors.labels(status.value).set_function(self._status_count(status.value))
        await self._swap(loaded, compiled)
        self._tasks = [
            asyncio.create_task(self.scheduler.run(), name="scheduler"),
            asyncio.create_task(self._housekeeping(), name="housekeeping"),
            asyncio.create_task(self._fold_rollups(), name="rollup-fold"),
            asyncio.create_task(self.alerts.run(), name="alert-dispatcher"),
            asyncio.create_task(self.outbox.run(), name="outbox"),
            asyncio.create_task(self.oncall.run(), name="oncall"),
            asyncio.create_task(self.slo.run(), name="slo-evaluator"),
        ]
        self._tasks += start_incident_response(self)  # role notices, actions webhook exporter
        self._tasks += await start_automation(self)  # declare by rule, automatic timeline entries
        reminders = runtime_reminders(self)  # "no update for N minutes" to the commander (docs/incidents.md)
        self._tasks.append(asyncio.create_task(reminders.run(), name="incident-update-reminders"))
        self._tasks += start_subscriptions(self)  # status page subscribers: public updates fan out
        # Start-up objects (config, compiled conditions, monitor records) live for the whole
        # process: move them out of the collector's view so full collections stay short.
        gc.collect()
        gc.freeze()
        # Why a higher young threshold: at the default 700, 10k monitors at 30 s had the young
        # generation collected 5-27 times a second, 10-120 µs of CPU per check; at 10000 it was
        # 0-14 µs with RSS unchanged (bench/RESULTS.md, issue 2, third pass).
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        self.ready = True
        self.started_at = self.clock.now()

    def _status_count(self, value: str) -> Callable[[], float]:
        return lambda: self.runner.status_counts()[value]

    async def _start_alerting(self, loaded: LoadedConfig) -> None:
        alert_store = AlertStore(self.store)
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        self.outbox = OutboxWorker(self.clock, alert_store, self._integration, self._http)
        self.oncall = OncallEngine(self.clock, OncallStore(self.store), self.outbox.wake)
        setup = alerting_setup(loaded.config)
        self.alerts = AlertEngine(self.clock, alert_store, setup, self.outbox.wake, escalation=self.oncall)
        await self.alerts.start()
        oncall_settings = compile_settings(loaded.config.oncall, setup.config, setup.external_url)
        await self.oncall.start(oncall_settings, EngineGroups(self.alerts))

    def _integration(self, receiver: str, index: int) -> Integration | None:
        if receiver.startswith("oncall:"):
            return self.oncall.integration(receiver, index)
        if receiver.startswith(STATUS_RECEIVER):
            return self.subscriptions.integration(receiver, index)
        found = self.alerts.setup.integrations.get(receiver, [])
        return found[index] if index < len(found) else None

    async def reload(self) -> ReloadOutcome:
        """Re-read the config file; on any error keep the old config and report why."""
        async with self._reload_lock:
            try:
                # Parsing a large file takes a while (0.7 s at 10k monitors): keep the loop serving.
                loaded = await asyncio.to_thread(load_config, self.config_path)
                compiled = monitored(loaded)
                slo_config = slo_inputs(loaded)
                setup = alerting_setup(loaded.config)
                oncall_settings = compile_settings(loaded.config.oncall, setup.config, setup.external_url)
                self._warn_restart_needed(loaded)
                await self._swap(loaded, compiled)
                self.alerts.reconfigure(setup)
                self.oncall.configure(oncall_settings)
                await slo_config.apply(self.slo)
            except ConfigErrors as exc:
                return self._failed(tuple(exc.format().splitlines()))
            except (ValueError, AlertingConfigError) as exc:
                return self._failed((str(exc),))
            log.info("config reloaded from %s: %d monitors", self.config_path, len(compiled))
            return ReloadOutcome(True, monitors=len(compiled))

    def _failed(self, errors: tuple[str, ...]) -> ReloadOutcome:
        self.metrics.reload_ok.set(0)
        log.error("config reload failed, keeping the running config:\n%s", "\n".join(errors))
        return ReloadOutcome(False, errors)

    async def _swap(self, loaded: LoadedConfig, compiled: dict[str, Monitored]) -> None:
        records = await self.store.sync_monitors(definitions(loaded), source="config")
        stored = await self.store.list_monitors()
        merged = {**catalog.from_records(stored, taken=compiled), **compiled}  # config wins a name clash
        removed = set(self.runner.monitors) - set(merged)
        for name in removed:  # a monitor that disappears must not leave its alert firing
            await self.runner.retire(name)
        self.loaded = loaded
        self._adopt(merged, {**{r.name: r for r in stored if r.name in merged}, **records})
        for hook in self.reload_hooks:
            try:
                await hook(loaded)
            except Exception:  # the config is in force already; a follower's failure must not undo it
                log.exception("after-reload hook %r failed", hook)
        self.metrics.reload_ok.set(1)
        self.metrics.reload_time.set(self.clock.timestamp())

    def _adopt(self, monitors: dict[str, Monitored], records: dict[str, MonitorRecord]) -> None:
        self.runner.configure(monitors, records)
        self.scheduler.set_monitors(catalog.schedule(monitors))

    async def save_monitor(self, spec: MonitorBase, audit: AuditEntry, *, create: bool) -> MonitorRecord:
        """Create or replace a database-defined monitor; it is checked from now on, no reload needed."""
        compiled = catalog.compile_monitor(spec)
        async with self._reload_lock:
            save = self.store.create_monitor if create else self.store.replace_monitor
            record = await save(catalog.api_definition(spec), audit)
            self._adopt({**self.runner.monitors, spec.name: compiled}, {spec.name: record})
        return record

    async def delete_monitor(self, name: str, audit: AuditEntry) -> MonitorRecord:
        """Remove a database-defined monitor: checks stop at once and its firing alert resolves."""
        async with self._reload_lock:
            record = await self.store.delete_monitor(name, audit)
            await self.runner.retire(name)
            self._adopt({n: m for n, m in self.runner.monitors.items() if n != name}, {})
        return record

    def _warn_restart_needed(self, loaded: LoadedConfig) -> None:
        old = self.loaded.config
        for section in ("server", "storage"):
            if getattr(old, section) != getattr(loaded.config, section):
                log.warning("%s settings changed; they take effect after a restart", section)

    async def _fold_rollups(self) -> None:
        """Every few minutes, add the minute rollups that are over to their hour and day rows (store/fold.py)."""
        due = self.clock.timestamp()
        while True:
            try:
                await self.store.fold_rollups(self.clock.now())
            except StoreClosed:
                return
            except Exception:  # a failed fold leaves the minutes to the next one; readers still count them
                log.exception("rollup fold failed")
            # Why from the last due time: a fold that took long still runs its next step on time.
            due = fold.next_run(due)
            if due < self.clock.timestamp():  # more than a step behind (a suspended machine): resume from now
                due = fold.next_run(self.clock.timestamp())
            await self.clock.sleep_until(due)

    async def _housekeeping(self) -> None:
        while True:
            await self.clock.sleep_until(self.clock.timestamp() + HOUSEKEEPING_EVERY.total_seconds())
            try:
                await self.alerts.collect_garbage()
                counts = await self.store.purge(self.clock.now())
                counts |= await self.slo.store.purge(self.clock.now())
                if any(counts.values()):
                    log.info("retention purge: %s", counts)
            except Exception:  # housekeeping must never take the process down
                log.exception("retention purge failed")

    async def stop(self) -> None:
        """Stop the scheduler, flush the store, close connections."""
        self.ready = False
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._probes.__aexit__(None, None, None)
        if self._http is not None:
            await self._http.close()
        with contextlib.suppress(AttributeError):
            await self.store.close()
