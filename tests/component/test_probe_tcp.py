"""The tcp probe against real line-protocol servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.component.hostile import CertSet, banner, endless_body, hang, make_certs, reset, serve
from tocsin.checks.conditions import compile_conditions
from tocsin.checks.judge import judge
from tocsin.checks.probes import ProbeContext, run_probe
from tocsin.checks.result import Outcome, Reason
from tocsin.config.models import TcpMonitor

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SLACK = 0.3


def tcp(port: int, **options: Any) -> TcpMonitor:
    """A tcp monitor for 127.0.0.1 with a short timeout."""
    options.setdefault("timeout", "500ms")
    return TcpMonitor(name="t", kind="tcp", host="127.0.0.1", port=port, **options)


@pytest.fixture
async def ctx() -> AsyncIterator[ProbeContext]:
    async with ProbeContext() as context:
        yield context


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertSet:
    return make_certs(tmp_path_factory.mktemp("certs"))


async def test_connect_only_does_not_wait_for_a_banner(ctx: ProbeContext) -> None:
    async with serve(hang) as port:
        started = time.monotonic()
        obs = await run_probe(tcp(port), ctx, NOW)
        elapsed = time.monotonic() - started
    assert obs.error is None
    assert obs.connected
    assert obs.ip == "127.0.0.1"
    assert obs.body is None
    assert elapsed < 0.2


async def test_expect_stops_reading_at_the_first_match(ctx: ProbeContext) -> None:
    async with serve(banner(b"220 mail.example ESMTP ready\r\n")) as port:
        started = time.monotonic()
        monitor = tcp(port, expect=r"^220 .*ESMTP")
        obs = await run_probe(monitor, ctx, NOW)
        elapsed = time.monotonic() - started
    assert obs.body == b"220 mail.example ESMTP ready\r\n"
    assert elapsed < 0.2  # did not wait for the timeout after the match
    assert judge(monitor, obs, [], NOW).outcome is Outcome.UP


async def test_send_with_yaml_escapes_then_read_the_reply(ctx: ProbeContext) -> None:
    async with serve(banner(b"hello\n", echo=True)) as port:
        monitor = tcp(port, send="PING\r\n", expect="echo: PING\r\n")
        obs = await run_probe(monitor, ctx, NOW)
    assert obs.body is not None
    assert b"echo: PING\r\n" in obs.body
    assert judge(monitor, obs, [], NOW).outcome is Outcome.UP


async def test_unmatched_expect_reads_until_timeout_and_is_condition(ctx: ProbeContext) -> None:
    async with serve(banner(b"SSH-2.0-OpenSSH\r\n")) as port:
        monitor = tcp(port, expect="^220 ")
        started = time.monotonic()
        obs = await run_probe(monitor, ctx, NOW)
        elapsed = time.monotonic() - started
    assert obs.error is None
    assert obs.extra["read_timed_out"] is True
    assert elapsed < 0.5 + SLACK
    result = judge(monitor, obs, [], NOW)
    assert result.reason is Reason.CONDITION
    assert result.failures[0].actual == "'SSH-2.0-OpenSSH\\r\\n'"


async def test_banner_is_capped_at_64_kib(ctx: ProbeContext) -> None:
    async with serve(endless_body) as port:
        obs = await run_probe(tcp(port, send="GET / HTTP/1.1\r\n\r\n", expect="never"), ctx, NOW)
    assert len(obs.body or b"") == 64 * 1024


async def test_body_conditions_see_the_banner(ctx: ProbeContext) -> None:
    async with serve(banner(b"+OK redis\r\n")) as port:
        monitor = tcp(port, send="PING\r\n", conditions=["[BODY] == pat(+OK*)", "[CONNECTED] == true"])
        obs = await run_probe(monitor, ctx, NOW)
    assert judge(monitor, obs, compile_conditions(monitor.conditions, "tcp"), NOW).outcome is Outcome.UP


async def test_tls_records_the_certificate(ctx: ProbeContext, certs: CertSet) -> None:
    async with serve(banner(b"* OK IMAP ready\r\n"), ssl_context=certs.expiring.server_context()) as port:
        obs = await run_probe(tcp(port, tls=True, tls_verify=False, expect="OK"), ctx, NOW)
    assert obs.error is None, obs.message
    assert obs.certificate_expires_at == certs.expiring.not_after
    assert obs.body == b"* OK IMAP ready\r\n"


async def test_tls_verification_failure_is_tls(ctx: ProbeContext, certs: CertSet) -> None:
    async with serve(banner(b"hi"), ssl_context=certs.self_signed.server_context()) as port:
        obs = await run_probe(tcp(port, tls=True), ctx, NOW)
    assert obs.error is Reason.TLS
    assert "self-signed" in obs.message


async def test_reset_while_reading_is_connect(ctx: ProbeContext) -> None:
    async with serve(reset) as port:
        obs = await run_probe(tcp(port, send="hi\r\n\r\n", expect="x"), ctx, NOW)
    assert obs.error is Reason.CONNECT, obs.message


async def test_refused_is_connect(ctx: ProbeContext) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    obs = await run_probe(tcp(port), ctx, NOW)
    assert obs.error is Reason.CONNECT
    assert obs.message == f"connection to 127.0.0.1:{port} refused"
    assert not obs.connected


async def test_connect_timeout_is_timeout(ctx: ProbeContext) -> None:
    # A listening socket with a full backlog leaves new SYNs unanswered.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        started = time.monotonic()
        obs = await run_probe(tcp(port), ctx, NOW)
        elapsed = time.monotonic() - started
        for filler in fillers:
            filler.close()
    if obs.error is None:
        pytest.skip("this kernel accepted beyond the backlog; cannot provoke a connect timeout")
    assert obs.error is Reason.TIMEOUT
    assert elapsed < 0.5 + SLACK


async def test_never_hangs_past_the_timeout_when_the_peer_stays_silent(ctx: ProbeContext) -> None:
    async with serve(hang) as port:
        started = time.monotonic()
        obs = await asyncio.wait_for(run_probe(tcp(port, send="x", expect="y"), ctx, NOW), 2)
        elapsed = time.monotonic() - started
    assert obs.connected
    assert 0.45 < elapsed < 0.5 + SLACK
