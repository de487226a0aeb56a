"""Aggregation groups with Alertmanager's timers, as a pure state machine.

An alert is routed down the tree; for each matching route it joins the group keyed by the
route and the values of the route's `group_by` labels. A new group is first flushed after
`group_wait`, then every `group_interval`; an alert whose `group_wait` has already passed
when it joins a group that never flushed triggers an immediate flush (as in Alertmanager).
After a flush was handed to the pipeline, resolved alerts that did not change meanwhile
leave the group, and an empty group is dropped. Whether a flush notifies anyone is the
dedup stage's decision, not the dispatcher's. Time is passed in as POSIX seconds.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from tocsin.alerting.alert import Alert
from tocsin.alerting.route import Route
from tocsin.labels import escape_value

KEY_MEMO_MAX = 1 << 16  # group keys remembered by Dispatcher (cleared whole when full)


def group_key(route: Route, labels: Mapping[str, str]) -> str:
    """Alertmanager's group key: the route key, a colon, and the group labels sorted."""
    inner = ", ".join(f'{name}="{escape_value(labels[name])}"' for name in sorted(labels))
    return f"{route.key}:{{{inner}}}"


@dataclass(slots=True)
class Group:
    """One aggregation group: what the pipeline flushes, notifies and later acknowledges."""

    key: str
    route: Route
    labels: dict[str, str]
    next_flush: float
    has_flushed: bool = False
    alerts: dict[str, Alert] = field(default_factory=dict)

    @property
    def receiver(self) -> str:
        """The receiver this group notifies."""
        return self.route.opts.receiver


@dataclass(frozen=True, slots=True)
class GroupTimer:
    """The persisted part of a group, so a restart resumes its timers instead of restarting them."""

    key: str
    next_flush: float
    has_flushed: bool


