"""A citizen's and an auditor's whole journeys in a real browser, JavaScript on and off.

The citizen signs up, adds evidence with a document, approves a service's request on
the consent page, sees the service read it, stops the sharing, downloads everything
and deletes the account; an auditor finds the read and checks its proof and the log's
consistency. Every page visited passes axe-core (WCAG 2.2 AA).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import TEST_PASSWORD
from dashboard.kit import AUDITOR_EMAIL, make_auditor
from e2e.helpers import png
from e2e.oauth_kit import REDIRECT_URI, Pkce, ServiceKit
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from browser import service
from browser.conftest import CHROMIUM
from browser.pages import Visits

if TYPE_CHECKING:
    from pds.accounts.service import AccountPolicy
    from pds.db import Database
    from pds.keys.provider import InMemoryKeyProvider

CITIZEN = "amara.browser@example.com"
PROOF_WAIT = 15.0  # seconds for the live sequencer to put an entry in a checkpoint


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
async def test_citizen_and_auditor_journeys(
    live: str,
    db: Database,
    keys: InMemoryKeyProvider,
    policy: AccountPolicy,
    javascript: bool,
) -> None:
    await make_auditor(db, keys, policy)
    kit = ServiceKit(issuer=live)
    await kit.register(db)
    await asyncio.to_thread(journeys, live, kit, javascript)


def journeys(base_url: str, kit: ServiceKit, javascript: bool) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            citizen_journey(browser, base_url, kit, javascript)
        finally:
            browser.close()


def _context_page(browser: Browser, javascript: bool) -> Page:
    context = browser.new_context(
        java_script_enabled=javascript, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    return context.new_page()


def citizen_journey(browser: Browser, base_url: str, kit: ServiceKit, javascript: bool) -> None:
    page = _context_page(browser, javascript)
    visits = Visits(page, javascript=javascript, base_url=base_url)
    if javascript:
        page.goto(f"{base_url}/dashboard/sign-in")
        visits.here("sign-in")
        page.click("button:has-text('Sign in')")  # an empty form: the error summary
        assert page.locator(".govuk-error-summary").is_visible()
        visits.here("sign-in-errors")
    sign_up(page, visits, base_url)
    look_at_empty_lists(page, visits, base_url)
    add_evidence(page, visits)
    tokens = approve_a_request(page, visits, base_url, kit)
    read = service.read_data(base_url, kit, tokens)
    assert read.status_code == 200, read.text
    see_the_read(page, visits, base_url)
    auditor_journey(browser, base_url, kit, javascript)
    stop_sharing(page, visits, base_url)
    download_everything(page, visits, base_url)
    delete_account(page, visits, base_url)
    body_class = page.get_attribute("body", "class") or ""
    assert ("govuk-frontend-supported" in body_class) is javascript
    visits.close()


def look_at_empty_lists(page: Page, visits: Visits, base_url: str) -> None:
    """The requests inbox and the credentials page, before anything has arrived, and the
    sign-posting page the footer links to."""
    page.goto(f"{base_url}/dashboard/requests")
    expect(page.locator("h1")).to_be_visible()
    visits.here("requests-empty")
    page.goto(f"{base_url}/dashboard/credentials")
    expect(page.locator("h1")).to_be_visible()
    visits.here("credentials-empty")
    page.click("footer >> text=Help and other services")
    expect(page.locator("h1")).to_have_text("Help and other services")
    visits.here("help")
    page.goto(f"{base_url}/dashboard")


def sign_up(page: Page, visits: Visits, base_url: str) -> None:
    page.goto(f"{base_url}/dashboard/sign-up")
    visits.here("sign-up")
    page.fill("#email", CITIZEN)
    page.fill("#password", TEST_PASSWORD)
    page.fill("#confirm", TEST_PASSWORD)
    page.click("button:has-text('Create account')")
    page.wait_for_url(f"{base_url}/dashboard")
    expect(page.locator("body")).to_contain_text(f"Signed in as {CITIZEN}")
    visits.here("home-empty")


def add_evidence(page: Page, visits: Visits) -> None:
    page.click("main >> text=Add evidence")
    visits.here("evidence-choose")
    page.check("text=Proof of address")
    page.click("button:has-text('Continue')")
    visits.here("evidence-form")
    page.fill("#full_name", "Amara Okafor")
    page.fill("#address_line_1", "14 Elm Road")
    page.fill("#town", "Leeds")
    page.fill("#postcode", "LS6 2AB")
    page.fill("#issued_on", "14")
    page.fill("#issued_on-month", "3")
    page.fill("#issued_on-year", "2025")
    page.fill("#issuer", "Yorkshire Water")
    page.set_input_files(
        "#document", files=[{"name": "water-bill.png", "mimeType": "image/png", "buffer": png()}]
    )
    page.click("button:has-text('Save evidence')")
    expect(page.locator("body")).to_contain_text("Your evidence has been added")
    expect(page.locator("body")).to_contain_text("water-bill.png")
    visits.here("evidence-item")
    page.click("text=Your evidence")
    visits.here("evidence-list")


def approve_a_request(page: Page, visits: Visits, base_url: str, kit: ServiceKit) -> dict[str, Any]:
    """The service pushes a request; the citizen answers on the consent page."""
    pkce = Pkce()
    landed: list[str] = []

    def at_service(route: Route) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/plain", body="Back at the service")

    page.route(f"{REDIRECT_URI}**", at_service)
    page.goto(service.push(base_url, kit, pkce))
    expect(page.locator("body")).to_contain_text("is asking to see some of your information")
    visits.here("consent")
    page.check("input[name=items]")
    page.click("button:has-text('Yes, share this information')")
    page.wait_for_url(f"{REDIRECT_URI}**")
    code = parse_qs(urlsplit(landed[-1]).query)["code"][0]
    return service.exchange(base_url, kit, code, pkce)


def see_the_read(page: Page, visits: Visits, base_url: str) -> None:
    page.goto(f"{base_url}/dashboard")
    expect(page.locator("body")).to_contain_text("Housing Options")
    visits.here("home")
    page.click("text=Services with access")
    expect(page.locator("body")).to_contain_text("Proof of address")
    visits.here("services")
    page.click("text=Details")
    visits.here("service")
    page.click("text=Activity")
    expect(page.locator("body")).to_contain_text("Your data was read")
    visits.here("activity")
    row = page.locator("tr", has_text="Your data was read").first
    row.locator("a:has-text('Check')").click()
    wait_until_verified(page)
    visits.here("activity-proof")


def wait_until_verified(page: Page) -> None:
    deadline = time.monotonic() + PROOF_WAIT
    while "Verified" not in page.content():
        assert time.monotonic() < deadline, "the entry never reached a checkpoint"
        time.sleep(0.5)
        page.reload()


def auditor_journey(browser: Browser, base_url: str, kit: ServiceKit, javascript: bool) -> None:
    page = _context_page(browser, javascript)
    visits = Visits(page, javascript=javascript, base_url=base_url)
    page.goto(f"{base_url}/dashboard/sign-in")
    page.fill("#email", AUDITOR_EMAIL)
    page.fill("#password", TEST_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{base_url}/dashboard/audit")
    visits.here("audit-search")
    page.select_option("#action", "read")
    page.fill("#client", kit.client_id)
    page.click("button:has-text('Search')")
    results = page.locator("table.govuk-table tbody tr")
    assert results.count() >= 1
    visits.here("audit-results")
    with page.expect_download() as csv:
        page.click("button:has-text('Download these results (CSV)')")
    assert csv.value.suggested_filename == "audit-entries.csv"
    results.first.locator("a:has-text('Proof')").click()
    wait_until_verified(page)
    visits.here("audit-entry")
    page.click("text=Checkpoint")
    note = page.inner_text("#current-checkpoint")
    visits.here("audit-checkpoint")
    page.fill("#checkpoint", note)
    page.click("button:has-text('Check consistency')")
    expect(page.locator("body")).to_contain_text("Consistent")
    visits.here("audit-consistent")
    visits.close()
    page.context.close()


def stop_sharing(page: Page, visits: Visits, base_url: str) -> None:
    page.goto(f"{base_url}/dashboard/services")
    page.click(".govuk-summary-card >> text=Stop sharing")
    visits.here("service-stop")
    page.click("button:has-text('Yes, stop sharing')")
    expect(page.locator("body")).to_contain_text("Sharing has stopped")
    visits.here("services-stopped")


def download_everything(page: Page, visits: Visits, base_url: str) -> None:
    page.goto(f"{base_url}/dashboard/account")
    visits.here("account")
    with page.expect_download() as archive:
        page.click("text=Download all your data (ZIP file)")
    assert archive.value.suggested_filename == "pds-export.zip"


def delete_account(page: Page, visits: Visits, base_url: str) -> None:
    page.goto(f"{base_url}/dashboard/account/delete")
    visits.here("account-delete")
    page.click("button:has-text('Delete my account')")  # nothing filled: both errors
    assert page.locator(".govuk-error-summary").is_visible()
    visits.here("account-delete-errors")
    page.check("#understood")
    page.fill("#password", TEST_PASSWORD)
    page.click("button:has-text('Delete my account')")
    expect(page.locator("body")).to_contain_text("Your account has been deleted")
    visits.here("account-deleted")
    page.goto(f"{base_url}/dashboard")
    assert page.url.endswith("/dashboard/sign-in")
