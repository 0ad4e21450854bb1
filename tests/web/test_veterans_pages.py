"""优抚 pages and API: every route with each role, and with a county officer of another county."""

from __future__ import annotations

import io
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import new_id
from tests.web.conftest import logged_in

from minxin.auth.models import User
from minxin.auth.service import create_token
from minxin.programs.service import set_standard
from minxin.veterans.importer import import_veterans
from minxin.veterans.models import RetiredSoldier, VeteranRecipient, VeteranService

HEAD = "姓名,身份证号,社区代码,优抚类别,子类,开始月份,账号,服役年限"


@pytest.fixture
def recipient(session: Session, county_officer: User) -> VeteranRecipient:
    n = new_id(date(1950, 2, 1))
    res = import_veterans(session, actor=county_officer, filename="w.csv", data=(
        f"{HEAD}\n张伤残,{n},320706006001,残疾军人,二级/因战,2013-01,622200000000000071,\n").encode())
    assert res.ok
    r = session.execute(select(VeteranRecipient)).scalars().all()[-1]
    person_id = r.person_id
    session.add(RetiredSoldier(person_id=person_id, region_code=r.region_code, discharged_on=date(2012, 12, 1),
                               priority=True, priority_reason="烈士子女"))
    session.flush()
    return r


READ_PAGES = ["/veterans", "/veterans.xlsx", "/veterans/ontime?period=2013-01", "/veterans/ontime.xlsx?period=2013-01",
              "/veterans/services?year=2013", "/veterans/services.xlsx?year=2013", "/veterans/resettlement",
              "/veterans/resettlement.xlsx"]


@pytest.mark.parametrize("role", ["community_worker", "town_officer", "county_officer", "city_admin"])
def test_staff_of_the_recipients_region_read_every_page(request, client: TestClient, recipient, role):
    user = request.getfixturevalue(role)
    logged_in(client, user)
    for path in READ_PAGES:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    page = client.get("/veterans").text
    assert f'data-recipient="{recipient.id}"' in page and "张*" in page
    detail = client.get(f"/veterans/{recipient.id}")
    assert detail.status_code == 200 and "残疾军人/二级/因战" in detail.text
    assert "烈士子女" in client.get("/veterans/resettlement").text


@pytest.mark.parametrize("role", ["call_agent", "auditor"])
def test_roles_without_the_veterans_permission_are_refused(request, client: TestClient, recipient, role):
    logged_in(client, request.getfixturevalue(role))
    for path in [*READ_PAGES, f"/veterans/{recipient.id}", "/veterans/import"]:
        assert client.get(path).status_code == 403, path


def test_a_county_officer_of_another_county_sees_nothing_of_it(client: TestClient, recipient, other_county_officer):
    csrf = logged_in(client, other_county_officer)
    assert f'data-recipient="{recipient.id}"' not in client.get("/veterans").text
    assert client.get(f"/veterans/{recipient.id}").status_code == 404
    for action, data in (("status", {"kind": "deceased", "on": "2013-05-01"}),
                         ("services", {"kind": "checkup", "on": "2013-05-01", "hospital": "优抚医院"}),
                         ("documents", {"certificate_no": "X1"}), ("medical", {"insurance": "未参保"})):
        assert client.post(f"/veterans/{recipient.id}/{action}", data={**data, "csrf_token": csrf}).status_code == 404
    assert "320706" not in [c for c in client.get("/veterans/ontime?period=2013-01").text.split('data-county="')[1:]
                            if c.startswith("320706")]
    assert 'data-soldier' not in client.get("/veterans/resettlement").text


