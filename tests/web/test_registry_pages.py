"""Registry pages: home, search, household, reveal, income declarations, export."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import GANYU_COMMUNITY
from tests.factories import household
from tests.web.conftest import logged_in, login

from minxin.auth.models import AuditEvent, User
from minxin.core.masking import mask_id, mask_name
from minxin.registry.models import Household, IncomeDeclaration


def test_home_shows_the_scoped_counts_table_and_chart(client: TestClient, county_officer: User,
                                                      session: Session) -> None:
    household(session, county_officer, members=3)
    household(session, county_officer, members=2, hukou="农村")
    login(client, county_officer)
    page = client.get("/")
    assert page.status_code == 200
    assert "登记人口" in page.text and "登记户数" in page.text and "社区（村）" in page.text
    assert "海州区" in page.text and "赣榆区" not in page.text  # scoped to Haizhou
    assert 'data-chart="' in page.text and "vendor/echarts.min.js" in page.text


def test_the_top_bar_lists_only_sections_the_role_may_use(client: TestClient, call_agent: User) -> None:
    login(client, call_agent)
    page = client.get("/").text
    assert 'href="/registry"' in page
    assert 'href="/import"' not in page
    assert "呼叫坐席" in page and "连云港市" in page


def test_search_masks_names_and_id_numbers(client: TestClient, county_officer: User, session: Session) -> None:
    h = household(session, county_officer)
    head = h.members[0]
    login(client, county_officer)
    page = client.get("/registry", params={"q": head.name})
    assert page.status_code == 200
    assert mask_id(head.id_number) in page.text
    assert mask_name(head.name) in page.text
    assert head.id_number not in page.text
    assert f">{head.name}<" not in page.text
    assert f'href="/households/{h.id}"' in page.text


def test_search_by_id_number_finds_the_person(client: TestClient, county_officer: User, session: Session) -> None:
    h = household(session, county_officer)
    other = household(session, county_officer)
    login(client, county_officer)
    page = client.get("/registry", params={"q": h.members[1].id_number}).text
    assert mask_id(h.members[1].id_number) in page
    assert f"/households/{other.id}" not in page


def test_search_is_scoped_to_the_users_county(client: TestClient, county_officer: User,
                                              other_county_officer: User, session: Session) -> None:
    h = household(session, county_officer)
    login(client, other_county_officer)
    page = client.get("/registry", params={"q": h.members[0].id_number}).text
    assert "没有找到符合条件的人员" in page


def test_the_region_filter_lists_the_users_towns_and_narrows_the_search(
    client: TestClient, county_officer: User, session: Session,
) -> None:
    h = household(session, county_officer)
    login(client, county_officer)
    page = client.get("/registry").text
    assert 'value="320706"' in page and 'value="320706006"' in page
    assert 'value="320707"' not in page
    other_town = client.get("/registry", params={"region": "320706001"}).text
    assert f"/households/{h.id}" not in other_town
    own_town = client.get("/registry", params={"region": "320706006"}).text
    assert f"/households/{h.id}" in own_town
    assert "区域代码格式不正确" in client.get("/registry", params={"region": "32%"}).text


def test_search_pages_with_links_that_keep_the_filter(client: TestClient, county_officer: User,
                                                     session: Session) -> None:
    for _ in range(9):
        household(session, county_officer, members=3)  # 27 persons > one page of 20
    login(client, county_officer)
    response = client.get("/registry", params={"region": "320706006"})
    assert response.status_code == 200
    page = response.text
    assert "第 1/2 页" in page
    assert "/registry?region=320706006&amp;page=2" in page
    second = client.get("/registry", params={"region": "320706006", "page": 2}).text
    assert "第 2/2 页" in second


def test_a_bad_page_number_gives_a_chinese_400_page(client: TestClient, county_officer: User) -> None:
    login(client, county_officer)
    response = client.get("/registry", params={"page": "abc"})
    assert response.status_code == 400
    assert "请求参数不正确" in response.text


def test_the_household_page_shows_facts_members_and_history(client: TestClient, county_officer: User,
                                                            session: Session) -> None:
    h = household(session, county_officer, members=3, income_yuan=1500)
    login(client, county_officer)
    page = client.get(f"/households/{h.id}")
    assert page.status_code == 200
    text = page.text
    assert h.household_no in text and "海州区 新海街道" in text and "城镇" in text
    assert "1,500.00" in text and "500.00" in text  # total and per capita of 3
    for member in h.members:
        assert member.name in text  # in scope: names in full
        assert mask_id(member.id_number) in text
        assert member.id_number not in text
    assert "显示" in text and "登记" in text  # reveal buttons, the registration declaration


def test_a_household_of_another_county_is_not_found_like_a_missing_one(
    client: TestClient, county_officer: User, other_county_officer: User, session: Session,
) -> None:
    h = household(session, county_officer)
    login(client, other_county_officer)
    foreign = client.get(f"/households/{h.id}")
    missing = client.get("/households/999999999")
    assert foreign.status_code == missing.status_code == 404
    assert "页面或记录不存在" in foreign.text
    assert h.household_no not in foreign.text
    def without_id(text: str) -> str:
        main = text[text.index("<main"):text.index("</main>")]
        return re.sub(r"户不存在：\d+", "", main)

    assert without_id(foreign.text) == without_id(missing.text)


def test_revealing_an_id_number_swaps_it_in_and_writes_an_audit_entry(
    client: TestClient, county_officer: User, session: Session,
) -> None:
    h = household(session, county_officer)
    person = h.members[0]
    token = logged_in(client, county_officer)
    response = client.post(f"/persons/{person.id}/reveal", headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert response.status_code == 200
    assert person.id_number in response.text and "<html" not in response.text
    entry = session.execute(
        select(AuditEvent).where(AuditEvent.action == "person.view_id", AuditEvent.entity_id == str(person.id))
    ).scalar_one()
    assert entry.actor == county_officer.username


@pytest.mark.parametrize("role", ["call_agent", "auditor"])
def test_roles_without_pii_view_may_not_reveal(client: TestClient, county_officer: User, session: Session,
                                              role: str, request: pytest.FixtureRequest) -> None:
    h = household(session, county_officer)
    user: User = request.getfixturevalue(role)
    token = logged_in(client, user)
    page = client.get(f"/households/{h.id}").text
    assert "显示完整身份证号" not in page  # no button
    response = client.post(f"/persons/{h.members[0].id}/reveal", headers={"X-CSRF-Token": token})
    assert response.status_code == 403
    assert "无此权限" in response.text
    assert h.members[0].id_number not in response.text


def test_reveal_of_another_countys_person_is_not_found(client: TestClient, county_officer: User,
                                                       other_county_officer: User, session: Session) -> None:
    h = household(session, county_officer)
    token = logged_in(client, other_county_officer)
    response = client.post(f"/persons/{h.members[0].id}/reveal", headers={"X-CSRF-Token": token})
    assert response.status_code == 404


def test_a_new_income_declaration_is_stored_and_shown(client: TestClient, county_officer: User,
                                                      session: Session) -> None:
    h = household(session, county_officer, income_yuan=300)
    token = logged_in(client, county_officer)
    response = client.post(f"/households/{h.id}/income", data={
        "csrf_token": token, "monthly_income": "1,234.50", "assets": "", "declared_on": "", "note": "年度复核"})
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "收入申报已保存" in page and "1,234.50" in page and "年度复核" in page and "人工申报" in page
    session.expire_all()
    assert session.get(Household, h.id).monthly_income_fen == 123450  # type: ignore[union-attr]


def test_a_bad_income_declaration_is_explained_and_nothing_is_stored(
    client: TestClient, county_officer: User, session: Session,
) -> None:
    h = household(session, county_officer)
    token = logged_in(client, county_officer)
    response = client.post(f"/households/{h.id}/income", data={"csrf_token": token, "monthly_income": "-5"})
    assert response.status_code == 422
    assert "金额不能为负数" in response.text and 'value="-5"' in response.text
    future = client.post(f"/households/{h.id}/income",
                         data={"csrf_token": token, "monthly_income": "5", "declared_on": "2999-01-01"})
    assert "申报日期不能晚于今天" in future.text
    count = session.execute(select(IncomeDeclaration).where(IncomeDeclaration.household_id == h.id)).all()
    assert len(count) == 1


def test_declaring_income_for_another_countys_household_is_not_found(
    client: TestClient, county_officer: User, other_county_officer: User, session: Session,
) -> None:
    h = household(session, county_officer)
    token = logged_in(client, other_county_officer)
    response = client.post(f"/households/{h.id}/income", data={"csrf_token": token, "monthly_income": "5"})
    assert response.status_code == 404


def test_the_export_is_a_masked_xlsx_of_the_users_scope(client: TestClient, county_officer: User,
                                                        city_admin: User, session: Session) -> None:
    mine = household(session, county_officer)
    theirs = household(session, city_admin, community=GANYU_COMMUNITY)
    login(client, county_officer)
    response = client.get("/registry/export.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    numbers = [r[2] for r in rows[1:]]
    assert mask_id(mine.members[0].id_number) in numbers
    assert mine.members[0].id_number not in numbers
    assert all(r[0] != theirs.household_no for r in rows[1:])
    assert session.execute(select(AuditEvent).where(AuditEvent.action == "registry.export")).first()


@pytest.mark.parametrize("role", ["call_agent", "auditor"])
def test_read_only_roles_may_not_declare_income(client: TestClient, county_officer: User, session: Session,
                                                role: str, request: pytest.FixtureRequest) -> None:
    h = household(session, county_officer)
    token = logged_in(client, request.getfixturevalue(role))
    assert 'id="declare-form"' not in client.get(f"/households/{h.id}").text
    response = client.post(f"/households/{h.id}/income", data={"csrf_token": token, "monthly_income": "5"})
    assert response.status_code == 403


def test_an_htmx_refusal_returns_a_small_alert_not_a_page(client: TestClient, county_officer: User,
                                                          call_agent: User, session: Session) -> None:
    h = household(session, county_officer)
    token = logged_in(client, call_agent)
    response = client.post(f"/persons/{h.members[0].id}/reveal",
                           headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert response.status_code == 403
    assert response.text.startswith('<div class="alert alert-error"') and "<html" not in response.text
