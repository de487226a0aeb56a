"""Request-scoped access to the process runtime."""

from __future__ import annotations

from fastapi import HTTPException, Request

from tocsin.runtime import Runtime
from tocsin.store.records import MonitorRecord


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
