"""Persistence of overrides and shift swaps; each change commits with its audit entry in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.oncall.model import Override, Shift
from tocsin.oncall.overrides import StoredOverride, Swap, SwapState
from tocsin.store import audit
from tocsin.store.access_records import AuditEntry
from tocsin.store.oncall_tables import oncall_overrides, oncall_swaps
from tocsin.store.store import Store
from tocsin.store.times import from_ms, opt_from_ms, opt_to_ms, to_ms


def _override(m: Any) -> StoredOverride:
    override = Override(m["user_name"], from_ms(m["start_ms"]), from_ms(m["end_ms"]), m["replaces"])
    return StoredOverride(m["id"], m["schedule"], override, m["created_by"], from_ms(m["created_at_ms"]), m["swap_id"])


def _override_row(schedule: str, o: Override, by: str, at: datetime, swap: int | None) -> dict[str, Any]:
    return {
        "schedule": schedule,
        "user_name": o.user,
        "start_ms": to_ms(o.start),
        "end_ms": to_ms(o.end),
        "replaces": o.replaces,
        "swap_id": swap,
        "created_by": by,
        "created_at_ms": to_ms(at),
    }


def _swap(m: Any) -> Swap:
    mine = Shift(m["requester"], from_ms(m["start_ms"]), from_ms(m["end_ms"]))
    theirs = Shift(m["other"], from_ms(m["other_start_ms"]), from_ms(m["other_end_ms"]))
    return Swap(
        id=m["id"],
        schedule=m["schedule"],
        shift=mine,
        other_shift=theirs,
        state=m["state"],
        created_by=m["created_by"],
        created_at=from_ms(m["created_at_ms"]),
        decided_by=m["decided_by"],
        decided_at=opt_from_ms(m["decided_at_ms"]),
    )


class OverrideStore:
    """Overrides and swaps: reads on the pool, writes through the one writer."""

    def __init__(self, store: Store) -> None:
        self._db, self._writer = store.database, store.writer

    async def overrides(self) -> list[StoredOverride]:
        """Every stored override, oldest first (the newest wins where two overlap)."""
        async with self._db.read() as conn:
            rows = await conn.execute(select(oncall_overrides).order_by(oncall_overrides.c.id))
            return [_override(r._mapping) for r in rows]

    async def add_override(
        self, schedule: str, override: Override, by: str, at: datetime, entry: AuditEntry | None
    ) -> StoredOverride:
        """Store an override with its audit entry."""
        row = _override_row(schedule, override, by, at, None)

        async def job(conn: AsyncConnection) -> int:
            result = await conn.execute(insert(oncall_overrides).returning(oncall_overrides.c.id), row)
            await audit.append(conn, entry)
            return int(result.scalar_one())

        return StoredOverride(await self._writer.run(job), schedule, override, by, at)

    async def delete_override(self, override_id: int, entry: AuditEntry | None) -> bool:
        """Delete one override with its audit entry; False when there was none."""
        stmt = delete(oncall_overrides).where(oncall_overrides.c.id == override_id)

        async def job(conn: AsyncConnection) -> bool:
            if not (await conn.execute(stmt)).rowcount:
                return False
            await audit.append(conn, entry)
            return True

        return await self._writer.run(job)

    async def swaps(self, state: SwapState | None = None) -> list[Swap]:
        """Swaps, newest first, optionally only those in `state`."""
        query = select(oncall_swaps).order_by(oncall_swaps.c.id.desc())
        if state is not None:
            query = query.where(oncall_swaps.c.state == state)
        async with self._db.read() as conn:
            return [_swap(r._mapping) for r in await conn.execute(query)]

    async def swap(self, swap_id: int) -> Swap | None:
        """One swap, if it exists."""
        async with self._db.read() as conn:
            row = (await conn.execute(select(oncall_swaps).where(oncall_swaps.c.id == swap_id))).first()
        return None if row is None else _swap(row._mapping)

    async def add_swap(
        self, schedule: str, mine: Shift, theirs: Shift, by: str, at: datetime, entry: AuditEntry | None
    ) -> int:
        """Store a requested swap with its audit entry; its id."""
        row = {
            "schedule": schedule,
            "requester": mine.user,
            "start_ms": to_ms(mine.start),
            "end_ms": to_ms(mine.end),
            "other": theirs.user,
            "other_start_ms": to_ms(theirs.start),
            "other_end_ms": to_ms(theirs.end),
            "state": "requested",
            "created_by": by,
            "created_at_ms": to_ms(at),
        }

        async def job(conn: AsyncConnection) -> int:
            result = await conn.execute(insert(oncall_swaps).returning(oncall_swaps.c.id), row)
            await audit.append(conn, entry)
            return int(result.scalar_one())

        return await self._writer.run(job)

    async def decide_swap(
        self,
        swap: Swap,
        state: SwapState,
        by: str,
        at: datetime,
        overrides: Sequence[Override],
        entry: AuditEntry | None,
    ) -> bool:
        """Move a requested swap to `state`, writing its overrides and audit entry; False if it was decided already."""
        c = oncall_swaps.c
        stmt = (
            update(oncall_swaps)
            .where(and_(c.id == swap.id, c.state == "requested"))
            .values(state=state, decided_by=by, decided_at_ms=opt_to_ms(at))
        )
        rows = [_override_row(swap.schedule, o, by, at, swap.id) for o in overrides]

        async def job(conn: AsyncConnection) -> bool:
            if not (await conn.execute(stmt)).rowcount:
                return False  # decided by someone else first: nothing written
            if rows:
                await conn.execute(insert(oncall_overrides), rows)
            await audit.append(conn, entry)
            return True

        return await self._writer.run(job)
