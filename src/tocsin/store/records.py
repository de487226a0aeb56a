"""Typed values that cross the store boundary (no SQLAlchemy rows escape the store)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tocsin.checks.result import CheckResult, MonitorStatus, Outcome


@dataclass(frozen=True, slots=True)
class MonitorDefinition:
    """A monitor as the config (or later the API) defines it, to be registered in the store."""

    name: str
    kind: str
    spec: dict[str, Any]  # the monitor model dumped as JSON
    source: str = "config"  # "config" or "api"
    location: str | None = None  # "examples/tocsin.yaml:12" for config monitors


@dataclass(frozen=True, slots=True)
class MonitorState:
    """The persisted state machine of one monitor (see checks/evaluate.py)."""

    status: MonitorStatus = MonitorStatus.PENDING
    consecutive_ok: int = 0
    consecutive_fail: int = 0
    since: datetime | None = None  # when `status` was entered
    last_outcome: Outcome | None = None
    last_result_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MonitorRecord:
    """A registered monitor with its state, as the API and engine read it."""

    id: int
    name: str
    kind: str
    spec: dict[str, Any]
    source: str
    location: str | None
    paused: bool
    state: MonitorState
    heartbeat_token: str | None = None
    last_ping_at: datetime | None = None
    last_start_at: datetime | None = None
    removed: bool = False


@dataclass(frozen=True, slots=True)
class ResultWrite:
    """One check result, and the monitor state it led to, written in the same transaction."""

    result: CheckResult
    state: MonitorState


@dataclass(frozen=True, slots=True)
class LatencyQuantiles:
    """Latency percentiles (ms) estimated from the rollup histogram."""

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    mean: float | None = None


@dataclass(frozen=True, slots=True)
class WindowStats:
    """Counts over a time window read from rollups; uptime excludes nothing yet (see docs)."""

    since: datetime
    until: datetime
    total: int = 0
    up: int = 0
    degraded: int = 0
    down: int = 0
    latency: LatencyQuantiles = field(default_factory=LatencyQuantiles)

    @property
    def uptime(self) -> float | None:
        """Share of results that were up or degraded; None when there were no results."""
        return (self.up + self.degraded) / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class Bucket:
    """One rollup bucket (minute, hour or day) of one monitor."""

    start: datetime
    total: int
    up: int
    degraded: int
    down: int
    latency_mean: float | None

    @property
    def uptime(self) -> float | None:
        """Share of results that were up or degraded in the bucket."""
        return (self.up + self.degraded) / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An alert event as stored by ingest, until the alert pipeline consumes it."""

    id: int
    at: datetime
    source: str
    fingerprint: str
    status: str  # "firing" or "resolved"
    labels: dict[str, str]
    annotations: dict[str, str]
