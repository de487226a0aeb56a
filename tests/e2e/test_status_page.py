"""The public status page in a real browser: desktop and phone widths, accessible images, works without JavaScript."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.e2e.conftest import CHROMIUM, DESKTOP, FLAGS, PHONE, shoot
from tocsin.testing import running_server

pytestmark = pytest.mark.e2e
COMPONENTS = ["API", "Database"]
UNLABELLED = """() => [...document.querySelectorAll('img, svg')]
  .filter(e => !(e.getAttribute('alt') || e.getAttribute('aria-label') || e.querySelector(':scope > title')))
  .map(e => e.outerHTML.slice(0, 80))"""


def write_config(path: Path, db: Path) -> None:
    config = {
        "storage": {"url": f"sqlite:///{db}"},
        "monitors": [
            {"name": "api", "kind": "tcp", "host": "127.0.0.1", "port": 9, "timeout": "1s", "interval": "10s"},
            {"name": "db", "kind": "heartbeat", "period": "1h"},
        ],
        "maintenance": [
            {"name": "db-upgrade", "monitors": ["db"], "start": "2020-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"},
        ],
        "status_pages": [
            {
                "slug": "acme",
                "title": "Acme Cloud",
                "description": "Service health",
                "components": [
                    {"name": "API", "group": "Core", "monitors": ["api"]},
                    {"name": "Database", "group": "Core", "monitors": ["db"]},
                ],
            }
        ],
    }
    path.write_text(yaml.safe_dump(config))


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[str, Browser]]:
    write_config(tmp_path / "tocsin.yaml", tmp_path / "s.db")
    async with running_server(tmp_path / "tocsin.yaml") as server, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield server.url + "/status/acme", browser
        finally:
            await browser.close()


async def open_page(browser: Browser, url: str, errors: list[str], *, width: dict[str, int], js: bool = True) -> Page:
    """The status page in a fresh context, its console errors collected."""
    context = await browser.new_context(viewport=width, java_script_enabled=js)  # type: ignore[arg-type]
    page = await context.new_page()
    page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    response = await page.goto(url)
    assert response is not None
    assert response.status == 200
    return page


async def component_names(page: Page) -> list[str]:
    """The component names the page shows, in order."""
    return [n.strip() for n in await page.locator(".component .row strong").all_inner_texts()]


async def test_public_page_at_desktop_and_phone_widths(site: tuple[str, Browser]) -> None:
    url, browser = site
    errors: list[str] = []
    for name, width in (("desktop", DESKTOP), ("phone", PHONE)):
        page = await open_page(browser, url, errors, width=width)
        await expect(page.get_by_role("heading", name="Acme Cloud", level=1)).to_be_visible()
        await expect(page.get_by_role("status")).to_have_text("Service Under Maintenance")
        assert await component_names(page) == COMPONENTS, name
        assert await page.evaluate(UNLABELLED) == [], name
        overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name}: page scrolls sideways by {overflow}px"
        await shoot(page, "status-page")
    assert not errors, "browser console errors:\n" + "\n".join(errors)


async def test_page_works_without_javascript(site: tuple[str, Browser]) -> None:
    url, browser = site
    errors: list[str] = []
    page = await open_page(browser, url, errors, width=DESKTOP, js=False)
    assert await component_names(page) == COMPONENTS
    await expect(page.get_by_role("link", name="Atom")).to_have_attribute("href", "/status/acme/feed.atom")
    await shoot(page, "status-page-nojs")
    assert not errors
