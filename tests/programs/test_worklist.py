"""待办: each kind of work appears for the role whose step it is, within their scope, and for nobody else;
oldest first, with due dates; paged per kind; the top bar's count is the sum; programs at a glance."""

from __future__ import annotations

from datetime import timedelta

import pytest

from factories import household
from minxin.core.errors import NotFound
from minxin.eldercare.calls import receive_call
from minxin.infra.clock import today
from minxin.infra.db import utcnow
from minxin.programs.models import CaseEvent, Cycle, FailedPayment
from minxin.programs.service import STATUS_NAMES, apply, raise_objection, step
from minxin.worklist import glance_for, queue_page, queues_for, waiting_count, worklist_for

TODAY = today()  # the services' day: China time, a day ahead of UTC from 16:00 UTC
GANYU_COMMUNITY = "320707100001"


def _counts(session, user) -> dict[str, int]:
    return {k.queue.key: k.count for k in worklist_for(session, user, today=TODAY)}


@pytest.fixture
def town(session, community_worker, town_officer, county_officer, city_admin, other_county_officer, system_user):
    """A community's cases at every step, one case of another county, a draft cycle and a failed payment."""
    def case_at(target: str, *, members: int = 2):
        hh = household(session, community_worker, members=members, income_yuan=100)
        case = apply(session, actor=community_worker, program="dibao", household_id=hh.id,
                     bank_account="6228480012345678901")
        for action, actor in (("investigate", community_worker), ("review", town_officer), ("notice", town_officer)):
            if case.status == target:
                break
            step(session, actor=actor, case_id=case.id, action=action)
        return case

    cases = {s: case_at(s) for s in ("applied", "investigated", "reviewed")}
    ready = case_at("noticed")
    ready.notice_end = utcnow() - timedelta(days=1)  # 公示期满: ready for the county's approval
    ending = case_at("noticed")
    ending.notice_end = utcnow() + timedelta(hours=20)  # ends tomorrow at the latest
    objected = case_at("noticed")
    raise_objection(session, case_id=objected.id, content="家中有车辆")  # raised during the notice
    objected.notice_end = utcnow() - timedelta(days=2)
    approved = case_at("noticed")
    approved.notice_end = utcnow() - timedelta(days=3)
    session.flush()
    step(session, actor=county_officer, case_id=approved.id, action="approve", spot_checked=True)
    active = case_at("noticed")
    active.notice_end = utcnow() - timedelta(days=3)
    step(session, actor=county_officer, case_id=active.id, action="approve", spot_checked=True)
    step(session, actor=county_officer, case_id=active.id, action="activate")
    active.next_review_due = TODAY - timedelta(days=5)
    # Another county's application: never in a Haizhou user's list.
    gh = household(session, other_county_officer, community=GANYU_COMMUNITY, members=1)
    apply(session, actor=other_county_officer, program="dibao", household_id=gh.id)
    draft = Cycle(program_code="dibao", period="2012-07", county_code="320706", status="draft",
                  run_by=city_admin.username, computed_at=utcnow(), cases=1, total_fen=78000)
    exported = Cycle(program_code="dibao", period="2012-06", county_code="320706", status="exported",
                     run_by=city_admin.username, computed_at=utcnow(), cases=1, total_fen=78000)
    session.add_all([draft, exported])
    session.flush()
    session.add(FailedPayment(cycle_id=exported.id, case_id=active.id, seq=0, amount_fen=78000))
    session.flush()
    return {**cases, "ready": ready, "ending": ending, "objected": objected, "approved": approved, "active": active,
            "draft": draft, "exported": exported}


def test_the_community_worker_sees_investigations_reviews_due_and_failed_payments_of_the_community(
        session, town, community_worker):
    counts = _counts(session, community_worker)
    assert counts == {"cases.investigate": 1, "reviews.due": 1, "payments.failed": 1}
    (kind,) = [k for k in worklist_for(session, community_worker, today=TODAY) if k.queue.key == "cases.investigate"]
    assert kind.queue.label == "待入户调查"
    assert kind.oldest[0].href == f"/cases/{town['applied'].id}#actions"
    (review,) = [k for k in worklist_for(session, community_worker, today=TODAY) if k.queue.key == "reviews.due"]
    assert review.oldest[0].due == TODAY - timedelta(days=5)


def test_the_town_officer_sees_review_notice_ending_notices_and_objections_not_the_communitys_steps(
        session, town, town_officer):
    counts = _counts(session, town_officer)
    assert counts == {"cases.review": 1, "cases.notice": 1, "notices.ending": 1, "objections.open": 1}
    (ending,) = [k for k in worklist_for(session, town_officer, today=TODAY) if k.queue.key == "notices.ending"]
    assert ending.oldest[0].href.startswith(f"/cases/{town['ending'].id}")
    assert ending.oldest[0].due is not None and ending.oldest[0].due <= TODAY + timedelta(days=1)


