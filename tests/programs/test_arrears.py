"""The natural growth mechanism: a back-dated raise pays arrears (补发) for exactly the periods and
cases it reaches, in the next cycle, each explained — and never twice.

Arrears ride on the case's payment line of the cycle that pays them: months that share their facts,
standard and amount already paid are one part (the months as a bit mask); months with other facts
get a line of their own.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from tests.factories import active_case, household

from minxin.core.period import Period
from minxin.programs.cycles import approve_cycle, case_payment_items, explain_payment, run_cycle
from minxin.programs.models import Case, Payment
from minxin.programs.rules import describe_months
from minxin.programs.service import set_standard
from minxin.registry.service import declare_income


def _run_and_approve(session, runner, approver, period):
    s = run_cycle(session, actor=runner, program="dibao", period=period)
    approve_cycle(session, actor=approver, cycle_id=s.cycle_id)
    return s


def _lines(session, cycle_id):
    return list(session.execute(select(Payment).where(Payment.cycle_id == cycle_id)
                                .order_by(Payment.case_id, Payment.seq)).scalars())


def _arrears_by_month(lines):
    """{(case, month): per-month arrears} from the lines' masks."""
    got = {}
    for p in lines:
        if p.arrears_fen:
            months = describe_months(p.arrears_from, p.arrears_mask).replace("～", "、").split("、")
            if len(months) == 2 and p.arrears_months > 2:  # a range: expand it
                first = Period.parse(months[0])
                months = [str(first.add(k)) for k in range(p.arrears_months)]
            for m in months:
                got[(p.case_id, m)] = p.arrears_fen // p.arrears_months
    return got


def test_a_back_dated_raise_pays_arrears_case_by_case(session, county_officer, other_county_officer, city_admin):
    a = active_case(session, household(session, county_officer, members=3, income_yuan=300))
    d = active_case(session, household(session, county_officer, members=2, income_yuan=0), sanwu=True)
    b = active_case(session, household(session, other_county_officer, community="320707100001", hukou="农村",
                                       members=2, income_yuan=160))
    late = active_case(session, household(session, county_officer, members=1, income_yuan=0), start="2012-08")
    for month in (7, 8):
        _run_and_approve(session, county_officer, city_admin, Period(2012, month))
        _run_and_approve(session, other_county_officer, city_admin, Period(2012, month))

    set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=50000,
                 effective=date(2012, 7, 1), category="城镇")
    sep = run_cycle(session, actor=county_officer, program="dibao", period=Period(2012, 9))
    ganyu = run_cycle(session, actor=other_county_officer, program="dibao", period=Period(2012, 9))
    assert (ganyu.cases, ganyu.arrears_fen) == (1, 0)  # Ganyu's standard did not change

    lines = _lines(session, sep.cycle_id)
    assert _arrears_by_month(lines) == {
        (a.id, "2012-07"): 12200, (a.id, "2012-08"): 12200,  # (500−100)×3 + 25 − 1103 = 122
        (d.id, "2012-07"): 8000, (d.id, "2012-08"): 8000,    # 500×2 − 920
        (late.id, "2012-08"): 4000,                          # (500−0)×1 − 460, August only
    }
    assert b.id not in {p.case_id for p in lines}  # Ganyu's case is paid by Ganyu's cycle
    # One line per case: its September amount and both months of arrears together.
    assert [p.seq for p in lines] == [0, 0, 0]
    line = next(p for p in lines if p.case_id == a.id)
    assert (line.regular_fen, line.arrears_fen, line.amount_fen) == (122500, 24400, 146900)
    assert (line.arrears_from, line.arrears_mask, line.arrears_months) == ("2012-07", 0b11, 2)
    assert explain_payment(line) == ("(500−100)×3 + 分类施保 25（1人次） = 1225；补发 2012-07～2012-08：(500−100)×3 "
                                     "+ 分类施保 25（1人次） = 1225，已发 1103，每月补 122，共补 244（2个月）")
    one = next(p for p in lines if p.case_id == late.id)
    assert explain_payment(one) == "(500−0)×1 = 500；补发 2012-08：(500−0)×1 = 500，已发 460，补 40"
    assert sep.arrears_fen == 12200 * 2 + 8000 * 2 + 4000
    assert sep.total_fen == sum(p.amount_fen for p in lines)
    assert sep.cases == 3

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
    _run_and_approve(session, county_officer, city_admin, Period(2012, 8))        # 400 + July arrears 40
    set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=52000,
                 effective=date(2012, 7, 15), category="城镇")
    sep = run_cycle(session, actor=county_officer, program="dibao", period=Period(2012, 9))
    lines = [p for p in _lines(session, sep.cycle_id) if p.case_id == a.id]
    assert {k[1]: v for k, v in _arrears_by_month(lines).items()} == {"2012-07": 2000, "2012-08": 2000}
    assert len(lines) == 1 and lines[0].arrears_paid_fen == 40000  # July: 360 + 40; August: 400


