"""The Discord channel against a local webhook stand-in: one embed, no mentions, wait=true."""

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
from tocsin.notify.model import Channel, RetryableError


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with local_server() as s:
        s.reply = Scripted(200, {"id": "1234567890", "type": 0})
        yield s


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def discord(url: str, **settings: Any) -> Channel:
    config = {"webhook_url": url + "/api/webhooks/42/tok", "timeout": "300ms", **settings}
    return build_channels({"name": "core", "discord_configs": [config]})[0]


async def test_embed_message(server: Server, http: aiohttp.ClientSession) -> None:
    result = await discord(server.url, username="tocsin").send(notification(), http)
    request = server.only()
    assert (request.method, request.path, request.query) == ("POST", "/api/webhooks/42/tok", {"wait": "true"})
    body = request.json()
    assert body["allowed_mentions"] == {"parse": []}
    assert body["username"] == "tocsin"
    assert "content" not in body
    [embed] = body["embeds"]
    assert embed["title"] == "[FIRING:1] HighLatency (api)"
    assert embed["color"] == 0x992D22
    assert embed["url"].startswith("https://ops.example.com/alerts/")
    assert "- 🔴 **p99 latency above 500ms** since 2026-01-01 10:00:00 UTC (2h 5m)" in embed["description"]
    assert result.detail == "message id 1234567890"


async def test_resolved_is_green_and_content_is_templated(server: Server, http: aiohttp.ClientSession) -> None:
    await discord(server.url, content="@here {{ headline }} ok").send(resolved_notification(), http)
    body = server.only().json()
    assert body["embeds"][0]["color"] == 0x2ECC71
    assert body["content"] == "@here HighLatency (api) ok"  # shown, but allowed_mentions keeps it from pinging


async def test_rate_limit_body_gives_retry_after(server: Server, http: aiohttp.ClientSession) -> None:
    server.reply = Scripted(429, {"message": "You are being rate limited.", "retry_after": 0.65, "global": False})
    with pytest.raises(RetryableError) as info:
        await discord(server.url).send(notification(), http)
    assert info.value.retry_after == 0.65


@pytest.mark.parametrize("case", FAILURES, ids=FAILURE_IDS)
async def test_failures_are_classified(case: Case, server: Server, http: aiohttp.ClientSession) -> None:
    await assert_classified(case, discord, server, http)
