"""SLOs through the real server: events pushed with an ingest token (idempotent), a monitor SLO, list, detail, pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import yaml

from tests.acceptance.conftest import Api, Target
from tocsin.testing import running_server

BATCHES = [{"key": "b1", "good": 90, "total": 100}, {"key": "b2", "good": 50, "total": 50}]


def write_config(path: Path, target: str) -> None:
    config = {
        "storage": {"url": f"sqlite:///{path.parent / 'slo.db'}"},
        "monitors": [{"name": "api", "kind": "http", "url": target, "interval": "10s", "timeout": "2s"}],
        "slos": [
            {"name": "checkout", "service": "shop", "objective": 99, "window": "1d", "sli": {"events": {}}},
            {
                "name": "api-availability",
                "service": "api",
                "objective": 99.9,
                "window": "7d",
                "sli": {"monitor": "api"},
            },
        ],
    }
    path.write_text(yaml.safe_dump(config))


async def client_with(api: Api, scope: str) -> Api:
    """A client holding a token with one scope."""
    issued = await api.post("/api/v1/tokens", {"name": f"{scope}-only", "scopes": [scope]}, 201)
    return Api(api.base, api.session, {"Authorization": f"Bearer {issued['token']}"})


def by_name(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in view["slos"]}


async def both_evaluated(api: Api) -> bool:
    rows = by_name(await api.get("/api/v1/slos"))
    return all(r["sli"] is not None for r in rows.values())


async def test_slos_through_the_api_and_console(tmp_path: Path, target: Target, http: aiohttp.ClientSession) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, target.url)
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        pusher = await client_with(api, "ingest")
        pushed_at = datetime.fromisoformat((await api.get("/-/clock"))["now"])
        first = await pusher.post("/api/v1/slos/checkout/events", {"events": BATCHES})
        assert first == {"accepted": 2, "duplicates": 0}
        retry = await pusher.post("/api/v1/slos/checkout/events", {"events": BATCHES})
        assert retry == {"accepted": 0, "duplicates": 2}  # a retried request counts nothing
        await api.until(lambda: both_evaluated(api), advance="30s")

        await list_is_sorted_by_budget_left(api)
        await detail_has_tiers_budget_and_charts(api)
        # one more batch with a key already counted: only the new one lands
        again = [BATCHES[1], {"key": "b3", "good": 10, "total": 10}]
        assert await pusher.post("/api/v1/slos/checkout/events", {"events": again}) == {"accepted": 1, "duplicates": 1}

        async def counted() -> bool:
            detail = await api.get("/api/v1/slos/checkout")
            return bool(detail["budget"]["events_total"] == pytest.approx(1.6))  # 1% of 160 events

        await api.until(counted, advance="30s")
        await consumed_over_an_interval(api, pushed_at)
        await monthly_report(api, http)
        await refusals(api, pusher, http)
        await pages_and_twins(api)
        assert "Traceback" not in server.log_text()


async def list_is_sorted_by_budget_left(api: Api) -> None:
    view = await api.get("/api/v1/slos")
    assert [s["name"] for s in view["slos"]] == ["checkout", "api-availability"]  # least budget left first
    checkout, monitor = view["slos"]
    assert checkout["sli"] == pytest.approx(140 / 150)
    # 10 bad events against a budget of 1% of 150: spent 6.67 times over
    assert checkout["budget_remaining"] == pytest.approx(1 - 10 / 1.5)
    assert checkout["status"] == "exhausted"
    assert checkout["release_freeze"]
    assert checkout["postmortem_required"]
    assert checkout["sli_kind"] == "events"
    assert checkout["alert"] is not None
    assert (monitor["sli"], monitor["budget_remaining"], monitor["status"]) == (1.0, 1.0, "ok")
    assert (monitor["sli_kind"], monitor["release_freeze"], monitor["postmortem_required"]) == ("monitor", False, False)
    assert view["counts"] == {"exhausted": 1, "ok": 1}


async def detail_has_tiers_budget_and_charts(api: Api) -> None:
    detail = await api.get("/api/v1/slos/checkout")
    assert detail["budget"]["events_total"] == pytest.approx(1.5)
    assert [t["name"] for t in detail["tiers"]] == ["page-1h", "page-6h", "ticket-1d", "ticket-3d"]
    assert [t["name"] for t in detail["tiers"] if t["active"]] == [detail["alert"]]
    assert {b["window"] for b in detail["burn_rates"]} >= {"5m", "1h", "3d", "window"}
    assert [r["window"] for r in detail["recent"]] == ["1h", "6h", "1d", "3d"]
    assert detail["recent"][0]["bad_events"] == 10
    assert detail["postmortem_required"]
    assert detail["burn_down"][0]["value"] == pytest.approx(1.0)  # the window starts with the whole budget
    assert detail["burn_down"][-1]["value"] == pytest.approx(1 - 10 / 1.5)
    assert any(p["value"] is not None for p in detail["sli_series"])
    monitor = await api.get("/api/v1/slos/api-availability")
    assert (monitor["window"], monitor["objective"], monitor["budgeting"]) == ("7d", 99.9, "Occurrences")


async def consumed_over_an_interval(api: Api, pushed_at: datetime) -> None:
    start, end = pushed_at - timedelta(minutes=1), datetime.fromisoformat((await api.get("/-/clock"))["now"])
    query = f"start={quote(start.isoformat())}&end={quote(end.isoformat())}"
    spent = await api.get(f"/api/v1/slos/checkout/consumed?{query}")
    assert (spent["bad_events"], spent["total_events"], spent["postmortem_required"]) == (10, 160, True)
    assert spent["consumed"] == pytest.approx(10 / 1.6)
    before = f"start={quote((start - timedelta(hours=2)).isoformat())}&end={quote(start.isoformat())}"
    quiet = await api.get(f"/api/v1/slos/checkout/consumed?{before}")
    assert (quiet["consumed"], quiet["postmortem_required"]) == (0, False)
    backwards = f"start={quote(end.isoformat())}&end={quote(start.isoformat())}"
    error = await api.get(f"/api/v1/slos/checkout/consumed?{backwards}", expect=422)
    assert error["errors"][0]["field"] == "query.end"
    await api.get("/api/v1/slos/nope/consumed?start=2026-01-01T00:00:00", expect=404)


async def monthly_report(api: Api, http: aiohttp.ClientSession) -> None:
    report = await api.get("/api/v1/slos/report?months=2")
    assert report["months"] == 2
    assert len(report["rows"]) == 4
    [month] = [r for r in report["rows"] if r["slo"] == "checkout" and r["total"]]
    assert (month["good"], month["total"], month["met"]) == (150, 160, False)
    assert any(r["slo"] == "api-availability" and r["met"] for r in report["rows"])
    async with http.get(api.base + "/api/v1/slos/report.csv?months=2", headers=api.headers) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/csv"
        lines = (await resp.text()).splitlines()
    assert lines[0] == "slo,month,objective,sli,met,good,total"
    assert f"checkout,{month['month']},99.0,93.7500,missed,150.0,160.0" in lines
    assert len(lines) == 5


async def refusals(api: Api, pusher: Api, http: aiohttp.ClientSession) -> None:
    one = {"events": [BATCHES[0]]}
    missing = await pusher.post("/api/v1/slos/chekout/events", one, expect=404)
    assert "did you mean 'checkout'?" in missing["detail"]
    assert "GET /api/v1/slos" in missing["detail"]
    wrong = await pusher.post("/api/v1/slos/api-availability/events", one, expect=409)
    assert "its sli is not events" in wrong["detail"]
    bad = [
        {"events": [{"key": "x", "good": 2, "total": 1}]},  # more good than total
        {"events": []},  # nothing to count
        {"events": [{"key": "x", "good": -1, "total": 1}]},  # negative
        {"events": [{"good": 1, "total": 1}]},  # no key
        {"events": [BATCHES[0]], "extra": 1},  # unknown field
    ]
    for body in bad:
        assert (await pusher.post("/api/v1/slos/checkout/events", body, expect=422))["errors"]
    headers = {**pusher.headers, "Content-Type": "application/json"}
    async with http.post(api.base + "/api/v1/slos/checkout/events", data="{nope", headers=headers) as resp:
        assert resp.status == 400
    writer = await client_with(api, "write")
    await writer.post("/api/v1/slos/checkout/events", one, expect=403)  # pushing needs the ingest scope...
    await pusher.get("/api/v1/slos", expect=403)  # ...and an ingest token reads nothing
    unknown = await api.get("/api/v1/slos/nope", expect=404)
    assert unknown["detail"] == "no SLO named 'nope'; GET /api/v1/slos lists them"


async def pages_and_twins(api: Api) -> None:
    assert await api.get("/slos.json") == await api.get("/api/v1/slos")
    assert await api.get("/slos/checkout.json") == await api.get("/api/v1/slos/checkout")
    assert await api.get("/slos/report.json?months=3") == await api.get("/api/v1/slos/report?months=3")
    listing = await api.get("/slos")
    assert "<svg" in listing
    assert listing.index("/slos/checkout") < listing.index("/slos/api-availability")
    assert "release freeze" in listing
    assert "postmortem required" in listing
    page = await api.get("/slos/checkout")
    assert page.count('<svg class="chart"') == 2
    assert "Error budget left from" in page
    assert "SLI per step" in page
    assert "page-1h" in page
    assert "postmortem_required: yes" in page
    assert '<svg class="chart"' in await api.get("/slos/api-availability")
    report = await api.get("/slos/report")
    assert "missed" in report
    assert "/api/v1/slos/report.csv?months=12" in report
    assert "no SLO named" in await api.get("/slos/nope", expect=404)
    [section] = [s for s in (await api.get("/overview.json"))["sections"] if s["key"] == "slos"]
    assert [(i["title"], i["status"]) for i in section["items"]] == [("checkout", "down")]
