"""The benefit engine in a real Chromium against a real server: cases and their workflow, a payment cycle
with its county totals, standards, and the public notice with an objection. Screenshots at 1366×768."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from tests.conftest import live_app
from tests.e2e.conftest import browser_page, city_db, screenshots

pytestmark = pytest.mark.e2e

OFFICER = "e2e_haizhou"
ADMIN = "e2e_city"
PASSWORD = "E2e-passw0rd"
COMMUNITY = "320706006001"


@dataclass
class ProgramsCity:
    url: str
    reviewed_case: int
    noticed_case: int
    noticed_head: str
    noticed_id_number: str
    screenshots: Path


def _seed(session: Session) -> dict[str, Any]:
    from tests.factories import active_case, household

    from minxin.auth.service import add_user, ensure_system_user
    from minxin.infra.db import utcnow
    from minxin.programs.service import apply, init_programs, step
    from minxin.registry.service import seed_regions

    seed_regions(session)
    system = ensure_system_user(session)
    init_programs(session)
    officer = add_user(session, actor=system, username=OFFICER, password=PASSWORD, role="county_officer",
                       scope_code="320706", display_name="王海州")
    add_user(session, actor=system, username=ADMIN, password=PASSWORD, role="city_admin", scope_code="320700",
             display_name="李市局")
    worker = add_user(session, actor=system, username="e2e_worker", password=PASSWORD, role="community_worker",
                      scope_code=COMMUNITY, display_name="张专干")
    town = add_user(session, actor=system, username="e2e_town", password=PASSWORD, role="town_officer",
                    scope_code="320706006", display_name="赵街道")
    for i in range(6):  # active cases in two counties for the cycle
        community = COMMUNITY if i < 4 else "320707100001"
        h = household(session, system, community=community, members=2 + i % 3, income_yuan=100 * i,
                      hukou="城镇" if i < 4 else "农村")
        case = active_case(session, h, start="2012-01")
        if i in (1, 2):
            case.next_review_due = date(2012, 6, 1)  # overdue: the bulk suspension has something to show
    h = household(session, worker, members=3, income_yuan=450)
    reviewed = apply(session, actor=worker, program="dibao", household_id=h.id, bank_account="6228480012345678901")
    step(session, actor=worker, case_id=reviewed.id, action="investigate", reason="入户调查两人")
    step(session, actor=town, case_id=reviewed.id, action="review", reason="民主评议通过")
    h2 = household(session, town, community="320706006002", members=2, income_yuan=200)
    h2.address = "新海路88号"
    h2.phone = "13912345678"
    noticed = apply(session, actor=town, program="dibao", household_id=h2.id, staff_relative=True)
    step(session, actor=town, case_id=noticed.id, action="investigate")
    step(session, actor=town, case_id=noticed.id, action="review")
    step(session, actor=town, case_id=noticed.id, action="notice", now=utcnow() - timedelta(days=1))
    session.flush()
    head = next(p for p in h2.members if p.is_head)
    assert officer.id
    return {"reviewed_case": reviewed.id, "noticed_case": noticed.id, "noticed_head": head.name,
            "noticed_id_number": head.id_number}


@pytest.fixture(scope="module")
def programs_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProgramsCity]:
    root = tmp_path_factory.mktemp("e2e-programs")
    with city_db(root, _seed) as (engine, seeded), live_app(engine, name="e2e-programs") as url:
        yield ProgramsCity(url=url, screenshots=screenshots(root), **seeded)


@pytest.fixture
def pg(browser: Any, programs_city: ProgramsCity) -> Iterator[Any]:
    """A fresh page on the programs city; confirm dialogs are accepted; console errors fail."""
    with browser_page(browser, programs_city.url, accept_dialogs=True) as page:
        yield page


def log_in(page: Any, username: str = OFFICER) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def shot(page: Any, city: ProgramsCity, name: str, *, full: bool = False) -> None:
    page.screenshot(path=str(city.screenshots / f"programs-{name}.png"), full_page=full)


def no_horizontal_overflow(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, f"the page is {width}px wide"


def test_a_county_officer_opens_a_case_and_starts_its_public_notice(pg: Any, programs_city: ProgramsCity) -> None:
    log_in(pg)
    pg.hover("nav.mainnav .navgroup-label:has-text('审批发放')")  # cases and payments are a drop-down
    pg.click("nav.mainnav .navmenu a:text-is('案件')")
    pg.wait_for_selector("#cases tbody tr")
    no_horizontal_overflow(pg)
    shot(pg, programs_city, "01-cases")
    pg.click("#apply-card summary")
    pg.click("#overdue-card summary")
    shot(pg, programs_city, "02-cases-forms-open")

    pg.click(f"#cases a[href='/cases/{programs_city.reviewed_case}'] >> nth=0")
    pg.wait_for_url(re.compile(rf"/cases/{programs_city.reviewed_case}$"))
    assert pg.inner_text("h1 .badge") == "待公示"  # the status reads as the next step
    assert pg.locator("#step-notice button").count() == 1
    assert pg.locator("#step-approve").count() == 0  # not before the notice
    no_horizontal_overflow(pg)
    shot(pg, programs_city, "03-case-reviewed")
    pg.click("#step-notice button[type=submit]")
    pg.wait_for_selector("#flash-ok")
    assert "已办理「进入公示」" in pg.inner_text("#flash-ok")
    assert pg.inner_text("h1 .badge") == "公示中"
    # Who started the notice may not approve, so the approve button is not offered to them.
    assert pg.locator("#step-approve").count() == 0
    shot(pg, programs_city, "04-case-noticed")

    pg.goto(f"/cases/{programs_city.noticed_case}")
    assert "近亲属备案" in pg.inner_text("#flags")
    shot(pg, programs_city, "06-case-staff-relative", full=True)
    assert pg.console_errors == []


def test_a_county_officer_runs_a_cycle_and_sees_the_county_totals(pg: Any, programs_city: ProgramsCity,
                                                                  tmp_path: Path) -> None:
    log_in(pg)
    pg.hover("nav.mainnav .navgroup-label:has-text('审批发放')")  # cases and payments are a drop-down
    pg.click("nav.mainnav .navmenu a:text-is('发放')")
    pg.wait_for_selector("#run-form")
    shot(pg, programs_city, "07-cycles-empty")
    pg.fill("#run-form input[name=period]", "2012-07")
    pg.click("#run-form button[type=submit]")
    pg.wait_for_url(re.compile(r"/cycles/\d+\?done=run$"))
    cycle_url = pg.url.split("?")[0]
    rows = pg.locator("#county-totals tbody tr")
    assert rows.count() == 1  # a county officer's cycle is the county's
    assert "海州区" in rows.nth(0).inner_text()
    assert pg.inner_text("#county-sum") == pg.inner_text("#cycle-total")
    no_horizontal_overflow(pg)
    shot(pg, programs_city, "08-cycle-draft")
    pg.click("#approve-form button[type=submit]")
    pg.wait_for_selector("#approve-error")
    assert "运行发放周期的人员不能审批同一周期" in pg.inner_text("#approve-error")
    shot(pg, programs_city, "09-cycle-approve-refused")
    pg.locator("#payments").scroll_into_view_if_needed()
    shot(pg, programs_city, "10-cycle-payments")

    pg.context.clear_cookies()
    log_in(pg, ADMIN)
    pg.goto(cycle_url)
    pg.click("#approve-form button[type=submit]")
    pg.wait_for_selector("#flash-ok")
    assert "已审批" in pg.inner_text("h1 .badge")
    with pg.expect_download() as download:
        pg.click("#bank-xlsx")
    assert download.value.suggested_filename.endswith(".xlsx")
    pg.goto(cycle_url)
    assert "已导出" in pg.inner_text("h1 .badge")
    assert pg.locator("#reconcile-form").count() == 1
    shot(pg, programs_city, "11-cycle-exported")

    bank = Path(download.value.path())
    wrong = tmp_path / "result-wrong.xlsx"
    _bank_result(bank, wrong, fail_first=True, wrong_amount=True)
    pg.set_input_files("#reconcile-form input[type=file]", str(wrong))
    pg.click("#reconcile-form button[type=submit]")
    pg.wait_for_selector("#reconcile-errors")
    assert "不符" in pg.inner_text("#reconcile-errors")
    pg.locator("#reconcile-errors").scroll_into_view_if_needed()
    shot(pg, programs_city, "12-cycle-reconcile-errors")
    good = tmp_path / "result.xlsx"
    _bank_result(bank, good, fail_first=True)
    pg.set_input_files("#reconcile-form input[type=file]", str(good))
    pg.click("#reconcile-form button[type=submit]")
    pg.wait_for_selector("#flash-ok")
    assert "对账完成" in pg.inner_text("#flash-ok") and "已对账" in pg.inner_text("h1 .badge")
    shot(pg, programs_city, "13-cycle-reconciled")

    pg.goto("/cycles")
    pg.fill("#run-form input[name=period]", "2012-08")
    pg.select_option("#run-form select[name=county]", "320706")  # the city names the county (or runs all)
    pg.click("#run-form button[type=submit]")
    pg.wait_for_url(re.compile(r"/cycles/\d+\?done=run$"))
    assert pg.locator("#cycle-figures .stat-value").nth(3).inner_text() != "0.00"  # July's failure, paid again
    assert "重发" in pg.inner_text("#payment-list")
    shot(pg, programs_city, "14-cycle-carryover")
    pg.goto("/cycles")
    shot(pg, programs_city, "15-cycles-list")
    pg.goto("/cases/1")
    shot(pg, programs_city, "16-case-active-payments", full=True)
    assert pg.console_errors == []


def _bank_result(bank: Path, target: Path, *, fail_first: bool, wrong_amount: bool = False) -> None:
    """The bank's answer to a bank file: 结果 per row (the first one failed), optionally a wrong amount."""
    from openpyxl import Workbook, load_workbook

    sheet = load_workbook(io.BytesIO(bank.read_bytes())).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([*rows[0], "结果", "原因"])
    for i, row in enumerate(rows[1:]):
        if wrong_amount and i == 1:
            row[3] = "1.00"
        failed = fail_first and i == 0
        ws.append([*row, "失败" if failed else "成功", "户名与账号不符" if failed else None])
    wb.save(target)


