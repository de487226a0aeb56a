"""The one entry point for alerts from every source.

Until the alert pipeline lands (issue 4), an accepted alert is stored as an event,
committed before this returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tocsin.alerting.alert import Alert
from tocsin.store.records import StoredEvent


class EventSink(Protocol):
    """Where ingested alerts are made durable."""

    async def record_event(self, alert: Alert, source: str) -> StoredEvent:
        """Store one alert event, committed before returning."""
        ...


class Ingest:
    """Validates and records alerts from one source at a time."""

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink

    async def __call__(self, alerts: Sequence[Alert], source: str) -> list[StoredEvent]:
        """Record every alert; returns what was stored, in order."""
        stored = []
        for alert in alerts:
            if not alert.labels:
                raise ValueError("an alert needs at least one label")
            stored.append(await self._sink.record_event(alert, source))
        return stored
