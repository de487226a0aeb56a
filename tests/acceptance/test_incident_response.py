"""The incident record on a real server: configured severities and roles, impacts, role notices, timeline
edits and exports, follow-up actions (overdue on the overview) and the actions webhook, including retries."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml

from tests.acceptance.conftest import Api
from tocsin.testing import running_server, webhook_sink


def write_config(path: Path, db: Path, people: str, actions: str) -> None:
    config: dict[str, Any] = {
        "server": {"external_url": "https://ops.example.com"},
        "storage": {"url": f"sqlite:///{db}"},
        "monitors": [{"name": "api-hb", "kind": "heartbeat", "period": "1h", "labels": {"service": "api"}}],
        "status_pages": [
            {"slug": "public", "title": "Example", "components": [{"name": "API", "monitors": ["api-hb"]}]}
        ],
        "oncall": {
            "users": [
                {
                    "name": "alice",
                    "contact_methods": [{"kind": "webhook", "name": "hook", "url": people}],
                    "notification_rules": {"high": [{"contact_method": "hook"}]},
                }
            ]
        },
        "incidents": {
            "severities": [
                {"name": "P1", "description": "all hands"},
                {"name": "P2", "description": "some customers"},
                {"name": "P3", "description": "cosmetic"},
            ],
            "roles": [{"name": "commander", "description": "decides"}, {"name": "liaison", "description": "talks"}],
            "actions_webhook": {"url": actions, "headers": {"X-Team": "sre"}},
        },
    }
    path.write_text(yaml.safe_dump(config))


async def patch(api: Api, path: str, body: dict[str, Any], expect: int = 200) -> Any:
    return await api.request("PATCH", path, body, expect)


async def test_record_roles_impacts_and_timeline(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with webhook_sink() as people, webhook_sink() as actions:
        config = tmp_path / "tocsin.yaml"
        write_config(config, tmp_path / "r.db", people.url, actions.url)
        async with running_server(config) as server:
            api = Api(server.url, http, server.headers)
            bad = await api.post("/api/v1/incidents", {"title": "x", "severity": "SEV1"}, 400)
            assert "unknown severity 'SEV1'; use one of P1 (all hands), P2 (some customers)" in bad["detail"]
            created = await api.post(
                "/api/v1/incidents", {"title": "API errors", "severity": "p2", "source": "cli"}, 201
            )
            i = created["incident"]
            iid, path = i["id"], f"/api/v1/incidents/{i['id']}"
            assert (i["severity"], i["severity_description"], i["severity_rank"], i["source"]) == (
                "P2",
                "some customers",
                1,
                "cli",
            )

            # roles: configured ones only, known users only; the new holder is told through the outbox
            bad = await patch(api, path, {"version": 1, "roles": {"scribe": "alice"}}, 400)
            assert "unknown role 'scribe'; use one of commander (decides), liaison (talks)" in bad["detail"]
            await patch(api, path, {"version": 1, "roles": {"commander": "ghost"}}, 400)
            moved = await patch(api, path, {"version": 1, "roles": {"commander": "alice"}})
            [sent] = await people.wait_for(1)
            body = orjson.loads(sent["body"])
            assert body["receiver"] == "oncall:alice"
            assert (
                body["alerts"][0]["annotations"]["summary"] == f"You are commander of incident #{iid} (P2): API errors"
            )
            assert body["links"] == {"Open": f"https://ops.example.com/incidents/{iid}"}
            timeline = (await api.get(path))["timeline"]
            assert "notified alice (commander) through 1 contact method" in [e["text"] for e in timeline]

            # title, summary and impacts, validated against what tocsin knows
            v = moved["incident"]["version"]
            impacts = [
                {"kind": "component", "page": "public", "name": "API", "impact": "major_outage"},
                {"kind": "service", "name": "api", "impact": "partial_outage"},
            ]
            bad = await patch(api, path, {"version": v, "impacts": [{**impacts[0], "name": "Auth"}]}, 400)
            assert "status page 'public' has no component 'Auth'; known: API" in bad["detail"]
            bad = await patch(api, path, {"version": v, "impacts": [{**impacts[1], "name": "billing"}]}, 400)
            assert "no service 'billing'; known: api" in bad["detail"]
            bad = await patch(api, path, {"version": v, "impacts": [{**impacts[1], "impact": "down"}]}, 400)
            assert "is not one of degraded_performance" in bad["detail"]
            edited = await patch(api, path, {"version": v, "title": "API 5xx", "summary": "LB", "impacts": impacts})
            record = edited["incident"]
            assert (record["title"], record["summary"]) == ("API 5xx", "LB")
            assert sorted((x["kind"], x["page"], x["name"], x["impact"]) for x in record["impacts"]) == [
                ("component", "public", "API", "major_outage"),
                ("service", "", "api", "partial_outage"),
            ]
            texts = [e["text"] for e in edited["timeline"]]
            assert "component public/API: major outage" in texts
            assert "service api: partial outage" in texts
            detected = datetime.fromisoformat(record["times"]["detected"])
            early = (detected + timedelta(minutes=-10)).isoformat()
            late = (detected + timedelta(minutes=5)).isoformat()
            await api.advance("30m")
            bad = await patch(api, path, {"version": record["version"], "times": {"impact_start": late}}, 400)
            assert "is before impact_start" in bad["detail"]
            await patch(api, path, {"version": record["version"], "times": {"impact_start": early}})

            # timeline: pin, hide, reword with history; exports follow
            entries = (await api.get(f"{path}/timeline.json"))["timeline"]
            note = (await api.post(f"{path}/notes", {"text": "rolled back"}, 201))["timeline"][-1]
            declared = entries[0]
            pinned = await patch(api, f"{path}/timeline/{note['id']}", {"pinned": True, "text": "rolled back v42"})
            assert (pinned["pinned"], pinned["text"], pinned["history"][0]["text"]) == (
                True,
                "rolled back v42",
                "rolled back",
            )
            await patch(api, f"{path}/timeline/{declared['id']}", {"hidden": True})
            await patch(api, f"{path}/timeline/999999", {"hidden": True}, 404)
            await patch(api, f"{path}/timeline/{note['id']}", {}, 400)
            shown = [e["id"] for e in (await api.get(f"{path}/timeline.json"))["timeline"]]
            assert declared["id"] not in shown
            assert note["id"] in shown
            assert declared["id"] in [e["id"] for e in (await api.get(f"{path}/timeline.json?all=1"))["timeline"]]
            md = await api.get(f"{path}/timeline.md")
            assert "📌 rolled back v42" in md
            assert "declared P2" not in md
            assert "(hidden) declared P2" in await api.get(f"{path}/timeline.md?all=1")
            assert "**Affected component public/API:** major outage" in md


async def test_actions_overdue_and_webhook_export(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with webhook_sink() as people, webhook_sink() as sink:
        config = tmp_path / "tocsin.yaml"
        write_config(config, tmp_path / "a.db", people.url, sink.url)
        sink.status = 503  # the ticket service is down at first
        async with running_server(config) as server:
            api = Api(server.url, http, server.headers)
            i = (await api.post("/api/v1/incidents", {"title": "DB down", "severity": "P1"}, 201))["incident"]
            path = f"/api/v1/incidents/{i['id']}/actions"
            due = (datetime.fromisoformat(i["created_at"]) + timedelta(hours=1)).isoformat()
            bad = await api.post(path, {"title": "x", "owner": "ghost"}, 400)
            assert "owner: unknown user 'ghost'" in bad["detail"]
            assert "kind: 'fix' is not one of" in (await api.post(path, {"title": "x", "kind": "fix"}, 400))["detail"]
            await api.post("/api/v1/incidents/999999/actions", {"title": "x"}, 404)
            action = await api.post(
                path, {"title": "alert on lag", "owner": "alice", "kind": "detect", "due": due}, 201
            )
            assert (action["status"], action["overdue"], action["exported"]) == ("open", False, False)

            [first] = await sink.wait_for(1)  # refused: retried later with backoff
            assert first["headers"]["X-Team"] == "sre"
            key = first["headers"]["Idempotency-Key"]
            sent = orjson.loads(first["body"])
            assert (sent["event"], sent["action"]["title"], sent["incident"]["severity"]) == (
                "created",
                "alert on lag",
                "P1",
            )
            assert sent["incident"]["url"] == f"https://ops.example.com/incidents/{i['id']}"

            sink.status = 200
            await api.advance("2h")  # past the backoff, and past the due date
            second = (await sink.wait_for(2))[1]
            assert second["headers"]["Idempotency-Key"] == key  # the same change: the same key
            metrics = await api.get("/metrics")
            assert 'tocsin_incident_action_export_failures_total{reason="status"} 1.0' in metrics

            overdue = (await api.get("/api/v1/actions?overdue=true"))["actions"]
            assert [(a["id"], a["overdue"], a["exported"]) for a in overdue] == [(action["id"], True, True)]
            section = {s["key"]: s for s in (await api.get("/overview.json"))["sections"]}["overdue_actions"]
            assert [item["title"] for item in section["items"]] == ["alert on lag"]

            done = await patch(api, f"{path}/{action['id']}", {"status": "done", "owner": None})
            assert (done["status"], done["owner"], done["overdue"]) == ("done", None, False)
            third = (await sink.wait_for(3))[2]
            update = orjson.loads(third["body"])
            assert (update["event"], update["action"]["status"]) == ("updated", "done")
            assert third["headers"]["Idempotency-Key"] != key
            assert (await api.get("/api/v1/actions?overdue=true"))["actions"] == []
            assert [a["id"] for a in (await api.get("/api/v1/actions?status=done"))["actions"]] == [action["id"]]
            await patch(api, f"{path}/{action['id']}", {"status": "closed"}, 400)
            await patch(api, f"{path}/999999", {"status": "done"}, 404)
            kinds = [
                e["text"] for e in (await api.get(f"/api/v1/incidents/{i['id']}"))["timeline"] if e["kind"] == "action"
            ]
            assert kinds[0].startswith("action: alert on lag (detect, owner alice)")
            assert "status open → done" in kinds[1]
        assert len(sink.requests) == 3  # nothing sent twice once accepted


async def test_console_forms(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with webhook_sink() as people, webhook_sink() as sink:
        config = tmp_path / "tocsin.yaml"
        write_config(config, tmp_path / "c.db", people.url, sink.url)
        async with running_server(config) as server:
            api = Api(server.url, http, server.headers)
            assert 'value="P2" selected' in await api.get("/incidents/new")  # the middle level by default
            await api.request("POST", "/incidents", data={"title": "API errors", "severity": "P1"})
            [listed] = (await api.get("/incidents.json"))["open"]
            iid, page = listed["id"], f"/incidents/{listed['id']}"
            assert listed["source"] == "console"
            html = await api.get(page)
            assert f'href="/incidents/{iid}/updates"' in html
            assert f'href="/incidents/{iid}/postmortem"' in html

            await api.request(
                "POST",
                f"{page}/impacts",
                data={"version": "1", "target": "component:public/API", "impact": "major_outage"},
            )
            edit = {"version": "2", "title": "API 5xx", "summary": "LB", "impact_start": "2000-01-01T00:00:00"}
            await api.request("POST", f"{page}/edit", data=edit)
            stale = await api.request("POST", f"{page}/edit", data={**edit, "title": "again"}, expect=409)
            assert "Someone changed incident" in stale
            future = {**edit, "version": "3", "acknowledged": "2999-01-01T00:00:00"}
            assert "is in the future" in await api.request("POST", f"{page}/edit", data=future, expect=400)
            record = (await api.get(f"{page}.json"))["incident"]
            assert (record["title"], record["summary"], record["impacts"][0]["name"]) == ("API 5xx", "LB", "API")
            assert record["times"]["impact_start"].startswith("2000-01-01T00:00:00")

            note = (await api.post(f"/api/v1/incidents/{iid}/notes", {"text": "rolled back"}, 201))["timeline"][-1]
            await api.request("POST", f"{page}/timeline/{note['id']}", data={"op": "pin"})
            await api.request("POST", f"{page}/timeline/{note['id']}", data={"op": "text", "text": "rolled back v42"})
            [entry] = [e for e in (await api.get(f"{page}.json"))["timeline"] if e["id"] == note["id"]]
            assert (entry["pinned"], entry["text"], len(entry["history"])) == (True, "rolled back v42", 1)

            form = {"title": "alert on lag", "kind": "detect", "owner": "alice", "due": "2000-01-02T00:00:00"}
            await api.request("POST", f"{page}/actions", data=form)
            assert "unknown user &#39;ghost&#39;" in await api.request(
                "POST", f"{page}/actions", data={**form, "owner": "ghost"}, expect=400
            )
            [action] = (await api.get(f"{page}.json"))["actions"]
            assert action["overdue"] is True
            overview = await api.get("/")
            assert "Overdue follow-up actions" in overview
            assert "alert on lag" in overview
            await api.request(
                "POST", f"{page}/actions/{action['id']}", data={"status": "in_progress", "owner": "", "due": ""}
            )
            [action] = (await api.get(f"{page}.json"))["actions"]
            assert (action["status"], action["owner"], action["due"]) == ("in_progress", None, None)
