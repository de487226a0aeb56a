"""Incidents over the API on a real server: declare from an alert group, move, refuse, conflict, notes, export."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.acceptance.conftest import Api
from tocsin.incidents.cli import declare_command
from tocsin.testing import running_server

RECORD = {
    "declared",
    "alert_group",
    "status",
    "role",
    "notified",
    "severity",
    "note",
    "time",
    "impact",
    "title",
    "summary",
}


def write_config(path: Path, db: Path) -> None:
    config = {
        "storage": {"url": f"sqlite:///{db}"},
        "alerting": {
            "route": {"receiver": "nobody", "group_by": ["alertname"], "group_wait": "10s"},
            "receivers": [{"name": "nobody"}],
        },
    }
    path.write_text(yaml.safe_dump(config))


async def patch(api: Api, incident_id: int, body: dict[str, Any], expect: int = 200) -> Any:
    return await api.request("PATCH", f"/api/v1/incidents/{incident_id}", body, expect)


async def test_incident_lifecycle(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "i.db")
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        await api.post("/api/v2/alerts", [{"labels": {"alertname": "DBDown", "service": "db"}}])
        [group] = (await api.get("/api/v1/alerts/groups"))["groups"]
        await api.post("/api/v1/users", {"name": "bob", "role": "viewer"}, 201)

        body = {"title": "Database down", "severity": "sev2", "summary": "writes fail", "group_key": group["key"]}
        created = await api.post("/api/v1/incidents", body, 201)
        incident = created["incident"]
        iid = incident["id"]
        assert (incident["status"], incident["severity"], incident["version"]) == ("investigating", "SEV2", 1)
        assert incident["alert_groups"] == [group["key"]]
        assert [e["kind"] for e in created["timeline"]] == ["declared", "alert_group", "alert_fired"]
        await api.post("/api/v1/incidents", {**body, "group_key": "no-such-group"}, 404)
        await api.post("/api/v1/incidents", {**body, "severity": "SEV9"}, 400)

        moved = await patch(api, iid, {"version": 1, "status": "identified", "roles": {"commander": "bob"}})
        assert (moved["incident"]["status"], moved["incident"]["roles"]) == ("identified", {"commander": "bob"})
        assert moved["incident"]["version"] == 2
        stale = await patch(api, iid, {"version": 1, "severity": "SEV1"}, 409)
        assert "version 2" in stale["detail"]

        bad = await patch(api, iid, {"version": 2, "roles": {"commander": "nobody-here"}}, 400)
        assert "unknown user 'nobody-here'" in bad["detail"]
        bad = await patch(api, iid, {"version": 2, "roles": {"boss": "bob"}}, 400)
        assert "unknown role 'boss'" in bad["detail"]
        detected = moved["incident"]["times"]["detected"]
        bad = await patch(api, iid, {"version": 2, "times": {"impact_start": "2100-01-01T00:00:00Z"}}, 400)
        assert "in the future" in bad["detail"]
        assert detected is not None

        resolved = await patch(api, iid, {"version": 2, "status": "resolved", "severity": "SEV1"})
        assert resolved["incident"]["status"] == "resolved"
        assert resolved["incident"]["times"]["resolved"] is not None
        bad = await patch(api, iid, {"version": 3, "status": "monitoring"}, 400)
        assert "cannot go from resolved to monitoring" in bad["detail"]
        reopened = await patch(api, iid, {"version": 3, "status": "investigating"})
        assert reopened["incident"]["times"]["resolved"] is None

        await api.post(f"/api/v1/incidents/{iid}/notes", {"text": "failover | done"}, 201)
        await api.post("/api/v1/incidents/999/notes", {"text": "lost"}, 404)
        timeline = (await api.get(f"/api/v1/incidents/{iid}"))["timeline"]
        kinds = [e["kind"] for e in timeline if e["kind"] in RECORD]  # other features add entries of their own
        assert kinds == [
            "declared",
            "alert_group",
            "status",
            "role",
            "notified",
            "status",
            "severity",
            "status",
            "note",
        ]

        exported = await api.get(f"/api/v1/incidents/{iid}/timeline.md")
        assert exported.startswith(f"# Incident {iid}: Database down")
        assert "failover \\| done" in exported
        assert "**Commander:** bob" in exported

        listed = await api.get("/api/v1/incidents?status=investigating")
        assert [i["id"] for i in listed["incidents"]] == [iid]
        assert (await api.get("/api/v1/incidents?status=resolved"))["incidents"] == []

        audit = (await api.get("/api/v1/audit?action=incident."))["entries"]
        assert [e["action"] for e in audit] == ["incident.note"] + ["incident.update"] * 3 + ["incident.declare"]
        assert {e["target"] for e in audit} == {str(iid)}


async def test_cli_declares(tmp_path: Path, http: aiohttp.ClientSession, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "c.db")
    async with running_server(config) as server:
        token = server.headers["Authorization"].removeprefix("Bearer ")
        out = io.StringIO()
        body = {"title": "Checkout slow", "severity": "SEV2", "summary": "", "group_key": None}
        assert await asyncio.to_thread(declare_command, server.url, token, body, out) == 0
        assert out.getvalue().startswith("declared incident 1 (SEV2)")
        bad = {**body, "severity": "SEV7"}
        assert await asyncio.to_thread(declare_command, server.url, token, bad, io.StringIO()) == 1
        refusal = capsys.readouterr().err
        assert refusal.startswith("declare failed (400): unknown severity 'SEV7'"), refusal
        assert "{" not in refusal  # the reason, not the JSON body
        api = Api(server.url, http, server.headers)
        assert [i["title"] for i in (await api.get("/api/v1/incidents"))["incidents"]] == ["Checkout slow"]
