"""The whole response through a real server, as a team lives it.

A monitor goes down → its alert pages the on-call person → they acknowledge from the signed
link on their phone → an incident is declared from the alert group → a public update goes out
on the status page → the monitor recovers → the incident is resolved → the drafted postmortem
holds the right timeline, durations and error budget consumed (as the SLO engine computes it).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import yaml

from tests.acceptance.conftest import Api, Target
from tests.acceptance.test_oncall_api import local, oncall_config, page_of
from tocsin.testing import running_server, webhook_sink


def write_config(path: Path, target: str, hook: str) -> None:
    config = {
        "storage": {"url": f"sqlite:///{path.parent / 'tocsin.db'}"},
        "monitors": [
            {
                "name": "api",
                "kind": "http",
                "url": target,
                "interval": "10s",
                "failure_threshold": 2,
                "success_threshold": 1,
                "labels": {"service": "api"},
            }
        ],
        "alerting": {
            "route": {
                "receiver": "pager",
                "group_by": ["alertname", "monitor"],
                "group_wait": "10s",
                "group_interval": "1m",
            },
            "receivers": [{"name": "pager", "service": "api"}],
        },
        "oncall": oncall_config(hook),
        "slos": [
            {"name": "api-availability", "service": "api", "objective": 99, "window": "30d", "sli": {"monitor": "api"}}
        ],
        "status_pages": [
            {"slug": "public", "title": "Example status", "components": [{"name": "API", "monitors": ["api"]}]}
        ],
    }
    path.write_text(yaml.safe_dump(config))


async def monitor_status(api: Api) -> str:
    status: str = (await api.get("/api/v1/monitors/api"))["monitor"]["status"]
    return status


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_down_page_ack_declare_update_recover_resolve_postmortem(
    tmp_path: Path, target: Target, http: aiohttp.ClientSession
) -> None:
    async with webhook_sink() as sink:
        config = tmp_path / "tocsin.yaml"
        write_config(config, target.url, sink.url)
        async with running_server(config) as server:
            api = Api(server.url, http, server.headers)

            async def is_(status: str) -> bool:
                return await monitor_status(api) == status

            await api.until(lambda: is_("up"), advance="10s")
            for _ in range(6):  # a minute of good checks before the outage
                await api.advance("10s")

            # the monitor goes down, its alert's group waits 10 s, then pages whoever is on call
            target.status = 503
            await api.until(lambda: is_("down"), advance="10s")
            await api.advance("11s")
            await sink.wait_for(1, timeout=15)
            page = page_of(sink, 0)
            assert page["receiver"].startswith("oncall:")
            paged = page["receiver"].removeprefix("oncall:")
            assert page["alerts"][0]["labels"]["alertname"] == "MonitorDown"

            # acknowledged from the signed link, without signing in
            async with http.post(
                local(server, page["links"]["Acknowledge"]), headers={"Accept": "application/json"}
            ) as r:
                assert r.status == 200, await r.text()
            [esc] = (await api.get("/api/v1/oncall/escalations"))["escalations"]
            assert (esc["status"], esc["acknowledged_by"]) == ("acknowledged", paged)

            # declared from the alert group in one click: it knows when the alert started and was acked
            [group] = [g for g in (await api.get("/alerts.json"))["groups"] if "MonitorDown" in g["key"]]
            body = {"title": "API down", "severity": "SEV2", "group_key": group["key"], "source": "alert_group"}
            incident = (await api.post("/api/v1/incidents", body, 201))["incident"]
            iid, times = incident["id"], incident["times"]
            assert incident["alert_groups"] == [group["key"]]
            assert at(times["detected"]) <= at(times["acknowledged"]) <= at(incident["created_at"])
            impacts = [
                {"kind": "component", "page": "public", "name": "API", "impact": "major_outage"},
                {"kind": "service", "name": "api", "impact": "major_outage"},
            ]
            incident = (await api.request("PATCH", f"/api/v1/incidents/{iid}", {"version": 1, "impacts": impacts}))[
                "incident"
            ]

            # a public update: the status page shows it and the component's outage
            update = {"audience": "public", "status": "identified", "body": "Requests to the API are failing."}
            posted = await api.post(f"/api/v1/incidents/{iid}/updates", update, 201)
            assert posted["update"]["pages"] == ["public"]
            status_page = await api.get("/status/public")
            assert "Requests to the API are failing." in status_page
            summary = await api.get("/status/public/api/v2/summary.json")
            [public] = summary["incidents"]
            assert (public["name"], public["status"]) == ("API down", "identified")
            assert summary["components"][0]["status"] == "major_outage"

            # the monitor recovers, the commander resolves
            target.status = 200
            await api.until(lambda: is_("up"), advance="10s")
            fixed = {"audience": "public", "status": "monitoring", "body": "A fix is out; we are watching."}
            await api.post(f"/api/v1/incidents/{iid}/updates", fixed, 201)
            for _ in range(12):  # two quiet minutes of monitoring before resolving
                await api.advance("10s")
            current = (await api.get(f"/api/v1/incidents/{iid}"))["incident"]
            resolved = await api.request(
                "PATCH", f"/api/v1/incidents/{iid}", {"version": current["version"], "status": "resolved"}
            )
            times = resolved["incident"]["times"]
            assert resolved["incident"]["status"] == "resolved"
            unresolved = await api.get("/status/public/api/v2/incidents/unresolved.json")
            assert unresolved["incidents"] == []

            # the postmortem was drafted on resolve
            pm: dict[str, Any] = await api.get(f"/api/v1/incidents/{iid}/postmortem")
            assert pm["state"] == "draft"
            facts, text = pm["facts"], pm["body"]
            durations = facts["durations"]
            assert durations["to_acknowledge"] == (at(times["acknowledged"]) - at(times["detected"])).total_seconds()
            assert durations["to_resolve"] == (at(times["resolved"]) - at(times["detected"])).total_seconds()
            assert durations["to_mitigate"] == (at(times["mitigated"]) - at(times["detected"])).total_seconds()
            assert at(facts["window_start"]) == at(times["detected"])
            assert at(facts["window_end"]) == at(times["resolved"])

            # who was paged, and the timeline the response left behind
            assert [p["user"] for p in facts["pages"]] == [paged]
            assert [a["by"] for a in facts["acks"]] == [paged]
            kinds = [m["kind"] for m in facts["timeline"]]
            for kind in ("declared", "alert_group", "alert_fired", "impact", "update", "status", "alert_resolved"):
                assert kind in kinds, (kind, kinds)
            assert "Requests to the API are failing." in text
            assert "## Contributing factors" in text
            assert "**Time to acknowledge:**" in text

            # budget consumed, as the SLO engine computes it for the same window
            [spend] = facts["slos"]
            window = f"start={quote(facts['window_start'])}&end={quote(facts['window_end'])}"
            consumed = await api.get(f"/api/v1/slos/api-availability/consumed?{window}")
            assert spend["slo"] == "api-availability"
            assert spend["bad_events"] == consumed["bad_events"] > 0, (spend, consumed)
            assert spend["total_events"] == consumed["total_events"]
            assert round(spend["consumed"], 2) == round(consumed["consumed"] * 100, 2)
            assert pm["required"] is (spend["consumed"] > 20)

            # the Markdown download is the same document
            async with http.get(f"{server.url}/api/v1/incidents/{iid}/postmortem.md", headers=server.headers) as r:
                assert r.status == 200
                assert "attachment" in r.headers["Content-Disposition"]
                assert await r.text() == text
