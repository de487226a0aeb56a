"""The console's navigation, and honest "not available yet" pages for what has not landed.

A feature's issue flips its item to `available=True` and adds its own page at `path`;
until then the placeholder route below answers there.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel

from tocsin.web.ui.render import render


@dataclass(frozen=True, slots=True)
class NavItem:
    """One entry of the main navigation."""

    key: str
    label: str
    path: str
    available: bool
    about: str = ""  # what the page will show, for its placeholder


NAV: tuple[NavItem, ...] = (
    NavItem("overview", "Overview", "/", True),
    NavItem("monitors", "Monitors", "/monitors", True),
    NavItem("alerts", "Alerts", "/alerts", True),
    NavItem("silences", "Silences", "/silences", True),
    NavItem("oncall", "On-call", "/oncall", True),
    NavItem("incidents", "Incidents", "/incidents", True),
    NavItem("slos", "SLOs", "/slos", True),
    NavItem("reports", "Reports", "/reports", True),
    NavItem("status-pages", "Status pages", "/status-pages", True),
    NavItem("settings", "Settings", "/settings", True),
)


class Unavailable(BaseModel):
    """The placeholder page of a console section that has not landed yet."""

    section: str
    about: str


router = APIRouter(include_in_schema=False)


def _placeholder(item: NavItem) -> None:
    async def page(request: Request) -> Response:
        view = Unavailable(section=item.label, about=item.about)
        return render(request, "unavailable.html", view, active=item.key)

    page.__doc__ = f"{item.label}: not available yet."
    router.add_api_route(item.path, page, methods=["GET"], name=f"unavailable_{item.key}")


for _item in NAV:
    if not _item.available:
        _placeholder(_item)
