"""The tls probe, plus what every probe needs to read certificates and explain TLS failures."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tocsin.checks.result import Observation, Reason
from tocsin.config.models import TlsMonitor

if TYPE_CHECKING:  # context.py imports this module's peer helpers
    from tocsin.checks.probes.context import ProbeContext

_NAME_KEYS = {
    "2.5.4.3": "CN",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
}
_UNTRUSTED = "set ca_file to trust a private CA, or serve the full chain"
_VERIFY_HINTS = {
    9: "certificate is not yet valid; check the server's certificate and clock",
    10: "certificate has expired; renew it",
    18: "self-signed certificate; put it in ca_file or use one from a trusted CA",
    19: f"self-signed certificate in the chain; {_UNTRUSTED}",
    20: f"certificate is not signed by a trusted CA; {_UNTRUSTED}",
    21: f"certificate is not signed by a trusted CA; {_UNTRUSTED}",
}
_NAME_MISMATCH = (62, 64)  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH


async def probe_tls(monitor: TlsMonitor, ctx: ProbeContext) -> Observation:
    """Handshake with host:port, verify chain and hostname, and record the certificate."""
    obs = Observation()
    start = time.perf_counter()
    try:
        async with asyncio.timeout(monitor.timeout.total_seconds()):
            await _verify_or_explain(monitor, ctx, obs)
    except TimeoutError:
        fail(obs, Reason.TIMEOUT, f"no TLS handshake within {monitor.timeout.total_seconds():g}s")
    except (OSError, ssl.SSLError) as exc:
        fail(obs, *classify_socket_error(exc, monitor.host, monitor.port))
    obs.latency_ms = (time.perf_counter() - start) * 1000
    return obs


async def _verify_or_explain(monitor: TlsMonitor, ctx: ProbeContext, obs: Observation) -> None:
    """Handshake verified; on a verification failure, fetch the certificate unverified too."""
    sni = monitor.server_name or monitor.host
    try:
        context = ctx.ssl_context(True, monitor.ca_file)
    except (OSError, ssl.SSLError) as exc:
        problem = f"cannot load ca_file {monitor.ca_file!r}: {exc}; check it is a PEM file"
        fail(obs, Reason.TLS, problem)
        context = ctx.ssl_context(False)
    try:
        await handshake(obs, monitor.host, monitor.port, context, sni)
    except ssl.SSLCertVerificationError as exc:
        fail(obs, Reason.TLS, verification_message(exc, sni))
        await handshake(obs, monitor.host, monitor.port, ctx.ssl_context(False), sni)
        if exc.verify_code == 10 and obs.certificate_expires_at is not None:
            obs.message = f"TLS certificate expired at {obs.certificate_expires_at:%Y-%m-%dT%H:%MZ}"


async def handshake(obs: Observation, host: str, port: int, context: ssl.SSLContext, sni: str) -> None:
    """Open a TLS connection, record the peer address and certificate, and close it."""
    _, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=sni)
    obs.connected = True
    record_peer(obs, writer.transport)
    writer.transport.abort()  # a probe has nothing to say; do not wait for close_notify


def record_peer(obs: Observation, transport: asyncio.BaseTransport) -> None:
    """Record the remote address and, on TLS, the peer certificate's expiry and subject."""
    obs.ip, der = peer_facts(transport)
    if der:
        record_certificate(obs, der)


def peer_facts(transport: asyncio.BaseTransport) -> tuple[str | None, bytes | None]:
    """A connection's remote address and, on TLS, its peer certificate in DER form."""
    peer = transport.get_extra_info("peername")
    ip = str(peer[0]) if isinstance(peer, tuple) and peer else None
    ssl_object = transport.get_extra_info("ssl_object")
    if isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return ip, ssl_object.getpeercert(binary_form=True)
    return ip, None


def record_certificate(obs: Observation, der: bytes) -> None:
    """Store a DER certificate's notAfter and subject; an unreadable one is noted, not fatal."""
    try:
        obs.certificate_expires_at, obs.certificate_subject = parse_certificate(der)
    except (IndexError, ValueError) as exc:
        obs.extra["certificate_error"] = f"cannot read the peer certificate: {exc}"


def fail(obs: Observation, reason: Reason, message: str) -> None:
    """Record the first failure of a probe; later ones are consequences and are dropped."""
    if obs.error is None:
        obs.error, obs.message = reason, message


def verification_message(exc: ssl.SSLCertVerificationError, sni: str) -> str:
    """Say precisely why a certificate was rejected and how to fix it."""
    code = exc.verify_code
    if code in _NAME_MISMATCH:
        detail = f"hostname mismatch: the certificate is not valid for {sni!r}"
    else:
        detail = _VERIFY_HINTS.get(code, exc.verify_message or str(exc))
    return f"TLS certificate verification failed: {detail}"


def classify_socket_error(exc: BaseException, host: str, port: int) -> tuple[Reason, str]:
    """Map a socket or TLS exception to a failure reason and a message naming the peer."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Reason.TLS, verification_message(exc, host)
    if isinstance(exc, ssl.SSLError):
        return Reason.TLS, f"TLS handshake with {host}:{port} failed: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return Reason.DNS, f"cannot resolve {host}: {exc.strerror or exc}"
    return Reason.CONNECT, f"connection to {host}:{port} {_what_happened(exc)}"


def _what_happened(exc: BaseException) -> str:
    """A connection failure in a few words: refused, reset, or the OS's own words."""
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset by peer"
    if isinstance(exc, OSError) and exc.strerror:
        return f"failed: {exc.strerror}"
    return f"failed: {exc!r}"


def parse_certificate(der: bytes) -> tuple[datetime, str]:
    """Read notAfter and the subject (RFC 4514 style) from a DER X.509 certificate."""
    _, start, end = _tlv(der, 0)
    _, start, end = _tlv(der, start)
    fields = _children(der, start, end)
    if fields[0][0] == 0xA0:  # explicit version tag
        fields = fields[1:]
    validity, subject = fields[3], fields[4]
    not_after = _time(der, _children(der, validity[1], validity[2])[1])
    return not_after, _name(der, subject)


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """One DER element at `pos`: (tag, content start, content end)."""
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(data[pos : pos + size], "big")
        pos += size
    if pos + length > len(data):
        raise ValueError("truncated DER element")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """The DER elements inside a constructed element's content."""
    children = []
    while start < end:
        child = _tlv(data, start)
        children.append(child)
        start = child[2]
    return children


def _time(data: bytes, element: tuple[int, int, int]) -> datetime:
    """Decode UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ)."""
    tag, start, end = element
    text = data[start:end].decode("ascii").rstrip("Z")
    if tag == 0x17:
        century = "19" if int(text[:2]) >= 50 else "20"
        text = century + text
    return datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def _name(data: bytes, element: tuple[int, int, int]) -> str:
    """Render an X.501 Name as `CN=host,O=org` (most specific first)."""
    parts: list[str] = []
    for _, set_start, set_end in _children(data, element[1], element[2]):
        for _, start, end in _children(data, set_start, set_end):
            oid, value = _children(data, start, end)[:2]
            key = _NAME_KEYS.get(_oid(data[oid[1] : oid[2]]), _oid(data[oid[1] : oid[2]]))
            raw = data[value[1] : value[2]]
            text = raw.decode("utf-16-be" if value[0] == 0x1E else "utf-8", "replace")
            parts.append(f"{key}={text}")
    return ",".join(reversed(parts))


def _oid(raw: bytes) -> str:
    """Decode a DER object identifier to dotted form."""
    arcs = [raw[0] // 40, raw[0] % 40]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(str(arc) for arc in arcs)