class Dispatcher:
    """Holds the groups of one routing tree; every method takes `now` and does no I/O."""

    def __init__(self, tree: Route, timers: Iterable[GroupTimer] = ()) -> None:
        self.tree = tree
        self.groups: dict[str, Group] = {}
        self._of_alert: dict[str, set[str]] = {}
        self._restored = {t.key: t for t in timers}
        self._changed: set[str] = set()  # groups whose timer changed since `timer_changes()`
        self._dropped: set[str] = set()  # groups removed since `timer_changes()`
        self._keys: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}  # (route, group labels) -> key
        # Why a heap: the flush loop asks for due groups and the next deadline after every
        # ingest; scanning thousands of groups each time cost more than a notification.
        # An entry (next_flush, key) is current while that group still has that timer;
        # older ones are skipped and dropped when they reach the top.
        self._deadlines: list[tuple[float, str]] = []

    def insert(self, alert: Alert, now: float) -> list[Group]:
        """Put an alert (new or updated) into the group of every route it matches."""
        fingerprint = alert.fingerprint
        joined: list[Group] = []
        for route in self.tree.match(alert.labels):
            group = self._group_for(route, alert, now)
            group.alerts[fingerprint] = alert
            self._of_alert.setdefault(fingerprint, set()).add(group.key)
            if not group.has_flushed and alert.starts_at.timestamp() + _wait(route) < now:
                if now < group.next_flush:
                    self._schedule(group, now)
                self._touch(group.key)
            joined.append(group)
        return joined

    def _group_for(self, route: Route, alert: Alert, now: float) -> Group:
        labels = route.opts.group_labels(alert.labels)
        # Why remembered: alerts of one group arrive again and again; its key is built once.
        memo = (route.key, tuple(labels.items()))
        key = self._keys.get(memo)
        if key is None:
            if len(self._keys) >= KEY_MEMO_MAX:
                self._keys.clear()
            key = self._keys[memo] = group_key(route, labels)
        group = self.groups.get(key)
        if group is None:
            restored = self._restored.pop(key, None)
            next_flush = restored.next_flush if restored else now + _wait(route)
            group = Group(key, route, labels, next_flush, restored.has_flushed if restored else False)
            self.groups[key] = group
            heapq.heappush(self._deadlines, (next_flush, key))
            self._touch(key)
        return group

    def _schedule(self, group: Group, at: float) -> None:
        """Set a group's timer, keeping the deadline heap current (compacted when mostly stale)."""
        group.next_flush = at
        heap = self._deadlines
        heapq.heappush(heap, (at, group.key))
        if len(heap) > 2 * len(self.groups) + 64:
            self._deadlines = heap = [(g.next_flush, k) for k, g in self.groups.items()]
            heapq.heapify(heap)

    def _current(self, entry: tuple[float, str]) -> Group | None:
        """The group of a heap entry while the entry is its timer, else None (a stale entry)."""
        group = self.groups.get(entry[1])
        return group if group is not None and group.next_flush == entry[0] else None

    def due(self, now: float) -> list[Group]:
        """Groups whose timer has fired: those never flushed first, then oldest deadline first.

        Why new groups first: their first notification is news (a new problem); a burst of
        group_interval flushes of known groups must not hold it back.
        """
        heap, ready, seen = self._deadlines, [], set()
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            group = self._current(entry)
            if group is not None and entry[1] not in seen:
                seen.add(entry[1])
                ready.append(group)
        for group in ready:  # still due until flushed: the caller may take only some of them
            heapq.heappush(heap, (group.next_flush, group.key))
        return sorted((g for g in ready if g.alerts), key=lambda g: (g.has_flushed, g.next_flush))

    def next_deadline(self) -> float | None:
        """When the next group is due, or None without groups."""
        heap = self._deadlines
        while heap and self._current(heap[0]) is None:
            heapq.heappop(heap)
        if not heap:
            return None
        if self.groups[heap[0][1]].alerts:
            return heap[0][0]
        return min((g.next_flush for g in self.groups.values() if g.alerts), default=None)  # an empty group (rare)

    def flushing(self, group: Group, now: float) -> tuple[Alert, ...]:
        """Snapshot the group for the pipeline and restart its timer at `group_interval`."""
        self._schedule(group, now + group.route.opts.group_interval.total_seconds())
        group.has_flushed = True
        self._touch(group.key)
        return tuple(group.alerts.values())

    def flushed(self, group: Group, sent: Iterable[Alert], now: datetime) -> None:
        """Drop resolved alerts the flush carried and that have not changed since; drop empty groups."""
        for alert in sent:
            fingerprint = alert.fingerprint
            if alert.resolved_at(now) and group.alerts.get(fingerprint) is alert:
                del group.alerts[fingerprint]
                self._forget(fingerprint, group.key)
        if not group.alerts:
            self._drop(group.key)

    def remove(self, fingerprint: str) -> None:
        """Forget an alert everywhere (garbage-collected or deleted)."""
        for key in self._of_alert.pop(fingerprint, set()):
            group = self.groups.get(key)
            if group is not None:
                group.alerts.pop(fingerprint, None)
                if not group.alerts:
                    self._drop(key)

    def _forget(self, fingerprint: str, key: str) -> None:
        keys = self._of_alert.get(fingerprint)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._of_alert[fingerprint]

    def timers(self) -> list[GroupTimer]:
        """The timer state of every group, for persistence."""
        return [GroupTimer(g.key, g.next_flush, g.has_flushed) for g in self.groups.values()]

    def timer_changes(self) -> tuple[list[GroupTimer], list[str]]:
        """Timers changed and groups dropped since the last call (what to write, what to delete)."""
        changed = [GroupTimer(k, g.next_flush, g.has_flushed) for k in self._changed if (g := self.groups.get(k))]
        dropped = [k for k in self._dropped if k not in self.groups]
        self._changed, self._dropped = set(), set()
        return changed, dropped

    def _touch(self, key: str) -> None:
        self._changed.add(key)
        self._dropped.discard(key)

    def _drop(self, key: str) -> None:
        self.groups.pop(key, None)
        self._changed.discard(key)
        self._dropped.add(key)


def _wait(route: Route) -> float:
    return route.opts.group_wait.total_seconds()
