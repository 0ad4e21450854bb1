"""医疗救助 rules by hand, without a database: residual, ratio, deductible, the annual cap, the rule book."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minxin.assistance.medical.rules import assess, explain, percent, rule_book
from minxin.core.errors import ValidationError

POLICY_RULES = [
    {"category": "低保", "kind": "门诊", "effective": "2012-01-01", "deductible_yuan": "0", "ratio_permille": 500,
     "annual_cap_yuan": "600"},
    {"category": "低保", "kind": "门诊", "effective": "2012-07-01", "deductible_yuan": "0", "ratio_permille": 500,
     "annual_cap_yuan": "1000"},
    {"category": "低保", "kind": "住院", "effective": "2012-01-01", "deductible_yuan": "300", "ratio_permille": 700,
     "annual_cap_yuan": "30000"},
]


def test_residual_after_insurance_and_deductible_times_the_ratio():
    a = assess(in_scope_fen=1_000_000, insurance_fen=600_000, serious_fen=100_000, deductible_fen=30_000,
               ratio_permille=700, cap_fen=3_000_000, used_before_fen=0)
    assert (a.residual_fen, a.raw_fen, a.assistance_fen) == (270_000, 189_000, 189_000)


def test_the_raw_amount_is_floored_to_the_fen():
    a = assess(in_scope_fen=10_001, insurance_fen=0, serious_fen=0, deductible_fen=0, ratio_permille=500,
               cap_fen=60_000, used_before_fen=0)
    assert a.raw_fen == 5_000  # 50.005 yuan


def test_a_burden_under_the_deductible_gets_nothing():
    a = assess(in_scope_fen=100_000, insurance_fen=80_000, serious_fen=0, deductible_fen=30_000, ratio_permille=700,
               cap_fen=3_000_000, used_before_fen=0)
    assert (a.residual_fen, a.raw_fen, a.assistance_fen) == (0, 0, 0)


def test_the_cap_leaves_only_what_is_left_of_the_year():
    first, second, third = (assess(in_scope_fen=60_000, insurance_fen=0, serious_fen=0, deductible_fen=0,
                                   ratio_permille=500, cap_fen=60_000, used_before_fen=used)
                            for used in (0, 30_000, 60_000))
    assert [first.assistance_fen, second.assistance_fen, third.assistance_fen] == [30_000, 30_000, 0]
    assert third.raw_fen == 30_000  # the raw amount is kept: the cap, not the formula, stopped it
    # A raised cap gives room again; a used amount above a lowered cap gives none (never negative).
    assert assess(in_scope_fen=60_000, insurance_fen=0, serious_fen=0, deductible_fen=0, ratio_permille=500,
                  cap_fen=100_000, used_before_fen=90_000).assistance_fen == 10_000
    assert assess(in_scope_fen=60_000, insurance_fen=0, serious_fen=0, deductible_fen=0, ratio_permille=500,
                  cap_fen=50_000, used_before_fen=60_000).assistance_fen == 0


@given(st.lists(st.tuples(st.integers(0, 10**8), st.integers(0, 10**8)), max_size=30),
       st.integers(0, 1000), st.integers(0, 10**7), st.integers(0, 10**6))
def test_a_year_of_visits_never_passes_the_cap_and_no_amount_is_negative(visits, ratio, cap, deductible):
    used = 0
    for in_scope, insurance in visits:
        a = assess(in_scope_fen=in_scope, insurance_fen=insurance, serious_fen=0, deductible_fen=deductible,
                   ratio_permille=ratio, cap_fen=cap, used_before_fen=used)
        assert 0 <= a.assistance_fen <= a.raw_fen <= a.residual_fen <= in_scope
        used += a.assistance_fen
        assert used <= cap


def test_the_explanation_is_checkable_by_hand():
    assert explain(status="assisted", in_scope_fen=150_000, insurance_fen=90_000, serious_fen=0, deductible_fen=0,
                   ratio_permille=700, cap_fen=100_000, used_before_fen=80_000, raw_fen=42_000,
                   assistance_fen=20_000) == "(1500−900−0−0)×70% = 420，年度封顶 1000 已用 800，救助 200"
    assert explain(status="assisted", in_scope_fen=100_000, insurance_fen=80_000, serious_fen=0,
                   deductible_fen=30_000, ratio_permille=700, cap_fen=3_000_000) == "(1000−800−0−300) ≤ 0，救助 0"
    assert explain(status="not_eligible", reason="不是低保家庭成员") == "不是低保家庭成员"
    assert (percent(700), percent(725), percent(1000)) == ("70%", "72.5%", "100%")


def test_the_rule_in_force_on_the_visit_date():
    book = rule_book(POLICY_RULES)
    assert book.earliest == date(2012, 1, 1)
    assert book.rule_for("低保", "门诊", date(2012, 6, 30)).cap_fen == 60_000
    assert book.rule_for("低保", "门诊", date(2012, 7, 1)).cap_fen == 100_000
    assert book.rule_for("低保", "住院", date(2013, 5, 1)).deductible_fen == 30_000
    assert book.rule_for("低保", "门诊", date(2011, 12, 31)) is None
    assert book.rule_for("五保", "门诊", date(2012, 3, 1)) is None


@pytest.mark.parametrize(("change", "message"), [
    ({"category": "低收入"}, "保障类别"),
    ({"kind": "急诊"}, "就诊类别"),
    ({"ratio_permille": 1200}, "ratio_permille"),
    ({"annual_cap_yuan": "-5"}, "无法解析"),
    ({"effective": "2012-13-01"}, "无法解析"),
])
def test_a_malformed_policy_rule_is_refused(change, message):
    with pytest.raises(ValidationError, match=message):
        rule_book([{**POLICY_RULES[0], **change}])


def test_two_rules_for_the_same_day_are_refused():
    with pytest.raises(ValidationError, match="已有一条规则"):
        rule_book([POLICY_RULES[0], POLICY_RULES[0]])


@given(st.one_of(
    st.from_regex(r"-?[0-9]{0,12}(\.[0-9]{0,3})?", fullmatch=True),
    st.text(alphabet="0123456789.,-+￥元 ٣", max_size=14),
    st.integers(-10**6, 10**12),
))
def test_the_fast_amount_path_agrees_with_parse_yuan(value):
    from minxin.assistance.medical.importer import _fen
    from minxin.core.money import parse_yuan

    try:
        expected = parse_yuan(value, field="总费用")
    except ValidationError:
        with pytest.raises(ValidationError):
            _fen(value, "总费用")
    else:
        assert _fen(value, "总费用") == expected
