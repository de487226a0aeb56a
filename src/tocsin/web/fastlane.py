"""The fast lane: cached public answers written by the HTTP protocol itself, skipping ASGI, for one second.

A status page under load is the same bytes for everyone. Going through uvicorn's request
cycle, the middlewares (body limit, custom domains, access guard) and routing costs ~20x
what writing those bytes costs, so a busy page would be bounded by that machinery rather
than by the socket. The lane is a micro-cache in front of the app, like nginx's
`proxy_cache` with a one-second validity:

- `Recorder` (outermost ASGI middleware) offers each GET request a `Mark`; a route that
  answers with a cacheable public body (status pages: `web/ui/status_pages.cached`) sets it.
  The answer exactly as it went out (status 200, every header the middlewares added, the
  body) is kept under the request's Host, request-target and gzip choice.
- `FastLaneProtocol` (uvicorn's httptools protocol) looks each parsed GET up before
  building an ASGI cycle and, on a hit younger than `TTL`, writes the kept bytes with the
  current `date` header (or a 304 when `If-None-Match` names its ETag). Anything else,
  and anything it is not sure of (HTTP/1.0, pipelining behind a slow answer, a paused
  transport, a body), goes the normal way.

Changes made in this process clear the lane at once (`clear`): a monitor changing state, an
incident, public update, override or page edit (the status page registry's invalidation), and a
config reload; an answer that was being made when the lane was cleared is not kept. What time
alone changes (the minute's uptime, a maintenance window starting) and writes by other
processes show within `TTL`, on top of the page cache's own fingerprint (statuspage/cache.py). Stale fallbacks
(`X-Tocsin-Stale`), answers that set cookies, and anything but 200 are never kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

TTL = 1.0  # seconds an answer is served from the lane after the app produced it
MAX_ANSWERS = 512  # distinct (host, target, encoding) answers kept; the oldest goes first
MAX_BODY = 4 * 1024 * 1024  # bytes: larger bodies are not kept
MARK = "tocsin.fastlane"  # scope key of the request's Mark

_BODY_HEADERS = (b"content-length:", b"content-encoding:", b"content-type:")  # not in a 304
Key = tuple[bytes, bytes, bool]  # (lower-cased Host, request-target, gzip accepted)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an `Accept-Encoding` value accepts gzip (`gzip` or `*`, not with `q=0`)."""
    for part in accept_encoding.lower().split(","):
        name, _, params = part.partition(";")
        if name.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an `If-None-Match` value names `etag` (or is `*`)."""
    wanted = if_none_match.strip()
    return wanted == "*" or etag in (t.strip() for t in wanted.split(","))


class Mark:
    """Set by a route whose answer may be kept: the answer depends only on the Host, the target and gzip."""

    __slots__ = ("keep",)

    def __init__(self) -> None:
        self.keep = False


@dataclass(slots=True)
class Answer:
    """A kept 200 answer: its header lines (without `date`/`server`), its body, its ETag, and when it expires."""

    head: bytes
    body: bytes
    etag: str
    not_modified: bytes  # header lines of the 304 for a matching If-None-Match
    expires: float
    _wire: tuple[object, bytes, bytes] = (None, b"", b"")  # (default headers it was made with, 200, 304)

    def wire(self, defaults: list[tuple[bytes, bytes]], modified: bool) -> bytes:
        """The whole answer as written (200, or 304 when not `modified`) with uvicorn's `date` and `server`
        lines; made once per change of those (once a second), so each answer is one write of ready bytes."""
        if self._wire[0] is not defaults:
            lines = b"".join(n + b": " + v + b"\r\n" for n, v in defaults)
            full = b"".join((STATUS_LINE[200], lines, self.head, b"\r\n", self.body))
            self._wire = (defaults, full, b"".join((STATUS_LINE[304], lines, self.not_modified, b"\r\n")))
        return self._wire[1] if modified else self._wire[2]


class FastLane:
    """Answers kept for `ttl` seconds, at most `MAX_ANSWERS`, with hit counters."""

    def __init__(self, ttl: float = TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self.answers: dict[Key, Answer] = {}
        self.generation = 0  # moved by clear(): an answer begun before a clear is not kept after it
        self.on_answer: Callable[[str], None] = lambda outcome: None  # metrics hook: "hit" or "not_modified"

    def lookup(self, key: Key) -> Answer | None:
        """The kept answer for `key` while it is fresh; a stale one is dropped."""
        found = self.answers.get(key)
        if found is None:
            return None
        if self.clock() >= found.expires:
            del self.answers[key]
            return None
        return found

    def keep(self, key: Key, headers: list[tuple[bytes, bytes]], body: bytes, generation: int) -> None:
        """Keep a 200 answer (headers as sent by the app, lower-case names) for `ttl` seconds, unless the lane
        was cleared since the request began (`generation`): it may show what the clear was for."""
        if len(body) > MAX_BODY or generation != self.generation:
            return
        lines = [n + b": " + v + b"\r\n" for n, v in headers if n not in (b"date", b"server")]
        etag = next((v.decode("latin-1") for n, v in headers if n == b"etag"), "")
        not_modified = [line for line in lines if not line.startswith(_BODY_HEADERS)]
        if key not in self.answers and len(self.answers) >= MAX_ANSWERS:
            del self.answers[next(iter(self.answers))]
        self.answers[key] = Answer(b"".join(lines), body, etag, b"".join(not_modified), self.clock() + self.ttl)

    def clear(self) -> None:
        """Forget every kept answer, and any answer being made now (something a page shows changed)."""
        self.answers.clear()
        self.generation += 1


def request_key(host: bytes, target: bytes, accept_encoding: bytes) -> Key:
    """The lane key of a request: lower-cased Host, the request-target as sent, and whether gzip is accepted."""
    gzip = _GZIP.get(accept_encoding)
    if gzip is None:
        if len(_GZIP) >= 256:  # clients send few distinct values; bound it all the same
            _GZIP.clear()
        gzip = _GZIP[accept_encoding] = accepts_gzip(accept_encoding.decode("latin-1"))
    return host.lower(), target, gzip


_GZIP: dict[bytes, bool] = {}  # Accept-Encoding value -> accepts gzip


class Recorder:
    """Outermost ASGI middleware: offer GET requests a Mark, and keep the answers of those whose route set it."""

    def __init__(self, app: ASGIApp, lane: FastLane) -> None:
        self.app = app
        self.lane = lane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through; keep its answer when the route marked it and it is a plain 200."""
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        mark, generation = Mark(), self.lane.generation
        scope[MARK] = mark
        sent: dict[str, Any] = {}

        async def recording(message: Message) -> None:
            # Only a marked answer is copied (the route marks before it answers): an unmarked GET, such as
            # the console's endless event stream, must not be held in memory.
            if message["type"] == "http.response.start" and mark.keep:
                sent["status"], sent["headers"] = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body" and "status" in sent:
                sent["body"] = sent.get("body", b"") + message.get("body", b"")
                sent["more"] = message.get("more_body", False)
            await send(message)

        await self.app(scope, receive, recording)
        if mark.keep and sent.get("status") == 200 and not sent.get("more") and "body" in sent:
            headers = [(bytes(n).lower(), bytes(v)) for n, v in sent["headers"]]
            if not any(n == b"set-cookie" for n, _ in headers):
                self.lane.keep(_scope_key(scope), headers, sent["body"], generation)


