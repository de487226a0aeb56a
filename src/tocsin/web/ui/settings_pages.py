"""Settings: config reload, users, API tokens and the audit log (admins), with JSON twins in /api/v1."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from tocsin.auth.model import Role, Scope
from tocsin.config.duration import parse_duration
from tocsin.store.access_records import AuditQuery
from tocsin.web import accounts
from tocsin.web.access_views import AuditPage, TokenView, UserView, audit_page, token_view, user_view
from tocsin.web.deps import access, audit, now, runtime
from tocsin.web.ui.forms import form_list, form_text, form_values
from tocsin.web.ui.render import render, twin

router = APIRouter(include_in_schema=False)
EXPIRY_CHOICES = {"": "never", "30d": "30 days", "90d": "90 days", "365d": "1 year"}


class SettingsView(BaseModel):
    """The settings index."""

    config_path: str
    monitors: int
    notice: str | None = None
    errors: list[str] = []


class UsersView(BaseModel):
    """The users page."""

    users: list[UserView]
    roles: list[str] = [r.value for r in Role]
    error: str | None = None


class TokensView(BaseModel):
    """The tokens page; `created` holds a new token's secret, shown this once."""

    tokens: list[TokenView]
    scopes: list[str] = [s.value for s in Scope]
    expiries: dict[str, str] = EXPIRY_CHOICES
    created: str | None = None
    error: str | None = None


@router.get("/settings")
async def settings_page(request: Request, reloaded: str = "") -> Response:
    """Links to everything configurable, and the config reload button."""
    rt = runtime(request)
    notice = {"ok": "Config reloaded."}.get(reloaded)
    view = SettingsView(config_path=str(rt.config_path), monitors=len(rt.runner.monitors), notice=notice)
    return render(request, "settings.html", view, active="settings")


@router.post("/settings/reload")
async def reload_config(request: Request) -> Response:
    """Re-read the config file (audited); the errors are shown if it is invalid."""
    rt = runtime(request)
    outcome = await rt.reload()
    entry = audit(request, "config.reload", str(rt.config_path), ok=outcome.ok, errors=list(outcome.errors)[:20])
    await access(request).store.record(entry)
    if outcome.ok:
        return RedirectResponse("/settings?reloaded=ok", 303)
    view = SettingsView(config_path=str(rt.config_path), monitors=len(rt.runner.monitors), errors=list(outcome.errors))
    return render(request, "settings.html", view, 400, active="settings")


async def _users(request: Request, error: str | None = None, status: int = 200) -> Response:
    users = [user_view(u) for u in await access(request).store.list_users()]
    return render(request, "users.html", UsersView(users=users, error=error), status, active="settings")


async def _users_after(request: Request, change: Awaitable[Any]) -> Response:
    try:
        await change
    except accounts.AccountError as exc:
        return await _users(request, exc.message, exc.status)
    return RedirectResponse("/settings/users", 303)


def _role(text: str) -> Role | None:
    return Role(text) if text in {r.value for r in Role} else None


@router.get("/settings/users")
async def users_page(request: Request) -> Response:
    """Users, their roles and where they come from; forms to add and change them."""
    return await _users(request)


@router.post("/settings/users")
async def create_user(request: Request) -> Response:
    """Add a local user."""
    form = await form_values(request)
    name, role = form_text(form, "name").strip(), _role(form_text(form, "role"))
    if not name or role is None:
        return await _users(request, "Give a name and a role.", 422)
    return await _users_after(request, accounts.create_user(request, name, role, form_text(form, "password") or None))


@router.post("/settings/users/{name}")
async def change_user(request: Request, name: str) -> Response:
    """Change a user's role, set a new password, or disable or enable them."""
    form = await form_values(request)
    disabled = {"disable": True, "enable": False}.get(form_text(form, "action"))
    password = form_text(form, "password") or None
    role = _role(form_text(form, "role"))
    return await _users_after(request, accounts.change_user(request, name, role, password, disabled))


@router.post("/settings/users/{name}/delete")
async def delete_user(request: Request, name: str) -> Response:
    """Delete a local user."""
    return await _users_after(request, accounts.delete_user(request, name))


async def _tokens(
    request: Request, created: str | None = None, error: str | None = None, status: int = 200
) -> Response:
    at = now(request)
    tokens = [token_view(t, at) for t in await access(request).store.tokens()]
    view = TokensView(tokens=tokens, created=created, error=error)
    return render(request, "tokens.html", view, status, active="settings")


@router.get("/settings/tokens")
async def tokens_page(request: Request) -> Response:
    """API tokens with their scopes, expiry and last use; forms to issue and revoke them."""
    return await _tokens(request)


@router.post("/settings/tokens")
async def create_token(request: Request) -> Response:
    """Issue a token and show its secret on this page, once."""
    form = await form_values(request)
    name = form_text(form, "name").strip()
    scopes = [Scope(s) for s in form_list(form, "scopes") if s in {x.value for x in Scope}]
    expiry = form_text(form, "expires_in")
    if not name or expiry not in EXPIRY_CHOICES:
        return await _tokens(request, error="Give the token a name.", status=422)
    try:
        raw, _ = await accounts.create_token(request, name, scopes, parse_duration(expiry) if expiry else None)
    except accounts.AccountError as exc:
        return await _tokens(request, error=exc.message, status=exc.status)
    return await _tokens(request, created=raw)


@router.post("/settings/tokens/{token_id}/revoke")
async def revoke_token(request: Request, token_id: int) -> Response:
    """Revoke a token."""
    try:
        await accounts.revoke_token(request, token_id)
    except accounts.AccountError as exc:
        return await _tokens(request, error=exc.message, status=exc.status)
    return RedirectResponse("/settings/tokens", 303)


def _day(text: str | None, end: bool = False) -> datetime | None:
    """A `YYYY-MM-DD` filter as the start (or the end) of that day in UTC; None if empty or malformed."""
    try:
        day = datetime.strptime(text or "", "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(day, time(0), UTC) + timedelta(days=1 if end else 0)


def _audit_query(actor: str, action: str, target: str, since: str, until: str, before: int | None) -> AuditQuery:
    return AuditQuery(actor or None, action or None, target or None, _day(since), _day(until, end=True), before)


async def _audit(request: Request, query: AuditQuery) -> AuditPage:
    return await audit_page(access(request).store, query)


Filter = Annotated[str, Query(max_length=300)]


@router.get("/settings/audit")
async def audit_log_page(
    request: Request,
    actor: Filter = "",
    action: Filter = "",
    target: Filter = "",
    since: Filter = "",
    until: Filter = "",
    before: int | None = None,
) -> Response:
    """The audit log with filters by actor, action (or `monitor.` prefix), target and day range."""
    view = await _audit(request, _audit_query(actor, action, target, since, until, before))
    form = {"actor": actor, "action": action, "target": target, "since": since, "until": until}
    return render(request, "audit.html", view, active="settings", form=form)


@router.get("/settings/audit.json")
async def audit_log_json(
    request: Request,
    actor: Filter = "",
    action: Filter = "",
    target: Filter = "",
    since: Filter = "",
    until: Filter = "",
    before: int | None = None,
) -> JSONResponse:
    """JSON twin of the audit page (same filters)."""
    return twin(await _audit(request, _audit_query(actor, action, target, since, until, before)))
