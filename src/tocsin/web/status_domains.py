"""Custom domains of status pages: a request whose Host is a page's `custom_domain` gets that page at `/`.

An ASGI middleware in front of the access guard maps `/` and the page's sub-paths to the
`/status/{slug}` routes before routing, so the route table in web/access.py still decides
who may call what. Everything else on that host is 404: the console and the APIs are not
exposed on a status domain. Pages' links are written relative to the `base` this sets.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from tocsin.statuspage.registry import registry
from tocsin.web.ui.status_pages import BASE

# Sub-paths of a page served at the root of its domain, as (exact path or prefix ending in "/", route suffix).
PAGE_PATHS: tuple[tuple[str, str], ...] = (
    ("/", ""),
    ("/index.json", ".json"),
    ("/history", "/history"),
    ("/history.json", "/history.json"),
    ("/feed.atom", "/feed.atom"),
    ("/feed.rss", "/feed.rss"),
    ("/badge/", "/badge/"),
    ("/api/v2/", "/api/v2/"),
    ("/subscribe", "/subscribe"),  # subscriber sign-up and links (statuspage/subscribers.py)
    ("/subscribe.json", "/subscribe.json"),
    ("/subscriptions/confirm", "/subscriptions/confirm"),
    ("/unsubscribe", "/unsubscribe"),
)


def page_path(slug: str, path: str) -> str | None:
    """The `/status/{slug}…` route a path on the page's domain maps to, or None when the domain does not serve it."""
    for pattern, suffix in PAGE_PATHS:
        if pattern.endswith("/") and pattern != "/" and path.startswith(pattern):
            return f"/status/{slug}{suffix}{path[len(pattern) :]}"
        if path == pattern:
            return f"/status/{slug}{suffix}"
    return None


class StatusDomains:
    """Serve each status page with a custom domain at that domain's root; 404 for anything else there."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite the path of a request to a status domain, or pass it through untouched."""
        state = scope["app"].state if scope["type"] == "http" and "app" in scope else None
        rt = getattr(state, "runtime", None)
        if state is None or rt is None or not getattr(rt, "ready", False):
            await self.app(scope, receive, send)
            return
        scope = head_as_get(scope)
        host = Headers(scope=scope).get("host", "")
        pages = registry(state, rt)
        await pages.refresh()
        entry = pages.by_host(host) if host else None
        if entry is None:
            await self.app(scope, receive, send)
            return
        target = page_path(entry.spec.slug, scope["path"])
        if target is None:
            answer = PlainTextResponse(f"not found: {entry.spec.custom_domain} serves only its status page\n", 404)
            await answer(scope, receive, send)
            return
        rewritten = head_as_get(dict(scope, path=target, raw_path=target.encode(), root_path=""))
        rewritten[BASE] = ""
        await self.app(rewritten, receive, send)


def head_as_get(scope: Scope) -> Scope:
    """A `HEAD` of a public status page read is routed as its `GET` (uptime checkers and CDNs send HEAD);
    uvicorn still sends no body, since its own scope says HEAD. Sign-up and confirmation links stay GET-only:
    a link scanner's HEAD must not confirm or cancel a subscription."""
    path = scope["path"]
    if scope["method"] != "HEAD" or not path.startswith("/status/"):
        return scope
    if any(part in path for part in ("/subscribe", "/subscriptions/", "/unsubscribe")):
        return scope
    return dict(scope, method="GET")
