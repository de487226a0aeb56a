"""Shared pieces of the channel tests: a notification, a local server with scripted replies, failure cases."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tocsin.alerting.alert import Alert
from tocsin.notify.model import Channel, DeliveryError, Notification, PermanentError, RetryableError

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
GROUP_KEY = '{}:{alertname="HighLatency", service="api"}'


def firing_alert(instance: str = "a:9090", **annotations: str) -> Alert:
    """A HighLatency alert that started at T0 and has not ended."""
    notes = {"summary": "p99 latency above 500ms", "runbook_url": "https://runbooks.example.com/latency"}
    return Alert(
        labels={"alertname": "HighLatency", "service": "api", "severity": "critical", "instance": instance},
        starts_at=T0,
        annotations=notes | annotations,
        ends_at=T0 + timedelta(days=1),  # Prometheus-style: a future end means still firing
        generator_url="http://prometheus.example.com/graph?g0.expr=up&g0.tab=1",
    )


def resolved_alert() -> Alert:
    """A HighLatency alert that ended at T0 + 30 minutes."""
    return Alert(
        labels={"alertname": "HighLatency", "service": "api", "severity": "critical", "instance": "b:9090"},
        starts_at=T0 + timedelta(minutes=3),
        annotations={"summary": "p99 latency above 500ms"},
        ends_at=T0 + timedelta(minutes=30),
    )


def notification(*alerts: Alert, **changes: Any) -> Notification:
    """A notification for group HighLatency/api at T0 + 2h5m: one firing and one resolved alert by default."""
    alerts = alerts or (firing_alert(), resolved_alert())
    values: dict[str, Any] = {
        "receiver": "core",
        "group_key": GROUP_KEY,
        "group_labels": {"alertname": "HighLatency", "service": "api"},
        "common_labels": {"alertname": "HighLatency", "service": "api", "severity": "critical"},
        "common_annotations": {"summary": "p99 latency above 500ms"},
        "alerts": alerts,
        "status": "firing",
        "reason": "new",
        "external_url": "https://ops.example.com",
        "idempotency_key": "notif-0042",
        "created_at": T0 + timedelta(hours=2, minutes=5),
    }
    return Notification(**(values | changes))


def resolved_notification() -> Notification:
    """Every alert of the group has ended."""
    return notification(resolved_alert(), status="resolved", reason="resolved")


@dataclass
class Scripted:
    """What the local server answers."""

    status: int = 200
    body: bytes | dict[str, Any] | str = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False


@dataclass
class Recorded:
    """One request the local server received."""

    method: str
    path: str
    raw_path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Server:
    """A local HTTP server that records requests and answers with `reply`."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    reply: Scripted = field(default_factory=Scripted)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def only(self) -> Recorded:
        """The single request received (fails if there were more or none)."""
        assert len(self.requests) == 1, self.requests
        return self.requests[0]


@contextlib.asynccontextmanager
async def local_server() -> AsyncIterator[Server]:
    """Serve on 127.0.0.1 at a free port; every path and method is recorded."""
    server = Server()

    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        server.requests.append(
            Recorded(
                request.method,
                request.path,
                request.raw_path,
                dict(request.query),
                dict(request.headers),
                body,
            )
        )
        reply = server.reply
        if reply.hang:
            await server.release.wait()
        if isinstance(reply.body, dict):
            return web.json_response(reply.body, status=reply.status, headers=reply.headers)
        text = reply.body.encode() if isinstance(reply.body, str) else reply.body
        return web.Response(body=text, status=reply.status, headers=reply.headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        server.release.set()
        await runner.cleanup()


def refused_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass(frozen=True)
class Case:
    """A failure and how a channel must classify it."""

    name: str
    reply: Scripted | None
    error: type[DeliveryError]
    retry_after: float | None = None


FAILURES = [
    Case("500", Scripted(500, b"internal error"), RetryableError),
    Case("503-retry-after", Scripted(503, b"busy", {"Retry-After": "30"}), RetryableError, 30.0),
    Case("429-retry-after", Scripted(429, b"slow down", {"Retry-After": "7"}), RetryableError, 7.0),
    Case("408", Scripted(408, b"request timeout"), RetryableError),
    Case("400", Scripted(400, b"invalid payload"), PermanentError),
    Case("404", Scripted(404, b"no such hook"), PermanentError),
    Case("refused", None, RetryableError),
    Case("timeout", Scripted(hang=True), RetryableError),
]
FAILURE_IDS = [case.name for case in FAILURES]


async def assert_classified(
    case: Case,
    make: Callable[[str], Channel],
    server: Server,
    http: aiohttp.ClientSession,
    n: Notification | None = None,
) -> None:
    """Send through a channel pointed at `server` (or at a closed port) and check the failure class.

    `make(base_url)` builds the channel; it must configure a short timeout (~0.3s).
    """
    if case.reply is not None:
        server.reply = case.reply
    channel = make(server.url if case.reply is not None else refused_url())
    with pytest.raises(DeliveryError) as info:
        await channel.send(n or notification(), http)
    assert type(info.value) is case.error, info.value
    if isinstance(info.value, RetryableError):
        assert info.value.retry_after == case.retry_after
    if case.reply is not None and not case.reply.hang:
        assert info.value.status_code == case.reply.status
