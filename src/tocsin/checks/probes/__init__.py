"""Probes gather facts about a monitored target into an `Observation`; they never judge."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime

from tocsin.checks.probes.context import ProbeContext
from tocsin.checks.probes.dns import probe_dns
from tocsin.checks.probes.http import probe_http
from tocsin.checks.probes.tcp import probe_tcp
from tocsin.checks.probes.tls import probe_tls
from tocsin.checks.result import Observation, Reason
from tocsin.config.models import DnsMonitor, HttpMonitor, MonitorBase, TcpMonitor, TlsMonitor

__all__ = ["ProbeContext", "run_probe"]


async def run_probe(monitor: MonitorBase, ctx: ProbeContext, now: datetime) -> Observation:
    """Run the probe for the monitor's kind; never raises for anything the target does."""
    probe = _probe_for(monitor, ctx)
    # Each probe bounds itself by the monitor's timeout with one asyncio deadline, so no
    # second timer is armed here: it would cost every check and never fire.
    try:
        return await probe
    except Exception as exc:  # a probe bug must not take the scheduler down with it
        message = f"probe failed unexpectedly: {type(exc).__name__}: {exc}"
        return Observation(error=Reason.PROTOCOL, message=message)


def _probe_for(monitor: MonitorBase, ctx: ProbeContext) -> Awaitable[Observation]:
    """The probe coroutine for a monitor; ValueError for kinds that are not probed."""
    if isinstance(monitor, HttpMonitor):
        return probe_http(monitor, ctx)
    if isinstance(monitor, TcpMonitor):
        return probe_tcp(monitor, ctx)
    if isinstance(monitor, DnsMonitor):
        return probe_dns(monitor, ctx)
    if isinstance(monitor, TlsMonitor):
        return probe_tls(monitor, ctx)
    kind = getattr(monitor, "kind", type(monitor).__name__)
    raise ValueError(f"{kind} monitors are not probed; only http, tcp, dns and tls are")
