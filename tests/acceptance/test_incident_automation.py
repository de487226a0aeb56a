"""Declare by route and the automatic timeline, through a real server: alerts in, incident out, ack, resolve."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import yaml

from tests.acceptance.conftest import Api
from tests.acceptance.test_oncall_api import oncall_config
from tocsin.testing import running_server, webhook_sink


def write_config(path: Path, hook: str) -> None:
    config = {
        "storage": {"url": f"sqlite:///{path.parent / 'tocsin.db'}"},
        "alerting": {
            "route": {
                "receiver": "chat",
                "group_by": ["alertname"],
                "group_wait": "10s",
                "group_interval": "1m",
                "routes": [{"matchers": ['service="api"'], "receiver": "pager", "declare_incident": "SEV1"}],
            },
            "receivers": [
                {"name": "chat", "webhook_configs": [{"url": hook}]},
                {"name": "pager", "service": "api", "webhook_configs": [{"url": hook, "send_resolved": True}]},
            ],
        },
        "oncall": oncall_config(hook),
    }
    path.write_text(yaml.safe_dump(config))


async def test_declared_by_route_with_an_automatic_timeline(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with webhook_sink() as sink:
        config = tmp_path / "tocsin.yaml"
        write_config(config, sink.url)
        async with running_server(config) as server:
            api = Api(server.url, http, server.headers)
            labels = {"alertname": "ApiDown", "service": "api", "severity": "critical"}
            await api.post("/api/v2/alerts", [{"labels": labels, "annotations": {"summary": "API is down"}}])
            await api.post("/api/v2/alerts", [{"labels": {"alertname": "DiskFull"}}])  # not flagged: no incident
            await api.advance("11s")

            async def kinds(incident_id: int) -> list[str]:
                timeline = (await api.get(f"/api/v1/incidents/{incident_id}"))["timeline"]
                return [e["kind"] for e in timeline]

            async def declared() -> bool:
                return bool((await api.get("/api/v1/incidents"))["incidents"])

            await api.until(declared)
            [incident] = (await api.get("/api/v1/incidents"))["incidents"]
            iid = incident["id"]
            [group] = [g for g in (await api.get("/api/v1/alerts/groups"))["groups"] if "ApiDown" in g["key"]]
            assert (incident["title"], incident["severity"]) == ("ApiDown: API is down", "SEV1")
            assert incident["alert_groups"] == [group["key"]]

            async def notified() -> bool:
                found = await kinds(iid)
                return "notification" in found and "alert_fired" in found

            await api.until(notified)
            found = await kinds(iid)
            assert found[:3] == ["alert_fired", "declared", "alert_group"]

            key = quote(group["key"], safe="")

            async def paged() -> bool:
                return bool((await api.get("/api/v1/oncall/escalations"))["escalations"])

            await api.until(paged)
            await api.post(f"/api/v1/alerts/group/ack?key={key}")

            async def acknowledged() -> bool:
                return "acknowledged" in await kinds(iid)

            await api.until(acknowledged)
            detail = await api.get(f"/api/v1/incidents/{iid}")
            assert detail["incident"]["times"]["acknowledged"] is not None
            ack = next(e for e in detail["timeline"] if e["kind"] == "acknowledged")
            assert ack["actor"] == "token:bootstrap"

            [alert] = [a for a in await api.get("/api/v2/alerts") if a["labels"]["alertname"] == "ApiDown"]
            ended = _iso(datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00")) + timedelta(seconds=5))
            await api.post("/api/v2/alerts", [{"labels": labels, "startsAt": alert["startsAt"], "endsAt": ended}])

            async def resolved() -> bool:
                return "alert_resolved" in await kinds(iid)

            await api.until(resolved)
            timeline: list[dict[str, Any]] = (await api.get(f"/api/v1/incidents/{iid}"))["timeline"]
            [entry] = [e for e in timeline if e["kind"] == "alert_resolved"]
            assert entry["detail"]["labels"] == labels
            assert len((await api.get("/api/v1/incidents"))["incidents"]) == 1
            audits = (await api.get("/api/v1/audit?action=incident."))["entries"]
            found_audit = [(e["action"], e["actor"], e["actor_kind"], e["source"], e["target"]) for e in audits]
            assert found_audit == [
                ("incident.update", "tocsin", "system", "oncall", str(iid)),  # the acknowledged time
                ("incident.declare", "tocsin", "system", "route", str(iid)),
            ]
            texts = {e["text"] for e in timeline if e["kind"] == "notification"}
            [primary] = (await api.get("/api/v1/oncall/now"))["schedules"]  # alice or bob, by today's date
            [on_call] = primary["on_call"]
            assert {"notified pager via webhook (new)", f"paged {on_call} via webhook (escalation)"} <= texts


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
