"""The one entry point for alerts from tocsin's own sources (monitors, later SLOs).

Each alert is kept in the event history and handed to the alert engine, both committed
before this returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tocsin.alerting.alert import Alert
from tocsin.store.records import StoredEvent


class EventSink(Protocol):
    """Where alert events are kept as history."""

    async def record_event(self, alert: Alert, source: str) -> StoredEvent:
        """Store one alert event, committed before returning."""
        ...


class AlertSink(Protocol):
    """The alert engine's ingest, for internal sources (no resolve timeout)."""

    async def ingest_internal(self, alerts: Sequence[Alert], source: str) -> None:
        """Commit and route alerts whose end is given explicitly by the source."""
        ...


class Ingest:
    """Records and routes alerts from one internal source at a time."""

    def __init__(self, events: EventSink, engine: AlertSink | None = None) -> None:
        self._events, self._engine = events, engine

    async def __call__(self, alerts: Sequence[Alert], source: str) -> list[StoredEvent]:
        """Record every alert, then route them; returns the history entries."""
        stored = []
        for alert in alerts:
            if not alert.labels:
                raise ValueError("an alert needs at least one label")
            stored.append(await self._events.record_event(alert, source))
        if self._engine is not None:
            await self._engine.ingest_internal(alerts, source)
        return stored
