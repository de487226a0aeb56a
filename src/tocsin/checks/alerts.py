"""Pure mapping from a monitor's status change to the alerts it fires and resolves."""

from __future__ import annotations

from datetime import datetime

from tocsin.alerting.alert import Alert
from tocsin.checks.evaluate import Transition
from tocsin.checks.result import CheckResult, MonitorStatus
from tocsin.config.models import MonitorBase

_ALERTNAME = {MonitorStatus.DOWN: "MonitorDown", MonitorStatus.DEGRADED: "MonitorDegraded"}


def monitor_labels(monitor: MonitorBase, alertname: str) -> dict[str, str]:
    """The alert's labels: the monitor's own labels, then `alertname` and `monitor` on top."""
    return {**monitor.labels, "alertname": alertname, "monitor": monitor.name}


def alerts_for(
    monitor: MonitorBase,
    change: Transition,
    result: CheckResult | None,
    previous_since: datetime | None,
    now: datetime,
    external_url: str | None = None,
) -> list[Alert]:
    """Resolve the alert of the status left, fire the alert of the status entered."""
    alerts: list[Alert] = []
    if change.previous in _ALERTNAME:
        alerts.append(
            _alert(
                monitor,
                change.previous,
                result,
                previous_since or now,
                now,
                external_url,
                ended=True,
            )
        )
    if change.current in _ALERTNAME:
        alerts.append(_alert(monitor, change.current, result, now, now, external_url, ended=False))
    return alerts


def _alert(
    monitor: MonitorBase,
    status: MonitorStatus,
    result: CheckResult | None,
    since: datetime,
    now: datetime,
    external_url: str | None,
    *,
    ended: bool,
) -> Alert:
    annotations = dict(monitor.annotations)
    if not ended and result is not None:
        annotations.setdefault("summary", _summary(monitor, status, result))
        annotations["reason"] = result.reason.value if result.reason else ""
        annotations["message"] = result.message
    elif ended:
        annotations.setdefault("summary", f"{monitor.name} is no longer {status.value}")
    if monitor.description:
        annotations.setdefault("description", monitor.description)
    url = f"{external_url.rstrip('/')}/monitors/{monitor.name}" if external_url else ""
    return Alert(
        labels=monitor_labels(monitor, _ALERTNAME[status]),
        annotations=annotations,
        starts_at=since,
        ends_at=now if ended else None,
        generator_url=url,
    )


def _summary(monitor: MonitorBase, status: MonitorStatus, result: CheckResult) -> str:
    reason = f"{result.reason.value}: " if result.reason else ""
    return f"{monitor.name} is {status.value}: {reason}{result.message}".rstrip(": ")
