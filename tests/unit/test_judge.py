"""judge(): from (monitor, observation, conditions, now) to a verdict with its reason."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tocsin.checks.conditions import compile_conditions
from tocsin.checks.judge import judge, status_expected
from tocsin.checks.result import Observation, Outcome, Reason
from tocsin.config.models import ConditionSpec, DnsMonitor, HttpMonitor, MonitorBase, TcpMonitor, TlsMonitor

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def http(**options: Any) -> HttpMonitor:
    return HttpMonitor(name="api", kind="http", url="https://api.example.com/healthz", **options)


def tcp(**options: Any) -> TcpMonitor:
    return TcpMonitor(name="smtp", kind="tcp", host="mail.example.com", port=25, **options)


def dns(**options: Any) -> DnsMonitor:
    return DnsMonitor(name="www", kind="dns", query="www.example.com", **options)


def tls(**options: Any) -> TlsMonitor:
    return TlsMonitor(name="cert", kind="tls", host="example.com", **options)


def run(monitor: MonitorBase, obs: Observation) -> tuple[Outcome, Reason | None, str]:
    """Judge with the monitor's own conditions compiled; return the verdict's essentials."""
    kind = str(getattr(monitor, "kind", ""))
    result = judge(monitor, obs, compile_conditions(monitor.conditions, kind), NOW)
    return result.outcome, result.reason, result.message


OK_HTTP = Observation(connected=True, status=200, latency_ms=12.5, body=b'{"status": "UP"}')
CERT = Observation(connected=True, latency_ms=3.0, certificate_expires_at=NOW + timedelta(days=60))

# (monitor, observation, (outcome, reason, message))
CASES: list[tuple[MonitorBase, Observation, tuple[Outcome, Reason | None, str]]] = [
    # a healthy response is up, with no reason
    (http(), OK_HTTP, (Outcome.UP, None, "")),
    # a probe error is down with the probe's own reason and message, whatever the conditions
    (
        http(conditions=["[STATUS] == 200"]),
        Observation(error=Reason.TIMEOUT, message="no complete response within 10s"),
        (Outcome.DOWN, Reason.TIMEOUT, "no complete response within 10s"),
    ),
    # default expected_status is 2xx and 3xx
    (
        http(),
        Observation(connected=True, status=503),
        (Outcome.DOWN, Reason.HTTP_STATUS, "HTTP status 503 is not among expected_status [2xx, 3xx]"),
    ),
    (http(), Observation(connected=True, status=302), (Outcome.UP, None, "")),
    # codes and classes mix
    (http(expected_status=[200, "4xx"]), Observation(connected=True, status=404), (Outcome.UP, None, "")),
    # a condition on [STATUS] replaces expected_status
    (
        http(conditions=["[STATUS] == 503"]),
        Observation(connected=True, status=503),
        (Outcome.UP, None, ""),
    ),
    # a failing condition is down, naming the condition, actual and expected
    (
        http(conditions=["[BODY].status == DOWN"]),
        OK_HTTP,
        (Outcome.DOWN, Reason.CONDITION, "condition failed: [BODY].status == DOWN (actual UP, expected == DOWN)"),
    ),
    # every failure is listed in the message
    (
        http(conditions=["[BODY].status == DOWN", "[RESPONSE_TIME] < 10"]),
        OK_HTTP,
        (
            Outcome.DOWN,
            Reason.CONDITION,
            "2 conditions failed: [BODY].status == DOWN (actual UP, expected == DOWN);"
            " [RESPONSE_TIME] < 10 (actual 12.5ms, expected < 10)",
        ),
    ),
    # only degraded conditions failing: degraded, not down
    (
        http(conditions=[ConditionSpec(condition="[RESPONSE_TIME] < 10", severity="degraded")]),
        OK_HTTP,
        (
            Outcome.DEGRADED,
            Reason.CONDITION,
            "condition failed: [RESPONSE_TIME] < 10 (actual 12.5ms, expected < 10)",
        ),
    ),
    # a down failure beats a degraded one, and the message names only what made it down
    (
        http(
            conditions=[
                "[BODY].status == DOWN",
                ConditionSpec(condition="[RESPONSE_TIME] < 10", severity="degraded"),
            ]
        ),
        OK_HTTP,
        (Outcome.DOWN, Reason.CONDITION, "condition failed: [BODY].status == DOWN (actual UP, expected == DOWN)"),
    ),
    # tls: far from expiry is up
    (tls(), CERT, (Outcome.UP, None, "")),
    # tls: inside expiry_warning is degraded with reason tls
    (
        tls(expiry_warning="14d"),
        Observation(connected=True, certificate_expires_at=NOW + timedelta(days=3)),
        (Outcome.DEGRADED, Reason.TLS, "certificate expires in 3d (2026-01-04T00:00Z), within expiry_warning 14d"),
    ),
    # tls: expired at `now` (even if the handshake passed) is down
    (
        tls(),
        Observation(connected=True, certificate_expires_at=NOW - timedelta(hours=5)),
        (Outcome.DOWN, Reason.TLS, "certificate expired 5h ago (2025-12-31T19:00Z)"),
    ),
    # tls: a verification failure reported by the probe is down with its message
    (
        tls(),
        Observation(error=Reason.TLS, message="TLS certificate verification failed: self-signed certificate"),
        (Outcome.DOWN, Reason.TLS, "TLS certificate verification failed: self-signed certificate"),
    ),
    # tls: a failing down condition outranks the expiry warning
    (
        tls(conditions=["[RESPONSE_TIME] < 1"]),
        Observation(connected=True, latency_ms=3.0, certificate_expires_at=NOW + timedelta(days=3)),
        (Outcome.DOWN, Reason.CONDITION, "condition failed: [RESPONSE_TIME] < 1 (actual 3ms, expected < 1)"),
    ),
    # tcp: expect matched is up
    (tcp(expect="^220 "), Observation(connected=True, body=b"220 mail ESMTP\r\n"), (Outcome.UP, None, "")),
    # tcp: expect not matched is down, with what was received
    (
        tcp(expect="^220 "),
        Observation(connected=True, body=b"554 go away\r\n"),
        (
            Outcome.DOWN,
            Reason.CONDITION,
            "condition failed: expect: ^220  (actual '554 go away\\r\\n', expected a match for /^220 /)",
        ),
    ),
    (
        tcp(expect="^220 "),
        Observation(connected=True, body=b""),
        (
            Outcome.DOWN,
            Reason.CONDITION,
            "condition failed: expect: ^220  (actual nothing received, expected a match for /^220 /)",
        ),
    ),
    # dns: NOERROR is wanted by default
    (dns(), Observation(connected=True, dns_rcode="NOERROR", answers=["192.0.2.1"]), (Outcome.UP, None, "")),
    (
        dns(),
        Observation(connected=True, dns_rcode="SERVFAIL"),
        (
            Outcome.DOWN,
            Reason.CONDITION,
            "condition failed: [DNS_RCODE] == NOERROR (actual SERVFAIL, expected == NOERROR)",
        ),
    ),
    # dns: a condition on [DNS_RCODE] replaces the default (asserting a name does NOT exist)
    (
        dns(conditions=["[DNS_RCODE] == NXDOMAIN"]),
        Observation(connected=True, dns_rcode="NXDOMAIN"),
        (Outcome.UP, None, ""),
    ),
    # dns: every expected value must be among the answers
    (
        dns(expected=["192.0.2.1", "192.0.2.2"]),
        Observation(connected=True, dns_rcode="NOERROR", answers=["192.0.2.1"]),
        (
            Outcome.DOWN,
            Reason.CONDITION,
            "condition failed: expected: 192.0.2.2 (actual 192.0.2.1, expected 192.0.2.2 among the answers)",
        ),
    ),
    # dns: addresses compare as addresses (expanded IPv6 matches the compressed answer)
    (
        dns(record_type="AAAA", expected=["2001:0db8:0000::0001"]),
        Observation(connected=True, dns_rcode="NOERROR", answers=["2001:db8::1"]),
        (Outcome.UP, None, ""),
    ),
    # dns: names compare without case or final dot
    (
        dns(record_type="CNAME", expected=["WWW.Example.net."]),
        Observation(connected=True, dns_rcode="NOERROR", answers=["www.example.net"]),
        (Outcome.UP, None, ""),
    ),
    # dns: no answers at all says so
    (
        dns(expected=["192.0.2.1"]),
        Observation(connected=True, dns_rcode="NOERROR"),
        (
            Outcome.DOWN,
            Reason.CONDITION,
            "condition failed: expected: 192.0.2.1 (actual no answers, expected 192.0.2.1 among the answers)",
        ),
    ),
]


@pytest.mark.parametrize(("monitor", "obs", "verdict"), CASES)
def test_judge_table(monitor: MonitorBase, obs: Observation, verdict: tuple[Outcome, Reason | None, str]) -> None:
    assert run(monitor, obs) == verdict


def test_result_carries_name_time_latency_and_every_failure() -> None:
    monitor = http(
        conditions=["[BODY].status == DOWN", ConditionSpec(condition="[RESPONSE_TIME] < 10", severity="degraded")]
    )
    result = judge(monitor, OK_HTTP, compile_conditions(monitor.conditions, "http"), NOW)
    assert (result.monitor, result.at, result.latency_ms) == ("api", NOW, 12.5)
    assert [(f.condition, f.actual, f.expected, f.degraded_only) for f in result.failures] == [
        ("[BODY].status == DOWN", "UP", "== DOWN", False),
        ("[RESPONSE_TIME] < 10", "12.5ms", "< 10", True),
    ]
    assert not result.ok


def test_degraded_tls_keeps_degraded_condition_failures() -> None:
    monitor = tls(conditions=[ConditionSpec(condition="[RESPONSE_TIME] < 1", severity="degraded")])
    obs = Observation(connected=True, latency_ms=3.0, certificate_expires_at=NOW + timedelta(days=1))
    result = judge(monitor, obs, compile_conditions(monitor.conditions, "tls"), NOW)
    assert result.outcome is Outcome.DEGRADED
    assert result.reason is Reason.TLS
    assert len(result.failures) == 1
    assert result.ok


def test_judge_does_not_touch_the_observation() -> None:
    obs = copy.deepcopy(OK_HTTP)
    judge(http(conditions=["[BODY].status == UP"]), obs, compile_conditions(["[BODY].status == UP"], "http"), NOW)
    assert obs == OK_HTTP


@pytest.mark.parametrize(
    ("status", "expected", "ok"),
    [
        (200, [200], True),  # exact code
        (204, ["2xx"], True),  # class
        (301, ["2xx"], False),  # other class
        (404, ["404"], True),  # a code written as a string
    ],
)
def test_status_expected(status: int, expected: list[int | str], ok: bool) -> None:
    assert status_expected(status, expected) is ok
