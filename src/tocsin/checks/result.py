"""What a check run sees (`Observation`) and what tocsin concludes from it (`CheckResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """Why a check failed, as data: the first thing a responder wants to know."""

    DNS = "dns"  # name did not resolve
    CONNECT = "connect"  # refused, reset, unreachable
    TLS = "tls"  # handshake, chain, hostname or expiry problem
    TIMEOUT = "timeout"  # no complete answer within the monitor's timeout
    PROTOCOL = "protocol"  # the peer answered with something that is not valid HTTP/DNS/...
    HTTP_STATUS = "http_status"  # status code not among the expected ones
    CONDITION = "condition"  # a configured condition did not hold
    NO_PING = "no_ping"  # heartbeat: nothing arrived within period + grace
    REPORTED = "reported"  # heartbeat: the job itself reported failure via /fail


class Outcome(StrEnum):
    """The verdict of one check run."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"


class MonitorStatus(StrEnum):
    """A monitor's state, changed only after enough consecutive results agree."""

    PENDING = "pending"  # no verdict yet
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    PAUSED = "paused"


@dataclass(slots=True)
class Observation:
    """Raw facts a probe gathered; conditions are judged against these, never inside probes."""

    latency_ms: float | None = None
    connected: bool = False
    error: Reason | None = None
    message: str = ""
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    certificate_expires_at: datetime | None = None
    certificate_subject: str | None = None
    dns_rcode: str | None = None
    answers: list[str] = field(default_factory=list)
    ip: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConditionFailure:
    """One condition that did not hold, with what was seen and what was wanted."""

    condition: str
    actual: str
    expected: str
    degraded_only: bool = False


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check run of one monitor at one instant."""

    monitor: str
    at: datetime
    outcome: Outcome
    latency_ms: float | None = None
    reason: Reason | None = None
    message: str = ""
    failures: tuple[ConditionFailure, ...] = ()

    @property
    def ok(self) -> bool:
        """True unless the verdict is down (degraded still counts as available)."""
        return self.outcome is not Outcome.DOWN
