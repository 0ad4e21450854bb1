"""The staff journey in a real Chromium against a real server: login, search, household, reveal, import."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from tests.e2e.conftest import E2E_PASSWORD, E2E_USER, LiveCity
from tests.factories import new_id

from minxin.core.masking import mask_id
from minxin.registry.importer import HEADERS

pytestmark = pytest.mark.e2e


def log_in(page: Any, *, password: str = E2E_PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=username]", E2E_USER)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def shot(page: Any, city: LiveCity, name: str) -> None:
    page.screenshot(path=str(city.screenshots / f"{name}.png"), full_page=False)


def test_staff_log_in_search_open_a_household_and_reveal_an_id(page: Any, live_city: LiveCity) -> None:
    log_in(page, password="wrong-password-1")
    assert page.locator("#login-error").inner_text() == "用户名或密码错误"
    shot(page, live_city, "01-login-failed")

    log_in(page)
    page.wait_for_url(f"{live_city.url}/")
    assert "王海州" in page.inner_text(".who") and "海州区" in page.inner_text(".who")
    page.wait_for_selector("#county-chart canvas")
    page.wait_for_timeout(500)  # let the bars finish growing
    shot(page, live_city, "02-home")

    household = live_city.households[0]
    person_id, name, id_number = household["members"][1]  # type: ignore[index]
    page.hover("nav.mainnav .navgroup-label:has-text('户籍档案')")  # the registry is a drop-down
    page.click("nav.mainnav .navmenu a:text-is('户籍查询')")
    page.fill("input[name=q]", name)
    page.click("button:has-text('查询')")
    assert mask_id(id_number) in page.inner_text("#results")
    assert id_number not in page.content()
    shot(page, live_city, "03-search-by-name")

    page.fill("input[name=q]", id_number)
    page.click("button:has-text('查询')")
    rows = page.locator("#results tbody tr")
    assert rows.count() == 1
    shot(page, live_city, "04-search-by-id")
    rows.first.locator("a", has_text="查看").click()

    page.wait_for_url(re.compile(rf"/households/{household['id']}$"))
    assert household["household_no"] in page.inner_text("h1")
    assert id_number not in page.inner_text("#members")
    page.locator(f"#idcell-{person_id} button.reveal").click()
    page.wait_for_selector(f"#id-{person_id}")
    assert page.inner_text(f"#id-{person_id}") == id_number
    shot(page, live_city, "05-household-revealed")

    page.fill("input[name=monthly_income]", "-3")
    page.click("#declare-form button[type=submit]")
    assert "金额不能为负数" in page.inner_text("#declare-card .alert-error")
    page.fill("input[name=monthly_income]", "2,000")
    page.click("#declare-form button[type=submit]")
    assert "收入申报已保存" in page.inner_text("main")
    assert "2,000.00" in page.inner_text("#history")

    page.goto("/households/99999999")
    assert "页面或记录不存在" in page.inner_text("main")
    shot(page, live_city, "06-not-found")
    assert page.console_errors == []


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(HEADERS)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def _rows(n: int, community: str = "320706006001") -> list[list[object]]:
    rows: list[list[object]] = []
    for i in range(n):
        no = f"E2E{new_id()[-6:]}{i}"
        rows.append([no, "周杰", new_id(region="320706"), "户主", community, "城镇", "1500", "13900001111", None])
        rows.append([no, "吴娟", new_id(female=True), "配偶", community, "城镇", "0", None, "三级"])
    return rows


def test_an_import_with_mistakes_lists_them_and_a_good_file_is_stored(page: Any, live_city: LiveCity,
                                                                      tmp_path: Path) -> None:
    log_in(page)
    page.wait_for_url(f"{live_city.url}/")
    page.hover("nav.mainnav .navgroup-label:has-text('户籍档案')")
    page.click("nav.mainnav .navmenu a:text-is('批量导入')")
    shot(page, live_city, "07-import")

    bad = _rows(3)
    bad[0][2] = "320706197001011230"
    bad[3][3] = "邻居"
    bad[5][4] = "320707100001"
    page.set_input_files("input[name=file]", str(_xlsx(tmp_path / "mistakes.xlsx", bad)))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-errors")
    table = page.inner_text("#import-errors")
    assert "行号" in table and "错误原因" in table
    assert page.locator("#import-errors tbody tr").count() == 3
    shot(page, live_city, "08-import-errors")

    with page.expect_download() as info:
        page.click("#error-sheet")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / "errors.xlsx"
    download.save_as(saved)
    sheet = load_workbook(saved).active
    header = [c.value for c in sheet[1]]
    assert header[-1] == "错误"
    assert sum(1 for row in sheet.iter_rows(min_row=2, values_only=True) if row[-1]) == 3

    page.set_input_files("input[name=file]", str(_xlsx(tmp_path / "good.xlsx", _rows(2))))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-success")
    assert page.inner_text("#import-success") == "导入成功：2 户，4 人。"
    shot(page, live_city, "09-import-ok")
    assert page.console_errors == []


def test_the_api_docs_render_from_the_package(page: Any, live_city: LiveCity) -> None:
    page.goto("/api/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    assert page.locator(".opblock").count() >= 8
    shot(page, live_city, "10-api-docs")
    assert page.console_errors == []
