"""The finder in a real browser at 1366 px: search by 户编号 and by community, pick a community from the
code list (searching as one types), open the household; no page wider than the window."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect
from tests.e2e.conftest import LiveCity
from tests.e2e.test_browser import log_in, shot

from minxin.core.masking import mask_name


def _fits(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_search_by_household_number_pick_a_community_and_open_the_household(page: Any, live_city: LiveCity) -> None:
    household = live_city.households[0]
    log_in(page)
    page.goto("/registry")
    page.select_option("#search-by", "household_no")
    page.fill("input[name=q]", str(household["household_no"]))
    page.click("button:has-text('查询')")
    rows = page.locator("#results tbody tr")
    assert rows.count() == 3
    head_name = household["members"][0][1]  # type: ignore[index]
    assert mask_name(head_name) in rows.first.inner_text() and " · " in rows.first.inner_text()
    assert page.locator("#search-by").input_value() == "household_no"
    _fits(page)
    shot(page, live_city, "finder-search-household-no")

    page.click("#community-picker")
    page.wait_for_url(re.compile(r"/registry/communities\?pick=registry"))
    page.fill("#community-q", "320706006001")
    expect(page.locator("#communities tbody tr[data-code]")).to_have_count(1)
    assert "320706006001" in page.inner_text("#communities")
    _fits(page)
    shot(page, live_city, "finder-community-picker")
    page.click("#communities tbody tr[data-code='320706006001'] >> text=选择")
    page.wait_for_url(re.compile(r"/registry\?region=320706006001"))
    assert page.locator("#results tbody tr").count() >= 12  # the four households of the community

    page.locator("#results tbody tr").first.locator("a").click()
    page.wait_for_url(re.compile(r"/households/\d+$"))
    assert page.locator("#household-cases").is_visible() and page.locator("#household-payments").is_visible()
    assert "本户没有救助或保障案件" in page.inner_text("#household-cases")
    _fits(page)
    page.set_viewport_size({"width": 1366, "height": 1400})
    shot(page, live_city, "finder-household")
    assert not page.console_errors
