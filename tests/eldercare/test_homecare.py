"""Government-purchased home care: eligibility per county from the policy file, the monthly entitlement, orders
drawn on it and never beyond (also when two race), the order's steps, and the providers' settlement through the
engine's cycle, four-eyes approval and bank file."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.conftest import committed_database, make_user

from factories import active_case, elderly_person, household
from minxin.auth.models import AuditEvent, User
from minxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from minxin.core.period import Period
from minxin.eldercare.homecare import rules as rules
from minxin.eldercare.homecare import service as svc
from minxin.eldercare.models import ElderlyProfile, HomecareBalance, ServiceOrder, ServiceProvider
from minxin.infra.clock import CHINA_TZ, today
from minxin.kit.tabular import read_table
from minxin.programs.cycles import approve_cycle, explain_payment, export_cycle, run_cycle
from minxin.programs.models import Case, Payment
from minxin.programs.policy import load_policy

NOW = datetime.now(CHINA_TZ)
THIS_MONTH = Period.of(NOW.date())


def _at(day: int = 5, hour: int = 9, period: Period = THIS_MONTH) -> datetime:
    return datetime(period.year, period.month, day, hour, tzinfo=CHINA_TZ)


def _provider(session: Session, officer: User, *, county: str = "320706", name: str = "海州居家服务社",
              community: str = "320706006001") -> ServiceProvider:
    rep = household(session, officer, community=community, members=1).members[0]
    return svc.register_provider(session, actor=officer, name=name, county_code=county,
                                 contact_id_number=rep.id_number, phone="0518-85551234",
                                 bank_account="6222021234567890123", credit_code="91320706MA1XXXXX0K")


# ---- the pure rules --------------------------------------------------------------------------------------

def test_the_policy_file_gives_a_city_default_and_a_county_override() -> None:
    raw = load_policy().section("homecare")
    city, haizhou = rules.homecare_policy(raw), rules.homecare_policy(raw, "320706")
    assert city.hour_price_fen == 2000 and city.entitlement_fen["重度失能"] == 40000
    assert haizhou.entitlement_fen["重度失能"] == 50000 and haizhou.entitlement_fen["轻度失能"] == 20000
    assert [g.code for g in city.groups] == ["wubao", "dibao", "alone80", "disabled", "centenarian"]
    assert "alone70" in [g.code for g in haizhou.groups]
    assert rules.homecare_policy(raw, "320707") == city  # a county naming nothing takes the city's


@pytest.mark.parametrize(("raw", "message"), [
    ({}, "缺少 [homecare]"),
    ({"hour_price_yuan": "20", "entitlement_yuan": {"能力完好": "1"}, "groups": []}, "每个等级"),
    ({"hour_price_yuan": "-1"}, "hour_price_yuan"),
    ({"hour_price_yuan": "20", "entitlement_yuan": dict.fromkeys(rules.CARE_LEVELS, "1"),
      "groups": [{"code": "all", "name": "所有人"}]}, "没有任何条件"),
    ({"hour_price_yuan": "20", "entitlement_yuan": dict.fromkeys(rules.CARE_LEVELS, "1"),
      "groups": [{"code": "x", "name": "x", "living": ["住校"]}]}, "living"),
    ({"hour_price_yuan": "20", "entitlement_yuan": dict.fromkeys(rules.CARE_LEVELS, "1"),
      "groups": [{"code": "x", "name": "x", "min_age": 80, "income_below": 3}]}, "未知条件"),
])
def test_a_bad_homecare_policy_is_refused_with_a_clear_message(raw: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError, match=re.escape(message)):
        rules.homecare_policy(raw)


def test_eligibility_reads_age_from_the_id_number_on_the_day_and_every_condition_of_a_group() -> None:
    policy = rules.homecare_policy(load_policy().section("homecare"))
    from minxin.core.idnumber import make_id

    birth = rules.birth_from_id(make_id("320706", date(1946, 6, 15), 123), date(1900, 1, 1))
    assert birth == date(1946, 6, 15)
    alone = rules.Facts(birth=birth, living="独居", care_level=None, programs=frozenset())
    assert rules.eligible_groups(policy, alone, date(2026, 6, 14)) == []  # 79 the day before the birthday
    assert [g.code for g in rules.eligible_groups(policy, alone, date(2026, 6, 15))] == ["alone80"]
    with_family = rules.Facts(birth=birth, living="与家人同住", care_level="重度失能", programs=frozenset({"dibao"}))
    groups = rules.eligible_groups(policy, with_family, date(2026, 6, 15))
    assert [g.name for g in groups] == ["低保老人", "重度失能老人"]


def test_the_entitlement_follows_the_assessment_level_and_an_unassessed_person_counts_as_able() -> None:
    policy = rules.homecare_policy(load_policy().section("homecare"), "320706")
    assert [rules.monthly_entitlement_fen(policy, lv) for lv in rules.CARE_LEVELS] == [10000, 20000, 30000, 50000]
    assert rules.monthly_entitlement_fen(policy, None) == 10000


def test_an_orders_value_is_minutes_times_the_hourly_price_to_the_fen_half_up() -> None:
    assert rules.order_value_fen(90, 2000) == 3000
    assert rules.order_value_fen(1, 2000) == 33  # 33.33 fen
    assert rules.order_value_fen(1, 2500) == 42  # 41.67 fen
    for bad in (0, -5, rules.MAX_MINUTES + 1):
        with pytest.raises(ValidationError):
            rules.order_value_fen(bad, 2000)


def test_the_settlement_rule_pays_finished_unpaid_orders_up_to_the_month_once() -> None:
    o = rules.OrderFacts
    orders = [o("2026-10", "finished", 1000, None), o("2026-11", "finished", 2000, None),
              o("2026-12", "finished", 4000, None), o("2026-11", "started", 8000, None),
              o("2026-11", "finished", 16000, 7), o("2026-11", "finished", 32000, 9)]
    assert rules.settlement(orders, "2026-11") == (2, 3000)
    assert rules.settlement(orders, "2026-11", draft_cycle_id=9) == (3, 35000)  # what its own draft took
    assert rules.settlement(orders, "2026-11", contracted=False) == (0, 0)
    assert rules.explain(3, 35000) == "完成服务单 3 单，合计"


# ---- providers, eligibility, orders ----------------------------------------------------------------------

def test_registering_a_provider_opens_its_settlement_case_paid_to_its_account(session: Session,
                                                                             county_officer: User) -> None:
    p = _provider(session, county_officer)
    case = session.get(Case, p.case_id)
    assert case is not None and case.program_code == "homecare" and case.status == "active"
    assert case.region_code == "320706" and case.bank_account == "6222021234567890123"
    with pytest.raises(Conflict, match="名称已存在"):
        _provider(session, county_officer)
    audit = session.execute(select(AuditEvent.action).where(AuditEvent.entity == "service_provider")).scalars()
    assert "homecare.provider.register" in list(audit)


def test_a_provider_is_refused_to_another_county_and_to_roles_that_may_not_contract(
        session: Session, county_officer: User, other_county_officer: User, community_worker: User) -> None:
    p = _provider(session, county_officer)
    with pytest.raises(NotFound):
        svc.get_provider_for(session, other_county_officer, p.id)
    assert svc.get_provider_for(session, community_worker, p.id).id == p.id  # its county's staff see it
    with pytest.raises(Forbidden):
        _provider(session, community_worker, name="另一家")
    rep = household(session, county_officer, members=1).members[0]
    with pytest.raises(ValidationError, match="未知县区代码"):
        svc.register_provider(session, actor=other_county_officer, name="越界服务社", county_code="320706",
                              contact_id_number=rep.id_number, phone=None, bank_account="6222021234567890123")
    assert svc.list_providers(session, user=other_county_officer).total == 0


def test_a_stopped_provider_takes_no_orders_and_its_case_is_suspended(session: Session, county_officer: User) -> None:
    p = _provider(session, county_officer)
    person = elderly_person(session, county_officer)
    svc.update_provider(session, actor=county_officer, provider_id=p.id, is_active=False)
    assert session.get(Case, p.case_id).status == "suspended"  # type: ignore[union-attr]
    with pytest.raises(Conflict, match="已停用"):
        svc.create_order(session, actor=county_officer, provider_id=p.id, person_id=person.id,
                         service_type="助洁", scheduled_at=_at(), minutes=60)


def test_the_entitlement_shows_the_reason_and_what_is_left(session: Session, county_officer: User) -> None:
    p = _provider(session, county_officer)
    person = elderly_person(session, county_officer)  # 独居, born 1940, 轻度失能 → 200 元 in Haizhou
    e = svc.entitlement_for(session, county_officer, person.id, period=THIS_MONTH)
    assert e.eligible and e.reasons == ["70周岁以上独居老人"] and e.limit_fen == 20000 and e.left_fen == 20000
    svc.create_order(session, actor=county_officer, provider_id=p.id, person_id=person.id, service_type="助洁",
                     scheduled_at=_at(), minutes=90)
    e = svc.entitlement_for(session, county_officer, person.id, period=THIS_MONTH)
    assert (e.used_fen, e.left_fen) == (3000, 17000)


def test_an_order_beyond_the_entitlement_is_refused_with_what_is_left_and_nothing_stored(
        session: Session, county_officer: User) -> None:
    p = _provider(session, county_officer)
    person = elderly_person(session, county_officer)
    svc.create_order(session, actor=county_officer, provider_id=p.id, person_id=person.id, service_type="助洁",
                     scheduled_at=_at(), minutes=540)  # 180 元 of 200
    with pytest.raises(Conflict, match="超出本月服务额度：额度 200 元，已用 180 元，剩余 20 元，本单 40 元"):
        svc.create_order(session, actor=county_officer, provider_id=p.id, person_id=person.id,
                         service_type="助餐", scheduled_at=_at(6), minutes=120)
    assert session.execute(select(ServiceOrder).where(ServiceOrder.person_id == person.id)).scalars().all()[0] \
        .value_fen == 18000
    assert len(session.execute(select(ServiceOrder).where(ServiceOrder.person_id == person.id)).all()) == 1
    # exactly what is left still fits; the next month has its own entitlement
    svc.create_order(session, actor=county_officer, provider_id=p.id, person_id=person.id, service_type="助餐",
                     scheduled_at=_at(7), minutes=60)
    nxt = THIS_MONTH.next()
    svc.create_order(session, actor=county_officer, provider_id=p.id, person_id=person.id, service_type="助餐",
                     scheduled_at=_at(3, period=nxt), minutes=600)
    bal = session.execute(select(HomecareBalance.period, HomecareBalance.used_fen)
                          .where(HomecareBalance.person_id == person.id).order_by(HomecareBalance.period)).all()
    assert [tuple(b) for b in bal] == [(str(THIS_MONTH), 20000), (str(nxt), 20000)]


def test_a_person_not_in_any_group_or_outside_the_providers_county_is_refused(
        session: Session, county_officer: User, city_admin: User) -> None:
    p = _provider(session, county_officer)
    young = elderly_person(session, county_officer, living="与家人同住", birth=date(1960, 1, 1))
    with pytest.raises(Conflict, match="不属于政府购买服务对象"):
        svc.create_order(session, actor=county_officer, provider_id=p.id, person_id=young.id, service_type="助洁",
                         scheduled_at=_at(), minutes=60)
    # 低保 makes them eligible (a household case covers its members)
    hh_case = active_case(session, young.household)  # type: ignore[arg-type]
    assert hh_case.status == "active"
    assert svc.create_order(session, actor=county_officer, provider_id=p.id, person_id=young.id,
                            service_type="助洁", scheduled_at=_at(), minutes=60).value_fen == 2000
    ganyu = elderly_person(session, city_admin, community="320707100001")
    with pytest.raises(Conflict, match="只服务本县区"):
        svc.create_order(session, actor=city_admin, provider_id=p.id, person_id=ganyu.id, service_type="助洁",
                         scheduled_at=_at(), minutes=60)


def test_an_order_is_started_finished_never_before_it_started_and_cancelled_only_unstarted(
        session: Session, county_officer: User) -> None:
    p = _provider(session, county_officer)
    worker = svc.add_staff(session, actor=county_officer, provider_id=p.id, name="李护工", phone="13900001111",
                           qualification="养老护理员（四级）")
    person = elderly_person(session, county_officer)
    past = Period.of(today() - timedelta(days=40))
    o = svc.create_order(session, actor=county_officer, provider_id=p.id, person_id=person.id, service_type="助浴",
                         scheduled_at=_at(10, period=past), minutes=60, staff_id=worker.id)
    with pytest.raises(Conflict, match="须先开始服务"):
        svc.finish_order(session, actor=county_officer, order_id=o.id)
    svc.start_order(session, actor=county_officer, order_id=o.id, at=_at(10, 9, past))
    with pytest.raises(ValidationError, match="早于开始时间"):
        svc.finish_order(session, actor=county_officer, order_id=o.id, at=_at(10, 8, past))
    assert o.status == "started" and o.finished_at is None
    with pytest.raises(Conflict, match="只有未开始的服务单可以取消"):
        svc.cancel_order(session, actor=county_officer, order_id=o.id, reason="重复")
    svc.finish_order(session, actor=county_officer, order_id=o.id, at=_at(10, 10, past))
    assert o.status == "finished" and o.finished_by == county_officer.username
    with pytest.raises(ValidationError, match="晚于当前时间"):
        svc.start_order(session, actor=county_officer, order_id=svc.create_order(
            session, actor=county_officer, provider_id=p.id, person_id=person.id, service_type="助洁",
            scheduled_at=_at(), minutes=30).id, at=datetime.now(UTC) + timedelta(hours=2))
    c = svc.create_order(session, actor=county_officer, provider_id=p.id, person_id=person.id, service_type="助洁",
                         scheduled_at=_at(), minutes=60)
    before = svc.entitlement_for(session, county_officer, person.id, period=THIS_MONTH).used_fen
    svc.cancel_order(session, actor=county_officer, order_id=c.id, reason="老人住院")
    assert svc.entitlement_for(session, county_officer, person.id, period=THIS_MONTH).used_fen == before - 2000


def test_the_database_refuses_an_order_finished_before_it_started(session: Session, county_officer: User) -> None:
    from sqlalchemy.exc import IntegrityError

    p = _provider(session, county_officer)
    person = elderly_person(session, county_officer)
    o = svc.create_order(session, actor=county_officer, provider_id=p.id, person_id=person.id, service_type="助洁",
                         scheduled_at=_at(), minutes=60)
    o.started_at, o.finished_at, o.status = _at(5, 10), _at(5, 9), "finished"
    with pytest.raises(IntegrityError), session.begin_nested():
        session.flush()


@pytest.mark.parametrize(("field", "kwargs", "message"), [
    ("minutes", {"minutes": -30}, "服务时长"),
    ("minutes", {"minutes": 0}, "服务时长"),
    ("minutes", {"minutes": 10**9}, "服务时长"),
    ("service_type", {"service_type": "助洁\x00\x1b[31m"}, "控制字符"),
    ("service_type", {"service_type": "助" * 33}, "过长"),
    ("service_type", {"service_type": "   "}, "请填写服务项目"),
    ("note", {"note": "x" * 201}, "过长"),
    ("provider_id", {"provider_id": 2**63}, "服务商不存在"),
    ("person_id", {"person_id": 10**20}, "老年人不存在"),
    ("staff_id", {"staff_id": -1}, "服务人员不属于"),
    ("scheduled_at", {"scheduled_at": datetime(2026, 11, 5, 9)}, "时区"),
    ("scheduled_at", {"scheduled_at": datetime(2999, 1, 1, tzinfo=UTC)}, "一年内"),
])
def test_hostile_order_input_is_refused_clearly_and_nothing_is_stored(session: Session, county_officer: User,
                                                                      field: str, kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    p = _provider(session, county_officer)
    person = elderly_person(session, county_officer)
    args = {"provider_id": p.id, "person_id": person.id, "service_type": "助洁", "scheduled_at": _at(),
            "minutes": 60, **kwargs}
    with pytest.raises((ValidationError, NotFound, Conflict), match=message):
        svc.create_order(session, actor=county_officer, **args)
    assert session.execute(select(ServiceOrder)).first() is None
    assert session.execute(select(HomecareBalance).where(HomecareBalance.used_fen > 0)).first() is None


def test_hostile_provider_input_is_refused_clearly(session: Session, county_officer: User) -> None:
    rep = household(session, county_officer, members=1).members[0]
    base = {"name": "好服务社", "county_code": "320706", "contact_id_number": rep.id_number, "phone": "0518-1",
            "bank_account": "6222021234567890123"}
    for change, message in [({"name": "坏\x07服务社"}, "控制字符"), ({"name": "长" * 101}, "过长"),
                            ({"bank_account": "=HYPERLINK(1)"}, "银行账号"), ({"bank_account": ""}, "银行账号"),
                            ({"phone": "<script>"}, "电话"), ({"county_code": "999999"}, "县区代码"),
                            ({"contact_id_number": "110105194912310021"}, "负责人不在户籍登记中"),
                            ({"credit_code": "短"}, "信用代码")]:
        with pytest.raises(ValidationError, match=message):
            svc.register_provider(session, actor=county_officer, **{**base, **change})
    assert session.execute(select(ServiceProvider)).first() is None


# ---- settlement through the engine -----------------------------------------------------------------------

def test_a_months_finished_orders_are_paid_to_the_provider_through_the_cycle_approval_and_bank_file(
        session: Session, county_officer: User, city_admin: User, tmp_path: Path) -> None:
    p = _provider(session, county_officer)
    other = _provider(session, county_officer, name="第二服务社")
    person = elderly_person(session, county_officer)
    month = Period.of(today() - timedelta(days=35))
    done = []
    for day, minutes in ((3, 60), (4, 90)):
        o = svc.create_order(session, actor=county_officer, provider_id=p.id, person_id=person.id,
                             service_type="助洁", scheduled_at=_at(day, period=month), minutes=minutes)
        svc.start_order(session, actor=county_officer, order_id=o.id, at=_at(day, 9, month))
        svc.finish_order(session, actor=county_officer, order_id=o.id, at=_at(day, 11, month))
        done.append(o)
    open_order = svc.create_order(session, actor=county_officer, provider_id=other.id, person_id=person.id,
                                  service_type="助餐", scheduled_at=_at(6, period=month), minutes=30)
    summary = run_cycle(session, actor=county_officer, program="homecare", period=month)
    lines = session.execute(select(Payment).where(Payment.cycle_id == summary.cycle_id)).scalars().all()
    assert [(ln.case_id, ln.amount_fen, ln.units) for ln in lines] == [(p.case_id, 5000, 2)]
    assert explain_payment(lines[0]) == "完成服务单 2 单，合计 = 50"
    for o in (*done, open_order):
        session.refresh(o)
    assert all(o.settled_cycle_id == summary.cycle_id for o in done) and open_order.settled_cycle_id is None
    assert svc.provider_settlement(session, p, period=month) == (2, 5000)
    with pytest.raises(Conflict, match="不能审批"):  # four eyes: who ran it cannot approve it
        approve_cycle(session, actor=county_officer, cycle_id=summary.cycle_id)
    approve_cycle(session, actor=city_admin, cycle_id=summary.cycle_id)
    buf = io.BytesIO()
    export_cycle(session, actor=county_officer, cycle_id=summary.cycle_id, target=buf, fmt="csv")
    table = read_table(buf.getvalue(), "bank.csv")
    row = dict(zip(table.headers, table.rows[0], strict=False))
    assert row["姓名"] == "海州居家服务社" and row["身份证号"] == "91320706MA1XXXXX0K"
    assert row["账号"] == "6222021234567890123" and row["金额(元)"] == "50.00"
    # the next month pays what was not paid yet, never the same order twice
    late = svc.create_order(session, actor=county_officer, provider_id=p.id, person_id=person.id,
                            service_type="助洁", scheduled_at=_at(20, period=month), minutes=30)
    svc.start_order(session, actor=county_officer, order_id=late.id, at=_at(20, 9, month))
    svc.finish_order(session, actor=county_officer, order_id=late.id, at=_at(20, 10, month))
    nxt = run_cycle(session, actor=county_officer, program="homecare", period=month.next())
    again = session.execute(select(Payment).where(Payment.cycle_id == nxt.cycle_id)).scalars().all()
    assert [(ln.case_id, ln.amount_fen, ln.units) for ln in again] == [(p.case_id, 1000, 1)]
    rows = svc.settlements(session, user=county_officer, period=month)
    assert [(r.provider.name, r.finished, r.finished_fen, r.paid_fen) for r in rows] == \
        [("海州居家服务社", 3, 6000, 5000), ("第二服务社", 0, 0, None)]


def test_a_draft_recomputed_releases_and_takes_the_orders_again(session: Session, county_officer: User) -> None:
    p = _provider(session, county_officer)
    person = elderly_person(session, county_officer)
    month = Period.of(today() - timedelta(days=35))
    o = svc.create_order(session, actor=county_officer, provider_id=p.id, person_id=person.id, service_type="助洁",
                         scheduled_at=_at(3, period=month), minutes=60)
    svc.start_order(session, actor=county_officer, order_id=o.id, at=_at(3, 9, month))
    svc.finish_order(session, actor=county_officer, order_id=o.id, at=_at(3, 10, month))
    first = run_cycle(session, actor=county_officer, program="homecare", period=month)
    second = run_cycle(session, actor=county_officer, program="homecare", period=month)
    session.refresh(o)
    assert first.cycle_id == second.cycle_id and second.total_fen == 2000 and o.settled_cycle_id == first.cycle_id


# ---- two orders racing ----------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def race_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, committed database (the rolled-back test session cannot show two transactions racing)."""
    with committed_database(request.param, tmp_path, "hc_race") as engine:
        yield engine


