"""Browser sessions: keyed by the SHA-256 of the cookie, joined to their user on every read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.store.access_records import SessionRecord, UserRecord
from tocsin.store.tables import sessions, users
from tocsin.store.times import from_ms, to_ms
from tocsin.store.users import to_user


async def create(conn: AsyncConnection, digest: str, user_id: int, now: datetime, ip: str, agent: str) -> None:
    """Store a new session."""
    values = {
        "digest": digest,
        "user_id": user_id,
        "created_ms": to_ms(now),
        "last_seen_ms": to_ms(now),
        "ip": ip[:64],
        "user_agent": agent[:300],
    }
    await conn.execute(insert(sessions), values)


async def lookup(conn: AsyncConnection, digest: str) -> tuple[SessionRecord, UserRecord] | None:
    """The session with this digest and its user (one query), or None."""
    c = sessions.c
    stmt = (
        select(
            c.digest.label("s_digest"),
            c.created_ms.label("s_created_ms"),
            c.last_seen_ms.label("s_last_seen_ms"),
            c.ip.label("s_ip"),
            c.user_agent.label("s_user_agent"),
            users,
        )
        .join(users, users.c.id == c.user_id)
        .where(c.digest == digest)
    )
    row = (await conn.execute(stmt)).first()
    if row is None:
        return None
    m = row._mapping
    user = to_user(row)
    session = SessionRecord(
        digest=m["s_digest"],
        user_id=user.id,
        created_at=from_ms(m["s_created_ms"]),
        last_seen_at=from_ms(m["s_last_seen_ms"]),
        ip=m["s_ip"],
        user_agent=m["s_user_agent"],
    )
    return session, user


async def touch(conn: AsyncConnection, digest: str, now: datetime) -> None:
    """Record that the session was used at `now`."""
    await conn.execute(update(sessions).where(sessions.c.digest == digest).values(last_seen_ms=to_ms(now)))


async def end(conn: AsyncConnection, digest: str) -> bool:
    """Delete a session; False if it did not exist."""
    done = await conn.execute(delete(sessions).where(sessions.c.digest == digest))
    return bool(done.rowcount)


async def purge(conn: AsyncConnection, idle_before: datetime, created_before: datetime) -> int:
    """Delete sessions idle since `idle_before` or created before `created_before`."""
    c = sessions.c
    stmt = delete(sessions).where((c.last_seen_ms < to_ms(idle_before)) | (c.created_ms < to_ms(created_before)))
    return int((await conn.execute(stmt)).rowcount or 0)