def test_the_county_officer_records_events_and_a_refusal_stores_nothing(session, client: TestClient, recipient,
                                                                         county_officer):
    csrf = logged_in(client, county_officer)
    r = client.post(f"/veterans/{recipient.id}/services",
                    data={"kind": "checkup", "on": "2013-05-02", "hospital": "连云港优抚医院", "csrf_token": csrf})
    assert r.status_code == 303
    bad = client.post(f"/veterans/{recipient.id}/services",
                      data={"kind": "convalescence", "on": "2013-05-02", "hospital": "", "csrf_token": csrf})
    assert bad.status_code == 422 and "医院" in bad.text
    bad = client.post(f"/veterans/{recipient.id}/services",
                      data={"kind": "convalescence", "on": "not-a-date", "hospital": "x", "days": "x",
                            "csrf_token": csrf})
    assert bad.status_code == 422
    assert len(session.execute(select(VeteranService)).scalars().all()) == 1
    docs = {"certificate_no": "苏残0001", "issued": "2010-01-05", "csrf_token": csrf}
    assert client.post(f"/veterans/{recipient.id}/documents", data=docs).status_code == 303
    assert client.post(f"/veterans/{recipient.id}/medical", data={"insurance": "新型农村合作医疗", "subsidy": "true",
                                                                   "csrf_token": csrf}).status_code == 303
    page = client.get(f"/veterans/{recipient.id}").text
    assert "苏残0001" in page and "新型农村合作医疗" in page and "连云港优抚医院" in page
    assert "1 / ≥1500" in client.get("/veterans/services?year=2013").text
    no_cause = client.post(f"/veterans/{recipient.id}/status", data={"kind": "deceased", "on": "2013-06-01",
                                                                      "csrf_token": csrf})
    assert no_cause.status_code == 422 and "死亡原因" in no_cause.text  # a 残疾军人: from illness or not
    assert client.post(f"/veterans/{recipient.id}/status", data={"kind": "deceased", "on": "2013-06-01",
                                                                  "cause": "illness", "csrf_token": csrf}
                       ).status_code == 303
    assert 'id="death-benefit"' in client.get(f"/veterans/{recipient.id}").text
    again = client.post(f"/veterans/{recipient.id}/status", data={"kind": "moved_out", "on": "2013-07-01",
                                                                   "csrf_token": csrf})
    assert again.status_code == 409


def test_a_town_officer_may_not_record_status_changes(client: TestClient, recipient, town_officer):
    csrf = logged_in(client, town_officer)
    assert client.post(f"/veterans/{recipient.id}/status", data={"kind": "deceased", "on": "2013-06-01",
                                                                  "csrf_token": csrf}).status_code == 403
    assert client.get("/veterans/import").status_code == 403


def test_the_import_page_lists_errors_with_an_error_sheet_and_stores_nothing(session, client: TestClient,
                                                                            county_officer):
    csrf = logged_in(client, county_officer)
    assert client.get("/veterans/import").status_code == 200
    bad = f"{HEAD}\n甲,{new_id(date(1950, 1, 1))},320706006001,残疾军人,十二级/因战,2013-01,622200000000000081,\n"
    r = client.post("/veterans/import", data={"csrf_token": csrf},
                    files={"file": ("bad.csv", io.BytesIO(bad.encode()), "text/csv")})
    assert r.status_code == 422 and 'id="import-errors"' in r.text and "一级至十级" in r.text
    sheet = r.text.split('id="error-sheet" href="')[1].split('"')[0]
    assert client.get(sheet).status_code == 200
    good = f"{HEAD}\n乙,{new_id(date(1950, 1, 1))},320706006001,烈士遗属,,2013-01,622200000000000082,\n"
    r = client.post("/veterans/import", data={"csrf_token": csrf},
                    files={"file": ("ok.csv", io.BytesIO(good.encode()), "text/csv")})
    assert r.status_code == 200 and 'id="import-success"' in r.text
    empty = client.post("/veterans/import", data={"csrf_token": csrf})
    assert empty.status_code == 422


def test_hostile_query_values_are_refused_politely(client: TestClient, county_officer):
    logged_in(client, county_officer)
    assert client.get("/veterans/ontime?period=2013-13").status_code == 422
    assert client.get("/veterans/services?year=abcd").status_code == 422
    assert client.get("/veterans/999999999").status_code == 404
    assert client.get("/veterans?page=0").status_code == 400  # the pages answer a bad query parameter with 400


# ---- API --------------------------------------------------------------------------------------------------

def _bearer(session, admin, user) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(session, actor=admin, user=user)}"}


