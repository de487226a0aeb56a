"""The incident report on a real server: incidents by the API, pages by the on-call engine, numbers by hand."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import aiohttp
import yaml

from tests.acceptance.conftest import Api
from tocsin.testing import running_server, webhook_sink

MIN = timedelta(minutes=1)


def write_config(path: Path, hook: str) -> None:
    """alice and bob (London) rotate daily; carol (New York) is step 2 of `core`, which api and db page through."""
    method = [{"name": "hook", "kind": "webhook", "url": hook}]
    users = [{"name": n, "time_zone": "Europe/London", "contact_methods": method} for n in ("alice", "bob")]
    users.append({"name": "carol", "time_zone": "America/New_York", "contact_methods": method})
    config = {
        "storage": {"url": f"sqlite:///{path.parent / 'tocsin.db'}"},
        "alerting": {
            "route": {"receiver": "pager", "group_by": ["alertname"], "group_wait": "10s"},
            "receivers": [{"name": "pager", "service": "api"}],
        },
        "oncall": {
            "users": users,
            "schedules": [
                {
                    "name": "primary",
                    "time_zone": "Europe/London",
                    "layers": [
                        {"name": "daily", "participants": ["alice", "bob"], "shift": "1d", "start": "2026-01-05"}
                    ],
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
            "services": [{"name": "api", "escalation_policy": "core"}, {"name": "db", "escalation_policy": "core"}],
            "handoff_notice": None,
        },
    }
    path.write_text(yaml.safe_dump(config))


def out_of_hours(at: datetime, zone: str) -> bool:
    """The documented rule, restated: outside 09:00-18:00 Monday-Friday on the responder's wall clock."""
    local = at.astimezone(ZoneInfo(zone))
    return local.weekday() >= 5 or not 9 <= local.hour < 18


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def declare(api: Api, title: str, severity: str, change: dict[str, Any]) -> int:
    created = await api.post("/api/v1/incidents", {"title": title, "severity": severity}, 201)
    iid: int = created["incident"]["id"]
    if change:
        await api.request("PATCH", f"/api/v1/incidents/{iid}", {"version": 1, **change})
    return iid


def service(name: str) -> dict[str, str]:
    return {"kind": "service", "name": name, "impact": "partial_outage"}


async def page_people(api: Api, sink: Any) -> list[tuple[str, datetime]]:
    """Page the on-call person after group_wait and carol 10 minutes later; resolve the group; who, when."""
    ends = iso(datetime.now(UTC) + timedelta(days=1))
    await api.post("/api/v2/alerts", [{"labels": {"alertname": "Down"}, "endsAt": ends}])
    await api.advance("11s")  # group_wait: step 1 pages whoever is on call
    await sink.wait_for(1)
    await api.advance("10m")  # step 2: carol
    await sink.wait_for(2)
    [group] = (await api.get("/api/v1/alerts/groups"))["groups"]
    await api.post(f"/api/v1/alerts/group/resolve?key={quote(group['key'], safe='')}")
    queued = (await api.get("/api/v1/notifications"))["deliveries"]  # when each page was queued, oldest last
    paged = [(d["receiver"].removeprefix("oncall:"), datetime.fromisoformat(d["created_at"])) for d in queued[::-1]]
    assert [user for user, _ in paged][1:] == ["carol"]
    return paged


