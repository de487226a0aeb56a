"""The dedup stage: notify only on news (Alertmanager's notification-log semantics)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tocsin.pipeline.stage import Flush


@dataclass(frozen=True, slots=True)
class LogEntry:
    """What was last notified for one group and integration."""

    firing: frozenset[str]
    resolved: frozenset[str]
    at: datetime


def needs_update(
    entry: LogEntry | None,
    firing: frozenset[str],
    resolved: frozenset[str],
    send_resolved: bool,
    repeat: timedelta,
    now: datetime,
) -> str | None:
    """The reason to notify (`new`, `update`, `resolved`, `repeat`) or None; pure."""
    if entry is None:
        return "new" if firing else None  # never notify a group that only ever resolved
    if not firing <= entry.firing:
        return "update" if entry.firing else "new"  # something new is firing
    if not firing:
        return "resolved" if entry.firing else None  # all clear (recorded even without send_resolved)
    if send_resolved and not resolved <= entry.resolved:
        return "resolved"
    return "repeat" if entry.at + repeat <= now else None


LookUp = Callable[[str, str, int], Awaitable[LogEntry | None]]


class Dedup:
    """Looks up the notification log and lets a flush through only when `needs_update` says so."""

    def __init__(self, look_up: LookUp) -> None:
        self._look_up = look_up

    async def __call__(self, flush: Flush) -> Flush | None:
        """Stop unchanged groups; stamp the reason on the others."""
        entry = await self._look_up(flush.group_key, flush.receiver, flush.integration)
        firing = frozenset(a.fingerprint for a in flush.firing())
        resolved = frozenset(a.fingerprint for a in flush.resolved())
        reason = needs_update(entry, firing, resolved, flush.send_resolved, flush.repeat_interval, flush.now)
        return replace(flush, reason=reason) if reason else None