def test_the_api_answers_as_the_pages_do(session, client: TestClient, recipient, city_admin, county_officer,
                                         other_county_officer, call_agent):
    set_standard(session, actor=city_admin, program="youfu", region_code="320700", amount_fen=4_300_000,
                 effective=date(2012, 12, 1), category="残疾军人/二级/因战")
    mine, other = _bearer(session, city_admin, county_officer), _bearer(session, city_admin, other_county_officer)
    page = client.get("/api/v1/veterans/recipients", headers=mine).json()
    assert [i["id"] for i in page["items"]] == [recipient.id]
    assert client.get("/api/v1/veterans/recipients", headers=other).json()["total"] == 0
    assert client.get(f"/api/v1/veterans/recipients/{recipient.id}", headers=other).status_code == 404
    assert client.get(f"/api/v1/veterans/recipients/{recipient.id}", headers=mine).json()["category_code"] == \
        "残疾军人/二级/因战"
    assert client.get("/api/v1/veterans/recipients", headers=_bearer(session, city_admin, call_agent)
                      ).status_code == 403
    made = client.post(f"/api/v1/veterans/recipients/{recipient.id}/services", headers=mine,
                       json={"kind": "convalescence", "on": "2013-04-01", "hospital": "疗养院", "days": 10})
    assert made.status_code == 201 and made.json()["days"] == 10
    assert client.post(f"/api/v1/veterans/recipients/{recipient.id}/services", headers=other,
                       json={"kind": "checkup", "on": "2013-04-01", "hospital": "x"}).status_code == 404
    assert client.get("/api/v1/veterans/services/2013", headers=mine).json()["total"]["convalescence"] == 1
    ontime = client.get("/api/v1/veterans/ontime/2013-01", headers=mine).json()
    assert ontime["total"]["due"] == 1 and ontime["total"]["by_reason"] == {"no_cycle": 1}
    assert ontime["exceptions"][0]["due_fen"] == 4_300_000 // 12
    assert client.get("/api/v1/veterans/ontime/2013-99", headers=mine).status_code == 422
    assert client.get("/api/v1/veterans/soldiers", headers=mine).json()["items"][0]["priority"] is True
    assert client.get("/api/v1/veterans/soldiers", headers=other).json()["total"] == 0
    no_cause = client.post(f"/api/v1/veterans/recipients/{recipient.id}/events", headers=mine,
                           json={"kind": "deceased", "on": "2013-02-10"})
    assert no_cause.status_code == 422 and "死亡原因" in no_cause.text  # a 残疾军人's death names its cause
    dead = client.post(f"/api/v1/veterans/recipients/{recipient.id}/events", headers=mine,
                       json={"kind": "deceased", "on": "2013-02-10", "cause": "illness"})
    assert dead.status_code == 200 and dead.json()["status"] == "deceased"
    benefit = dead.json()["death_benefit"]
    assert (benefit["months"], benefit["rule"], benefit["paid_in"]) == (12, "youfu_d28", None)
    assert client.post(f"/api/v1/veterans/recipients/{recipient.id}/events", headers=mine,
                       json={"kind": "resurrected", "on": "2013-02-10"}).status_code in (409, 422)


# ---- P24 resettlement pages ---------------------------------------------------------------------------------

