"""The Atlassian Statuspage API v2 shapes (summary, status, components, incidents, scheduled maintenances) of a view."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tocsin.statuspage.incidents import IncidentView, UpdateView
from tocsin.statuspage.views import ComponentView, MaintenanceView, StatusPageView, ident

Json = dict[str, Any]


def page(view: StatusPageView) -> Json:
    """The `page` object every response starts with."""
    return {
        "id": ident(view.slug),
        "name": view.title,
        "url": view.url,
        "time_zone": "Etc/UTC",
        "updated_at": view.updated_at.isoformat(),
    }


def status(view: StatusPageView) -> Json:
    """`status.json`: the page and its banner."""
    return {"page": page(view), "status": {"indicator": view.indicator.value, "description": view.status_description}}


def _component(view: StatusPageView, c: ComponentView) -> Json:
    return {
        "id": c.id,
        "name": c.name,
        "status": c.status.value,
        "created_at": None,
        "updated_at": view.updated_at.isoformat(),
        "position": c.position,
        "description": c.description or None,
        "showcase": True,
        "start_date": None,
        "group_id": c.group_id,
        "page_id": ident(view.slug),
        "group": False,
        "only_show_if_degraded": False,
    }


def _groups(view: StatusPageView) -> list[Json]:
    """Groups are components too (`group: true`) listing their members' ids; status is the worst member's."""
    members: dict[str, list[ComponentView]] = {}
    for c in view.components:
        if c.group and c.group_id:
            members.setdefault(c.group, []).append(c)
    out = []
    for position, (name, group) in enumerate(members.items(), start=len(view.components) + 1):
        worst = max(group, key=lambda c: _SEVERITY.index(c.status.value))
        out.append(
            _component(view, worst)
            | {"id": group[0].group_id, "name": name, "position": position, "description": None, "group_id": None}
            | {"group": True, "components": [c.id for c in group]}
        )
    return out


_SEVERITY = ["operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"]


def components(view: StatusPageView) -> Json:
    """`components.json`: every component and group."""
    return {"page": page(view), "components": [_component(view, c) for c in view.components] + _groups(view)}


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _update(incident_id: str, u: UpdateView) -> Json:
    at = u.at.isoformat()
    affected = [a.model_dump() for a in u.affected]
    return {
        "id": u.id,
        "status": u.status,
        "body": u.body,
        "incident_id": incident_id,
        "created_at": at,
        "updated_at": at,
        "display_at": at,
        "affected_components": affected or None,
    }


def incident(view: StatusPageView, i: IncidentView) -> Json:
    """One incident in Statuspage's shape, with its public updates newest first."""
    return {
        "id": i.id,
        "name": i.name,
        "status": i.status,
        "created_at": i.created_at.isoformat(),
        "updated_at": i.updated_at.isoformat(),
        "monitoring_at": _iso(i.monitoring_at),
        "resolved_at": _iso(i.resolved_at),
        "impact": i.impact.value,
        "shortlink": f"{view.url}/history#incident-{i.id}",
        "started_at": i.started_at.isoformat(),
        "page_id": ident(view.slug),
        "incident_updates": [_update(i.id, u) for u in i.updates],
        "components": [_component(view, c) for c in view.components if c.id in i.components],
    }


def _maintenance(view: StatusPageView, m: MaintenanceView) -> Json:
    affected = [_component(view, c) for c in view.components if c.id in m.components]
    start = m.scheduled_for.isoformat()
    updates = [
        {
            "id": m.id + "-" + m.status,
            "status": m.status,
            "body": m.description or f"{m.name}: {m.status.replace('_', ' ')}",
            "incident_id": m.id,
            "created_at": start,
            "updated_at": start,
            "display_at": start,
            "affected_components": None,
        }
    ]
    return {
        "id": m.id,
        "name": m.name,
        "status": m.status,
        "created_at": start,
        "updated_at": start,
        "monitoring_at": None,
        "resolved_at": m.scheduled_until.isoformat() if m.status == "completed" else None,
        "impact": "maintenance",
        "shortlink": f"{view.url}/history",
        "started_at": start,
        "page_id": ident(view.slug),
        "incident_updates": updates,
        "components": affected,
        "scheduled_for": start,
        "scheduled_until": m.scheduled_until.isoformat(),
    }


def incidents(view: StatusPageView) -> Json:
    """`incidents.json`: the 50 newest incidents of the last 90 days, resolved or not."""
    return {"page": page(view), "incidents": [incident(view, i) for i in view.recent]}


def unresolved(view: StatusPageView) -> Json:
    """`incidents/unresolved.json`: incidents investigating, identified or monitoring."""
    return {"page": page(view), "incidents": [incident(view, i) for i in view.incidents]}


def _maintenances(view: StatusPageView, *states: str) -> Json:
    chosen = [m for m in [*view.maintenances, *view.completed] if m.status in states]
    return {"page": page(view), "scheduled_maintenances": [_maintenance(view, m) for m in chosen]}


def scheduled_maintenances(view: StatusPageView) -> Json:
    """`scheduled-maintenances.json`: upcoming, in progress, and completed in the last 30 days."""
    return _maintenances(view, "scheduled", "in_progress", "completed")


def upcoming(view: StatusPageView) -> Json:
    """`scheduled-maintenances/upcoming.json`: maintenance not started yet."""
    return _maintenances(view, "scheduled")


def active(view: StatusPageView) -> Json:
    """`scheduled-maintenances/active.json`: maintenance in progress."""
    return _maintenances(view, "in_progress")


def summary(view: StatusPageView) -> Json:
    """`summary.json`: page, banner, components, unresolved incidents, upcoming and in-progress maintenance."""
    return status(view) | {
        "components": components(view)["components"],
        "incidents": unresolved(view)["incidents"],
        "scheduled_maintenances": _maintenances(view, "scheduled", "in_progress")["scheduled_maintenances"],
    }
