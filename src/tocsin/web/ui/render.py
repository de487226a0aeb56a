"""Rendering pages: the shared context (who is signed in, CSRF token, navigation, theme)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from tocsin.auth.model import ANONYMOUS, Access, Principal
from tocsin.web.guard import PRINCIPAL

THEME_COOKIE = "tocsin_theme"
THEMES = ("auto", "light", "dark")


def theme(request: Request) -> str:
    """The theme the user picked (`auto` follows the system)."""
    chosen = request.cookies.get(THEME_COOKIE, "auto")
    return chosen if chosen in THEMES else "auto"


def context(request: Request, active: str = "") -> dict[str, Any]:
    """What every page template can use besides its own view."""
    from tocsin.web.ui.nav import NAV  # nav registers routes that render with this module

    me: Principal = request.scope.get(PRINCIPAL, ANONYMOUS)
    return {
        "me": me,
        "csrf": me.csrf or "",
        "can_write": me.can(Access.WRITE),
        "is_admin": me.can(Access.ADMIN),
        "nav": NAV,
        "active": active,
        "theme": theme(request),
        "now": request.app.state.runtime.clock.now(),
    }


def render(request: Request, template: str, view: BaseModel | None, status: int = 200, **extra: Any) -> Response:
    """A page from `template` with `view` and the shared context."""
    templates: Jinja2Templates = request.app.state.templates
    active = str(extra.pop("active", ""))
    values = {**context(request, active), "view": view, **extra}
    return templates.TemplateResponse(request, template, values, status_code=status)


def error_page(request: Request, status: int, detail: str) -> Response:
    """An HTML error page (403, 404, 409 ...) in the console's frame."""
    return render(request, "error.html", None, status=status, status_code=status, detail=detail)


def twin(view: BaseModel) -> JSONResponse:
    """A page's JSON twin: the same view the template renders, as JSON."""
    return JSONResponse(view.model_dump(mode="json"))
