"""The Atlassian Statuspage API v2 shapes (`summary.json`, `status.json`, `components.json`) of a page view."""

from __future__ import annotations

from typing import Any

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


def _maintenance(view: StatusPageView, m: MaintenanceView) -> Json:
    affected = [_component(view, c) for c in view.components if c.id in m.components]
    return {
        "id": m.id,
        "name": m.name,
        "status": m.status,
        "created_at": None,
        "updated_at": view.updated_at.isoformat(),
        "monitoring_at": None,
        "resolved_at": None,
        "impact": "maintenance",
        "shortlink": view.url,
        "scheduled_for": m.scheduled_for.isoformat(),
        "scheduled_until": m.scheduled_until.isoformat(),
        "page_id": ident(view.slug),
        "incident_updates": [{"body": m.description}] if m.description else [],
        "components": affected,
    }


def summary(view: StatusPageView) -> Json:
    """`summary.json`: page, banner, components, incidents (none yet) and scheduled maintenances."""
    return status(view) | {
        "components": components(view)["components"],
        "incidents": [],
        "scheduled_maintenances": [_maintenance(view, m) for m in view.maintenances],
    }
