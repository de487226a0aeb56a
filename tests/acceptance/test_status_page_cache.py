"""Status pages in-process: cached per page, the last good render served (marked stale) when the store fails, feeds."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, MutableMapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI

from tocsin.clock import FakeClock
from tocsin.runtime import Runtime
from tocsin.statuspage import views
from tocsin.web.app import create_app

ATOM = "{http://www.w3.org/2005/Atom}"
Answer = tuple[int, dict[str, str], str]


def write_config(path: Path, db: Path) -> None:
    config = {
        "storage": {"url": f"sqlite:///{db}"},
        "monitors": [
            {"name": "edge", "kind": "tcp", "host": "127.0.0.1", "port": 9, "timeout": "1s", "interval": "10s"},
            {"name": "db", "kind": "heartbeat", "period": "1h"},
        ],
        "maintenance": [
            {"name": "db-upgrade", "monitors": ["db"], "start": "2020-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"},
        ],
        "status_pages": [
            {
                "slug": "acme",
                "title": "Acme <Cloud>",
                "components": [{"name": "Edge", "monitors": ["edge"]}, {"name": "Database", "monitors": ["db"]}],
            }
        ],
    }
    path.write_text(yaml.safe_dump(config))


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Runtime, FakeClock]]:
    write_config(tmp_path / "tocsin.yaml", tmp_path / "s.db")
    clock = FakeClock()
    rt = Runtime(tmp_path / "tocsin.yaml", clock)
    await rt.start()
    try:
        yield rt, clock
    finally:
        await rt.stop()


async def get(app: FastAPI, path: str) -> Answer:
    """One GET through the ASGI app, without a network."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"status.test")],
        "client": ("127.0.0.1", 40000),
        "server": ("status.test", 80),
    }
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], headers, body.decode()


def broken(*_: object) -> object:
    raise ConnectionRefusedError("database is unreachable")


async def test_cached_then_stale_when_the_store_fails(
    served: tuple[Runtime, FakeClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, clock = served
    app = create_app(rt, manage_lifecycle=False)
    reads = 0
    real = views.daily_counts  # the page's one read of its monitors' daily rollups

    async def counted(*args: Any) -> Any:
        nonlocal reads
        reads += 1
        return await real(*args)

    monkeypatch.setattr(views, "daily_counts", counted)
    status, headers, html = await get(app, "/status/acme")
    assert status == 200
    assert "x-tocsin-stale" not in headers
    assert "Possibly stale" not in html
    first = reads
    assert (await get(app, "/status/acme.json"))[0] == 200
    assert reads == first  # same monitor states, maintenance and minute: served from the cache

    app.state.status_page_cache.retry_after = 0.0  # retry the store on the next request after a failure
    await clock.advance(61)  # a new minute: the page is rebuilt, but the store is down
    monkeypatch.setattr(views, "daily_counts", broken)
    for path in ("/status/acme", "/status/acme.json", "/status/acme/api/v2/summary.json", "/status/acme/feed.atom"):
        status, headers, _body = await get(app, path)
        assert (status, headers.get("x-tocsin-stale")) == (200, "1"), path
    status, _, html = await get(app, "/status/acme")
    assert "Possibly stale</strong>, as of 2026-01-01 00:00 UTC" in html
    assert "Edge" in html
    assert "Acme &lt;Cloud&gt;" in html

    monkeypatch.setattr(views, "daily_counts", counted)
    status, headers, html = await get(app, "/status/acme")
    assert status == 200
    assert "x-tocsin-stale" not in headers
    assert "Possibly stale" not in html


async def test_no_earlier_render_answers_503_not_500(
    served: tuple[Runtime, FakeClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    rt, _ = served
    monkeypatch.setattr(views, "daily_counts", broken)
    status, headers, _ = await get(create_app(rt, manage_lifecycle=False), "/status/acme")
    assert (status, headers.get("retry-after")) == (503, "30")


async def until_down(rt: Runtime, clock: FakeClock) -> datetime:
    async with asyncio.timeout(10):
        while (state := rt.runner.states.get("edge")) is None or state.status.value != "down" or not state.since:
            await clock.advance(10)
            await asyncio.sleep(0.05)
    return state.since


async def test_feeds_are_valid_atom_and_rss(served: tuple[Runtime, FakeClock]) -> None:
    rt, clock = served
    await until_down(rt, clock)
    app = create_app(rt, manage_lifecycle=False)
    status, headers, body = await get(app, "/status/acme/feed.atom")
    assert status == 200
    assert headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(body)
    assert feed.tag == ATOM + "feed"
    assert feed.findtext(ATOM + "title") == "Acme <Cloud> status"
    titles = [e.findtext(ATOM + "title") for e in feed.iter(ATOM + "entry")]
    assert "Edge: major outage" in titles
    assert "Maintenance in progress: db-upgrade" in titles
    assert all(
        e.findtext(ATOM + "id", "").startswith("http://status.test/status/acme#") for e in feed.iter(ATOM + "entry")
    )
    status, headers, body = await get(app, "/status/acme/feed.rss")
    assert status == 200
    assert headers["content-type"].startswith("application/rss+xml")
    rss = ET.fromstring(body)
    assert rss.tag == "rss"
    assert rss.get("version") == "2.0"
    items = rss.findall("channel/item")
    assert {i.findtext("title") for i in items} >= {"Edge: major outage", "Maintenance in progress: db-upgrade"}
    assert all(i.findtext("pubDate") and i.findtext("guid") for i in items)
    assert (await get(app, "/status/nope/feed.rss"))[0] == 404
