"""Atom and RSS 2.0 feeds of a status page: incident updates, component status changes and maintenance."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from tocsin.statuspage.incidents import IncidentView, UpdateView
from tocsin.statuspage.views import ComponentView, MaintenanceView, StatusPageView

ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One feed item, in the terms both formats share."""

    id: str
    title: str
    summary: str
    updated: datetime


def _status_entry(url: str, c: ComponentView) -> FeedEntry | None:
    if c.changed_at is None:
        return None
    words = c.status.value.replace("_", " ")
    return FeedEntry(
        id=f"{url}#component-{c.id}-{int(c.changed_at.timestamp())}",
        title=f"{c.name}: {words}",
        summary=f"{c.name} is {words} since {c.changed_at:%Y-%m-%d %H:%M UTC}.",
        updated=c.changed_at,
    )


_MAINTENANCE = {
    "scheduled": "Scheduled maintenance",
    "in_progress": "Maintenance in progress",
    "completed": "Maintenance completed",
}


def _maintenance_time(m: MaintenanceView, announced: datetime) -> datetime:
    """Dated at its start while running, its end once completed, and (stable for a day) today before."""
    if m.status == "completed":
        return m.scheduled_until
    return m.scheduled_for if m.status == "in_progress" else min(announced, m.scheduled_for)


def _maintenance_entry(url: str, view: StatusPageView, m: MaintenanceView) -> FeedEntry:
    names = ", ".join(c.name for c in view.components if c.id in m.components)
    when = f"{m.scheduled_for:%Y-%m-%d %H:%M} to {m.scheduled_until:%Y-%m-%d %H:%M UTC}"
    announced = view.updated_at.replace(hour=0, minute=0, second=0, microsecond=0)  # stable for a day
    return FeedEntry(
        id=f"{url}#maintenance-{m.id}-{m.status}",
        title=f"{_MAINTENANCE[m.status]}: {m.name}",
        summary=" ".join(filter(None, [f"{when}, affecting {names}.", m.description])),
        updated=_maintenance_time(m, announced),
    )


def _update_entry(url: str, i: IncidentView, u: UpdateView) -> FeedEntry:
    return FeedEntry(
        id=f"{url}#incident-{i.id}-update-{u.id}",
        title=f"{i.name}: {u.status}",
        summary=u.body,
        updated=u.at,
    )


def entries(view: StatusPageView, url: str) -> list[FeedEntry]:
    """The feed's items, newest first."""
    found = [_update_entry(url, i, u) for i in view.recent for u in i.updates]
    found += [e for c in view.components if (e := _status_entry(url, c))]
    found += [_maintenance_entry(url, view, m) for m in [*view.maintenances, *view.completed]]
    return sorted(found, key=lambda e: e.updated, reverse=True)


def _updated(view: StatusPageView, items: list[FeedEntry]) -> datetime:
    return max((e.updated for e in items), default=view.updated_at)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, attrs)
    child.text = text
    return child


def atom(view: StatusPageView, url: str) -> bytes:
    """The page as an Atom 1.0 feed; `url` is the page's absolute address."""
    items = entries(view, url)
    feed = ET.Element("feed", {"xmlns": ATOM})
    _sub(feed, "id", url)
    _sub(feed, "title", f"{view.title} status")
    _sub(feed, "subtitle", view.status_description)
    _sub(feed, "updated", _updated(view, items).isoformat())
    _sub(feed, "link", href=url)
    _sub(feed, "link", rel="self", href=url + "/feed.atom")
    _sub(_sub(feed, "author"), "name", view.title)
    for item in items:
        entry = _sub(feed, "entry")
        _sub(entry, "id", item.id)
        _sub(entry, "title", item.title)
        _sub(entry, "updated", item.updated.isoformat())
        _sub(entry, "link", href=url)
        _sub(entry, "summary", item.summary)
    out: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return out


def rss(view: StatusPageView, url: str) -> bytes:
    """The page as an RSS 2.0 feed; `url` is the page's absolute address."""
    items = entries(view, url)
    root = ET.Element("rss", {"version": "2.0"})
    channel = _sub(root, "channel")
    _sub(channel, "title", f"{view.title} status")
    _sub(channel, "link", url)
    _sub(channel, "description", view.description or view.status_description)
    _sub(channel, "lastBuildDate", format_datetime(_updated(view, items)))
    for item in items:
        node = _sub(channel, "item")
        _sub(node, "title", item.title)
        _sub(node, "link", url)
        _sub(node, "guid", item.id, isPermaLink="false")
        _sub(node, "pubDate", format_datetime(item.updated))
        _sub(node, "description", item.summary)
    out: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return out
