"""Where SLI counts come from: monitor rollups, pushed events and Prometheus, read as dense minute arrays.

Monitor SLIs read the store's minute rollups (availability: up and degraded results are
good, down ones bad; latency: results within the threshold are good). Events and
Prometheus SLIs read the per-minute counts stored in `slo_minutes`; Prometheus ones are
fetched into it first. Minutes inside a maintenance window that scopes the SLO are
dropped (neither good nor bad) unless the SLO sets `exclude_maintenance: false`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tocsin.alerting.maintenance import MaintenanceWindow
from tocsin.slo.minutes import budgeted, dense, hourly, occurrences
from tocsin.slo.model import EventsSource, MonitorSource, PrometheusSource, Slo
from tocsin.slo.prometheus import PrometheusError, PrometheusReader
from tocsin.slo.series import Method
from tocsin.slo.windows import minute_of
from tocsin.store.rollups import LATENCY_BOUNDS_MS
from tocsin.store.slo import EventItem, MonitorRow, SloStore

log = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
DAY = 1440


class EventCount(BaseModel):
    """One batch of pushed counts; `key` makes a retry harmless."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=200)
    good: float = Field(ge=0)
    total: float = Field(ge=0)

    @model_validator(mode="after")
    def _good_within_total(self) -> EventCount:
        if self.good > self.total:
            raise ValueError("good must not exceed total")
        return self


class EventsBody(BaseModel):
    """The body of `POST /api/v1/slos/{name}/events`."""

    model_config = ConfigDict(extra="forbid")

    events: list[EventCount] = Field(min_length=1, max_length=1000)


@dataclass(frozen=True, slots=True)
class EventsResult:
    """What a push did: batches counted now, and batches whose key was seen before."""

    accepted: int
    duplicates: int


class NotAnEventsSlo(ValueError):
    """The SLO exists but does not take pushed events."""


async def push_events(
    store: SloStore, slos: Mapping[str, Slo], name: str, body: EventsBody, now: datetime
) -> EventsResult:
    """Count pushed events in the current minute (KeyError: no such SLO; NotAnEventsSlo)."""
    slo = slos[name]
    if not isinstance(slo.source, EventsSource):
        raise NotAnEventsSlo(f"SLO {name!r} does not take pushed events (its sli is not events)")
    items = [EventItem(e.key, e.good, e.total) for e in body.events]
    accepted = await store.add_events(name, items, minute_of(now), now)
    return EventsResult(accepted, len(items) - accepted)


