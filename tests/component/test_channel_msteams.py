"""The Teams channel against a local workflow-webhook stand-in: message envelope with an Adaptive Card."""

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
        s.reply = Scripted(202, b"")  # Power Automate answers 202 Accepted
        yield s


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def teams(url: str, key: str = "msteams_configs", **settings: Any) -> Channel:
    config = {"webhook_url": url + "/workflows/abc/triggers/manual/paths/invoke?sig=x", "timeout": "300ms", **settings}
    return build_channels({"name": "core", key: [config]})[0]


async def test_adaptive_card_message(server: Server, http: aiohttp.ClientSession) -> None:
    n = notification(common_annotations={"runbook_url": "https://runbooks.example.com/latency"})
    result = await teams(server.url).send(n, http)
    request = server.only()
    assert (request.method, request.path, request.query) == (
        "POST",
        "/workflows/abc/triggers/manual/paths/invoke",
        {"sig": "x"},
    )
    body = request.json()
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    title, text = card["body"]
    assert title["type"] == "TextBlock"
    assert title["text"] == "[FIRING:1] HighLatency (api)"
    assert title["color"] == "Attention"
    assert title["wrap"] is True
    assert text["type"] == "TextBlock"
    assert "**1 firing**, 1 resolved" in text["text"]
    assert [a["type"] for a in card["actions"]] == ["Action.OpenUrl", "Action.OpenUrl"]
    assert card["actions"][1] == {
        "type": "Action.OpenUrl",
        "title": "Runbook",
        "url": "https://runbooks.example.com/latency",
    }
    assert result.status_code == 202


async def test_msteamsv2_key_and_resolved_colour(server: Server, http: aiohttp.ClientSession) -> None:
    await teams(server.url, key="msteamsv2_configs", title="{{ headline }} is {{ status }}").send(
        resolved_notification(), http
    )
    title = server.only().json()["attachments"][0]["content"]["body"][0]
    assert (title["text"], title["color"]) == ("HighLatency (api) is resolved", "Good")


@pytest.mark.parametrize("case", FAILURES, ids=FAILURE_IDS)
async def test_failures_are_classified(case: Case, server: Server, http: aiohttp.ClientSession) -> None:
    await assert_classified(case, teams, server, http)
