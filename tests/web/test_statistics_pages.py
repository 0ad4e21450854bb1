"""The 统计数据 page: county and city staff enter and correct 农民人均纯收入, others read it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.web.conftest import logged_in

from minxin.assistance.statistics.models import RuralIncome
from minxin.auth.models import User

PAGE = "/statistics/rural-income"


def _rows(session: Session) -> int:
    return session.execute(select(func.count()).select_from(RuralIncome)).scalar_one()


def test_the_page_enters_a_figure_and_shows_who_entered_it(client: TestClient, session: Session,
                                                           county_officer: User):
    county_officer.display_name = "赵敏"
    session.flush()
    token = logged_in(client, county_officer)
    page = client.get(PAGE)
    assert page.status_code == 200 and 'id="income-form"' in page.text and "海州区" in page.text
    assert 'value="2012"' in page.text  # the year after the newest figure (2011)
    saved = client.post(PAGE, data={"csrf_token": token, "county": "320706", "year": "2012", "amount": "9,800"})
    assert saved.status_code == 303
    shown = client.get(saved.headers["location"])
    assert "已保存：海州区 2012 年农民人均纯收入 9,800.00 元" in shown.text and "赵敏" in shown.text


def test_the_page_shows_a_refusal_beside_the_form(client: TestClient, session: Session, county_officer: User):
    token = logged_in(client, county_officer)
    refused = client.post(PAGE, data={"csrf_token": token, "county": "320707", "year": "2012", "amount": "9000"})
    assert refused.status_code == 422 and 'id="form-error"' in refused.text and "辖区" in refused.text
    refused = client.post(PAGE, data={"csrf_token": token, "county": "320706", "year": "2012", "amount": "abc"})
    assert refused.status_code == 422 and 'id="form-error"' in refused.text
    assert _rows(session) == 0


def test_readers_see_the_figures_without_the_form(client: TestClient, town_officer: User):
    logged_in(client, town_officer)
    page = client.get(PAGE)
    assert page.status_code == 200 and "9,100.00" in page.text and 'id="income-form"' not in page.text
