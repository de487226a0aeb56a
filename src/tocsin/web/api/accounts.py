"""`/api/v1/me`, `/api/v1/users`, `/api/v1/tokens` and `/api/v1/audit`."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from tocsin.auth.model import Role, Scope
from tocsin.config.duration import Duration
from tocsin.store.access_records import AuditQuery
from tocsin.web import accounts
from tocsin.web.access_views import AuditPage, TokenView, UserView, audit_page, token_view, user_view
from tocsin.web.bodies import InvalidBody
from tocsin.web.deps import access, now, principal

router = APIRouter(prefix="/api/v1", tags=["access"])
T = TypeVar("T")
NAME = r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,127}$"


class Body(BaseModel):
    """Request bodies: unknown fields are refused (422 naming them)."""

    model_config = ConfigDict(extra="forbid")


class NewUserBody(Body):
    """A user to create; without a password they cannot sign in until one is set."""

    name: str = Field(pattern=NAME)
    role: Role
    password: str | None = None


class UserPatch(Body):
    """Fields to change; leave out what stays."""

    role: Role | None = None
    password: str | None = None
    disabled: bool | None = None


class NewTokenBody(Body):
    """A token to issue: a name, one or more scopes, and an optional lifetime like `90d`."""

    name: str = Field(pattern=NAME)
    scopes: list[Scope] = Field(min_length=1)
    expires_in: Duration | None = None


class IssuedToken(TokenView):
    """A new token with its secret: shown once, never again."""

    token: str


class Me(BaseModel):
    """Who the credentials belong to and what they may do."""

    kind: str
    name: str
    role: str | None
    scopes: list[str]
    grants: list[str]


async def _run(call: Awaitable[T]) -> T:
    try:
        return await call
    except accounts.AccountError as exc:
        if exc.status == 422:
            raise InvalidBody([{"field": exc.field, "message": exc.message, "type": "value_error"}]) from None
        raise HTTPException(exc.status, exc.message) from None


@router.get("/me", response_model=Me)
async def me(request: Request) -> Me:
    """The caller: a user with a role, or a token with scopes."""
    p = principal(request)
    grants = sorted(g.value for g in p.grants)
    return Me(kind=p.kind, name=p.name, role=p.role, scopes=sorted(s.value for s in p.scopes), grants=grants)


@router.get("/users", response_model=list[UserView])
async def list_users(request: Request) -> list[UserView]:
    """Every user, local and from the config file."""
    return [user_view(u) for u in await access(request).store.list_users()]


@router.post("/users", response_model=UserView, status_code=201)
async def create_user(request: Request, body: NewUserBody) -> UserView:
    """Create a local user."""
    return user_view(await _run(accounts.create_user(request, body.name, body.role, body.password)))


@router.patch("/users/{name}", response_model=UserView)
async def change_user(request: Request, name: str, body: UserPatch) -> UserView:
    """Change a user's role, password or disabled flag."""
    return user_view(await _run(accounts.change_user(request, name, body.role, body.password, body.disabled)))


@router.delete("/users/{name}", status_code=204)
async def delete_user(request: Request, name: str) -> Response:
    """Delete a local user and end their sessions."""
    await _run(accounts.delete_user(request, name))
    return Response(status_code=204)


@router.get("/tokens", response_model=list[TokenView])
async def list_tokens(request: Request) -> list[TokenView]:
    """Every API token (revoked and expired ones too), oldest first."""
    at = now(request)
    return [token_view(t, at) for t in await access(request).store.tokens()]


@router.post("/tokens", response_model=IssuedToken, status_code=201)
async def create_token(request: Request, body: NewTokenBody) -> IssuedToken:
    """Issue a token; the answer is the only time its secret is shown."""
    expires: timedelta | None = body.expires_in
    raw, record = await _run(accounts.create_token(request, body.name, body.scopes, expires))
    return IssuedToken(token=raw, **token_view(record, now(request)).model_dump())


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(request: Request, token_id: int) -> Response:
    """Revoke a token: it stops working at once."""
    await _run(accounts.revoke_token(request, token_id))
    return Response(status_code=204)


@router.get("/audit", response_model=AuditPage)
async def audit_log(
    request: Request,
    actor: str | None = None,
    action: Annotated[str | None, Query(description="exact, or a prefix ending in '.' such as 'monitor.'")] = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    """Who changed what, when and from where, newest first."""
    query = AuditQuery(actor, action, target, since, until, before, limit)
    return await audit_page(access(request).store, query)
