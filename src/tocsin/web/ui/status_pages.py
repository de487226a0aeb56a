"""Public status pages (no sign-in): the page, its `.json` twin, Statuspage API v2 shapes and SVG badges.

Every answer carries an `ETag` and `Cache-Control: public, max-age=30`, and a matching
`If-None-Match` gets 304, so a busy page costs little.
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

from tocsin.statuspage import badges
from tocsin.statuspage import statuspage_api as api
from tocsin.statuspage.views import ComponentView, StatusPageView, find_page, status_page
from tocsin.web.deps import runtime

router = APIRouter(include_in_schema=False)
CACHE_CONTROL = "public, max-age=30"


async def _view(request: Request, slug: str) -> StatusPageView:
    rt = runtime(request)
    page = find_page(rt, slug)
    if page is None:
        raise HTTPException(404, f"no status page {slug!r}")
    return await status_page(rt, page, rt.clock.now())


def cached(request: Request, body: bytes, media_type: str) -> Response:
    """The body with an ETag and public caching, or 304 when the client already has it."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    wanted = [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
    if etag in wanted or "*" in wanted:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _json(request: Request, value: Any) -> Response:
    return cached(request, json.dumps(value, separators=(",", ":"), default=str).encode(), "application/json")


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
    return _json(request, (await _view(request, slug)).model_dump(mode="json"))


def _api_route(path: str, shape: Callable[[StatusPageView], dict[str, Any]]) -> None:
    async def endpoint(request: Request, slug: str) -> Response:
        return _json(request, shape(await _view(request, slug)))

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
    view = await _view(request, slug)
    return cached(request, badges.status_badge(view.indicator, view.status_description).encode(), "image/svg+xml")


@router.get("/status/{slug}/badge/uptime-30d.svg")
async def uptime_badge(request: Request, slug: str) -> Response:
    """The page's 30-day uptime (mean over components) as a shields-style badge."""
    view = await _view(request, slug)
    return cached(request, badges.uptime_badge(_page_uptime(view)).encode(), "image/svg+xml")


@router.get("/status/{slug}")
async def status_html(request: Request, slug: str) -> Response:
    """The public status page: banner, components with 90 daily bars, maintenance; no JavaScript."""
    view = await _view(request, slug)
    templates: Jinja2Templates = request.app.state.templates
    bars = {c.id: bars_svg(c) for c in view.components}
    html = templates.get_template("status_page.html").render(view=view, bars=bars)
    return cached(request, html.encode(), "text/html; charset=utf-8")
