"""Public status pages on a real server, without credentials: HTML, JSON twins, Statuspage API, caching, badges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.acceptance.conftest import Api, Target
from tocsin.testing import running_server


def write_config(path: Path, db: Path, target: str) -> None:
    config = {
        "storage": {"url": f"sqlite:///{db}"},
        "monitors": [
            {"name": "api", "kind": "http", "url": target, "interval": "10s", "timeout": "2s"},
            {"name": "db", "kind": "heartbeat", "period": "1h"},
        ],
        "maintenance": [
            {"name": "db-upgrade", "monitors": ["db"], "start": "2020-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"},
        ],
        "status_pages": [
            {
                "slug": "acme",
                "title": "Acme <Cloud>",
                "description": "Service health",
                "components": [
                    {"name": "API", "group": "Core", "monitors": ["api"], "description": "public REST API"},
                    {"name": "Database", "group": "Core", "monitors": ["db"]},
                ],
            }
        ],
    }
    path.write_text(yaml.safe_dump(config))


async def test_public_status_page(tmp_path: Path, target: Target) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "s.db", target.url)
    async with running_server(config) as server, aiohttp.ClientSession() as anonymous:
        admin = Api(server.url, anonymous, server.headers)  # only to move the test clock
        api = Api(server.url, anonymous)  # no credentials: these pages are public

        async def api_up() -> bool:
            return bool((await admin.get("/api/v1/monitors/api"))["monitor"]["status"] == "up")

        await admin.until(api_up, advance="10s")
        target.status = 500

        async def api_down() -> bool:
            view = await api.get("/status/acme.json")
            return bool(view["components"][0]["status"] == "major_outage")

        await admin.until(api_down, advance="10s")
        assert (await api.get("/status/acme/api/v2/status.json"))["status"]["indicator"] == "critical"
        target.status = 200
        await admin.until(api_up, advance="10s")
        view = await api.get("/status/acme.json")
        assert_page_view(view)
        await assert_statuspage_api(api)
        await assert_html_and_caching(server.url, anonymous)
        await api.get("/status/nope", expect=404)
        await api.get("/status/nope/api/v2/summary.json", expect=404)


def assert_page_view(view: dict[str, Any]) -> None:
    api_c, db_c = view["components"]
    assert db_c["status"] == "under_maintenance"  # the heartbeat is covered by the maintenance window
    assert view["indicator"] == "maintenance"
    assert len(api_c["bars"]) == 90
    assert api_c["bars"][-1]["maintenance"] is False
    assert api_c["uptime_90d"] is None or 0 < api_c["uptime_90d"] <= 1
    assert db_c["bars"][-1]["maintenance"] is True
    assert view["maintenances"][0]["status"] == "in_progress"


async def assert_statuspage_api(api: Api) -> None:
    summary = await api.get("/status/acme/api/v2/summary.json")
    assert set(summary) == {"page", "status", "components", "incidents", "scheduled_maintenances"}
    assert summary["page"]["name"] == "Acme <Cloud>"
    assert summary["status"] == {"indicator": "maintenance", "description": "Service Under Maintenance"}
    components = {c["name"]: c for c in summary["components"]}
    assert components["API"]["status"] == "operational"
    assert components["Core"]["group"] is True
    assert components["Core"]["components"] == [components["API"]["id"], components["Database"]["id"]]
    assert components["API"]["group_id"] == components["Core"]["id"]
    [maintenance] = summary["scheduled_maintenances"]
    assert maintenance["status"] == "in_progress"
    assert [c["name"] for c in maintenance["components"]] == ["Database"]
    status = await api.get("/status/acme/api/v2/status.json")
    assert set(status) == {"page", "status"}
    listed = await api.get("/status/acme/api/v2/components.json")
    assert [c["name"] for c in listed["components"]] == ["API", "Database", "Core"]


async def assert_html_and_caching(base: str, http: aiohttp.ClientSession) -> None:
    async with http.get(base + "/status/acme") as resp:
        assert resp.status == 200
        html = await resp.text()
        etag = resp.headers["ETag"]
        assert resp.headers.getall("Cache-Control") == ["public, max-age=30"]  # no `no-store` added for public HTML
        assert (resp.headers["Content-Encoding"], resp.headers["Vary"]) == ("gzip", "Accept-Encoding")  # aiohttp asks
        assert resp.headers["X-Frame-Options"] == "DENY"  # security headers kept
    assert etag.endswith('-gzip"')  # its own ETag: another representation
    async with http.get(base + "/status/acme", headers={"Accept-Encoding": "identity"}) as resp:
        assert "Content-Encoding" not in resp.headers
        assert await resp.text() == html
        assert resp.headers["ETag"] == etag.replace("-gzip", "")
    assert "<svg" in html
    assert "<script" not in html
    assert "Acme &lt;Cloud&gt;" in html  # escaped
    assert "API: daily uptime, last 90 days" in html  # the chart's accessible name
    assert "(maintenance, not counted)</title>" in html  # each day has a tooltip
    async with http.get(base + "/status/acme", headers={"If-None-Match": etag}) as resp:
        assert resp.status == 304
    for badge in ("status", "uptime-30d"):
        async with http.get(f"{base}/status/acme/badge/{badge}.svg") as resp:
            assert resp.status == 200
            assert resp.content_type == "image/svg+xml"
            assert "<svg" in await resp.text()
