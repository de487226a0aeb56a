"""The Telegram channel against a local Bot API stand-in: sendMessage in HTML parse mode."""

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
    firing_alert,
    local_server,
    notification,
)
from tocsin.notify import build_channels
from tocsin.notify.model import Channel, PermanentError, RetryableError

TOKEN = "123456:ABC-secret"


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with local_server() as s:
        s.reply = Scripted(200, {"ok": True, "result": {"message_id": 77, "chat": {"id": -100}}})
        yield s


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def telegram(url: str, **settings: Any) -> Channel:
    config = {"api_url": url, "bot_token": TOKEN, "chat_id": -1001234, "timeout": "300ms", **settings}
    return build_channels({"name": "core", "telegram_configs": [config]})[0]


async def test_send_message(server: Server, http: aiohttp.ClientSession) -> None:
    result = await telegram(server.url, message_thread_id=9).send(notification(), http)
    request = server.only()
    assert (request.method, request.path) == ("POST", f"/bot{TOKEN}/sendMessage")
    assert request.headers["Content-Type"] == "application/json"
    body = request.json()
    assert body["chat_id"] == -1001234
    assert body["parse_mode"] == "HTML"
    assert body["disable_notification"] is False
    assert body["message_thread_id"] == 9
    assert body["text"].startswith("<b>[FIRING:1] HighLatency (api)</b>\n1 firing, 1 resolved")
    assert "🔴 <b>p99 latency above 500ms</b>" in body["text"]
    assert result.detail == "message_id 77"


async def test_text_is_escaped_and_within_4096(server: Server, http: aiohttp.ClientSession) -> None:
    alerts = tuple(firing_alert(f"h{i}", summary="a<b & c>d " * 20) for i in range(200))
    await telegram(server.url).send(notification(*alerts), http)
    text = server.only().json()["text"]
    assert len(text) <= 4096
    assert "a&lt;b &amp; c&gt;d" in text
    assert "a<b" not in text
    assert "more alerts not shown" in text


async def test_errors_never_show_the_token(server: Server, http: aiohttp.ClientSession) -> None:
    server.reply = Scripted(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"})
    with pytest.raises(PermanentError) as info:
        await telegram(server.url).send(notification(), http)
    assert TOKEN not in str(info.value)
    assert "chat not found" in str(info.value)


async def test_flood_control_retry_after(server: Server, http: aiohttp.ClientSession) -> None:
    server.reply = Scripted(429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 12}})
    with pytest.raises(RetryableError) as info:
        await telegram(server.url).send(notification(), http)
    assert info.value.retry_after == 12


@pytest.mark.parametrize("case", FAILURES, ids=FAILURE_IDS)
async def test_failures_are_classified(case: Case, server: Server, http: aiohttp.ClientSession) -> None:
    await assert_classified(case, telegram, server, http)
