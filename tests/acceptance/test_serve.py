"""`tocsin serve` end to end: checks, state, alerts as events, heartbeats, reload, pages, metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from tests.acceptance.conftest import Api, Target
from tocsin.testing import running_server

TOKEN = "acceptance-heartbeat-token-0001"


def write_config(path: Path, db: Path, target_url: str, extra: str = "") -> None:
    path.write_text(
        f"""
server: {{listen: 127.0.0.1:0, external_url: http://tocsin.test}}
storage: {{url: "sqlite:///{db}"}}
monitors:
  - name: api
    kind: http
    url: {target_url}
    interval: 10s
    timeout: 2s
    failure_threshold: 2
    conditions: ["[STATUS] == 200", "[BODY].status == UP"]
    labels: {{service: api, team: core}}
    annotations: {{runbook_url: https://runbooks.test/api}}
  - name: backup
    kind: heartbeat
    token: {TOKEN}
    period: 1m
    grace: 30s
    interval: 10s
    failure_threshold: 1
{extra}"""
    )


async def monitor(api: Api, name: str) -> dict[str, Any]:
    detail: dict[str, Any] = await api.get(f"/api/v1/monitors/{name}")
    return detail


async def status_is(api: Api, name: str, status: str) -> bool:
    return bool((await monitor(api, name))["monitor"]["status"] == status)


async def test_monitor_lifecycle_alerts_heartbeat_and_pages(
    tmp_path: Path, target: Target, http: aiohttp.ClientSession
) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "t.db", target.url)
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        assert await api.get("/healthz") == {"status": "ok"}
        assert (await api.get("/readyz"))["status"] == "ready"

        # up after the first check
        await api.until(lambda: status_is(api, "api", "up"), advance="10s")
        detail = await monitor(api, "api")
        assert detail["monitor"]["last_result"]["outcome"] == "up"
        assert detail["monitor"]["location"].endswith("tocsin.yaml:5")

        # one failure is not enough (failure_threshold 2); two are
        target.status = 503
        await api.until(lambda: status_is(api, "api", "down"), advance="10s")
        failures = (await monitor(api, "api"))["recent_failures"]
        assert failures[0]["reason"] == "condition"
        events = await api.get("/api/v1/events")
        fired = [e for e in events if e["labels"]["alertname"] == "MonitorDown"]
        assert fired
        assert fired[0]["status"] == "firing"
        assert fired[0]["labels"] == {"service": "api", "team": "core", "alertname": "MonitorDown", "monitor": "api"}
        assert fired[0]["annotations"]["runbook_url"] == "https://runbooks.test/api"

        # recovery resolves the alert
        target.status = 200
        await api.until(lambda: status_is(api, "api", "up"), advance="10s")
        events = await api.get("/api/v1/events")
        assert events[0]["labels"]["alertname"] == "MonitorDown"
        assert events[0]["status"] == "resolved"

        # heartbeat: no ping within period + grace goes down, a ping brings it back at once
        await api.until(lambda: status_is(api, "backup", "down"), advance="30s")
        assert (await monitor(api, "backup"))["recent_failures"][0]["reason"] == "no_ping"
        async with http.post(f"{server.url}/ping/{TOKEN}", data=b"done in 3s") as resp:
            assert resp.status == 200
            assert await resp.text() == "OK\n"
        assert await status_is(api, "backup", "up")
        async with http.get(f"{server.url}/ping/{TOKEN}/fail") as resp:
            assert resp.status == 200
        assert await status_is(api, "backup", "down")
        async with http.get(f"{server.url}/ping/not-a-known-token-0000") as resp:
            assert resp.status == 404
        async with http.get(f"{server.url}/ping/bad!") as resp:
            assert resp.status == 400

        # pause resolves, resume restarts as pending
        paused = await api.post("/api/v1/monitors/api/pause")
        assert paused == {"name": "api", "status": "paused", "paused": True}
        assert (await api.post("/api/v1/monitors/api/resume"))["status"] == "pending"

        # pages and their JSON twins come from the same view
        page = await api.get("/monitors")
        assert "api" in page
        assert "<svg" in page
        twin = await api.get("/monitors.json")
        assert [m["name"] for m in twin["monitors"]] == [
            m["name"] for m in (await api.get("/api/v1/monitors"))["monitors"]
        ]
        detail_page = await api.get("/monitors/api")
        assert "Recent failures" in detail_page
        assert "Last 90 days" in detail_page
        assert (await api.get("/monitors/api.json"))["monitor"]["name"] == "api"
        await api.get("/monitors/nope", expect=404)
        assert (await api.get("/api/v1/monitors/backup"))["spec"]["token"] == "***"  # secrets masked

        # paging through raw results
        page1 = await api.get("/api/v1/monitors/api/results?limit=2")
        assert len(page1["results"]) == 2
        assert page1["next_before"]
        page2 = await api.get(f"/api/v1/monitors/api/results?limit=2&before={page1['next_before']}")
        assert page2["results"][0]["at"] < page1["results"][-1]["at"]

        metrics = await api.get("/metrics")
        assert 'tocsin_checks_total{kind="http",outcome="up"}' in metrics
        assert 'tocsin_check_failures_total{kind="http",reason="condition"}' in metrics
        assert "tocsin_scheduler_lag_seconds_bucket" in metrics
        assert "tocsin_store_batch_size_count" in metrics
        assert "tocsin_config_last_reload_successful 1.0" in metrics


async def test_reload_is_transactional(tmp_path: Path, target: Target, http: aiohttp.ClientSession) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "t.db", target.url)
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        await api.until(lambda: status_is(api, "api", "up"), advance="10s")

        config.write_text(config.read_text().replace("interval: 10s", "interval: 10x", 1))
        answer = await api.post("/-/reload", expect=400)
        assert answer["status"] == "error"
        assert any("tocsin.yaml:" in e and "interval" in e for e in answer["errors"])
        assert "tocsin_config_last_reload_successful 0.0" in await api.get("/metrics")
        assert await status_is(api, "api", "up")  # the old config keeps running

        write_config(
            config,
            tmp_path / "t.db",
            target.url,
            extra=f"  - name: api2\n    kind: http\n    url: {target.url}\n    interval: 10s\n    timeout: 2s\n",
        )
        assert (await api.post("/-/reload"))["monitors"] == 3
        assert await status_is(api, "api", "up")  # unchanged monitors keep their state
        await api.until(lambda: status_is(api, "api2", "up"), advance="10s")

        write_config(config, tmp_path / "t.db", target.url)  # api2 removed, reloaded by SIGHUP
        server.hup()
        for _ in range(100):
            names = [m["name"] for m in (await api.get("/api/v1/monitors"))["monitors"]]
            if "api2" not in names:
                break
            await asyncio.sleep(0.05)
        assert sorted(names) == ["api", "backup"]


async def test_state_survives_restart(tmp_path: Path, target: Target, http: aiohttp.ClientSession) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "t.db", target.url)
    target.status = 500
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        await api.until(lambda: status_is(api, "api", "down"), advance="10s")
        await api.post("/api/v1/monitors/backup/pause")
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        assert await status_is(api, "api", "down")  # no new alert on restart
        assert await status_is(api, "backup", "paused")
        events = await api.get("/api/v1/events")
        assert len([e for e in events if e["labels"]["monitor"] == "api" and e["status"] == "firing"]) == 1


async def test_request_body_limit(tmp_path: Path, target: Target, http: aiohttp.ClientSession) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "t.db", target.url)
    async with (
        running_server(config) as server,
        http.post(f"{server.url}/ping/{TOKEN}", data=b"x" * 2_000_000) as resp,
    ):
        assert resp.status == 413
        assert "max_body_bytes" in (await resp.json())["detail"]