def test_the_standards_page_explains_and_refuses_a_negative_amount(pg: Any, programs_city: ProgramsCity) -> None:
    log_in(pg)
    pg.hover("nav.mainnav .navgroup-label:has-text('审批发放')")  # cases and payments are a drop-down
    pg.click("nav.mainnav .navmenu a:text-is('标准')")
    pg.wait_for_selector("#in-force")
    assert "标准只增不改" in pg.inner_text("#standards-rules")
    no_horizontal_overflow(pg)
    shot(pg, programs_city, "17-standards")
    pg.fill("#standard-form input[name=amount]", "-5")
    pg.click("#standard-form button[type=submit]")
    pg.wait_for_selector("#standard-error")
    assert "金额不能为负数" in pg.inner_text("#standard-error")
    shot(pg, programs_city, "18-standards-refused")
    pg.fill("#standard-form input[name=amount]", "500")
    pg.fill("#standard-form input[name=effective]", "2012-09-01")  # after the reconciled July
    pg.click("#standard-form button[type=submit]")
    pg.wait_for_selector("#standard-added")
    assert "500.00" in pg.inner_text("#in-force")
    shot(pg, programs_city, "19-standards-added")
    assert pg.console_errors == []


def test_a_resident_reads_the_notice_and_raises_an_objection(pg: Any, programs_city: ProgramsCity) -> None:
    pg.goto("/notice")
    assert pg.locator("nav.mainnav").count() == 0
    shot(pg, programs_city, "20-notice-index")
    pg.fill("input[name=q]", "320706006002")
    pg.click("#notice-search button[type=submit]")
    pg.click("#communities a >> nth=0")
    pg.wait_for_url(re.compile(r"/notice/320706006002$"))
    text = pg.inner_text("main")
    assert programs_city.noticed_head not in text and programs_city.noticed_head[0] + "*" in text
    assert programs_city.noticed_id_number not in pg.content() and "13912345678" not in pg.content()
    no_horizontal_overflow(pg)
    shot(pg, programs_city, "21-notice")
    pg.click(f"#case-{programs_city.noticed_case} a")
    pg.wait_for_selector(f"#objection-form-{programs_city.noticed_case}", state="visible")
    shot(pg, programs_city, "22-notice-objection-form")
    form = f"#objection-form-{programs_city.noticed_case}"
    pg.fill(f"{form} textarea[name=content]", "该户家中开有小超市，收入不低")
    pg.fill(f"{form} input[name=name]", "刘女士")
    pg.click(f"{form} button[type=submit]")
    pg.wait_for_selector("#thanks")
    shot(pg, programs_city, "23-notice-thanks")
    assert pg.console_errors == []

    log_in(pg)
    pg.goto(f"/cases/{programs_city.noticed_case}")
    assert "该户家中开有小超市" in pg.inner_text("#objections")
    pg.locator("#objections").scroll_into_view_if_needed()
    shot(pg, programs_city, "24-case-objection")
    pg.goto("/cases/suspend-overdue?program=dibao&before=2030-01-01")
    shot(pg, programs_city, "25-suspend-confirm")
    assert pg.console_errors == []
