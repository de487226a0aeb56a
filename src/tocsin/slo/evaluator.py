"""The per-minute SLO loop: feed each complete minute to the engine, evaluate, raise and resolve burn alerts.

A minute is read `settle` after it ends, so late check results and Prometheus scrapes
land first. At start (and when the SLO list changes) the engine is rebuilt from storage:
whole hours of stored SLI counts (`slo_hours`) up to the last three days, then those
days minute by minute from the sources. Every completed hour is stored again, and so is
the alert each SLO has firing, so a restart neither loses history nor re-fires.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import aiohttp
import numpy as np

from tocsin.alerting.alert import Alert
from tocsin.alerting.maintenance import MaintenanceWindow
from tocsin.clock import Clock
from tocsin.slo.alerts import Sent, resolve_gone, transition
from tocsin.slo.engine import SloEngine, Snapshot, window_span
from tocsin.slo.math import SloReport
from tocsin.slo.model import Slo
from tocsin.slo.prometheus import PrometheusReader
from tocsin.slo.series import DEFAULT_MINUTE_ROWS, HOUR
from tocsin.slo.sources import SliSources
from tocsin.slo.windows import minute_of
from tocsin.store.slo import ReadOnlySloStore, SloState, SloStore
from tocsin.store.store import Store

log = logging.getLogger(__name__)

Ingest = Callable[[Sequence[Alert]], Awaitable[None]]
SETTLE = timedelta(seconds=30)
CHUNK_MINUTES = 360  # minutes read from the store at once while catching up


@dataclass(frozen=True, slots=True)
class BurnChange:
    """An SLO's burn-rate alert changed: `previous` resolved and/or `current` fired."""

    slo: Slo
    previous: Sent | None
    current: Sent | None
    report: SloReport


# Called after every evaluation with the SLOs (in snapshot order), the snapshot and the alert changes.
SloObserver = Callable[[Sequence[Slo], Snapshot, Sequence[BurnChange], datetime], Awaitable[None]]


def floor_hour(minute: int) -> int:
    """The hour boundary at or before a minute boundary."""
    return minute - minute % HOUR


