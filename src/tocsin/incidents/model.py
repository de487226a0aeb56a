"""The incident status machine, severities, roles and milestone times: pure rules, no I/O.

Statuses move `investigating → identified → monitoring → resolved`; an active incident may
step back (a fix that did not hold) and a resolved one may only be reopened as investigating.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from enum import StrEnum


class IncidentError(ValueError):
    """A change the incident rules refuse; the message says why."""


class Status(StrEnum):
    """Where the response stands."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class Severity(StrEnum):
    """How bad it is: SEV1 is the worst."""

    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"


class Role(StrEnum):
    """The people who run the response."""

    COMMANDER = "commander"
    COMMUNICATIONS = "communications"
    SCRIBE = "scribe"


SEVERITIES: dict[Severity, str] = {
    Severity.SEV1: "critical: a core service is down or data is at risk for many customers",
    Severity.SEV2: "major: a core feature is degraded or down for some customers",
    Severity.SEV3: "minor: a non-core feature is affected or a workaround exists",
    Severity.SEV4: "low: little or no customer impact; worth tracking",
}

ROLES: dict[Role, str] = {
    Role.COMMANDER: "incident commander: coordinates the response and decides",
    Role.COMMUNICATIONS: "communications lead: updates stakeholders and status pages",
    Role.SCRIBE: "scribe: keeps the timeline",
}

# Allowed moves; RESOLVED → INVESTIGATING is the reopen.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.INVESTIGATING: frozenset({Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED}),
    Status.IDENTIFIED: frozenset({Status.INVESTIGATING, Status.MONITORING, Status.RESOLVED}),
    Status.MONITORING: frozenset({Status.INVESTIGATING, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.INVESTIGATING}),
}


@dataclass(frozen=True, slots=True)
class Milestones:
    """The response's key times, in the order they must happen (each may be unknown)."""

    impact_start: datetime | None = None
    detected: datetime | None = None
    acknowledged: datetime | None = None
    mitigated: datetime | None = None
    resolved: datetime | None = None


MILESTONES: tuple[str, ...] = tuple(f.name for f in fields(Milestones))


def parse_status(value: str) -> Status:
    """A status from its name, or an IncidentError listing the valid ones."""
    try:
        return Status(value)
    except ValueError:
        raise IncidentError(f"unknown status {value!r}; use one of {', '.join(Status)}") from None


def parse_severity(value: str) -> Severity:
    """A severity from its name (case-insensitive), or an IncidentError listing the valid ones."""
    try:
        return Severity(value.upper())
    except ValueError:
        raise IncidentError(f"unknown severity {value!r}; use one of {', '.join(Severity)}") from None


def parse_role(value: str) -> Role:
    """A role from its name, or an IncidentError listing the valid ones."""
    try:
        return Role(value)
    except ValueError:
        raise IncidentError(f"unknown role {value!r}; use one of {', '.join(Role)}") from None


def check_transition(current: Status, target: Status) -> None:
    """Raise IncidentError unless `current → target` is an allowed move."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
        raise IncidentError(f"cannot go from {current} to {target}; from {current} go to: {allowed}")


def check_order(times: Milestones, now: datetime) -> None:
    """Raise IncidentError when a known milestone is in the future or before an earlier one."""
    previous: tuple[str, datetime] | None = None
    for name in MILESTONES:
        at: datetime | None = getattr(times, name)
        if at is None:
            continue
        if at > now:
            raise IncidentError(f"{name} ({at.isoformat()}) is in the future")
        if previous is not None and at < previous[1]:
            raise IncidentError(f"{name} ({at.isoformat()}) is before {previous[0]} ({previous[1].isoformat()})")
        previous = (name, at)


def move(current: Status, target: Status, times: Milestones, now: datetime) -> Milestones:
    """The milestones after the (validated) move `current → target` at `now`: fills or clears mitigated/resolved."""
    check_transition(current, target)
    if target is Status.RESOLVED:
        return replace(times, mitigated=times.mitigated or now, resolved=now)
    if target is Status.MONITORING:
        return replace(times, mitigated=times.mitigated or now)
    if current is Status.RESOLVED:
        return replace(times, resolved=None)
    return times


def check_resolved(status: Status, times: Milestones) -> None:
    """Raise IncidentError unless the resolved time is set exactly when the status is resolved."""
    if (times.resolved is not None) != (status is Status.RESOLVED):
        raise IncidentError("the resolved time is set by resolving (status resolved) and only then")
