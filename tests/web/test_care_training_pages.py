"""The P20 pages: centres, care workers, courses and their results, the counts and their export."""

from __future__ import annotations

import io
from datetime import timedelta

import openpyxl
from sqlalchemy import func, select
from tests.web.conftest import logged_in

from minxin.eldercare.training import service as svc
from minxin.eldercare.training.models import CareCentre, CareEnrolment, CareWorker
from minxin.infra.clock import today

XINHAI, XINHAI_COMMUNITY = "320706006", "320706006001"


def _count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_town_officer_registers_a_centre_and_a_worker(client, session, town_officer):
    token = logged_in(client, town_officer)
    page = client.get("/eldercare/centres")
    assert page.status_code == 200 and 'id="add-form"' in page.text
    added = client.post("/eldercare/centres", data={"name": "新海街道居家养老服务中心", "kind": "centre",
                                                   "region": XINHAI, "opened_on": "2012-06-01",
                                                   "csrf_token": token})
    assert added.status_code == 303
    listed = client.get("/eldercare/centres?saved=1").text
    assert "新海街道居家养老服务中心" in listed and "居家养老服务中心" in listed and 'id="saved"' in listed
    centre = session.execute(select(CareCentre)).scalar_one()
    made = client.post("/eldercare/workers", data={"name": "李护理", "phone": "13900000001", "region": XINHAI_COMMUNITY,
                                                  "centre_id": str(centre.id), "csrf_token": token})
    assert made.status_code == 303
    worker_page = client.get(made.headers["location"])
    assert worker_page.status_code == 200 and "李护理" in worker_page.text and "139****0001" in worker_page.text
    assert "13900000001" not in worker_page.text  # the phone is shown masked


def test_a_refused_form_is_shown_again_with_the_reason_and_nothing_stored(client, session, town_officer):
    token = logged_in(client, town_officer)
    refused = client.post("/eldercare/centres", data={"name": "朐阳示范点", "kind": "demo_point", "region": "320706001",
                                                     "opened_on": "2012-06-01", "csrf_token": token})
    assert refused.status_code == 404 and "不在您的辖区内" in refused.text and 'value="朐阳示范点"' in refused.text
    bad = client.post("/eldercare/workers", data={"name": "王\x00五", "phone": "139", "region": XINHAI_COMMUNITY,
                                                 "csrf_token": token})
    assert bad.status_code == 422 and 'id="form-error"' in bad.text
    huge = client.post("/eldercare/workers", data={"name": "王五", "phone": "13900000001", "region": XINHAI_COMMUNITY,
                                                  "centre_id": "9" * 12, "csrf_token": token})
    assert huge.status_code == 422
    assert _count(session, CareCentre) == 0 and _count(session, CareWorker) == 0


def test_readers_see_no_forms(client, community_worker):
    logged_in(client, community_worker)
    for path in ("/eldercare/centres", "/eldercare/workers", "/eldercare/training"):
        page = client.get(path)
        assert page.status_code == 200 and 'id="add-form"' not in page.text, path


def test_a_course_from_creation_to_certificate_on_the_pages(client, session, county_officer):
    token = logged_in(client, county_officer)
    worker = svc.add_worker(session, actor=county_officer, name="李护理", phone="13900000001",
                            region_code=XINHAI_COMMUNITY)
    start, end = today() - timedelta(days=30), today() - timedelta(days=2)
    created = client.post("/eldercare/training/courses", data={
        "name": "养老护理员初级班", "region": "320706", "level": "初级", "starts_on": start.isoformat(),
        "ends_on": end.isoformat(), "hours": "120", "organiser": "海州区民政局", "csrf_token": token})
    assert created.status_code == 303, created.text
    course_url = created.headers["location"]
    enrolled = client.post(course_url + "/enrol", data={"phone": "13900000001", "csrf_token": token})
    assert enrolled.status_code == 303
    unknown = client.post(course_url + "/enrol", data={"phone": "13900000099", "csrf_token": token})
    assert unknown.status_code == 404 and "没有电话为" in unknown.text
    row = session.execute(select(CareEnrolment)).scalar_one()
    page = client.get(course_url).text
    assert "李护理" in page and f'/eldercare/training/enrolments/{row.id}/result' in page
    passed = client.post(f"/eldercare/training/enrolments/{row.id}/result", data={
        "result": "passed", "score": "88", "certificate_no": "YL2026000001", "csrf_token": token})
    assert passed.status_code == 303
    session.refresh(row)
    assert (row.result, row.score, row.certificate_no) == ("passed", 88, "YL2026000001")
    assert "YL2026000001" in client.get(f"/eldercare/workers/{worker.id}").text
    counts = client.get(f"/eldercare/training?year={end.year}").text
    assert "养老护理员初级班" in counts
    export = client.get(f"/eldercare/training/export.xlsx?year={end.year}")
    assert export.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("县区", "乡镇（街道）", "已覆盖乡镇", "服务中心")
    haizhou = next(r for r in rows if r[0] == "海州区")
    assert haizhou[5:9] == (1, 1, 1, 1)  # workers, trained, passed, certified
    assert rows[-1][0] == "合计"


def test_results_are_not_offered_before_the_course_ends(client, session, county_officer):
    logged_in(client, county_officer)
    course = svc.add_course(session, actor=county_officer, name="在训班", region_code="320706", level="中级",
                            starts_on=today(), ends_on=today() + timedelta(days=9), hours=60)
    worker = svc.add_worker(session, actor=county_officer, name="李护理", phone="13900000001",
                            region_code=XINHAI_COMMUNITY)
    svc.enrol(session, actor=county_officer, course_id=course.id, worker_id=worker.id)
    page = client.get(f"/eldercare/training/courses/{course.id}").text
    assert 'id="results-waiting"' in page and "/result" not in page
