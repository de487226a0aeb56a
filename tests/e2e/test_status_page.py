"""The public status page in a real browser: desktop and phone widths, accessible images, works without JavaScript;
incidents, maintenance, hand-set components and themes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest
import yaml
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.acceptance.conftest import Api
from tests.e2e.conftest import CHROMIUM, DESKTOP, FLAGS, PHONE, shoot
from tocsin.store.incident_response_tables import incident_impacts, incident_updates
from tocsin.store.incident_tables import incidents
from tocsin.store.store import Store
from tocsin.store.times import to_ms
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


LOGO = "data:image/svg+xml," + quote(
    '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><circle cx="24" cy="24" r="20"/></svg>'
)
NO_ALT = (
    "() => [...document.querySelectorAll('img')].filter(i => !i.getAttribute('alt')).map(i => i.outerHTML.slice(0, 80))"
)


def write_incident_config(path: Path, db: Path, theme: str) -> None:
    now = datetime.now(UTC)
    config = {
        "storage": {"url": f"sqlite:///{db}"},
        "monitors": [{"name": "db", "kind": "heartbeat", "period": "1h"}],
        "maintenance": [
            {
                "name": "db-upgrade",
                "monitors": ["db"],
                "start": iso(now + timedelta(days=2)),
                "end": iso(now + timedelta(days=2, hours=2)),
            },
        ],
        "status_pages": [
            {
                "slug": "acme",
                "title": "Acme Cloud",
                "logo": LOGO,
                "theme": theme,
                "components": [
                    {"name": "API", "group": "Core"},
                    {"name": "Database", "group": "Core", "monitors": ["db"]},
                    {"name": "Support desk"},
                ],
            }
        ],
    }
    path.write_text(yaml.safe_dump(config))


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


async def seed_incident(db: Path) -> None:
    """An open incident with two public updates and a component impact, as the incident API stores them."""
    start = to_ms(datetime.now(UTC) - timedelta(hours=1))
    incident = {"id": 1, "title": "Elevated API errors", "severity": "SEV2", "status": "identified", "summary": ""}
    incident |= {"version": 1, "created_by": "ada", "created_at_ms": start, "updated_at_ms": start}
    update = {"incident_id": 1, "actor": "ada", "audience": "public", "pages": ["acme"], "components": {}}
    updates = [
        update | {"id": 1, "at_ms": start + 60_000, "status": "investigating", "body": "We are investigating errors."},
        update | {"id": 2, "at_ms": start + 600_000, "status": "identified", "body": "A bad deploy; rolling back."},
    ]
    impact = {"incident_id": 1, "kind": "component", "page": "acme", "name": "API", "impact": "partial_outage"}

    async def job(conn: AsyncConnection) -> None:
        await conn.execute(insert(incidents), incident)
        await conn.execute(insert(incident_updates), updates)
        await conn.execute(insert(incident_impacts), impact)

    store = await Store.open(f"sqlite:///{db}")
    try:
        await store.writer.run(job)
    finally:
        await store.close()


@pytest.fixture(params=["auto", "dark"])
async def incident_site(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, Browser, str]]:
    theme = str(request.param)
    write_incident_config(tmp_path / "tocsin.yaml", tmp_path / "s.db", theme)
    await seed_incident(tmp_path / "s.db")
    async with (
        running_server(tmp_path / "tocsin.yaml") as server,
        aiohttp.ClientSession() as http,
        async_playwright() as playwright,
    ):
        admin = Api(server.url, http, server.headers)
        path = "/api/v1/status-pages/acme/components/Support%20desk/status"
        await admin.request("PUT", path, {"status": "degraded_performance"}, expect=204)
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield server.url + "/status/acme", browser, theme
        finally:
            await browser.close()


async def test_page_with_incident_maintenance_and_hand_set_component(incident_site: tuple[str, Browser, str]) -> None:
    url, browser, theme = incident_site
    errors: list[str] = []
    for name, width in (("desktop", DESKTOP), ("phone", PHONE)):
        for js in (True, False):
            page = await open_page(browser, url, errors, width=width, js=js)
            await expect(page.get_by_role("status")).to_have_text("Partial System Outage")
            incident = page.locator("#incident-1")
            await expect(incident.get_by_role("heading", name="Elevated API errors")).to_be_visible()
            updates = await incident.locator(".update p").all_inner_texts()
            assert updates == ["A bad deploy; rolling back.", "We are investigating errors."], name
            await expect(page.get_by_role("heading", name="Scheduled: db-upgrade")).to_be_visible()
            statuses = await page.locator(".component > .row:not(.legend) > span").all_inner_texts()
            assert statuses == ["partial outage", "operational", "degraded performance"], name
            assert await page.evaluate(NO_ALT) == [], name
            assert await page.evaluate(UNLABELLED) == [], name
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name}: page scrolls sideways by {overflow}px"
            if js:
                await shoot(page, f"status-page-incident-{theme}")
            await page.context.close()
    assert not errors, "browser console errors:\n" + "\n".join(errors)


async def test_dark_theme_renders_dark(incident_site: tuple[str, Browser, str]) -> None:
    url, browser, theme = incident_site
    errors: list[str] = []
    context = await browser.new_context(viewport=DESKTOP, color_scheme="light")  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(url)
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == ("rgb(13, 17, 23)" if theme == "dark" else "rgb(255, 255, 255)")  # dark ignores the system
    await context.close()
    dark = await open_page(browser, url, errors, width=DESKTOP)
    await dark.emulate_media(color_scheme="dark")
    assert await dark.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(13, 17, 23)"  # auto follows
    await shoot(dark, f"status-page-dark-{theme}")
    history = await open_page(browser, url + "/history", errors, width=PHONE, js=False)
    await expect(history.locator("#incident-1")).to_be_visible()
    assert not errors
