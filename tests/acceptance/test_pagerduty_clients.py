"""The PagerDuty Events API v2 driven by the real `pagerduty` and `pdpyras` clients, unchanged, over TLS.

The clients are pointed at tocsin's URL and otherwise left alone. The `pagerduty` client
refuses non-https base URLs, so the server terminates TLS itself (`server.tls`) with a
self-signed 127.0.0.1 certificate the clients trust through `SSL_CERT_FILE` and
`REQUESTS_CA_BUNDLE`. Protocol corners (400, 413, 429) are checked with raw HTTP.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pagerduty
import pdpyras  # type: ignore[import-untyped]  # deprecated package, no type information
import pytest
import yaml

from tests.acceptance.conftest import Api
from tests.acceptance.test_oncall_api import PD_KEY, oncall_config, page_of, quiet
from tests.component.hostile import make_certs
from tocsin.testing import running_server, webhook_sink

ROUTE = {"receiver": "pager", "group_by": ["alertname"], "group_wait": "10s", "group_interval": "1m"}


def write_config(path: Path, hook: str, **extra: Any) -> None:
    config = {
        "storage": {"url": f"sqlite:///{path.parent / 'tocsin.db'}"},
        "alerting": {"route": ROUTE, "receivers": [{"name": "pager", "service": "api"}]},
        "oncall": oncall_config(hook),
        **extra,
    }
    path.write_text(yaml.safe_dump(config))


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A self-signed certificate for 127.0.0.1, trusted by this process's HTTP clients."""
    pair = make_certs(tmp_path).self_signed
    monkeypatch.setenv("SSL_CERT_FILE", str(pair.cert))  # httpx (pagerduty) and ssl's default context
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pair.cert))  # requests (pdpyras)
    return {"cert_file": str(pair.cert), "key_file": str(pair.key)}


async def escalations(api: Api) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await api.get("/api/v1/oncall/escalations"))["escalations"]
    return found


async def test_pagerduty_and_pdpyras_clients_trigger_acknowledge_and_resolve(
    tmp_path: Path, tls: dict[str, str]
) -> None:
    trusted = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=tls["cert_file"]))  # aiohttp's own context
    async with webhook_sink() as sink, aiohttp.ClientSession(connector=trusted) as http:
        config = tmp_path / "tocsin.yaml"
        write_config(config, sink.url, server={"tls": tls})
        async with running_server(config) as server:
            assert server.url.startswith("https://127.0.0.1:")
            api = Api(server.url, http, server.headers)
            client = pagerduty.EventsApiV2Client(PD_KEY, base_url=server.url)
            session = pdpyras.EventsAPISession(PD_KEY)
            session.url = server.url

            # trigger with the pagerduty client: an alert, a group, and step 1 paged
            details = {"ping time": "1500ms", "load avg": 0.75}
            dedup = await asyncio.to_thread(
                client.trigger, "Disk full on db-1", "db-1", dedup_key="disk-db-1", custom_details=details
            )
            assert dedup == "disk-db-1"
            groups = await api.get("/api/v2/alerts")
            [alert] = [a for a in groups if a["labels"].get("dedup_key") == "disk-db-1"]
            assert alert["labels"]["service"] == "api"
            assert alert["labels"]["severity"] == "critical"
            assert alert["annotations"]["ping_time"] == "1500ms"
            assert alert["annotations"]["load_avg"] == "0.75"
            await api.advance("11s")
            await sink.wait_for(1)
            assert page_of(sink, 0)["links"].keys() == {"Acknowledge", "Resolve"}

            # acknowledge with pdpyras: escalation stops, step 2 never comes
            assert await asyncio.to_thread(session.acknowledge, "disk-db-1") == "disk-db-1"
            [esc] = await escalations(api)
            assert (esc["status"], esc["acknowledged_by"]) == ("acknowledged", "pagerduty:pd")
            await api.advance("30m")
            await quiet(sink, 1)

            # resolve with the pagerduty client: the alert ends and the escalation with it
            assert await asyncio.to_thread(client.resolve, "disk-db-1") == "disk-db-1"
            assert await escalations(api) == []
            listed = [a for a in await api.get("/api/v2/alerts") if a["labels"].get("dedup_key") == "disk-db-1"]
            assert listed == []  # the Alertmanager API lists firing alerts only: it ended

            # ack and resolve of a closed or unknown key are dropped with 202 (the clients see success)
            assert await asyncio.to_thread(session.resolve, "disk-db-1") == "disk-db-1"
            assert await asyncio.to_thread(client.acknowledge, "never-seen") == "never-seen"

            # a trigger after resolve opens a new alert: a new incident, paged again
            await api.advance("2m")  # the resolved alert leaves its group at the next flush
            await asyncio.to_thread(session.trigger, "Disk full on db-1", "db-1", dedup_key="disk-db-1")
            await api.advance("11s")
            await sink.wait_for(2)
            [esc] = await escalations(api)
            assert (esc["incident"], esc["status"]) == (2, "triggered")

            # without a dedup_key the server makes one and answers with it
            made = await asyncio.to_thread(session.trigger, "CPU high", "web-1", severity="warning")
            assert len(made) == 32

            # change events through both clients
            stamp = "2026-01-01T00:00:00Z"  # given: the client's own default timestamp is broken in pagerduty 7.2
            await asyncio.to_thread(client.submit, "deployed v2", "ci", {"sha": "abc"}, timestamp=stamp)
            changes = pdpyras.ChangeEventsAPISession(PD_KEY)
            changes.url = server.url
            await asyncio.to_thread(changes.submit, "deployed v3", "ci")
            listed = (await api.get("/api/v1/oncall/changes"))["changes"]
            assert [c["summary"] for c in listed] == ["deployed v3", "deployed v2"]
            assert PD_KEY not in orjson.dumps(listed).decode()

            # a wrong routing key is an error the clients raise
            wrong = pagerduty.EventsApiV2Client("f" * 32, base_url=server.url)
            with pytest.raises(pagerduty.Error):
                await asyncio.to_thread(wrong.trigger, "x", "y")


