"""The alert pipeline in the console: groups, maintenance, dead letters and retry, silences with preview, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import yaml

from tests.acceptance.conftest import Api
from tocsin.testing import running_server, webhook_sink


def write_config(path: Path, db: Path, hook: str) -> None:
    config = {
        "storage": {"url": f"sqlite:///{db}"},
        "alerting": {
            "route": {"receiver": "hook", "group_by": ["alertname"], "group_wait": "10s"},
            "receivers": [{"name": "hook", "webhook_configs": [{"url": hook}]}],
        },
        "maintenance": [
            {
                "name": "db-work",
                "matchers": ['service="db"'],
                "start": "2020-01-01T00:00:00Z",
                "end": "2100-01-01T00:00:00Z",
                "description": "long migration",
            },
        ],
    }
    path.write_text(yaml.safe_dump(config))


def groups_by_name(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["labels"]["alertname"]: g for g in view["groups"]}


async def test_alert_pages_and_actions(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with webhook_sink() as sink:
        sink.status = 400  # the receiver rejects: a permanent failure, so the notification goes dead
        config = tmp_path / "tocsin.yaml"
        write_config(config, tmp_path / "a.db", sink.url)
        async with running_server(config) as server:
            api = Api(server.url, http, server.headers)
            alerts = [
                {"labels": {"alertname": "Disk", "service": "web"}, "annotations": {"summary": "disk 95% full"}},
                {"labels": {"alertname": "Replication", "service": "db"}},
            ]
            await api.post("/api/v2/alerts", alerts)
            await api.advance("11s")

            async def dead() -> bool:
                return bool((await api.get("/notifications.json?status=dead"))["deliveries"])

            await api.until(dead)
            groups = groups_by_name(await api.get("/alerts.json"))
            assert groups["Disk"]["state"] == "firing"
            assert groups["Replication"]["state"] == "maintenance"  # muted by the maintenance window
            assert groups["Replication"]["alerts"][0]["maintenance"] == ["db-work"]

            key = groups["Disk"]["key"]
            detail = await api.get(f"/alerts/group.json?key={quote(key)}")
            [delivery] = detail["deliveries"]
            assert delivery["status"] == "dead"
            assert delivery["history"][0]["status_code"] == 400
            assert "Silence this group" in await api.get(f"/alerts/group?key={quote(key)}")

            sink.status = 200  # the receiver is fixed: retry the dead letter
            await api.request("POST", f"/notifications/{delivery['id']}/retry", data={}, expect=200)

            async def delivered() -> bool:
                rows = (await api.get(f"/alerts/group.json?key={quote(key)}"))["deliveries"]
                return rows[0]["status"] == "delivered"

            await api.until(delivered)
            await api.request("POST", f"/notifications/{delivery['id']}/retry", data={}, expect=409)

            preview = await api.get("/silences/new?matchers=" + quote('{alertname="Disk"}'))
            assert "Would silence 1 alert now" in preview
            form = {"matchers": '{alertname="Disk"}', "duration": "1h", "comment": "replacing the disk"}
            await api.request("POST", "/silences", data=form, expect=200)  # 303 to the list, followed
            [silence] = (await api.get("/silences.json"))["silences"]
            assert (silence["state"], silence["matching"], silence["created_by"]) == ("active", 1, "token:bootstrap")
            assert groups_by_name(await api.get("/alerts.json"))["Disk"]["state"] == "silenced"
            bad = await api.request(
                "POST", "/silences", data={"matchers": '{alertname=~"("}', "duration": "1h"}, expect=400
            )
            assert "matchers" in bad or "regular expression" in bad

            await api.request("POST", f"/silences/{silence['id']}/expire", data={}, expect=200)
            assert (await api.get("/silences.json"))["silences"][0]["state"] == "expired"
            assert groups_by_name(await api.get("/alerts.json"))["Disk"]["state"] == "firing"

            windows = (await api.get("/maintenance.json"))["windows"]
            assert (windows[0]["name"], windows[0]["active"]) == ("db-work", True)
            for page in ("/alerts", "/silences", "/maintenance", "/notifications", "/notifications?status=dead"):
                assert "<h1>" in await api.get(page)

            actions = [e["action"] for e in (await api.get("/api/v1/audit?action=silence."))["entries"]]
            assert actions == ["silence.expire", "silence.create"]
            retried = (await api.get("/api/v1/audit?action=notification.retry"))["entries"]
            assert [e["target"] for e in retried] == [str(delivery["id"])]
