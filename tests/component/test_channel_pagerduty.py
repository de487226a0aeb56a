"""The PagerDuty channel against a local Events API v2 stand-in: trigger, resolve, dedup key, severity."""

from __future__ import annotations

import hashlib
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
    local_server,
    notification,
    resolved_notification,
)
from tocsin.notify import build_channels
from tocsin.notify.model import Channel
from tocsin.notify.pagerduty import pagerduty_severity

DEDUP = hashlib.sha256(GROUP_KEY.encode()).hexdigest()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with local_server() as s:
        s.reply = Scripted(202, {"status": "success", "message": "Event processed", "dedup_key": DEDUP})
        yield s


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def pagerduty(url: str, **settings: Any) -> Channel:
    config = {"routing_key": "R0UT1NGKEY", "url": url + "/v2/enqueue", "timeout": "300ms", **settings}
    return build_channels({"name": "core", "pagerduty_configs": [config]})[0]


async def test_trigger_event(server: Server, http: aiohttp.ClientSession) -> None:
    n = notification(common_annotations={"runbook_url": "https://runbooks.example.com/latency"})
    result = await pagerduty(server.url, component="api", group="core").send(n, http)
    request = server.only()
    assert (request.method, request.path) == ("POST", "/v2/enqueue")
    assert request.headers["Content-Type"] == "application/json"
    event = request.json()
    assert event["routing_key"] == "R0UT1NGKEY"
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == DEDUP
    payload = event["payload"]
    assert payload["summary"] == "[FIRING:1] HighLatency (api)"
    assert payload["severity"] == "critical"  # from the severity label
    assert payload["source"] == "api"  # the service label, no common instance
    assert payload["timestamp"] == "2026-01-01T10:00:00Z"
    assert (payload["component"], payload["group"]) == ("api", "core")
    assert payload["custom_details"]["num_firing"] == 1
    assert payload["custom_details"]["num_resolved"] == 1
    assert "[FIRING] p99 latency above 500ms" in payload["custom_details"]["firing"]
    assert event["client"] == "tocsin"
    assert event["client_url"].startswith("https://ops.example.com/alerts/")
    assert event["links"][1] == {"href": "https://runbooks.example.com/latency", "text": "Runbook"}
    assert result.status_code == 202
    assert result.detail == f"dedup_key {DEDUP}"


async def test_resolve_event_carries_only_keys(server: Server, http: aiohttp.ClientSession) -> None:
    await pagerduty(server.url).send(resolved_notification(), http)
    assert server.only().json() == {"routing_key": "R0UT1NGKEY", "dedup_key": DEDUP, "event_action": "resolve"}


async def test_severity_and_description_templates(server: Server, http: aiohttp.ClientSession) -> None:
    channel = pagerduty(server.url, severity="warning", description="{{ headline }}: {{ firing|length }} down")
    await channel.send(notification(), http)
    payload = server.only().json()["payload"]
    assert (payload["severity"], payload["summary"]) == ("warning", "HighLatency (api): 1 down")


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("critical", "critical"),
        ("page", "critical"),
        ("P2", "error"),
        ("warn", "warning"),
        ("info", "info"),
        ("", "error"),
    ],
)
def test_severity_mapping(word: str, expected: str) -> None:
    assert pagerduty_severity(word) == expected


@pytest.mark.parametrize("case", FAILURES, ids=FAILURE_IDS)
async def test_failures_are_classified(case: Case, server: Server, http: aiohttp.ClientSession) -> None:
    await assert_classified(case, pagerduty, server, http)
