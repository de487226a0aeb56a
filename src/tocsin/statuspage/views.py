"""The typed view of one status page, from the runtime and the store: the page and every JSON shape read it."""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, PrivateAttr

from tocsin.alerting.maintenance import MaintenanceWindow
from tocsin.runtime import Runtime
from tocsin.statuspage import incidents as inc
from tocsin.statuspage import status as st
from tocsin.statuspage import uptime as up
from tocsin.statuspage.config import StatusComponent, StatusPageConfig, Theme
from tocsin.statuspage.daybars import BarMaker, BarView, ComponentBars, Run, runs
from tocsin.statuspage.maintenance import covers, occurrences, spans_for
from tocsin.statuspage.pastdays import Kept, PageMemo, component_bars, memo_for
from tocsin.store.status_incidents import PageIncident, page_incidents
from tocsin.store.status_pages import StatusPageStore
from tocsin.store.status_rollups import DayCounts, daily_counts

RECENT_DAYS = 90  # incidents resolved this long ago still show in the bars and incidents.json
RECENT_INCIDENTS = 50  # as Statuspage's incidents.json
COMPLETED_DAYS = 30  # completed maintenance listed in scheduled-maintenances.json and the feeds


class ComponentView(BaseModel):
    """One component with its status and 90 days of bars (none when it is set by hand)."""

    id: str
    name: str
    description: str
    group: str | None
    group_id: str | None
    position: int
    status: st.ComponentStatus
    monitored: bool = True  # False: the component has no monitors and is set by hand
    changed_at: datetime | None = None  # when a monitor of the component last changed status
    uptime_90d: float | None
    uptime_30d: float | None
    bars: list[BarView]
    _runs: tuple[Run, ...] | None = PrivateAttr(default=None)  # of the bars, linked: known when built from counts

    def day_runs(self, linked: bool) -> Sequence[Run]:
        """Index ranges of consecutive bars that say the same (with `linked`, a day with incidents stands alone)."""
        known = self._runs  # one lookup: private attributes go through pydantic's __getattr__
        return known if linked and known is not None else runs(self.bars, linked)


class MaintenanceView(BaseModel):
    """An active or upcoming maintenance occurrence touching the page's monitors."""

    id: str
    name: str
    description: str
    status: str  # scheduled, in_progress or completed, as Statuspage names them
    scheduled_for: datetime
    scheduled_until: datetime
    components: list[str]  # component ids


class StatusPageView(BaseModel):
    """Everything a status page shows."""

    slug: str
    title: str
    description: str
    logo: str | None
    logo_alt: str
    theme: Theme
    url: str
    updated_at: datetime
    indicator: st.Indicator
    status_description: str
    components: list[ComponentView]
    maintenances: list[MaintenanceView]  # in progress and upcoming, soonest first
    completed: list[MaintenanceView] = []  # ended in the last 30 days, newest first
    incidents: list[inc.IncidentView] = []  # unresolved, newest first
    recent: list[inc.IncidentView] = []  # the 50 newest of the last 90 days, resolved or not


@dataclass(frozen=True, slots=True)
class PageData:
    """What a page shows from the store: hand-set statuses and its recent incidents."""

    overrides: Mapping[str, st.ComponentStatus] = field(default_factory=dict)
    incidents: Sequence[PageIncident] = ()


async def page_data(rt: Runtime, slug: str, now: datetime) -> PageData:
    """Read the page's overrides and its incidents of the last 90 days (and every unresolved one)."""
    overrides = {o.component: st.ComponentStatus(o.status) for o in await StatusPageStore(rt.store).overrides(slug)}
    found = await page_incidents(rt.store.database, slug, now - timedelta(days=RECENT_DAYS))
    return PageData(overrides, found)


