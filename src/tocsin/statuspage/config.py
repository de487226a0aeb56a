"""The `status_pages:` section: public pages made of components backed by monitors."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from tocsin.config.errors import KeyPath, located_error
from tocsin.config.models import Strict

SLUG = r"^[a-z0-9][a-z0-9\-]{0,63}$"


class StatusComponent(Strict):
    """One row of a status page: the worst of its monitors, optionally inside a group."""

    name: str = Field(min_length=1, max_length=200)
    group: str | None = None
    monitors: list[str] = Field(min_length=1)
    description: str = ""


class StatusPageConfig(Strict):
    """A public page at `/status/{slug}`."""

    slug: str = Field(pattern=SLUG)
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    logo: str | None = None  # an image URL shown next to the title
    custom_domain: str | None = None  # the host the page is served under, used for its public URL
    components: list[StatusComponent] = Field(default_factory=list)


def check_status_pages(
    pages: Sequence[StatusPageConfig], monitors: Sequence[str], path: KeyPath = ("status_pages",)
) -> None:
    """Raise a located error for duplicate slugs and components naming unknown monitors."""
    problems: list[tuple[KeyPath, str]] = []
    seen: set[str] = set()
    for index, page in enumerate(pages):
        if page.slug in seen:
            problems.append(
                ((*path, index, "slug"), f"status page slug {page.slug!r} is used twice; slugs must be unique")
            )
        seen.add(page.slug)
        problems.extend(_unknown_monitors(page, monitors, (*path, index)))
    if problems:
        raise located_error(problems)


def _unknown_monitors(page: StatusPageConfig, monitors: Sequence[str], path: KeyPath) -> list[tuple[KeyPath, str]]:
    known = set(monitors)
    return [
        ((*path, "components", c, "monitors", m), f"no monitor is called {name!r}")
        for c, component in enumerate(page.components)
        for m, name in enumerate(component.monitors)
        if name not in known
    ]
