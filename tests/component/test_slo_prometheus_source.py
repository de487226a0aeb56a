"""Prometheus SLIs against a local aiohttp server that speaks the Prometheus HTTP API (query, query_range).

The fake answers every query from a deterministic traffic model and records each request,
so the tests check both the counts tocsin derives and the requests it makes: the `1m`
window, range chunks of at most 10,000 points, instant queries for the per-minute poll,
headers, and errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tocsin.clock import FakeClock
from tocsin.slo.config import SloConfig
from tocsin.slo.evaluator import SloEvaluator
from tocsin.slo.model import PrometheusSource, compile_slo
from tocsin.slo.prometheus import PrometheusError, PrometheusReader
from tocsin.slo.windows import minute_of
from tocsin.store.store import Store

BAD = 'sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))'
TOTAL = "sum(rate(http_requests_total[{{.window}}]))"


def bad_in(minute: int) -> int:
    """The traffic model: 60 requests a minute, one failing every tenth minute."""
    return 1 if minute % 10 == 0 else 0


def value(query: str, at: int) -> float | None:
    """What the fake Prometheus answers for `query` at unix second `at`."""
    minute = at // 60 - 1  # a [1m] rate at the end of a minute covers that minute
    if "[1m]" in query:
        return (bad_in(minute) if "5.." in query else 60) / 60
    if query == "sum(requests_counter)":  # a counter reset at minute 1000
        boundary = at // 60
        return float(boundary * 60 if boundary < 1000 else (boundary - 999) * 60)
    return None


@dataclass
class FakePrometheus:
    """Records requests; answers `/api/v1/query` and `/api/v1/query_range`."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False

    def _answer(self, kind: str, points: list[tuple[int, float]]) -> web.Response:
        if self.fail:
            body = {"status": "error", "errorType": "bad_data", "error": "1:1: parse error"}
            return web.json_response(body, status=400)
        if kind == "vector":
            result = [{"metric": {}, "value": [t, repr(v)]} for t, v in points]
        else:
            result = [{"metric": {}, "values": [[t, repr(v)] for t, v in points]}] if points else []
        return web.json_response({"status": "success", "data": {"resultType": kind, "result": result}})

    async def query(self, request: web.Request) -> web.Response:
        self.requests.append({"path": request.path, **request.query, "org": request.headers.get("X-Scope-OrgID")})
        at = int(float(request.query["time"]))
        found = value(request.query["query"], at)
        return self._answer("vector", [] if found is None else [(at, found)])

    async def query_range(self, request: web.Request) -> web.Response:
        self.requests.append({"path": request.path, **request.query, "org": request.headers.get("X-Scope-OrgID")})
        start, end, step = (int(float(request.query[k])) for k in ("start", "end", "step"))
        points = [(t, v) for t in range(start, end + 1, step) if (v := value(request.query["query"], t)) is not None]
        return self._answer("matrix", points)


@pytest.fixture
async def prometheus() -> AsyncIterator[tuple[FakePrometheus, str]]:
    fake = FakePrometheus()
    app = web.Application()
    app.router.add_get("/prom/api/v1/query", fake.query)
    app.router.add_get("/prom/api/v1/query_range", fake.query_range)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield fake, f"http://127.0.0.1:{port}/prom"
    finally:
        await runner.cleanup()


def source(url: str, **extra: Any) -> PrometheusSource:
    return PrometheusSource(url, TOTAL, bad=BAD, headers=(("X-Scope-OrgID", "team-a"),), **extra)