@functools.lru_cache(maxsize=65536)  # a page asks for every component's and group's id on each build
def ident(*parts: str) -> str:
    """A stable short id for a page, group or component (Statuspage ids are opaque strings)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class _Context:
    """What every component of one page is built from."""

    slug: str
    now: datetime
    data: PageData
    incidents: Sequence[inc.IncidentView]  # the page's recent incidents
    impacts: Mapping[str, list[st.ComponentStatus]]  # component name -> unresolved incidents' impacts
    counts: Mapping[str, Sequence[DayCounts]]  # monitor name -> its daily counts over the bars' days
    maker: BarMaker  # the page's day strings and day wordings, shared by its components
    memo: PageMemo  # past days' bars of the page's previous build
    span: tuple[datetime, datetime]  # from the first day's midnight to a day after `now`
    made: dict[str, Kept]  # the bars of this build with what they were made from, by component id
    views: dict[str, tuple[object, object]]  # the component views of this build with what they were made from


def _component(rt: Runtime, ctx: _Context, index: int, spec: StatusComponent) -> ComponentView:
    component_id = ident(ctx.slug, spec.name)
    made = _bars(rt, ctx, spec, component_id) if spec.monitors else ComponentBars([], None, None)
    windows = rt.alerts.setup.maintenance
    monitors = st.component_status([_monitor(rt, windows, m, ctx.now) for m in spec.monitors])
    status = st.effective_status(monitors, ctx.data.overrides.get(spec.name), ctx.impacts.get(spec.name, []))
    key = (spec, index, made, status, _changed_at(rt, spec.monitors))
    kept = ctx.memo.views.get(component_id)
    if kept is not None and kept[0] == key and isinstance(kept[1], ComponentView):
        ctx.views[component_id] = kept  # made from equal values: the same view (views are never changed once made)
        return kept[1]
    # Built from values made here, already of the fields' types: validating 90 bars per component again was
    # a tenth of an uncached render (bench/statuspage.py).
    view = ComponentView.model_construct(
        id=component_id,
        name=spec.name,
        description=spec.description,
        group=spec.group,
        group_id=ident(ctx.slug, "group", spec.group) if spec.group else None,
        position=index + 1,
        status=status,
        monitored=bool(spec.monitors),
        changed_at=key[4],
        uptime_90d=made.uptime_90d,
        uptime_30d=made.uptime_30d,
        bars=made.bars,
    )
    view._runs = made.runs  # made with the bars: the page need not compare 90 days again
    ctx.views[component_id] = (key, view)
    return view


def _bars(rt: Runtime, ctx: _Context, spec: StatusComponent, component_id: str) -> ComponentBars:
    """The component's 90 days: its monitors' counts summed per day, maintenance days, incidents per day."""
    first, days = ctx.maker.first, ctx.maker.days
    rows = [ctx.counts.get(m, ()) for m in spec.monitors]
    spans = spans_for(rt.alerts.setup.maintenance, spec.monitors, *ctx.span)
    touched = inc.by_day(ctx.incidents, component_id, first, days)
    held = up.maintenance_days(first, days, spans)
    return component_bars(ctx.memo, ctx.made, component_id, ctx.maker, rows, held, touched)


def _monitor(rt: Runtime, windows: Sequence[MaintenanceWindow], name: str, now: datetime) -> st.MonitorView:
    state = rt.runner.states.get(name) if name in rt.runner.monitors else None
    active = any(covers(w, name) and w.occurrence_at(now) is not None for w in windows)
    return st.MonitorView(state.status if state else None, active)


def _changed_at(rt: Runtime, monitors: Sequence[str]) -> datetime | None:
    states = [rt.runner.states.get(m) for m in monitors if m in rt.runner.monitors]
    return max((s.since for s in states if s and s.since), default=None)


def _hit(w: MaintenanceWindow, page: StatusPageConfig) -> list[str]:
    """Ids of the page's components with a monitor the window covers."""
    return [ident(page.slug, c.name) for c in page.components if any(covers(w, m) for m in c.monitors)]


def _maintenance(
    slug: str, w: MaintenanceWindow, span: tuple[datetime, datetime], hit: list[str], now: datetime
) -> MaintenanceView:
    start, end = span
    state = "completed" if end <= now else "in_progress" if start <= now else "scheduled"
    return MaintenanceView(
        id=ident(slug, w.name, start.isoformat()),
        name=w.name,
        description=w.description,
        status=state,
        scheduled_for=start,
        scheduled_until=end,
        components=hit,
    )


