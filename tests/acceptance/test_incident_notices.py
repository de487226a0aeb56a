"""`notify_user` in-process: a notice reaches a user's contact methods through the outbox, or nobody."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from tocsin.clock import FakeClock
from tocsin.incidents.notices import notify_user
from tocsin.runtime import Runtime
from tocsin.store.alerting import AlertStore
from tocsin.testing import WebhookSink, webhook_sink


def write_config(path: Path, db: Path, hook: str) -> None:
    config: dict[str, Any] = {
        "server": {"external_url": "https://ops.example.com"},
        "storage": {"url": f"sqlite:///{db}"},
        "oncall": {
            "users": [
                {
                    "name": "alice",
                    "contact_methods": [{"kind": "webhook", "name": "hook", "url": hook}],
                    "notification_rules": {"high": [{"contact_method": "hook"}]},
                },
            ]
        },
    }
    path.write_text(yaml.safe_dump(config))


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Runtime, FakeClock, WebhookSink]]:
    async with webhook_sink() as sink:
        write_config(tmp_path / "tocsin.yaml", tmp_path / "n.db", sink.url)
        clock = FakeClock()
        rt = Runtime(tmp_path / "tocsin.yaml", clock)
        await rt.start()
        try:
            yield rt, clock, sink
        finally:
            await rt.stop()


async def test_notice_reaches_the_users_webhook(served: tuple[Runtime, FakeClock, WebhookSink]) -> None:
    rt, clock, sink = served
    queued = await notify_user(rt, "alice", "You are commander of #7", "DB down (SEV1)", "/incidents/7", clock.now())
    assert queued == 1
    [request] = await sink.wait_for(1)
    body = orjson.loads(request["body"])
    assert body["receiver"] == "oncall:alice"
    assert body["status"] == "firing"
    [alert] = body["alerts"]
    assert alert["annotations"]["summary"] == "You are commander of #7"
    assert alert["annotations"]["description"] == "DB down (SEV1)"
    assert alert["labels"]["alertname"] == "IncidentNotice"
    assert body["links"] == {"Open": "https://ops.example.com/incidents/7"}
    assert request["headers"]["Idempotency-Key"]
    [row] = await AlertStore(rt.store).deliveries()
    assert (row.delivery.reason, row.delivery.receiver, row.delivery.channel) == ("incident", "oncall:alice", "webhook")


async def test_nobody_to_reach_is_not_an_error(served: tuple[Runtime, FakeClock, WebhookSink]) -> None:
    rt, clock, sink = served
    assert await notify_user(rt, "nobody-at-all", "subject", "text", "/incidents/1", clock.now()) == 0
    assert sink.requests == []
