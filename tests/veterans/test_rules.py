"""The 优抚 rules as pure functions, and the cycle's SQL held to them on a random population."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from tests.factories import new_id

from minxin.core.errors import ValidationError
from minxin.core.period import Period
from minxin.programs.cycles import run_cycle
from minxin.programs.models import Case, Payment
from minxin.programs.service import set_standard
from minxin.veterans import rules
from minxin.veterans.calculator import policy_supplements
from minxin.veterans.importer import import_veterans
from minxin.veterans.models import VeteranRecipient


def test_a_month_pays_a_twelfth_and_december_what_is_left():
    # 4730 yuan a year: 473000 ÷ 12 = 39416.67 → 39416; December 473000 − 11 × 39416 = 39424.
    assert [rules.monthly_fen(473000, m) for m in (1, 11, 12)] == [39416, 39416, 39424]
    # Per year of service: 120 yuan × 10 years → 1000 a month, December (12000 − 11×1000) × 10 = 10000.
    assert rules.monthly_fen(12000, 12, years=10) == 10000
    assert rules.monthly_fen(12500, 3, years=7, supplement_fen=2000) == 1041 * 7 + 2000


@given(annual=st.integers(min_value=0, max_value=10**8), years=st.none() | st.integers(min_value=1, max_value=60))
def test_every_calendar_year_pays_exactly_the_annual_standard(annual, years):
    total = sum(rules.monthly_fen(annual, m, years=years) for m in range(1, 13))
    assert total == annual * (years or 1)
    assert all(rules.monthly_fen(annual, m, years=years) >= 0 for m in range(1, 13))


@given(low=st.integers(min_value=0, max_value=10**7), raise_=st.integers(min_value=0, max_value=10**6),
       month=st.integers(min_value=1, max_value=11))
def test_a_raise_never_lowers_a_month_before_december_nor_the_year(low, raise_, month):
    # December alone may pay less after a raise (12 fen a year: 1 a month, December 12 − 11 = 1; 11 fen a
    # year: 0 a month, December 11): it completes the year, and the year never pays less.
    assert rules.monthly_fen(low + raise_, month) >= rules.monthly_fen(low, month)
    assert sum(rules.monthly_fen(low + raise_, m) for m in range(1, 13)) >= \
        sum(rules.monthly_fen(low, m) for m in range(1, 13))


@pytest.mark.parametrize(("category", "sub", "code"), [
    ("残疾军人", "一级/因战", "残疾军人/一级/因战"), ("残疾军人", "十级 / 因病", "残疾军人/十级/因病"),
    ("残疾军人/三级/因公", "", "残疾军人/三级/因公"), ("在乡复员军人", "解放战争时期", "在乡复员军人/解放战争时期"),
    ("烈士遗属", "", "烈士遗属"), ("60周岁以上农村籍退役士兵", "", "60周岁以上农村籍退役士兵"),
])
def test_categories_and_their_sub_kinds_read_as_case_categories(category, sub, code):
    assert rules.parse_category(category, sub).code == code
    assert len(code) <= 16  # fits cases.category and standards.category


@pytest.mark.parametrize(("category", "sub", "field"), [
    ("残疾军人", "十一级/因战", "子类"), ("残疾军人", "一级", "子类"), ("残疾军人", "", "子类"),
    ("烈士遗属", "一级/因战", "子类"), ("在乡复员军人", "民国时期", "子类"), ("军属", "", "优抚类别"),
])
def test_a_wrong_category_or_sub_kind_names_its_column(category, sub, field):
    with pytest.raises(ValidationError) as exc:
        rules.parse_category(category, sub)
    assert exc.value.field == field


def test_the_explanation_shows_the_rate_the_years_and_the_supplement():
    assert rules.explain(rule="youfu_yr", annual_fen=12000, years=10, supplement_fen=3000, amount_fen=13000) == \
        "年标准 120 ÷ 12 × 服役 10 年 + 地方补助 30 = 130"


def test_the_most_specific_supplement_applies():
    items = [rules.Supplement("320700", "", 1000, date(2012, 1, 1)),
             rules.Supplement("320706", "残疾军人", 2000, date(2012, 1, 1)),
             rules.Supplement("320706", "残疾军人", 2500, date(2013, 1, 1))]
    on = date(2013, 5, 31)
    assert rules.supplement_fen(items, region_code="320706006001", category="残疾军人/一级/因战", on=on) == 2500
    assert rules.supplement_fen(items, region_code="320706006001", category="烈士遗属", on=on) == 1000
    assert rules.supplement_fen(items, region_code="320707100001", category="残疾军人/一级/因战",
                                on=date(2011, 1, 31)) == 0


def test_the_cycle_sql_agrees_with_the_rule_on_a_random_population(session, county_officer, supplement_policy):
    rnd = random.Random(13)
    cats = ["残疾军人/二级/因战", "残疾军人/五级/因病", "烈士遗属", "在乡复员军人/解放战争时期",
            "60周岁以上农村籍退役士兵", "参战参试退役人员"]
    annual = {c: rnd.randint(100_000, 6_000_000) for c in cats}
    for c, fen in annual.items():
        set_standard(session, actor=county_officer, program="youfu", region_code="320706", amount_fen=fen,
                     effective=date(2012, 12, 1), category=c)
    rows, expected_years = [], {}
    for i in range(60):
        c = rnd.choice(cats)
        top, _, sub = c.partition("/")
        years = rnd.randint(1, 40) if c == rules.PER_YEAR else None
        number = new_id(date(1930 + rnd.randint(0, 20), 1 + rnd.randint(0, 11), 1))
        community = rnd.choice(["320706006001", "320706006002"])
        rows.append(f"人{'甲乙丙丁戊己庚辛'[i % 8]},{number},{community},{top},{sub},2013-01,6222000000000{i:05d},"
                    f"{years or ''}")
        expected_years[number] = years
    data = ("姓名,身份证号,社区代码,优抚类别,子类,开始月份,账号,服役年限\n" + "\n".join(rows) + "\n").encode()
    res = import_veterans(session, actor=county_officer, data=data, filename="r.csv")
    assert res.ok, [str(e) for e in res.errors]
    supplements = policy_supplements()
    for month in (5, 12):
        period = Period(2013, month)
        s = run_cycle(session, actor=county_officer, program="youfu", period=period)
        lines = {p.case_id: p for p in session.execute(select(Payment).where(Payment.cycle_id == s.cycle_id)).scalars()}
        cases = session.execute(select(Case, VeteranRecipient.service_years).join(
            VeteranRecipient, VeteranRecipient.case_id == Case.id)).all()
        assert len(lines) == len(cases) == 60
        for case, years in cases:
            want = rules.monthly_fen(annual[case.category], month, years=years, supplement_fen=rules.supplement_fen(
                supplements, region_code=case.region_code, category=case.category, on=period.last_day()))
            assert lines[case.id].amount_fen == want, (case.category, years, month)
