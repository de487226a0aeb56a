"""Alert events: committed before return, newest first."""

from __future__ import annotations

from datetime import timedelta

from tests.store.store_factories import T0
from tocsin.alerting.alert import Alert
from tocsin.store.store import Store


async def test_events_round_trip(db_url: str) -> None:
    labels = {"alertname": "MonitorDown", "monitor": "api"}
    firing = Alert(labels=labels, starts_at=T0, annotations={"summary": "api is down"})
    resolved = Alert(labels=labels, starts_at=T0, ends_at=T0 + timedelta(minutes=5))
    store = await Store.open(db_url)
    first = await store.record_event(firing, source="monitor")
    second = await store.record_event(resolved, source="monitor")
    await store.close()
    assert (first.status, first.at, first.fingerprint) == ("firing", T0, firing.fingerprint)
    assert (second.status, second.at) == ("resolved", T0 + timedelta(minutes=5))

    reopened = await Store.open(db_url)
    try:
        assert await reopened.recent_events() == [second, first]
        assert await reopened.recent_events(limit=1) == [second]
    finally:
        await reopened.close()
    assert first.labels == labels
    assert first.annotations == {"summary": "api is down"}
