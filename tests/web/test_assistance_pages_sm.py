"""Charity-supermarket and low-income pages: forms, refusals, scope, CSRF, exports, the chart."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.factories import household
from tests.web.conftest import logged_in, login

from minxin.assistance.supermarkets import service
from minxin.assistance.supermarkets.models import CharityLedgerEntry, CharitySupermarket
from minxin.auth.models import User
from minxin.registry.service import declare_income
from minxin.web import app as app_module


@pytest.fixture
def app(session: Session):  # type: ignore[no-untyped-def]
    """The app over the test's transaction (the assistance domain serves these pages)."""
    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint",
                           expire_on_commit=False)
    return app_module.create_app(factory)


def _market(session: Session, user: User, name: str = "海州区第一慈善超市") -> CharitySupermarket:
    return service.add_supermarket(session, actor=user, name=name, county_code="320706", opened_on=date(2012, 3, 1))


def _entries(session: Session) -> int:
    return session.execute(select(func.count()).select_from(CharityLedgerEntry)).scalar_one()


# ---- list -------------------------------------------------------------------------------------------

def test_the_list_shows_the_county_against_the_target_and_adds_a_supermarket(client: TestClient,
                                                                             county_officer: User,
                                                                             session: Session) -> None:
    csrf = logged_in(client, county_officer)
    page = client.get("/supermarkets", params={"year": 2012})
    assert page.status_code == 200
    assert 'href="/supermarkets" class="active" aria-current="page">慈善超市</a>' in page.text
    assert 'data-county="320706"' in page.text and 'data-county="320707"' not in page.text
    assert "10–20 家" in page.text and "未达标" in page.text and "<meter" in page.text
    assert 'name="csrf_token"' in page.text and 'id="add-form"' in page.text
    r = client.post("/supermarkets", data={"name": "新海慈善超市", "county": "320706", "opened_on": "2012-05-01",
                                           "address": "新海路8号", "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"].startswith("/supermarkets?added=")
    page = client.get("/supermarkets", params={"year": 2012}).text
    assert "新海慈善超市" in page and "新海路8号" in page
    row = re.search(r'data-county="320706">(.*?)</tr>', page, re.S)
    assert row and '<td class="num">1</td>' in row.group(1)
    again = client.post("/supermarkets", data={"name": "新海慈善超市", "county": "320706", "opened_on": "2012-05-01",
                                               "csrf_token": csrf})
    assert again.status_code == 409 and "慈善超市名称已存在" in again.text and 'id="add-error"' in again.text


def test_a_post_without_the_csrf_token_is_refused(client: TestClient, county_officer: User, session: Session) -> None:
    logged_in(client, county_officer)
    r = client.post("/supermarkets", data={"name": "x", "county": "320706", "opened_on": "2012-05-01"})
    assert r.status_code == 403
    assert session.execute(select(func.count()).select_from(CharitySupermarket)).scalar_one() == 0


def test_the_menu_shows_supermarkets_only_to_roles_that_run_them(client: TestClient, community_worker: User) -> None:
    login(client, community_worker)
    page = client.get("/").text
    assert 'href="/supermarkets"' not in page
    assert 'href="/reports/low-income"' in page


# ---- one supermarket --------------------------------------------------------------------------------

def test_donate_distribute_and_reverse_through_the_forms(client: TestClient, county_officer: User,
                                                         session: Session) -> None:
    m = _market(session, county_officer)
    h = household(session, county_officer)
    csrf = logged_in(client, county_officer)
    base = f"/supermarkets/{m.id}"
    r = client.post(f"{base}/donations", data={"donor": "某公司", "money": "1000", "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == f"{base}?done=donation#ledger"
    r = client.post(f"{base}/donations", data={"donor": "张三", "item": "大米", "quantity": "10", "value": "500",
                                               "csrf_token": csrf})
    assert r.status_code == 303
    # Beyond the stock: refused next to the form, with nothing stored.
    before = _entries(session)
    r = client.post(f"{base}/distributions", data={"household_no": h.household_no, "item": "大米", "quantity": "11",
                                                   "money": "10", "csrf_token": csrf})
    assert r.status_code == 409
    assert "「大米」库存不足：现有 10，申请发放 11" in r.text and 'id="distribute-error"' in r.text
    assert f'value="{h.household_no}"' in r.text  # the form keeps what was typed
    assert _entries(session) == before
    r = client.post(f"{base}/distributions", data={"household_no": h.household_no, "item": "大米", "quantity": "4",
                                                   "money": "200", "csrf_token": csrf})
    assert r.status_code == 303
    page = client.get(base).text
    assert 'id="money-balance">800.00' in page and 'id="goods-value">300.00' in page
    assert "大米 -4" in page and "<td>大米</td><td class=\"num\">6</td>" in page
    assert h.household_no in page and "发放" in page
    money_out = session.execute(select(CharityLedgerEntry.id).where(CharityLedgerEntry.kind == "distribution",
                                                                    CharityLedgerEntry.item.is_(None))).scalar_one()
    assert f'href="{base}?reverse={money_out}#reverse-card"' in page
    prefilled = client.get(base, params={"reverse": money_out}).text
    assert f'name="entry_id" required min="1" step="1" value="{money_out}"' in prefilled
    r = client.post(f"{base}/reversals", data={"entry_id": str(money_out), "reason": "发错户", "csrf_token": csrf})
    assert r.status_code == 303
    page = client.get(base).text
    assert 'id="money-balance">1,000.00' in page and f"已被记录 {money_out + 1} 冲销" in page
    r = client.post(f"{base}/reversals", data={"entry_id": str(money_out), "reason": "再冲", "csrf_token": csrf})
    assert r.status_code == 409 and "不能重复冲销" in r.text
    r = client.post(f"{base}/reversals", data={"entry_id": "999999", "reason": "x", "csrf_token": csrf})
    assert r.status_code == 422 and "台账记录不存在" in r.text
    r = client.post(f"{base}/donations", data={"donor": "张三", "money": "5", "item": "大米", "quantity": "1",
                                               "value": "1", "csrf_token": csrf})
    assert r.status_code == 422 and "只能是捐款或捐物之一" in r.text
    r = client.post(f"{base}/distributions", data={"household_no": "NO-SUCH", "money": "1", "csrf_token": csrf})
    assert r.status_code == 422 and "户不存在" in r.text


def test_another_county_gets_404_and_an_auditor_reads_without_forms(client: TestClient, county_officer: User,
                                                                    other_county_officer: User, auditor: User,
                                                                    session: Session) -> None:
    m = _market(session, county_officer)
    csrf = logged_in(client, other_county_officer)
    assert client.get(f"/supermarkets/{m.id}").status_code == 404
    assert client.get(f"/supermarkets/{m.id}/ledger.xlsx").status_code == 404
    r = client.post(f"/supermarkets/{m.id}/donations", data={"donor": "x", "money": "1", "csrf_token": csrf})
    assert r.status_code == 404
    client.cookies.clear()
    csrf = logged_in(client, auditor)
    page = client.get(f"/supermarkets/{m.id}")
    assert page.status_code == 200 and m.name in page.text and 'id="donate-form"' not in page.text
    r = client.post(f"/supermarkets/{m.id}/donations", data={"donor": "x", "money": "1", "csrf_token": csrf})
    assert r.status_code == 403 and _entries(session) == 0
    assert client.post("/supermarkets", data={"name": "x", "county": "320706", "opened_on": "2012-05-01",
                                              "csrf_token": csrf}).status_code == 403


def test_the_ledger_exports_to_xlsx(client: TestClient, county_officer: User, session: Session) -> None:
    m = _market(session, county_officer)
    service.record_donation(session, actor=county_officer, supermarket_id=m.id, donor="张三", money_fen=12345)
    service.record_donation(session, actor=county_officer, supermarket_id=m.id, donor="李四", item="食用油",
                            quantity=2, value_fen=9000)
    logged_in(client, county_officer)
    r = client.get(f"/supermarkets/{m.id}/ledger.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("记录号", "日期", "类型")
    assert rows[1][2:8] == ("捐款", "张三", None, None, None, 123.45)
    assert rows[2][2:8] == ("捐物", "李四", None, "食用油", 2, 90)


# ---- low income -------------------------------------------------------------------------------------

def test_the_low_income_page_has_the_table_the_chart_and_the_export(client: TestClient, county_officer: User,
                                                                    session: Session) -> None:
    h = household(session, county_officer, members=2)
    declare_income(session, actor=county_officer, household_id=h.id, monthly_income_fen=80000,
                   declared_on=date(2011, 5, 1))
    declare_income(session, actor=county_officer, household_id=h.id, monthly_income_fen=100000,
                   declared_on=date(2012, 5, 1))
    logged_in(client, county_officer)
    params = {"base_year": "2011", "year": "2012"}
    page = client.get("/reports/low-income", params=params)
    assert page.status_code == 200, page.text[-3000:]
    row = re.search(r'data-county="320706">(.*?)</tr>', page.text, re.S)
    assert row and "400.00" in row.group(1) and "500.00" in row.group(1) and "25.0%" in row.group(1)
    assert "data-income-chart=" in page.text and "vendor/echarts.min.js" in page.text
    assert '<script src="/reports/low-income/chart.js"></script>' in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)  # no inline script anywhere
    js = client.get("/reports/low-income/chart.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"] and "echarts.init" in js.text
    xlsx = client.get("/reports/low-income.xlsx", params=params)
    assert xlsx.status_code == 200
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "县区代码" and rows[1][:4] == ("320706", "海州区", 1, 2)
    bad = client.get("/reports/low-income", params={"base_year": "2012", "year": "2011"})
    assert bad.status_code == 422 and "不能早于基准年" in bad.text
    assert client.get("/reports/low-income", params={"line": "abc"}).status_code == 422


def test_the_pages_are_behind_login(client: TestClient) -> None:
    for path in ("/supermarkets", "/reports/low-income", "/reports/low-income/chart.js"):
        assert client.get(path).status_code == 303
