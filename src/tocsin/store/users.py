"""Users: create, change, delete, look up, and sync the ones the config file declares."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.store.access_records import NewUser, UserChange, UserRecord
from tocsin.store.tables import api_tokens, sessions, users
from tocsin.store.times import from_ms, to_ms


class UserExists(ValueError):
    """A user with that name already exists."""


def to_user(row: Row[Any]) -> UserRecord:
    """A UserRecord from a `users` row."""
    m = row._mapping
    return UserRecord(
        id=m["id"],
        name=m["name"],
        role=m["role"],
        source=m["source"],
        location=m["location"],
        disabled=bool(m["disabled"]),
        created_at=from_ms(m["created_ms"]),
        updated_at=from_ms(m["updated_ms"]),
        password_hash=m["password_hash"],
    )


async def fetch(conn: AsyncConnection, name: str | None = None, user_id: int | None = None) -> list[UserRecord]:
    """Users by name, by id, or all, ordered by name."""
    stmt = select(users).order_by(users.c.name)
    if name is not None:
        stmt = stmt.where(users.c.name == name)
    if user_id is not None:
        stmt = stmt.where(users.c.id == user_id)
    return [to_user(row) for row in await conn.execute(stmt)]


async def create(conn: AsyncConnection, user: NewUser, now: datetime) -> UserRecord:
    """Insert a user; UserExists when the name is taken."""
    if await fetch(conn, name=user.name):
        raise UserExists(f"a user named {user.name!r} already exists")
    values = {
        "name": user.name,
        "role": user.role,
        "password_hash": user.password_hash,
        "source": user.source,
        "location": user.location,
        "created_ms": to_ms(now),
        "updated_ms": to_ms(now),
    }
    user_id = (await conn.execute(insert(users).returning(users.c.id), values)).scalar_one()
    return (await fetch(conn, user_id=user_id))[0]


async def change(conn: AsyncConnection, name: str, what: UserChange, now: datetime) -> UserRecord | None:
    """Apply `what` to the named user; None if there is none. Disabling ends their sessions."""
    values: dict[str, Any] = {"updated_ms": to_ms(now)}
    for key in ("role", "password_hash", "disabled"):
        if getattr(what, key) is not None:
            values[key] = getattr(what, key)
    done = await conn.execute(update(users).where(users.c.name == name).values(values))
    if not done.rowcount:
        return None
    record = (await fetch(conn, name=name))[0]
    if what.disabled or what.password_hash is not None:
        await conn.execute(delete(sessions).where(sessions.c.user_id == record.id))
    return record


async def remove(conn: AsyncConnection, name: str) -> UserRecord | None:
    """Delete a user and their sessions; None if there is none. Their tokens stay (owned by name)."""
    found = await fetch(conn, name=name)
    if not found:
        return None
    await conn.execute(delete(sessions).where(sessions.c.user_id == found[0].id))
    await conn.execute(delete(users).where(users.c.id == found[0].id))
    return found[0]


async def count_admins(conn: AsyncConnection) -> int:
    """Enabled admins that can sign in."""
    c = users.c
    stmt = select(func.count()).where(c.role == "admin", c.disabled.is_(False), c.password_hash.is_not(None))
    return int((await conn.execute(stmt)).scalar_one())


async def sync_config(conn: AsyncConnection, declared: Sequence[NewUser], now: datetime) -> list[str]:
    """Create or update config users, disable config users no longer declared; names of local clashes."""
    existing = {u.name: u for u in await fetch(conn)}
    clashes = []
    for user in declared:
        current = existing.get(user.name)
        if current is None:
            await create(conn, user, now)
        elif current.source != "config":
            clashes.append(user.name)  # a local user keeps its password and role
        else:
            values = {"role": user.role, "location": user.location, "disabled": False, "updated_ms": to_ms(now)}
            await conn.execute(update(users).where(users.c.id == current.id).values(values))
    gone = [u.name for u in existing.values() if u.source == "config" and u.name not in {d.name for d in declared}]
    for name in gone:
        await change(conn, name, UserChange(disabled=True), now)
    return clashes


async def tokens_owned(conn: AsyncConnection, name: str) -> int:
    """How many tokens name `name` as creator (kept when the user goes)."""
    stmt = select(func.count()).where(api_tokens.c.created_by == name)
    return int((await conn.execute(stmt)).scalar_one())
