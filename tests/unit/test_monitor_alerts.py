"""Which alerts a monitor's status change fires and resolves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tocsin.checks.alerts import alerts_for
from tocsin.checks.evaluate import Transition
from tocsin.checks.result import CheckResult, MonitorStatus, Outcome, Reason
from tocsin.config.models import HttpMonitor

T0 = datetime(2026, 5, 1, tzinfo=UTC)
MON = HttpMonitor(
    kind="http",
    name="api",
    url="http://127.0.0.1/",
    labels={"service": "api", "monitor": "spoofed"},
    annotations={"runbook_url": "https://runbooks/api"},
)
DOWN_RESULT = CheckResult("api", T0, Outcome.DOWN, reason=Reason.CONNECT, message="connection refused")


def test_going_down_fires_monitor_down_with_labels_and_annotations() -> None:
    [alert] = alerts_for(MON, Transition(MonitorStatus.UP, MonitorStatus.DOWN), DOWN_RESULT, None, T0, "https://ops")
    assert dict(alert.labels) == {"service": "api", "alertname": "MonitorDown", "monitor": "api"}  # ours win
    assert alert.annotations["summary"] == "api is down: connect: connection refused"
    assert alert.annotations["runbook_url"] == "https://runbooks/api"
    assert alert.annotations["reason"] == "connect"
    assert alert.ends_at is None
    assert alert.starts_at == T0
    assert alert.generator_url == "https://ops/monitors/api"


def test_recovery_resolves_with_original_start() -> None:
    since = T0 - timedelta(minutes=7)
    up = CheckResult("api", T0, Outcome.UP)
    [alert] = alerts_for(MON, Transition(MonitorStatus.DOWN, MonitorStatus.UP), up, since, T0)
    assert alert.labels["alertname"] == "MonitorDown"
    assert alert.starts_at == since
    assert alert.ends_at == T0


def test_down_to_degraded_resolves_one_and_fires_the_other() -> None:
    degraded = CheckResult("api", T0, Outcome.DEGRADED, reason=Reason.CONDITION, message="slow")
    alerts = alerts_for(MON, Transition(MonitorStatus.DOWN, MonitorStatus.DEGRADED), degraded, T0, T0)
    assert [(a.labels["alertname"], a.ends_at is not None) for a in alerts] == [
        ("MonitorDown", True),
        ("MonitorDegraded", False),
    ]


def test_pending_to_up_raises_nothing() -> None:
    assert alerts_for(MON, Transition(MonitorStatus.PENDING, MonitorStatus.UP), None, None, T0) == []
