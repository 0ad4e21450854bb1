"""Government-purchased home care in a real Chromium against a real server: a county officer contracts a
provider and adds a worker, a community worker books an order from the elderly person's page, starts it,
is refused finishing it before it started, finishes it; the settlement page shows it. Screenshots at
1366×768."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from tests.conftest import live_app
from tests.e2e.conftest import browser_page, city_db, screenshots

from minxin.infra.clock import CHINA_TZ

pytestmark = pytest.mark.e2e

OFFICER = "e2e_hc_haizhou"
WORKER = "e2e_hc_worker"
PASSWORD = "E2e-passw0rd"


@dataclass
class HomecareCity:
    url: str
    screenshots: Path
    rep_id_number: str
    person_id: int


def _seed(session: Session) -> tuple[str, int]:
    from tests.factories import elderly_person, household

    from minxin.auth.service import add_user, ensure_system_user
    from minxin.programs.service import init_programs
    from minxin.registry.service import seed_regions

    seed_regions(session)
    system = ensure_system_user(session)
    init_programs(session)
    add_user(session, actor=system, username=OFFICER, password=PASSWORD, role="county_officer",
             scope_code="320706", display_name="王海州")
    add_user(session, actor=system, username=WORKER, password=PASSWORD, role="community_worker",
             scope_code="320706006001", display_name="李社区")
    rep = household(session, system, members=1).members[0]
    person = elderly_person(session, system)
    session.flush()
    return rep.id_number, person.id


@pytest.fixture(scope="module")
def hc_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HomecareCity]:
    root = tmp_path_factory.mktemp("e2e-homecare")
    with city_db(root, _seed) as (engine, (rep, person_id)), live_app(engine, name="e2e-homecare") as url:
        yield HomecareCity(url=url, screenshots=screenshots(root), rep_id_number=rep, person_id=person_id)


@pytest.fixture
def pg(browser: Any, hc_city: HomecareCity) -> Iterator[Any]:
    """A fresh page on the home-care city; console errors fail the test."""
    with browser_page(browser, hc_city.url) as page:
        yield page


def log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def no_horizontal_overflow(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, f"the page is {width}px wide"


def test_a_provider_is_contracted_and_an_order_booked_started_and_finished(pg: Any, hc_city: HomecareCity) -> None:
    log_in(pg, OFFICER)
    pg.goto("/eldercare/providers")
    pg.fill("#provider-form input[name=name]", "海州颐康居家服务社")
    pg.fill("#provider-form input[name=county_code]", "320706")
    pg.fill("#provider-form input[name=contact_id_number]", hc_city.rep_id_number)
    pg.fill("#provider-form input[name=bank_account]", "6222021234567890123")
    pg.click("#provider-form button[type=submit]")
    pg.wait_for_url(re.compile(r"/eldercare/providers/\d+$"))
    pg.fill("#staff-form input[name=name]", "孙护工")
    pg.fill("#staff-form input[name=qualification]", "养老护理员（四级）")
    pg.click("#staff-form button[type=submit]")
    pg.wait_for_selector("#staff >> text=孙护工")
    no_horizontal_overflow(pg)
    pg.screenshot(path=str(hc_city.screenshots / "homecare-provider.png"), full_page=True)
    pg.context.clear_cookies()

    log_in(pg, WORKER)
    pg.goto(f"/eldercare/elderly/{hc_city.person_id}")
    assert "70周岁以上独居老人" in pg.inner_text("#homecare")
    pg.click("#homecare >> text=派服务单")
    now = datetime.now(CHINA_TZ)
    pg.fill("#order-form input[name=service_type]", "助洁")
    pg.fill("#order-form input[name=scheduled_at]", now.strftime("%Y-%m-%dT%H:%M"))
    pg.fill("#order-form input[name=minutes]", "900")  # 300 元 of a 200 元 entitlement: refused
    pg.click("#order-form button[type=submit]")
    assert "超出本月服务额度" in pg.inner_text("#form-error")
    pg.fill("#order-form input[name=minutes]", "90")
    pg.click("#order-form button[type=submit]")
    pg.wait_for_url(re.compile(r"/eldercare/orders/\d+$"))
    started = (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    pg.fill("#start-form input[name=at]", started)
    pg.click("#start-form button[type=submit]")
    pg.wait_for_selector("#finish-form")
    pg.fill("#finish-form input[name=at]", (now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    pg.click("#finish-form button[type=submit]")
    assert "早于开始时间" in pg.inner_text("#form-error")
    pg.fill("#finish-form input[name=at]", (now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"))
    pg.click("#finish-form button[type=submit]")
    pg.wait_for_selector("#order-status >> text=已完成")
    no_horizontal_overflow(pg)
    pg.screenshot(path=str(hc_city.screenshots / "homecare-order.png"), full_page=True)
    pg.goto("/eldercare/settlements")
    row = pg.inner_text("#settlements tbody tr >> nth=0")
    assert "海州颐康居家服务社" in row and "30.00" in row
    assert pg.console_errors == []
