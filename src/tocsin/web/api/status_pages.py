"""`/api/v1/status-pages`: list every status page; create, replace and delete console pages; set components by hand.

Pages from the config file are read-only here (409 naming their file and line); console
pages live in the database and are validated exactly like config entries. Hand-set component
statuses apply to every page (config or console) and stand until cleared. The console's
forms call the same functions (`create_page`, `replace_page`, `delete_page`, `set_component`).
See docs/statuspages.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ValidationError

from tocsin.statuspage.config import StatusPageConfig, page_problems
from tocsin.statuspage.registry import PageEntry, Registry
from tocsin.statuspage.status import ComponentStatus
from tocsin.statuspage.views import page_url
from tocsin.store.status_pages import Override, PageExists, PageMissing, PageVersionConflict
from tocsin.web.bodies import InvalidBody, field_errors, json_object
from tocsin.web.deps import audit, now, principal, runtime
from tocsin.web.ui.status_pages import pages

router = APIRouter(prefix="/api/v1", tags=["status pages"])


class OverrideView(BaseModel):
    """A component status set by hand."""

    component: str
    status: ComponentStatus
    set_by: str
    set_at: datetime


class PageSummary(BaseModel):
    """One page in the list: where it comes from and where it is served."""

    slug: str
    title: str
    source: str  # config or console
    location: str | None  # file:line of a config page
    version: int  # of a console page (0 for config pages)
    url: str
    custom_domain: str | None
    components: int


class PageDetail(PageSummary):
    """One page: its spec (the shape of a `status_pages:` entry) and its hand-set components."""

    spec: dict[str, Any]
    overrides: list[OverrideView]


class PageList(BaseModel):
    """Every page: the config file's first, then the console's."""

    pages: list[PageSummary]


def _summary(request: Request, e: PageEntry) -> PageSummary:
    return PageSummary(
        slug=e.spec.slug,
        title=e.spec.title,
        source=e.source,
        location=e.location,
        version=e.version,
        url=page_url(runtime(request), e.spec),
        custom_domain=e.spec.custom_domain,
        components=len(e.spec.components),
    )


async def _registry(request: Request) -> Registry:
    found = pages(request)
    await found.refresh()
    return found


async def entry(request: Request, slug: str) -> PageEntry:
    """The page with this slug, or 404 saying where to look."""
    found = (await _registry(request)).find(slug)
    if found is None:
        raise HTTPException(404, f"no status page {slug!r}; GET /api/v1/status-pages lists them")
    return found


async def page_list(request: Request) -> PageList:
    """Every page with its source."""
    return PageList(pages=[_summary(request, e) for e in (await _registry(request)).pages()])


async def page_detail(request: Request, slug: str) -> PageDetail:
    """One page with its spec and overrides."""
    e = await entry(request, slug)
    stored = await pages(request).store.overrides(slug)
    overrides = [OverrideView(component=o.component, status=o.status, set_by=o.set_by, set_at=o.set_at) for o in stored]
    spec = e.spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return PageDetail(**_summary(request, e).model_dump(), spec=spec, overrides=overrides)


def validated(request: Request, data: dict[str, Any]) -> StatusPageConfig:
    """The page `data` describes, checked like a config entry: 422 for bad fields, 400 for unknown monitors."""
    try:
        spec = StatusPageConfig.model_validate(data)
    except ValidationError as exc:
        raise InvalidBody(field_errors(exc)) from None
    problems = page_problems(spec, list(runtime(request).runner.monitors))
    if problems:
        errors = [{"field": ".".join(map(str, p)), "message": m, "type": "value_error"} for p, m in problems]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise HTTPException(400, {"detail": f"invalid status page: {detail}", "errors": errors})
    return spec


def _check_clashes(found: Registry, spec: StatusPageConfig) -> None:
    """409 when the slug or custom domain is taken by another page."""
    for other in found.pages():
        where = f"{other.source} page" + (f" at {other.location}" if other.location else "")
        if other.spec.slug == spec.slug and other.source == "config":
            raise HTTPException(
                409, f"status page {spec.slug!r} is defined in the config file ({where}); pick another slug"
            )
        domain = (spec.custom_domain or "").lower()
        if domain and other.spec.slug != spec.slug and (other.spec.custom_domain or "").lower() == domain:
            raise HTTPException(409, f"custom domain {domain!r} is used by status page {other.spec.slug!r} ({where})")


def _writable(e: PageEntry) -> None:
    if e.source == "config":
        raise HTTPException(
            409,
            f"status page {e.spec.slug!r} is defined in the config file at {e.location or 'status_pages'}; "
            "edit it there and reload, or create a console page with another slug",
        )


async def create_page(request: Request, data: dict[str, Any]) -> PageDetail:
    """Create a console page (audited); 409 when the slug or domain is taken."""
    spec = validated(request, data)
    found = await _registry(request)
    _check_clashes(found, spec)
    entry_ = audit(request, "status_page.create", spec.slug)
    try:
        await found.store.create(spec.slug, data, principal(request).actor, now(request), entry_)
    except PageExists as exc:
        raise HTTPException(409, str(exc)) from None
    found.invalidate()
    return await page_detail(request, spec.slug)


async def replace_page(request: Request, slug: str, data: dict[str, Any]) -> PageDetail:
    """Replace a console page at the version the caller saw (409 if stale or a config page)."""
    _writable(await entry(request, slug))
    version = data.pop("version", None)
    if not isinstance(version, int) or isinstance(version, bool):
        message = "required: the page's version as you last read it (GET /api/v1/status-pages/{slug})"
        raise InvalidBody([{"field": "version", "message": message, "type": "missing"}])
    if data.setdefault("slug", slug) != slug:
        message = "must match the page in the path (to rename, create the new page and delete this one)"
        raise InvalidBody([{"field": "slug", "message": message, "type": "value_error"}])
    spec = validated(request, data)
    found = await _registry(request)
    _check_clashes(found, spec)
    try:
        await found.store.replace(slug, data, version, now(request), audit(request, "status_page.update", slug))
    except PageVersionConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except PageMissing as exc:
        raise HTTPException(404, str(exc)) from None
    found.invalidate()
    return await page_detail(request, slug)


async def delete_page(request: Request, slug: str) -> None:
    """Delete a console page and its hand-set statuses (409 for a config page)."""
    _writable(await entry(request, slug))
    found = await _registry(request)
    try:
        await found.store.delete(slug, audit(request, "status_page.delete", slug))
    except PageMissing as exc:
        raise HTTPException(404, str(exc)) from None
    found.invalidate()


def parse_status(value: object) -> ComponentStatus | None:
    """A component status from a request (None clears), or 422 listing the allowed values."""
    if value is None or value == "":
        return None
    try:
        return ComponentStatus(str(value))
    except ValueError:
        allowed = ", ".join(s.value for s in ComponentStatus)
        message = f"{value!r} is not a component status; use one of {allowed}, or null to clear"
        raise InvalidBody([{"field": "status", "message": message, "type": "enum"}]) from None


async def set_component(request: Request, slug: str, component: str, status: ComponentStatus | None) -> None:
    """Set (or with None clear) a component's hand-set status (audited); 404 for an unknown page or component."""
    e = await entry(request, slug)
    names = [c.name for c in e.spec.components]
    if component not in names:
        raise HTTPException(404, f"status page {slug!r} has no component {component!r}; its components: {names}")
    found = pages(request)
    action = "status_page.component_status"
    detail = audit(request, action, f"{slug}/{component}", status=status.value if status else None)
    if status is None:
        await found.store.clear_override(slug, component, detail)
    else:
        override = Override(slug, component, status.value, principal(request).actor, now(request))
        await found.store.set_override(override, detail)
    found.invalidate()


