"""Incidents in the console: declare from an alert group by the form, the detail page, edits, a stale version, twins."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import aiohttp

from tests.acceptance.conftest import Api
from tests.acceptance.test_incidents_api import write_config
from tocsin.testing import running_server


async def test_incident_pages_and_forms(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "p.db")
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        alert = {"labels": {"alertname": "DBDown", "service": "db"}, "annotations": {"summary": "primary unreachable"}}
        await api.post("/api/v2/alerts", [alert])
        [group] = (await api.get("/api/v1/alerts/groups"))["groups"]
        key = group["key"]
        assert f"/incidents/new?group={quote(key, safe='')}" in await api.get(f"/alerts/group?key={quote(key)}")
        assert "No open incidents" in await api.get("/incidents")

        form = await api.get(f"/incidents/new?group={quote(key)}")
        assert 'value="primary unreachable"' in form
        assert 'name="group_key"' in form
        bad = await api.request("POST", "/incidents", data={"title": " ", "severity": "SEV2"}, expect=400)
        assert "give the incident a title" in bad
        bad = await api.request("POST", "/incidents", data={"title": "x", "group_key": "nope"}, expect=404)
        assert "no alert group with this key" in bad

        declared = {"title": "primary unreachable", "severity": "SEV2", "summary": "writes fail", "group_key": key}
        page = await api.request("POST", "/incidents", data=declared)  # 303 to the incident, followed
        [listed] = (await api.get("/incidents.json"))["open"]
        iid = listed["id"]
        assert (listed["severity"], listed["status"], listed["alert_groups"]) == ("SEV2", "investigating", [key])
        assert "linked alert group" in page
        assert f"/api/v1/incidents/{iid}/timeline.md" in page
        assert '<option value="identified" selected>' in page  # the next step forward is preselected
        assert '<option value="investigating">' not in page

        change = f"/incidents/{iid}/change"
        page = await api.request("POST", change, data={"version": "1", "status": "identified"})
        assert "status investigating → identified" in page
        assert page.index("status investigating → identified") < page.index("declared SEV2")  # newest first
        assert '<option value="monitoring" selected>' in page  # not the step back, which is listed first
        assert '<option value="investigating">back to investigating</option>' in page
        stale = await api.request("POST", change, data={"version": "1", "severity": "SEV1"}, expect=409)
        assert "Someone changed incident" in stale
        assert "version 2, not 1" in stale
        ghost = {"version": "2", "role": "commander", "user": "ghost"}
        assert "unknown user &#39;ghost&#39;" in await api.request("POST", change, data=ghost, expect=400)
        await api.request("POST", f"/incidents/{iid}/notes", data={"text": "failing over"})
        await api.request("POST", change, data={"version": "2", "status": "resolved"})

        twin = await api.get(f"/incidents/{iid}.json")
        assert twin == await api.get(f"/api/v1/incidents/{iid}")
        kinds = [e["kind"] for e in twin["timeline"] if e["kind"] in {"declared", "alert_group", "status", "note"}]
        assert kinds == ["declared", "alert_group", "status", "note", "status"]  # other features add entries too
        listing = await api.get("/incidents.json")
        assert (listing["open"], [i["id"] for i in listing["recent"]]) == ([], [iid])
        assert listing["recent"][0] == twin["incident"]
        assert "Recently resolved" in await api.get("/incidents")
        assert "reopen (investigating)" in await api.get(f"/incidents/{iid}")
        await api.request("GET", "/incidents/999", expect=404)

        actions = [e["action"] for e in (await api.get("/api/v1/audit?action=incident."))["entries"]]
        assert actions == ["incident.update", "incident.note", "incident.update", "incident.declare"]
