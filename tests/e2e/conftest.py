"""Browser tests: Debian's Chromium driven by playwright against `tocsin serve` on port 0.

Never downloads a browser: chromium comes from the system (`.ci/run` installs it). Every
page's console is watched; any error fails the test. Screenshots (desktop 1280 px, phone
375 px) land in tests/e2e/screenshots/ (git-ignored) as artefacts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.acceptance.conftest import Api
from tocsin.testing import RunningServer, running_server

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).parent / "screenshots"
PASSWORD = "a long browser password"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}

pytestmark = pytest.mark.e2e


@dataclass
class Console:
    """A running server with an admin and a viewer, and a browser to drive it."""

    server: RunningServer
    api: Api
    browser: Browser
    errors: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    async def page(self, viewport: dict[str, int] = DESKTOP) -> Page:
        """A fresh page (own cookies) whose console errors are collected."""
        context: BrowserContext = await self.browser.new_context(viewport=viewport)  # type: ignore[arg-type]
        page = await context.new_page()
        page.on("console", lambda m: self.errors.append(f"{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        return page

    async def sign_in(self, page: Page, name: str, password: str = PASSWORD) -> None:
        """Sign in through the form."""
        await page.goto(self.url + "/login")
        await page.get_by_label("User name").fill(name)
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Sign in").click()


async def shoot(page: Page, name: str, phone: Callable[[], object] | None = None) -> None:
    """Save a full-page screenshot at the page's current width."""
    SCREENSHOTS.mkdir(exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    await page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    config = tmp_path / "tocsin.yaml"
    config.write_text(
        f'storage: {{url: "sqlite:///{tmp_path / "t.db"}"}}\n'
        "monitors:\n"
        "  - name: closed-port\n    kind: tcp\n    host: 127.0.0.1\n    port: 9\n    timeout: 1s\n"
        "    interval: 10s\n    failure_threshold: 1\n"
        "  - name: nightly-backup\n    kind: heartbeat\n    period: 1h\n"
    )
    async with (
        running_server(config) as server,
        aiohttp.ClientSession() as http,
        async_playwright() as playwright,
    ):
        api = Api(server.url, http, server.headers)
        await api.post("/api/v1/users", {"name": "ada", "role": "admin", "password": PASSWORD}, 201)
        await api.post("/api/v1/users", {"name": "vic", "role": "viewer", "password": PASSWORD}, 201)
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        found = Console(server, api, browser)
        try:
            yield found
        finally:
            await browser.close()
        assert not found.errors, "browser console errors:\n" + "\n".join(found.errors)
