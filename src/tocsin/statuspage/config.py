"""The `status_pages:` section: public pages of components backed by monitors or set by hand."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from tocsin.config.errors import KeyPath, located_error
from tocsin.config.models import Strict
from tocsin.statuspage.subscription_config import SubscriptionsConfig

SLUG = r"^[a-z0-9][a-z0-9\-]{0,63}$"
HOST = r"^[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*$"
Theme = Literal["auto", "light", "dark"]
Problems = list[tuple[KeyPath, str]]


class StatusComponent(Strict):
    """One row of a status page: the worst of its monitors, or set by hand when it has none."""

    name: str = Field(min_length=1, max_length=200)
    group: str | None = Field(default=None, max_length=200)
    monitors: list[str] = Field(default_factory=list)  # empty: the component is set by hand
    description: str = ""


class StatusPageConfig(Strict):
    """A public page at `/status/{slug}` (and at `/` of its custom domain)."""

    slug: str = Field(pattern=SLUG)
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    logo: str | None = None  # an image URL shown next to the title
    logo_alt: str | None = None  # the logo's alternative text; the title + " logo" when unset
    custom_domain: str | None = Field(default=None, pattern=HOST)  # a Host that serves the page at `/`
    theme: Theme = "auto"  # auto follows the reader's prefers-color-scheme
    components: list[StatusComponent] = Field(default_factory=list)
    subscriptions: SubscriptionsConfig = Field(default_factory=SubscriptionsConfig)  # statuspage/subscription_config.py


def check_status_pages(
    pages: Sequence[StatusPageConfig], monitors: Sequence[str], path: KeyPath = ("status_pages",)
) -> None:
    """Raise a located error for duplicate slugs or domains, duplicate components and unknown monitors."""
    problems: Problems = []
    slugs: set[str] = set()
    domains: set[str] = set()
    for index, page in enumerate(pages):
        if page.slug in slugs:
            problems.append(
                ((*path, index, "slug"), f"status page slug {page.slug!r} is used twice; slugs must be unique")
            )
        slugs.add(page.slug)
        domain = (page.custom_domain or "").lower()
        if domain and domain in domains:
            problems.append(((*path, index, "custom_domain"), f"custom domain {domain!r} is used by two pages"))
        domains.add(domain)
        problems.extend(page_problems(page, monitors, (*path, index)))
    if problems:
        raise located_error(problems)


def page_problems(page: StatusPageConfig, monitors: Sequence[str], path: KeyPath = ()) -> Problems:
    """Components named twice on the page and monitors that do not exist, with the keys at fault."""
    known = set(monitors)
    problems: Problems = []
    names: set[str] = set()
    for c, component in enumerate(page.components):
        if component.name in names:
            problems.append(((*path, "components", c, "name"), f"component {component.name!r} is on the page twice"))
        names.add(component.name)
        problems.extend(
            ((*path, "components", c, "monitors", m), f"no monitor is called {name!r}")
            for m, name in enumerate(component.monitors)
            if name not in known
        )
    return problems