async def post(http: aiohttp.ClientSession, url: str, body: Any) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    async with http.post(url, data=data, headers={"Content-Type": "application/json"}) as resp:
        return resp.status, await resp.json(content_type=None) if resp.content_length != 0 else {}


TRIGGER: dict[str, Any] = {
    "routing_key": PD_KEY,
    "event_action": "trigger",
    "payload": {"summary": "s", "source": "h", "severity": "info"},
}
INVALID = [
    ({**TRIGGER, "event_action": "explode"}, "'event_action' is missing or invalid"),
    ({**TRIGGER, "payload": {"source": "h", "severity": "info"}}, "'payload.summary' is missing or blank"),
    ({**TRIGGER, "payload": {"summary": "s", "source": "h", "severity": "fatal"}}, "'payload.severity'"),
    ({**TRIGGER, "dedup_key": "k" * 256}, "'dedup_key' is too long"),
    ({"routing_key": PD_KEY, "event_action": "acknowledge"}, "'dedup_key' is missing or blank"),
    ({k: v for k, v in TRIGGER.items() if k != "routing_key"}, "'routing_key' is missing or blank"),
    ({**TRIGGER, "routing_key": "nope"}, "Invalid routing key"),
    ([1, 2], "must be a JSON object"),
    (b"{not json", "not valid JSON"),
]


async def test_events_api_answers_like_pagerduty(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with webhook_sink() as sink:
        config = tmp_path / "tocsin.yaml"
        write_config(config, sink.url, ingest={"alerts_per_minute": 60, "burst": 3})
        async with running_server(config) as server:
            url = server.url + "/v2/enqueue"
            for body, error in INVALID:
                status, answer = await post(http, url, body)
                assert status == 400, (body, answer)
                assert answer["status"] == "invalid event"
                assert answer["message"] == "Event object is invalid"
                assert any(error in e for e in answer["errors"]), (error, answer)

            status, answer = await post(http, url, {**TRIGGER, "dedup_key": "a"})
            assert (status, answer) == (202, {"status": "success", "message": "Event processed", "dedup_key": "a"})
            too_big = {**TRIGGER, "payload": {**TRIGGER["payload"], "custom_details": {"x": "y" * 600_000}}}
            status, answer = await post(http, url, too_big)
            assert status == 413
            assert answer["status"] == "invalid event"

            for _ in range(3):  # the burst of 3 is spent (one went above): then 429 with Retry-After
                status, _ = await post(http, url, {**TRIGGER, "dedup_key": "b"})
                if status == 429:
                    break
            assert status == 429
            await Api(server.url, http, server.headers).advance("1m")  # the bucket refills on the server's clock
            status, _ = await post(http, url, {**TRIGGER, "dedup_key": "c"})
            assert status == 202
