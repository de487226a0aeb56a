"""Typed values for users, sessions, API tokens and the audit log (no rows escape the store)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class NewUser:
    """A user to create."""

    name: str
    role: str
    password_hash: str | None
    source: str = "local"  # "local" or "config"
    location: str | None = None


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A stored user; the password hash is only for verifying a login."""

    id: int
    name: str
    role: str
    source: str
    location: str | None
    disabled: bool
    created_at: datetime
    updated_at: datetime
    password_hash: str | None = field(default=None, repr=False)

    @property
    def has_password(self) -> bool:
        """True when the user can sign in with a password."""
        return self.password_hash is not None


@dataclass(frozen=True, slots=True)
class UserChange:
    """Fields to change on a user; None leaves a field as it is."""

    role: str | None = None
    password_hash: str | None = None
    disabled: bool | None = None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A signed-in browser session (the cookie value itself is never stored)."""

    digest: str
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    ip: str
    user_agent: str


@dataclass(frozen=True, slots=True)
class NewToken:
    """An API token to store: only its digest and a short display prefix."""

    name: str
    prefix: str
    digest: str
    scopes: tuple[str, ...]
    created_by: str
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A stored API token."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    def active(self, now: datetime) -> bool:
        """Neither revoked nor expired at `now`."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One write to record: who, what, on what, when and from where."""

    at: datetime
    actor: str  # "alice", "token:ci", "cli:root", "setup", "system"
    actor_kind: str  # "user", "token", "cli", "system", "anonymous"
    action: str  # "monitor.create", "token.revoke", "config.reload", ...
    target: str
    source: str  # client address, or "cli"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A stored audit entry with its id."""

    id: int
    entry: AuditEntry


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for reading the audit log, newest first; `before` is an id for paging."""

    actor: str | None = None
    action: str | None = None  # exact, or a prefix ending in "." like "monitor."
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None
    limit: int = 100
