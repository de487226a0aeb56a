"""Public status pages (no sign-in): the page, its history, `.json` twins, Statuspage API v2 shapes, feeds, badges.

Every answer carries an `ETag` and `Cache-Control: public, max-age=30`, and a matching
`If-None-Match` gets 304, so a busy page costs little. Views and renders are cached per page
(statuspage/cache.py); when the store cannot be read, the last good render is served with
`X-Tocsin-Stale: 1` (and a visible marker on the page) instead of an error. Pages come from
the config file and the console (statuspage/registry.py); on a page's custom domain the same
routes answer at the root (web/status_domains.py), so links are written relative to `base`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from html import escape
from typing import Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from jinja2 import Template

from tocsin.statuspage import badges, feeds, themes
from tocsin.statuspage import statuspage_api as api
from tocsin.statuspage.cache import PageCache, PageUnavailable, Rendered, Served, fingerprint
from tocsin.statuspage.config import StatusPageConfig
from tocsin.statuspage.daybars import BarView
from tocsin.statuspage.history import HistoryView, history, page_of
from tocsin.statuspage.registry import Registry, registry
from tocsin.statuspage.views import ComponentView, StatusPageView, status_page
from tocsin.web.deps import runtime
from tocsin.web.fastlane import MARK, Mark, accepts_gzip, etag_matches

router = APIRouter(include_in_schema=False)
CACHE_CONTROL = "public, max-age=30"
GZIP_MIN = 1024  # bytes: smaller bodies are sent as they are (gzip would barely shrink them)
BASE = "tocsin.status_base"  # set in the ASGI scope by the custom-domain middleware ("" at a domain's root)

Render = Callable[[StatusPageView, bool], bytes]


def _cache(request: Request, name: str = "status_page_cache") -> PageCache[Any]:
    state = request.app.state
    if not hasattr(state, name):
        setattr(state, name, PageCache())
    cache: PageCache[Any] = getattr(state, name)
    return cache


def pages(request: Request) -> Registry:
    """The merged registry of config and console pages."""
    return registry(request.app.state, runtime(request))


def base(request: Request, slug: str) -> str:
    """The path the page's links start from: `/status/{slug}`, or "" on its custom domain."""
    found = request.scope.get(BASE)
    return found if isinstance(found, str) else f"/status/{slug}"


async def _page(request: Request, slug: str) -> StatusPageConfig:
    found = pages(request)
    await found.refresh()
    entry = found.find(slug)
    if entry is None:
        raise HTTPException(404, f"no status page {slug!r}")
    return entry.spec


async def _served(request: Request, slug: str) -> Served[StatusPageView]:
    """The page's view from the cache; raises PageUnavailable when neither the store nor the cache has one."""
    rt = runtime(request)
    page = await _page(request, slug)
    now = rt.clock.now()
    key = fingerprint(rt, page, now, pages(request).token)
    return await _cache(request).get(slug, key, lambda: status_page(rt, page, now))


def _unavailable() -> Response:
    return Response("status temporarily unavailable\n", 503, {"Retry-After": "30"}, "text/plain")


async def _answer(request: Request, slug: str, kind: str, media_type: str, render: Render) -> Response:
    """The page rendered as `kind` (memoized with its cached view), stale-marked when it is a fallback."""
    try:
        served = await _served(request, slug)
    except PageUnavailable:
        return _unavailable()
    key = f"{kind}:{served.stale}"
    if key not in served.entry.renders:
        served.entry.renders[key] = Rendered(render(served.view, served.stale))
    return cached(request, served.entry.renders[key], media_type, stale=served.stale)


