"""Console pages of status pages: the list (config and console pages), create/edit forms, hand-set components.

Forms work without JavaScript and go through the API's functions, so validation, audit and
cache invalidation are the same; the CSRF check is the guard's. Components are written one
per line: `Group / Name: monitor1, monitor2` (group and monitors optional; a component
without monitors is set by hand). Each page has a `.json` twin from the same view.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.datastructures import FormData

from tocsin.statuspage.status import ComponentStatus
from tocsin.web.api.status_pages import (
    PageDetail,
    PageList,
    create_page,
    delete_page,
    entry,
    page_detail,
    page_list,
    parse_status,
    replace_page,
    set_component,
)
from tocsin.web.ui.forms import form_text, form_values
from tocsin.web.ui.render import error_page, render, twin

router = APIRouter(include_in_schema=False)
ACTIVE = "status-pages"
THEMES = ("auto", "light", "dark")


class PageForm(BaseModel):
    """The create/edit form's values, with the reason it was refused."""

    slug: str = ""
    title: str = ""
    description: str = ""
    logo: str = ""
    logo_alt: str = ""
    custom_domain: str = ""
    theme: str = "auto"
    components: str = ""  # one per line: Group / Name: monitor1, monitor2
    version: int = 0  # 0 while creating
    error: str | None = None


def component_line(c: dict[str, Any]) -> str:
    """A component as a line of the form."""
    head = f"{c['group']} / {c['name']}" if c.get("group") else str(c["name"])
    monitors = c.get("monitors") or []
    return f"{head}: {', '.join(monitors)}" if monitors else head


def parse_components(text: str, previous: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Components from the form's lines; descriptions (not in the line format) are kept from `previous` by name."""
    kept = {str(c["name"]): c.get("description") for c in previous or [] if c.get("description")}
    out: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        head, _, monitors = line.partition(":")
        group, slash, name = head.partition("/")
        component: dict[str, Any] = {"name": name.strip() if slash else head.strip()}
        if slash and group.strip():
            component["group"] = group.strip()
        if found := [m.strip() for m in monitors.split(",") if m.strip()]:
            component["monitors"] = found
        if description := kept.get(component["name"]):
            component["description"] = description
        out.append(component)
    return out


def spec_of(form: PageForm, previous: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The page spec the form describes (empty optional fields left out)."""
    spec: dict[str, Any] = {"slug": form.slug.strip(), "title": form.title.strip(), "theme": form.theme}
    for key in ("description", "logo", "logo_alt", "custom_domain"):
        if value := getattr(form, key).strip():
            spec[key] = value
    spec["components"] = parse_components(form.components, previous)
    return spec


def form_of(detail: PageDetail) -> PageForm:
    """The edit form of a page."""
    spec = detail.spec
    return PageForm(
        slug=detail.slug,
        title=str(spec.get("title", "")),
        description=str(spec.get("description") or ""),
        logo=str(spec.get("logo") or ""),
        logo_alt=str(spec.get("logo_alt") or ""),
        custom_domain=str(spec.get("custom_domain") or ""),
        theme=str(spec.get("theme") or "auto"),
        components="\n".join(component_line(c) for c in spec.get("components", [])),
        version=detail.version,
    )


def _posted(data: FormData) -> PageForm:
    version = form_text(data, "version")
    return PageForm(
        **{k: form_text(data, k)[:10_000] for k in ("slug", "title", "description", "logo", "logo_alt")},
        custom_domain=form_text(data, "custom_domain")[:300],
        theme=form_text(data, "theme") or "auto",
        components=form_text(data, "components")[:100_000],
        version=int(version) if version.isdigit() else 0,
    )


def _reason(exc: HTTPException) -> str:
    detail = exc.detail
    if isinstance(detail, dict):
        errors = detail.get("errors") or []
        if errors:
            return "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return str(detail.get("detail", detail))
    return str(detail)


def _form(request: Request, form: PageForm, status: int = 200) -> Response:
    return render(request, "status_page_form.html", form, status=status, active=ACTIVE, themes=THEMES)


@router.get("/status-pages.json")
async def pages_json(request: Request) -> JSONResponse:
    """JSON twin of the status pages list."""
    return twin(await page_list(request))


@router.get("/status-pages")
async def pages_page(request: Request) -> Response:
    """Every status page, from the config file and from the console, with links to them."""
    view: PageList = await page_list(request)
    return render(request, "status_pages.html", view, active=ACTIVE)


@router.get("/status-pages/new")
async def new_page(request: Request) -> Response:
    """The form to create a console page."""
    return _form(request, PageForm(components="Core / API: \nWebsite"))


@router.post("/status-pages")
async def create_form(request: Request) -> Response:
    """Create a console page from the form; on a problem, show the form again with the reason."""
    form = _posted(await form_values(request))
    try:
        await create_page(request, spec_of(form))
    except HTTPException as exc:
        return _form(request, form.model_copy(update={"error": _reason(exc)}), exc.status_code)
    return RedirectResponse(f"/status-pages/{form.slug.strip()}", status_code=303)


@router.get("/status-pages/{slug}.json")
async def page_json(request: Request, slug: str) -> JSONResponse:
    """JSON twin of a status page's console page (the same body as `GET /api/v1/status-pages/{slug}`)."""
    return twin(await page_detail(request, slug))


@router.get("/status-pages/{slug}")
async def page_page(request: Request, slug: str) -> Response:
    """A page's source, components and the forms to set them by hand."""
    detail = await page_detail(request, slug)
    overrides = {o.component: o for o in detail.overrides}
    return render(
        request,
        "status_page_admin.html",
        detail,
        active=ACTIVE,
        overrides=overrides,
        statuses=list(ComponentStatus),
        components=detail.spec.get("components", []),
    )


@router.get("/status-pages/{slug}/edit")
async def edit_page(request: Request, slug: str) -> Response:
    """The edit form of a console page (config pages are edited in the config file)."""
    found = await entry(request, slug)
    if found.source == "config":
        return error_page(request, 409, f"status page {slug!r} is defined in the config file at {found.location}")
    return _form(request, form_of(await page_detail(request, slug)))


@router.post("/status-pages/{slug}/edit")
async def edit_form(request: Request, slug: str) -> Response:
    """Save a console page at the version the form was opened with (409 page if someone saved it since)."""
    form = _posted(await form_values(request)).model_copy(update={"slug": slug})
    previous = (await page_detail(request, slug)).spec.get("components", [])
    try:
        await replace_page(request, slug, spec_of(form, previous) | {"version": form.version})
    except HTTPException as exc:
        if exc.status_code in (409, 404):
            return error_page(request, exc.status_code, _reason(exc) + ". Reload the edit form and apply your change.")
        return _form(request, form.model_copy(update={"error": _reason(exc)}), exc.status_code)
    return RedirectResponse(f"/status-pages/{slug}", status_code=303)


@router.post("/status-pages/{slug}/delete")
async def delete_form(request: Request, slug: str) -> Response:
    """Delete a console page."""
    try:
        await delete_page(request, slug)
    except HTTPException as exc:
        return error_page(request, exc.status_code, _reason(exc))
    return RedirectResponse("/status-pages", status_code=303)


@router.post("/status-pages/{slug}/components")
async def component_form(request: Request, slug: str) -> Response:
    """Set a component's status by hand, or clear it (empty status)."""
    data = await form_values(request)
    try:
        status = parse_status(form_text(data, "status"))
        await set_component(request, slug, form_text(data, "component"), status)
    except HTTPException as exc:
        return error_page(request, exc.status_code, _reason(exc))
    return RedirectResponse(f"/status-pages/{slug}", status_code=303)
