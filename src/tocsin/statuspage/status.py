"""Component and page status from monitor states and active maintenance (pure, Statuspage vocabulary)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from tocsin.checks.result import MonitorStatus


class ComponentStatus(StrEnum):
    """A component's status, named as Atlassian Statuspage names it."""

    OPERATIONAL = "operational"
    DEGRADED = "degraded_performance"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    MAINTENANCE = "under_maintenance"


class Indicator(StrEnum):
    """The page-wide banner level, as Statuspage's `status.indicator`."""

    NONE = "none"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"
    MAINTENANCE = "maintenance"


DESCRIPTIONS = {
    Indicator.NONE: "All Systems Operational",
    Indicator.MINOR: "Partially Degraded Service",
    Indicator.MAJOR: "Partial System Outage",
    Indicator.CRITICAL: "Major System Outage",
    Indicator.MAINTENANCE: "Service Under Maintenance",
}

_LEVEL = {  # component status -> page indicator, worst first
    ComponentStatus.MAJOR_OUTAGE: Indicator.CRITICAL,
    ComponentStatus.PARTIAL_OUTAGE: Indicator.MAJOR,
    ComponentStatus.DEGRADED: Indicator.MINOR,
    ComponentStatus.MAINTENANCE: Indicator.MAINTENANCE,
    ComponentStatus.OPERATIONAL: Indicator.NONE,
}


@dataclass(frozen=True, slots=True)
class MonitorView:
    """What the status of one monitor contributes: its state and whether maintenance covers it now."""

    status: MonitorStatus | None  # None: the monitor is not running (removed or not yet known)
    in_maintenance: bool = False


def component_status(monitors: Sequence[MonitorView]) -> ComponentStatus:
    """The component's status: maintenance unless a monitor outside it is failing; then by how many are down."""
    counted = [m.status for m in monitors if not m.in_maintenance]
    failing = _from_states(counted)
    if any(m.in_maintenance for m in monitors) and failing is ComponentStatus.OPERATIONAL:
        return ComponentStatus.MAINTENANCE
    return failing


def _from_states(states: Sequence[MonitorStatus | None]) -> ComponentStatus:
    down = sum(1 for s in states if s is MonitorStatus.DOWN)
    if down and down == len(states):
        return ComponentStatus.MAJOR_OUTAGE
    if down:
        return ComponentStatus.PARTIAL_OUTAGE
    if MonitorStatus.DEGRADED in states:
        return ComponentStatus.DEGRADED
    return ComponentStatus.OPERATIONAL  # up, pending and paused do not alarm the public


def indicator(statuses: Iterable[ComponentStatus]) -> Indicator:
    """The page's banner: the worst component decides; maintenance only when nothing is failing."""
    found = set(statuses)
    return next((level for status, level in _LEVEL.items() if status in found), Indicator.NONE)


SEVERITY = (  # best to worst; maintenance only shows when nothing worse is going on
    ComponentStatus.OPERATIONAL,
    ComponentStatus.MAINTENANCE,
    ComponentStatus.DEGRADED,
    ComponentStatus.PARTIAL_OUTAGE,
    ComponentStatus.MAJOR_OUTAGE,
)


def worst(statuses: Iterable[ComponentStatus]) -> ComponentStatus:
    """The worst of the statuses (operational when there are none)."""
    return max(statuses, key=SEVERITY.index, default=ComponentStatus.OPERATIONAL)


def effective_status(
    monitors: ComponentStatus, override: ComponentStatus | None, impacts: Iterable[ComponentStatus]
) -> ComponentStatus:
    """What the page shows: a hand-set override replaces the monitors' verdict; open incidents can only worsen it."""
    return worst([override if override is not None else monitors, *impacts])


INCIDENT_LEVEL = {  # a component impact -> the incident's Statuspage `impact`
    ComponentStatus.MAJOR_OUTAGE: Indicator.CRITICAL,
    ComponentStatus.PARTIAL_OUTAGE: Indicator.MAJOR,
    ComponentStatus.DEGRADED: Indicator.MINOR,
    ComponentStatus.MAINTENANCE: Indicator.MAINTENANCE,
    ComponentStatus.OPERATIONAL: Indicator.NONE,
}
LEVELS = (Indicator.NONE, Indicator.MAINTENANCE, Indicator.MINOR, Indicator.MAJOR, Indicator.CRITICAL)


def worst_level(levels: Iterable[Indicator]) -> Indicator:
    """The worst page-wide level of several (none when there are none)."""
    return max(levels, key=LEVELS.index, default=Indicator.NONE)
