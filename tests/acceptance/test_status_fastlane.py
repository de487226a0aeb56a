"""The fast lane on a real `tocsin serve`: the same bytes as the app, 304s, gzip, pipelining, freshness, reload."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import aiohttp
import yaml

from tests.acceptance.conftest import Api
from tocsin.testing import running_server

DOMAIN = "status.example.test"
TOKEN = "fastlane-heartbeat-token-01"


def write_config(path: Path, db: Path, title: str = "Acme") -> None:
    config = {
        "storage": {"url": f"sqlite:///{db}"},
        "monitors": [
            {"name": "db", "kind": "heartbeat", "period": "1h", "token": TOKEN, "failure_threshold": 1},
        ],
        "status_pages": [
            {"slug": "acme", "title": title, "components": [{"name": "Database", "monitors": ["db"]}]},
            {"slug": "other", "title": "Other", "custom_domain": DOMAIN, "components": [{"name": "Database"}]},
        ],
    }
    path.write_text(yaml.safe_dump(config))


Response = tuple[int, dict[str, str], bytes]


async def exchange(url: str, raw: bytes, count: int) -> list[Response]:
    """Write `raw` (one or more requests) on one connection and read `count` responses, in order."""
    host, port = re.match(r"https?://([^:/]+):(\d+)", url).groups()  # type: ignore[union-attr]
    reader, writer = await asyncio.open_connection(host, int(port))
    out: list[Response] = []
    methods = re.findall(rb"^(GET|HEAD) ", raw, re.MULTILINE)  # a HEAD answer has no body to read
    writer.write(raw)
    try:
        async with asyncio.timeout(10):
            for index in range(count):
                status_line = await reader.readline()
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = 0 if methods[index] == b"HEAD" else int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                out.append((int(status_line.split()[1]), headers, body))
    finally:
        writer.close()
    return out


def get(path: str, host: str = "127.0.0.1", *extra: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", *extra, "", ""]
    return "\r\n".join(lines).encode()


async def lane_answers(api: Api) -> dict[str, float]:
    text = await api.get("/metrics")
    found = re.findall(r'tocsin_http_fastlane_answers_total\{outcome="(\w+)"\} ([0-9.e+]+)', text)
    return {outcome: float(value) for outcome, value in found}


async def test_lane_repeats_the_apps_answer(tmp_path: Path) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "s.db")
    async with running_server(config) as server, aiohttp.ClientSession() as session:
        api = Api(server.url, session, server.headers)
        await exchange(server.url, get("/status/acme"), 1)  # the app answers: the lane keeps it
        first, second = await exchange(server.url, get("/status/acme") * 2, 2)
        assert first[0] == second[0] == 200
        assert first[2] == second[2]
        assert b"Acme" in first[2]
        same = {k: v for k, v in first[1].items() if k != "date"}
        assert same == {k: v for k, v in second[1].items() if k != "date"}  # every header, security ones included
        assert first[1]["x-frame-options"] == "DENY"
        assert first[1]["cache-control"] == "public, max-age=30"
        assert (await lane_answers(api)).get("hit", 0) >= 1

        # gzip is a separate answer with its own ETag; a client without gzip never gets it
        gz = "Accept-Encoding: gzip"
        _, (_, gz_second, gz_body) = await exchange(server.url, get("/status/acme", "x", gz) * 2, 2)
        assert gz_second["content-encoding"] == "gzip"
        assert gz_second["etag"].endswith('-gzip"')
        assert gz_body[:2] == b"\x1f\x8b"
        (_, plain, body), _ = await exchange(server.url, get("/status/acme", "x") * 2, 2)
        assert "content-encoding" not in plain
        assert body == first[2]

        # If-None-Match: 304 without a body, from the lane as from the app
        etag = first[1]["etag"]
        before = (await lane_answers(api)).get("not_modified", 0)
        answers = await exchange(server.url, get("/status/acme", "x", f"If-None-Match: {etag}") * 2, 2)
        for status, headers, body in answers:
            assert (status, body, headers["etag"]) == (304, b"", etag)
            assert "content-type" not in headers
            assert "content-length" not in headers
        assert (await lane_answers(api)).get("not_modified", 0) > before

        # HEAD (uptime checkers, CDNs) answers like GET without a body; never from the lane
        head = b"HEAD /status/acme HTTP/1.1\r\nHost: x\r\n\r\n" + get("/healthz")
        (status, headers, body), (after, _, healthz) = await exchange(server.url, head, 2)
        assert (status, headers["etag"], headers["content-length"], body) == (
            200,
            etag,
            first[1]["content-length"],
            b"",
        )
        assert (after, healthz) == (200, b'{"status":"ok"}')  # nothing of a body was left on the connection
        ((status, _, _),) = await exchange(server.url, f"HEAD / HTTP/1.1\r\nHost: {DOMAIN}\r\n\r\n".encode(), 1)
        assert status == 200

        # the JSON twin is its own answer
        ((status, _, body),) = await exchange(server.url, get("/status/acme.json"), 1)
        assert status == 200
        assert body.startswith(b"{")


async def test_pipelined_requests_keep_their_order(tmp_path: Path) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "s.db")
    async with running_server(config) as server:
        await exchange(server.url, get("/status/acme"), 1)  # the app answers once: the lane has it now
        raw = get("/status/acme") + get("/healthz") + get("/status/acme") + get("/status/acme.json")
        answers = await exchange(server.url, raw, 4)
        assert [a[0] for a in answers] == [200, 200, 200, 200]
        assert b"<html" in answers[0][2]
        assert answers[0][2] == answers[2][2]
        assert answers[1][2] == b'{"status":"ok"}'
        assert answers[3][2].startswith(b"{")


async def test_hosts_are_kept_apart(tmp_path: Path) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "s.db")
    async with running_server(config) as server:
        for _ in range(2):  # the second round comes from the lane when it may
            ((domain, _, page),) = await exchange(server.url, get("/", DOMAIN), 1)
            assert domain == 200
            assert b"Other" in page
            ((status, headers, _),) = await exchange(server.url, get("/", "127.0.0.1"), 1)
            assert status in (302, 303, 307)
            assert "location" in headers


async def test_changes_show_within_a_second_and_reload_clears(tmp_path: Path) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "s.db")
    async with running_server(config) as server, aiohttp.ClientSession() as session:
        ((_, _, before),) = await exchange(server.url, get("/status/acme.json"), 1)
        assert b'"status":"operational"' in before  # no ping yet: pending
        ((_, _, again),) = await exchange(server.url, get("/status/acme.json"), 1)
        assert again == before  # from the lane
        async with session.get(server.url + f"/ping/{TOKEN}/fail") as resp:
            assert resp.status == 200
        started = time.monotonic()
        while True:
            ((_, _, body),) = await exchange(server.url, get("/status/acme.json"), 1)
            if b'"status":"major_outage"' in body:
                break
            assert time.monotonic() - started < 3.0, "the lane served an old answer for more than its second"
            await asyncio.sleep(0.05)

        ((_, _, page),) = await exchange(server.url, get("/status/acme"), 1)
        assert b"Acme" in page
        write_config(config, tmp_path / "s.db", title="Renamed Inc")
        api = Api(server.url, session, server.headers)
        await api.post("/-/reload")
        ((_, _, page),) = await exchange(server.url, get("/status/acme"), 1)  # at once, not after the second
        assert b"Renamed Inc" in page