class SloEvaluator:
    """Owns the engine, its sources and the burn-rate alerts of every configured SLO."""

    def __init__(
        self,
        clock: Clock,
        store: Store,
        ingest: Ingest,
        *,
        session: aiohttp.ClientSession | None = None,
        external_url: str = "",
        settle: timedelta = SETTLE,
        minute_rows: int = DEFAULT_MINUTE_ROWS,
        read_only: bool = False,
    ) -> None:
        self.clock, self._ingest = clock, ingest
        self.store = ReadOnlySloStore(store) if read_only else SloStore(store)
        self._prometheus = PrometheusReader(session) if session is not None else None
        self.external_url, self.settle, self._minute_rows = external_url, settle, minute_rows
        self._lock = asyncio.Lock()
        self.slos: dict[str, Slo] = {}
        self.engine: SloEngine | None = None
        self.sources: SliSources | None = None
        self._maintenance: tuple[MaintenanceWindow, ...] = ()
        self._monitor_labels: Mapping[str, Mapping[str, str]] = {}
        self._sent: dict[str, Sent | None] = {}
        self._states: dict[str, SloState] = {}
        self._origin = 0
        self.observers: list[SloObserver] = []  # e.g. incident timelines; an observer's failure is its own

    @property
    def snapshot(self) -> Snapshot | None:
        """The latest evaluation of every SLO (None before the first)."""
        return self.engine.last if self.engine is not None else None

    def complete_minute(self, now: datetime) -> int:
        """The boundary after the last minute that is complete and settled at `now`."""
        return minute_of(now - self.settle)

    async def configure(
        self,
        slos: Sequence[Slo],
        maintenance: Sequence[MaintenanceWindow] = (),
        monitor_labels: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """Adopt a new SLO list (rebuilding from storage when it changed) and maintenance windows."""
        async with self._lock:
            self._maintenance, self._monitor_labels = tuple(maintenance), dict(monitor_labels or {})
            if self.engine is not None and tuple(slos) == self.engine.slos:
                self.sources = self._sources(slos)
                return
            await self._rebuild(tuple(slos), self.clock.now())

    def _sources(self, slos: Sequence[Slo]) -> SliSources:
        return SliSources(
            self.store,
            slos,
            prometheus=self._prometheus,
            maintenance=self._maintenance,
            monitor_labels=self._monitor_labels,
        )

    async def run(self) -> None:
        """Tick once a minute, `settle` after each minute ends; cancel to stop."""
        while True:
            due = (self.complete_minute(self.clock.now()) + 1) * 60 + self.settle.total_seconds()
            await self.clock.sleep_until(due)
            try:
                await self.tick(self.clock.now())
            except Exception:  # one failed tick must not stop SLO evaluation
                log.exception("SLO evaluation failed")

    async def tick(self, now: datetime) -> Snapshot | None:
        """Feed every complete minute up to `now`, evaluate, send alert changes; the new snapshot."""
        async with self._lock:
            if self.engine is None or self.sources is None or not self.slos:
                return None
            end = self.complete_minute(now)
            if end > self.engine.end:
                await self.sources.fetch(self.engine.end, end)
                await self._feed(self.engine, self.sources, self.engine.end, end)
            return await self._evaluate(now)

    # rebuilding

    async def _rebuild(self, slos: tuple[Slo, ...], now: datetime) -> None:
        states = await self.store.states()
        await self._resolve_removed(slos, states, now)
        changed = [s.name for s in slos if s.name in states and states[s.name].data_key != s.data_key()]
        await self.store.reset(changed)
        self._states = {n: st for n, st in states.items() if n not in changed}
        self._sent = {n: Sent.from_json(st.firing) if st.firing else None for n, st in self._states.items()}
        self.slos = {s.name: s for s in slos}
        if not slos:
            self.engine, self.sources = None, None
            return
        end = self.complete_minute(now)
        ring = floor_hour(end - (self._minute_rows - 1))
        start = floor_hour(min(ring, end - max(window_span(s.window) for s in slos) - HOUR))
        engine, sources = SloEngine(slos, start, minute_rows=self._minute_rows), self._sources(slos)
        self._origin = start
        await sources.fetch(start, end)
        await self._replay_hours(engine, start, ring)
        await self._feed(engine, sources, ring, end)
        self.engine, self.sources = engine, sources
        await self._evaluate(now)
        log.info("SLOs: %d evaluated from minute %d", len(slos), start)

    async def _resolve_removed(self, slos: Sequence[Slo], states: Mapping[str, SloState], now: datetime) -> None:
        names = {s.name for s in slos}
        gone = {n: st for n, st in states.items() if n not in names and st.firing}
        if not gone:
            return
        await self._ingest([resolve_gone(n, Sent.from_json(st.firing or {}), now) for n, st in gone.items()])
        await self.store.save_states({n: replace(st, firing=None) for n, st in gone.items()}, now)

    async def _replay_hours(self, engine: SloEngine, start: int, end: int) -> None:
        """Append whole hours [start, end) from stored SLI hours, computing the missing ones first."""
        if start >= end:
            return
        good, total = (
            np.zeros(((end - start) // HOUR, len(engine.slos))),
            np.zeros(((end - start) // HOUR, len(engine.slos))),
        )
        stored = await self.store.hours([s.name for s in engine.slos], start, end)
        for i, slo in enumerate(engine.slos):
            for hour, g, t in stored.get(slo.name, []):
                good[(hour - start) // HOUR, i], total[(hour - start) // HOUR, i] = g, t
        await self._fill_gaps(engine, start, end, good, total)
        for row in range(len(good)):
            engine.append_hour(good[row], total[row])

    async def _fill_gaps(self, engine: SloEngine, start: int, end: int, good: np.ndarray, total: np.ndarray) -> None:
        """Compute from the sources the hours not covered by stored SLI hours, and store them."""
        gaps: dict[tuple[int, int], list[int]] = {}
        for i, slo in enumerate(engine.slos):
            state = self._states.get(slo.name)
            covered = (state.hours_start, state.hours_end) if state else (end, end)
            for a, b in ((start, min(covered[0], end)), (max(covered[1], start), end)):
                if a < b:
                    gaps.setdefault((a, b), []).append(i)
        for (a, b), members in gaps.items():
            sources = self._sources([engine.slos[i] for i in members])
            g, t = await sources.hours(a, b)
            rows = slice((a - start) // HOUR, (b - start) // HOUR)
            good[rows, members], total[rows, members] = g, t
            await self.store.put_hours(_hour_rows([engine.slos[i].name for i in members], a, g, t))

    async def _feed(self, engine: SloEngine, sources: SliSources, start: int, end: int) -> None:
        """Append minutes [start, end) from the sources; store each hour that completes."""
        stored = False
        for chunk in range(start, end, CHUNK_MINUTES):
            stop = min(chunk + CHUNK_MINUTES, end)
            good, total = await sources.minutes(chunk, stop)
            for row in range(stop - chunk):
                engine.append(good[row], total[row])
                if engine.end % HOUR == 0:
                    hour = engine.end - HOUR
                    g, t = engine.between(hour, engine.end)
                    await self.store.put_hours(_hour_rows([s.name for s in engine.slos], hour, g[None, :], t[None, :]))
                    stored = True
        if stored:
            await self._cover(engine, floor_hour(engine.end))

    async def _cover(self, engine: SloEngine, until: int) -> None:
        """Record that every SLO's SLI hours are stored from its first hour up to `until`."""
        for slo in engine.slos:
            old = self._states.get(slo.name)
            sent = self._sent.get(slo.name)
            self._states[slo.name] = SloState(
                slo.data_key(),
                min(old.hours_start, self._origin) if old else self._origin,
                until,
                sent.to_json() if sent else None,
            )
        await self.store.save_states({s.name: self._states[s.name] for s in engine.slos}, self.clock.now())

    # evaluating

    async def _evaluate(self, now: datetime) -> Snapshot:
        """Evaluate, then send what changed: at most one resolution and one new alert per SLO."""
        assert self.engine is not None
        snapshot = self.engine.evaluate()
        alerts: list[Alert] = []
        changed: dict[str, SloState] = {}
        burns: list[BurnChange] = []
        for i, slo in enumerate(self.engine.slos):
            previous, active = self._sent.get(slo.name), snapshot.active[i]
            if (previous.tier if previous else None) == (active.name if active else None):
                continue  # the common case, without building a report
            report = snapshot.report(i)
            sent, current = transition(slo, active, previous, report, now, self.external_url)
            alerts.extend(sent)
            burns.append(BurnChange(slo, previous, current, report))
            self._sent[slo.name] = current
            base = self._states.get(slo.name) or SloState(slo.data_key(), self._origin, self._origin)
            changed[slo.name] = self._states[slo.name] = replace(base, firing=current.to_json() if current else None)
        if alerts:
            await self._ingest(alerts)
            await self.store.save_states(changed, now)
        for observer in self.observers:
            await observer(self.engine.slos, snapshot, burns, now)
        return snapshot


def _hour_rows(
    names: Sequence[str], first: int, good: np.ndarray, total: np.ndarray
) -> list[tuple[str, int, float, float]]:
    """Rows for `slo_hours`: one per SLO and hour with any count (hours are rows of the arrays)."""
    rows: list[tuple[str, int, float, float]] = []
    hours, columns = np.nonzero(total)
    for h, c in zip(hours.tolist(), columns.tolist(), strict=True):
        rows.append((names[c], first + h * HOUR, float(good[h, c]), float(total[h, c])))
    return rows
