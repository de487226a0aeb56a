"""The tls probe against real TLS servers on 127.0.0.1 with generated certificates."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.component.hostile import CertSet, hang, make_certs, reset, serve
from tocsin.checks.probes import ProbeContext, run_probe
from tocsin.checks.result import Reason
from tocsin.config.models import TlsMonitor

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SLACK = 0.3


def tls(port: int, **options: Any) -> TlsMonitor:
    """A tls monitor for 127.0.0.1 with a short timeout."""
    options.setdefault("timeout", "500ms")
    return TlsMonitor(name="t", kind="tls", host="127.0.0.1", port=port, **options)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> CertSet:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
async def ctx() -> AsyncIterator[ProbeContext]:
    async with ProbeContext() as context:
        yield context


async def _idle(reader: Any, writer: Any) -> None:
    await reader.read()


async def test_valid_certificate_from_a_private_ca(ctx: ProbeContext, certs: CertSet) -> None:
    async with serve(_idle, ssl_context=certs.valid.server_context()) as port:
        obs = await run_probe(tls(port, ca_file=str(certs.ca_file)), ctx, NOW)
    assert obs.error is None, obs.message
    assert obs.connected
    assert obs.ip == "127.0.0.1"
    assert obs.certificate_expires_at == certs.valid.not_after
    assert obs.certificate_subject == "CN=valid,O=tocsin tests"


async def test_server_name_is_sent_and_matched(ctx: ProbeContext, certs: CertSet) -> None:
    async with serve(_idle, ssl_context=certs.wrong_host.server_context()) as port:
        obs = await run_probe(tls(port, ca_file=str(certs.ca_file), server_name="other.example"), ctx, NOW)
    assert obs.error is None, obs.message


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        # expired: the message carries the expiry instant, read from an unverified retry
        ("expired", "TLS certificate expired at "),
        # self-signed: says so, and how to trust it
        ("self_signed", "TLS certificate verification failed: self-signed certificate; put it in ca_file"),
        # SAN does not cover 127.0.0.1
        (
            "wrong_host",
            "TLS certificate verification failed: hostname mismatch: the certificate is not valid for '127.0.0.1'",
        ),
    ],
)
async def test_verification_failures_still_record_the_certificate(
    ctx: ProbeContext, certs: CertSet, pair: str, message: str
) -> None:
    cert = getattr(certs, pair)
    async with serve(_idle, ssl_context=cert.server_context()) as port:
        obs = await run_probe(tls(port, ca_file=str(certs.ca_file)), ctx, NOW)
    assert obs.error is Reason.TLS
    assert obs.message.startswith(message)
    assert obs.certificate_expires_at == cert.not_after


async def test_untrusted_ca_says_how_to_fix_it(ctx: ProbeContext, certs: CertSet) -> None:
    async with serve(_idle, ssl_context=certs.valid.server_context()) as port:
        obs = await run_probe(tls(port), ctx, NOW)
    assert obs.error is Reason.TLS
    assert "set ca_file to trust a private CA" in obs.message


async def test_unreadable_ca_file_is_tls_with_the_path(ctx: ProbeContext, certs: CertSet) -> None:
    async with serve(_idle, ssl_context=certs.valid.server_context()) as port:
        obs = await run_probe(tls(port, ca_file="/nonexistent/ca.pem"), ctx, NOW)
    assert obs.error is Reason.TLS
    assert "cannot load ca_file '/nonexistent/ca.pem'" in obs.message
    assert obs.certificate_expires_at == certs.valid.not_after


@pytest.mark.parametrize(
    ("handler", "reason"),
    [
        (hang, Reason.TIMEOUT),  # accepts TCP, never answers the ClientHello
        (reset, Reason.CONNECT),  # resets during the handshake
    ],
)
async def test_hostile_peers(ctx: ProbeContext, handler: Any, reason: Reason) -> None:
    async with serve(handler) as port:
        started = time.monotonic()
        obs = await run_probe(tls(port), ctx, NOW)
        elapsed = time.monotonic() - started
    assert obs.error is reason, obs.message
    assert elapsed < 0.5 + SLACK


async def test_plain_tcp_server_is_tls_error(ctx: ProbeContext) -> None:
    async def not_tls(reader: Any, writer: Any) -> None:
        await reader.read(1)
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        writer.close()

    async with serve(not_tls) as port:
        obs = await run_probe(tls(port), ctx, NOW)
    assert obs.error is Reason.TLS, obs.message
    assert obs.message.startswith(f"TLS handshake with 127.0.0.1:{port} failed")


async def test_refused_is_connect(ctx: ProbeContext) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    obs = await run_probe(tls(port), ctx, NOW)
    assert obs.error is Reason.CONNECT
    assert obs.message == f"connection to 127.0.0.1:{port} refused"