@router.get("/status-pages", response_model=PageList)
async def list_pages(request: Request) -> PageList:
    """Every status page, from the config file and the console, with its source."""
    return await page_list(request)


@router.post("/status-pages", response_model=PageDetail, status_code=201)
async def create(request: Request) -> PageDetail:
    """Create a console page from a body shaped like a `status_pages:` entry."""
    return await create_page(request, await json_object(request))


@router.get("/status-pages/{slug}", response_model=PageDetail)
async def get_page(request: Request, slug: str) -> PageDetail:
    """One page: source, version, spec and hand-set components."""
    return await page_detail(request, slug)


@router.put("/status-pages/{slug}", response_model=PageDetail)
async def replace(request: Request, slug: str) -> PageDetail:
    """Replace a console page; the body is the new spec plus the `version` you read."""
    return await replace_page(request, slug, await json_object(request))


@router.delete("/status-pages/{slug}", status_code=204)
async def delete(request: Request, slug: str) -> Response:
    """Delete a console page."""
    await delete_page(request, slug)
    return Response(status_code=204)


@router.put("/status-pages/{slug}/components/{component}/status", status_code=204)
async def put_component_status(request: Request, slug: str, component: str) -> Response:
    """Set a component's status by hand (`{"status": "major_outage"}`), or clear it with `{"status": null}`."""
    data = await json_object(request)
    if "status" not in data:
        message = "required: a component status, or null to clear"
        raise InvalidBody([{"field": "status", "message": message, "type": "missing"}])
    await set_component(request, slug, component, parse_status(data["status"]))
    return Response(status_code=204)


@router.delete("/status-pages/{slug}/components/{component}/status", status_code=204)
async def clear_component_status(request: Request, slug: str, component: str) -> Response:
    """Clear a component's hand-set status: it follows its monitors (and incidents) again."""
    await set_component(request, slug, component, None)
    return Response(status_code=204)
