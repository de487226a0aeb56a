"""The Matrix channel against a local homeserver stand-in: PUT path, txnId, auth, HTML body."""

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
)
from tocsin.notify import build_channels
from tocsin.notify.model import Channel, RetryableError

ROOM = "!ops-room:example.org"
SEND_PATH = "/_matrix/client/v3/rooms/%21ops-room%3Aexample.org/send/m.room.message/notif-0042"


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with local_server() as s:
        s.reply = Scripted(200, {"event_id": "$ev1:example.org"})
        yield s


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def matrix(url: str, **settings: Any) -> Channel:
    config = {"homeserver": url, "room_id": ROOM, "access_token": "syt_token", "timeout": "300ms", **settings}
    return build_channels({"name": "core", "matrix_configs": [config]})[0]


async def test_put_room_message_with_txn_id(server: Server, http: aiohttp.ClientSession) -> None:
    result = await matrix(server.url).send(notification(), http)
    request = server.only()
    assert request.method == "PUT"
    assert request.raw_path == SEND_PATH  # room ID percent-encoded, txnId = idempotency key
    assert request.headers["Authorization"] == "Bearer syt_token"
    assert request.headers["Content-Type"] == "application/json"
    content = request.json()
    assert content["msgtype"] == "m.text"
    assert content["format"] == "org.matrix.custom.html"
    assert content["body"].startswith("[FIRING:1] HighLatency (api)\n1 firing, 1 resolved")
    assert (
        '<font color="#c0392b" data-mx-color="#c0392b">[FIRING:1] HighLatency (api)</font>' in content["formatted_body"]
    )
    assert '<br><a href="https://runbooks.example.com/latency">Runbook</a>' in content["formatted_body"]
    assert "<strong>p99 latency above 500ms</strong>" in content["formatted_body"]
    assert result.detail == "event_id $ev1:example.org"


async def test_retry_reuses_the_transaction_id(server: Server, http: aiohttp.ClientSession) -> None:
    channel = matrix(server.url)
    await channel.send(notification(), http)
    await channel.send(notification(), http)
    assert [r.raw_path for r in server.requests] == [SEND_PATH, SEND_PATH]


async def test_values_are_html_escaped(server: Server, http: aiohttp.ClientSession) -> None:
    n = notification(common_labels={"service": "<script>alert(1)</script>"})
    await matrix(server.url).send(n, http)
    html = server.only().json()["formatted_body"]
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


async def test_custom_text_without_html_is_sent_plain(server: Server, http: aiohttp.ClientSession) -> None:
    await matrix(server.url, text="{{ firing|length }} firing", msgtype="m.notice").send(notification(), http)
    content = server.only().json()
    assert content == {"msgtype": "m.notice", "body": "[FIRING:1] HighLatency (api)\n1 firing"}


async def test_rate_limit_body_gives_retry_after(server: Server, http: aiohttp.ClientSession) -> None:
    server.reply = Scripted(429, {"errcode": "M_LIMIT_EXCEEDED", "error": "Too many", "retry_after_ms": 2500})
    with pytest.raises(RetryableError) as info:
        await matrix(server.url).send(notification(), http)
    assert info.value.retry_after == 2.5


@pytest.mark.parametrize("case", FAILURES, ids=FAILURE_IDS)
async def test_failures_are_classified(case: Case, server: Server, http: aiohttp.ClientSession) -> None:
    await assert_classified(case, matrix, server, http)
