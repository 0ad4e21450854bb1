"""待办 in a real Chromium: the top bar's count arrives by HTMX after the page (no CSP complaint), the home
page's work panel and programs at a glance render within 1366 px, and a kind's list opens."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveCity
from tests.e2e.test_browser import log_in, shot


def test_the_county_officer_sees_the_work_panel_and_the_badge_loads_after_the_page(page: Any,
                                                                                     live_city: LiveCity) -> None:
    log_in(page)
    page.wait_for_url(f"{live_city.url}/")
    page.wait_for_selector("#worklist-badge:not([hx-get])")  # the placeholder was swapped for the count
    badge = page.locator("#worklist-badge")
    assert badge.inner_text().startswith("待办")
    assert page.locator("#worklist").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    shot(page, live_city, "worklist-home-county")
    badge.click()
    page.wait_for_url(f"{live_city.url}/worklist")
    assert page.locator("h1").inner_text() == "我的待办"
    assert page.locator(".worklist-kind").count() >= 1  # every kind of the county's steps, even empty
    assert page.console_errors == []
