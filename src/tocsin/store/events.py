"""Alert events as recorded by ingest (until the alert pipeline owns them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.alerting.alert import Alert
from tocsin.store.records import StoredEvent
from tocsin.store.tables import events
from tocsin.store.times import from_ms, opt_to_ms, to_ms


def status_of(alert: Alert) -> str:
    """`resolved` once the alert carries an end time, else `firing` (no clock is read here)."""
    return "firing" if alert.ends_at is None else "resolved"


async def record(conn: AsyncConnection, alert: Alert, source: str) -> StoredEvent:
    """Insert one event; its time is when the alert ended if it did, else when it started."""
    at = alert.ends_at or alert.starts_at
    values = {
        "at_ms": to_ms(at),
        "source": source,
        "fingerprint": alert.fingerprint,
        "status": status_of(alert),
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "starts_at_ms": to_ms(alert.starts_at),
        "ends_at_ms": opt_to_ms(alert.ends_at),
        "generator_url": alert.generator_url,
    }
    row = (await conn.execute(insert(events).returning(events.c.id), values)).one()
    return _to_event(row.id, values)


async def recent(conn: AsyncConnection, limit: int) -> list[StoredEvent]:
    """The latest events, newest first."""
    rows = await conn.execute(select(events).order_by(events.c.id.desc()).limit(limit))
    return [_from_row(row) for row in rows]


def _from_row(row: Row[Any]) -> StoredEvent:
    m = row._mapping
    return _to_event(m["id"], m)


def _to_event(event_id: int, m: Any) -> StoredEvent:
    return StoredEvent(
        id=event_id,
        at=from_ms(m["at_ms"]),
        source=m["source"],
        fingerprint=m["fingerprint"],
        status=m["status"],
        labels=dict(m["labels"]),
        annotations=dict(m["annotations"]),
    )