def cached(request: Request, rendered: Rendered | bytes, media_type: str, *, stale: bool = False) -> Response:
    """The body with an ETag and public caching (gzipped when the client accepts it and it is worth it), or 304
    when the client already has it. The gzip variant has its own ETag, as two representations must."""
    found = rendered if isinstance(rendered, Rendered) else Rendered(rendered)
    body, etag = found.body, found.etag
    headers = {"Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if len(body) >= GZIP_MIN and accepts_gzip(request.headers.get("accept-encoding", "")):
        body, etag = found.gzip(), etag[:-1] + '-gzip"'
        headers["Content-Encoding"] = "gzip"
    headers["ETag"] = etag
    if stale:
        headers["X-Tocsin-Stale"] = "1"
    wanted = request.headers.get("if-none-match")
    if wanted and etag_matches(wanted, etag):
        headers.pop("Content-Encoding", None)
        return Response(status_code=304, headers=headers)
    mark = request.scope.get(MARK)
    if isinstance(mark, Mark) and not stale:  # the same bytes for everyone: the fast lane may repeat them for a second
        mark.keep = True
    return Response(body, media_type=media_type, headers=headers)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode()


K = TypeVar("K")
V = TypeVar("V")

_svgs: dict[tuple[str, str, bool], tuple[list[BarView], str]] = {}  # by component: its bars and their SVG
SVGS_KEPT = 10_000  # all forgotten at once past this


def bars_svg(component: ComponentView, link: Callable[[str], str] | None = None) -> str:
    """The component's daily bars as inline SVG: one unit per day, a `<title>` tooltip on every day; consecutive
    days that say the same share one shape and tooltip (`… to …, each day: 100% up`); days with incidents link.

    Kept while the component's bars are the very same list (a rebuild reuses a component's bars when nothing they
    are made from changed, statuspage/pastdays.py); not when days link to incidents, whose links move with time."""
    key = (component.id, component.name, link is not None)
    found = _svgs.get(key)
    if found is not None and found[0] is component.bars:  # only kept without links: see below
        return found[1]
    svg = _bars_svg(component, link)
    if link is None or not any(b.incidents for b in component.bars):
        _keep(_svgs, key, (component.bars, svg), SVGS_KEPT)
    return svg


_parts: dict[str, tuple[ComponentView, str, str]] = {}  # by component id: its view, its SVG and its HTML


def component_html(template: Template, component: ComponentView, svg: str) -> str:
    """One component's section of the page (`status_component.html`); kept while the rebuilt page has the very
    same view of it and the same SVG (views are reused when nothing they show changed: statuspage/views.py)."""
    found = _parts.get(component.id)
    if found is not None and found[0] is component and found[1] is svg:
        return found[2]
    html = template.render(c=component, svg=svg)
    _keep(_parts, component.id, (component, svg, html), SVGS_KEPT)
    return html


def _keep(table: dict[K, V], key: K, value: V, limit: int) -> None:
    """Remember `value` in a render memo, forgetting the whole table once it holds `limit` entries."""
    if len(table) >= limit:
        table.clear()
    table[key] = value


def _bars_svg(component: ComponentView, link: Callable[[str], str] | None) -> str:
    bars, pattern = component.bars, f"gap-{component.id}"
    parts = [
        f'<defs><pattern id="{pattern}" width="1" height="1" patternUnits="userSpaceOnUse">'
        '<rect x=".8" width=".2" height="1"/></pattern></defs>'
    ]
    for first, last in component.day_runs(link is not None):
        b = bars[first]
        shape = _shape(bars, first, last)
        if b.incidents and link is not None:
            label = escape(_label(bars, first, last))
            shape = f'<a href="{escape(link(b.incidents[0].id))}" aria-label="{label}">{shape}</a>'
        parts.append(shape)
    summary = escape(f"{component.name}: daily uptime, last {len(bars)} days")
    return (
        f'<svg class="bars" viewBox="0 0 {len(bars)} 1" preserveAspectRatio="none" role="img" aria-label="{summary}">'
        f'<title>{summary}</title>{"".join(parts)}<rect class="gaps" width="{len(bars)}" height="1" '
        f'fill="url(#{pattern})"/></svg>'
    )


_shapes: dict[tuple[int, int, str, str, str, str], str] = {}  # a run's shape by everything it is made from
SHAPES_KEPT = 20_000  # about 900 a page of 100 components; all forgotten at once past this


def _shape(bars: Sequence[BarView], first: int, last: int) -> str:
    """The `<rect>` of the days `first` to `last`, with its tooltip; kept, since a rebuilt page repeats all its runs
    but today's, and wording and escaping them again was a tenth of an uncached render (bench/statuspage.py)."""
    b, final = bars[first], bars[last]
    key = (first, last, b.css, b.day, b.label, final.day)
    found = _shapes.get(key)
    if found is None:
        found = f'<rect x="{first}" width="{last - first + 1}" height="1" class="{b.css}">'
        found += f"<title>{escape(_label(bars, first, last))}</title></rect>"
        _keep(_shapes, key, found, SHAPES_KEPT)
    return found


def _label(bars: Sequence[BarView], first: int, last: int) -> str:
    b = bars[first]
    return b.label if first == last else f"{b.day} to {bars[last].day}, each day: {b.label.partition(': ')[2]}"


@router.get("/status/{slug}.json")
async def status_json(request: Request, slug: str) -> Response:
    """JSON twin of the public status page."""
    return await _answer(request, slug, "json", "application/json", lambda v, _: _json_bytes(v.model_dump(mode="json")))


def _api_route(path: str, shape: Callable[[StatusPageView], dict[str, Any]]) -> None:
    async def endpoint(request: Request, slug: str) -> Response:
        return await _answer(request, slug, path, "application/json", lambda v, _: _json_bytes(shape(v)))

    endpoint.__doc__ = f"Statuspage API v2 `{path.split('/api/v2/', 1)[-1]}` of the page."
    router.add_api_route(path, endpoint, methods=["GET"], name=path)


API = "/status/{slug}/api/v2/"
_api_route(API + "summary.json", api.summary)
_api_route(API + "status.json", api.status)
_api_route(API + "components.json", api.components)
_api_route(API + "incidents.json", api.incidents)
_api_route(API + "incidents/unresolved.json", api.unresolved)
_api_route(API + "scheduled-maintenances.json", api.scheduled_maintenances)
_api_route(API + "scheduled-maintenances/upcoming.json", api.upcoming)
_api_route(API + "scheduled-maintenances/active.json", api.active)


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
    """Atom feed of the page's incident updates, status changes and maintenance."""
    key = "atom:" + str(request.base_url)
    return await _answer(request, slug, key, "application/atom+xml", lambda v, _: feeds.atom(v, _absolute(request, v)))


@router.get("/status/{slug}/feed.rss")
async def status_rss(request: Request, slug: str) -> Response:
    """RSS 2.0 feed of the page's incident updates, status changes and maintenance."""
    key = "rss:" + str(request.base_url)
    return await _answer(request, slug, key, "application/rss+xml", lambda v, _: feeds.rss(v, _absolute(request, v)))


@router.get("/status/{slug}")
async def status_html(request: Request, slug: str) -> Response:
    """The public status page: banner, incidents, maintenance, components with 90 daily bars; no JavaScript."""
    templates: Jinja2Templates = request.app.state.templates
    root = base(request, slug)

    def render(view: StatusPageView, stale: bool) -> bytes:
        def link(incident: str) -> str:
            at = next((i.created_at for i in view.recent if i.id == incident), view.updated_at)
            return f"{root}/history?page={page_of(view.updated_at, at)}#incident-{incident}"

        part = templates.get_template("status_component.html")
        parts = {c.id: component_html(part, c, bars_svg(c, link) if c.bars else "") for c in view.components}
        values = {"view": view, "parts": parts, "stale": stale, "base": root, "theme_css": themes.css(view.theme)}
        return templates.get_template("status_page.html").render(**values).encode()

    return await _answer(request, slug, "html:" + root, "text/html; charset=utf-8", render)


async def _history(request: Request, slug: str, number: int) -> tuple[Served[HistoryView], str]:
    rt = runtime(request)
    page = await _page(request, slug)
    now = rt.clock.now()
    key = (page, now.date(), pages(request).token)
    cache: PageCache[HistoryView] = _cache(request, "status_history_cache")
    served = await cache.get(f"{slug}?page={number}", key, lambda: history(rt, page, number, now))
    if number > served.view.pages:
        raise HTTPException(404, f"history page {number} of {slug!r} does not exist; there are {served.view.pages}")
    return served, base(request, slug)


PageNumber = Query(1, ge=1, le=10_000, description="history page: 1 is the current month and the two before")


@router.get("/status/{slug}/history.json")
async def history_json(request: Request, slug: str, page: int = PageNumber) -> Response:
    """JSON twin of a page of the status page's history."""
    try:
        served, _ = await _history(request, slug, page)
    except PageUnavailable:
        return _unavailable()
    body = _json_bytes(served.view.model_dump(mode="json"))
    return cached(request, body, "application/json", stale=served.stale)


@router.get("/status/{slug}/history")
async def history_html(request: Request, slug: str, page: int = PageNumber) -> Response:
    """The page's history: three months a page, newest first, incidents with every public update and maintenance."""
    try:
        served, root = await _history(request, slug, page)
    except PageUnavailable:
        return _unavailable()
    key = f"html:{root}:{served.stale}"
    if key not in served.entry.renders:
        templates: Jinja2Templates = request.app.state.templates
        values = {"view": served.view, "stale": served.stale, "base": root}
        values["theme_css"] = themes.css(served.view.theme)
        served.entry.renders[key] = Rendered(templates.get_template("status_history.html").render(**values).encode())
    return cached(request, served.entry.renders[key], "text/html; charset=utf-8", stale=served.stale)
