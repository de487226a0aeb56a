"""The Slack channel against a local server: Block Kit shape, fallback text, limits, escaping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.component.channel_kit import (
    FAILURE_IDS,
    FAILURES,
    Case,
    Server,
    assert_classified,
    firing_alert,
    local_server,
    notification,
    resolved_notification,
)
from tocsin.notify import build_channels
from tocsin.notify.model import Channel


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with local_server() as s:
        yield s


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def slack(url: str, **settings: Any) -> Channel:
    config = {"api_url": url + "/services/T0/B0/XYZ", "timeout": "300ms", **settings}
    return build_channels({"name": "core", "slack_configs": [config]})[0]


async def test_block_kit_message(server: Server, http: aiohttp.ClientSession) -> None:
    channel = slack(server.url, channel="#alerts", username="tocsin", send_resolved=True)
    await channel.send(notification(), http)
    request = server.only()
    assert (request.method, request.path) == ("POST", "/services/T0/B0/XYZ")
    assert request.headers["Content-Type"] == "application/json"
    body = request.json()
    assert body["text"] == "[FIRING:1] HighLatency (api)"  # the fallback shown in notifications
    assert (body["channel"], body["username"]) == ("#alerts", "tocsin")
    header, section, context, actions = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": body["text"], "emoji": True}}
    assert section["type"] == "section"
    assert section["text"]["type"] == "mrkdwn"
    assert "*1 firing*, 1 resolved, firing since 2026-01-01 10:00:00 UTC." in section["text"]["text"]
    assert ":red_circle: *p99 latency above 500ms* since 2026-01-01 10:00:00 UTC (2h 5m)" in section["text"]["text"]
    assert "resolved at 2026-01-01 10:30:00 UTC after 27m" in section["text"]["text"]
    assert context["type"] == "context"
    assert context["elements"][0]["type"] == "mrkdwn"
    assert actions["type"] == "actions"
    [console] = actions["elements"]
    assert console["type"] == "button"
    assert console["text"] == {"type": "plain_text", "text": "Open in tocsin"}
    assert (
        console["url"]
        == "https://ops.example.com/alerts/group?key=%7B%7D%3A%7Balertname%3D%22HighLatency%22%2C%20service%3D%22api%22%7D"
    )


async def test_values_are_escaped_for_mrkdwn(server: Server, http: aiohttp.ClientSession) -> None:
    alert = firing_alert(summary="queue <depth> > 100 & rising")
    await slack(server.url).send(notification(alert), http)
    text = server.only().json()["blocks"][1]["text"]["text"]
    assert "queue &lt;depth&gt; &gt; 100 &amp; rising" in text


async def test_common_runbook_becomes_a_button(server: Server, http: aiohttp.ClientSession) -> None:
    n = notification(common_annotations={"runbook_url": "https://runbooks.example.com/latency"})
    await slack(server.url).send(n, http)
    buttons = server.only().json()["blocks"][3]["elements"]
    assert [(b["text"]["text"], b["url"]) for b in buttons][1] == ("Runbook", "https://runbooks.example.com/latency")


async def test_limits_hold_for_huge_groups(server: Server, http: aiohttp.ClientSession) -> None:
    alerts = tuple(firing_alert(f"host-{i:04d}.example.com:9100", description="x" * 80) for i in range(300))
    n = notification(*alerts, group_labels={"alertname": "HighLatency", "service": "s" * 300})
    await slack(server.url).send(n, http)
    header, section, *_ = server.only().json()["blocks"]
    assert len(header["text"]["text"]) <= 150
    assert len(section["text"]["text"]) <= 3000
    assert "more alerts not shown" in section["text"]["text"]


async def test_title_and_text_overrides(server: Server, http: aiohttp.ClientSession) -> None:
    channel = slack(server.url, title="{{ common_labels.service }} is slow", text="{{ firing|length }} down")
    await channel.send(notification(), http)
    body = server.only().json()
    assert body["text"] == "api is slow"
    assert body["blocks"][1]["text"]["text"] == "1 down"


async def test_resolved_not_sent_by_default(server: Server, http: aiohttp.ClientSession) -> None:
    result = await slack(server.url).send(resolved_notification(), http)  # Alertmanager's default: false
    assert result.status_code == 0
    assert not server.requests
    await slack(server.url, send_resolved=True).send(resolved_notification(), http)
    assert server.only().json()["text"] == "[RESOLVED] HighLatency (api)"


@pytest.mark.parametrize("case", FAILURES, ids=FAILURE_IDS)
async def test_failures_are_classified(case: Case, server: Server, http: aiohttp.ClientSession) -> None:
    await assert_classified(case, slack, server, http)
