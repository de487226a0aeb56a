"""Postmortems on a real server: drafted on resolve, edited with a version check (409 keeps your
text), reviewed and published, versions, Markdown download, the console page and its twin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from tests.acceptance.conftest import Api
from tests.acceptance.test_incidents_api import write_config
from tocsin.testing import running_server


async def declare_and_resolve(api: Api, group_key: str | None = None) -> int:
    body = {"title": "Database down", "severity": "SEV2", "summary": "writes fail", "group_key": group_key}
    iid: int = (await api.post("/api/v1/incidents", body, 201))["incident"]["id"]
    await api.request("PATCH", f"/api/v1/incidents/{iid}", {"version": 1, "status": "resolved"})
    return iid


async def put(api: Api, iid: int, version: int, body: str, expect: int = 200) -> Any:
    return await api.request("PUT", f"/api/v1/incidents/{iid}/postmortem", {"version": version, "body": body}, expect)


async def state(api: Api, iid: int, version: int, to: str, expect: int = 200) -> Any:
    return await api.post(f"/api/v1/incidents/{iid}/postmortem/state", {"version": version, "state": to}, expect)


async def test_postmortem_api(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "pm.db")
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        await api.post("/api/v2/alerts", [{"labels": {"alertname": "DBDown"}, "annotations": {"summary": "db gone"}}])
        [group] = (await api.get("/api/v1/alerts/groups"))["groups"]
        await api.advance("5m")
        iid = await declare_and_resolve(api, group["key"])

        pm = await api.get(f"/api/v1/incidents/{iid}/postmortem")
        assert (pm["state"], pm["version"], pm["updated_by"], pm["next_states"]) == (
            "draft",
            1,
            "tocsin",
            ["in_review"],
        )
        assert pm["facts"]["first_alert"]["alertname"] == "DBDown"
        assert pm["facts"]["first_alert"]["group_key"] == group["key"]
        assert "<h3>Contributing factors</h3>" in pm["html"]
        assert "tocsin:begin" in pm["body"]
        assert "tocsin:begin" not in pm["html"]
        await api.post(f"/api/v1/incidents/{iid}/postmortem", None, 409)  # drafted already

        ours = pm["body"].replace("- _A contributing factor_", "- the replica lagged <script>x</script>")
        saved = await put(api, iid, 1, ours)
        assert saved["version"] == 2
        assert "&lt;script&gt;" in saved["html"]
        stale = await put(api, iid, 1, pm["body"] + "\ntheirs", 409)
        assert "at version 2, not 1" in stale["detail"]
        assert (await api.get(f"/api/v1/incidents/{iid}/postmortem"))["body"] == ours
        assert "published" in (await state(api, iid, 2, "published", 400))["detail"]
        assert "unknown state" in (await state(api, iid, 2, "done", 400))["detail"]
        await state(api, iid, 2, "in_review")
        published = await state(api, iid, 3, "published")
        assert published["published_at"] is not None
        assert "read-only" in (await put(api, iid, 4, "new text", 400))["detail"]
        regenerate = f"/api/v1/incidents/{iid}/postmortem/regenerate"
        assert "in draft only" in (await api.post(regenerate, {"version": 4}, 400))["detail"]
        await state(api, iid, 4, "draft")
        refreshed = await api.post(regenerate, {"version": 5})
        assert (refreshed["skipped"], refreshed["postmortem"]["version"]) == ([], 6)
        assert "the replica lagged" in refreshed["postmortem"]["body"]

        versions = await api.get(f"/api/v1/incidents/{iid}/postmortem/versions")
        assert [(v["version"], v["state"]) for v in versions["versions"]] == [
            (6, "draft"),
            (5, "draft"),
            (4, "published"),
            (3, "in_review"),
            (2, "draft"),
            (1, "draft"),
        ]
        first = await api.get(f"/api/v1/incidents/{iid}/postmortem/versions/1")
        assert first["body"] == pm["body"]
        await api.get(f"/api/v1/incidents/{iid}/postmortem/versions/9", 404)

        async with http.get(f"{server.url}/api/v1/incidents/{iid}/postmortem.md", headers=server.headers) as resp:
            assert resp.status == 200
            assert resp.content_type == "text/markdown"
            assert resp.headers["Content-Disposition"] == f'attachment; filename="postmortem-incident-{iid}-v6.md"'
            assert (await resp.text()).startswith("# Postmortem: Database down")

        listed = await api.get("/api/v1/postmortems?state=draft")
        assert [(p["incident_id"], p["state"]) for p in listed["postmortems"]] == [(iid, "draft")]
        assert (await api.get("/api/v1/postmortems?state=published"))["postmortems"] == []
        await api.get("/api/v1/postmortems?state=lost", 422)
        kinds = [
            e["text"] for e in (await api.get(f"/api/v1/incidents/{iid}"))["timeline"] if e["kind"] == "postmortem"
        ]
        assert kinds == [
            "postmortem drafted",
            "postmortem draft → in review",
            "postmortem in review → published",
            "postmortem published → draft",
        ]
        audit = [e["action"] for e in (await api.get("/api/v1/audit?action=postmortem."))["entries"]]
        assert audit == [
            "postmortem.regenerate",
            "postmortem.state",
            "postmortem.state",
            "postmortem.state",
            "postmortem.update",
            "postmortem.create",
        ]

        open_ = (await api.post("/api/v1/incidents", {"title": "open", "severity": "SEV3"}, 201))["incident"]["id"]
        assert "resolved" in (await api.post(f"/api/v1/incidents/{open_}/postmortem", None, 400))["detail"]
        assert "no postmortem yet" in (await api.get(f"/api/v1/incidents/{open_}/postmortem", 404))["detail"]
        await api.get("/api/v1/incidents/999/postmortem", 404)


async def test_postmortem_console(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "pmc.db")
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        body = {"title": "Queue stuck", "severity": "SEV3"}
        iid = (await api.post("/api/v1/incidents", body, 201))["incident"]["id"]
        page = await api.get(f"/incidents/{iid}/postmortem")
        assert "no postmortem yet" in page
        assert "resolve it first" in page
        assert (await api.get(f"/incidents/{iid}/postmortem.json"))["postmortem"] is None
        await api.request("PATCH", f"/api/v1/incidents/{iid}", {"version": 1, "status": "resolved"})

        twin = await api.get(f"/incidents/{iid}/postmortem.json")
        pm = twin["postmortem"]
        assert pm == await api.get(f"/api/v1/incidents/{iid}/postmortem")
        assert [v["version"] for v in twin["versions"]] == [1]
        page = await api.get(f"/incidents/{iid}/postmortem")
        assert "<h3>Contributing factors</h3>" in page
        assert f"/api/v1/incidents/{iid}/postmortem.md" in page
        assert "Ask for review" in page

        edit = f"/incidents/{iid}/postmortem/edit"
        mine = pm["body"] + "\n## Appendix\n\nthe consumer *died*\n"
        preview = await api.request("POST", edit, data={"version": "1", "body": mine, "action": "preview"})
        assert "<em>died</em>" in preview  # rendered, not saved
        assert (await api.get(f"/api/v1/incidents/{iid}/postmortem"))["version"] == 1
        saved = await api.request("POST", edit, data={"version": "1", "body": mine, "action": "save"})  # 303, followed
        assert "<em>died</em>" in saved
        theirs = pm["body"] + "\nsomeone else's words\n"
        conflict = await api.request("POST", edit, data={"version": "1", "body": theirs, "action": "save"}, expect=409)
        assert "at version 2, not 1" in conflict
        assert "someone else&#39;s words" in conflict  # your text is still in the edit box
        assert (await api.get(f"/api/v1/incidents/{iid}/postmortem"))["body"] == mine

        moved = await api.request(
            "POST", f"/incidents/{iid}/postmortem/state", data={"version": "2", "state": "in_review"}
        )
        assert "Publish" in moved
        stale = await api.request(
            "POST", f"/incidents/{iid}/postmortem/state", data={"version": "2", "state": "published"}, expect=409
        )
        assert "at version 3, not 2" in stale
        version = await api.get(f"/incidents/{iid}/postmortem/versions/2")
        assert "<em>died</em>" in version
        assert (await api.get(f"/incidents/{iid}/postmortem/versions/2.json"))["body"] == mine
        await api.request("GET", "/incidents/999/postmortem", expect=404)
