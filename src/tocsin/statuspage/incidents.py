"""Incidents as a status page shows them: public updates, impact, the days they touched (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta

from pydantic import BaseModel

from tocsin.statuspage import status as st
from tocsin.store.status_incidents import PageIncident, PublicUpdate

RESOLVED = "resolved"


class AffectedView(BaseModel):
    """A component an update changed, as Statuspage's `affected_components` item."""

    code: str  # the component id
    name: str
    old_status: str
    new_status: str


class UpdateView(BaseModel):
    """One public update of an incident."""

    id: str
    status: str
    body: str
    at: datetime
    affected: list[AffectedView]


class IncidentView(BaseModel):
    """An incident on a page: its public updates newest first and the page's components it affects."""

    id: str
    name: str
    status: str
    impact: st.Indicator  # none, minor, major or critical (Statuspage's incident impact)
    created_at: datetime
    updated_at: datetime
    started_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    components: list[str]  # component ids
    component_names: list[str]
    updates: list[UpdateView]

    @property
    def resolved(self) -> bool:
        """True once the incident is resolved."""
        return self.status == RESOLVED


def impact(impacts: Iterable[str]) -> st.Indicator:
    """The incident's impact from its component impacts; maintenance and unknown values count as none."""
    levels = [st.INCIDENT_LEVEL.get(_status(i), st.Indicator.NONE) for i in impacts]
    return st.worst_level(level for level in levels if level is not st.Indicator.MAINTENANCE)


def _status(value: str) -> st.ComponentStatus:
    try:
        return st.ComponentStatus(value)
    except ValueError:
        return st.ComponentStatus.OPERATIONAL


def component_status(value: str) -> st.ComponentStatus:
    """A stored impact as a component status (an unknown value counts as operational)."""
    return _status(value)


def _affected(update: PublicUpdate, before: Mapping[str, str], ids: Mapping[str, str]) -> list[AffectedView]:
    return [
        AffectedView(code=ids[name], name=name, old_status=before.get(name, "operational"), new_status=new)
        for name, new in update.components.items()
        if name in ids and before.get(name, "operational") != new
    ]


def _updates(i: PageIncident, ids: Mapping[str, str]) -> list[UpdateView]:
    """Updates newest first, each with the components it changed since the previous one."""
    before: dict[str, str] = {}
    out: list[UpdateView] = []
    for u in reversed(i.updates):  # oldest first, to know each component's previous status
        out.append(UpdateView(id=str(u.id), status=u.status, body=u.body, at=u.at, affected=_affected(u, before, ids)))
        before |= u.components
    return out[::-1]


def incident_view(i: PageIncident, ids: Mapping[str, str]) -> IncidentView:
    """The public view of an incident; `ids` maps the page's component names to their ids."""
    monitoring = [u.at for u in i.updates if u.status == "monitoring"]
    return IncidentView(
        id=str(i.id),
        name=i.title,
        status=i.status,
        impact=impact(i.impacts.values()),
        created_at=i.created_at,
        updated_at=max([i.updated_at, *(u.at for u in i.updates)]),
        started_at=i.started_at,
        monitoring_at=min(monitoring) if monitoring else None,
        resolved_at=i.resolved_at if i.status == RESOLVED else None,
        components=[ids[n] for n in i.impacts if n in ids],
        component_names=[n for n in i.impacts if n in ids],
        updates=_updates(i, ids),
    )


def open_impacts(found: Sequence[PageIncident]) -> dict[str, list[st.ComponentStatus]]:
    """Component name -> the impacts unresolved incidents give it now."""
    out: dict[str, list[st.ComponentStatus]] = {}
    for i in found:
        if i.status != RESOLVED:
            for name, value in i.impacts.items():
                out.setdefault(name, []).append(_status(value))
    return out


def by_day(found: Sequence[IncidentView], component: str, first: date, days: int) -> dict[date, list[IncidentView]]:
    """The incidents affecting component id `component` on each of the `days` days from `first` (UTC)."""
    last = first + timedelta(days=days - 1)
    out: dict[date, list[IncidentView]] = {}
    for i in found:
        if component not in i.components:
            continue
        start = max(i.started_at.date(), first)
        end = min((i.resolved_at or datetime.max.replace(tzinfo=i.started_at.tzinfo)).date(), last)
        day = start
        while day <= end:
            out.setdefault(day, []).append(i)
            day += timedelta(days=1)
    return out
