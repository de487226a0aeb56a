"""The outbox row's payload: a notification encoded and decoded again, fingerprints included."""

from __future__ import annotations

from datetime import UTC, datetime

from tocsin.alerting.alert import Alert, fingerprint
from tocsin.notify.model import Notification
from tocsin.notify.outbox import decode, encode


def test_a_decoded_notification_keeps_its_fingerprints_without_rehashing() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    alert = Alert({"alertname": "Disk", "instance": "db1"}, at, {"summary": "full"}, None, "http://x/graph")
    n = Notification(
        receiver="r",
        group_key="{}:{}",
        group_labels={},
        common_labels=dict(alert.labels),
        common_annotations={},
        alerts=(alert,),
        status="firing",
        reason="new",
        external_url="",
        idempotency_key="k",
        created_at=at,
    )
    data = encode(n)
    [back] = decode(data).alerts
    assert back == alert
    assert back.fingerprint == alert.fingerprint == fingerprint(alert.labels)
    del data["alerts"][0]["fingerprint"]  # a row queued before fingerprints were stored: hashed again
    [old] = decode(data).alerts
    assert old.fingerprint == alert.fingerprint