async def test_backfill_uses_range_queries_in_chunks(prometheus: tuple[FakePrometheus, str]) -> None:
    fake, url = prometheus
    async with aiohttp.ClientSession() as session:
        rows = await PrometheusReader(session).counts(source(url), 100, 25_100)
    assert len(rows) == 25_000
    assert all(total == 60 and bad == 60 - good for minute, good, total in rows for bad in [bad_in(minute)])
    ranges = [r for r in fake.requests if r["path"].endswith("query_range")]
    assert len(ranges) == 6  # 25,000 minutes in chunks of 10,000, for bad and for total
    assert {r["step"] for r in ranges} == {"60"}
    assert {r["org"] for r in ranges} == {"team-a"}
    assert all("[1m]" in r["query"] and "{{.window}}" not in r["query"] for r in ranges)
    spans = sorted((int(r["start"]), int(r["end"])) for r in ranges if "5.." in r["query"])
    # minute m is answered by the [1m] rate at its end, so boundaries 101 .. 25,100
    assert spans == [(101 * 60, 10_100 * 60), (10_101 * 60, 20_100 * 60), (20_101 * 60, 25_100 * 60)]


async def test_the_minute_poll_uses_instant_queries(prometheus: tuple[FakePrometheus, str]) -> None:
    fake, url = prometheus
    async with aiohttp.ClientSession() as session:
        rows = await PrometheusReader(session).counts(source(url), 500, 502)
    assert rows == [(500, 59.0, 60.0), (501, 60.0, 60.0)]
    assert sorted((r["path"], r["time"]) for r in fake.requests) == [
        ("/prom/api/v1/query", "30060"),
        ("/prom/api/v1/query", "30060"),
        ("/prom/api/v1/query", "30120"),
        ("/prom/api/v1/query", "30120"),
    ]


async def test_counter_queries_take_increases_across_a_reset(prometheus: tuple[FakePrometheus, str]) -> None:
    _, url = prometheus
    counter = PrometheusSource(url, "sum(requests_counter)", good="sum(requests_counter)", counter=True)
    async with aiohttp.ClientSession() as session:
        rows = await PrometheusReader(session).counts(counter, 995, 1005)
    assert [r[0] for r in rows] == list(range(995, 1005))
    assert {r[2] for r in rows} == {60.0}  # at 1000 the counter drops to 60: a reset, and 60 is the count


async def test_errors_say_what_the_api_said(prometheus: tuple[FakePrometheus, str]) -> None:
    fake, url = prometheus
    fake.fail = True
    async with aiohttp.ClientSession() as session:
        with pytest.raises(PrometheusError, match="bad_data: 1:1: parse error"):
            await PrometheusReader(session).counts(source(url), 0, 100)
        with pytest.raises(PrometheusError, match=r"127\.0\.0\.1:1/api/v1"):
            await PrometheusReader(session).counts(source("http://127.0.0.1:1"), 0, 100)


async def test_evaluator_backfills_then_polls(prometheus: tuple[FakePrometheus, str], tmp_path: Path) -> None:
    fake, url = prometheus
    spec = {"name": "api", "objective": 99, "sli": {"prometheus": {"url": url, "bad": BAD, "total": TOTAL}}}
    slo = compile_slo(SloConfig.model_validate({**spec, "window": "2d"}))
    store = await Store.open(f"sqlite:///{tmp_path / 'tocsin.db'}")
    clock = FakeClock(1_767_225_600 + 45)  # 2026-01-01T00:00:45Z
    try:
        async with aiohttp.ClientSession() as session:
            ev = SloEvaluator(clock, store, _ignore, session=session)
            await ev.configure([slo])
            end = minute_of(clock.now() - timedelta(seconds=30))
            backfill = [r for r in fake.requests if r["path"].endswith("query_range")]
            assert backfill
            assert min(int(r["start"]) for r in backfill) <= (end - 2 * 1440) * 60
            report = ev.snapshot.report(0)  # type: ignore[union-attr]
            assert report.sli == pytest.approx(1 - 1 / 600)  # one bad request in every 600
            fake.requests.clear()
            await clock.advance(60)
            await ev.tick(clock.now())
            assert [r["path"] for r in fake.requests] == ["/prom/api/v1/query"] * 2
            assert ev.engine is not None
            assert ev.engine.end == end + 1
    finally:
        await store.close()


async def _ignore(alerts: Any) -> None:
    """Alerts are not the point here."""
