"""View models for users, tokens and the audit log (the API answers and the settings pages)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from tocsin.store.access import AccessStore
from tocsin.store.access_records import AuditQuery, AuditRecord, TokenRecord, UserRecord


class UserView(BaseModel):
    """A user as the API shows it (never the password hash)."""

    name: str
    role: str
    source: str
    location: str | None
    disabled: bool
    has_password: bool
    created_at: datetime
    updated_at: datetime


class TokenView(BaseModel):
    """An API token's metadata (never the token)."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool


class AuditView(BaseModel):
    """One audit entry."""

    id: int
    at: datetime
    actor: str
    actor_kind: str
    action: str
    target: str
    source: str
    detail: dict[str, Any]


class AuditPage(BaseModel):
    """A page of the audit log, newest first; pass `next_before` as `before` for the next page."""

    entries: list[AuditView]
    next_before: int | None
    filters: dict[str, str]


def user_view(user: UserRecord) -> UserView:
    """A stored user as the API shows it."""
    return UserView(
        name=user.name,
        role=user.role,
        source=user.source,
        location=user.location,
        disabled=user.disabled,
        has_password=user.has_password,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def token_view(token: TokenRecord, now: datetime) -> TokenView:
    """A stored token as the API shows it."""
    return TokenView(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        scopes=list(token.scopes),
        created_by=token.created_by,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
        active=token.active(now),
    )


def audit_view(record: AuditRecord) -> AuditView:
    """A stored audit entry as the API shows it."""
    e = record.entry
    return AuditView(
        id=record.id,
        at=e.at,
        actor=e.actor,
        actor_kind=e.actor_kind,
        action=e.action,
        target=e.target,
        source=e.source,
        detail=e.detail,
    )


async def audit_page(store: AccessStore, query: AuditQuery) -> AuditPage:
    """The audit entries matching `query`, with the cursor for the next page."""
    records = await store.audit_log(query)
    next_before = records[-1].id if len(records) == query.limit else None
    filters = {k: str(v) for k in ("actor", "action", "target", "since", "until") if (v := getattr(query, k))}
    return AuditPage(entries=[audit_view(r) for r in records], next_before=next_before, filters=filters)
