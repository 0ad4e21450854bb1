"""五保, premium subsidies and care institutions in a real Chromium against a real server: the rate chart
(external script only, as the CSP demands), deriving standards with preview and confirm, the roster
download, adding an institution. Screenshots at 1366×768."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from tests.conftest import live_app
from tests.e2e.conftest import browser_page, city_db, screenshots

pytestmark = pytest.mark.e2e

ADMIN = "e2e_wubao_city"
OFFICER = "e2e_wubao_haizhou"
PASSWORD = "E2e-passw0rd"


@dataclass
class WubaoCity:
    url: str
    screenshots: Path


def _seed(session: Session) -> None:
    from tests.factories import active_case, household

    from minxin.auth.service import add_user, ensure_system_user
    from minxin.programs.service import init_programs
    from minxin.registry.service import add_institution, seed_regions

    seed_regions(session)
    system = ensure_system_user(session)
    init_programs(session)
    add_user(session, actor=system, username=ADMIN, password=PASSWORD, role="city_admin", scope_code="320700",
             display_name="李市局")
    add_user(session, actor=system, username=OFFICER, password=PASSWORD, role="county_officer",
             scope_code="320706", display_name="王海州")
    homes = {"320706": add_institution(session, actor=system, name="新海街道敬老院", region_code="320706006", beds=40),
             "320707": add_institution(session, actor=system, name="青口镇敬老院", region_code="320707100", beds=30)}
    # 海州区 3 of 4 in an institution (75%, met); 赣榆区 1 of 3 (33.3%, below).
    for community, centralized, dispersed in (("320706006001", 3, 1), ("320707100001", 1, 2)):
        for i in range(centralized + dispersed):
            case = active_case(session, household(session, system, community=community, hukou="农村", members=1),
                               program="wubao")
            case.category = "集中" if i < centralized else "分散"
            case.institution_id = homes[community[:6]].id if i < centralized else None
    for hukou in ("城镇", "农村"):
        active_case(session, household(session, system, hukou=hukou, members=3), start="2012-01")
    session.flush()


@pytest.fixture(scope="module")
def wubao_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WubaoCity]:
    root = tmp_path_factory.mktemp("e2e-wubao")
    with city_db(root, _seed) as (engine, _), live_app(engine, name="e2e-wubao") as url:
        yield WubaoCity(url=url, screenshots=screenshots(root))


@pytest.fixture
def pg(browser: Any, wubao_city: WubaoCity) -> Iterator[Any]:
    """A fresh page on the 五保 city; console errors fail the test."""
    with browser_page(browser, wubao_city.url) as page:
        yield page


def log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def shot(page: Any, city: WubaoCity, name: str, *, full: bool = False) -> None:
    page.screenshot(path=str(city.screenshots / f"assistance-{name}.png"), full_page=full)


def no_horizontal_overflow(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, f"the page is {width}px wide"


def test_the_city_admin_reads_the_rate_and_derives_the_standards(pg: Any, wubao_city: WubaoCity) -> None:
    log_in(pg, ADMIN)
    pg.hover("nav.mainnav .navgroup-label:has-text('社会救助')")  # social assistance is a drop-down
    pg.click("nav.mainnav .navmenu >> text=五保")
    pg.wait_for_selector("#wubao-chart canvas")  # drawn by the external script
    assert pg.inner_text("#no-standards") == "辖区内尚未设定五保供养标准。"
    assert "75.0%" in pg.inner_text("#rates tr[data-county='320706']")
    ganyu = pg.inner_text("#rates tr[data-county='320707']")
    assert "33.3%" in ganyu and "未达标" in ganyu and "差 2 人" in ganyu
    assert "57.1%" in pg.inner_text("#rate-total")
    no_horizontal_overflow(pg)
    pg.wait_for_timeout(500)  # let the bars finish growing
    shot(pg, wubao_city, "wubao-01-rate")

    pg.fill("#derive-form input[name=ratio]", "0.7")
    pg.click("#derive-form button[type=submit]")
    assert pg.inner_text("#derive-error") == "五保标准比例必须在 50%–60% 之间，不能是 70%"
    assert pg.evaluate("document.querySelector('#derive').getBoundingClientRect().top < window.innerHeight")
    shot(pg, wubao_city, "wubao-02-refused")

    pg.fill("#derive-form input[name=year]", "2012")
    pg.fill("#derive-form input[name=ratio]", "55%")
    pg.click("#derive-form button[type=submit]")
    pg.wait_for_selector("#proposals")
    assert pg.locator("#proposals tbody tr").count() == 6
    assert "5,005.00" in pg.inner_text("#proposals tr[data-county='320706']")
    no_horizontal_overflow(pg)
    shot(pg, wubao_city, "wubao-03-preview")
    pg.click("#confirm-form button[type=submit]")
    pg.wait_for_selector("#derived-ok")
    assert "6 个县区" in pg.inner_text("#derived-ok")
    row = pg.inner_text("#standards tr[data-county='320706'][data-category='集中']")
    assert "5,005.00" in row and "417.08" in row and "9100 × 55% = 5005 元/年" in row
    shot(pg, wubao_city, "wubao-04-set", full=True)
    assert pg.console_errors == []


def test_a_county_officer_downloads_the_premium_roster(pg: Any, wubao_city: WubaoCity) -> None:
    from openpyxl import load_workbook

    log_in(pg, OFFICER)
    pg.hover("nav.mainnav .navgroup-label:has-text('社会救助')")  # social assistance is a drop-down
    pg.click("nav.mainnav .navmenu >> text=参保代缴")
    pg.fill("#year-form input[name=year]", "2012")
    pg.click("#year-form button[type=submit]")
    pg.wait_for_selector("#by-scheme")
    assert pg.inner_text("#people") == "10"  # 海州 only: 4 五保 persons and two 低保 households of 3
    no_horizontal_overflow(pg)
    shot(pg, wubao_city, "premiums-01")
    with pg.expect_download() as info:
        pg.click("#roster-xlsx")
    sheet = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes())).active
    header = next(sheet.iter_rows(values_only=True))
    assert list(header) == ["姓名", "身份证号", "险种", "户籍类别", "保障类别", "社区代码", "社区", "覆盖月数",
                            "代缴金额(元)"]
    assert pg.console_errors == []


def test_a_county_officer_adds_an_institution(pg: Any, wubao_city: WubaoCity) -> None:
    log_in(pg, OFFICER)
    pg.hover("nav.mainnav .navgroup-label:has-text('社会救助')")  # social assistance is a drop-down
    pg.click("nav.mainnav .navmenu >> text=供养机构")
    row = pg.inner_text("#institutions tbody tr >> nth=0")
    assert "新海街道敬老院" in row and "青口镇敬老院" not in pg.inner_text("#institutions")
    pg.fill("#add-form input[name=name]", "锦屏镇敬老院")
    pg.select_option("#add-form select[name=region]", "320706100")
    pg.fill("#add-form input[name=beds]", "60")
    pg.click("#add-form button[type=submit]")
    pg.wait_for_selector("#added-ok")
    assert "锦屏镇敬老院" in pg.inner_text("#institutions")
    no_horizontal_overflow(pg)
    shot(pg, wubao_city, "institutions-01", full=True)
    assert pg.console_errors == []
