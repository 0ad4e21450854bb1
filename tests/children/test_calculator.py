"""The orphan allowance on the engine: the placement's standard up to and including the month of the 18th
birthday, nothing from the month after; arrears of a back-dated raise respect the limit month by month;
the cycle's SQL agrees with the pure rule on a random population."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import select
from tests.factories import child, institution, orphan_case

from minxin.children.rules import monthly_allowance
from minxin.core.period import Period
from minxin.programs.cycles import approve_cycle, case_payment_items, explain_payment, run_cycle
from minxin.programs.models import Payment
from minxin.programs.service import set_standard


def _run(session, runner, approver, period):
    s = run_cycle(session, actor=runner, program="orphan", period=period)
    approve_cycle(session, actor=approver, cycle_id=s.cycle_id)
    return s


def _line(session, cycle_id, case_id):
    return session.execute(select(Payment).where(Payment.cycle_id == cycle_id, Payment.case_id == case_id,
                                                 Payment.seq == 0)).scalar_one_or_none()


def test_a_child_is_paid_in_the_month_of_the_18th_birthday_and_not_the_month_after(session, county_officer,
                                                                                   city_admin):
    kid = orphan_case(session, child(session, county_officer, birth=date(1996, 5, 10)))
    april = _run(session, county_officer, city_admin, Period(2014, 4))
    may = _run(session, county_officer, city_admin, Period(2014, 5))
    june = run_cycle(session, actor=county_officer, program="orphan", period=Period(2014, 6))
    assert _line(session, april.cycle_id, kid.id).amount_fen == 60000
    paid = _line(session, may.cycle_id, kid.id)
    assert paid.amount_fen == 60000
    assert explain_payment(paid) == "社会散居 标准 600（未满18周岁，至 2014-05） = 600"
    assert _line(session, june.cycle_id, kid.id) is None
    assert june.cases == 0 and june.total_fen == 0


def test_an_institution_child_gets_the_institution_standard(session, county_officer):
    home = institution(session)
    kid = orphan_case(session, child(session, county_officer, birth=date(2005, 1, 31)), placement="集中养育",
                      institution=home)
    s = run_cycle(session, actor=county_officer, program="orphan", period=Period(2012, 7))
    line = _line(session, s.cycle_id, kid.id)
    assert line.amount_fen == 100000
    assert explain_payment(line) == "集中养育 标准 1000（未满18周岁，至 2023-01） = 1000"


def test_a_back_dated_raise_pays_arrears_only_for_the_months_before_the_18th_birthday(session, county_officer,
                                                                                     city_admin):
    leaving = orphan_case(session, child(session, county_officer, birth=date(1996, 5, 10)))
    staying = orphan_case(session, child(session, county_officer, birth=date(2000, 8, 1)))
    for month in (3, 4, 5, 6):
        _run(session, county_officer, city_admin, Period(2014, month))
    set_standard(session, actor=county_officer, program="orphan", region_code="320706", amount_fen=80000,
                 effective=date(2014, 3, 1), category="社会散居")
    july = run_cycle(session, actor=county_officer, program="orphan", period=Period(2014, 7))
    # The child who turned 18 in May: 2014-03..05 at 800 − 600 = 200 each, nothing for June (not paid) or July.
    gone = _line(session, july.cycle_id, leaving.id)
    assert gone.regular_fen == 0 and gone.arrears_fen == 3 * 20000
    assert explain_payment(gone) == ("补发 2014-03～2014-05：标准 800（未满18周岁，至 2014-05） = 800，已发 600，"
                                     "每月补 200，共补 600（3个月）")
    # The younger child: July at 800 and four months of arrears.
    young = _line(session, july.cycle_id, staying.id)
    assert young.regular_fen == 80000 and young.arrears_fen == 4 * 20000
    items = case_payment_items(session, staying.id)
    assert items[0][0].explanation == "社会散居 标准 800（未满18周岁，至 2018-08） = 800"
    assert july.arrears_fen == 7 * 20000


def test_a_birth_date_corrected_after_payment_gets_no_arrears_past_the_limit_it_was_paid_under(
        session, county_officer, city_admin):
    """Arrears recompute each month under the age limit stored on the month's line."""
    kid = orphan_case(session, child(session, county_officer, birth=date(1996, 5, 10)))
    for month in (4, 5):
        _run(session, county_officer, city_admin, Period(2014, month))
    set_standard(session, actor=county_officer, program="orphan", region_code="320706", amount_fen=70000,
                 effective=date(2014, 4, 1), category="社会散居")
    june = run_cycle(session, actor=county_officer, program="orphan", period=Period(2014, 6))
    line = _line(session, june.cycle_id, kid.id)
    assert line.arrears_fen == 2 * 10000 and line.arrears_from == "2014-04"


def test_the_cycle_agrees_with_the_pure_rule_on_a_random_population(session, county_officer, city_admin):
    rng = random.Random(20121203)
    period = Period(2014, 5)
    home = institution(session, name="海州区儿童福利院（随机）")
    cases = []
    for _ in range(40):
        birth = date(rng.choice([1995, 1996, 1997, 2000]), rng.randint(1, 12), rng.randint(1, 28))
        placement = rng.choice(["集中养育", "社会散居"])
        case = orphan_case(session, child(session, county_officer, birth=birth), placement=placement,
                           institution=home if placement == "集中养育" else None)
        cases.append((case, birth))
    s = run_cycle(session, actor=county_officer, program="orphan", period=period)
    standards = {"集中养育": 100000, "社会散居": 60000}
    expected_total = 0
    for case, birth in cases:
        want = monthly_allowance(standard_fen=standards[case.category], birth=birth, period=period)
        line = _line(session, s.cycle_id, case.id)
        assert (line.regular_fen if line else 0) == want, (birth, case.category)
        expected_total += want
    assert s.total_fen == expected_total
    assert 0 < s.cases < len(cases)  # the draw holds children on both sides of the limit
