"""Home-care service centres and care-worker training (P20): rules, scope, audit and the county counts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from minxin.auth.models import AuditEvent
from minxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from minxin.eldercare.training import service as svc
from minxin.eldercare.training.models import CareEnrolment, CareWorker
from minxin.infra.clock import today

HAIZHOU, XINHAI, XINHAI_COMMUNITY = "320706", "320706006", "320706006001"
OTHER_HAIZHOU_TOWN = "320706001"
GANYU, GANYU_TOWN = "320707", "320707100"


def _audits(session, action: str) -> int:
    return session.execute(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)).scalar_one()


def _past_course(session, actor, *, region=HAIZHOU, level="初级", name="养老护理员初级班"):
    start = today() - timedelta(days=40)
    return svc.add_course(session, actor=actor, name=name, region_code=region, level=level, starts_on=start,
                          ends_on=start + timedelta(days=20), hours=120)


def _worker(session, actor, phone="13900000001", region=XINHAI_COMMUNITY, name="李护理"):
    return svc.add_worker(session, actor=actor, name=name, phone=phone, region_code=region)


def test_centres_belong_to_a_town_in_scope_and_are_audited(session, county_officer, town_officer):
    centre = svc.add_centre(session, actor=town_officer, name="新海街道居家养老服务中心", kind="centre",
                            region_code=XINHAI, opened_on=date(2012, 6, 1), phone="0518-85800000")
    assert centre.status == "in_use" and _audits(session, "care_centre.add") == 1
    with pytest.raises(Conflict, match="同名"):
        svc.add_centre(session, actor=county_officer, name="新海街道居家养老服务中心", kind="centre",
                       region_code=XINHAI, opened_on=date(2012, 6, 1))
    with pytest.raises(NotFound):  # another town of the county: outside the town officer's scope
        svc.add_centre(session, actor=town_officer, name="朐阳示范点", kind="demo_point",
                       region_code=OTHER_HAIZHOU_TOWN, opened_on=date(2012, 6, 1))
    with pytest.raises(ValidationError, match="乡镇"):  # a county is no place for a centre
        svc.add_centre(session, actor=county_officer, name="海州中心", kind="centre", region_code=HAIZHOU,
                       opened_on=date(2012, 6, 1))
    with pytest.raises(ValidationError, match="开业日期"):
        svc.add_centre(session, actor=county_officer, name="无日期", kind="centre", region_code=XINHAI)
    with pytest.raises(ValidationError, match="晚于今天"):
        svc.add_centre(session, actor=county_officer, name="将来", kind="centre", region_code=XINHAI,
                       opened_on=today() + timedelta(days=3))
    with pytest.raises(ValidationError, match="类型"):
        svc.add_centre(session, actor=county_officer, name="x", kind="hotel", region_code=XINHAI,
                       opened_on=date(2012, 6, 1))
    with pytest.raises(ValidationError, match="控制字符"):
        svc.add_centre(session, actor=county_officer, name="中心\x07", kind="centre", region_code=XINHAI,
                       opened_on=date(2012, 6, 1))
    assert _audits(session, "care_centre.add") == 1


def test_only_care_managers_write(session, community_worker, call_agent, auditor, county_officer):
    for user in (community_worker, call_agent, auditor):
        with pytest.raises(Forbidden):
            svc.add_centre(session, actor=user, name="x", kind="centre", region_code=XINHAI_COMMUNITY,
                           opened_on=date(2012, 6, 1))
        with pytest.raises(Forbidden):
            svc.add_worker(session, actor=user, name="王", phone="13900000009", region_code=XINHAI_COMMUNITY)


def test_centre_status_changes_are_audited_and_scoped(session, county_officer, other_county_officer):
    centre = svc.add_centre(session, actor=county_officer, name="新海示范点", kind="demo_point", region_code=XINHAI,
                            status="building")
    with pytest.raises(NotFound):
        svc.set_centre_status(session, actor=other_county_officer, centre_id=centre.id, status="in_use")
    svc.set_centre_status(session, actor=county_officer, centre_id=centre.id, status="in_use",
                          opened_on=date(2013, 1, 2))
    assert centre.status == "in_use" and centre.opened_on == date(2013, 1, 2)
    with pytest.raises(Conflict):
        svc.set_centre_status(session, actor=county_officer, centre_id=centre.id, status="in_use")
    assert _audits(session, "care_centre.status") == 1
    with pytest.raises(NotFound):
        svc.get_centre_for(session, county_officer, 2**63)


def test_workers_are_one_per_phone_and_the_centre_is_of_their_town(session, county_officer, other_county_officer):
    centre = svc.add_centre(session, actor=county_officer, name="新海中心", kind="centre", region_code=XINHAI,
                            opened_on=date(2012, 6, 1))
    w = svc.add_worker(session, actor=county_officer, name="李护理", phone=" 13900000001 ",
                       region_code=XINHAI_COMMUNITY, centre_id=centre.id)
    assert w.phone == "13900000001" and w.centre_id == centre.id
    with pytest.raises(Conflict, match="已登记"):
        _worker(session, county_officer)
    with pytest.raises(ValidationError, match="电话"):
        _worker(session, county_officer, phone="12345")
    with pytest.raises(ValidationError, match="服务中心"):
        svc.add_worker(session, actor=county_officer, name="赵", phone="13900000002", region_code=OTHER_HAIZHOU_TOWN,
                       centre_id=centre.id)
    with pytest.raises(NotFound):
        _worker(session, other_county_officer, phone="13900000003")  # 新海 is not Ganyu's
    page = svc.list_workers(session, user=other_county_officer)
    assert page.total == 0
    assert [row[0].id for row in svc.list_workers(session, user=county_officer, q="13900000001").items] == [w.id]
    assert [row[0].id for row in svc.list_workers(session, user=county_officer, q="李护理").items] == [w.id]
    with pytest.raises(ValidationError):
        svc.list_workers(session, user=county_officer, q="x" * 41)
    with pytest.raises(NotFound):
        svc.get_worker_for(session, other_county_officer, w.id)


def test_training_from_enrolment_to_certificate(session, county_officer, city_admin):
    worker = _worker(session, county_officer)
    course = _past_course(session, county_officer)
    row = svc.enrol(session, actor=county_officer, course_id=course.id, worker_id=worker.id)
    assert row.result == "enrolled"
    with pytest.raises(Conflict, match="已报名"):
        svc.enrol(session, actor=county_officer, course_id=course.id, worker_id=worker.id)
    with pytest.raises(ValidationError, match="证书编号"):
        svc.record_result(session, actor=county_officer, enrolment_id=row.id, result="passed", score=80)
    with pytest.raises(ValidationError, match="60"):
        svc.record_result(session, actor=county_officer, enrolment_id=row.id, result="passed", score=59,
                          certificate_no="YL2012000001")
    with pytest.raises(ValidationError, match="应为合格"):
        svc.record_result(session, actor=county_officer, enrolment_id=row.id, result="failed", score=75)
    svc.record_result(session, actor=county_officer, enrolment_id=row.id, result="passed", score=86,
                      certificate_no="YL2012000001")
    assert (row.result, row.score, row.certificate_no, row.certified_on) == ("passed", 86, "YL2012000001", today())
    # the same certificate number for somebody else is refused, nothing stored
    other = _worker(session, county_officer, phone="13900000002", name="周护理")
    row2 = svc.enrol(session, actor=county_officer, course_id=course.id, worker_id=other.id)
    with pytest.raises(Conflict, match="已被使用"):
        svc.record_result(session, actor=county_officer, enrolment_id=row2.id, result="passed", score=90,
                          certificate_no="YL2012000001")
    session.refresh(row2)
    assert row2.result == "enrolled" and row2.certificate_no is None
    assert _audits(session, "care_course.result") == 1 and _audits(session, "care_course.enrol") == 2


def test_results_wait_for_the_end_of_the_course(session, county_officer):
    worker = _worker(session, county_officer)
    running = svc.add_course(session, actor=county_officer, name="在训班", region_code=HAIZHOU, level="中级",
                             starts_on=today() - timedelta(days=2), ends_on=today() + timedelta(days=10), hours=60)
    row = svc.enrol(session, actor=county_officer, course_id=running.id, worker_id=worker.id)
    with pytest.raises(Conflict, match="结束后"):
        svc.record_result(session, actor=county_officer, enrolment_id=row.id, result="passed", score=90,
                          certificate_no="YL2012000009")
    svc.record_result(session, actor=county_officer, enrolment_id=row.id, result="withdrawn")
    assert row.result == "withdrawn"


def test_courses_are_of_a_county_or_the_city_and_open_to_their_workers(session, county_officer, city_admin,
                                                                        other_county_officer, town_officer):
    with pytest.raises(ValidationError, match="县区"):
        svc.add_course(session, actor=county_officer, name="x", region_code=XINHAI, level="初级",
                       starts_on=today(), ends_on=today(), hours=8)
    with pytest.raises(ValidationError, match="学时"):
        svc.add_course(session, actor=county_officer, name="x", region_code=HAIZHOU, level="初级",
                       starts_on=today(), ends_on=today(), hours=0)
    with pytest.raises(ValidationError, match="等级"):
        svc.add_course(session, actor=county_officer, name="x", region_code=HAIZHOU, level="博士",
                       starts_on=today(), ends_on=today(), hours=8)
    with pytest.raises(ValidationError, match="早于"):
        svc.add_course(session, actor=county_officer, name="x", region_code=HAIZHOU, level="初级",
                       starts_on=today(), ends_on=today() - timedelta(days=1), hours=8)
    with pytest.raises(NotFound):  # the city is above a county officer's scope
        svc.add_course(session, actor=county_officer, name="x", region_code="320700", level="初级",
                       starts_on=today(), ends_on=today(), hours=8)
    city = svc.add_course(session, actor=city_admin, name="市级高级班", region_code="320700", level="高级",
                          starts_on=today(), ends_on=today() + timedelta(days=5), hours=200)
    haizhou = svc.add_course(session, actor=county_officer, name="海州初级班", region_code=HAIZHOU, level="初级",
                             starts_on=today(), ends_on=today() + timedelta(days=5), hours=100)
    seen = {c.id for c, _, _ in svc.list_courses(session, user=town_officer).items}
    assert seen == {city.id, haizhou.id}  # a town sees its county's and the city's courses
    assert {c.id for c, _, _ in svc.list_courses(session, user=other_county_officer).items} == {city.id}
    with pytest.raises(NotFound):
        svc.get_course_for(session, other_county_officer, haizhou.id)
    ganyu_worker = _worker(session, other_county_officer, phone="13900000005", region=GANYU_TOWN)
    svc.enrol(session, actor=other_county_officer, course_id=city.id, worker_id=ganyu_worker.id)
    with pytest.raises(NotFound):
        svc.enrol(session, actor=other_county_officer, course_id=haizhou.id, worker_id=ganyu_worker.id)
    with pytest.raises(ValidationError, match="本县区"):
        svc.enrol(session, actor=city_admin, course_id=haizhou.id, worker_id=ganyu_worker.id)
    # a county officer sees on the city course only their own county's trainees
    svc.enrol(session, actor=county_officer, course_id=city.id, worker_id=_worker(session, county_officer).id)
    assert svc.course_roster(session, user=county_officer, course=city).total == 1
    assert svc.course_roster(session, user=city_admin, course=city).total == 2


def test_counts_per_county(session, county_officer, other_county_officer, city_admin):
    svc.add_centre(session, actor=county_officer, name="新海中心", kind="centre", region_code=XINHAI,
                   opened_on=date(2012, 6, 1))
    svc.add_centre(session, actor=county_officer, name="新海某社区示范点", kind="demo_point",
                   region_code=XINHAI_COMMUNITY, opened_on=date(2012, 6, 1))
    svc.add_centre(session, actor=county_officer, name="朐阳筹建点", kind="demo_point", region_code=OTHER_HAIZHOU_TOWN,
                   status="building")
    svc.add_centre(session, actor=other_county_officer, name="赣榆中心", kind="centre", region_code=GANYU_TOWN,
                   opened_on=date(2012, 6, 1))
    a, b = _worker(session, county_officer), _worker(session, county_officer, phone="13900000002", name="周护理")
    g = _worker(session, other_county_officer, phone="13900000003", region=GANYU_TOWN)
    course = _past_course(session, city_admin, region="320700")
    rows = {w.id: svc.enrol(session, actor=city_admin, course_id=course.id, worker_id=w.id) for w in (a, b, g)}
    course.starts_on, course.ends_on = date(2012, 3, 1), date(2012, 3, 20)  # held in 2012
    svc.record_result(session, actor=city_admin, enrolment_id=rows[a.id].id, result="passed", score=70,
                      certificate_no="YL2012000100", certified_on=date(2012, 4, 1))
    svc.record_result(session, actor=city_admin, enrolment_id=rows[b.id].id, result="failed", score=40)
    svc.record_result(session, actor=city_admin, enrolment_id=rows[g.id].id, result="withdrawn")
    counts = svc.training_counts(session, user=city_admin, year=2012)
    by = {c["county_code"]: c for c in counts["counties"]}
    hz, gy = by[HAIZHOU], by[GANYU]
    assert (hz["centres"], hz["demo_points"], hz["towns_covered"]) == (1, 1, 1)  # the building point is not counted
    assert (hz["workers"], hz["trained"], hz["passed"], hz["certified_workers"]) == (2, 2, 1, 1)
    assert (gy["centres"], gy["workers"], gy["trained"], gy["passed"]) == (1, 1, 0, 0)  # withdrawn is not trained
    assert hz["towns"] >= 2 and counts["total"]["workers"] == 3
    assert svc.training_counts(session, user=city_admin, year=2013)["total"]["trained"] == 0
    mine = svc.training_counts(session, user=other_county_officer, year=2012)
    assert [c["county_code"] for c in mine["counties"]] == [GANYU]
    with pytest.raises(ValidationError, match="年份"):
        svc.training_counts(session, user=city_admin, year=1800)
    assert session.execute(select(func.count()).select_from(CareWorker)).scalar_one() == 3
    assert session.execute(select(func.count()).select_from(CareEnrolment)).scalar_one() == 3
