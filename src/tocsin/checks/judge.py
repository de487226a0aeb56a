"""Turn what a probe observed into a verdict: a pure function of (monitor, observation, now)."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from datetime import datetime

from tocsin.checks.conditions import (
    CompiledCondition,
    ParsedCondition,
    compiled_regex,
    evaluate_all,
    parse_condition,
)
from tocsin.checks.result import CheckResult, ConditionFailure, Observation, Outcome, Reason
from tocsin.config.duration import format_duration
from tocsin.config.models import DnsMonitor, HttpMonitor, MonitorBase, TcpMonitor, TlsMonitor

_Verdict = tuple[Outcome, Reason | None, str, list[ConditionFailure]]


def judge(
    monitor: MonitorBase, obs: Observation, conditions: Sequence[CompiledCondition], now: datetime
) -> CheckResult:
    """Decide up, degraded or down for one observation, with the reason as data."""
    outcome, reason, message, failures = _verdict(monitor, obs, conditions, now)
    return CheckResult(monitor.name, now, outcome, obs.latency_ms, reason, message, tuple(failures))


def _verdict(
    monitor: MonitorBase, obs: Observation, conditions: Sequence[CompiledCondition], now: datetime
) -> _Verdict:
    """Hard failures first, then conditions (down before degraded), then the TLS warning."""
    hard = _hard_failure(monitor, obs, conditions, now)
    if hard is not None:
        return hard
    failures = [*_builtin_failures(monitor, obs, conditions, now)]
    failures += evaluate_all(conditions, obs, now)
    down = [failure for failure in failures if not failure.degraded_only]
    if down:
        return Outcome.DOWN, Reason.CONDITION, _describe(down), failures
    warning = _tls_warning(monitor, obs, now)
    if warning is not None:
        return Outcome.DEGRADED, Reason.TLS, warning, failures
    if failures:
        return Outcome.DEGRADED, Reason.CONDITION, _describe(failures), failures
    return Outcome.UP, None, "", []


def _hard_failure(
    monitor: MonitorBase, obs: Observation, conditions: Sequence[CompiledCondition], now: datetime
) -> _Verdict | None:
    """A probe error, an expired certificate (tls) or an unexpected http status."""
    if obs.error is not None:
        return Outcome.DOWN, obs.error, obs.message, []
    expired = _tls_expired(monitor, obs, now)
    if expired is not None:
        return Outcome.DOWN, Reason.TLS, expired, []
    status = _status_problem(monitor, obs, conditions)
    if status is not None:
        return Outcome.DOWN, Reason.HTTP_STATUS, status, []
    return None


def _describe(failures: Sequence[ConditionFailure]) -> str:
    """One line naming every failed condition with what was seen and what was wanted."""
    parts = [f"{f.condition} (actual {f.actual}, expected {f.expected})" for f in failures]
    head = "condition failed" if len(parts) == 1 else f"{len(parts)} conditions failed"
    return f"{head}: " + "; ".join(parts)


def _status_problem(monitor: MonitorBase, obs: Observation, conditions: Sequence[CompiledCondition]) -> str | None:
    """Why an http status is unexpected, unless the user judges [STATUS] themselves."""
    if not isinstance(monitor, HttpMonitor) or obs.status is None:
        return None
    if any(c.condition.placeholder == "STATUS" for c in conditions):
        return None
    if status_expected(obs.status, monitor.expected_status):
        return None
    wanted = ", ".join(str(item) for item in monitor.expected_status)
    return f"HTTP status {obs.status} is not among expected_status [{wanted}]"


def status_expected(status: int, expected: Sequence[int | str]) -> bool:
    """Whether a status code matches a list of codes (200) and classes ("2xx")."""
    klass = f"{status // 100}xx"
    return any(item in (status, klass, str(status)) for item in expected)


def _tls_expired(monitor: MonitorBase, obs: Observation, now: datetime) -> str | None:
    """For tls monitors: why the certificate counts as expired at `now`, if it does."""
    expires = obs.certificate_expires_at
    if not isinstance(monitor, TlsMonitor) or expires is None or expires > now:
        return None
    return f"certificate expired {format_duration(now - expires)} ago ({_stamp(expires)})"


def _tls_warning(monitor: MonitorBase, obs: Observation, now: datetime) -> str | None:
    """For tls monitors: a warning when the certificate expires within `expiry_warning`."""
    expires = obs.certificate_expires_at
    if not isinstance(monitor, TlsMonitor) or expires is None:
        return None
    left = expires - now
    if left > monitor.expiry_warning:
        return None
    warning = format_duration(monitor.expiry_warning)
    return f"certificate expires in {format_duration(left)} ({_stamp(expires)}), within expiry_warning {warning}"


def _stamp(when: datetime) -> str:
    """An instant as 2026-01-01T00:00Z."""
    return when.strftime("%Y-%m-%dT%H:%MZ")


def _builtin_failures(
    monitor: MonitorBase, obs: Observation, conditions: Sequence[CompiledCondition], now: datetime
) -> list[ConditionFailure]:
    """Failures of checks every monitor of a kind gets: tcp `expect`, dns rcode and `expected`."""
    if isinstance(monitor, TcpMonitor):
        return _expect_failures(monitor, obs)
    if isinstance(monitor, DnsMonitor):
        failures = _expected_answer_failures(monitor, obs)
        if not any(c.condition.placeholder == "DNS_RCODE" for c in conditions):
            rcode = _default_rcode().evaluate(obs, now)
            failures[:0] = [rcode] if rcode is not None else []
        return failures
    return []


def _expect_failures(monitor: TcpMonitor, obs: Observation) -> list[ConditionFailure]:
    """The tcp `expect` regular expression, searched in what the peer sent."""
    if monitor.expect is None:
        return []
    received = (obs.body or b"").decode("utf-8", "replace")
    if compiled_regex(monitor.expect).search(received):
        return []
    actual = repr(received[:200]) if received else "nothing received"
    return [ConditionFailure(f"expect: {monitor.expect}", actual, f"a match for /{monitor.expect}/")]


def _expected_answer_failures(monitor: DnsMonitor, obs: Observation) -> list[ConditionFailure]:
    """Every value in the dns `expected` list must be among the answers."""
    have = {_normalise(monitor.record_type, answer) for answer in obs.answers}
    missing = [e for e in monitor.expected if _normalise(monitor.record_type, e) not in have]
    if not missing:
        return []
    actual = ", ".join(obs.answers) if obs.answers else "no answers"
    return [ConditionFailure(f"expected: {value}", actual, f"{value} among the answers") for value in missing]


def _normalise(record_type: str, value: str) -> str:
    """Compare addresses as addresses and names without case or trailing dot."""
    text = value.strip()
    if record_type in ("A", "AAAA"):
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            return text
    return text if record_type == "TXT" else text.rstrip(".").lower()


@functools.cache
def _default_rcode() -> ParsedCondition:
    """The condition a dns monitor gets when it sets none on [DNS_RCODE]."""
    return parse_condition("[DNS_RCODE] == NOERROR")
