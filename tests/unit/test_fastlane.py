"""The fast lane's cache: keys, expiry, eviction, what the recorder keeps and what it refuses."""

from __future__ import annotations

import tracemalloc
from collections.abc import MutableMapping
from typing import Any

from tocsin.web import fastlane
from tocsin.web.fastlane import MARK, FastLane, Mark, Recorder, accepts_gzip, etag_matches, request_key


class Ticking:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


HEADERS = [
    (b"date", b"Sun, 22 Nov 2026 10:00:00 GMT"),
    (b"server", b"uvicorn"),
    (b"cache-control", b"public, max-age=30"),
    (b"etag", b'"abc"'),
    (b"content-length", b"5"),
    (b"content-type", b"text/html; charset=utf-8"),
]


def test_accepts_gzip_like_the_status_routes() -> None:
    assert accepts_gzip("gzip, deflate, br")
    assert accepts_gzip("br;q=1.0, GZIP;q=0.5")
    assert accepts_gzip("*")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("gzip; q=0.000")
    assert not accepts_gzip("")
    assert not accepts_gzip("identity, br")


def test_etag_matches_lists_and_star() -> None:
    assert etag_matches('"abc"', '"abc"')
    assert etag_matches('"x", "abc"', '"abc"')
    assert etag_matches(" * ", '"abc"')
    assert not etag_matches('"abcd"', '"abc"')


def test_request_key_lowers_host_only() -> None:
    assert request_key(b"Status.Example.COM", b"/A?b=C", b"gzip") == (b"status.example.com", b"/A?b=C", True)


def test_kept_answers_expire_after_the_ttl() -> None:
    clock = Ticking()
    lane = FastLane(ttl=1.0, clock=clock)
    key = request_key(b"h", b"/status/a", b"")
    lane.keep(key, HEADERS, b"hello", lane.generation)
    found = lane.lookup(key)
    assert found is not None
    assert found.body == b"hello"
    assert found.etag == '"abc"'
    assert b"date:" not in found.head
    assert b"server:" not in found.head
    assert b'etag: "abc"\r\n' in found.head
    assert b"content-length: 5\r\n" in found.head
    assert b"content-length" not in found.not_modified
    assert b"content-type" not in found.not_modified
    assert b"etag" in found.not_modified
    assert b"cache-control" in found.not_modified
    clock.now += 0.999
    assert lane.lookup(key) is not None
    clock.now += 0.001
    assert lane.lookup(key) is None
    assert key not in lane.answers


def test_wire_is_the_whole_answer_made_once_per_date() -> None:
    lane = FastLane()
    key = request_key(b"h", b"/", b"")
    lane.keep(key, HEADERS, b"hello", lane.generation)
    found = lane.lookup(key)
    assert found is not None
    defaults = [(b"date", b"Sun, 22 Nov 2026 10:00:01 GMT"), (b"server", b"uvicorn")]
    full = found.wire(defaults, modified=True)
    assert full.startswith(b"HTTP/1.1 200 OK\r\ndate: Sun, 22 Nov 2026 10:00:01 GMT\r\nserver: uvicorn\r\n")
    assert full.endswith(b"\r\n\r\nhello")
    assert found.wire(defaults, modified=True) is full  # same defaults: the same bytes, not made again
    not_modified = found.wire(defaults, modified=False)
    assert not_modified.startswith(b"HTTP/1.1 304 Not Modified\r\n")
    assert not_modified.endswith(b"\r\n\r\n")
    assert b"hello" not in not_modified
    later = [(b"date", b"Sun, 22 Nov 2026 10:00:02 GMT"), (b"server", b"uvicorn")]
    assert b"10:00:02" in found.wire(later, modified=True)


def test_the_oldest_answer_goes_first_when_full(monkeypatch: Any) -> None:
    monkeypatch.setattr(fastlane, "MAX_ANSWERS", 3)
    lane = FastLane()
    keys = [request_key(b"h", f"/status/{i}".encode(), b"") for i in range(4)]
    for key in keys:
        lane.keep(key, HEADERS, b"hello", lane.generation)
    assert list(lane.answers) == keys[1:]
    lane.clear()
    assert not lane.answers


def test_an_answer_begun_before_a_clear_is_not_kept() -> None:
    lane = FastLane()
    began = lane.generation
    lane.clear()  # e.g. a monitor changed state while the page was being built
    lane.keep(request_key(b"h", b"/", b""), HEADERS, b"hello", began)
    assert not lane.answers


def test_large_bodies_are_not_kept(monkeypatch: Any) -> None:
    monkeypatch.setattr(fastlane, "MAX_BODY", 4)
    lane = FastLane()
    lane.keep(request_key(b"h", b"/", b""), HEADERS, b"hello", lane.generation)
    assert not lane.answers


def _app(status: int = 200, mark: bool = True, extra: list[tuple[bytes, bytes]] | None = None) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if mark:
            found = scope.get(MARK)
            assert isinstance(found, Mark)
            found.keep = True
        headers = [(b"content-type", b"text/plain"), (b"etag", b'"e"'), *(extra or [])]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"he", "more_body": True})
        await send({"type": "http.response.body", "body": b"llo"})

    return app


async def _call(recorder: Recorder, method: str = "GET", query: bytes = b"") -> list[dict[str, Any]]:
    scope = {
        "type": "http",
        "method": method,
        "path": "/status/a",
        "raw_path": b"/status/a",
        "query_string": query,
        "headers": [(b"host", b"Example.test"), (b"accept-encoding", b"gzip")],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    await recorder(scope, receive, send)
    return sent


async def test_recorder_keeps_marked_answers_under_host_target_and_encoding() -> None:
    lane = FastLane()
    sent = await _call(Recorder(_app(), lane), query=b"page=2")
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body", "http.response.body"]
    found = lane.lookup((b"example.test", b"/status/a?page=2", True))
    assert found is not None
    assert found.body == b"hello"


async def test_recorder_refuses_unmarked_errors_cookies_and_non_get() -> None:
    lane = FastLane()
    await _call(Recorder(_app(mark=False), lane))
    await _call(Recorder(_app(status=404), lane))
    await _call(Recorder(_app(extra=[(b"set-cookie", b"s=1")]), lane))
    assert not lane.answers
    await _call(Recorder(_app(mark=False), lane), method="HEAD")  # no mark is offered: the app must not expect one
    assert not lane.answers


async def test_recorder_holds_no_copy_of_unmarked_answers() -> None:
    chunk = b"x" * 65536

    async def stream(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(200):  # an event stream: chunks that never end in a real server (12.5 MiB here)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

    lane = FastLane()
    tracemalloc.start()
    try:
        sent = await _call(Recorder(stream, lane))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(sent) == 201  # every chunk still reaches the client
    assert peak < 4 * 1024 * 1024  # nothing accumulated the stream
    assert not lane.answers
