"""tocsin's own Prometheus metrics, in a registry per process (nothing global, nothing at import)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)


def _registry() -> CollectorRegistry:
    return CollectorRegistry(auto_describe=True)


@dataclass
class Metrics:
    """Every metric tocsin exports; docs/metrics.md lists them and a test keeps that true."""

    registry: CollectorRegistry = field(default_factory=_registry)

    def __post_init__(self) -> None:
        r = self.registry
        self.checks = Counter(
            "tocsin_checks",
            "Check runs by monitor kind and outcome.",
            ["kind", "outcome"],
            registry=r,
        )
        self.check_failures = Counter(
            "tocsin_check_failures",
            "Failed check runs by monitor kind and failure reason.",
            ["kind", "reason"],
            registry=r,
        )
        self.check_duration = Histogram(
            "tocsin_check_duration_seconds",
            "Probe latency by monitor kind.",
            ["kind"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.scheduler_lag = Histogram(
            "tocsin_scheduler_lag_seconds",
            "Delay between a check's slot and its start.",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.scheduler_missed = Counter(
            "tocsin_scheduler_missed_runs",
            "Slots skipped because the previous run was still going or the scheduler was late.",
            registry=r,
        )
        self.scheduler_running = Gauge("tocsin_scheduler_running_checks", "Checks running right now.", registry=r)
        self.store_write = Histogram(
            "tocsin_store_write_seconds",
            "Time to commit one batch of results.",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.store_batch = Histogram(
            "tocsin_store_batch_size",
            "Results per committed batch.",
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.monitors = Gauge("tocsin_monitors", "Monitors by status.", ["status"], registry=r)
        self.alert_events = Counter(
            "tocsin_alert_events",
            "Alerts produced by monitor state changes.",
            ["alertname", "status"],
            registry=r,
        )
        self.reload_ok = Gauge(
            "tocsin_config_last_reload_successful",
            "1 when the last config (re)load succeeded, 0 when it failed.",
            registry=r,
        )
        self.reload_time = Gauge(
            "tocsin_config_last_reload_success_timestamp_seconds",
            "When the config was last loaded successfully.",
            registry=r,
        )
        self.heartbeat_pings = Counter(
            "tocsin_heartbeat_pings", "Heartbeat pings received by kind.", ["kind"], registry=r
        )
        self.incident_recorder_errors = Counter(
            "tocsin_incident_recorder_errors",
            "Failures of incident automation (declare by rule, automatic timeline entries), by step.",
            ["step"],
            registry=r,
        )
        self.fastlane_answers = Counter(
            "tocsin_http_fastlane_answers",
            "Public answers (status pages) written from the one-second fast lane, by outcome: hit, not_modified.",
            ["outcome"],
            registry=r,
        )
        self.incident_action_export_failures = Counter(
            "tocsin_incident_action_export_failures",
            "Follow-up actions the actions webhook did not accept (retried), by reason: status, timeout, connect.",
            ["reason"],
            registry=r,
        )

    def observe_batch(self, size: int, seconds: float) -> None:
        """Record one committed store batch (the store's on_batch callback)."""
        self.store_batch.observe(size)
        self.store_write.observe(seconds)
