"""Monitor registry: sync from config, lookups, pause, heartbeat pings."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.checks.result import MonitorStatus, Outcome
from tocsin.store.records import MonitorDefinition, MonitorRecord, MonitorState
from tocsin.store.tables import monitors
from tocsin.store.times import opt_from_ms, to_ms

# Serialises config syncs of several nodes sharing one PostgreSQL (names and tokens are unique).
SYNC_LOCK_KEY = 0x746F6374
HEARTBEAT = "heartbeat"
_EDITABLE = ("kind", "spec", "source", "location", "heartbeat_token")


def to_record(row: Row[Any]) -> MonitorRecord:
    """A MonitorRecord from a full `monitors` row."""
    m = row._mapping
    state = MonitorState(
        status=MonitorStatus(m["status"]),
        consecutive_ok=m["consecutive_ok"],
        consecutive_fail=m["consecutive_fail"],
        since=opt_from_ms(m["status_since_ms"]),
        last_outcome=None if m["last_outcome"] is None else Outcome(m["last_outcome"]),
        last_result_at=opt_from_ms(m["last_result_ms"]),
    )
    return MonitorRecord(
        id=m["id"],
        name=m["name"],
        kind=m["kind"],
        spec=m["spec"],
        source=m["source"],
        location=m["location"],
        paused=bool(m["paused"]),
        state=state,
        heartbeat_token=m["heartbeat_token"],
        last_ping_at=opt_from_ms(m["last_ping_ms"]),
        last_start_at=opt_from_ms(m["last_start_ms"]),
        removed=bool(m["removed"]),
    )


def token_for(definition: MonitorDefinition, current: str | None, new_token: Callable[[], str]) -> str | None:
    """A heartbeat's token: the one in its spec, else the one it has, else a fresh one."""
    if definition.kind != HEARTBEAT:
        return None
    given = definition.spec.get("token")
    return str(given) if given else current or new_token()


async def sync(
    conn: AsyncConnection,
    defs: Sequence[MonitorDefinition],
    source: str,
    new_token: Callable[[], str],
) -> dict[str, MonitorRecord]:
    """Upsert `defs` by name (state kept), mark the source's other monitors removed, return records."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SYNC_LOCK_KEY})
    _check_unique(defs)
    cols = monitors.c
    rows = await conn.execute(select(cols.id, cols.name, cols.heartbeat_token))
    existing = {name: (monitor_id, token) for monitor_id, name, token in rows}
    wanted = {d.name: _values(d, source, existing.get(d.name, (0, None))[1], new_token) for d in defs}
    await _release_tokens(conn, existing, wanted)
    inserts = [v for name, v in wanted.items() if name not in existing]
    updates = [{"p_id": existing[n][0], **_params(v)} for n, v in wanted.items() if n in existing]
    if inserts:
        await conn.execute(insert(monitors), inserts)
    if updates:
        await conn.execute(_update_stmt(), updates)
    await conn.execute(
        update(monitors)
        .where(cols.source == source, cols.removed.is_(False), cols.name.not_in(list(wanted)))
        .values(removed=True)
    )
    if not wanted:
        return {}
    records = await conn.execute(select(monitors).where(cols.name.in_(list(wanted))))
    return {r.name: r for r in map(to_record, records)}


def _check_unique(defs: Sequence[MonitorDefinition]) -> None:
    names: set[str] = set()
    tokens: dict[str, str] = {}
    for d in defs:
        if d.name in names:
            raise ValueError(f"monitor name {d.name!r} is defined twice")
        names.add(d.name)
        token = d.spec.get("token") if d.kind == HEARTBEAT else None
        if token and tokens.setdefault(str(token), d.name) != d.name:
            raise ValueError(f"monitors {tokens[str(token)]!r} and {d.name!r} share a heartbeat token")


def _values(
    d: MonitorDefinition, source: str, current_token: str | None, new_token: Callable[[], str]
) -> dict[str, Any]:
    return {
        "name": d.name,
        "kind": d.kind,
        "spec": d.spec,
        "source": source,
        "location": d.location,
        "heartbeat_token": token_for(d, current_token, new_token),
    }


def _params(values: Mapping[str, Any]) -> dict[str, Any]:
    return {f"p_{key}": values[key] for key in _EDITABLE}


def _update_stmt() -> Any:
    return (
        update(monitors)
        .where(monitors.c.id == bindparam("p_id"))
        .values(removed=False, **{key: bindparam(f"p_{key}") for key in _EDITABLE})
    )


async def _release_tokens(
    conn: AsyncConnection,
    existing: Mapping[str, tuple[int, str | None]],
    wanted: Mapping[str, Mapping[str, Any]],
) -> None:
    """Clear tokens that change hands first, so a swap never trips the unique constraint."""
    claimed = {v["heartbeat_token"] for v in wanted.values() if v["heartbeat_token"]}
    release = [
        monitor_id
        for name, (monitor_id, token) in existing.items()
        if token
        and ((name in wanted and wanted[name]["heartbeat_token"] != token) or (name not in wanted and token in claimed))
    ]
    if release:
        await conn.execute(update(monitors).where(monitors.c.id.in_(release)).values(heartbeat_token=None))


async def set_paused(conn: AsyncConnection, name: str, paused: bool) -> bool:
    """Set the paused flag; False when no monitor has that name."""
    done = await conn.execute(update(monitors).where(monitors.c.name == name).values(paused=paused))
    return bool(done.rowcount)


async def record_ping(conn: AsyncConnection, name: str, kind: str, at: datetime) -> None:
    """Remember a heartbeat signal; KeyError for an unknown monitor."""
    column = {"ping": "last_ping_ms", "start": "last_start_ms"}.get(kind)
    if column is None:  # "fail" ends the run as a result (written separately), not a ping
        found = await conn.scalar(select(monitors.c.id).where(monitors.c.name == name))
    else:
        done = await conn.execute(update(monitors).where(monitors.c.name == name).values({column: to_ms(at)}))
        found = done.rowcount or None
    if not found:
        raise KeyError(name)


async def fetch(
    conn: AsyncConnection,
    *,
    name: str | None = None,
    token: str | None = None,
    include_removed: bool = True,
) -> list[MonitorRecord]:
    """Monitors by name, by token, or all, ordered by name."""
    query = select(monitors).order_by(monitors.c.name)
    if name is not None:
        query = query.where(monitors.c.name == name)
    if token is not None:
        query = query.where(monitors.c.heartbeat_token == token)
    if not include_removed:
        query = query.where(monitors.c.removed.is_(False))
    return [to_record(row) for row in await conn.execute(query)]
