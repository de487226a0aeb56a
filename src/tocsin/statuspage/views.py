"""The typed view of one status page, built from the runtime: the HTML page and every JSON shape read it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel

from tocsin.alerting.maintenance import MaintenanceWindow
from tocsin.runtime import Runtime
from tocsin.statuspage import status as st
from tocsin.statuspage import uptime as up
from tocsin.statuspage.config import StatusComponent, StatusPageConfig
from tocsin.statuspage.maintenance import covers, spans_for


class BarView(BaseModel):
    """One day bar."""

    day: str
    total: int
    down: int
    uptime: float | None
    maintenance: bool
    css: str
    label: str


class ComponentView(BaseModel):
    """One component with its status and 90 days of bars."""

    id: str
    name: str
    description: str
    group: str | None
    group_id: str | None
    position: int
    status: st.ComponentStatus
    changed_at: datetime | None = None  # when a monitor of the component last changed status
    uptime_90d: float | None
    uptime_30d: float | None
    bars: list[BarView]


class MaintenanceView(BaseModel):
    """An active or upcoming maintenance occurrence touching the page's monitors."""

    id: str
    name: str
    description: str
    status: str  # in_progress or scheduled, as Statuspage names them
    scheduled_for: datetime
    scheduled_until: datetime
    components: list[str]  # component ids


class StatusPageView(BaseModel):
    """Everything a status page shows."""

    slug: str
    title: str
    description: str
    logo: str | None
    url: str
    updated_at: datetime
    indicator: st.Indicator
    status_description: str
    components: list[ComponentView]
    maintenances: list[MaintenanceView]


def ident(*parts: str) -> str:
    """A stable short id for a page, group or component (Statuspage ids are opaque strings)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:12]


def _bar(bar: up.DayBar) -> BarView:
    return BarView(
        day=bar.day.isoformat(),
        total=bar.total,
        down=bar.down,
        uptime=bar.uptime,
        maintenance=bar.maintenance,
        css=up.bar_class(bar),
        label=up.bar_label(bar),
    )


async def _component(rt: Runtime, page: str, index: int, spec: StatusComponent, now: datetime) -> ComponentView:
    windows = rt.alerts.setup.maintenance
    since = up.day_start(up.first_day(now))
    buckets = [b for m in spec.monitors for b in await rt.store.buckets(m, since, now + timedelta(days=1), "day")]
    bars = up.daily_bars(buckets, spans_for(windows, spec.monitors, since, now + timedelta(days=1)), now)
    views = [_monitor(rt, windows, m, now) for m in spec.monitors]
    return ComponentView(
        id=ident(page, spec.name),
        name=spec.name,
        description=spec.description,
        group=spec.group,
        group_id=ident(page, "group", spec.group) if spec.group else None,
        position=index + 1,
        status=st.component_status(views),
        changed_at=_changed_at(rt, spec.monitors),
        uptime_90d=up.uptime(bars),
        uptime_30d=up.uptime(bars[-30:]),
        bars=[_bar(b) for b in bars],
    )


def _monitor(rt: Runtime, windows: Sequence[MaintenanceWindow], name: str, now: datetime) -> st.MonitorView:
    state = rt.runner.states.get(name) if name in rt.runner.monitors else None
    active = any(covers(w, name) and w.occurrence_at(now) is not None for w in windows)
    return st.MonitorView(state.status if state else None, active)


def _changed_at(rt: Runtime, monitors: Sequence[str]) -> datetime | None:
    states = [rt.runner.states.get(m) for m in monitors if m in rt.runner.monitors]
    return max((s.since for s in states if s and s.since), default=None)


def _maintenances(
    page: StatusPageConfig, components: list[ComponentView], rt: Runtime, now: datetime
) -> list[MaintenanceView]:
    out = []
    for w in rt.alerts.setup.maintenance:
        hit = [
            c.id
            for c, spec in zip(components, page.components, strict=True)
            if any(covers(w, m) for m in spec.monitors)
        ]
        if not hit:
            continue
        for start, end in w.next_occurrences(now, 3):
            state = "in_progress" if start <= now < end else "scheduled"
            out.append(
                MaintenanceView(
                    id=ident(page.slug, w.name, start.isoformat()),
                    name=w.name,
                    description=w.description,
                    status=state,
                    scheduled_for=start,
                    scheduled_until=end,
                    components=hit,
                )
            )
    return sorted(out, key=lambda m: m.scheduled_for)


def page_url(rt: Runtime, page: StatusPageConfig) -> str:
    """The public address of the page: its custom domain, else `server.external_url` + `/status/{slug}`."""
    if page.custom_domain:
        return f"https://{page.custom_domain}/status/{page.slug}"
    base = (rt.loaded.config.server.external_url or "").rstrip("/")
    return f"{base}/status/{page.slug}"


async def status_page(rt: Runtime, page: StatusPageConfig, now: datetime) -> StatusPageView:
    """Build the view of one page at `now`."""
    components = [await _component(rt, page.slug, i, c, now) for i, c in enumerate(page.components)]
    level = st.indicator(c.status for c in components)
    return StatusPageView(
        slug=page.slug,
        title=page.title,
        description=page.description,
        logo=page.logo,
        url=page_url(rt, page),
        updated_at=now,
        indicator=level,
        status_description=st.DESCRIPTIONS[level],
        components=components,
        maintenances=_maintenances(page, components, rt, now),
    )


def find_page(rt: Runtime, slug: str) -> StatusPageConfig | None:
    """The configured page with this slug, if any."""
    return next((p for p in rt.loaded.config.status_pages if p.slug == slug), None)
