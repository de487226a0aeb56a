"""Muting stages: maintenance windows, route time intervals, inhibition, silences."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from tocsin.alerting.alert import Alert
from tocsin.alerting.inhibit import InhibitRule, inhibited
from tocsin.alerting.maintenance import MaintenanceWindow, active_windows
from tocsin.alerting.silence import Silence, silenced_by
from tocsin.alerting.timeinterval import NamedTimeInterval
from tocsin.pipeline.stage import Flush


def _stop_if_empty(flush: Flush) -> Flush | None:
    return flush if flush.alerts else None


class Maintenance:
    """Drops alerts covered by an active maintenance window."""

    def __init__(self, windows: Callable[[], Sequence[MaintenanceWindow]]) -> None:
        self._windows = windows

    async def __call__(self, flush: Flush) -> Flush | None:
        """Keep only alerts outside every active window."""
        windows = self._windows()
        if not windows:
            return flush
        kept = [a for a in flush.alerts if not active_windows(windows, a.labels, flush.now)]
        return _stop_if_empty(flush.keep(kept, "maintenance"))


class TimeIntervals:
    """Holds back a route's notifications during its mute intervals or outside its active ones."""

    def __init__(self, intervals: Callable[[], Mapping[str, NamedTimeInterval]]) -> None:
        self._intervals = intervals

    async def __call__(self, flush: Flush) -> Flush | None:
        """Stop the whole flush when the route is muted now."""
        named, opts, now = self._intervals(), flush.route.opts, flush.now
        if any(named[n].contains(now) for n in opts.mute_time_intervals if n in named):
            return None
        active = [named[n] for n in opts.active_time_intervals if n in named]
        if active and not any(i.contains(now) for i in active):
            return None
        return flush


class Inhibit:
    """Drops alerts inhibited by other firing alerts (inhibit_rules)."""

    def __init__(self, rules: Callable[[], Sequence[InhibitRule]], firing: Callable[[], Iterable[Alert]]) -> None:
        self._rules, self._firing = rules, firing

    async def __call__(self, flush: Flush) -> Flush | None:
        """Keep alerts that no rule inhibits."""
        rules = self._rules()
        if not rules:
            return flush
        sources = [a.labels for a in self._firing() if not a.resolved_at(flush.now)]
        kept = [a for a in flush.alerts if not inhibited(rules, a.labels, sources)]
        return _stop_if_empty(flush.keep(kept, "inhibited"))


class Silences:
    """Drops alerts muted by an active silence."""

    def __init__(self, silences: Callable[[], Sequence[Silence]]) -> None:
        self._silences = silences

    async def __call__(self, flush: Flush) -> Flush | None:
        """Keep alerts no active silence matches."""
        silences = self._silences()
        if not silences:
            return flush
        kept = [a for a in flush.alerts if not silenced_by(silences, a.labels, flush.now)]
        return _stop_if_empty(flush.keep(kept, "silenced"))
