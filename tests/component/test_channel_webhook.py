"""The webhook channel against a local server: the exact Alertmanager v4 payload, signature, idempotency key."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.component.channel_kit import (
    FAILURE_IDS,
    FAILURES,
    GROUP_KEY,
    Case,
    Scripted,
    Server,
    assert_classified,
    firing_alert,
    local_server,
    notification,
    resolved_notification,
)
from tocsin.notify import build_channels
from tocsin.notify.classify import check_status, parse_retry_after
from tocsin.notify.model import Channel, PermanentError, RetryableError
from tocsin.notify.webhook import go_time


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with local_server() as s:
        yield s


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def webhook(url: str, **settings: Any) -> Channel:
    channels = build_channels({"name": "core", "webhook_configs": [{"url": url, "timeout": "300ms", **settings}]})
    assert len(channels) == 1
    return channels[0]


async def test_body_is_the_alertmanager_v4_payload(server: Server, http: aiohttp.ClientSession) -> None:
    result = await webhook(server.url + "/hook").send(notification(), http)
    request = server.only()
    assert (request.method, request.path) == ("POST", "/hook")
    assert request.json() == {
        "version": "4",
        "groupKey": GROUP_KEY,
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "core",
        "groupLabels": {"alertname": "HighLatency", "service": "api"},
        "commonLabels": {"alertname": "HighLatency", "service": "api", "severity": "critical"},
        "commonAnnotations": {"summary": "p99 latency above 500ms"},
        "externalURL": "https://ops.example.com",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "HighLatency", "service": "api", "severity": "critical", "instance": "a:9090"},
                "annotations": {
                    "summary": "p99 latency above 500ms",
                    "runbook_url": "https://runbooks.example.com/latency",
                },
                "startsAt": "2026-01-01T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",  # firing: the future end time is not exposed (Alertmanager)
                "generatorURL": "http://prometheus.example.com/graph?g0.expr=up&g0.tab=1",
                "fingerprint": firing_alert().fingerprint,
            },
            {
                "status": "resolved",
                "labels": {"alertname": "HighLatency", "service": "api", "severity": "critical", "instance": "b:9090"},
                "annotations": {"summary": "p99 latency above 500ms"},
                "startsAt": "2026-01-01T10:03:00Z",
                "endsAt": "2026-01-01T10:30:00Z",
                "generatorURL": "",
                "fingerprint": resolved_notification().alerts[0].fingerprint,
            },
        ],
    }
    assert result.status_code == 200
    assert result.latency_ms >= 0


async def test_headers_carry_idempotency_key_and_content_type(server: Server, http: aiohttp.ClientSession) -> None:
    await webhook(server.url).send(notification(), http)
    headers = server.only().headers
    assert headers["Content-Type"] == "application/json"
    assert headers["Idempotency-Key"] == "notif-0042"
    assert headers["User-Agent"].startswith("tocsin/")
    assert "X-Tocsin-Signature" not in headers


async def test_signature_is_hmac_sha256_of_the_exact_body(server: Server, http: aiohttp.ClientSession) -> None:
    await webhook(server.url, hmac_secret="s3cret").send(notification(), http)
    request = server.only()
    expected = hmac.new(b"s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Tocsin-Signature"] == f"sha256={expected}"


async def test_max_alerts_truncates_and_counts(server: Server, http: aiohttp.ClientSession) -> None:
    alerts = tuple(firing_alert(f"host{i}:9090") for i in range(5))
    await webhook(server.url, max_alerts=2).send(notification(*alerts), http)
    body = server.only().json()
    assert [a["labels"]["instance"] for a in body["alerts"]] == ["host0:9090", "host1:9090"]
    assert body["truncatedAlerts"] == 3


async def test_send_resolved_false_drops_resolved_alerts(server: Server, http: aiohttp.ClientSession) -> None:
    channel = webhook(server.url, send_resolved=False)
    skipped = await channel.send(resolved_notification(), http)
    assert skipped.status_code == 0
    assert not server.requests  # nothing firing: Alertmanager sends nothing either
    await channel.send(notification(), http)
    assert [a["status"] for a in server.only().json()["alerts"]] == ["firing"]


async def test_resolved_notification_is_sent_by_default(server: Server, http: aiohttp.ClientSession) -> None:
    await webhook(server.url).send(resolved_notification(), http)
    body = server.only().json()
    assert body["status"] == "resolved"
    assert body["alerts"][0]["endsAt"] == "2026-01-01T10:30:00Z"


async def test_http_config_basic_auth(server: Server, http: aiohttp.ClientSession) -> None:
    channel = webhook(server.url, http_config={"basic_auth": {"username": "am", "password": "pw"}})
    await channel.send(notification(), http)
    assert server.only().headers["Authorization"] == "Basic YW06cHc="


async def test_error_message_never_contains_the_url_path(server: Server, http: aiohttp.ClientSession) -> None:
    server.reply = Scripted(403, b"forbidden")
    with pytest.raises(PermanentError) as info:
        await webhook(server.url + "/T000/secret-token").send(notification(), http)
    assert "secret-token" not in str(info.value)
    assert str(info.value) == "HTTP 403 from 127.0.0.1: forbidden"


@pytest.mark.parametrize("case", FAILURES, ids=FAILURE_IDS)
async def test_failures_are_classified(case: Case, server: Server, http: aiohttp.ClientSession) -> None:
    await assert_classified(case, webhook, server, http)


@pytest.mark.parametrize(
    ("value", "date", "expected"),
    [
        ("120", None, 120.0),  # delta-seconds
        ("1.5", None, 1.5),  # fractional (Discord sends these)
        ("-3", None, 0.0),  # never negative
        ("Thu, 01 Jan 2026 10:01:00 GMT", "Thu, 01 Jan 2026 10:00:00 GMT", 60.0),  # HTTP-date from the server's Date
        ("Thu, 01 Jan 2026 10:01:00 GMT", None, None),  # a date with nothing to measure from: unknown
        ("soon", None, None),  # garbage: unknown
        (None, None, None),
    ],
)
def test_parse_retry_after(value: str | None, date: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, date) == expected


@pytest.mark.parametrize(
    ("status", "body", "retry_after"),
    [
        (429, b'{"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 2500}', 2.5),  # Matrix
        (429, b'{"message": "rate limited", "retry_after": 0.75, "global": false}', 0.75),  # Discord
        (429, b'{"ok": false, "error_code": 429, "parameters": {"retry_after": 9}}', 9.0),  # Telegram
        (429, b"plain", None),
        (502, b"bad gateway", None),
    ],
)
def test_retry_hints_in_bodies(status: int, body: bytes, retry_after: float | None) -> None:
    with pytest.raises(RetryableError) as info:
        check_status(status, {}, body)
    assert info.value.retry_after == retry_after


@pytest.mark.parametrize(("status", "retryable"), [(301, False), (401, False), (410, False), (499, False), (599, True)])
def test_status_classes(status: int, retryable: bool) -> None:
    with pytest.raises(RetryableError if retryable else PermanentError):
        check_status(status, {}, b"")


def test_go_time_trims_fraction_and_converts_to_utc() -> None:
    from datetime import datetime, timedelta, timezone

    plus_two = timezone(timedelta(hours=2))
    assert go_time(datetime(2026, 1, 1, 12, 0, 0, 500000, tzinfo=plus_two)) == "2026-01-01T10:00:00.5Z"
    assert go_time(None) == "0001-01-01T00:00:00Z"
