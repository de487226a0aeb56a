"""The middleware that enforces the access table on every request, before any handler runs.

Order of work: find the route (as the router will), look up its rule, identify the caller
(bearer token, else session cookie), decide with `authorize`, and for cookie-authenticated
writes check the CSRF token. Refusals: 401 JSON or a redirect to the login page, 403.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi.routing import RouteContext
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tocsin.auth import credentials
from tocsin.auth.model import ANONYMOUS, Access, Decision, Principal, authorize, needed_for
from tocsin.web.access import UNKNOWN, Rule, answers_json, rule_for
from tocsin.web.auth import SESSION_COOKIE, AccessService

PRINCIPAL = "tocsin.principal"  # where the guard leaves the caller in the ASGI scope
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD, CSRF_HEADER = "csrf", "x-csrf-token"


class AccessGuard:
    """ASGI middleware: authenticate, authorize from the access table, check CSRF."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._rules: dict[tuple[str, str, str], Rule | None] = {}  # (method, root_path, path) -> rule, bounded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Let the request through with its principal in the scope, or answer with a refusal."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self._guard(scope, receive, _hardened(send))

    async def _guard(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope["app"].state
        found = self._rule(scope, state.routes) or UNKNOWN  # unknown: the router answers 404/405 to those allowed
        access = found.effective(state.runtime.loaded.config.server)
        principal, stale = await _identify(state.access, scope, state.runtime.clock.now())
        scope[PRINCIPAL] = principal
        decision = authorize(principal, access)
        if decision is Decision.ALLOW and _needs_csrf(scope, principal, access):
            receive, ok = await _csrf_ok(scope, receive, principal)
            if not ok:
                await _csrf_refusal(scope)(scope, receive, send)
                return
        if decision is Decision.ALLOW:
            await self.app(scope, receive, send)
            return
        response = _refusal(scope, decision, access, principal)
        if stale:
            response.delete_cookie(SESSION_COOKIE, path="/")
        await response(scope, receive, send)

    def _rule(self, scope: Scope, routes: list[RouteContext]) -> Rule | None:
        """`_route`, memoized: which route a method and path reach depends on nothing else, and matching every
        route costs more than a cached status page answer."""
        key = (scope["method"], scope.get("root_path", ""), scope["path"])
        if key not in self._rules:
            if len(self._rules) >= RULE_MEMO:  # unbounded paths (scanners): start over rather than grow
                self._rules.clear()
            self._rules[key] = _route(scope, routes)
        return self._rules[key]


RULE_MEMO = 4096  # distinct (method, path) pairs remembered

_SAFE_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),  # no clickjacking of console buttons
    (b"referrer-policy", b"same-origin"),  # setup links and filters stay on this site
]


def _hardened(send: Send) -> Send:
    """`send` adding browser security headers, and `no-store` to HTML (pages can show secrets once)."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", [])) + _SAFE_HEADERS
            html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
            if html and not any(k.lower() == b"cache-control" for k, _ in headers):  # public pages say their own
                headers.append((b"cache-control", b"no-store"))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


def _route(scope: Scope, routes: list[RouteContext]) -> Rule | None:
    """The rule of the route the router will pick (the first full match, in the router's order)."""
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return rule_for(scope["method"], route.path or "")
    return None


async def _identify(service: AccessService, scope: Scope, now: Any) -> tuple[Principal, bool]:
    """The caller, and whether a session cookie was presented that is no longer valid."""
    headers = Headers(scope=scope)
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme:
        found = await service.from_token(value.strip(), now) if scheme.lower() == "bearer" and value else None
        return found or ANONYMOUS, False
    cookie = Request(scope).cookies.get(SESSION_COOKIE)
    if not cookie:
        return ANONYMOUS, False
    found = await service.from_session(cookie, now)
    return found or ANONYMOUS, found is None


def _needs_csrf(scope: Scope, principal: Principal, access: Access) -> bool:
    return principal.kind == "user" and scope["method"] in UNSAFE and access is not Access.PUBLIC


async def _csrf_ok(scope: Scope, receive: Receive, principal: Principal) -> tuple[Receive, bool]:
    """Compare the header or form field with the session's token; the body is replayed to the handler."""
    expected = principal.csrf or ""
    headers = Headers(scope=scope)
    given = headers.get(CSRF_HEADER)
    if given is None and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        body, receive = await _buffer(receive)
        given = dict(parse_qsl(body.decode("utf-8", "replace"))).get(CSRF_FIELD)
    return receive, bool(given) and credentials.same(given or "", expected)


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole body (the body limit wraps this app) and a receive that replays it."""
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body, replayed = b"".join(chunks), False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


def _wants_json(scope: Scope) -> bool:
    return answers_json(scope["path"], Headers(scope=scope).get("accept", ""))


def _refusal(scope: Scope, decision: Decision, access: Access, principal: Principal) -> Response:
    if decision is Decision.UNAUTHENTICATED:
        if _wants_json(scope):
            detail = "authentication required: send 'Authorization: Bearer <token>' or sign in at /login"
            return JSONResponse({"detail": detail}, 401, headers={"WWW-Authenticate": 'Bearer realm="tocsin"'})
        target = scope["path"] + (f"?{scope['query_string'].decode()}" if scope.get("query_string") else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
    detail = f"forbidden: {principal.actor} may not do this; it needs {needed_for(access)}"
    return _error(scope, 403, detail)


def _csrf_refusal(scope: Scope) -> Response:
    return _error(scope, 403, "the form's CSRF token is missing or wrong; reload the page and try again")


def _error(scope: Scope, status: int, detail: str) -> Response:
    if _wants_json(scope):
        return JSONResponse({"detail": detail}, status)
    from tocsin.web.ui.render import error_page  # pages import the guard's constants

    return error_page(Request(scope), status, detail)
