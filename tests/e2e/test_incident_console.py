"""An incident in a real browser at desktop and phone widths: declare, change, note and pin on the incident
page, post an update, then resolve and take the postmortem through preview, save, review and publish."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import DESKTOP, PHONE, Console, shoot

pytestmark = pytest.mark.e2e
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


async def no_sideways_scroll(page: Page) -> None:
    """The page fits its width: wide tables scroll inside themselves, not the whole page."""
    assert await page.evaluate(OVERFLOW) <= 1, f"{page.url} scrolls sideways"


async def walk_incident(console: Console, page: Page, title: str) -> None:
    await page.goto(console.url + "/incidents/new")
    await page.get_by_label("Title").fill(title)
    await page.get_by_label("Severity").select_option("SEV2")
    await page.get_by_label("Summary").fill("Checkout requests fail with 502")
    await page.get_by_role("button", name="Declare incident").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    iid = page.url.rsplit("/", 1)[1]
    await no_sideways_scroll(page)

    await page.locator("#status").select_option("identified")
    await page.get_by_role("button", name="Change status").click()
    await expect(page.locator("h1")).to_contain_text("identified")
    await page.get_by_label("Note").fill("rolled back the deploy")
    await page.get_by_role("button", name="Add note").click()
    row = page.locator("tr", has_text="rolled back the deploy")
    await row.get_by_role("button", name="Pin").click()
    await expect(page.locator("tr", has_text="rolled back the deploy")).to_contain_text("📌")
    await shoot(page, "incident")

    await page.get_by_role("link", name="Updates").first.click()
    await expect(page).to_have_url(f"{console.url}/incidents/{iid}/updates")
    await page.get_by_role("group", name="Audience").get_by_label("internal").check()
    await page.get_by_label("Update", exact=True).fill("Rolled back; watching error rates.")
    await page.get_by_role("button", name="Post update").click()
    await expect(page.get_by_text("Rolled back; watching error rates.").first).to_be_visible()
    await no_sideways_scroll(page)
    await shoot(page, "incident-updates")

    await page.goto(f"{console.url}/incidents/{iid}")
    await page.locator("#status").select_option("resolved")
    await page.get_by_role("button", name="Change status").click()
    await expect(page.locator("h1")).to_contain_text("resolved")
    await page.get_by_role("link", name="Postmortem").first.click()
    await expect(page.locator("h1").first).to_contain_text("draft")
    body = page.get_by_label("Markdown", exact=False)
    await body.fill((await body.input_value()) + "\n\n## Follow-up\n\nWe will **canary** deploys.\n")
    await page.get_by_role("button", name="Preview").click()
    await expect(page.get_by_text("Preview of your text (not saved yet)")).to_be_visible()
    await expect(page.locator("article.notice strong", has_text="canary")).to_be_visible()
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator("article.postmortem strong", has_text="canary")).to_be_visible()
    await page.get_by_role("button", name="Ask for review").click()
    await expect(page.locator("h1").first).to_contain_text("in review")
    await page.get_by_role("button", name="Publish").click()
    await expect(page.locator("h1").first).to_contain_text("published")
    await expect(page.get_by_role("link", name="Download Markdown")).to_be_visible()
    await no_sideways_scroll(page)
    await shoot(page, "postmortem")


async def test_an_incident_from_declare_to_published_postmortem_at_both_widths(console: Console) -> None:
    for viewport, title in ((DESKTOP, "Checkout failing"), (PHONE, "Search slow")):
        page = await console.page(viewport)
        await console.sign_in(page, "ada")
        await expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
        await walk_incident(console, page, title)
    audit = await console.api.get("/api/v1/audit?action=postmortem.")
    assert [e["action"] for e in audit["entries"]].count("postmortem.state") == 4
