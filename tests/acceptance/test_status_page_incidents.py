"""Status pages on a real server: incidents and their public updates, history, Statuspage JSON shapes, hand-set
components, custom domains, themes, and console pages through the API and the forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.acceptance.conftest import Api, sign_in
from tocsin.statuspage.history import months_of
from tocsin.store.incident_response_tables import incident_impacts, incident_updates
from tocsin.store.incident_tables import incidents
from tocsin.store.store import Store
from tocsin.store.times import to_ms
from tocsin.testing import running_server

INTERNAL = "internal only: the database failover script is broken"
DOMAIN = "status.acme.test"
PASSWORD = "a long enough password"
NOW = datetime.now(UTC)  # the server's test clock starts at the real time; the seed is dated around it
LAST_MONTH = months_of(NOW, 1)[1]
OLD_MONTH = months_of(NOW, 2)[2]  # on the second history page
T = {
    "open": NOW - timedelta(hours=2),
    "last-month": datetime(*LAST_MONTH, 15, 10, tzinfo=UTC),
    "old": datetime(*OLD_MONTH, 10, 10, tzinfo=UTC),
    "maintenance-done": NOW - timedelta(days=3),
}


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def at(when: datetime, minutes: int = 0) -> int:
    return to_ms(when + timedelta(minutes=minutes))


def window(name: str, start: datetime, length: timedelta) -> dict[str, Any]:
    return {"name": name, "monitors": ["db"], "start": iso(start), "end": iso(start + length)}


def write_config(path: Path, db: Path) -> None:
    config = {
        "storage": {"url": f"sqlite:///{db}"},
        "monitors": [
            {"name": "api", "kind": "heartbeat", "period": "1h"},
            {"name": "db", "kind": "heartbeat", "period": "1h"},
        ],
        "maintenance": [
            window("db-upgrade", T["maintenance-done"], timedelta(hours=2)),
            window("db-future", NOW + timedelta(days=4), timedelta(hours=2)),
            window("db-now", NOW - timedelta(hours=1), timedelta(hours=6)),
        ],
        "status_pages": [
            {
                "slug": "acme",
                "title": "Acme Cloud",
                "custom_domain": DOMAIN,
                "theme": "dark",
                "logo": "/static/favicon.svg",
                "components": [
                    {"name": "API", "group": "Core", "monitors": ["api"]},
                    {"name": "Database", "group": "Core", "monitors": ["db"]},
                    {"name": "Support desk"},
                ],
            },
            {"slug": "other", "title": "Other", "components": [{"name": "Mail"}]},
        ],
    }
    path.write_text(yaml.safe_dump(config))


def _incident(n: int, title: str, status: str, created: datetime, resolved: datetime | None = None) -> dict[str, Any]:
    row = {"id": n, "title": title, "severity": "SEV2", "status": status, "summary": "internal summary"}
    row |= {"version": 1, "created_by": "ada", "created_at_ms": at(created), "updated_at_ms": at(created)}
    return row | {"resolved_ms": at(resolved) if resolved else None}


def _update(n: int, incident: int, when: int, body: str, status: str, **extra: Any) -> dict[str, Any]:
    row = {"id": n, "incident_id": incident, "at_ms": when, "actor": "ada", "audience": "public", "status": status}
    return row | {"body": body, "pages": ["acme"], "components": {}} | extra


async def seed(db: Path) -> None:
    """Incidents as the incident API writes them: open, resolved in December, resolved in September, elsewhere."""

    async def job(conn: AsyncConnection) -> None:
        await conn.execute(
            insert(incidents),
            [
                _incident(1, "API errors", "identified", T["open"]),
                _incident(2, "Slow logins", "resolved", T["last-month"], T["last-month"] + timedelta(hours=2)),
                _incident(3, "Old outage", "resolved", T["old"], T["old"] + timedelta(hours=1)),
                _incident(4, "Other page only", "investigating", T["open"]),
            ],
        )
        impacts = [(1, "acme", "API", "major_outage"), (2, "acme", "API", "degraded_performance")]
        impacts += [(3, "acme", "Database", "partial_outage")]
        impacts += [(4, "other", "Mail", "partial_outage")]
        rows = [{"incident_id": i, "kind": "component", "page": p, "name": n, "impact": v} for i, p, n, v in impacts]
        await conn.execute(insert(incident_impacts), rows)
        await conn.execute(
            insert(incident_updates),
            [
                _update(1, 1, at(T["open"], 5), "We are investigating API errors.", "investigating"),
                _update(2, 1, at(T["open"], 30), "A bad deploy; rolling back.", "identified"),
                _update(3, 1, at(T["open"], 40), INTERNAL, "identified", audience="internal"),
                _update(4, 2, at(T["last-month"], 120), "Logins are fast again.", "resolved"),
                _update(5, 3, at(T["old"], 60), "Fixed.", "resolved", pages=[]),  # no page: shown where it has impact
                _update(6, 4, at(T["open"], 1), "Mail is slow.", "investigating", pages=["other"]),
            ],
        )

    store = await Store.open(f"sqlite:///{db}")
    try:
        await store.writer.run(job)
    finally:
        await store.close()


PAGE = {"id", "name", "url", "time_zone", "updated_at"}
INCIDENT = {"id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact", "shortlink"}
INCIDENT |= {"started_at", "page_id", "incident_updates", "components"}
UPDATE = {"id", "status", "body", "incident_id", "created_at", "updated_at", "display_at", "affected_components"}
MAINTENANCE = INCIDENT | {"scheduled_for", "scheduled_until"}
COMPONENT = {"id", "name", "status", "created_at", "updated_at", "position", "description", "showcase", "start_date"}
COMPONENT |= {"group_id", "page_id", "group", "only_show_if_degraded"}


def assert_incident(i: dict[str, Any]) -> None:
    assert set(i) == INCIDENT, set(i) ^ INCIDENT
    assert i["impact"] in ("none", "minor", "major", "critical")
    assert i["status"] in ("investigating", "identified", "monitoring", "resolved")
    for u in i["incident_updates"]:
        assert set(u) == UPDATE, set(u) ^ UPDATE
        assert u["incident_id"] == i["id"]
        assert u["affected_components"] is None or all(
            set(a) == {"code", "name", "old_status", "new_status"} for a in u["affected_components"]
        )
    for c in i["components"]:
        assert set(c) == COMPONENT, set(c) ^ COMPONENT


def assert_maintenance(m: dict[str, Any], status: str) -> None:
    assert set(m) == MAINTENANCE, set(m) ^ MAINTENANCE
    assert m["status"] == status
    assert m["impact"] == "maintenance"
    assert [c["name"] for c in m["components"]] == ["Database"]


async def assert_statuspage_json(api: Api) -> None:
    root = "/status/acme/api/v2/"
    unresolved = await api.get(root + "incidents/unresolved.json")
    assert set(unresolved) == {"page", "incidents"}
    assert set(unresolved["page"]) == PAGE
    [current] = unresolved["incidents"]
    assert_incident(current)
    assert (current["name"], current["status"], current["impact"]) == ("API errors", "identified", "critical")
    assert [u["body"] for u in current["incident_updates"]] == [
        "A bad deploy; rolling back.",
        "We are investigating API errors.",
    ]
    assert current["incident_updates"][1]["affected_components"] is None
    assert [c["name"] for c in current["components"]] == ["API"]
    listed = await api.get(root + "incidents.json")
    assert [i["name"] for i in listed["incidents"]] == ["API errors", "Slow logins"]  # the last 90 days, newest first
    for i in listed["incidents"]:
        assert_incident(i)
    resolved = listed["incidents"][1]
    assert resolved["resolved_at"].startswith((T["last-month"] + timedelta(hours=2)).isoformat()[:16])
    summary = await api.get(root + "summary.json")
    assert [i["id"] for i in summary["incidents"]] == [current["id"]]
    assert {m["status"] for m in summary["scheduled_maintenances"]} == {"in_progress", "scheduled"}
    every = await api.get(root + "scheduled-maintenances.json")
    assert [m["status"] for m in every["scheduled_maintenances"]] == ["in_progress", "scheduled", "completed"]
    for path, status in (("upcoming", "scheduled"), ("active", "in_progress")):
        [m] = (await api.get(f"{root}scheduled-maintenances/{path}.json"))["scheduled_maintenances"]
        assert_maintenance(m, status)
    assert_maintenance(every["scheduled_maintenances"][2], "completed")


async def assert_history(api: Api) -> None:
    first = await api.get("/status/acme/history.json")
    assert (first["page"], first["pages"]) == (1, 2)
    assert [m["month"] for m in first["months"]] == [f"{y:04d}-{m:02d}" for y, m in months_of(NOW, 1)]
    assert [i["name"] for m in first["months"] for i in m["incidents"]] == ["API errors", "Slow logins"]
    assert [w["name"] for m in first["months"] for w in m["maintenances"]] == ["db-upgrade"]  # completed only
    second = await api.get("/status/acme/history.json?page=2")
    assert [i["name"] for m in second["months"] for i in m["incidents"]] == ["Old outage"]
    assert second["months"][2]["incidents"][0]["updates"][0]["body"] == "Fixed."
    html = await api.get("/status/acme/history?page=2")
    assert "Old outage" in html
    assert 'href="/status/acme/history?page=1"' in html
    await api.get("/status/acme/history?page=3", expect=404)
    await api.get("/status/acme/history?page=0", expect=422)


async def test_incidents_history_and_hand_set_components(tmp_path: Path) -> None:
    write_config(tmp_path / "tocsin.yaml", tmp_path / "s.db")
    await seed(tmp_path / "s.db")
    async with running_server(tmp_path / "tocsin.yaml") as server, aiohttp.ClientSession() as http:
        public, admin = Api(server.url, http), Api(server.url, http, server.headers)
        view = await public.get("/status/acme.json")
        statuses = {c["name"]: c["status"] for c in view["components"]}
        assert statuses == {"API": "major_outage", "Database": "under_maintenance", "Support desk": "operational"}
        assert view["indicator"] == "critical"  # the open incident's impact
        assert [i["name"] for i in view["incidents"]] == ["API errors"]
        assert view["components"][2]["bars"] == []
        assert view["components"][2]["monitored"] is False
        bars = view["components"][0]["bars"]
        assert {b["incidents"][0]["name"] for b in bars if b["incidents"]} == {"Slow logins", "API errors"}
        await assert_statuspage_json(public)
        await assert_history(public)
        for path in ("/status/acme", "/status/acme.json", "/status/acme/feed.atom", "/status/acme/history?page=2"):
            assert INTERNAL not in str(await public.get(path)), path
            assert "Other page only" not in str(await public.get(path)), path
        html = await public.get("/status/acme")
        assert 'id="incident-1"' in html
        assert "A bad deploy; rolling back." in html
        assert 'href="/status/acme/history?page=1#incident-2"' in html  # a day's bar leads to its incident
        assert 'alt="Acme Cloud logo"' in html
        assert 'data-theme="dark"' in html
        atom = await public.get("/status/acme/feed.atom")
        assert "API errors: identified" in atom
        assert "Maintenance completed: db-upgrade" in atom

        component = "/api/v1/status-pages/acme/components/Support%20desk/status"
        await public.request("PUT", component, {"status": "partial_outage"}, expect=401)
        await admin.request("PUT", component, {"status": "partial_outage"}, expect=204)
        await admin.request("PUT", "/api/v1/status-pages/acme/components/API/status", {"status": "operational"}, 204)
        view = await public.get("/status/acme.json")
        statuses = {c["name"]: c["status"] for c in view["components"]}
        assert statuses["Support desk"] == "partial_outage"  # hand-set
        assert statuses["API"] == "major_outage"  # the override replaces the monitor, but the open incident is worse
        detail = await admin.get("/api/v1/status-pages/acme")
        assert [(o["component"], o["status"]) for o in detail["overrides"]] == [
            ("API", "operational"),
            ("Support desk", "partial_outage"),
        ]
        bad = await admin.request("PUT", component, {"status": "broken"}, expect=422)
        assert "major_outage" in bad["errors"][0]["message"]
        await admin.request("PUT", "/api/v1/status-pages/acme/components/Nope/status", {"status": "operational"}, 404)
        await admin.request("DELETE", component, expect=204)
        view = await public.get("/status/acme.json")
        assert view["components"][2]["status"] == "operational"


async def test_custom_domain_serves_only_its_page(tmp_path: Path) -> None:
    write_config(tmp_path / "tocsin.yaml", tmp_path / "s.db")
    async with running_server(tmp_path / "tocsin.yaml") as server, aiohttp.ClientSession() as http:

        async def get(path: str, host: str, **headers: str) -> tuple[int, str]:
            async with http.get(server.url + path, headers={"Host": host, **headers}) as resp:
                return resp.status, await resp.text()

        status, html = await get("/", "Status.Acme.Test:443")
        assert status == 200
        assert "<h1>Acme Cloud</h1>" in html
        assert 'href="/history"' in html
        assert 'href="/api/v2/summary.json"' in html
        assert (await get("/api/v2/summary.json", DOMAIN))[0] == 200
        assert '"API errors"' not in (await get("/api/v2/incidents.json", DOMAIN))[1]
        assert (await get("/history", DOMAIN))[0] == 200
        assert (await get("/index.json", DOMAIN))[0] == 200
        assert (await get("/badge/status.svg", DOMAIN))[0] == 200
        for hidden in ("/monitors", "/api/v1/status-pages", "/status/other", "/login", "/metrics"):
            status, _ = await get(hidden, DOMAIN, Authorization=f"Bearer {server.token}")
            assert status == 404, hidden
        summary = await Api(server.url, http).get("/status/acme/api/v2/summary.json")
        assert summary["page"]["url"] == f"https://{DOMAIN}"  # its public address
        async with http.get(server.url + "/", allow_redirects=False) as resp:
            assert resp.status == 303  # any other host: the console, which wants a sign-in


async def test_console_pages(tmp_path: Path) -> None:
    write_config(tmp_path / "tocsin.yaml", tmp_path / "s.db")
    async with running_server(tmp_path / "tocsin.yaml") as server, aiohttp.ClientSession() as http:
        admin, public = Api(server.url, http, server.headers), Api(server.url, http)
        spec = {"slug": "beta", "title": "Beta", "components": [{"name": "API", "monitors": ["api"]}, {"name": "Docs"}]}
        created = await admin.post("/api/v1/status-pages", spec, 201)
        assert (created["source"], created["version"]) == ("console", 1)
        assert (await public.get("/status/beta.json"))["title"] == "Beta"
        listed = await admin.get("/api/v1/status-pages")
        assert [(p["slug"], p["source"]) for p in listed["pages"]] == [
            ("acme", "config"),
            ("other", "config"),
            ("beta", "console"),
        ]
        location = listed["pages"][0]["location"]
        assert "tocsin.yaml:" in location
        await admin.post("/api/v1/status-pages", spec, 409)  # taken
        conflict = await admin.post("/api/v1/status-pages", spec | {"slug": "acme"}, 409)
        assert location in conflict["detail"]
        unknown = await admin.post(
            "/api/v1/status-pages", spec | {"slug": "x", "components": [{"name": "A", "monitors": ["nope"]}]}, 400
        )
        assert unknown["errors"] == [
            {"field": "components.0.monitors.0", "message": "no monitor is called 'nope'", "type": "value_error"}
        ]
        await admin.post("/api/v1/status-pages", {"slug": "Bad Slug", "title": "x"}, 422)
        await admin.post("/api/v1/status-pages", spec | {"slug": "dup", "custom_domain": DOMAIN}, 409)
        changed = await admin.request("PUT", "/api/v1/status-pages/beta", spec | {"title": "Beta 2", "version": 1})
        assert (changed["version"], changed["spec"]["title"]) == (2, "Beta 2")
        stale = await admin.request("PUT", "/api/v1/status-pages/beta", spec | {"version": 1}, expect=409)
        assert "version 2, not 1" in stale["detail"]
        await admin.request("PUT", "/api/v1/status-pages/beta", spec, expect=422)  # no version
        config_page = await admin.request("PUT", "/api/v1/status-pages/acme", spec | {"version": 1}, expect=409)
        assert location in config_page["detail"]
        await admin.request("DELETE", "/api/v1/status-pages/acme", expect=409)
        assert (await public.get("/status/beta.json"))["title"] == "Beta 2"
        await admin.request("DELETE", "/api/v1/status-pages/beta", expect=204)
        await public.get("/status/beta.json", expect=404)
        await admin.post("/api/v1/users", {"name": "ada", "role": "responder", "password": PASSWORD}, 201)
        await console_forms(server.url, location)


async def console_forms(base: str, location: str) -> None:
    """Create a page, set a component by hand and edit the page through the forms, as a browser without JavaScript."""
    browser = await sign_in(base, "ada", PASSWORD)
    try:
        status, html, _ = await browser.request("GET", "/status-pages")
        assert status == 200
        assert location in html
        assert "config file" in html
        form = {"csrf": browser.csrf, "slug": "gamma", "title": "Gamma", "theme": "light"}
        form["components"] = "Core / API: api\nDesk"
        status, _, location = await browser.request("POST", "/status-pages", data=form)
        assert (status, location) == (303, "/status-pages/gamma")
        bad = form | {"slug": "delta", "components": "A: nope"}
        status, html, _ = await browser.request("POST", "/status-pages", data=bad)
        assert status == 400
        assert "no monitor is called &#39;nope&#39;" in html
        override = {"csrf": browser.csrf, "component": "Desk", "status": "degraded_performance"}
        status, _, _ = await browser.request("POST", "/status-pages/gamma/components", data=override)
        assert status == 303
        _, page, _ = await browser.request("GET", "/status/gamma.json")
        assert '"status":"degraded_performance"' in page.replace(" ", "")
        status, html, _ = await browser.request("GET", "/status-pages/gamma/edit")
        assert status == 200
        assert "Core / API: api" in html
        edit = {
            "csrf": browser.csrf,
            "title": "Gamma 2",
            "theme": "dark",
            "components": "Core / API: api\nDesk",
            "version": "1",
        }
        status, _, _ = await browser.request("POST", "/status-pages/gamma/edit", data=edit)
        assert status == 303
        status, html, _ = await browser.request("POST", "/status-pages/gamma/edit", data=edit)
        assert status == 409
        assert "Reload the edit form" in html
        status, _, _ = await browser.request("POST", "/status-pages/gamma/delete", data={"csrf": browser.csrf})
        assert status == 303
    finally:
        await browser.close()
