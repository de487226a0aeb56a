"""Monitors defined through the API or console (`source = "api"`): create, replace, delete.

Config monitors are never changed here: the file owns them. A name is unique across both
sources; a removed monitor's row (and history) is reused when its name comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.store.monitors import fetch, to_record, token_for
from tocsin.store.records import MonitorDefinition, MonitorRecord
from tocsin.store.tables import monitors

API = "api"
_FRESH_STATE = {
    "status": "pending",
    "consecutive_ok": 0,
    "consecutive_fail": 0,
    "status_since_ms": None,
    "last_outcome": None,
    "paused": False,
}


class MonitorConflict(ValueError):
    """The change would clash with another monitor or touch one the config file owns."""


class MonitorMissing(LookupError):
    """No live monitor has that name."""


async def create(conn: AsyncConnection, d: MonitorDefinition, new_token: Callable[[], str]) -> MonitorRecord:
    """Add an API monitor; MonitorConflict if a live monitor already has the name."""
    current = await _one(conn, d.name)
    if current is not None and not current.removed:
        raise MonitorConflict(f"a monitor named {d.name!r} already exists{_where(current)}")
    values = await _values(conn, d, None if current is None else current.heartbeat_token, new_token)
    if current is None:
        await conn.execute(insert(monitors), {"name": d.name, **values})
    else:
        await conn.execute(update(monitors).where(monitors.c.id == current.id).values(**values, **_FRESH_STATE))
    return await _require(conn, d.name)


async def replace(conn: AsyncConnection, d: MonitorDefinition, new_token: Callable[[], str]) -> MonitorRecord:
    """Replace an API monitor's spec (its state is kept); MonitorMissing or MonitorConflict."""
    current = await _live_api(conn, d.name)
    values = await _values(conn, d, current.heartbeat_token, new_token)
    await conn.execute(update(monitors).where(monitors.c.id == current.id).values(**values))
    return await _require(conn, d.name)


async def remove(conn: AsyncConnection, name: str) -> MonitorRecord:
    """Mark an API monitor removed (history kept); MonitorMissing or MonitorConflict."""
    current = await _live_api(conn, name)
    await conn.execute(update(monitors).where(monitors.c.id == current.id).values(removed=True))
    return await _require(conn, name)


async def _values(
    conn: AsyncConnection, d: MonitorDefinition, current_token: str | None, new_token: Callable[[], str]
) -> dict[str, Any]:
    token = token_for(d, current_token, new_token)
    if token is not None:
        await _claim(conn, d.name, token)
    return {"kind": d.kind, "spec": d.spec, "source": API, "location": None, "removed": False, "heartbeat_token": token}


async def _claim(conn: AsyncConnection, name: str, token: str) -> None:
    """Refuse a heartbeat token a live monitor uses; take it from a removed one."""
    c = monitors.c
    holder = (await conn.execute(select(monitors).where(c.heartbeat_token == token, c.name != name))).first()
    if holder is None:
        return
    record = to_record(holder)
    if not record.removed:
        raise MonitorConflict(f"monitor {record.name!r} already uses this heartbeat token")
    await conn.execute(update(monitors).where(c.id == record.id).values(heartbeat_token=None))


async def _one(conn: AsyncConnection, name: str) -> MonitorRecord | None:
    found = await fetch(conn, name=name)
    return found[0] if found else None


async def _require(conn: AsyncConnection, name: str) -> MonitorRecord:
    found = await _one(conn, name)
    assert found is not None
    return found


async def _live_api(conn: AsyncConnection, name: str) -> MonitorRecord:
    current = await _one(conn, name)
    if current is None or current.removed:
        raise MonitorMissing(f"no monitor named {name!r}")
    if current.source != API:
        raise MonitorConflict(f"monitor {name!r} is defined in the config file{_where(current)}; edit it there")
    return current


def _where(record: MonitorRecord) -> str:
    return f" (defined in {record.location})" if record.location else f" ({record.source})"
