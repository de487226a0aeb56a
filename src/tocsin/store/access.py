"""`store.access`: users, sessions, API tokens, setup tokens and the audit log.

Every write runs on the single writer, and the audit entry describing it is inserted in
the same transaction: a change and its record are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.store import audit, sessions, tokens, users
from tocsin.store.access_records import (
    AuditEntry,
    AuditQuery,
    AuditRecord,
    NewToken,
    NewUser,
    SessionRecord,
    TokenRecord,
    UserChange,
    UserRecord,
)
from tocsin.store.database import Database
from tocsin.store.writer import Writer

R = TypeVar("R")


class SetupUsed(ValueError):
    """The setup token is unknown, used already, or an admin exists."""


class AccessStore:
    """Reads and audited writes of everything access control keeps."""

    def __init__(self, db: Database, writer: Writer[Any]) -> None:
        self._db, self._writer = db, writer

    async def _write(self, job: Callable[[AsyncConnection], Awaitable[R]], entry: AuditEntry | None) -> R:
        async def audited(conn: AsyncConnection) -> R:
            result = await job(conn)
            await audit.append(conn, entry)
            return result

        return await self._writer.run(audited)

    # users

    async def create_user(self, user: NewUser, now: datetime, entry: AuditEntry | None) -> UserRecord:
        """Create a user (UserExists if the name is taken)."""
        return await self._write(lambda c: users.create(c, user, now), entry)

    async def change_user(
        self, name: str, what: UserChange, now: datetime, entry: AuditEntry | None
    ) -> UserRecord | None:
        """Change role, password or disabled flag; None if there is no such user."""
        return await self._write(lambda c: users.change(c, name, what, now), entry)

    async def delete_user(self, name: str, entry: AuditEntry | None) -> UserRecord | None:
        """Delete a user and their sessions; None if there is no such user."""
        return await self._write(lambda c: users.remove(c, name), entry)

    async def user(self, name: str) -> UserRecord | None:
        """One user by name, or None."""
        async with self._db.read() as conn:
            found = await users.fetch(conn, name=name)
        return found[0] if found else None

    async def list_users(self) -> list[UserRecord]:
        """Every user, by name."""
        async with self._db.read() as conn:
            return await users.fetch(conn)

    async def admin_count(self) -> int:
        """Enabled admins with a password."""
        async with self._db.read() as conn:
            return await users.count_admins(conn)

    async def sync_config_users(self, declared: Sequence[NewUser], now: datetime) -> list[str]:
        """Mirror the config's users (see store/users.py); returns names that clash with local users."""
        return await self._writer.run(lambda c: users.sync_config(c, declared, now))

    # sessions

    async def create_session(
        self, digest: str, user_id: int, now: datetime, ip: str, agent: str, entry: AuditEntry | None
    ) -> None:
        """Store a new session."""
        await self._write(lambda c: sessions.create(c, digest, user_id, now, ip, agent), entry)

    async def session(self, digest: str) -> tuple[SessionRecord, UserRecord] | None:
        """A session and its user, or None."""
        async with self._db.read() as conn:
            return await sessions.lookup(conn, digest)

    async def touch_session(self, digest: str, now: datetime) -> None:
        """Record that a session was used."""
        await self._writer.run(lambda c: sessions.touch(c, digest, now))

    async def end_session(self, digest: str, entry: AuditEntry | None) -> bool:
        """Delete a session (logout or expiry)."""
        return await self._write(lambda c: sessions.end(c, digest), entry)

    async def purge_sessions(self, idle_before: datetime, created_before: datetime) -> int:
        """Delete expired sessions."""
        return await self._writer.run(lambda c: sessions.purge(c, idle_before, created_before))

    # tokens

    async def create_token(self, token: NewToken, now: datetime, entry: AuditEntry | None) -> TokenRecord:
        """Store a new API token's digest and metadata."""
        return await self._write(lambda c: tokens.create(c, token, now), entry)

    async def token_by_digest(self, digest: str) -> TokenRecord | None:
        """The token with this digest, or None."""
        async with self._db.read() as conn:
            found = await tokens.fetch(conn, digest=digest)
        return found[0] if found else None

    async def tokens(self, name: str | None = None, token_id: int | None = None) -> list[TokenRecord]:
        """Tokens (revoked ones too), oldest first, optionally by name or id."""
        async with self._db.read() as conn:
            return await tokens.fetch(conn, name=name, token_id=token_id)

    async def revoke_token(self, token_id: int, now: datetime, entry: AuditEntry | None) -> TokenRecord | None:
        """Revoke a token; None if there is no such token."""
        return await self._write(lambda c: tokens.revoke(c, token_id, now), entry)

    async def touch_token(self, token_id: int, now: datetime) -> None:
        """Record when a token was last used."""
        await self._writer.run(lambda c: tokens.touch(c, token_id, now))

    # first-run setup

    async def add_setup_token(self, digest: str, now: datetime) -> None:
        """Remember a setup token (valid until an admin is created with one)."""
        await self._writer.run(lambda c: tokens.add_setup(c, digest, now))

    async def setup_pending(self, digest: str) -> bool:
        """True while this setup token is valid."""
        async with self._db.read() as conn:
            return await tokens.setup_pending(conn, digest) and not await users.count_admins(conn)

    async def complete_setup(self, digest: str, admin: NewUser, now: datetime, entry: AuditEntry) -> UserRecord:
        """Create the first admin with a valid setup token, and forget every setup token (atomic)."""

        async def job(conn: AsyncConnection) -> UserRecord:
            if not await tokens.setup_pending(conn, digest) or await users.count_admins(conn):
                raise SetupUsed("this setup link was used already or is not valid")
            created = await users.create(conn, admin, now)
            await tokens.clear_setup(conn)
            return created

        return await self._write(job, entry)

    # audit

    async def record(self, entry: AuditEntry) -> None:
        """Append an audit entry on its own (for changes that are not database writes)."""
        await self._writer.run(lambda c: audit.append(c, entry))

    async def audit_log(self, query: AuditQuery) -> list[AuditRecord]:
        """Audit entries matching `query`, newest first."""
        async with self._db.read() as conn:
            return await audit.query(conn, query)
