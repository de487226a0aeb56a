"""Request-scoped access to the process runtime."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import HTTPException, Request

from tocsin.auth.model import ANONYMOUS, Principal
from tocsin.runtime import Runtime
from tocsin.store.access_records import AuditEntry
from tocsin.store.records import MonitorRecord
from tocsin.web.auth import AccessService, audit_entry
from tocsin.web.guard import PRINCIPAL


def runtime(request: Request) -> Runtime:
    """The Runtime this app serves."""
    rt: Runtime = request.app.state.runtime
    return rt


async def monitor_record(request: Request, name: str) -> MonitorRecord:
    """The named monitor, or a 404 that says how to find the right name."""
    rt = runtime(request)
    record = await rt.store.get_monitor(name)
    if record is None or record.removed or name not in rt.runner.monitors:
        raise HTTPException(404, f"no monitor named {name!r}; GET /api/v1/monitors lists them")
    return record


def principal(request: Request) -> Principal:
    """Who is calling, as the access guard identified them."""
    found: Principal = request.scope.get(PRINCIPAL, ANONYMOUS)
    return found


def access(request: Request) -> AccessService:
    """The access service (sign-in, sessions, tokens)."""
    service: AccessService = request.app.state.access
    return service


def now(request: Request) -> datetime:
    """The runtime clock's current time (handlers read the clock; nothing below them does)."""
    return runtime(request).clock.now()


def client_ip(request: Request) -> str:
    """The peer address of the connection (proxies' forwarding headers are not trusted)."""
    return request.client.host if request.client else "unknown"


def audit(request: Request, action: str, target: str, **detail: Any) -> AuditEntry:
    """An audit entry for a change the caller of `request` makes now; pass it to the store write."""
    return audit_entry(principal(request), action, target, client_ip(request), now(request), **detail)
