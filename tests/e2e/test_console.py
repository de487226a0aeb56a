"""The console in a real browser: sign in, watch the overview update live, create and pause a monitor,
sign out; a wrong password; a viewer who cannot edit."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, Console, shoot

pytestmark = pytest.mark.e2e


async def test_admin_signs_in_creates_and_pauses_a_monitor_and_signs_out(console: Console) -> None:
    page = await console.page()
    await page.goto(console.url + "/")
    await expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))  # nothing without signing in
    await shoot(page, "login")
    await console.sign_in(page, "ada")
    await expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    await expect(page.get_by_role("heading", name="Monitors down or degraded")).to_be_visible()
    for label in ("Monitors", "Alerts", "Silences", "On-call", "Incidents", "SLOs", "Status pages", "Settings"):
        await expect(page.get_by_role("navigation", name="Main").get_by_role("link", name=label)).to_be_visible()

    # the overview follows changes without a reload (server-sent events)
    await expect(page.locator(".live.on")).to_be_visible()
    await console.api.advance("10s")  # the closed port is checked and goes down
    section = page.locator('[data-section="monitors"]')
    await expect(section.get_by_role("link", name="closed-port")).to_be_visible(timeout=10_000)
    await expect(section.locator(".pill.down")).to_be_visible()
    await shoot(page, "overview")

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Monitors").click()
    await page.get_by_role("link", name="New monitor").click()
    await page.get_by_label("Name", exact=True).fill("cache")
    await page.get_by_label("Kind").select_option("tcp")
    await expect(page.get_by_label("URL")).to_be_hidden()  # only the chosen kind's fields show
    await page.get_by_label("Host").fill("127.0.0.1")
    await page.get_by_label("Port").fill("6379")
    await page.get_by_label("Interval").fill("30s")
    await page.get_by_label("Conditions, one a line").fill("[CONNECTED] == true")
    await shoot(page, "monitor-form")
    await page.get_by_role("button", name="Create monitor").click()
    await expect(page).to_have_url(console.url + "/monitors/cache")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("cache")

    await page.get_by_role("button", name="Pause").click()
    await expect(page.locator("h1 .pill")).to_have_text("paused")
    await expect(page.get_by_role("button", name="Resume")).to_be_visible()
    await shoot(page, "monitor")
    audit = await console.api.get("/api/v1/audit?target=cache")
    assert [(e["action"], e["actor"]) for e in audit["entries"]] == [
        ("monitor.pause", "ada"),
        ("monitor.create", "ada"),
    ]

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_text("Signed out.")).to_be_visible()
    await page.goto(console.url + "/monitors")
    await expect(page).to_have_url(re.compile(r"/login\?next="))


async def test_a_wrong_password_shows_an_error(console: Console) -> None:
    page = await console.page(PHONE)
    await console.sign_in(page, "ada", "not the password at all")
    await expect(page.locator("#login-error")).to_have_text("Wrong user name or password.")
    await shoot(page, "login-error")
    await console.sign_in(page, "nobody", "not the password at all")
    await expect(page.locator("#login-error")).to_have_text("Wrong user name or password.")


async def test_a_viewer_sees_no_edit_buttons_and_is_refused_if_posting_anyway(console: Console) -> None:
    for viewport in (DESKTOP, PHONE):
        page = await console.page(viewport)
        await console.sign_in(page, "vic")
        await expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
        await shoot(page, "overview-viewer")
        await page.goto(console.url + "/monitors")
        await expect(page.get_by_role("link", name="closed-port")).to_be_visible()
        await expect(page.get_by_role("link", name="New monitor")).to_have_count(0)
        await shoot(page, "monitors")
        await page.goto(console.url + "/monitors/closed-port")
        await expect(page.get_by_role("heading", level=1)).to_contain_text("closed-port")
        await expect(page.get_by_role("button", name="Pause")).to_have_count(0)
        await expect(page.get_by_role("link", name="Edit")).to_have_count(0)
        await shoot(page, "monitor-viewer")
        if viewport is PHONE:
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, f"the monitor page scrolls sideways on a phone: {width}px"

    csrf = await page.locator('meta[name="csrf-token"]').get_attribute("content")
    answer = await page.request.post(console.url + "/monitors/closed-port/pause", form={"csrf": csrf or ""})
    assert answer.status == 403
    answer = await page.request.post(
        console.url + "/api/v1/monitors",
        data={"name": "x", "kind": "tcp", "host": "h", "port": 1},
        headers={"X-CSRF-Token": csrf or ""},
    )
    assert answer.status == 403
    status = await console.api.get("/api/v1/monitors/closed-port")
    assert not status["monitor"]["paused"]


async def test_every_page_fits_a_phone_in_both_themes(console: Console) -> None:
    page = await console.page(PHONE)
    await console.sign_in(page, "ada")
    await expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    pages = ["/", "/monitors", "/monitors/closed-port", "/monitors/nightly-backup", "/monitors/new", "/alerts"]
    pages += ["/settings", "/settings/users", "/settings/tokens", "/settings/audit", "/account"]
    for theme in ("light", "dark"):
        await page.goto(console.url + "/account")
        await page.get_by_label("dark" if theme == "dark" else "light").check()
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator("html")).to_have_attribute("data-theme", theme)
        for path in pages:
            await page.goto(console.url + path)
            await expect(page.get_by_role("heading", level=1)).to_be_visible()
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} scrolls sideways on a phone: {width}px"
            name = "home" if path == "/" else path.strip("/").replace("/", "-")
            await shoot(page, f"{name}-{theme}")
        background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == ("rgb(15, 18, 22)" if theme == "dark" else "rgb(255, 255, 255)")