def test_two_orders_racing_cannot_together_exceed_the_entitlement(race_engine: Engine,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Both read the entitlement (200 元, nothing used) before either draws 150 元: only one may win."""
    import contextlib
    import threading

    from minxin.infra import db

    with db.unit_of_work(race_engine) as s:
        officer = make_user(s, username="hc_race", role="county_officer", scope="320706")
        pid = _provider(s, officer).id
        person_id = elderly_person(s, officer).id
    barrier = threading.Barrier(2)
    read_entitlement = svc.entitlement_of

    def read_then_wait(session: Session, person, **kw):  # type: ignore[no-untyped-def]
        standing = read_entitlement(session, person, **kw)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=1.5)  # give the other order every chance to read the same standing
        return standing

    monkeypatch.setattr(svc, "entitlement_of", read_then_wait)
    results: list[str] = []

    def order() -> None:
        try:
            with db.unit_of_work(race_engine) as s:
                actor = s.execute(select(User).where(User.username == "hc_race")).scalar_one()
                svc.create_order(s, actor=actor, provider_id=pid, person_id=person_id, service_type="助洁",
                                 scheduled_at=_at(), minutes=450)
            results.append("ok")
        except Conflict as exc:
            results.append(exc.message)

    threads = [threading.Thread(target=order) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results, key=len) == [
        "ok", "超出本月服务额度：额度 200 元，已用 150 元，剩余 50 元，本单 150 元 (beyond the monthly entitlement)"]
    with db.unit_of_work(race_engine, write=False) as s:
        assert s.execute(select(HomecareBalance.used_fen)).scalar_one() == 15000
        assert len(s.execute(select(ServiceOrder)).all()) == 1


def test_the_profile_level_raises_the_entitlement_of_the_month(session: Session, county_officer: User) -> None:
    p = _provider(session, county_officer)
    person = elderly_person(session, county_officer)
    profile = session.execute(select(ElderlyProfile).where(ElderlyProfile.person_id == person.id)).scalar_one()
    profile.care_level = "重度失能"
    session.flush()
    e = svc.entitlement_for(session, county_officer, person.id, period=THIS_MONTH)
    assert e.limit_fen == 50000 and e.reasons == ["70周岁以上独居老人", "重度失能老人"]
    svc.create_order(session, actor=county_officer, provider_id=p.id, person_id=person.id, service_type="陪护",
                     scheduled_at=_at(), minutes=1440)  # 480 元 of 500
