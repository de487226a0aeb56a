"""The FastAPI application: routers, the access guard, body limits, and error shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import tocsin
from tocsin.runtime import Runtime
from tocsin.web.access import answers_json, guarded_routes
from tocsin.web.alert_lane import AlertPosts
from tocsin.web.api import (
    accounts,
    acklinks,
    alertmanager,
    alerts,
    heartbeat,
    incident_actions,
    incident_updates,
    incidents,
    ingest,
    monitor_edits,
    monitors,
    oncall,
    oncall_overrides,
    ops,
    pagerduty,
    postmortems,
    reports,
    slos,
    subscriptions,
)
from tocsin.web.api import status_pages as status_pages_api
from tocsin.web.auth import AccessService, SessionPolicy
from tocsin.web.bodies import malformed
from tocsin.web.guard import AccessGuard
from tocsin.web.status_domains import StatusDomains
from tocsin.web.ui import (
    alert_pages,
    auth_pages,
    incident_pages,
    monitor_forms,
    nav,
    oncall_pages,
    overview_pages,
    pages,
    postmortem_pages,
    report_pages,
    settings_pages,
    slo_pages,
    status_console,
    status_pages,
    subscription_pages,
    update_pages,
)
from tocsin.web.ui.render import error_page


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, before the handler reads them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length up front and count streamed bytes as they arrive."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(send, self.limit)
            return
        seen, over = 0, False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                over = True
                raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            if not over:  # once over the limit, the 413 below is the answer (not a 500 from an error handler)
                await send(message)

        try:
            await self.app(scope, counted, guarded)
        except _TooLarge:
            await _too_large(send, self.limit)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = f'{{"detail":"request body larger than {limit} bytes (server.max_body_bytes)"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    for e in exc.errors():
        if e["type"] == "json_invalid":  # not JSON at all: 400 saying where, not 422
            bad = malformed(str(e.get("ctx", {}).get("error", "not valid JSON")), e["loc"][-1])
            return JSONResponse(bad.detail, status_code=bad.status_code)
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]} for e in exc.errors()
    ]
    return JSONResponse({"detail": "invalid request", "errors": errors}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> Response:
    """JSON for the API (a dict detail is the whole body), an HTML page for console pages."""
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if not answers_json(request.url.path, request.headers.get("accept", "")):
        return error_page(request, exc.status_code, str(exc.detail))
    body = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


def create_app(runtime: Runtime, *, manage_lifecycle: bool = True, test_clock: bool = False) -> FastAPI:
    """Build the app around a Runtime; with `manage_lifecycle` the app starts and stops it."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await runtime.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                await runtime.stop()

    app = FastAPI(title="tocsin", version=tocsin.__version__, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.templates = pages.templates()
    app.state.templates.env.globals["subscribable"] = subscription_pages.subscribable(runtime)  # Subscribe link
    app.state.access = AccessService(lambda: runtime.store.access, lambda: session_policy(runtime))
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(AlertPosts)  # inside the guard: authorized as the route, then no routing (hot path)
    app.add_middleware(AccessGuard)
    app.add_middleware(StatusDomains)  # outside the guard: a status domain's paths are mapped before routing
    for router in ROUTERS:
        app.include_router(router)
    if test_clock:
        app.include_router(ops.test_clock_router)
    app.mount(
        "/static",
        StaticFiles(directory=str(Path(__file__).parent / "ui" / "static")),
        name="static",
    )
    app.state.routes = guarded_routes(app.routes)  # every route must be in web/access.py, or tocsin does not start
    return app


# Order matters where paths overlap: /monitors/new before /monitors/{name}.
ROUTERS = (
    status_pages.router,  # first: the busiest public pages skip matching every other route (only /status/ paths)
    ops.router,
    alertmanager.router,
    ingest.router,
    pagerduty.router,
    oncall.router,
    oncall_overrides.router,
    acklinks.router,
    alerts.router,
    incident_updates.router,  # before incidents: /incidents/templates is not an incident id
    incidents.router,
    incident_actions.router,
    postmortems.router,
    heartbeat.router,
    monitors.router,
    monitor_edits.router,
    accounts.router,
    slos.router,
    reports.router,
    auth_pages.router,
    overview_pages.router,
    monitor_forms.router,
    pages.router,
    alert_pages.router,
    incident_pages.router,
    update_pages.router,
    postmortem_pages.router,
    settings_pages.router,
    slo_pages.router,
    report_pages.router,
    oncall_pages.router,
    status_console.router,
    status_pages_api.router,
    subscription_pages.router,
    subscriptions.router,
    nav.router,
)


def session_policy(runtime: Runtime) -> SessionPolicy:
    """Session lifetimes from `server.session_max_age` and `server.session_idle_timeout`."""
    server = runtime.loaded.config.server
    return SessionPolicy(server.session_max_age, server.session_idle_timeout)


def with_body_limit(app: FastAPI, limit: int) -> ASGIApp:
    """Wrap the app with the request body size limit."""
    return BodyLimit(app, limit)