def test_the_county_officer_sees_approvals_only_after_the_notice_and_without_objections(
        session, town, county_officer, other_county_officer):
    counts = _counts(session, county_officer)
    # ready: notice over, no objection; `ending` is still on notice and `objected` has an open objection.
    assert counts["cases.approve"] == 1
    (approve,) = [k for k in worklist_for(session, county_officer, today=TODAY) if k.queue.key == "cases.approve"]
    assert [i.href for i in approve.oldest] == [f"/cases/{town['ready'].id}#actions"]
    assert counts["cases.activate"] == 1
    assert counts["objections.open"] == 1
    assert counts["cycles.approve"] == 1 and counts["cycles.reconcile"] == 1
    assert counts["payments.failed"] == 1
    assert "cases.investigate" not in counts and "cases.review" not in counts
    # 低保 has an active case in Haizhou and no cycle this month: the month's run waits for the county.
    (run,) = [k for k in worklist_for(session, county_officer, today=TODAY) if k.queue.key == "cycles.run"]
    assert run.count == 1 and run.oldest[0].href == f"/cycles?program=dibao&period={TODAY:%Y-%m}"
    session.add(Cycle(program_code="dibao", period=f"{TODAY:%Y-%m}", county_code="320706", status="draft",
                      run_by=county_officer.username))
    session.flush()
    assert "cycles.run" not in _counts(session, county_officer)
    # Ganyu's officer sees Ganyu's application nowhere (it is the community's step) and none of Haizhou's.
    ganyu = _counts(session, other_county_officer)
    assert "cases.approve" not in ganyu and "cycles.approve" not in ganyu and "payments.failed" not in ganyu


def test_who_ran_a_cycle_is_not_asked_to_approve_it_and_who_approved_a_step_is_not_asked_again(
        session, town, county_officer, city_admin):
    town["draft"].run_by = county_officer.username
    session.flush()
    assert "cycles.approve" not in _counts(session, county_officer)
    assert _counts(session, county_officer)["cases.approve"] == 1
    # Had the county officer submitted a step of the ready case, its approval would not be theirs to give.
    session.add(CaseEvent(case_id=town["ready"].id, action="review", from_status="investigated",
                          to_status="reviewed", actor=county_officer.username))
    session.flush()
    assert "cases.approve" not in _counts(session, county_officer)


def test_the_city_admin_sees_cycles_of_every_county_and_no_case_steps(session, town, city_admin):
    counts = _counts(session, city_admin)
    assert set(counts) <= {"cycles.run", "cycles.approve", "cycles.export", "cycles.reconcile"}
    assert counts["cycles.reconcile"] == 1
    assert "cycles.approve" not in counts  # the city admin ran the draft


def test_the_call_agent_sees_open_emergency_calls_and_the_auditor_sees_no_work(session, town, call_agent, auditor,
                                                                                system_user):
    receive_call(session, actor=call_agent, caller="13811112222", kind="emergency", location="海州区新海街道")
    receive_call(session, actor=call_agent, caller="13811113333", kind="consult")
    receive_call(session, actor=call_agent, caller="13811114444")
    assert _counts(session, call_agent) == {"calls.open": 2}  # the emergency and the unclassified call
    assert worklist_for(session, auditor, today=TODAY) == []
    assert queues_for(auditor) == []
    assert waiting_count(session, auditor, today=TODAY) == 0


def test_the_top_bar_count_is_the_sum_and_a_kind_pages_oldest_first(session, town, community_worker, town_officer):
    assert waiting_count(session, community_worker, today=TODAY) == 3
    for _ in range(3):
        hh = household(session, community_worker, members=1)
        apply(session, actor=community_worker, program="dibao", household_id=hh.id)
    _, page = queue_page(session, community_worker, "cases.investigate", today=TODAY, page=1, page_size=2)
    assert (page.total, len(page.items), page.pages) == (4, 2, 2)
    assert page.items[0].href.startswith(f"/cases/{town['applied'].id}")  # the oldest first
    _, second = queue_page(session, community_worker, "cases.investigate", today=TODAY, page=2, page_size=2)
    assert len(second.items) == 2 and {i.href for i in second.items}.isdisjoint({i.href for i in page.items})


def test_another_roles_kind_or_an_unknown_kind_is_not_found(session, town, community_worker):
    with pytest.raises(NotFound):
        queue_page(session, community_worker, "cases.approve", today=TODAY)
    with pytest.raises(NotFound):
        queue_page(session, community_worker, "x" * 64, today=TODAY)


def test_statuses_read_as_what_happens_next():
    assert [STATUS_NAMES[s] for s in ("applied", "investigated", "reviewed", "noticed", "approved")] == [
        "待入户调查", "待乡镇审核", "待公示", "公示中", "待发放"]


def test_programs_at_a_glance_for_county_and_city_within_their_scope(session, town, county_officer, city_admin,
                                                                     other_county_officer, community_worker):
    this = f"{TODAY.year:04d}-{TODAY.month:02d}"
    session.add(Cycle(program_code="dibao", period=this, county_code="320706", status="draft", run_by="x",
                      cases=1, total_fen=123456))
    session.flush()
    (dibao,) = [g for g in glance_for(session, county_officer, today=TODAY) if g.href.endswith("dibao")]
    assert dibao.recipients == 1 and dibao.month_fen == 123456
    assert len(dibao.trend) == 6 and dibao.trend[-1] == (this, 123456)
    assert [g for g in glance_for(session, other_county_officer, today=TODAY) if g.href.endswith("dibao")] == []
    assert glance_for(session, community_worker, today=TODAY) == []
    (city,) = [g for g in glance_for(session, city_admin, today=TODAY) if g.href.endswith("dibao")]
    assert city.month_fen == 123456
