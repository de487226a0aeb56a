"""The alert engine's groups as escalation sees them: their current alerts, and ending them on resolve."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from tocsin.alerting.alert import Alert
from tocsin.pipeline.engine import AlertEngine

RESOLVE_SOURCE = "oncall:resolve"


class Groups(Protocol):
    """The alert groups escalations belong to (the alert engine's dispatcher)."""

    def alerts(self, key: str) -> tuple[Alert, ...]:
        """The group's current alerts (empty when the group is gone)."""
        ...

    async def end(self, key: str, now: datetime) -> None:
        """Resolve the group's firing alerts at `now`."""
        ...


class EngineGroups:
    """Reads groups from an `AlertEngine` and resolves their alerts through its ingest."""

    def __init__(self, engine: AlertEngine) -> None:
        self._engine = engine

    def alerts(self, key: str) -> tuple[Alert, ...]:
        """The group's current alerts (empty when the dispatcher no longer has the group)."""
        group = self._engine.dispatcher.groups.get(key)
        return () if group is None else tuple(group.alerts.values())

    async def end(self, key: str, now: datetime) -> None:
        """Resolve the group's firing alerts at `now` (committed; channels hear at the next flush)."""
        firing = [a for a in self.alerts(key) if not a.resolved_at(now)]
        ended = [Alert(a.labels, a.starts_at, a.annotations, now, a.generator_url) for a in firing]
        if ended:
            await self._engine.ingest_internal(ended, RESOLVE_SOURCE)

    def keys_with(self, fingerprint: str) -> list[str]:
        """The keys of every group that holds the alert with `fingerprint`."""
        return [key for key, group in self._engine.dispatcher.groups.items() if fingerprint in group.alerts]
