"""Pure heartbeat judgement: healthchecks.io-style deadlines from the last ping and start."""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.checks.result import CheckResult, Outcome, Reason
from tocsin.config.duration import format_duration
from tocsin.config.models import HeartbeatMonitor


def deadline(
    monitor: HeartbeatMonitor,
    watching_since: datetime,
    last_ping: datetime | None,
    last_start: datetime | None,
) -> datetime:
    """When the monitor goes down unless a ping arrives: ping + period + grace, or start + grace."""
    base = max(last_ping, watching_since) if last_ping else watching_since
    due = base + monitor.period + monitor.grace
    if last_start and (last_ping is None or last_start > last_ping):
        due = min(due, last_start + monitor.grace)
    return due


def judge_deadline(
    monitor: HeartbeatMonitor,
    watching_since: datetime,
    last_ping: datetime | None,
    last_start: datetime | None,
    now: datetime,
) -> CheckResult:
    """An UP result while the deadline holds, a DOWN result (no_ping) once it has passed."""
    due = deadline(monitor, watching_since, last_ping, last_start)
    if now < due:
        return CheckResult(monitor.name, now, Outcome.UP, latency_ms=None)
    return CheckResult(
        monitor.name,
        now,
        Outcome.DOWN,
        reason=Reason.NO_PING,
        message=_late(monitor, last_ping, last_start, now),
    )


def _late(
    monitor: HeartbeatMonitor,
    last_ping: datetime | None,
    last_start: datetime | None,
    now: datetime,
) -> str:
    if last_start and (last_ping is None or last_start > last_ping):
        grace = format_duration(monitor.grace)
        return f"run started {_ago(now - last_start)} ago and did not finish within grace {grace}"
    if last_ping is None:
        return (
            f"no ping received yet (expected every {format_duration(monitor.period)}"
            f" + grace {format_duration(monitor.grace)})"
        )
    return (
        f"last ping {_ago(now - last_ping)} ago; expected every {format_duration(monitor.period)}"
        f" + grace {format_duration(monitor.grace)}"
    )


def _ago(delta: timedelta) -> str:
    return format_duration(timedelta(seconds=round(delta.total_seconds())))


def ping_result(
    monitor: HeartbeatMonitor, kind: str, at: datetime, body: str, last_start: datetime | None
) -> CheckResult | None:
    """The result a ping records at once: up for a ping, down for /fail, none for /start."""
    if kind == "start":
        return None
    if kind == "fail":
        message = body.strip()[:1000] or "the job reported failure"
        return CheckResult(monitor.name, at, Outcome.DOWN, reason=Reason.REPORTED, message=message)
    run_ms = (at - last_start).total_seconds() * 1000 if last_start and last_start <= at else None
    return CheckResult(monitor.name, at, Outcome.UP, latency_ms=run_ms, message=body.strip()[:1000])
