"""`POST /api/v2/alerts` handed from the access guard straight to its handler, skipping routing.

Prometheus posts alerts every evaluation interval, so this is the busiest write. Matching
the route table and FastAPI's request machinery cost about as much as parsing and routing
the alerts of a small batch. The guard has already authorized the request exactly as for
the route (the route stays in the table, web/access.py decides who may call it); the
handler is the route's own (`web/api/alertmanager.post_alerts`), so answers are the same.
Any other method or path, a root path, or the status domains' rewritten paths, go the
normal way.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tocsin.web.api.alertmanager import post_alerts

PATH = "/api/v2/alerts"


class AlertPosts:
    """ASGI middleware inside the access guard: answer `POST /api/v2/alerts` with its handler directly."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the alerts handler for a POST of alerts; pass anything else through."""
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == PATH
            and not scope.get("root_path")
        ):
            response = await post_alerts(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
