"""The http probe: one request on a fresh connection, facts recorded, body read up to a limit."""

from __future__ import annotations

import asyncio
import base64
import functools
import ipaddress
import ssl
import time

import aiohttp
import yarl

from tocsin.checks.probes.context import PeerResponse, ProbeContext
from tocsin.checks.probes.tls import record_certificate, verification_message
from tocsin.checks.result import Observation, Reason
from tocsin.config.models import HttpMonitor

_CHUNK = 64 * 1024
_NO_AIOHTTP_TIMEOUT = aiohttp.ClientTimeout()  # all None: the probe's own deadline rules


async def probe_http(monitor: HttpMonitor, ctx: ProbeContext) -> Observation:
    """Request the monitor's URL and record status, headers, body, peer and certificate."""
    obs = Observation()
    seconds = monitor.timeout.total_seconds()
    start = time.perf_counter()
    conflict = family_conflict(monitor.url, monitor.ip_version)
    if conflict is not None:
        return Observation(error=Reason.CONNECT, message=conflict)
    try:
        session = ctx.session(monitor.ip_version, monitor.tls_verify)
        # One asyncio deadline bounds the whole exchange (connect, headers, a dribbled body);
        # aiohttp's own timers are switched off so each check arms one timer, not three.
        async with asyncio.timeout(seconds):
            await _exchange(monitor, session, obs)
    except Exception as exc:  # every failure becomes a reason, never a crash
        obs.error, obs.message = classify(exc, monitor)
    obs.latency_ms = (time.perf_counter() - start) * 1000
    return obs


async def _exchange(
    monitor: HttpMonitor,
    session: aiohttp.ClientSession,
    obs: Observation,
) -> None:
    """Send the request and record the response while its connection is still attached."""
    async with session.request(
        monitor.method,
        monitor.url,
        headers=_headers(monitor),
        data=monitor.body,
        allow_redirects=monitor.follow_redirects,
        max_redirects=monitor.max_redirects,
        timeout=_NO_AIOHTTP_TIMEOUT,
    ) as response:
        obs.connected = True
        obs.status = response.status
        obs.headers = _response_headers(response)
        _record_peer(response, obs)
        obs.body = await read_limited(response.content, monitor.max_body_bytes)
        if len(obs.body) >= monitor.max_body_bytes and not response.content.at_eof():
            obs.extra["body_truncated"] = True


def _record_peer(response: aiohttp.ClientResponse, obs: Observation) -> None:
    """Copy the peer address and certificate that PeerResponse noted on connecting."""
    if isinstance(response, PeerResponse):
        obs.ip = response.peer_ip
        if response.peer_certificate:
            record_certificate(obs, response.peer_certificate)


def _headers(monitor: HttpMonitor) -> dict[str, str] | None:
    """The request headers, with basic or bearer authorization added when configured."""
    if monitor.bearer_token is not None:
        return {**monitor.headers, "Authorization": f"Bearer {monitor.bearer_token}"}
    if monitor.basic_auth is not None:
        auth = monitor.basic_auth
        token = base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode("ascii")
        return {**monitor.headers, "Authorization": f"Basic {token}"}
    return monitor.headers or None


def _response_headers(response: aiohttp.ClientResponse) -> dict[str, str]:
    """Response headers with lower-case names; repeated headers joined with ', '."""
    headers: dict[str, str] = {}
    for name, value in response.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


async def read_limited(content: aiohttp.StreamReader, limit: int) -> bytes:
    """Read at most `limit` bytes and stop: an endless body must cost neither time nor memory."""
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = await content.read(min(remaining, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def classify(exc: BaseException, monitor: HttpMonitor) -> tuple[Reason, str]:
    """Map an aiohttp/asyncio exception to a failure reason and a message a responder can act on."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError) and isinstance(
        exc.certificate_error, ssl.SSLCertVerificationError
    ):
        return Reason.TLS, verification_message(exc.certificate_error, _host(exc, monitor))
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return Reason.TLS, f"TLS handshake failed: {exc}"
    if isinstance(exc, TimeoutError):
        return Reason.TIMEOUT, f"no complete response within {monitor.timeout.total_seconds():g}s"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return Reason.DNS, f"cannot resolve {_host(exc, monitor)}: {exc.os_error.strerror or exc}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return Reason.CONNECT, f"cannot connect to {exc.host}:{exc.port}: {exc.os_error.strerror or exc}"
    return _classify_exchange(exc, monitor)


def _classify_exchange(exc: BaseException, monitor: HttpMonitor) -> tuple[Reason, str]:
    """Failures after the connection was made: resets, redirects, and invalid HTTP."""
    if isinstance(exc, aiohttp.TooManyRedirects):
        hint = "raise max_redirects or set follow_redirects: false"
        return Reason.PROTOCOL, f"more than {monitor.max_redirects} redirects; {hint}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return Reason.CONNECT, "the server closed the connection without a complete response"
    if isinstance(exc, aiohttp.ClientOSError | ConnectionError):
        return Reason.CONNECT, f"connection failed: {getattr(exc, 'strerror', None) or exc}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return Reason.PROTOCOL, f"invalid HTTP response: {_short(exc.message)}"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return Reason.PROTOCOL, f"invalid HTTP response body: {_short(exc)}"
    return Reason.PROTOCOL, f"request failed: {type(exc).__name__}: {_short(exc)}"


def _host(exc: BaseException, monitor: HttpMonitor) -> str:
    """The host a connector error was about, else the URL's."""
    host = getattr(exc, "host", None)
    return str(host) if host else monitor.url


def _short(exc: BaseException | str) -> str:
    """An exception's text, cut to one readable line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:160] + "…"


@functools.lru_cache(maxsize=1 << 16)  # one entry per monitor URL: must hold every monitor, or it thrashes
def family_conflict(url: str, ip_version: str) -> str | None:
    """Why a URL's IP-literal host cannot be reached over the chosen `ip_version`, if so."""
    host = (yarl.URL(url).host or "").strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip_version == "any" or str(address.version) == ip_version:
        return None
    return (
        f"ip_version is {ip_version} but the url's host {host} is an IPv{address.version} address;"
        " remove ip_version or use a host name"
    )
