"""Acknowledge and resolve from the console: the group page shows the escalation and its buttons work."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import aiohttp

from tests.acceptance.conftest import Api
from tests.acceptance.test_oncall_api import write_config
from tocsin.testing import running_server, webhook_sink


async def test_acknowledge_and_resolve_buttons(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with webhook_sink() as sink:
        config = tmp_path / "tocsin.yaml"
        write_config(config, sink.url)
        async with running_server(config) as server:
            api = Api(server.url, http, server.headers)
            await api.post("/api/v2/alerts", [{"labels": {"alertname": "ApiDown", "severity": "critical"}}])
            await api.advance("11s")

            async def paged() -> bool:
                return bool((await api.get("/api/v1/oncall/escalations"))["escalations"])

            await api.until(paged)
            [group] = (await api.get("/alerts.json"))["groups"]
            key = quote(group["key"], safe="")
            page = await api.get(f"/alerts/group?key={key}")
            assert "Paging</b> via core" in page
            assert ">Acknowledge</button>" in page

            await api.request("POST", f"/alerts/group/ack?key={key}", data={}, expect=200)  # 303 back to the page
            page = await api.get(f"/alerts/group?key={key}")
            assert "acknowledged by token:bootstrap" in page
            assert ">Acknowledge</button>" not in page

            await api.request("POST", f"/alerts/group/resolve?key={key}", data={}, expect=200)
            actions = [e["action"] for e in (await api.get("/api/v1/audit?action=alert."))["entries"]]
            assert actions == ["alert.resolve", "alert.acknowledge"]
            missing = await api.request("POST", "/alerts/group/ack?key=nope", data={}, expect=404)
            assert "not being paged" in missing
