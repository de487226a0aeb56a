"""Public status pages (no sign-in): the page, its `.json` twin, Statuspage API v2 shapes, feeds and SVG badges.

Every answer carries an `ETag` and `Cache-Control: public, max-age=30`, and a matching
`If-None-Match` gets 304, so a busy page costs little. Views and renders are cached per page
(statuspage/cache.py); when the store cannot be read, the last good render is served with
`X-Tocsin-Stale: 1` (and a visible marker on the page) instead of an error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from html import escape
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from tocsin.statuspage import badges, feeds
from tocsin.statuspage import statuspage_api as api
from tocsin.statuspage.cache import PageCache, PageUnavailable, Served, fingerprint
from tocsin.statuspage.views import ComponentView, StatusPageView, find_page, status_page
from tocsin.web.deps import runtime

router = APIRouter(include_in_schema=False)
CACHE_CONTROL = "public, max-age=30"


Render = Callable[[StatusPageView, bool], bytes]


def _cache(request: Request) -> PageCache:
    state = request.app.state
    if not hasattr(state, "status_page_cache"):
        state.status_page_cache = PageCache()
    cache: PageCache = state.status_page_cache
    return cache


async def _served(request: Request, slug: str) -> Served:
    """The page's view from the cache; raises PageUnavailable when neither the store nor the cache has one."""
    rt = runtime(request)
    page = find_page(rt, slug)
    if page is None:
        raise HTTPException(404, f"no status page {slug!r}")
    now = rt.clock.now()
    return await _cache(request).get(slug, fingerprint(rt, page, now), lambda: status_page(rt, page, now))


async def _answer(request: Request, slug: str, kind: str, media_type: str, render: Render) -> Response:
    """The page rendered as `kind` (memoized with its cached view), stale-marked when it is a fallback."""
    try:
        served = await _served(request, slug)
    except PageUnavailable:
        return Response("status temporarily unavailable\n", 503, {"Retry-After": "30"}, "text/plain")
    key = f"{kind}:{served.stale}"
    if key not in served.entry.renders:
        served.entry.renders[key] = render(served.view, served.stale)
    return cached(request, served.entry.renders[key], media_type, stale=served.stale)


def cached(request: Request, body: bytes, media_type: str, *, stale: bool = False) -> Response:
    """The body with an ETag and public caching, or 304 when the client already has it."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL} | ({"X-Tocsin-Stale": "1"} if stale else {})
    wanted = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
    if etag in wanted or "*" in wanted:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode()


def bars_svg(component: ComponentView, width: int = 900, height: int = 34) -> str:
    """The component's daily bars as inline SVG, each with a `<title>` tooltip."""
    step = width / max(len(component.bars), 1)
    rects = "".join(
        f'<rect class="{b.css}" x="{i * step:.1f}" width="{max(step - 2, 1):.1f}" height="{height}" rx="1">'
        f"<title>{escape(b.label)}</title></rect>"
        for i, b in enumerate(component.bars)
    )
    summary = f"{component.name}: daily uptime, last {len(component.bars)} days"
    return (
        f'<svg class="bars" viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" '
        f'aria-label="{escape(summary)}"><title>{escape(summary)}</title>{rects}</svg>'
    )


@router.get("/status/{slug}.json")
async def status_json(request: Request, slug: str) -> Response:
    """JSON twin of the public status page."""
    return await _answer(request, slug, "json", "application/json", lambda v, _: _json_bytes(v.model_dump(mode="json")))


def _api_route(path: str, shape: Callable[[StatusPageView], dict[str, Any]]) -> None:
    async def endpoint(request: Request, slug: str) -> Response:
        return await _answer(request, slug, path, "application/json", lambda v, _: _json_bytes(shape(v)))

    endpoint.__doc__ = f"Statuspage API v2 `{path.rsplit('/', 1)[-1]}` of the page."
    router.add_api_route(path, endpoint, methods=["GET"], name=path)


_api_route("/status/{slug}/api/v2/summary.json", api.summary)
_api_route("/status/{slug}/api/v2/status.json", api.status)
_api_route("/status/{slug}/api/v2/components.json", api.components)


def _page_uptime(view: StatusPageView) -> float | None:
    values = [c.uptime_30d for c in view.components if c.uptime_30d is not None]
    return sum(values) / len(values) if values else None


@router.get("/status/{slug}/badge/status.svg")
async def status_badge(request: Request, slug: str) -> Response:
    """The page's overall status as a shields-style badge."""
    return await _answer(
        request,
        slug,
        "badge-status",
        "image/svg+xml",
        lambda v, _: badges.status_badge(v.indicator, v.status_description).encode(),
    )


@router.get("/status/{slug}/badge/uptime-30d.svg")
async def uptime_badge(request: Request, slug: str) -> Response:
    """The page's 30-day uptime (mean over components) as a shields-style badge."""
    return await _answer(
        request, slug, "badge-uptime", "image/svg+xml", lambda v, _: badges.uptime_badge(_page_uptime(v)).encode()
    )


def _absolute(request: Request, view: StatusPageView) -> str:
    return view.url if "://" in view.url else str(request.base_url).rstrip("/") + view.url


@router.get("/status/{slug}/feed.atom")
async def status_atom(request: Request, slug: str) -> Response:
    """Atom feed of the page's status changes and maintenance."""
    base = str(request.base_url)
    return await _answer(
        request, slug, "atom:" + base, "application/atom+xml", lambda v, _: feeds.atom(v, _absolute(request, v))
    )


@router.get("/status/{slug}/feed.rss")
async def status_rss(request: Request, slug: str) -> Response:
    """RSS 2.0 feed of the page's status changes and maintenance."""
    base = str(request.base_url)
    return await _answer(
        request, slug, "rss:" + base, "application/rss+xml", lambda v, _: feeds.rss(v, _absolute(request, v))
    )


@router.get("/status/{slug}")
async def status_html(request: Request, slug: str) -> Response:
    """The public status page: banner, components with 90 daily bars, maintenance; no JavaScript."""
    templates: Jinja2Templates = request.app.state.templates

    def render(view: StatusPageView, stale: bool) -> bytes:
        bars = {c.id: bars_svg(c) for c in view.components}
        return templates.get_template("status_page.html").render(view=view, bars=bars, stale=stale).encode()

    return await _answer(request, slug, "html", "text/html; charset=utf-8", render)
