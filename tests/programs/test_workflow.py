"""The case workflow: applied → investigated → reviewed → noticed (公示) → approved → active →
suspended/terminated; each step an audited event, in order, by the right role, never approved by its
submitter; objections block approval; in-person checks where drawn or where staff are related."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from tests.factories import household

from conftest import make_user
from minxin.auth.models import AuditEvent
from minxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from minxin.core.period import Period
from minxin.infra.db import utcnow
from minxin.programs.models import Case
from minxin.programs.service import (
    allowed_steps,
    apply,
    cases_due_for_review,
    notices_for_community,
    raise_objection,
    record_review,
    resolve_objection,
    step,
    suspend_overdue,
)

LATER = utcnow() + timedelta(days=8)


@pytest.fixture
def noticed(session, community_worker, town_officer):
    hh = household(session, community_worker, members=3, income_yuan=300)
    case = apply(session, actor=community_worker, program="dibao", household_id=hh.id,
                 bank_account="6228480012345678901")
    step(session, actor=community_worker, case_id=case.id, action="investigate")
    step(session, actor=town_officer, case_id=case.id, action="review")
    step(session, actor=town_officer, case_id=case.id, action="notice")
    return case


def test_a_case_walks_the_whole_workflow_and_every_step_is_audited(session, noticed, county_officer):
    case = step(session, actor=county_officer, case_id=noticed.id, action="approve", spot_checked=True, now=LATER)
    assert case.status == "approved"
    step(session, actor=county_officer, case_id=case.id, action="activate", start_period=Period(2012, 7))
    assert (case.status, case.start_period) == ("active", "2012-07")
    assert case.next_review_due == date(2013, 1, 1)  # class B: every 6 months
    step(session, actor=county_officer, case_id=case.id, action="suspend", reason="收入增加待核实")
    step(session, actor=county_officer, case_id=case.id, action="resume")
    step(session, actor=county_officer, case_id=case.id, action="terminate", reason="家庭收入超过标准")
    assert [e.to_status for e in case.events] == ["applied", "investigated", "reviewed", "noticed", "approved",
                                                  "active", "suspended", "active", "terminated"]
    audited = session.execute(select(AuditEvent.action).where(AuditEvent.entity == "case",
                                                              AuditEvent.entity_id == str(case.id))).scalars()
    assert list(audited)[-3:] == ["case.suspend", "case.resume", "case.terminate"]


def test_steps_out_of_order_are_refused(session, community_worker, county_officer):
    hh = household(session, community_worker, members=1)
    case = apply(session, actor=community_worker, program="dibao", household_id=hh.id)
    with pytest.raises(Conflict, match="不能执行"):
        step(session, actor=county_officer, case_id=case.id, action="approve", spot_checked=True)
    assert session.get(Case, case.id).status == "applied"


def test_the_wrong_role_is_refused(session, noticed, community_worker, town_officer):
    with pytest.raises(Forbidden):
        step(session, actor=town_officer, case_id=noticed.id, action="approve", spot_checked=True, now=LATER)
    assert "approve" not in allowed_steps(community_worker, noticed)


def test_the_submitter_of_a_step_cannot_approve_it(session, community_worker):
    boss = make_user(session, username="t_boss", role="county_officer", scope="320706")
    hh = household(session, community_worker, members=1)
    case = apply(session, actor=boss, program="dibao", household_id=hh.id)
    for action in ("investigate", "review", "notice"):
        step(session, actor=boss, case_id=case.id, action=action)
    with pytest.raises(Forbidden, match="submitter"):
        step(session, actor=boss, case_id=case.id, action="approve", spot_checked=True, now=LATER)


def test_approval_waits_for_the_notice_period(session, noticed, county_officer):
    with pytest.raises(Conflict, match="公示期未满"):
        step(session, actor=county_officer, case_id=noticed.id, action="approve", spot_checked=True)


def test_an_open_objection_blocks_approval_until_resolved(session, noticed, county_officer, town_officer):
    obj = raise_objection(session, case_id=noticed.id, content="该户有营运车辆，收入不实", raised_by="邻居")
    with pytest.raises(Conflict, match="异议"):
        step(session, actor=county_officer, case_id=noticed.id, action="approve", spot_checked=True, now=LATER)
    resolve_objection(session, actor=town_officer, objection_id=obj.id, resolution="经核查车辆已转让")
    step(session, actor=county_officer, case_id=noticed.id, action="approve", spot_checked=True, now=LATER)


def test_staff_relatives_are_always_checked_in_person(session, community_worker, town_officer, county_officer):
    hh = household(session, community_worker, members=1)
    case = apply(session, actor=community_worker, program="dibao", household_id=hh.id, staff_relative=True)
    step(session, actor=community_worker, case_id=case.id, action="investigate")
    step(session, actor=town_officer, case_id=case.id, action="review")
    step(session, actor=town_officer, case_id=case.id, action="notice")
    assert case.spot_check_required
    with pytest.raises(ValidationError, match="近亲属"):
        step(session, actor=county_officer, case_id=case.id, action="approve", spot_checked=False, now=LATER)


def test_about_thirty_percent_of_cases_are_drawn_for_the_in_person_check():
    from minxin.programs.service import _spot_check_drawn

    drawn = sum(_spot_check_drawn(i, 300) for i in range(1, 5001))
    assert 1350 <= drawn <= 1650
    assert _spot_check_drawn(42, 300) == _spot_check_drawn(42, 300)


def test_rejection_and_suspension_need_a_written_reason(session, noticed, town_officer):
    with pytest.raises(ValidationError, match="理由"):
        step(session, actor=town_officer, case_id=noticed.id, action="reject", reason=" ")
    step(session, actor=town_officer, case_id=noticed.id, action="reject", reason="家庭财产超过规定")
    assert noticed.status == "rejected"


def test_one_open_case_per_household_and_program(session, noticed, community_worker):
    with pytest.raises(Conflict):
        apply(session, actor=community_worker, program="dibao", household_id=noticed.household_id)


def test_cases_of_another_county_look_missing(session, noticed, other_county_officer):
    with pytest.raises(NotFound):
        step(session, actor=other_county_officer, case_id=noticed.id, action="approve", now=LATER)


def test_the_public_notice_lists_cases_under_notice_only(session, noticed):
    assert [c.id for c in notices_for_community(session, community_code=noticed.region_code)] == [noticed.id]
    assert notices_for_community(session, community_code=noticed.region_code, now=LATER) == []


def test_overdue_reviews_are_listed_and_suspended_in_bulk(session, noticed, county_officer, community_worker):
    step(session, actor=county_officer, case_id=noticed.id, action="approve", spot_checked=True, now=LATER)
    step(session, actor=county_officer, case_id=noticed.id, action="activate", start_period=Period(2012, 1))
    noticed.next_review_due = date(2012, 7, 1)
    assert [c.id for c in cases_due_for_review(session, user=county_officer, on=date(2012, 8, 1)).items] == \
        [noticed.id]
    assert suspend_overdue(session, actor=county_officer, program="dibao", overdue_before=date(2012, 8, 1)) == 1
    session.expire_all()
    case = session.get(Case, noticed.id)
    assert case.status == "suspended" and case.events[-1].reason == "逾期未复核"
    step(session, actor=county_officer, case_id=case.id, action="resume")
    record_review(session, actor=community_worker, case_id=case.id, note="入户复核，情况未变", review_class="A")
    assert case.review_class == "A" and case.next_review_due > date.today()
