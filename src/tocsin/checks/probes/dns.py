"""The dns probe: one query to one server, the rcode and normalised answers recorded."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import time
from collections.abc import Callable
from typing import Any

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver

from tocsin.checks.probes.context import ProbeContext
from tocsin.checks.probes.tls import fail
from tocsin.checks.result import Observation, Reason
from tocsin.config.models import DnsMonitor


async def probe_dns(monitor: DnsMonitor, ctx: ProbeContext) -> Observation:
    """Ask the configured (or system) server for the record; NXDOMAIN is an rcode, not an error."""
    obs = Observation()
    seconds = monitor.timeout.total_seconds()
    start = time.perf_counter()
    try:
        async with asyncio.timeout(seconds):
            host, port = await _server(monitor, ctx)
            response = await _ask(monitor, host, port, seconds)
        _record(obs, response, monitor.record_type)
    except (TimeoutError, dns.exception.Timeout):
        fail(obs, Reason.TIMEOUT, f"no DNS answer within {seconds:g}s")
    except dns.resolver.NoResolverConfiguration:
        fail(obs, Reason.DNS, "no nameserver in /etc/resolv.conf; set resolver: host[:port]")
    except socket.gaierror as exc:
        fail(obs, Reason.DNS, f"cannot resolve the resolver {monitor.resolver!r}: {exc.strerror}")
    except OSError as exc:
        fail(obs, Reason.CONNECT, f"cannot reach the DNS server: {exc.strerror or exc}")
    except dns.exception.DNSException as exc:
        fail(obs, Reason.PROTOCOL, f"invalid DNS response: {exc}")
    obs.latency_ms = (time.perf_counter() - start) * 1000
    return obs


async def _ask(monitor: DnsMonitor, host: str, port: int, seconds: float) -> dns.message.Message:
    """Send the query over UDP (falling back to TCP when truncated) or TCP."""
    query = dns.message.make_query(monitor.query, monitor.record_type)
    if monitor.transport == "tcp":
        response: dns.message.Message = await dns.asyncquery.tcp(query, host, seconds, port)
        return response
    response, _ = await dns.asyncquery.udp_with_fallback(query, host, seconds, port)
    return response


async def _server(monitor: DnsMonitor, ctx: ProbeContext) -> tuple[str, int]:
    """The server's address and port: `resolver` (resolving a name), or the system's first."""
    text = monitor.resolver if monitor.resolver is not None else _system_server(ctx)
    host, port = split_host_port(text)
    if _is_ip(host):
        return host, port
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    return str(infos[0][4][0]), port


def _system_server(ctx: ProbeContext) -> str:
    """The first nameserver of /etc/resolv.conf."""
    servers = ctx.nameservers()
    if not servers:
        raise dns.resolver.NoResolverConfiguration
    return servers[0]


@functools.lru_cache(maxsize=256)
def split_host_port(text: str, default_port: int = 53) -> tuple[str, int]:
    """Split `host`, `host:port`, `[v6]:port` or a bare IPv6 address."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, int(port)
    return text, default_port


def _is_ip(host: str) -> bool:
    """Whether `host` is an IP address literal."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _record(obs: Observation, response: dns.message.Message, record_type: str) -> None:
    """Record rcode and the answers of the asked type, one normalised string each."""
    wanted = dns.rdatatype.from_text(record_type)
    obs.connected = True
    obs.dns_rcode = dns.rcode.to_text(response.rcode())
    # Sorted: servers rotate record order, and [BODY] must not flap with it.
    obs.answers = sorted(normalise(rdata) for rrset in response.answer if rrset.rdtype == wanted for rdata in rrset)
    obs.body = "\n".join(obs.answers).encode()


def normalise(rdata: Any) -> str:
    """One answer as text: an address, a name without the final dot, `10 mx.example.com`, ..."""
    render = _RENDER.get(dns.rdatatype.to_text(rdata.rdtype))
    return render(rdata) if render is not None else str(rdata.to_text())


def _name(name: Any) -> str:
    """A DNS name without its final dot."""
    return str(name.to_text(omit_final_dot=True))


_RENDER: dict[str, Callable[[Any], str]] = {
    "A": lambda rdata: str(rdata.address),
    "AAAA": lambda rdata: str(rdata.address),
    "CNAME": lambda rdata: _name(rdata.target),
    "NS": lambda rdata: _name(rdata.target),
    "MX": lambda rdata: f"{rdata.preference} {_name(rdata.exchange)}",
    "TXT": lambda rdata: b"".join(rdata.strings).decode("utf-8", "replace"),
    "SRV": lambda rdata: f"{rdata.priority} {rdata.weight} {rdata.port} {_name(rdata.target)}",
}
