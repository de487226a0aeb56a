"""The http probe against real servers on 127.0.0.1: well-behaved, TLS and hostile."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from tests.component.hostile import (
    CertSet,
    endless_body,
    garbage,
    hang,
    make_certs,
    reset,
    respond,
    serve,
    slow_loris,
)
from tocsin.checks.probes import ProbeContext, run_probe
from tocsin.checks.result import Reason
from tocsin.config.models import HeartbeatMonitor, HttpMonitor

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SLACK = 0.3  # seconds a probe may take beyond its timeout


def http(url: str, **options: Any) -> HttpMonitor:
    """An http monitor with a short timeout."""
    options.setdefault("timeout", "500ms")
    return HttpMonitor(name="t", kind="http", url=url, **options)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertSet:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
async def ctx() -> AsyncIterator[ProbeContext]:
    async with ProbeContext() as context:
        yield context


async def _echo(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "method": request.method,
            "headers": dict(request.headers),
            "body": await request.text(),
            "status": "UP",
        },
        headers={"X-Custom": "yes"},
    )


async def _redirect(request: web.Request) -> web.Response:
    left = int(request.match_info["n"])
    raise web.HTTPFound("/ok" if left <= 1 else f"/r/{left - 1}")


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="fine")


@pytest.fixture
async def app_url() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/echo", _echo)
    app.router.add_get("/r/{n}", _redirect)
    app.router.add_get("/ok", _ok)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


async def test_records_status_headers_body_peer_and_latency(ctx: ProbeContext, app_url: str) -> None:
    obs = await run_probe(http(f"{app_url}/echo"), ctx, NOW)
    assert obs.error is None, obs.message
    assert obs.connected
    assert obs.status == 200
    assert obs.headers["x-custom"] == "yes"  # names are lower-cased
    assert json.loads(obs.body or b"")["status"] == "UP"
    assert obs.ip == "127.0.0.1"
    assert obs.latency_ms is not None
    assert 0 < obs.latency_ms < 500


async def test_sends_method_headers_and_body(ctx: ProbeContext, app_url: str) -> None:
    monitor = http(f"{app_url}/echo", method="POST", headers={"X-Probe": "1"}, body="hello")
    echoed = json.loads((await run_probe(monitor, ctx, NOW)).body or b"")
    assert echoed["method"] == "POST"
    assert echoed["headers"]["X-Probe"] == "1"
    assert echoed["body"] == "hello"


async def test_basic_and_bearer_auth(ctx: ProbeContext, app_url: str) -> None:
    basic = http(f"{app_url}/echo", basic_auth={"username": "u", "password": "p"})
    bearer = http(f"{app_url}/echo", bearer_token="tkn")
    assert b"Basic dTpw" in ((await run_probe(basic, ctx, NOW)).body or b"")
    assert b"Bearer tkn" in ((await run_probe(bearer, ctx, NOW)).body or b"")


async def test_follows_redirects_up_to_the_limit(ctx: ProbeContext, app_url: str) -> None:
    followed = await run_probe(http(f"{app_url}/r/3"), ctx, NOW)
    assert followed.status == 200
    assert followed.body == b"fine"
    not_followed = await run_probe(http(f"{app_url}/r/3", follow_redirects=False), ctx, NOW)
    assert not_followed.status == 302
    assert not_followed.error is None
    too_many = await run_probe(http(f"{app_url}/r/3", max_redirects=1), ctx, NOW)
    assert too_many.error is Reason.PROTOCOL
    assert "max_redirects" in too_many.message


async def test_no_cookies_carry_over_between_checks(ctx: ProbeContext) -> None:
    async with serve(respond(headers={"Set-Cookie": "s=1"})) as port:
        await run_probe(http(f"http://127.0.0.1:{port}/"), ctx, NOW)
    session = ctx.session("any", True)
    assert len(session.cookie_jar) == 0


async def test_ip_version_6_connects_over_ipv6(ctx: ProbeContext) -> None:
    async with serve(respond(), host="::1") as port:
        obs = await run_probe(http(f"http://[::1]:{port}/", ip_version="6"), ctx, NOW)
    assert obs.status == 200
    assert obs.ip == "::1"


async def test_endless_body_is_cut_at_max_body_bytes(ctx: ProbeContext) -> None:
    async with serve(endless_body) as port:
        started = time.monotonic()
        obs = await run_probe(http(f"http://127.0.0.1:{port}/", max_body_bytes=100_000), ctx, NOW)
        elapsed = time.monotonic() - started
    assert obs.error is None
    assert obs.status == 200
    assert len(obs.body or b"") == 100_000
    assert obs.extra["body_truncated"] is True
    assert elapsed < 0.5 + SLACK


@pytest.mark.parametrize(
    ("handler", "reason"),
    [
        (hang, Reason.TIMEOUT),  # accepts, never answers
        (slow_loris, Reason.TIMEOUT),  # dribbles header bytes forever
        (reset, Reason.CONNECT),  # RST after reading the request
        (garbage, Reason.PROTOCOL),  # answers with bytes that are not HTTP
    ],
)
async def test_hostile_servers_map_to_a_reason_within_the_timeout(
    ctx: ProbeContext, handler: Any, reason: Reason
) -> None:
    async with serve(handler) as port:
        started = time.monotonic()
        obs = await run_probe(http(f"http://127.0.0.1:{port}/"), ctx, NOW)
        elapsed = time.monotonic() - started
    assert obs.error is reason, obs.message
    assert obs.message
    assert elapsed < 0.5 + SLACK


async def test_refused_connection_is_connect(ctx: ProbeContext) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    obs = await run_probe(http(f"http://127.0.0.1:{port}/"), ctx, NOW)
    assert obs.error is Reason.CONNECT
    assert str(port) in obs.message
    assert not obs.connected


class _NoSuchName(AbstractResolver):
    """A resolver that knows no names, like a DNS server answering NXDOMAIN."""

    async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[ResolveResult]:
        raise OSError(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        return None


async def test_unresolvable_name_is_dns() -> None:
    async with ProbeContext(resolver=_NoSuchName()) as ctx:
        obs = await run_probe(http("http://api.example.invalid/"), ctx, NOW)
    assert obs.error is Reason.DNS
    assert obs.message == "cannot resolve api.example.invalid: Name or service not known"


async def test_https_records_the_certificate(certs: CertSet) -> None:
    context = ProbeContext(ca_file=str(certs.ca_file))
    async with context as ctx, serve(respond(), ssl_context=certs.valid.server_context()) as port:
        obs = await run_probe(http(f"https://127.0.0.1:{port}/"), ctx, NOW)
    assert obs.error is None, obs.message
    assert obs.certificate_expires_at == certs.valid.not_after
    assert obs.certificate_subject == "CN=valid,O=tocsin tests"


@pytest.mark.parametrize(
    ("pair", "words"),
    [
        ("expired", "certificate has expired"),
        ("self_signed", "self-signed certificate"),
        ("wrong_host", "hostname mismatch"),
    ],
)
async def test_https_verification_failures_are_tls(certs: CertSet, pair: str, words: str) -> None:
    server = serve(respond(), ssl_context=getattr(certs, pair).server_context())
    async with ProbeContext(ca_file=str(certs.ca_file)) as ctx, server as port:
        obs = await run_probe(http(f"https://127.0.0.1:{port}/"), ctx, NOW)
    assert obs.error is Reason.TLS
    assert words in obs.message


async def test_tls_verify_off_accepts_and_still_reads_expiry(ctx: ProbeContext, certs: CertSet) -> None:
    async with serve(respond(), ssl_context=certs.expired.server_context()) as port:
        obs = await run_probe(http(f"https://127.0.0.1:{port}/", tls_verify=False), ctx, NOW)
    assert obs.error is None
    assert obs.status == 200
    assert obs.certificate_expires_at == certs.expired.not_after


async def test_plain_http_to_a_tls_server_is_protocol_or_connect(ctx: ProbeContext, certs: CertSet) -> None:
    async with serve(respond(), ssl_context=certs.valid.server_context()) as port:
        obs = await run_probe(http(f"http://127.0.0.1:{port}/"), ctx, NOW)
    assert obs.error in (Reason.PROTOCOL, Reason.CONNECT)


async def test_heartbeat_is_not_a_probe(ctx: ProbeContext) -> None:
    with pytest.raises(ValueError, match="heartbeat monitors are not probed"):
        await run_probe(HeartbeatMonitor(name="hb", kind="heartbeat"), ctx, NOW)
