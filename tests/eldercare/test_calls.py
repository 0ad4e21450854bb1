"""The call and rescue centre's services: intake, the agent's steps, permissions, scope, escalation,
care calls and the monthly report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from tests.conftest import GANYU, GANYU_COMMUNITY, make_user
from tests.factories import elderly_person

from minxin.auth.models import AuditEvent
from minxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from minxin.core.period import Period
from minxin.eldercare import calls as svc
from minxin.eldercare.models import CareCallLog
from minxin.eldercare.reports import calls_report


def _actions(session, call) -> list[str]:
    return [e.action for e in svc.timeline(session, call)]


def test_a_device_or_a_phone_number_identifies_the_caller_and_a_stranger_is_still_a_call(session, county_officer,
                                                                                        call_agent):
    p = elderly_person(session, county_officer, phone="13812345678", terminal="LYG-0001")
    by_device, created = svc.receive_call(session, actor=call_agent, caller="lyg-0001", kind="emergency")
    assert created and by_device.person_id == p.id and by_device.region_code == p.region_code
    by_phone, _ = svc.receive_call(session, actor=call_agent, caller="+86 138-1234-5678")
    assert by_phone.person_id == p.id
    stranger, created = svc.receive_call(session, actor=call_agent, caller="02588886666", location="火车站")
    assert created and stranger.person_id is None and stranger.region_code is None
    assert _actions(session, stranger) == ["received"]
    assert "来电人未识别" in svc.timeline(session, stranger)[0].what


def test_the_same_event_id_twice_is_one_call(session, call_agent):
    first, created = svc.receive_call(session, actor=call_agent, caller="13800000000", event_id="pbx-1")
    again, created_again = svc.receive_call(session, actor=call_agent, caller="13800000000", event_id="pbx-1")
    assert created and not created_again and again.id == first.id
    assert len(svc.timeline(session, first)) == 1


@pytest.mark.parametrize(("field", "kwargs", "message"), [
    ("caller", {"caller": "  "}, "不能为空"),
    ("caller", {"caller": "1" * 41}, "过长"),
    ("kind", {"caller": "1380", "kind": "fire"}, "呼叫类型"),
    ("at", {"caller": "1380", "at": datetime.now(UTC) + timedelta(hours=1)}, "晚于当前时间"),
    ("location", {"caller": "1380", "location": "x" * 201}, "过长"),
    ("event_id", {"caller": "1380", "event_id": "e" * 65}, "过长"),
])
def test_bad_intake_is_refused_naming_the_field(session, call_agent, field, kwargs, message):
    with pytest.raises(ValidationError, match=message) as exc:
        svc.receive_call(session, actor=call_agent, **kwargs)
    assert exc.value.field == field


def test_a_call_time_without_an_offset_is_china_time(session, call_agent):
    call, _ = svc.receive_call(session, actor=call_agent, caller="1380", at=datetime(2012, 7, 1, 8, 0))
    assert call.received_at == datetime(2012, 7, 1, 0, 0, tzinfo=UTC)


def test_an_agent_takes_classifies_dispatches_and_closes_with_every_step_on_the_timeline(session, county_officer,
                                                                                         call_agent, provider):
    p = elderly_person(session, county_officer, terminal="T-2")
    call, _ = svc.receive_call(session, actor=call_agent, caller="T-2")
    assert call.escalate_at is not None  # unknown kind: escalates unless taken
    with pytest.raises(Conflict, match="请先接听"):
        svc.close_call(session, actor=call_agent, call_id=call.id, outcome="answered")
    svc.take_call(session, actor=call_agent, call_id=call.id)
    with pytest.raises(Conflict, match="已由 t_agent 接听"):
        svc.take_call(session, actor=call_agent, call_id=call.id)
    svc.classify_call(session, actor=call_agent, call_id=call.id, kind="emergency")
    svc.dispatch_rescue(session, actor=call_agent, call_id=call.id, target="ambulance_120", note="胸痛")
    svc.dispatch_rescue(session, actor=call_agent, call_id=call.id, target="family")
    order = svc.order_service(session, actor=call_agent, call_id=call.id, provider_id=provider.id,
                              service_type="助医陪护")
    assert order.person_id == p.id and order.call_id == call.id
    with pytest.raises(ValidationError, match="处理结果"):
        svc.close_call(session, actor=call_agent, call_id=call.id, outcome="")
    svc.close_call(session, actor=call_agent, call_id=call.id, outcome="rescued", note="已送医")
    assert (call.status, call.outcome) == ("closed", "rescued")
    assert call.dispatched_at is not None and call.taken_at is not None
    assert _actions(session, call) == ["received", "take", "classify", "dispatch", "dispatch", "service_order",
                                       "close"]
    steps = svc.timeline(session, call)
    assert "王强（子女）13900000001" in steps[4].what and steps[1].actor == "t_agent"
    with pytest.raises(Conflict, match="已结束"):
        svc.dispatch_rescue(session, actor=call_agent, call_id=call.id, target="community")
    audited = session.execute(select(AuditEvent.action).where(AuditEvent.entity == "call",
                                                              AuditEvent.entity_id == str(call.id))).scalars().all()
    assert audited == ["call.receive", "call.take", "call.classify", "call.dispatch", "call.dispatch",
                       "call.service_order", "call.close"]


def test_a_user_without_the_call_agent_permission_may_not_dispatch(session, county_officer, call_agent):
    call, _ = svc.receive_call(session, actor=call_agent, caller="13800001111")
    svc.take_call(session, actor=call_agent, call_id=call.id)
    with pytest.raises(Forbidden, match="只有呼叫坐席"):
        svc.dispatch_rescue(session, actor=county_officer, call_id=call.id, target="ambulance_120")
    with pytest.raises(Forbidden):
        svc.receive_call(session, actor=county_officer, caller="13800001111")
    assert _actions(session, call) == ["received", "take"]


def test_a_call_of_another_county_is_refused_to_an_agent_of_this_one(session, county_officer, call_agent):
    ganyu_agent = make_user(session, username="t_agent_gy", role="call_agent", scope=GANYU)
    haizhou = elderly_person(session, county_officer, terminal="HZ-1")
    call, _ = svc.receive_call(session, actor=call_agent, caller="HZ-1")
    assert call.person_id == haizhou.id
    with pytest.raises(NotFound, match="不在您的辖区内"):
        svc.take_call(session, actor=ganyu_agent, call_id=call.id)
    with pytest.raises(NotFound):
        svc.get_call_for(session, ganyu_agent, call.id)
    stranger, _ = svc.receive_call(session, actor=call_agent, caller="0518000")
    with pytest.raises(NotFound):  # an unidentified caller belongs to the city-wide centre
        svc.get_call_for(session, ganyu_agent, stranger.id)
    assert svc.call_queue(session, user=ganyu_agent).total == 0
    assert {c.id for c in svc.call_queue(session, user=call_agent, page_size=200).items} >= {call.id, stranger.id}


def test_unknown_caller_calls_can_be_answered_but_not_sent_a_service_or_family(session, call_agent, provider):
    call, _ = svc.receive_call(session, actor=call_agent, caller="0518111")
    svc.take_call(session, actor=call_agent, call_id=call.id)
    with pytest.raises(Conflict, match="来电人未识别"):
        svc.order_service(session, actor=call_agent, call_id=call.id, provider_id=provider.id, service_type="助餐")
    with pytest.raises(Conflict, match="来电人未识别"):
        svc.dispatch_rescue(session, actor=call_agent, call_id=call.id, target="family")
    svc.dispatch_rescue(session, actor=call_agent, call_id=call.id, target="ambulance_120")
    assert call.kind == "emergency"


def test_an_unacknowledged_emergency_escalates_once_and_a_taken_one_never(session, call_agent):
    t0 = datetime.now(UTC)
    waiting, _ = svc.receive_call(session, actor=call_agent, caller="13811110000", kind="emergency", now=t0)
    taken, _ = svc.receive_call(session, actor=call_agent, caller="13811110001", kind="emergency", now=t0)
    consult, _ = svc.receive_call(session, actor=call_agent, caller="13811110002", kind="consult", now=t0)
    svc.take_call(session, actor=call_agent, call_id=taken.id)
    assert consult.escalate_at is None
    assert waiting.escalate_at == t0 + timedelta(seconds=60)  # emergency_ack_seconds in the policy file
    assert svc.escalate_due(session, now=t0 + timedelta(seconds=59)) == []
    later = t0 + timedelta(seconds=61)
    assert svc.escalate_due(session, now=later) == [waiting.id]
    assert svc.escalate_due(session, now=later + timedelta(minutes=5)) == []
    session.refresh(waiting)
    assert waiting.escalated_at is not None
    step = svc.timeline(session, waiting)[-1]
    assert (step.action, step.actor) == ("escalate", "system") and "上报值班主任" in step.what
    assert svc.call_queue(session, user=call_agent, escalated_only=True).items[0].id == waiting.id
    assert svc.open_counts(session, user=call_agent)["escalated"] >= 1


def test_the_cli_escalates_with_no_server_and_no_browser(session, call_agent):
    """`minxin eldercare escalate` is the cron path; here through its service on an old deadline."""
    old = datetime.now(UTC) - timedelta(hours=1)
    call, _ = svc.receive_call(session, actor=call_agent, caller="13822220000", kind="emergency", at=old, now=old)
    assert call.id in svc.escalate_due(session)


def test_the_feed_gives_new_steps_in_order_and_only_in_scope(session, county_officer, other_county_officer,
                                                           call_agent):
    ganyu_agent = make_user(session, username="t_agent_gy2", role="call_agent", scope=GANYU)
    start = svc.latest_event_id(session)
    elderly_person(session, county_officer, terminal="FEED-1")
    gy = elderly_person(session, other_county_officer, community=GANYU_COMMUNITY, terminal="FEED-2")
    a, _ = svc.receive_call(session, actor=call_agent, caller="FEED-1")
    b, _ = svc.receive_call(session, actor=call_agent, caller="FEED-2")
    svc.take_call(session, actor=call_agent, call_id=a.id)
    feed = svc.events_after(session, user=call_agent, after_id=start)
    assert [(e.call_id, e.action) for e, _ in feed] == [(a.id, "received"), (b.id, "received"), (a.id, "take")]
    assert [e.id for e, _ in feed] == sorted(e.id for e, _ in feed)
    assert [(e.call_id, e.action) for e, _ in svc.events_after(session, user=ganyu_agent, after_id=start)] == [
        (b.id, "received")]
    assert b.person_id == gy.id
    assert svc.events_after(session, user=call_agent, after_id=feed[-1][0].id) == []


def test_care_calls_are_scheduled_for_people_living_alone_and_missed_ones_flagged(session, county_officer,
                                                                                call_agent):
    alone = elderly_person(session, county_officer, living="独居")
    elderly_person(session, county_officer, living="与家人同住")
    today = datetime.now(UTC).date()
    added = svc.schedule_care_calls(session, actor=call_agent, start=today - timedelta(days=5))
    assert added >= 1
    assert svc.schedule_care_calls(session, actor=call_agent) == 0  # nobody twice
    due = svc.care_calls_due(session, user=call_agent, page_size=200).items
    mine = next(d for d in due if d.schedule.person_id == alone.id)
    assert mine.missed  # 5 days overdue, grace 2
    svc.record_care_call(session, actor=call_agent, schedule_id=mine.schedule.id, reached=False)
    assert any(d.schedule.person_id == alone.id for d in svc.care_calls_due(session, user=call_agent,
                                                                          page_size=200).items)
    svc.record_care_call(session, actor=call_agent, schedule_id=mine.schedule.id, reached=True, note="身体好")
    assert all(d.schedule.person_id != alone.id for d in svc.care_calls_due(session, user=call_agent,
                                                                          page_size=200).items)
    assert session.execute(select(CareCallLog).where(CareCallLog.schedule_id == mine.schedule.id)).all()
    with pytest.raises(Forbidden):
        svc.schedule_care_calls(session, actor=county_officer)


def test_the_month_report_counts_kinds_times_and_breaches_per_county(session, county_officer, call_agent,
                                                                     other_county_officer):
    elderly_person(session, county_officer, terminal="REP-1")
    elderly_person(session, other_county_officer, community=GANYU_COMMUNITY, terminal="REP-2")
    t0 = datetime(2012, 7, 10, 2, 0, tzinfo=UTC)
    fast, _ = svc.receive_call(session, actor=call_agent, caller="REP-1", kind="emergency", at=t0)
    slow, _ = svc.receive_call(session, actor=call_agent, caller="REP-2", kind="service", at=t0)
    svc.receive_call(session, actor=call_agent, caller="0518999", at=t0)  # unknown, never answered
    svc.receive_call(session, actor=call_agent, caller="REP-1", at=datetime(2012, 8, 1, 1, 0, tzinfo=UTC))
    fast.status, fast.taken_at, fast.dispatched_at = "taken", t0 + timedelta(seconds=20), t0 + timedelta(seconds=700)
    slow.status, slow.taken_at = "taken", t0 + timedelta(seconds=90)
    session.flush()
    report = calls_report(session, user=call_agent, period=Period.parse("2012-07"))
    rows = {c["county_code"]: c for c in report["counties"]}
    assert set(rows) == {"320706", "320707", None}
    hz, gy, unknown = rows["320706"], rows["320707"], rows[None]
    assert (hz["calls"], hz["by_kind"]["emergency"], hz["answer_seconds_avg"], hz["dispatched"]) == (1, 1, 20.0, 1)
    assert (hz["answer_sla_breaches"], hz["dispatch_sla_breaches"]) == (0, 1)
    assert (gy["answer_sla_breaches"], gy["answer_seconds_avg"]) == (1, 90.0)
    assert (unknown["calls"], unknown["unanswered"], unknown["answer_sla_breaches"]) == (1, 1, 1)
    assert report["total"]["calls"] == 3 and report["total"]["by_kind"]["unknown"] == 1
    officer = calls_report(session, user=county_officer, period=Period.parse("2012-07"))
    assert [c["county_code"] for c in officer["counties"]] == ["320706"]
    assert calls_report(session, user=other_county_officer, period=Period.parse("2012-07"))["total"]["calls"] == 1


def test_the_feed_is_only_for_agents(session, county_officer):
    with pytest.raises(Forbidden):
        svc.events_after(session, user=county_officer, after_id=0)
