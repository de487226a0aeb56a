"""Declaring from a paged alert group, as a responder does it at 3 am.

The alert pages the on-call person, they acknowledge, then declare with one click on the group's
page: the incident's timeline starts with the alert, the page and the acknowledgement at the
times they happened. A second responder declaring the same group gets the first incident.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import aiohttp
import yaml

from tests.acceptance.conftest import Api, sign_in
from tests.acceptance.test_oncall_api import oncall_config
from tocsin.testing import running_server, webhook_sink

PASSWORD = "a long console password"


def write_config(path: Path, hook: str) -> None:
    config = {
        "storage": {"url": f"sqlite:///{path.parent / 'tocsin.db'}"},
        "alerting": {
            "route": {"receiver": "pager", "group_by": ["alertname"], "group_wait": "10s"},
            "receivers": [{"name": "pager", "service": "api"}],
        },
        "oncall": oncall_config(hook),
    }
    path.write_text(yaml.safe_dump(config))


async def test_one_click_declare_after_page_and_ack_backfills_the_timeline(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with webhook_sink() as sink:
        config = tmp_path / "tocsin.yaml"
        write_config(config, sink.url)
        async with running_server(config) as server:
            api = Api(server.url, http, server.headers)
            await api.post("/api/v1/users", {"name": "ada", "role": "responder", "password": PASSWORD}, 201)
            alert = {"labels": {"alertname": "ApiDown", "service": "api"}, "annotations": {"summary": "API is down"}}
            await api.post("/api/v2/alerts", [alert])
            await api.advance("11s")  # group_wait: the on-call person is paged
            await sink.wait_for(1, timeout=15)
            await api.advance("1m")
            [group] = (await api.get("/api/v1/alerts/groups"))["groups"]
            key = group["key"]

            ada = await sign_in(server.url, "ada", PASSWORD)
            try:
                status, page, _ = await ada.request("GET", f"/alerts/group?key={quote(key)}")
                assert status == 200
                assert 'name="quick" value="1"' in page  # the one-click form
                assert f"/incidents/new?group={quote(key, safe='')}" in page  # and the form with details
                status, _, _ = await ada.request("POST", f"/alerts/group/ack?key={quote(key)}", data={})
                assert status == 303
                status, _, location = await ada.request("POST", "/incidents", data={"quick": "1", "group_key": key})
                assert status == 303, location
                iid = int(location.rsplit("/", 1)[1])

                detail = await api.get(f"/api/v1/incidents/{iid}")
                incident = detail["incident"]
                assert (incident["title"], incident["severity"], incident["source"]) == (
                    "API is down",
                    "SEV3",  # the middle of SEV1-SEV4, as the declare form suggests
                    "alert_group",
                )
                assert incident["alert_groups"] == [key]

                async def backfilled() -> bool:
                    kinds = [e["kind"] for e in (await api.get(f"/api/v1/incidents/{iid}"))["timeline"]]
                    return "acknowledged" in kinds

                await api.until(backfilled)
                timeline = (await api.get(f"/api/v1/incidents/{iid}"))["timeline"]
                kinds = [e["kind"] for e in timeline]
                assert kinds == ["alert_fired", "notification", "declared", "alert_group", "acknowledged"]
                paged = timeline[1]
                assert paged["detail"]["receiver"].startswith("oncall:")
                assert paged["detail"]["outcome"] == "delivered"
                assert paged["at"] < timeline[2]["at"]  # at when it was sent, a minute before declaring
                assert timeline[4]["actor"] == "ada"
                assert incident["times"]["acknowledged"] == timeline[4]["at"]

                # a second responder declaring the same group is sent to the open incident
                body = {"title": "API down again", "severity": "SEV2", "group_key": key}
                refused = await api.post("/api/v1/incidents", body, 409)
                assert f"already linked to open incident {iid}" in refused["detail"]
                status, page, _ = await ada.request("POST", "/incidents", data={"quick": "1", "group_key": key})
                assert status == 409
                assert f'href="/incidents/{iid}"' in page
                status, page, _ = await ada.request("GET", f"/incidents/new?group={quote(key)}")
                assert "already part of open incident" in page
                assert 'action="/incidents"' not in page  # no form to declare a duplicate
                assert len((await api.get("/api/v1/incidents"))["incidents"]) == 1
                status, page, _ = await ada.request("GET", f"/alerts/group?key={quote(key)}")
                assert f'<a href="/incidents/{iid}">#{iid} API is down</a>' in page  # the group names its incident
                assert 'name="quick"' not in page  # and offers no second declaration

                # the pages and acknowledgement are not written twice by later refreshes
                await api.advance("30s")
                kinds = [e["kind"] for e in (await api.get(f"/api/v1/incidents/{iid}"))["timeline"]]
                assert kinds.count("notification") == 1
                assert kinds.count("acknowledged") == 1
            finally:
                await ada.close()
