"""P24 resettlement in a real Chromium against a real server, as a county officer new to it would go: the menu,
registering a soldier by ID number (first with a mistake), a course, enrolment, result and placement."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.e2e.conftest import LiveCity
from tests.e2e.test_browser import log_in, shot

pytestmark = pytest.mark.e2e


def test_a_county_officer_registers_a_soldier_trains_and_places_them(page: Any, live_city: LiveCity) -> None:
    log_in(page)
    page.wait_for_url(f"{live_city.url}/")
    page.goto("/veterans")
    page.click(".head-links >> text=退役安置")
    page.wait_for_url(re.compile(r"/veterans/resettlement$"))
    _, _, id_number = live_city.households[3]["members"][2]  # type: ignore[index]

    page.fill("#soldier-form input[name=id_number]", id_number)
    page.fill("#soldier-form input[name=discharged_on]", "2012-09-01")
    page.check("#soldier-form input[name=priority]")
    page.click("#soldier-form button[type=submit]")
    assert "优先安置须注明原因" in page.inner_text("#form-error")  # refused, the form keeps what was typed
    assert page.input_value("#soldier-form input[name=id_number]") == id_number
    page.check("#soldier-form input[name=priority]")
    page.fill("#soldier-form input[name=priority_reason]", "因战致残")
    page.click("#soldier-form button[type=submit]")
    page.wait_for_url(re.compile(r"/veterans/soldiers/\d+\?saved=1$"))
    soldier_url = page.url.split("?")[0]
    assert "因战致残" in page.inner_text("h1 + p") and "2013-09-01" in page.inner_text("#training")
    shot(page, live_city, "vet-01-soldier")

    page.click(".head-links >> text=培训课程")
    page.fill("#course-form input[name=name]", "汽车驾驶与维修")
    page.select_option("#course-form select[name=region_code]", "320706")
    page.fill("#course-form input[name=starts_on]", "2013-03-01")
    page.fill("#course-form input[name=ends_on]", "2013-06-30")
    page.click("#course-form button[type=submit]")
    page.wait_for_url(re.compile(r"/veterans/courses\?saved=1$"))
    assert "汽车驾驶与维修" in page.inner_text("#courses")

    page.goto(soldier_url)
    page.click("#enrol-form button[type=submit]")
    page.wait_for_selector("#saved")
    assert "免费（退役一年内开训）" in page.inner_text("#enrolments")
    row = page.locator("#enrolments tbody tr").first
    row.locator("select[name=result]").select_option("passed")
    row.locator("input[name=certificate_no]").fill("驾证2013001")
    row.locator("button[type=submit]").click()
    page.wait_for_selector("#saved")
    page.select_option("#placement-form select[name=status]", "placed")
    page.fill("#placement-form input[name=on]", "2013-07-15")
    page.click("#placement-form button[type=submit]")
    page.wait_for_selector("#saved")
    assert page.inner_text("#placement-status") == "已安置"
    assert "结业合格" in page.inner_text("#enrolments") and "驾证2013001" in page.inner_text("#enrolments")
    shot(page, live_city, "vet-02-trained-and-placed")
    assert page.console_errors == []
