"""Typed views of incidents shared by the API and the console's pages (and their `.json` twins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from tocsin.incidents.model import MILESTONES, SEVERITIES, TRANSITIONS
from tocsin.store.incidents import Incident, TimelineEntry


class TimelineView(BaseModel):
    """One timeline entry."""

    id: int
    at: datetime
    actor: str
    kind: str
    text: str
    detail: dict[str, Any]


class IncidentView(BaseModel):
    """An incident; `version` goes back in edits, `next_statuses` are the allowed moves."""

    id: int
    title: str
    severity: str
    severity_description: str
    status: str
    next_statuses: list[str]
    summary: str
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    times: dict[str, datetime | None]
    roles: dict[str, str]
    alert_groups: list[str]


class IncidentList(BaseModel):
    """Incidents, newest first."""

    incidents: list[IncidentView]


class IncidentDetail(BaseModel):
    """An incident with its timeline, oldest entry first."""

    incident: IncidentView
    timeline: list[TimelineView]


def incident_view(i: Incident) -> IncidentView:
    """The view of one incident."""
    return IncidentView(
        id=i.id,
        title=i.title,
        severity=i.severity.value,
        severity_description=SEVERITIES[i.severity],
        status=i.status.value,
        next_statuses=sorted(TRANSITIONS[i.status]),
        summary=i.summary,
        version=i.version,
        created_by=i.created_by,
        created_at=i.created_at,
        updated_at=i.updated_at,
        times={name: getattr(i.times, name) for name in MILESTONES},
        roles=dict(i.roles),
        alert_groups=list(i.alert_groups),
    )


def detail_view(i: Incident, entries: list[TimelineEntry]) -> IncidentDetail:
    """The view of an incident with its timeline."""
    timeline = [
        TimelineView(id=e.id, at=e.at, actor=e.actor, kind=e.kind, text=e.text, detail=e.detail) for e in entries
    ]
    return IncidentDetail(incident=incident_view(i), timeline=timeline)