def test_months_with_different_facts_get_their_own_line(session, county_officer, city_admin):
    hh = household(session, county_officer, members=2, income_yuan=200)
    a = active_case(session, hh)
    _run_and_approve(session, county_officer, city_admin, Period(2012, 7))        # (460−100)×2 = 720
    declare_income(session, actor=county_officer, household_id=hh.id, monthly_income_fen=40000)
    _run_and_approve(session, county_officer, city_admin, Period(2012, 8))        # (460−200)×2 = 520
    set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=50000,
                 effective=date(2012, 7, 1), category="城镇")
    sep = run_cycle(session, actor=county_officer, program="dibao", period=Period(2012, 9))
    lines = [p for p in _lines(session, sep.cycle_id) if p.case_id == a.id]
    assert [(p.seq, p.regular_fen, p.arrears_from, p.arrears_fen) for p in lines] == [
        (0, 60000, "2012-07", 8000),   # September (500−200)×2, and July's (500−100)×2 − 720
        (1, 0, "2012-08", 8000),       # August's own facts: (500−200)×2 − 520
    ]
    assert explain_payment(lines[1]) == "补发 2012-08：(500−200)×2 = 600，已发 520，补 80"
    assert sep.cases == 1 and sep.arrears_fen == 16000
    items = [(i.kind, i.for_period, i.amount_fen) for i, _, c in case_payment_items(session, a.id)
             if c.period == "2012-09"]
    assert items == [("regular", "2012-09", 60000), ("arrears", "2012-07", 8000), ("arrears", "2012-08", 8000)]


def test_a_month_not_paid_is_not_paid_arrears_and_the_mask_skips_it(session, county_officer, city_admin):
    a = active_case(session, household(session, county_officer, members=1, income_yuan=100))
    _run_and_approve(session, county_officer, city_admin, Period(2012, 7))
    case = session.get(Case, a.id)
    case.status = "suspended"
    session.flush()
    _run_and_approve(session, county_officer, city_admin, Period(2012, 8))        # not paid in August
    case.status = "active"
    session.flush()
    _run_and_approve(session, county_officer, city_admin, Period(2012, 9))
    set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=50000,
                 effective=date(2012, 7, 1), category="城镇")
    october = run_cycle(session, actor=county_officer, program="dibao", period=Period(2012, 10))
    line = next(p for p in _lines(session, october.cycle_id) if p.case_id == a.id)
    assert (line.arrears_from, line.arrears_mask, line.arrears_months, line.arrears_fen) == ("2012-07", 0b101, 2, 8000)
    assert "补发 2012-07、2012-09：" in explain_payment(line)


def test_arrears_for_a_case_not_paid_this_month_get_a_line_of_their_own(session, county_officer, city_admin):
    a = active_case(session, household(session, county_officer, members=1, income_yuan=100))
    _run_and_approve(session, county_officer, city_admin, Period(2012, 7))
    case = session.get(Case, a.id)
    case.status, case.end_period = "terminated", "2012-07"
    session.flush()
    set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=50000,
                 effective=date(2012, 7, 1), category="城镇")
    aug = run_cycle(session, actor=county_officer, program="dibao", period=Period(2012, 8))
    lines = _lines(session, aug.cycle_id)
    assert [(p.case_id, p.seq, p.regular_fen, p.arrears_fen, p.rule) for p in lines] == [(a.id, 0, 0, 4000, None)]
    assert aug.cases == 1 and aug.total_fen == 4000
    assert explain_payment(lines[0]) == "补发 2012-07：(500−100)×1 = 400，已发 360，补 40"


