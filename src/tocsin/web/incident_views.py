"""Typed views of incidents shared by the API and the console's pages (and their `.json` twins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from tocsin.incidents.actions import Action
from tocsin.incidents.model import MILESTONES, TRANSITIONS, Levels, severity_rank
from tocsin.store.incidents import Incident, TimelineEntry

NO_LONGER_CONFIGURED = "no longer configured (incidents.severities)"


class TimelineView(BaseModel):
    """One timeline entry; `history` holds the texts it replaced (oldest first) with who replaced them when."""

    id: int
    at: datetime
    actor: str
    kind: str
    text: str
    detail: dict[str, Any]
    pinned: bool = False
    hidden: bool = False
    edited_at: datetime | None = None
    history: list[dict[str, Any]] = []


class ImpactView(BaseModel):
    """A service (`page` "") or status-page component the incident affects, and how badly."""

    kind: str
    page: str
    name: str
    impact: str


class IncidentView(BaseModel):
    """An incident; `version` goes back in edits, `next_statuses` are the allowed moves.

    `severity_rank` is the severity's position in the configured order (0 is the worst; None
    when it was since removed from the config).
    """

    id: int
    title: str
    severity: str
    severity_description: str
    severity_rank: int | None
    status: str
    next_statuses: list[str]
    summary: str
    version: int
    source: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    times: dict[str, datetime | None]
    roles: dict[str, str]
    alert_groups: list[str]
    impacts: list[ImpactView]


class IncidentList(BaseModel):
    """Incidents, newest first."""

    incidents: list[IncidentView]


class ActionView(BaseModel):
    """A follow-up action; `exported` says the actions webhook accepted its latest change."""

    id: int
    incident_id: int
    title: str
    owner: str | None
    kind: str
    status: str
    due: datetime | None
    overdue: bool
    created_at: datetime
    updated_at: datetime
    exported_at: datetime | None
    exported: bool


class ActionList(BaseModel):
    """Follow-up actions, soonest due first."""

    actions: list[ActionView]


class IncidentDetail(BaseModel):
    """An incident with its timeline (oldest entry first) and its follow-up actions."""

    incident: IncidentView
    timeline: list[TimelineView]
    actions: list[ActionView] = []


class TimelineList(BaseModel):
    """An incident's timeline, oldest entry first."""

    incident_id: int
    timeline: list[TimelineView]


def incident_view(i: Incident, levels: Levels) -> IncidentView:
    """The view of one incident, its severity described by the configured `levels`."""
    return IncidentView(
        id=i.id,
        title=i.title,
        severity=i.severity,
        severity_description=levels.get(i.severity, NO_LONGER_CONFIGURED),
        severity_rank=severity_rank(i.severity, levels),
        status=i.status.value,
        next_statuses=sorted(TRANSITIONS[i.status]),
        summary=i.summary,
        version=i.version,
        source=i.source,
        created_by=i.created_by,
        created_at=i.created_at,
        updated_at=i.updated_at,
        times={name: getattr(i.times, name) for name in MILESTONES},
        roles=dict(i.roles),
        alert_groups=list(i.alert_groups),
        impacts=[ImpactView(kind=x.kind, page=x.page, name=x.name, impact=x.impact) for x in i.impacts],
    )


def entry_view(e: TimelineEntry) -> TimelineView:
    """The view of one timeline entry."""
    return TimelineView(
        id=e.id,
        at=e.at,
        actor=e.actor,
        kind=e.kind,
        text=e.text,
        detail=e.detail,
        pinned=e.pinned,
        hidden=e.hidden,
        edited_at=e.edited_at,
        history=list(e.history),
    )


def action_view(a: Action, now: datetime) -> ActionView:
    """The view of one action as of `now` (for `overdue`)."""
    return ActionView(
        id=a.id,
        incident_id=a.incident_id,
        title=a.title,
        owner=a.owner,
        kind=a.kind,
        status=a.status,
        due=a.due,
        overdue=a.overdue(now),
        created_at=a.created_at,
        updated_at=a.updated_at,
        exported_at=a.exported_at,
        exported=not a.pending_export,
    )


def detail_view(
    i: Incident, entries: list[TimelineEntry], levels: Levels, actions: list[Action], now: datetime
) -> IncidentDetail:
    """The view of an incident with its timeline and actions."""
    return IncidentDetail(
        incident=incident_view(i, levels),
        timeline=[entry_view(e) for e in entries],
        actions=[action_view(a, now) for a in actions],
    )