def _scope_key(scope: Scope) -> Key:
    host = encoding = b""
    for name, value in scope["headers"]:
        if name == b"host":
            host = value
        elif name == b"accept-encoding":
            encoding = value
    target: bytes = scope.get("raw_path") or scope["path"].encode()
    if scope.get("query_string"):
        target += b"?" + scope["query_string"]
    return request_key(host, target, encoding)


class _Answered:
    """Stands in for uvicorn's request cycle after the lane answered: complete, nothing to wake."""

    response_complete = True
    keep_alive = True

    class message_event:  # the attribute name uvicorn's protocol uses
        @staticmethod
        def set() -> None:
            """Nothing waits on a lane answer."""


ANSWERED = _Answered()


def protocol_for(lane: FastLane) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol answering from `lane` before it builds an ASGI cycle."""

    class FastLaneProtocol(HttpToolsProtocol):
        def on_headers_complete(self) -> None:
            if not self._from_lane():
                super().on_headers_complete()

        def _from_lane(self) -> bool:
            """Write the lane's answer for this request, if there is a fresh one and nothing stands in the way."""
            if not lane.answers or self.parser.get_method() != b"GET" or self.flow.write_paused:
                return False
            if self.cycle is not None and not self.cycle.response_complete:  # pipelined behind an app answer
                return False
            if self.parser.get_http_version() != "1.1" or not self.parser.should_keep_alive():
                return False
            host = encoding = b""
            if_none_match: bytes | None = None
            for name, value in self.headers:
                if name == b"host":
                    host = value
                elif name == b"accept-encoding":
                    encoding = value
                elif name == b"if-none-match":
                    if_none_match = value
                elif name in (b"content-length", b"transfer-encoding", b"upgrade"):
                    return False
            answer = lane.lookup(request_key(host, self.url, encoding))
            if answer is None:
                return False
            modified = if_none_match is None or not etag_matches(if_none_match.decode("latin-1"), answer.etag)
            self.transport.write(answer.wire(self.server_state.default_headers, modified))
            lane.on_answer("hit" if modified else "not_modified")
            self.cycle = ANSWERED  # type: ignore[assignment]
            self.on_response_complete()
            return True

    return FastLaneProtocol