def test_a_cut_never_claws_back(session, county_officer, city_admin):
    active_case(session, household(session, county_officer, members=1, income_yuan=100))
    _run_and_approve(session, county_officer, city_admin, Period(2012, 7))
    set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=40000,
                 effective=date(2012, 7, 1), category="城镇")
    aug = run_cycle(session, actor=county_officer, program="dibao", period=Period(2012, 8))
    assert aug.arrears_fen == 0 and aug.total_fen == 30000


def _money_by_case(session, cycle_id):
    """{case: (amount, regular, arrears, {month: arrears of that month})} of a cycle's lines."""
    out = {}
    for p in _lines(session, cycle_id):
        amount, regular, arrears, months = out.get(p.case_id, (0, 0, 0, {}))
        for month, fen in _arrears_by_month([p]).items():
            months[month[1]] = months.get(month[1], 0) + fen
        out[p.case_id] = (amount + p.amount_fen, regular + p.regular_fen, arrears + p.arrears_fen, months)
    return out


def test_the_one_pass_arrears_agree_with_the_month_by_month_computation(session, county_officer, city_admin,
                                                                          monkeypatch):
    """A mixed population, paid by the one-pass path (cases whose months agree) and again, as a draft
    recomputed, by the month-by-month path for every case: the same fen for every case and month."""
    import random

    from minxin.programs import cycles
    from minxin.registry.models import Person

    rnd = random.Random(7)
    cases, changing, suspended, turning_adult = [], [], [], []
    for i in range(40):
        hh = household(session, county_officer, members=rnd.randint(1, 5), income_yuan=rnd.choice([0, 100, 300, 900]),
                       hukou=rnd.choice(["城镇", "农村"]))
        case = active_case(session, hh, sanwu=i % 11 == 0, start="2012-08" if i % 9 == 4 else "2012-01")
        cases.append(case)
        if i % 7 == 3:
            changing.append(hh)
        if i % 13 == 5:
            suspended.append(case)
        if i % 8 == 6 and len(hh.members) > 2:
            turning_adult.append(hh.members[2])  # 18 in August 2012: a minor in July and August only
    for person in turning_adult:
        session.get(Person, person.id).birth_date = date(1994, 8, 15)
    session.flush()
    _run_and_approve(session, county_officer, city_admin, Period(2012, 7))
    for hh in changing:  # income declared between the months
        declare_income(session, actor=county_officer, household_id=hh.id, monthly_income_fen=25000)
    for case in suspended:
        session.get(Case, case.id).status = "suspended"
    session.flush()
    _run_and_approve(session, county_officer, city_admin, Period(2012, 8))
    for case in suspended:
        session.get(Case, case.id).status = "active"
    session.flush()
    for category, fen in (("城镇", 50000), ("农村", 36000)):
        set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=fen,
                     effective=date(2012, 7, 1), category=category)

    one_pass = run_cycle(session, actor=county_officer, program="dibao", period=Period(2012, 9))
    fast = _money_by_case(session, one_pass.cycle_id)
    settled = [c for c, (_, _, arrears, months) in fast.items() if arrears and len(months) == 2]
    assert len(settled) > 15 and len(fast) > 30  # most cases paid both months by the one pass

    monkeypatch.setattr(cycles, "FAST_ARREARS_CYCLES", 0)  # every case month by month
    again = run_cycle(session, actor=county_officer, program="dibao", period=Period(2012, 9))
    assert again.cycle_id == one_pass.cycle_id
    assert _money_by_case(session, again.cycle_id) == fast
    assert (again.total_fen, again.arrears_fen, again.cases) == (one_pass.total_fen, one_pass.arrears_fen,
                                                                 one_pass.cases)
