"""The incident status machine, severities, roles and milestone times: pure rules, no I/O.

Statuses move `investigating → identified → monitoring → resolved`; an active incident may
step back (a fix that did not hold) and a resolved one may only be reopened as investigating.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


# Severities and roles come from the `incidents:` config as name → description, in order
# (the first severity is the worst); the functions here take them as arguments.
Levels = Mapping[str, str]

IMPACTS: tuple[str, ...] = ("degraded_performance", "partial_outage", "major_outage", "under_maintenance")
IMPACT_KINDS: tuple[str, ...] = ("service", "component")


@dataclass(frozen=True, slots=True, order=True)
class Impact:
    """What an incident affects: a service (`page` "") or a status-page component (`page` its slug)."""

    kind: str
    page: str
    name: str
    impact: str

    @property
    def label(self) -> str:
        """`service api` or `component public/API`, as timelines and errors name it."""
        return f"service {self.name}" if self.kind == "service" else f"component {self.page}/{self.name}"


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


def parse_severity(value: str, levels: Levels) -> str:
    """The configured severity called `value` (case-insensitive), or an IncidentError listing them."""
    for name in levels:
        if name.casefold() == value.strip().casefold():
            return name
    raise IncidentError(f"unknown severity {value!r}; use one of {_described(levels)}")


def parse_role(value: str, roles: Levels) -> str:
    """The configured role called `value`, or an IncidentError listing them."""
    if value in roles:
        return value
    raise IncidentError(f"unknown role {value!r}; use one of {_described(roles)}")


def _described(levels: Levels) -> str:
    return ", ".join(f"{name} ({about})" if about else name for name, about in levels.items())


def severity_rank(severity: str, levels: Levels) -> int | None:
    """The severity's position in the configured order (0 is the worst), None when no longer configured."""
    names = list(levels)
    return names.index(severity) if severity in names else None


def check_impacts(impacts: Sequence[Impact], components: Mapping[str, Sequence[str]], services: Sequence[str]) -> None:
    """Raise IncidentError for a bad kind or impact, a duplicate, or an unknown service, page or component."""
    seen: set[tuple[str, str, str]] = set()
    for index, i in enumerate(impacts):
        where = f"impacts[{index}]"
        if i.kind not in IMPACT_KINDS:
            raise IncidentError(f"{where}.kind: {i.kind!r} is not one of {', '.join(IMPACT_KINDS)}")
        if i.impact not in IMPACTS:
            raise IncidentError(f"{where}.impact: {i.impact!r} is not one of {', '.join(IMPACTS)}")
        if (i.kind, i.page, i.name) in seen:
            raise IncidentError(f"{where}: {i.label} is listed twice")
        seen.add((i.kind, i.page, i.name))
        _check_known(i, where, components, services)


def _check_known(i: Impact, where: str, components: Mapping[str, Sequence[str]], services: Sequence[str]) -> None:
    if i.kind == "service":
        if i.page:
            raise IncidentError(f"{where}.page: a service belongs to no status page; leave page out")
        if i.name not in services:
            raise IncidentError(f"{where}.name: no service {i.name!r}; known: {', '.join(services) or 'none'}")
        return
    if i.page not in components:
        raise IncidentError(f"{where}.page: no status page {i.page!r}; known: {', '.join(components) or 'none'}")
    known = components[i.page]
    if i.name not in known:
        raise IncidentError(
            f"{where}.name: status page {i.page!r} has no component {i.name!r}; known: {', '.join(known) or 'none'}"
        )


def impact_changes(before: Sequence[Impact], after: Sequence[Impact]) -> list[tuple[Impact | None, Impact | None]]:
    """Pairs (old, new) for every impact added, changed or removed, in a stable order."""
    old = {(i.kind, i.page, i.name): i for i in before}
    new = {(i.kind, i.page, i.name): i for i in after}
    return [(old.get(k), new.get(k)) for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)]


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
