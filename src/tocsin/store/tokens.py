"""API tokens (stored as digests) and first-run setup tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.store.access_records import NewToken, TokenRecord
from tocsin.store.tables import api_tokens, setup_tokens
from tocsin.store.times import from_ms, opt_from_ms, opt_to_ms, to_ms


def to_token(row: Row[Any]) -> TokenRecord:
    """A TokenRecord from an `api_tokens` row."""
    m = row._mapping
    return TokenRecord(
        id=m["id"],
        name=m["name"],
        prefix=m["prefix"],
        scopes=tuple(s for s in m["scopes"].split(",") if s),
        created_by=m["created_by"],
        created_at=from_ms(m["created_ms"]),
        expires_at=opt_from_ms(m["expires_ms"]),
        last_used_at=opt_from_ms(m["last_used_ms"]),
        revoked_at=opt_from_ms(m["revoked_ms"]),
    )


async def create(conn: AsyncConnection, token: NewToken, now: datetime) -> TokenRecord:
    """Store a token's digest and metadata."""
    values = {
        "name": token.name,
        "prefix": token.prefix,
        "digest": token.digest,
        "scopes": ",".join(sorted(token.scopes)),
        "created_by": token.created_by,
        "created_ms": to_ms(now),
        "expires_ms": opt_to_ms(token.expires_at),
    }
    token_id = (await conn.execute(insert(api_tokens).returning(api_tokens.c.id), values)).scalar_one()
    return (await fetch(conn, token_id=token_id))[0]


async def fetch(
    conn: AsyncConnection, *, token_id: int | None = None, name: str | None = None, digest: str | None = None
) -> list[TokenRecord]:
    """Tokens by id, name, digest, or all, oldest first."""
    c = api_tokens.c
    stmt = select(api_tokens).order_by(c.id)
    for column, value in ((c.id, token_id), (c.name, name), (c.digest, digest)):
        if value is not None:
            stmt = stmt.where(column == value)
    return [to_token(row) for row in await conn.execute(stmt)]


async def revoke(conn: AsyncConnection, token_id: int, now: datetime) -> TokenRecord | None:
    """Revoke a token (kept for the record); None if there is no such token."""
    c = api_tokens.c
    await conn.execute(update(api_tokens).where(c.id == token_id, c.revoked_ms.is_(None)).values(revoked_ms=to_ms(now)))
    found = await fetch(conn, token_id=token_id)
    return found[0] if found else None


async def touch(conn: AsyncConnection, token_id: int, now: datetime) -> None:
    """Record when a token was last used."""
    await conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_ms=to_ms(now)))


async def add_setup(conn: AsyncConnection, digest: str, now: datetime) -> None:
    """Remember a setup token (by digest)."""
    await conn.execute(insert(setup_tokens), {"digest": digest, "created_ms": to_ms(now)})


async def setup_pending(conn: AsyncConnection, digest: str) -> bool:
    """True when a setup token with this digest exists."""
    stmt = select(func.count()).where(setup_tokens.c.digest == digest)
    return bool((await conn.execute(stmt)).scalar_one())


async def clear_setup(conn: AsyncConnection) -> None:
    """Forget every setup token (an admin exists now)."""
    await conn.execute(delete(setup_tokens))
