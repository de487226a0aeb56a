"""On-call through the real server: pages with one-click links acked from a phone, calendars, views, keys, CLI."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import orjson
import yaml
from icalendar import Calendar

from tests.acceptance.conftest import Api
from tocsin.testing import RunningServer, WebhookSink, running_server, webhook_sink

PD_KEY = "0123456789abcdef0123456789abcdef"


def oncall_config(hook: str, **extra: Any) -> dict[str, Any]:
    """alice and bob rotate daily (London); carol is step 2; service `api` pages through `core`."""
    users = [
        {"name": n, "contact_methods": [{"name": "hook", "kind": "webhook", "url": hook}]} for n in ("alice", "bob")
    ]
    users.append({"name": "carol", "time_zone": "America/New_York", "contact_methods": users[0]["contact_methods"]})
    return {
        "users": users,
        "teams": [{"name": "sre", "members": ["alice", "bob", "carol"]}],
        "schedules": [
            {
                "name": "primary",
                "time_zone": "Europe/London",
                "layers": [{"name": "daily", "participants": ["alice", "bob"], "shift": "1d", "start": "2026-01-05"}],
            }
        ],
        "escalation_policies": [
            {
                "name": "core",
                "steps": [
                    {"targets": [{"schedule": "primary"}], "delay": "10m"},
                    {"targets": [{"user": "carol"}], "delay": "10m"},
                ],
            }
        ],
        "services": [
            {
                "name": "api",
                "escalation_policy": "core",
                "integration_keys": [{"name": "pd", "key": PD_KEY, "kind": "pagerduty"}],
            }
        ],
        "handoff_notice": None,
        **extra,
    }


def write_config(path: Path, hook: str, **server: Any) -> None:
    config = {
        "storage": {"url": f"sqlite:///{path.parent / 'tocsin.db'}"},
        "server": server,
        "alerting": {
            "route": {"receiver": "pager", "group_by": ["alertname"], "group_wait": "10s", "group_interval": "1m"},
            "receivers": [{"name": "pager", "service": "api"}],
        },
        "oncall": oncall_config(hook),
    }
    path.write_text(yaml.safe_dump(config))


def page_of(sink: WebhookSink, index: int) -> dict[str, Any]:
    body: dict[str, Any] = orjson.loads(sink.requests[index]["body"])
    return body


def local(server: RunningServer, link: str) -> str:
    """A link from a notification, pointed at the test server (no external_url is configured)."""
    parts = urlsplit(link)
    return server.url + parts.path


async def quiet(sink: WebhookSink, count: int) -> None:
    """Give the server a moment, then check nothing more arrived."""
    await asyncio.sleep(0.3)
    assert len(sink.requests) == count, [page_of(sink, i)["receiver"] for i in range(len(sink.requests))]


async def test_a_page_is_acknowledged_from_its_link_without_signing_in(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with webhook_sink() as sink:
        config = tmp_path / "tocsin.yaml"
        write_config(config, sink.url)
        async with running_server(config) as server:
            api = Api(server.url, http, server.headers)
            [primary] = (await api.get("/api/v1/oncall/now"))["schedules"]
            [on_call] = primary["on_call"]
            ends = (datetime.now(UTC) + timedelta(days=1)).isoformat()
            await api.post("/api/v2/alerts", [{"labels": {"alertname": "Down"}, "endsAt": ends}])
            await api.advance("11s")  # group_wait: the first flush pages step 1
            await sink.wait_for(1)
            page = page_of(sink, 0)
            assert page["receiver"] == f"oncall:{on_call}"
            assert page["alerts"][0]["labels"]["alertname"] == "Down"
            ack = local(server, page["links"]["Acknowledge"])

            async with http.get(ack) as resp:  # a phone opening the link: a page with a button, no sign-in
                assert resp.status == 200
                text = await resp.text()
            assert "<form method='post'>" in text
            assert on_call in text
            async with http.get(ack, headers={"Accept": "application/json"}) as resp:
                assert (await resp.json())["used"] is False
            await quiet(sink, 1)  # opening the link acknowledged nothing: link scanners are harmless
            [esc] = (await api.get("/api/v1/oncall/escalations"))["escalations"]
            assert esc["status"] == "triggered"

            async with http.post(ack, headers={"Accept": "application/json"}) as resp:
                assert resp.status == 200
                assert (await resp.json())["status"] == "done"
            async with http.post(ack) as resp:
                assert resp.status == 409  # single use
            [esc] = (await api.get("/api/v1/oncall/escalations"))["escalations"]
            assert (esc["status"], esc["acknowledged_by"]) == ("acknowledged", on_call)

            await api.advance("30m")  # step 2 (carol, at 10m) never comes
            await quiet(sink, 1)
            key = quote(esc["group_key"], safe="")
            resolved = await api.post(f"/api/v1/alerts/group/resolve?key={key}")
            assert resolved["status"] == "done"
            assert (await api.get("/api/v1/oncall/escalations"))["escalations"] == []
            async with http.post(local(server, page["links"]["Resolve"]), headers={"Accept": "application/json"}) as r:
                assert (await r.json())["status"] == "already_resolved"
            forged = ack[:-3] + ("AAA" if not ack.endswith("AAA") else "BBB")
            async with http.post(forged) as resp:
                assert resp.status == 404  # not a genuine link


async def test_views_calendars_and_keys(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with webhook_sink() as sink:
        config = tmp_path / "tocsin.yaml"
        write_config(config, sink.url)
        async with running_server(config) as server:
            api = Api(server.url, http, server.headers)
            async with http.get(server.url + "/api/v1/oncall/now") as resp:
                assert resp.status == 401  # views need credentials
            now = await api.get("/api/v1/oncall/now")
            [service] = now["services"]
            assert service["first_step"] == now["schedules"][0]["on_call"]

            timeline = await api.get("/api/v1/oncall/schedules/primary?days=14")
            assert [layer["name"] for layer in timeline["layers"]] == ["daily"]
            assert len(timeline["final"]) in (14, 15)
            assert timeline["gaps"] == []
            shifts = await api.get("/api/v1/oncall/shifts?user=alice&days=14")
            assert len(shifts["shifts"]) in (7, 8)  # every other day, whole shifts (one may be under way)
            assert shifts["time_zone"] == "UTC"
            simulation = await api.get("/api/v1/oncall/policies/core/simulate")
            assert [(s["step"], s["user"]) for s in simulation["sends"]] == [
                (1, service["first_step"][0]),
                (2, "carol"),
            ]

            links = {(c["kind"], c["name"]): c["url"] for c in (await api.get("/api/v1/oncall/calendars"))["calendars"]}
            async with http.get(local(server, links[("schedule", "primary")])) as resp:  # no credentials
                assert resp.status == 200
                assert resp.content_type == "text/calendar"
                feed = Calendar.from_ical(await resp.read())
            users = {str(e["X-TOCSIN-USER"]) for e in feed.walk("VEVENT")}
            assert users == {"alice", "bob"}
            async with http.get(local(server, links[("user", "carol")])) as resp:
                assert resp.status == 200  # carol has no shifts: an empty feed, still valid
            async with http.get(server.url + "/calendars/" + "x" * 32 + ".ics") as resp:
                assert resp.status == 404

            created = await api.request(
                "POST", "/api/v1/oncall/services/api/integration-keys", {"name": "ci", "kind": "generic"}, 201
            )
            assert len(created["key"]) == 32
            listed = await api.get("/api/v1/oncall/integration-keys")
            assert {(k["name"], k["source"]) for k in listed["keys"]} == {("pd", "config"), ("ci", "api")}
            assert created["key"] not in orjson.dumps(listed).decode()
            assert PD_KEY not in orjson.dumps(listed).decode()
            event = {"summary": "deploy failed", "severity": "critical"}
            async with http.post(f"{server.url}/api/v1/ingest/generic/{created['key']}", json=event) as resp:
                assert resp.status == 202
            await api.request("DELETE", "/api/v1/oncall/services/api/integration-keys/ci", expect=204)
            async with http.post(f"{server.url}/api/v1/ingest/generic/{created['key']}", json=event) as resp:
                assert resp.status == 404


async def _cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tocsin", "oncall", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cli_simulates_across_a_dst_handoff_and_acknowledges(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with webhook_sink() as sink:
        config = tmp_path / "tocsin.yaml"
        write_config(config, sink.url)
        # 2026-03-29 07:50 UTC is 08:50 in London, an hour after clocks went forward: alice until 09:00 BST.
        code, out, _ = await _cli("simulate", "--config", str(config), "--policy", "core", "--at", "2026-03-29T07:50Z")
        assert code == 0
        rows = [line.split() for line in out.splitlines()[2:]]
        assert [(r[0], r[4]) for r in rows] == [("+0m", "alice"), ("+10m", "carol")]
        assert "04:00 EDT" in out  # carol's own clock
        code, _, err = await _cli("simulate", "--config", str(config), "--policy", "nope")
        assert code == 1
        assert "no escalation policy 'nope'" in err

        async with running_server(config) as server:
            api = Api(server.url, http, server.headers)
            ends = (datetime.now(UTC) + timedelta(days=1)).isoformat()
            await api.post("/api/v2/alerts", [{"labels": {"alertname": "Disk"}, "endsAt": ends}])
            await api.advance("11s")
            await sink.wait_for(1)
            [esc] = (await api.get("/api/v1/oncall/escalations"))["escalations"]
            args = ("--url", server.url, "--token", server.token or "", "--key", esc["group_key"])
            code, out, err = await _cli("ack", *args)
            assert (code, out.strip()) == (0, "ack: done"), err
            [esc] = (await api.get("/api/v1/oncall/escalations"))["escalations"]
            assert esc["acknowledged_by"] == "token:bootstrap"
            await api.advance("15m")
            await quiet(sink, 1)