def scope_labels(slo: Slo, monitor_labels: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The labels maintenance matchers see for an SLO: its monitor's labels, its own, slo and service."""
    base: dict[str, str] = {}
    if isinstance(slo.source, MonitorSource):
        base = {**monitor_labels.get(slo.source.monitor, {}), "monitor": slo.source.monitor}
    return {**base, **slo.labels, "slo": slo.name, "service": slo.service}


def monitor_counts(source: MonitorSource, row: MonitorRow) -> tuple[float, float]:
    """Good and total of one rollup row for an availability or latency SLI."""
    if source.latency_ms is None:
        return float(row.up + row.degraded), float(row.total)
    within = LATENCY_BOUNDS_MS.index(source.latency_ms) + 1
    return float(sum(row.histogram[:within])), float(row.total)


class SliSources:
    """Reads the input counts of a fixed list of SLOs from the store (and Prometheus)."""

    def __init__(
        self,
        store: SloStore,
        slos: Sequence[Slo],
        *,
        prometheus: PrometheusReader | None = None,
        maintenance: Sequence[MaintenanceWindow] = (),
        monitor_labels: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self._store, self._prometheus, self.slos = store, prometheus, tuple(slos)
        self._maintenance = tuple(maintenance)
        labels = monitor_labels or {}
        self._scopes = [scope_labels(s, labels) if s.exclude_maintenance else None for s in self.slos]
        self._fetched: dict[str, int] = {}  # Prometheus SLO -> minutes stored up to (exclusive)

    def _names(self, kind: type) -> list[int]:
        return [i for i, s in enumerate(self.slos) if isinstance(s.source, kind)]

    async def fetch(self, start: int, end: int) -> list[str]:
        """Fetch Prometheus counts of minutes [start, end) not stored yet; names of SLOs that failed."""
        if self._prometheus is None:
            return []
        jobs = [self._fetch_one(self.slos[i], start, end) for i in self._names(PrometheusSource)]
        return [name for name in await asyncio.gather(*jobs) if name is not None]

    async def _fetch_one(self, slo: Slo, start: int, end: int) -> str | None:
        """Fetch and store one SLO's missing minutes; its name if Prometheus failed."""
        assert self._prometheus is not None
        assert isinstance(slo.source, PrometheusSource)
        if slo.name not in self._fetched:
            last = await self._store.last_minute(slo.name)
            self._fetched[slo.name] = start if last is None else last + 1
        begin = max(start, self._fetched[slo.name])
        if begin >= end:
            return None
        try:
            rows = await self._prometheus.counts(slo.source, begin, end)
        except PrometheusError as exc:
            log.warning("SLO %s: Prometheus query failed: %s", slo.name, exc)
            return slo.name
        await self._store.put_minutes(slo.name, rows)
        self._fetched[slo.name] = end
        return None

    async def minutes(self, start: int, end: int) -> tuple[FloatArray, FloatArray]:
        """Input good/total of every SLO for minutes [start, end): arrays shaped (minutes, SLOs)."""
        good, total = np.zeros((end - start, len(self.slos))), np.zeros((end - start, len(self.slos)))
        monitors = self._names(MonitorSource)
        if monitors:
            names = [self.slos[i].source.monitor for i in monitors]  # type: ignore[union-attr]
            rows = await self._store.monitor_rows(names, start, end)
            for i in monitors:
                source: MonitorSource = self.slos[i].source  # type: ignore[assignment]
                found = [(r.time, *monitor_counts(source, r)) for r in rows.get(source.monitor, [])]
                good[:, i], total[:, i] = dense(found, start, end)
        stored = [i for i, s in enumerate(self.slos) if not isinstance(s.source, MonitorSource)]
        if stored:
            counts = await self._store.minutes([self.slos[i].name for i in stored], start, end)
            for i in stored:
                good[:, i], total[:, i] = dense(counts.get(self.slos[i].name, []), start, end)
        self._mask(good, total, start, end)
        return good, total

    def _mask(self, good: FloatArray, total: FloatArray, start: int, end: int) -> None:
        """Zero the minutes a scoping maintenance window covers."""
        active = [(w, r) for w in self._maintenance if (r := occurrences(w, start, end))]
        if not active:
            return
        for i, labels in enumerate(self._scopes):
            if labels is None:
                continue
            for window, ranges in active:
                if window.scopes(labels):
                    for first, last in ranges:
                        good[first - start : last - start, i] = 0.0
                        total[first - start : last - start, i] = 0.0

    async def hours(self, start: int, end: int) -> tuple[FloatArray, FloatArray]:
        """SLI counts (method units) per hour of [start, end), both on hours: arrays shaped (hours, SLOs)."""
        shape = ((end - start) // 60, len(self.slos))
        good, total = np.zeros(shape), np.zeros(shape)
        horizon = await self._store.minute_horizon()
        for day in range(start, end, DAY):
            stop = min(day + DAY, end)
            rows = slice((day - start) // 60, (stop - start) // 60)
            good[rows], total[rows] = await self._hours_of(day, stop, horizon)
        return good, total

    async def _hours_of(self, start: int, end: int, horizon: int) -> tuple[FloatArray, FloatArray]:
        g, t = await self.minutes(start, end)
        hours_good, hours_total = (
            np.zeros(((end - start) // 60, len(self.slos))),
            np.zeros(((end - start) // 60, len(self.slos))),
        )
        for i, slo in enumerate(self.slos):
            scored = budgeted(slo.method, slo.slice_minutes, slo.slice_target, start, g[:, i], t[:, i])
            hours_good[:, i], hours_total[:, i] = hourly(*scored)
        if start < horizon:
            await self._old_monitor_hours(start, end, hours_good, hours_total)
        return hours_good, hours_total

    async def _old_monitor_hours(self, start: int, end: int, good: FloatArray, total: FloatArray) -> None:
        """Hours older than the minute rollups: Occurrences monitor SLOs read the hour rollups."""
        wanted = [i for i in self._names(MonitorSource) if self.slos[i].method == Method.OCCURRENCES]
        names = [self.slos[i].source.monitor for i in wanted]  # type: ignore[union-attr]
        rows = await self._store.monitor_rows(names, start, end, hours=True)
        for i in wanted:
            source: MonitorSource = self.slos[i].source  # type: ignore[assignment]
            for row in rows.get(source.monitor, []):
                at = (row.time - start) // 60
                if total[at, i] == 0:
                    good[at, i], total[at, i] = monitor_counts(source, row)
