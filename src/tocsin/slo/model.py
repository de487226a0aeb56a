"""SLOs compiled from config: ratios instead of percentages, window specs, burn-rate tiers.

Pure: `compile_slo` turns a validated `SloConfig` into an `Slo` the evaluator, the rule
exporter and the views share.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from tocsin.config.duration import format_duration
from tocsin.slo.config import (
    BurnAlertsConfig,
    CalendarWindowConfig,
    EventsSli,
    MonitorSli,
    PrometheusSli,
    SeverityConfig,
    SloConfig,
    TierConfig,
)
from tocsin.slo.math import WORKBOOK_TIERS, BurnTier, Severity, configure_tiers, objective_from_percent
from tocsin.slo.series import Method
from tocsin.slo.windows import CalendarWindow, RollingWindow, WindowSpec

MINUTE = timedelta(minutes=1)
# Window lengths used to turn a tier's burn-rate factor into a budget share for calendar windows.
NOMINAL_CALENDAR_MINUTES = {"week": 7 * 1440, "month": 30 * 1440, "quarter": 91 * 1440}


@dataclass(frozen=True, slots=True)
class MonitorSource:
    """Results of a monitor: all good-or-degraded ones, or those within a latency bound."""

    monitor: str
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class EventsSource:
    """Counts pushed through the API."""


@dataclass(frozen=True, slots=True)
class PrometheusSource:
    """Queries against a Prometheus-compatible HTTP API."""

    url: str
    total: str
    good: str | None = None
    bad: str | None = None
    counter: bool = False
    headers: tuple[tuple[str, str], ...] = ()


Source = MonitorSource | EventsSource | PrometheusSource


@dataclass(frozen=True, slots=True)
class Slo:
    """One SLO ready to evaluate."""

    name: str
    objective: float  # a ratio: 0.999
    window: WindowSpec
    source: Source
    service: str = ""
    description: str = ""
    method: Method = Method.OCCURRENCES
    slice_minutes: int = 1
    slice_target: float = 0.0  # ratio a Timeslices slice needs to be good
    tiers: tuple[BurnTier, ...] = WORKBOOK_TIERS
    alert_name: str = "SLOBurnRate"
    labels: Mapping[str, str] = field(default_factory=dict)  # the SLO's own (recorded series, alerts)
    alert_labels: Mapping[str, str] = field(default_factory=dict)  # alerting.labels (alerts only)
    annotations: Mapping[str, str] = field(default_factory=dict)
    severity_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # by severity
    severity_annotations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    exclude_maintenance: bool = True

    @property
    def objective_percent(self) -> float:
        """The objective as written in config (99.9)."""
        return round(self.objective * 100, 10)

    def data_key(self) -> str:
        """A digest of what decides the stored SLI counts; stored hours are rebuilt when it changes."""
        parts = [self.method.value, self.slice_minutes, self.slice_target, repr(self.source), self.exclude_maintenance]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def window_spec(value: timedelta | CalendarWindowConfig) -> WindowSpec:
    """The pure window spec of a configured window."""
    if isinstance(value, CalendarWindowConfig):
        return CalendarWindow(value.calendar, value.time_zone)
    return RollingWindow(value)


def nominal_minutes(spec: WindowSpec) -> int:
    """The window's length in minutes (a typical period for calendar windows)."""
    if isinstance(spec, RollingWindow):
        return spec.length // MINUTE
    return NOMINAL_CALENDAR_MINUTES[spec.unit]


def source_of(sli: MonitorSli | EventsSli | PrometheusSli) -> Source:
    """The pure source of a configured SLI."""
    if isinstance(sli, MonitorSli):
        latency = None if sli.latency_threshold is None else sli.latency_threshold.total_seconds() * 1000
        return MonitorSource(sli.monitor, latency)
    if isinstance(sli, EventsSli):
        return EventsSource()
    q = sli.prometheus
    return PrometheusSource(q.url, q.total, q.good, q.bad, q.counter, tuple(sorted(q.headers.items())))


def _tier(severity: Severity, tier: TierConfig, window: int) -> BurnTier:
    long, short = tier.long_window // MINUTE, tier.short_window // MINUTE
    share = tier.budget / 100 if tier.budget is not None else (tier.burn_rate or 0) * long / window
    return BurnTier(f"{severity.value}-{format_duration(tier.long_window)}", severity, long, short, share)


def _severity_tiers(severity: Severity, cfg: SeverityConfig, window: int) -> list[BurnTier]:
    if cfg.disabled:
        return []
    if cfg.tiers is None:
        return [t for t in WORKBOOK_TIERS if t.severity == severity]
    return [_tier(severity, t, window) for t in cfg.tiers]


def compile_tiers(cfg: BurnAlertsConfig, spec: WindowSpec) -> tuple[BurnTier, ...]:
    """The SLO's tiers, highest first: page before ticket, faster burn before slower."""
    if cfg.disabled:
        return ()
    window = nominal_minutes(spec)
    tiers = [t for s in (Severity.PAGE, Severity.TICKET) for t in _severity_tiers(s, getattr(cfg, s.value), window)]
    rank = {Severity.PAGE: 0, Severity.TICKET: 1}
    tiers.sort(key=lambda t: (rank[t.severity], -t.budget_share / t.long_minutes))
    return configure_tiers(tiers, min_events=cfg.min_events or None)


def compile_slo(cfg: SloConfig) -> Slo:
    """The evaluator's view of one configured SLO."""
    spec = window_spec(cfg.window)
    slice_cfg = cfg.timeslice
    alerting = cfg.alerting
    return Slo(
        name=cfg.name,
        objective=objective_from_percent(cfg.objective),
        window=spec,
        source=source_of(cfg.sli),
        service=cfg.service,
        description=cfg.description,
        method=Method(cfg.budgeting),
        slice_minutes=slice_cfg.size // MINUTE if slice_cfg else 1,
        slice_target=objective_from_percent(slice_cfg.target) if slice_cfg else 0.0,
        tiers=compile_tiers(alerting, spec),
        alert_name=alerting.name,
        labels=dict(cfg.labels),
        alert_labels=dict(alerting.labels),
        annotations=dict(alerting.annotations),
        severity_labels={s: dict(getattr(alerting, s).labels) for s in ("page", "ticket")},
        severity_annotations={s: dict(getattr(alerting, s).annotations) for s in ("page", "ticket")},
        exclude_maintenance=cfg.exclude_maintenance,
    )
