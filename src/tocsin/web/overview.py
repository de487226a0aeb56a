"""The overview: "what is on fire now", assembled from a list of section providers.

Each feature contributes a section by appending a provider to `SECTIONS` (see
docs/console.md); the overview itself imports no feature. A provider gets the runtime and
`now` and returns a section, or None when it has nothing to say at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from pydantic import BaseModel

from tocsin.checks.result import MonitorStatus
from tocsin.runtime import Runtime


class OverviewItem(BaseModel):
    """One line of a section: something that needs attention."""

    title: str
    status: str  # a pill class: down, degraded, firing, resolved, ...
    href: str | None = None
    detail: str = ""
    since: datetime | None = None


class OverviewSection(BaseModel):
    """A block of the overview."""

    key: str
    title: str
    items: list[OverviewItem]
    empty: str  # what to say when nothing needs attention
    summary: str = ""
    href: str | None = None


class Overview(BaseModel):
    """The overview page and `/overview.json`."""

    sections: list[OverviewSection]
    generated_at: datetime


SectionProvider = Callable[[Runtime, datetime], Awaitable[OverviewSection | None]]
_RANK = {MonitorStatus.DOWN: 0, MonitorStatus.DEGRADED: 1}
MAX_ITEMS = 20


async def monitors_section(runtime: Runtime, now: datetime) -> OverviewSection:
    """Monitors that are down or degraded, worst and longest first."""
    runner = runtime.runner
    counts = {s.value: 0 for s in MonitorStatus}
    failing = []
    for name in runner.monitors:
        status = MonitorStatus.PAUSED if name in runner.paused else runner.state(name).status
        counts[status.value] += 1
        if status in _RANK:
            failing.append((_RANK[status], runner.state(name).since or now, name, status))
    failing.sort()
    items = [
        OverviewItem(
            title=name, status=status.value, href=f"/monitors/{name}", detail=runner.monitors[name].kind, since=at
        )
        for _, at, name, status in failing[:MAX_ITEMS]
    ]
    summary = " · ".join(f"{n} {s}" for s, n in counts.items() if n)
    return OverviewSection(
        key="monitors",
        title="Monitors down or degraded",
        items=items,
        empty="Every monitor is up.",
        summary=summary,
        href="/monitors",
    )


async def events_section(runtime: Runtime, now: datetime) -> OverviewSection:
    """The latest alert events (firing and resolved) from monitor state changes."""
    items = []
    for event in await runtime.store.recent_events(10):
        name = event.labels.get("alertname", "alert")
        subject = event.labels.get("monitor") or event.labels.get("service") or ""
        href = f"/monitors/{subject}" if "monitor" in event.labels else None
        detail = event.annotations.get("summary", "")
        items.append(
            OverviewItem(
                title=f"{name} {subject}".strip(), status=event.status, href=href, detail=detail, since=event.at
            )
        )
    return OverviewSection(key="events", title="Recent alert events", items=items, empty="No alert events yet.")


async def overdue_actions_section(runtime: Runtime, now: datetime) -> OverviewSection | None:
    """Follow-up actions past their due date and not done, most overdue first; nothing when there are none."""
    found = await runtime.incidents.actions.store.find(overdue_at=now, limit=MAX_ITEMS + 1)
    if not found:
        return None
    items = [
        OverviewItem(
            title=a.title,
            status="overdue",
            href=f"/incidents/{a.incident_id}",
            detail=f"incident #{a.incident_id} · {a.kind} · {a.owner or 'no owner'} · {a.status.replace('_', ' ')}",
            since=a.due,
        )
        for a in found[:MAX_ITEMS]
    ]
    more = f"{MAX_ITEMS}+ overdue; " if len(found) > MAX_ITEMS else ""
    return OverviewSection(
        key="overdue_actions",
        title="Overdue follow-up actions",
        items=items,
        empty="No follow-up action is overdue.",
        summary=f"{more}GET /api/v1/actions?overdue=true lists them all",
    )


SECTIONS: list[SectionProvider] = [monitors_section, overdue_actions_section, events_section]


async def overview(runtime: Runtime, now: datetime, providers: list[SectionProvider] | None = None) -> Overview:
    """Run every provider in order and collect their sections."""
    sections = []
    for provider in SECTIONS if providers is None else providers:
        section = await provider(runtime, now)
        if section is not None:
            sections.append(section)
    return Overview(sections=sections, generated_at=now)
