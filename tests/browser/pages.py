"""What the browser tests do on every page: an accessibility check, and screenshots.

axe-core runs with the WCAG 2.0, 2.1 and 2.2 A and AA rules; any violation fails the
test with axe's own report. Screenshots go to artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from axe_playwright_python.sync_playwright import Axe

from browser.conftest import SCREENSHOTS

if TYPE_CHECKING:
    from playwright.sync_api import Page

WCAG_TAGS: Final = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
WIDTHS: Final = {"phone": 375, "desktop": 1280}
_axe = Axe()


def check_accessible(page: Page) -> None:
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    assert results.violations_count == 0, f"{page.url}\n{results.generate_report()}"


def screenshot(page: Page, name: str) -> None:
    """The page at phone and desktop widths, whole length."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or {"width": 1280, "height": 900}
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(size)


class Visits:
    """Checks every page the test lands on; screenshots the ones named.

    axe is JavaScript: in a page with JavaScript off its promise never settles. So with
    JavaScript off, the page's HTML as the browser got it is checked in a second page
    that runs axe but blocks the site's own scripts, so what is checked is still the
    no-JavaScript page.
    """

    def __init__(self, page: Page, *, javascript: bool, base_url: str) -> None:
        self.page = page
        self.javascript = javascript
        self.base_url = base_url
        self.checked: list[str] = []
        self._checker: Page | None = None

    def _checker_page(self) -> Page:
        if self._checker is None:
            assert self.page.context.browser is not None
            context = self.page.context.browser.new_context(java_script_enabled=True)
            context.route("**/*.js", lambda route: route.abort())
            self._checker = context.new_page()
            self._checker.goto(f"{self.base_url}/healthz")
        return self._checker

    def here(self, name: str | None = None) -> None:
        self.page.wait_for_load_state("load")
        if self.javascript:
            check_accessible(self.page)
        else:
            checker = self._checker_page()
            checker.set_content(self.page.content(), wait_until="load")
            check_accessible(checker)
        self.checked.append(self.page.url)
        if name:
            suffix = "" if self.javascript else "-nojs"
            screenshot(self.page, name + suffix)

    def close(self) -> None:
        if self._checker is not None:
            self._checker.context.close()