def maintenances_between(
    rt: Runtime, page: StatusPageConfig, since: datetime, until: datetime, now: datetime
) -> list[MaintenanceView]:
    """Occurrences overlapping `[since, until)` of the windows covering the page's monitors, oldest first."""
    out = []
    for w in rt.alerts.setup.maintenance:
        if hit := _hit(w, page):
            out += [_maintenance(page.slug, w, span, hit, now) for span in occurrences(w, since, until)]
    return sorted(out, key=lambda m: m.scheduled_for)


def _maintenances(rt: Runtime, page: StatusPageConfig, now: datetime) -> list[MaintenanceView]:
    out = []
    for w in rt.alerts.setup.maintenance:
        if hit := _hit(w, page):
            out += [_maintenance(page.slug, w, span, hit, now) for span in w.next_occurrences(now, 3)]
    return sorted(out, key=lambda m: m.scheduled_for)


def page_url(rt: Runtime, page: StatusPageConfig) -> str:
    """The public address of the page: its custom domain's root, else `server.external_url` + `/status/{slug}`."""
    if page.custom_domain:
        return f"https://{page.custom_domain}"
    base = (rt.loaded.config.server.external_url or "").rstrip("/")
    return f"{base}/status/{page.slug}"


def component_ids(page: StatusPageConfig) -> dict[str, str]:
    """Component name -> id on this page."""
    return {c.name: ident(page.slug, c.name) for c in page.components}


async def _read(
    rt: Runtime, page: StatusPageConfig, now: datetime, data: PageData | None, maker: BarMaker, memo: PageMemo
) -> tuple[PageData, Mapping[str, Sequence[DayCounts]]]:
    """The page's overrides and incidents (unless given) and its monitors' daily counts over the bars' days.

    Why at once: each read waits on its own connection (on SQLite, its own thread), so they overlap."""
    names = {m for c in page.components for m in c.monitors}
    since, until, split = up.day_start(maker.first), now + timedelta(days=1), up.day_start(maker.today)
    counting = daily_counts(rt.store.database, names, since, until, memo.counts, split, now) if names else _none()
    reading = page_data(rt, page.slug, now) if data is None else _given(data)
    counts, found = await asyncio.gather(counting, reading, return_exceptions=True)
    if isinstance(counts, BaseException):
        raise counts
    if isinstance(found, BaseException):
        raise found
    return found, counts


async def _none() -> dict[str, list[DayCounts]]:
    return {}


async def _given(data: PageData) -> PageData:
    return data


async def status_page(
    rt: Runtime, page: StatusPageConfig, now: datetime, data: PageData | None = None
) -> StatusPageView:
    """Build the view of one page at `now` (reading its overrides and incidents unless `data` is given)."""
    maker, memo = BarMaker(up.first_day(now)), memo_for(rt.store.database, page.slug)
    data, counts = await _read(rt, page, now, data, maker, memo)
    ids = component_ids(page)
    found = [inc.incident_view(i, ids) for i in data.incidents]
    impacts = inc.open_impacts(data.incidents)
    span = (up.day_start(maker.first), now + timedelta(days=1))
    ctx = _Context(page.slug, now, data, found, impacts, counts, maker, memo, span, {}, {})
    components = [_component(rt, ctx, i, c) for i, c in enumerate(page.components)]
    memo.bars, memo.views = ctx.made, ctx.views  # only this build's components: the memo never outgrows the page
    unresolved = [i for i in found if not i.resolved]
    level = st.worst_level([st.indicator(c.status for c in components), *(i.impact for i in unresolved)])
    past = maintenances_between(rt, page, now - timedelta(days=COMPLETED_DAYS), now, now)
    return StatusPageView(
        slug=page.slug,
        title=page.title,
        description=page.description,
        logo=page.logo,
        logo_alt=page.logo_alt or f"{page.title} logo",
        theme=page.theme,
        url=page_url(rt, page),
        updated_at=now,
        indicator=level,
        status_description=st.DESCRIPTIONS[level],
        components=components,
        maintenances=_maintenances(rt, page, now),
        completed=[m for m in reversed(past) if m.status == "completed"],
        incidents=unresolved,
        recent=found[:RECENT_INCIDENTS],
    )