def test_the_town_officer_registers_a_soldier_enrols_records_the_result_and_the_placement(
        session, client: TestClient, county_officer, town_officer):
    from tests.factories import household

    from minxin.auth.models import AuditEvent
    from minxin.veterans.models import TrainingCourse, TrainingEnrolment

    person = household(session, county_officer, members=1).members[0]
    county_course = TrainingCourse(name="电工培训班", region_code="320706", starts_on=date(2013, 3, 1),
                                   ends_on=date(2013, 5, 31))
    session.add(county_course)
    session.flush()
    csrf = logged_in(client, town_officer)
    # Refusals show the form with the reason and store nothing.
    bad = client.post("/veterans/soldiers", data={"id_number": "12345", "discharged_on": "2012-12-01",
                                                  "csrf_token": csrf})
    assert bad.status_code == 422 and 'id="form-error"' in bad.text
    bad = client.post("/veterans/soldiers", data={"id_number": person.id_number, "discharged_on": "2012-12-01",
                                                  "priority": "true", "csrf_token": csrf})
    assert bad.status_code == 422 and "优先安置须注明原因" in bad.text
    assert session.execute(select(RetiredSoldier)).first() is None
    made = client.post("/veterans/soldiers", data={"id_number": person.id_number, "discharged_on": "2012-12-01",
                                                   "priority": "true", "priority_reason": "因战致残",
                                                   "csrf_token": csrf})
    assert made.status_code == 303
    soldier = session.execute(select(RetiredSoldier)).scalar_one()
    assert made.headers["location"] == f"/veterans/soldiers/{soldier.id}?saved=1"
    page = client.get(f"/veterans/soldiers/{soldier.id}").text
    assert "因战致残" in page and "2013-12-01" in page  # free until a year after discharge
    assert f'value="{county_course.id}"' in page  # the county's course is open to the town's soldier
    assert client.post(f"/veterans/soldiers/{soldier.id}/enrolments",
                       data={"course_id": str(county_course.id), "csrf_token": csrf}).status_code == 303
    again = client.post(f"/veterans/soldiers/{soldier.id}/enrolments",
                        data={"course_id": str(county_course.id), "csrf_token": csrf})
    assert again.status_code == 409
    enrolment = session.execute(select(TrainingEnrolment)).scalar_one()
    assert "免费（退役一年内开训）" in client.get(f"/veterans/soldiers/{soldier.id}").text
    bad = client.post(f"/veterans/soldiers/{soldier.id}/results", data={
        "enrolment_id": str(enrolment.id), "result": "failed", "certificate_no": "X1", "csrf_token": csrf})
    assert bad.status_code == 422 and enrolment.result == "enrolled"
    assert client.post(f"/veterans/soldiers/{soldier.id}/results", data={
        "enrolment_id": str(enrolment.id), "result": "passed", "certificate_no": "电工证001",
        "csrf_token": csrf}).status_code == 303
    bad = client.post(f"/veterans/soldiers/{soldier.id}/placement",
                      data={"status": "placed", "on": "2012-01-01", "csrf_token": csrf})
    assert bad.status_code == 422 and "早于退役日期" in bad.text
    assert client.post(f"/veterans/soldiers/{soldier.id}/placement",
                       data={"status": "placed", "on": "2013-07-01", "note": "县供电公司", "csrf_token": csrf}
                       ).status_code == 303
    page = client.get(f"/veterans/soldiers/{soldier.id}").text
    assert "结业合格" in page and "电工证001" in page and "已安置" in page and "县供电公司" in page
    actions = {a for (a,) in session.execute(select(AuditEvent.action).where(AuditEvent.action.like("veteran.%")))}
    assert {"veteran.soldier_add", "veteran.enrol", "veteran.training_result", "veteran.placement"} <= actions
    # The list: placed soldiers after those waiting, filtered by status, exported with the filter.
    assert client.get("/veterans/resettlement?status=placed").text.count("data-soldier=") == 1
    assert "data-soldier=" not in client.get("/veterans/resettlement?status=waiting").text
    assert client.get("/veterans/resettlement?status=hired").status_code == 422
    xlsx = client.get("/veterans/resettlement.xlsx?status=placed")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_courses_are_added_in_scope_listed_paged_and_exported(session, client: TestClient, county_officer,
                                                              other_county_officer, community_worker):
    csrf = logged_in(client, county_officer)
    form = {"name": "厨师培训", "region_code": "320706", "starts_on": "2013-03-01", "ends_on": "2013-04-30",
            "provider": "海州职校", "csrf_token": csrf}
    assert client.post("/veterans/courses", data=form).status_code == 303
    bad = client.post("/veterans/courses", data={**form, "ends_on": "2013-01-01"})
    assert bad.status_code == 422 and "结束日期不能早于开始日期" in bad.text
    outside = client.post("/veterans/courses", data={**form, "region_code": "320707"})
    assert outside.status_code == 422 and "不在您的辖区内" in outside.text
    control = client.post("/veterans/courses", data={**form, "name": "厨师\x07培训"})
    assert control.status_code == 422
    page = client.get("/veterans/courses").text
    assert page.count("data-course=") == 1 and "海州职校" in page
    assert client.get("/veterans/courses.xlsx").content[:2] == b"PK"
    assert client.get("/veterans/courses?page=0").status_code == 400
    client.cookies.clear()
    logged_in(client, other_county_officer)
    assert "data-course=" not in client.get("/veterans/courses").text
    client.cookies.clear()
    csrf = logged_in(client, community_worker)
    assert client.get("/veterans/courses").status_code == 200
    assert client.post("/veterans/courses", data={**form, "csrf_token": csrf}).status_code == 403
