"""Small builders shared by the store tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tocsin.checks.result import CheckResult, MonitorStatus, Outcome, Reason
from tocsin.store.records import MonitorDefinition, MonitorState, ResultWrite

T0 = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday, midnight UTC


def define(name: str, kind: str = "http", **spec: object) -> MonitorDefinition:
    """A monitor definition with a small spec."""
    return MonitorDefinition(name=name, kind=kind, spec={"interval": 30, **spec})


def result(
    name: str,
    at: datetime,
    outcome: Outcome = Outcome.UP,
    latency_ms: float | None = 42.0,
    reason: Reason | None = None,
    message: str = "",
) -> ResultWrite:
    """A result and a plausible state after it."""
    status = MonitorStatus(outcome.value)
    state = MonitorState(status, 1, 0, at, outcome, at)
    return ResultWrite(CheckResult(name, at, outcome, latency_ms, reason, message), state)


def every(name: str, start: datetime, count: int, step: timedelta) -> list[ResultWrite]:
    """`count` up results `step` apart."""
    return [result(name, start + i * step) for i in range(count)]
