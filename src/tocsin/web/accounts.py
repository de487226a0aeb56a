"""User and token management shared by the API and the console forms (one set of rules).

Rules: names are unique; config users get their role from the file; nobody can remove,
demote or disable the last admin; every change is audited in its own transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

from fastapi import Request

from tocsin.auth import credentials
from tocsin.auth.model import Role, Scope
from tocsin.store.access_records import NewUser, TokenRecord, UserChange, UserRecord
from tocsin.store.users import UserExists
from tocsin.web.auth import issue_token
from tocsin.web.deps import access, audit, now, principal


class AccountError(Exception):
    """A refused change: the HTTP status, the message, and the field it is about."""

    def __init__(self, status: int, message: str, field: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


async def _hash(password: str, name: str) -> str:
    problem = credentials.password_problem(password, name)
    if problem:
        raise AccountError(422, problem, "password")
    return await asyncio.to_thread(credentials.hash_password, password)


async def create_user(request: Request, name: str, role: Role, password: str | None) -> UserRecord:
    """Create a local user (without a password they cannot sign in until one is set)."""
    hashed = await _hash(password, name) if password else None
    entry = audit(request, "user.create", name, role=role.value)
    try:
        return await access(request).store.create_user(NewUser(name, role.value, hashed), now(request), entry)
    except UserExists as exc:
        raise AccountError(409, str(exc), "name") from None


async def _existing(request: Request, name: str) -> UserRecord:
    user = await access(request).store.user(name)
    if user is None:
        raise AccountError(404, f"no user named {name!r}")
    return user


async def _keep_an_admin(request: Request, user: UserRecord) -> None:
    if user.role == Role.ADMIN.value and not user.disabled and await access(request).store.admin_count() <= 1:
        raise AccountError(409, f"{user.name} is the last admin; make another admin first")


async def change_user(
    request: Request, name: str, role: Role | None = None, password: str | None = None, disabled: bool | None = None
) -> UserRecord:
    """Change a user's role, password or disabled flag (a new password or disabling ends their sessions)."""
    user = await _existing(request, name)
    if role is not None and role.value != user.role and user.source == "config":
        raise AccountError(409, f"{name}'s role comes from the config file ({user.location}); change it there", "role")
    if (role is not None and role is not Role.ADMIN) or disabled:
        await _keep_an_admin(request, user)
    hashed = await _hash(password, name) if password else None
    what = UserChange(role=role.value if role else None, password_hash=hashed, disabled=disabled)
    detail = {k: v for k, v in (("role", what.role), ("disabled", disabled), ("password", hashed and "changed")) if v}
    entry = audit(request, "user.update", name, **detail)
    changed = await access(request).store.change_user(name, what, now(request), entry)
    if changed is None:
        raise AccountError(404, f"no user named {name!r}")
    return changed


async def delete_user(request: Request, name: str) -> None:
    """Delete a local user and end their sessions (config users are removed from the file instead)."""
    user = await _existing(request, name)
    if user.source == "config":
        raise AccountError(409, f"{name} is defined in the config file ({user.location}); remove them there")
    await _keep_an_admin(request, user)
    await access(request).store.delete_user(name, audit(request, "user.delete", name))


async def change_own_password(request: Request, current: str, new: str) -> None:
    """The signed-in user changes their password after proving the current one."""
    me = principal(request)
    user = await _existing(request, me.name)
    if not await asyncio.to_thread(credentials.verify_password, user.password_hash, current):
        raise AccountError(422, "the current password is wrong", "current")
    await change_user(request, me.name, password=new)


async def create_token(
    request: Request, name: str, scopes: Sequence[Scope], expires_in: timedelta | None
) -> tuple[str, TokenRecord]:
    """Issue an API token; the secret is returned once and only its digest is kept."""
    if not scopes:
        raise AccountError(422, "choose at least one scope", "scopes")
    at = now(request)
    expires: datetime | None = at + expires_in if expires_in else None
    raw, new = issue_token(name, scopes, principal(request).actor, expires)
    entry = audit(request, "token.create", name, scopes=list(new.scopes), expires_at=expires and expires.isoformat())
    return raw, await access(request).store.create_token(new, at, entry)


async def revoke_token(request: Request, token_id: int) -> TokenRecord:
    """Revoke a token now."""
    found = await access(request).store.tokens(token_id=token_id)
    if not found:
        raise AccountError(404, f"no token with id {token_id}")
    entry = audit(request, "token.revoke", found[0].name, id=token_id)
    revoked = await access(request).store.revoke_token(token_id, now(request), entry)
    assert revoked is not None
    return revoked