async def test_report_numbers_from_the_api_and_the_pager(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with webhook_sink() as sink:
        config = tmp_path / "tocsin.yaml"
        write_config(config, sink.url)
        async with running_server(config) as server:
            api = Api(server.url, http, server.headers)
            paged = await page_people(api, sink)
            r = datetime.fromisoformat((await api.get("/-/clock"))["now"])
            # SEV1: impact 40m before, detected 30m, acknowledged 25m, mitigated 10m before resolving now
            times1 = {"impact_start": r - 40 * MIN, "detected": r - 30 * MIN, "acknowledged": r - 25 * MIN}
            times1["mitigated"] = r - 10 * MIN
            change1 = {"times": {k: iso(v) for k, v in times1.items()}, "status": "resolved"}
            await declare(api, "API and DB down", "SEV1", {**change1, "impacts": [service("api"), service("db")]})
            # SEV2: impact start unknown; detected 20m before, acknowledged 10m, mitigated 5m, resolved now
            times2 = {"detected": r - 20 * MIN, "acknowledged": r - 10 * MIN, "mitigated": r - 5 * MIN}
            change2 = {"times": {k: iso(v) for k, v in times2.items()}, "status": "resolved"}
            await declare(api, "API slow", "SEV2", {**change2, "impacts": [service("api")]})
            await declare(api, "Something odd", "SEV3", {})  # open, detected now, no service

            query = f"from={(r - timedelta(days=1)).date()}&to={(r + timedelta(days=2)).date()}"
            report = await api.get(f"/api/v1/reports/incidents?{query}")
            check_numbers(report, [r - 30 * MIN, r - 20 * MIN, r], paged)
            assert await api.get(f"/reports.json?{query}") == report  # the twin
            default = await api.get("/api/v1/reports/incidents")  # the last 90 days, up to and including now
            assert default["totals"]["incidents"] == 3  # the one declared this very instant too
            assert datetime.fromisoformat(default["to"]) == r + timedelta(milliseconds=1)

            await check_refusals(api)
            await check_page(api, query)


def check_numbers(report: dict[str, Any], detected: list[datetime], paged: list[tuple[str, datetime]]) -> None:
    totals = report["totals"]
    assert (totals["incidents"], totals["open"], totals["resolved"]) == (3, 1, 2)
    assert totals["mttd"] == {"count": 1, "missing": 2, "mean_seconds": 600, "median_seconds": 600, "p90_seconds": 600}
    assert totals["mtta"] == {"count": 2, "missing": 1, "mean_seconds": 450, "median_seconds": 450, "p90_seconds": 570}
    assert totals["mttm"] == {  # 30m and 15m (from detection: no impact start)
        "count": 2,
        "missing": 1,
        "mean_seconds": 1350,
        "median_seconds": 1350,
        "p90_seconds": 1710,
    }
    assert totals["mttr"] == {
        "count": 2,
        "missing": 1,
        "mean_seconds": 1800,
        "median_seconds": 1800,
        "p90_seconds": 2280,
    }
    assert [(g["key"], g["incidents"], g["open"]) for g in report["by_service"]] == [
        ("api", 2, 0),
        ("db", 1, 0),
        ("unassigned", 1, 1),
    ]
    assert report["by_service"][1]["mttr"]["mean_seconds"] == 2400
    assert [(g["key"], g["incidents"]) for g in report["by_severity"]] == [
        ("SEV1", 1),
        ("SEV2", 1),
        ("SEV3", 1),
        ("SEV4", 0),
    ]
    severities = dict(zip(detected, ("SEV1", "SEV2", "SEV3"), strict=True))
    months = Counter(f"{at:%Y-%m}" for at in detected)  # UTC month of detection (one, unless run at midnight)
    assert {g["key"]: g["incidents"] for g in report["by_month"] if g["incidents"]} == months
    counted = Counter(
        (m["month"], s) for m in report["severity_by_month"] for s, n in m["counts"].items() for _ in range(n)
    )
    assert counted == Counter((f"{at:%Y-%m}", sev) for at, sev in severities.items())

    zones = {"alice": "Europe/London", "bob": "Europe/London", "carol": "America/New_York"}
    late = [out_of_hours(at, zones[user]) for user, at in paged]
    oncall = report["oncall"]
    assert (oncall["pages"], oncall["out_of_hours"]) == (2, sum(late))
    people = {p["user"]: (p["time_zone"], p["pages"], p["out_of_hours"]) for p in oncall["by_responder"]}
    assert people == {user: (zones[user], 1, int(x)) for (user, _), x in zip(paged, late, strict=True)}
    monthly = sorted((user, f"{at:%Y-%m}") for user, at in paged)
    assert [(p["user"], p["month"]) for p in oncall["by_responder_month"]] == monthly


async def check_refusals(api: Api) -> None:
    cases = {
        "from=2026-10-01&to=2026-10-01": "must be before to",
        "from=2026-11-01&to=2026-10-01": "must be before to",
        "from=2023-01-01&to=2026-01-01": "at most two years",
        "from=last-week": "from: 'last-week' is not a date",
        "to=2026-10-01T10:00:00": "has no UTC offset",
    }
    for query, reason in cases.items():
        refused = await api.get(f"/api/v1/reports/incidents?{query}", expect=400)
        assert reason in refused["detail"], (query, refused)


async def check_page(api: Api, query: str) -> None:
    page = await api.get(f"/reports?{query}")
    assert page.count("<svg") == 3
    assert "<title>Incidents per month by severity, 3 in all</title>" in page
    assert "<title>Mean time to acknowledge and to resolve per month</title>" in page
    assert "<title>Pages per responder, 2 in all</title>" in page
    assert "<desc>" in page  # every chart describes its figures in text
    assert page.count('<table class="report">') >= 5  # a table under every chart, by service, by severity ...
    assert '<th scope="row">unassigned</th>' in page
    assert 'href="/reports"' in page  # the navigation item
    assert "<script" not in page.split("<main", 1)[-1]  # nothing on the page needs JavaScript
    bad = await api.request("GET", "/reports?from=2026-11-01&to=2026-10-01", expect=400)
    assert "must be before to" in bad
    assert 'name="from"' in bad  # the form again, to fix the range
