"""The natural growth mechanism: a back-dated raise pays arrears (补发) for exactly the periods and
cases it reaches, in the next cycle, each row explained — and never twice."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from factories import active_case, household
from minxin.core.period import Period
from minxin.programs.cycles import approve_cycle, explain_payment, run_cycle
from minxin.programs.models import Payment
from minxin.programs.service import set_standard


def _run_and_approve(session, runner, approver, period):
    s = run_cycle(session, actor=runner, program="dibao", period=period)
    approve_cycle(session, actor=approver, cycle_id=s.cycle_id)
    return s


def _rows(session, cycle_id, kind):
    q = select(Payment).where(Payment.cycle_id == cycle_id, Payment.kind == kind).order_by(Payment.case_id,
                                                                                         Payment.for_period)
    return list(session.execute(q).scalars())


def test_a_back_dated_raise_pays_arrears_case_by_case(session, county_officer, other_county_officer, city_admin):
    a = active_case(session, household(session, county_officer, members=3, income_yuan=300))
    d = active_case(session, household(session, county_officer, members=2, income_yuan=0), sanwu=True)
    b = active_case(session, household(session, other_county_officer, community="320707100001", hukou="农村",
                                       members=2, income_yuan=160))
    late = active_case(session, household(session, county_officer, members=1, income_yuan=0), start="2012-08")
    _run_and_approve(session, county_officer, city_admin, Period(2012, 7))
    _run_and_approve(session, county_officer, city_admin, Period(2012, 8))

    set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=50000,
                 effective=date(2012, 7, 1), category="城镇")
    sep = run_cycle(session, actor=county_officer, program="dibao", period=Period(2012, 9))

    arrears = _rows(session, sep.cycle_id, "arrears")
    got = {(p.case_id, p.for_period): p.amount_fen for p in arrears}
    assert got == {
        (a.id, "2012-07"): 122_00 + 0, (a.id, "2012-08"): 12200,  # (500−100)×3 + 25 − 1103 = 122
        (d.id, "2012-07"): 8000, (d.id, "2012-08"): 8000,         # 500×2 − 920
        (late.id, "2012-08"): 4000,                               # (500−0)×1 − 460, August only
    }
    assert b.id not in {p.case_id for p in arrears}  # Ganyu's standard did not change
    row = next(p for p in arrears if p.case_id == a.id and p.for_period == "2012-07")
    assert explain_payment(row) == "补发 2012-07：(500−100)×3 + 分类施保 25（1人次） = 1225，已发 1103，补 122"
    assert sep.arrears_fen == 12200 * 2 + 8000 * 2 + 4000
    regular = {p.case_id: p.amount_fen for p in _rows(session, sep.cycle_id, "regular")}
    assert regular[a.id] == 122500 and regular[b.id] == 50000

    again = run_cycle(session, actor=county_officer, program="dibao", period=Period(2012, 9))
    assert again.arrears_fen == sep.arrears_fen  # a recomputed draft, not a second payment
    approve_cycle(session, actor=city_admin, cycle_id=sep.cycle_id)
    october = run_cycle(session, actor=county_officer, program="dibao", period=Period(2012, 10))
    assert october.arrears_fen == 0


def test_a_second_raise_pays_only_the_difference_not_yet_paid(session, county_officer, city_admin):
    a = active_case(session, household(session, county_officer, members=1, income_yuan=100))
    _run_and_approve(session, county_officer, city_admin, Period(2012, 7))        # 360
    set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=50000,
                 effective=date(2012, 7, 1), category="城镇")
    _run_and_approve(session, county_officer, city_admin, Period(2012, 8))        # July arrears 40
    set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=52000,
                 effective=date(2012, 7, 15), category="城镇")
    sep = run_cycle(session, actor=county_officer, program="dibao", period=Period(2012, 9))
    got = {(p.for_period): p.amount_fen for p in _rows(session, sep.cycle_id, "arrears") if p.case_id == a.id}
    assert got == {"2012-07": 2000, "2012-08": 2000}


def test_a_cut_never_claws_back(session, county_officer, city_admin):
    active_case(session, household(session, county_officer, members=1, income_yuan=100))
    _run_and_approve(session, county_officer, city_admin, Period(2012, 7))
    set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=40000,
                 effective=date(2012, 7, 1), category="城镇")
    aug = run_cycle(session, actor=county_officer, program="dibao", period=Period(2012, 8))
    assert aug.arrears_fen == 0 and aug.total_fen == 30000
