"""Children's pages and JSON API: every route with each role, and with a county officer of another county
(赣榆 320707 against a child of 海州 320706): the same service rules answer both faces."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from io import BytesIO

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.children.helpers import csv_bytes
from tests.factories import child, orphan_case
from tests.web.conftest import logged_in

from minxin.auth.service import create_token
from minxin.children.models import ChildRecord
from minxin.core.period import Period
from minxin.programs.cycles import run_cycle
from minxin.programs.models import Case
from minxin.web import app as app_module

READERS = ("community_worker", "town_officer", "county_officer", "city_admin", "auditor")


@pytest.fixture
def client(session: Session) -> Iterator[TestClient]:
    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint",
                           expire_on_commit=False)
    with TestClient(app_module.create_app(factory), base_url="http://testserver", follow_redirects=False) as c:
        yield c


@pytest.fixture
def kid(session, county_officer):
    person = child(session, county_officer, birth=date(1996, 5, 10))
    case = orphan_case(session, person)
    session.add(ChildRecord(person_id=person.id, region_code=case.region_code, guardian_name="张大山",
                            guardian_relation="祖父母", guardian_phone="13800001234", created_by="t"))
    run_cycle(session, actor=county_officer, program="orphan", period=Period(2014, 5))
    session.flush()
    return case


@pytest.fixture
def users(community_worker, town_officer, county_officer, city_admin, auditor, call_agent, other_county_officer):
    return {"community_worker": community_worker, "town_officer": town_officer, "county_officer": county_officer,
            "city_admin": city_admin, "auditor": auditor, "call_agent": call_agent,
            "other_county_officer": other_county_officer}


@pytest.mark.parametrize("role", [*READERS, "call_agent", "other_county_officer"])
def test_the_children_list_child_page_and_export_follow_role_and_region(client, kid, users, role):
    logged_in(client, users[role])
    listing, page, sheet = client.get("/children"), client.get(f"/children/{kid.id}"), client.get("/children.xlsx")
    if role == "call_agent":
        assert (listing.status_code, page.status_code, sheet.status_code) == (403, 403, 403)
        return
    assert listing.status_code == 200 and sheet.status_code == 200
    rows = list(load_workbook(BytesIO(sheet.content)).active.iter_rows(values_only=True))
    if role == "other_county_officer":
        assert page.status_code == 404
        assert f'href="/children/{kid.id}"' not in listing.text and "children-empty" in listing.text
        assert len(rows) == 1  # the header only
        return
    assert page.status_code == 200
    assert f'href="/children/{kid.id}"' in listing.text
    assert "社会散居 标准 600（未满18周岁，至 2014-05） = 600" in page.text
    assert "祖父母" in page.text and "13800001234" not in page.text  # the guardian's phone is masked
    assert rows[1][6] == "社会散居" and rows[1][10] == "2014-05" and rows[1][5] == "海州区 新海街道 朝阳社区"


@pytest.mark.parametrize("role", [*READERS, "call_agent", "other_county_officer"])
def test_the_children_api_follows_role_and_region(client, session, kid, users, city_admin, role):
    headers = {"Authorization": f"Bearer {create_token(session, actor=city_admin, user=users[role])}"}
    listing = client.get("/api/v1/children", headers=headers)
    one = client.get(f"/api/v1/children/{kid.id}", headers=headers)
    if role == "call_agent":
        assert (listing.status_code, one.status_code) == (403, 403)
        return
    assert listing.status_code == 200
    if role == "other_county_officer":
        assert listing.json()["total"] == 0 and one.status_code == 404
        return
    assert [c["case_id"] for c in listing.json()["items"]] == [kid.id]
    body = one.json()
    assert body["paid_until"] == "2014-05" and body["placement"] == "社会散居"
    assert body["guardian"]["relation"] == "祖父母"
    assert body["payments"][0]["explanation"] == "社会散居 标准 600（未满18周岁，至 2014-05） = 600"


def test_the_api_refuses_without_a_token_and_answers_404_for_another_program_case(client, session, county_officer,
                                                                                  city_admin):
    from tests.factories import active_case, household
    dibao = active_case(session, household(session, county_officer))
    assert client.get("/api/v1/children").status_code == 401
    headers = {"Authorization": f"Bearer {create_token(session, actor=city_admin, user=county_officer)}"}
    assert client.get(f"/api/v1/children/{dibao.id}", headers=headers).status_code == 404
    assert client.get("/api/v1/children?placement=bad", headers=headers).status_code == 422


def _orphans(session) -> int:
    return session.execute(select(func.count()).select_from(Case).where(Case.program_code == "orphan")).scalar_one()


def _file(person, start="2012-07"):
    return csv_bytes([[person.name, person.id_number, "社会散居", "", start, "6222020000000000001", "李四", "其他亲属",
                       "", ""]])


@pytest.mark.parametrize("role", [*READERS, "call_agent", "other_county_officer"])
def test_the_import_page_is_for_county_officers_of_the_childs_county_and_the_city(client, session, users, role):
    person = child(session, users["county_officer"], birth=date(2004, 4, 4))
    csrf = logged_in(client, users[role])
    form = client.get("/children/import")
    res = client.post("/children/import", data={"csrf_token": csrf},
                      files={"file": ("c.csv", _file(person), "text/csv")})
    if role in ("county_officer", "city_admin"):
        assert form.status_code == 200 and res.status_code == 200, res.text
        assert "已导入 1 名儿童" in res.text and _orphans(session) == 1
    elif role == "other_county_officer":
        assert form.status_code == 200 and res.status_code == 422
        assert "已在其他辖区登记" in res.text and _orphans(session) == 0
    else:
        assert form.status_code == 403 and res.status_code == 403 and _orphans(session) == 0


def test_the_import_page_shows_the_error_table_and_an_error_sheet(client, session, county_officer):
    adult = child(session, county_officer, birth=date(1990, 1, 1))
    csrf = logged_in(client, county_officer)
    res = client.post("/children/import", data={"csrf_token": csrf},
                      files={"file": ("c.csv", _file(adult), "text/csv")})
    assert res.status_code == 422
    assert "已满 18 周岁" in res.text and 'id="error-sheet"' in res.text
    href = res.text.split('id="error-sheet" href="')[1].split('"')[0]
    sheet = client.get(href)
    assert sheet.status_code == 200
    assert "错误" in [c.value for c in load_workbook(BytesIO(sheet.content)).active[1]]
    assert _orphans(session) == 0
    assert client.post("/children/import", data={"csrf_token": csrf}).status_code == 422  # no file: a clear 422


def test_the_api_import_answers_row_errors_with_422_and_stores_nothing(client, session, county_officer, city_admin):
    adult = child(session, county_officer, birth=date(1990, 1, 1))
    headers = {"Authorization": f"Bearer {create_token(session, actor=city_admin, user=county_officer)}"}
    res = client.post("/api/v1/children/import", headers=headers, files={"file": ("c.csv", _file(adult), "text/csv")})
    assert res.status_code == 422
    assert res.json()["errors"][0]["row"] == 2 and _orphans(session) == 0
    ok = child(session, county_officer, birth=date(2008, 8, 8))
    res = client.post("/api/v1/children/import", headers=headers, files={"file": ("c.csv", _file(ok), "text/csv")})
    assert res.status_code == 200 and res.json()["children"] == 1 and _orphans(session) == 1
