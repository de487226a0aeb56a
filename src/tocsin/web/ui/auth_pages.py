"""Signing in and out, first-run setup, and the account page (password, theme).

The login and setup forms come before any session exists, so their CSRF protection is a
double-submit cookie: a random value in an HttpOnly cookie that the form must echo.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from tocsin.auth import credentials
from tocsin.store.access import SetupUsed
from tocsin.web.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from tocsin.web.deps import access, client_ip, now, principal, runtime
from tocsin.web.ui.forms import form_text, form_values
from tocsin.web.ui.render import THEME_COOKIE, THEMES, error_page, render

router = APIRouter(include_in_schema=False)


class LoginView(BaseModel):
    """The sign-in form."""

    next: str = "/"
    name: str = ""
    error: str | None = None
    notice: str | None = None
    needs_setup: bool = False


class SetupView(BaseModel):
    """The first-run form that creates the first admin."""

    name: str = "admin"
    error: str | None = None


class AccountView(BaseModel):
    """The signed-in user's own page."""

    name: str
    role: str | None
    error: str | None = None
    notice: str | None = None


def secure(request: Request) -> bool:
    """Mark cookies Secure when the console is reached over https (directly or per external_url)."""
    external = runtime(request).loaded.config.server.external_url or ""
    return request.url.scheme == "https" or external.startswith("https://")


def safe_next(target: str | None) -> str:
    """A local path to go to after sign-in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _with_login_csrf(request: Request, response: Response, token: str) -> Response:
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure(request), path="/")
    return response


def _login_csrf_ok(request: Request, given: str) -> bool:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(expected) and credentials.same(given, expected)


def _form_page(request: Request, template: str, view: BaseModel, status: int = 200) -> Response:
    token = credentials.new_secret()
    return _with_login_csrf(request, render(request, template, view, status, form_csrf=token), token)


async def _start_session(request: Request, raw: str, target: str) -> Response:
    old = request.cookies.get(SESSION_COOKIE)
    if old:  # rotate: whatever session this browser had ends at sign-in
        await access(request).store.end_session(credentials.digest(old), None)
    response = RedirectResponse(target, 303)
    max_age = int(runtime(request).loaded.config.server.session_max_age.total_seconds())
    response.set_cookie(
        SESSION_COOKIE, raw, max_age=max_age, httponly=True, samesite="lax", secure=secure(request), path="/"
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


async def _sign_in(request: Request, name: str, password: str, target: str) -> Response:
    """Sign in with a password just set (setup, password change); the login page if that fails."""
    agent = request.headers.get("user-agent", "")
    result = await access(request).login(name, password, client_ip(request), agent, now(request))
    return await _start_session(request, result.session, target) if result.session else RedirectResponse("/login", 303)


@router.get("/login")
async def login_page(request: Request, next: str = "/", signed_out: bool = False) -> Response:
    """The sign-in form (a signed-in user goes straight on)."""
    if principal(request).authenticated:
        return RedirectResponse(safe_next(next), 303)
    needs_setup = not await access(request).store.admin_count()
    view = LoginView(next=safe_next(next), needs_setup=needs_setup, notice="Signed out." if signed_out else None)
    return _form_page(request, "login.html", view)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the password; on success open a fresh session, else show the form again with why."""
    form = await form_values(request)
    target = safe_next(form_text(form, "next"))
    if not _login_csrf_ok(request, form_text(form, "csrf")):
        view = LoginView(next=target, error="The form expired; please sign in again.")
        return _form_page(request, "login.html", view, 400)
    name, password = form_text(form, "name").strip(), form_text(form, "password")
    agent = request.headers.get("user-agent", "")
    result = await access(request).login(name, password, client_ip(request), agent, now(request))
    if result.session is None:
        return _form_page(request, "login.html", LoginView(next=target, name=name, error=result.error), result.status)
    return await _start_session(request, result.session, target)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End this browser's session."""
    await access(request).logout(
        request.cookies.get(SESSION_COOKIE), principal(request), client_ip(request), now(request)
    )
    response = RedirectResponse("/login?signed_out=1", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


_SPENT = "This setup link is not valid: it was used already or an admin exists. Sign in at /login instead."


@router.get("/setup/{token}")
async def setup_page(request: Request, token: str) -> Response:
    """The one-time page that creates the first admin."""
    if not await access(request).setup_valid(token):
        return error_page(request, 404, _SPENT)
    return _form_page(request, "setup.html", SetupView())


@router.post("/setup/{token}")
async def setup(request: Request, token: str) -> Response:
    """Create the first admin and sign them in."""
    if not await access(request).setup_valid(token):
        return error_page(request, 404, _SPENT)
    form = await form_values(request)
    name, password = form_text(form, "name").strip(), form_text(form, "password")
    error = None
    if not _login_csrf_ok(request, form_text(form, "csrf")):
        error = "The form expired; please try again."
    elif password != form_text(form, "confirm"):
        error = "The two passwords differ."
    elif not name:
        error = "Choose a user name."
    if error:
        return _form_page(request, "setup.html", SetupView(name=name, error=error), 422)
    try:
        await access(request).complete_setup(token, name, password, client_ip(request), now(request))
    except SetupUsed:
        return error_page(request, 404, _SPENT)
    except ValueError as exc:
        return _form_page(request, "setup.html", SetupView(name=name, error=str(exc)), 422)
    return await _sign_in(request, name, password, "/")


@router.get("/account")
async def account_page(request: Request, changed: bool = False) -> Response:
    """Your account: role, password, theme."""
    me = principal(request)
    notice = "Password changed." if changed else None
    return render(request, "account.html", AccountView(name=me.actor, role=me.role, notice=notice), active="settings")


@router.post("/account/password")
async def change_password(request: Request) -> Response:
    """Change your own password (your other sessions end; this one signs in again)."""
    from tocsin.web.accounts import AccountError, change_own_password

    me = principal(request)
    form = await form_values(request)
    new = form_text(form, "new")
    try:
        if me.kind != "user":
            raise AccountError(409, "API tokens have no password")
        if new != form_text(form, "confirm"):
            raise AccountError(422, "the two new passwords differ")
        await change_own_password(request, form_text(form, "current"), new)
    except AccountError as exc:
        view = AccountView(name=me.actor, role=me.role, error=exc.message)
        return render(request, "account.html", view, exc.status, active="settings")
    return await _sign_in(request, me.name, new, "/account?changed=1")


@router.post("/account/theme")
async def choose_theme(request: Request) -> Response:
    """Remember light, dark or automatic theme in a cookie."""
    form = await form_values(request)
    chosen = form_text(form, "theme")
    response = RedirectResponse(safe_next(form_text(form, "next") or "/account"), 303)
    if chosen in THEMES:
        response.set_cookie(THEME_COOKIE, chosen, max_age=365 * 86400, samesite="lax", secure=secure(request), path="/")
    return response
