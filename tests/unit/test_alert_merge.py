"""Ingest normalisation and merging, as Alertmanager does them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tocsin.alerting.alert import Alert
from tocsin.pipeline.engine import Incoming, merge, normalise
from tocsin.store.alerting import StoredAlert

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
M = timedelta(minutes=1)


def stored(start: datetime, end: datetime | None, timeout: bool = False, updated: datetime = NOW) -> StoredAlert:
    return StoredAlert(Alert({"alertname": "x"}, start, {}, end), updated, timeout, "test")


def test_normalise_fills_times_and_drops_empty_labels() -> None:
    alert, timeout = normalise(Incoming({"alertname": "x", "empty": ""}), NOW, 5 * M)
    assert dict(alert.labels) == {"alertname": "x"}  # empty values are not labels (as in Alertmanager)
    assert alert.starts_at == NOW
    assert alert.ends_at == NOW + 5 * M
    assert timeout
    resolved, timeout = normalise(Incoming({"a": "b"}, ends_at=NOW - M), NOW, 5 * M)
    assert resolved.starts_at == NOW - M  # startsAt defaults to endsAt for an already-ended alert
    assert not timeout
    internal, timeout = normalise(Incoming({"a": "b"}), NOW, None)
    assert internal.ends_at is None  # internal sources: firing until they say otherwise
    assert not timeout


def test_resend_overlapping_keeps_earliest_start() -> None:
    old = stored(NOW - 10 * M, NOW + 3 * M, timeout=True)
    new = stored(NOW - 2 * M, NOW + 5 * M, timeout=True)
    merged = merge(old, new, NOW)
    assert merged.alert.starts_at == NOW - 10 * M
    assert merged.alert.ends_at == NOW + 5 * M


def test_resolution_inside_activity_ends_it() -> None:
    old = stored(NOW - 10 * M, None)
    new = stored(NOW - 10 * M, NOW)
    assert merge(old, new, NOW).alert.ends_at == NOW


def test_a_later_explicit_end_is_not_cut_by_a_timeout() -> None:
    old = stored(NOW - 10 * M, NOW + 30 * M, timeout=False)
    new = stored(NOW - 5 * M, NOW + 5 * M, timeout=True)
    assert merge(old, new, NOW).alert.ends_at == NOW + 30 * M


def test_no_overlap_replaces() -> None:
    old = stored(NOW - 60 * M, NOW - 30 * M)
    new = stored(NOW - M, None)
    assert merge(old, new, NOW).alert.starts_at == NOW - M  # a new episode of the same alert
