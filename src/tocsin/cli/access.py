"""`tocsin user ...`, `tocsin token ...` and `tocsin config export`: work on the database directly.

They open the same database as `tocsin serve` (config `storage.url`, TOCSIN_DATABASE_URL or
--database-url), so they work before the first start and while a server runs.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import click

from tocsin.auth import credentials
from tocsin.auth.model import Role, parse_scopes
from tocsin.clock import SystemClock
from tocsin.config.duration import parse_duration
from tocsin.config.errors import ConfigErrors
from tocsin.config.loader import load_config
from tocsin.store.access_records import AuditEntry, NewUser, TokenRecord, UserChange
from tocsin.store.database import resolve_url
from tocsin.store.store import Store, StoreUnavailable
from tocsin.store.users import UserExists

T = TypeVar("T")
DEFAULT_CONFIG = "tocsin.yaml"


class Refused(click.ClickException):
    """A command that cannot do what was asked (exit code 1, message on stderr)."""


def _entry(action: str, target: str, **detail: object) -> AuditEntry:
    who = f"cli:{getpass.getuser()}"
    return AuditEntry(SystemClock().now(), who, "cli", action, target, "cli", dict(detail))


def run_on_store(config_path: str, override: str | None, work: Callable[[Store], Awaitable[T]]) -> T:
    """Open (and migrate) the database, run `work`, close it; config and connection errors exit cleanly."""

    async def go() -> T:
        try:
            url = override or resolve_url(load_config(Path(config_path)).config.storage.url, os.environ)
        except ConfigErrors as exc:
            raise Refused(exc.format()) from None
        try:
            store = await Store.open(url)
        except StoreUnavailable as exc:
            raise Refused(str(exc)) from None
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(go())


def read_password(from_stdin: bool, name: str) -> str:
    """A new password from stdin (one line) or a hidden prompt asked twice; refused if too weak."""
    password = (
        sys.stdin.readline().rstrip("\n")
        if from_stdin
        else click.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    )
    problem = credentials.password_problem(password, name)
    if problem:
        raise Refused(problem)
    return password


async def create_user(store: Store, name: str, role: Role, password: str) -> str:
    """Create a local user."""
    user = NewUser(name, role.value, credentials.hash_password(password))
    try:
        await store.access.create_user(user, SystemClock().now(), _entry("user.create", name, role=role.value))
    except UserExists as exc:
        raise Refused(str(exc)) from None
    return f"created {role.value} {name}"


async def list_users(store: Store) -> str:
    """A table of users."""
    rows = [("NAME", "ROLE", "SOURCE", "STATUS")]
    for u in await store.access.list_users():
        status = "disabled" if u.disabled else ("active" if u.has_password else "no password")
        rows.append((u.name, u.role, u.source if not u.location else f"config {u.location}", status))
    return table(rows)


async def set_password(store: Store, name: str, password: str) -> str:
    """Set a user's password (their sessions end)."""
    change = UserChange(password_hash=credentials.hash_password(password))
    if (
        await store.access.change_user(
            name, change, SystemClock().now(), _entry("user.update", name, password="changed")
        )
        is None
    ):
        raise Refused(f"no user named {name!r}")
    return f"password of {name} changed"


async def delete_user(store: Store, name: str) -> str:
    """Delete a local user (not the last admin)."""
    user = await store.access.user(name)
    if user is None:
        raise Refused(f"no user named {name!r}")
    if user.role == Role.ADMIN.value and not user.disabled and await store.access.admin_count() <= 1:
        raise Refused(f"{name} is the last admin; create another admin first")
    await store.access.delete_user(name, _entry("user.delete", name))
    return f"deleted {name}"


async def create_token(store: Store, name: str, scopes: tuple[str, ...], expires: str | None) -> str:
    """Issue a token; returns the secret (the only time it is shown)."""
    from tocsin.web.auth import issue_token

    try:
        chosen = parse_scopes(scopes)
        lifetime = parse_duration(expires) if expires else None
    except ValueError as exc:
        raise Refused(str(exc)) from None
    now = SystemClock().now()
    raw, new = issue_token(name, sorted(chosen), f"cli:{getpass.getuser()}", now + lifetime if lifetime else None)
    entry = _entry(
        "token.create", name, scopes=list(new.scopes), expires_at=new.expires_at and new.expires_at.isoformat()
    )
    await store.access.create_token(new, now, entry)
    return raw


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at else "-"


def _status(token: TokenRecord, now: datetime) -> str:
    if token.revoked_at:
        return "revoked"
    return "active" if token.active(now) else "expired"


async def list_tokens(store: Store) -> str:
    """A table of tokens (never their secrets)."""
    now = SystemClock().now()
    rows = [("ID", "NAME", "PREFIX", "SCOPES", "CREATED", "EXPIRES", "LAST USED", "STATUS")]
    for t in await store.access.tokens():
        rows.append(
            (
                str(t.id),
                t.name,
                t.prefix + "…",
                ",".join(t.scopes),
                _when(t.created_at),
                _when(t.expires_at),
                _when(t.last_used_at),
                _status(t, now),
            )
        )
    return table(rows)


async def revoke_token(store: Store, which: str) -> str:
    """Revoke a token by id, or by name when that name is unique among active tokens."""
    now = SystemClock().now()
    if which.isdigit():
        found = await store.access.tokens(token_id=int(which))
    else:
        found = [t for t in await store.access.tokens(name=which) if t.active(now)]
    if len(found) != 1:
        problem = (
            "no active token" if not found else f"{len(found)} active tokens ({', '.join(str(t.id) for t in found)})"
        )
        raise Refused(f"{problem} named {which!r}; `tocsin token list` shows ids")
    await store.access.revoke_token(found[0].id, now, _entry("token.revoke", found[0].name, id=found[0].id))
    return f"revoked token {found[0].id} ({found[0].name})"


async def export_monitors(store: Store) -> str:
    """The database-defined monitors as config YAML."""
    from tocsin.checks.catalog import export_yaml

    return export_yaml(await store.list_monitors())


def table(rows: Sequence[tuple[str, ...]]) -> str:
    """Rows as aligned columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)
