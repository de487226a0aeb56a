"""The ntfy channel against a local server: JSON publish, token, priority, click and actions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.component.channel_kit import (
    FAILURE_IDS,
    FAILURES,
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


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with local_server() as s:
        s.reply = Scripted(200, {"id": "sPs71M8A2T", "event": "message", "topic": "ops-alerts"})
        yield s


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def ntfy(url: str, **settings: Any) -> Channel:
    config = {"url": url, "topic": "ops-alerts", "timeout": "300ms", **settings}
    return build_channels({"name": "core", "ntfy_configs": [config]})[0]


async def test_publish_as_json(server: Server, http: aiohttp.ClientSession) -> None:
    n = notification(common_annotations={"runbook_url": "https://runbooks.example.com/latency"})
    result = await ntfy(server.url, token="tk_abc", priority="urgent").send(n, http)
    request = server.only()
    assert (request.method, request.path) == ("POST", "/")
    assert request.headers["Authorization"] == "Bearer tk_abc"
    body = request.json()
    assert body["topic"] == "ops-alerts"
    assert body["title"] == "[FIRING:1] HighLatency (api)"
    assert body["message"].startswith("1 firing, 1 resolved, firing since 2026-01-01 10:00:00 UTC.")
    assert body["priority"] == 5
    assert body["tags"] == ["rotating_light"]
    assert body["click"].startswith("https://ops.example.com/alerts/")
    assert body["actions"] == [{"action": "view", "label": "Runbook", "url": "https://runbooks.example.com/latency"}]
    assert result.detail == "message id sPs71M8A2T"


async def test_resolved_is_never_louder_than_default(server: Server, http: aiohttp.ClientSession) -> None:
    await ntfy(server.url).send(resolved_notification(), http)
    body = server.only().json()
    assert (body["priority"], body["tags"]) == (3, ["white_check_mark"])
    assert "Authorization" not in server.only().headers


@pytest.mark.parametrize("case", FAILURES, ids=FAILURE_IDS)
async def test_failures_are_classified(case: Case, server: Server, http: aiohttp.ClientSession) -> None:
    await assert_classified(case, ntfy, server, http)
