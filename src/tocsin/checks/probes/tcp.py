"""The tcp probe: connect (optionally over TLS), optionally send a line, read the banner."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time

from tocsin.checks.conditions import compiled_regex
from tocsin.checks.probes.context import ProbeContext
from tocsin.checks.probes.tls import classify_socket_error, fail, record_peer
from tocsin.checks.result import Observation, Reason
from tocsin.config.models import TcpMonitor

MAX_BANNER_BYTES = 64 * 1024
_FAMILIES = {"any": socket.AF_UNSPEC, "4": socket.AF_INET, "6": socket.AF_INET6}


async def probe_tcp(monitor: TcpMonitor, ctx: ProbeContext) -> Observation:
    """Connect to host:port and, when `send` or `expect` is set, talk until answered."""
    obs = Observation()
    start = time.perf_counter()
    deadline = asyncio.get_running_loop().time() + monitor.timeout.total_seconds()
    try:
        streams = await _connect(monitor, ctx, obs, deadline)
    except (OSError, ssl.SSLError) as exc:
        fail(obs, *classify_socket_error(exc, monitor.host, monitor.port))
        streams = None
    if streams is not None:
        try:
            await _converse(monitor, *streams, obs, deadline)
        finally:
            streams[1].transport.abort()  # nothing left to say; skip the polite close
    obs.latency_ms = (time.perf_counter() - start) * 1000
    return obs


async def _connect(
    monitor: TcpMonitor, ctx: ProbeContext, obs: Observation, deadline: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """Open the connection before the deadline; None (with a TIMEOUT error) when too slow."""
    context = ctx.ssl_context(monitor.tls_verify) if monitor.tls else None
    try:
        async with asyncio.timeout_at(deadline):
            reader, writer = await asyncio.open_connection(
                monitor.host,
                monitor.port,
                ssl=context,
                server_hostname=monitor.host if context else None,
                family=_FAMILIES[monitor.ip_version],
            )
    except TimeoutError:
        seconds = monitor.timeout.total_seconds()
        fail(obs, Reason.TIMEOUT, f"no connection to {monitor.host}:{monitor.port} within {seconds:g}s")
        return None
    obs.connected = True
    record_peer(obs, writer.transport)
    return reader, writer


async def _converse(
    monitor: TcpMonitor,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    obs: Observation,
    deadline: float,
) -> None:
    """Send `send`, then read until `expect` matches, the peer closes, 64 KiB, or the deadline."""
    if monitor.send is None and monitor.expect is None:
        return
    received = bytearray()
    try:
        async with asyncio.timeout_at(deadline):
            if monitor.send is not None:
                writer.write(monitor.send.encode())
                await writer.drain()
            await _read(monitor, reader, received)
    except TimeoutError:
        obs.extra["read_timed_out"] = True  # not an error: the judge decides on what arrived
    except (OSError, ssl.SSLError) as exc:
        fail(obs, *classify_socket_error(exc, monitor.host, monitor.port))
    finally:
        obs.body = bytes(received)


async def _read(monitor: TcpMonitor, reader: asyncio.StreamReader, received: bytearray) -> None:
    """Read into `received` until the stop rule holds: match, close, limit, or one chunk."""
    pattern = compiled_regex(monitor.expect) if monitor.expect is not None else None
    while len(received) < MAX_BANNER_BYTES:
        chunk = await reader.read(MAX_BANNER_BYTES - len(received))
        if not chunk:
            return
        received += chunk
        if pattern is None or pattern.search(received.decode("utf-8", "replace")):
            return
