"""The web shell of access control: identify a request, sign in and out, first-run setup, tokens.

Pure decisions live in `tocsin.auth`; this module adds the store and the clock's `now`,
which every caller passes in (handlers read the clock; nothing below them does).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tocsin.auth import credentials
from tocsin.auth.model import Principal, Role, Scope, token_principal, user_principal
from tocsin.auth.ratelimit import LoginLimiter
from tocsin.config.loader import LoadedConfig
from tocsin.store.access import AccessStore
from tocsin.store.access_records import AuditEntry, NewToken, NewUser, SessionRecord, TokenRecord, UserRecord

log = logging.getLogger(__name__)

SESSION_COOKIE = "tocsin_session"
LOGIN_CSRF_COOKIE = "tocsin_login_csrf"
TOUCH_EVERY = timedelta(minutes=1)  # last-used times are this precise; saves a write per request
BOOTSTRAP_NAME = "bootstrap"
WRONG_LOGIN = "Wrong user name or password."  # the same words whether or not the user exists


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long a session lives: at most `max_age` after sign-in, and `idle` after its last use."""

    max_age: timedelta = timedelta(hours=12)
    idle: timedelta = timedelta(hours=2)

    def expired(self, session: SessionRecord, now: datetime) -> bool:
        """True once either limit has passed."""
        return now >= session.created_at + self.max_age or now >= session.last_seen_at + self.idle


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A new session token, or the error to show (with 429 when rate limited)."""

    session: str | None = None
    error: str | None = None
    status: int = 200


def audit_entry(
    principal: Principal, action: str, target: str, source: str, now: datetime, **detail: Any
) -> AuditEntry:
    """An audit entry for a change `principal` made from address `source`."""
    kind = principal.kind if principal.authenticated else "anonymous"
    return AuditEntry(now, principal.actor, kind, action, target, source, detail)


def issue_token(
    name: str, scopes: Iterable[Scope], created_by: str, expires_at: datetime | None
) -> tuple[str, NewToken]:
    """A fresh token (shown once) and what the store keeps of it."""
    raw = credentials.new_api_token()
    stored = NewToken(
        name,
        credentials.display_prefix(raw),
        credentials.digest(raw),
        tuple(s.value for s in scopes),
        created_by,
        expires_at,
    )
    return raw, stored


def config_users(loaded: LoadedConfig) -> list[NewUser]:
    """Users declared under `oncall.users` (role `responder` unless the entry says otherwise)."""
    declared = getattr(getattr(loaded.config, "oncall", None), "users", None) or []
    out = []
    for index, user in enumerate(declared):
        role = str(getattr(user, "role", None) or Role.RESPONDER.value)
        if role not in {r.value for r in Role}:
            log.warning("oncall.users[%d] %s: unknown role %r, using viewer", index, user.name, role)
            role = Role.VIEWER.value
        where = loaded.location_of(("oncall", "users", index))
        out.append(NewUser(user.name, role, None, "config", str(where) if where else None))
    return out


class AccessService:
    """Identifies requests and runs sign-in, sign-out, setup and token checks against the store."""

    def __init__(self, store: Callable[[], AccessStore], policy: Callable[[], SessionPolicy]) -> None:
        self._store, self._policy = store, policy
        self.limiter = LoginLimiter()

    @property
    def store(self) -> AccessStore:
        """The access store of the running process."""
        return self._store()

    async def from_session(self, raw: str, now: datetime) -> Principal | None:
        """The signed-in user of a session cookie, or None if it is unknown, expired or disabled."""
        digest = credentials.digest(raw)
        found = await self.store.session(digest)
        if found is None:
            return None
        session, user = found
        if user.disabled or self._policy().expired(session, now):
            await self.store.end_session(digest, None)
            return None
        if now - session.last_seen_at >= TOUCH_EVERY:
            await self.store.touch_session(digest, now)
        return user_principal(user.name, Role(user.role), user.id, credentials.csrf_for(raw))

    async def from_token(self, raw: str, now: datetime) -> Principal | None:
        """The API token presented as `Authorization: Bearer`, or None if unknown, revoked or expired."""
        token = await self.store.token_by_digest(credentials.digest(raw))
        if token is None or not token.active(now):
            return None
        if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
            await self.store.touch_token(token.id, now)
        return token_principal(token.name, (Scope(s) for s in token.scopes), token.id)

    async def login(self, name: str, password: str, ip: str, agent: str, now: datetime) -> LoginResult:
        """Check a password (rate limited per account and per address) and open a session."""
        verdict = self.limiter.check(name, ip, now)
        if not verdict.allowed:
            return LoginResult(error=verdict.message(), status=429)
        user = await self.store.user(name)
        usable = user if user is not None and not user.disabled else None
        stored = usable.password_hash if usable else None
        if usable is None or not await asyncio.to_thread(credentials.verify_password, stored, password):
            self.limiter.failed(name, ip, now)
            failed = AuditEntry(now, name[:160], "anonymous", "session.login_failed", name[:300], ip)
            await self.store.record(failed)
            return LoginResult(error=WRONG_LOGIN, status=200)  # the form again; a 4xx page is a browser console error
        self.limiter.succeeded(name)
        await self.purge_sessions(now)  # expired sessions go whenever someone signs in
        raw = credentials.new_secret()
        entry = AuditEntry(now, usable.name, "user", "session.login", usable.name, ip)
        await self.store.create_session(credentials.digest(raw), usable.id, now, ip, agent, entry)
        return LoginResult(session=raw)

    async def logout(self, raw: str | None, principal: Principal, ip: str, now: datetime) -> None:
        """End the session of this cookie."""
        if raw:
            entry = audit_entry(principal, "session.logout", principal.actor, ip, now)
            await self.store.end_session(credentials.digest(raw), entry)

    async def prepare(self, loaded: LoadedConfig, bootstrap: str | None, now: datetime) -> str | None:
        """At start: mirror config users, register the bootstrap token, and return a setup token if no admin exists."""
        await self.sync_config_users(loaded, now)
        if bootstrap:
            await self.ensure_bootstrap(bootstrap, now)
        if await self.store.admin_count():
            return None
        raw = credentials.new_secret()
        await self.store.add_setup_token(credentials.digest(raw), now)
        return raw

    async def sync_config_users(self, loaded: LoadedConfig, now: datetime) -> None:
        """Create, update or disable the users the config file declares."""
        for name in await self.store.sync_config_users(config_users(loaded), now):
            log.warning("oncall.users: %s is also a local user; the local user is kept as it is", name)

    async def ensure_bootstrap(self, raw: str, now: datetime) -> TokenRecord | None:
        """Register TOCSIN_BOOTSTRAP_TOKEN as an all-scopes token (once; a revoked one stays revoked)."""
        if len(raw) < 32:
            log.error("TOCSIN_BOOTSTRAP_TOKEN is shorter than 32 characters and is ignored")
            return None
        digest = credentials.digest(raw)
        existing = await self.store.token_by_digest(digest)
        if existing is not None:
            return existing
        token = NewToken(BOOTSTRAP_NAME, credentials.display_prefix(raw), digest, tuple(s.value for s in Scope), "env")
        entry = AuditEntry(
            now, "system", "system", "token.create", BOOTSTRAP_NAME, "env", {"scopes": list(token.scopes)}
        )
        return await self.store.create_token(token, now, entry)

    async def setup_valid(self, raw: str) -> bool:
        """True while this setup token can still create the first admin."""
        return await self.store.setup_pending(credentials.digest(raw))

    async def complete_setup(self, raw: str, name: str, password: str, ip: str, now: datetime) -> UserRecord:
        """Create the first admin (SetupUsed if the link is spent, ValueError for a weak password)."""
        problem = credentials.password_problem(password, name)
        if problem:
            raise ValueError(problem)
        hashed = await asyncio.to_thread(credentials.hash_password, password)
        entry = AuditEntry(now, "setup", "system", "user.create", name, ip, {"role": Role.ADMIN.value})
        return await self.store.complete_setup(
            credentials.digest(raw), NewUser(name, Role.ADMIN.value, hashed), now, entry
        )

    async def purge_sessions(self, now: datetime) -> int:
        """Delete sessions past either limit."""
        policy = self._policy()
        return await self.store.purge_sessions(now - policy.idle, now - policy.max_age)
