"""Heartbeat deadlines, healthchecks.io-style, from tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.checks.heartbeat import deadline, judge_deadline, ping_result
from tocsin.checks.result import Outcome, Reason
from tocsin.config.models import HeartbeatMonitor

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MON = HeartbeatMonitor(kind="heartbeat", name="job", period=timedelta(minutes=5), grace=timedelta(minutes=1))
m = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("last_ping", "last_start", "expected"),
    [
        (None, None, T0 + 6 * m),  # never pinged: the clock starts when tocsin starts watching
        (T0 + 10 * m, None, T0 + 16 * m),  # ping + period + grace
        (T0 + 10 * m, T0 + 12 * m, T0 + 13 * m),  # a start after the ping must finish within grace
        (T0 + 10 * m, T0 + 8 * m, T0 + 16 * m),  # a start before the last ping is finished already
        (T0 - 60 * m, None, T0 + 6 * m),  # a ping from before watching began does not count back
    ],
)
def test_deadline(last_ping: datetime | None, last_start: datetime | None, expected: datetime) -> None:
    assert deadline(MON, T0, last_ping, last_start) == expected


def test_judge_up_before_and_down_after_deadline() -> None:
    assert judge_deadline(MON, T0, T0, None, T0 + 5 * m).outcome is Outcome.UP
    late = judge_deadline(MON, T0, T0, None, T0 + 7 * m)
    assert late.outcome is Outcome.DOWN
    assert late.reason is Reason.NO_PING
    assert late.message == "last ping 7m ago; expected every 5m + grace 1m"


def test_judge_start_without_finish() -> None:
    result = judge_deadline(MON, T0, T0, T0 + m, T0 + 3 * m)
    assert result.reason is Reason.NO_PING
    assert result.message == "run started 2m ago and did not finish within grace 1m"


def test_never_pinged_message() -> None:
    result = judge_deadline(MON, T0, None, None, T0 + 10 * m)
    assert result.message == "no ping received yet (expected every 5m + grace 1m)"


def test_ping_results() -> None:
    assert ping_result(MON, "start", T0, "", None) is None  # a start alone decides nothing
    ok = ping_result(MON, "ping", T0 + 2 * m, "", T0)
    assert ok is not None
    assert ok.outcome is Outcome.UP
    assert ok.latency_ms == 120_000
    failed = ping_result(MON, "fail", T0, "disk full\n", None)
    assert failed is not None
    assert failed.reason is Reason.REPORTED
    assert failed.message == "disk full"
    bare = ping_result(MON, "fail", T0, "", None)
    assert bare is not None
    assert bare.message == "the job reported failure"
