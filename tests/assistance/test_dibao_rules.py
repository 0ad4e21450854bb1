"""低保 entitlement, by hand-worked examples and by properties that hold for every household."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minxin.assistance.dibao.rules import Addon, DibaoParams, HouseholdFacts, dibao_entitlement

STD = 46000  # 460 yuan


@pytest.mark.parametrize(("members", "income", "amount", "text"), [
    (3, 30000, 108000, "(460−100)×3 = 1080"),        # per-capita 100
    (1, 0, 46000, "(460−0)×1 = 460"),
    (2, 50000, 42000, "(460−250)×2 = 420"),
    (3, 10000, 128001, "(460−33.33)×3 = 1280.01"),    # per-capita floored to the fen
    (4, 184000, 0, "(460−460)×4 ≤ 0，不予发放"),        # exactly at the standard: nothing
    (2, 200000, 0, "(460−1000)×2 ≤ 0，不予发放"),
])
def test_the_gap_formula_by_hand(members, income, amount, text):
    e = dibao_entitlement(HouseholdFacts(members=members, income_fen=income), DibaoParams(standard_fen=STD))
    assert e.amount_fen == amount
    assert e.explanation == text


def test_sanwu_households_get_the_full_standard():
    e = dibao_entitlement(HouseholdFacts(members=2, income_fen=9999, sanwu=True), DibaoParams(standard_fen=STD))
    assert e.amount_fen == 92000 and e.rule == "sanwu"
    assert e.explanation == "三无人员全额 460×2 = 920"


def test_a_small_gap_is_raised_to_the_minimum_share():
    params = DibaoParams(standard_fen=STD, min_permille=200)  # 20% of 460 = 92 per person
    e = dibao_entitlement(HouseholdFacts(members=2, income_fen=2 * 44000), params)  # gap 20
    assert e.amount_fen == 18400 and e.rule == "minimum"
    assert e.explanation == "差额不足保底，按保底 92×2 = 184"


def test_addons_are_paid_per_qualifying_member_to_recipients_only():
    params = DibaoParams(standard_fen=STD, addons=(Addon("elderly", 100, 70), Addon("disabled", 150)))
    facts = HouseholdFacts(members=3, income_fen=30000, addon_counts={"elderly": 1, "disabled": 1})
    e = dibao_entitlement(facts, params)
    assert e.amount_fen == 108000 + 4600 + 6900
    assert e.explanation == "(460−100)×3 + 分类施保 115（2人次） = 1195"
    rich = HouseholdFacts(members=1, income_fen=100000, addon_counts={"elderly": 1})
    assert dibao_entitlement(rich, params).amount_fen == 0


facts_st = st.builds(
    HouseholdFacts, members=st.integers(1, 12), income_fen=st.integers(0, 5_000_000), sanwu=st.booleans(),
    addon_counts=st.fixed_dictionaries({"elderly": st.integers(0, 3), "minor": st.integers(0, 3)}),
)
params_st = st.builds(
    DibaoParams, standard_fen=st.integers(0, 200_000), min_permille=st.integers(0, 500),
    addons=st.just((Addon("elderly", 100, 70), Addon("minor", 50))),
)


@given(facts_st, params_st)
def test_an_amount_is_never_negative(facts, params):
    assert dibao_entitlement(facts, params).amount_fen >= 0


@given(facts_st, params_st, st.integers(0, 100_000))
def test_a_raise_never_lowers_a_payment(facts, params, raise_by):
    higher = DibaoParams(standard_fen=params.standard_fen + raise_by, min_permille=params.min_permille,
                         addons=params.addons)
    assert dibao_entitlement(facts, higher).amount_fen >= dibao_entitlement(facts, params).amount_fen


@given(facts_st, params_st)
def test_the_explanation_ends_with_the_amount_paid(facts, params):
    e = dibao_entitlement(facts, params)
    if e.amount_fen:
        from minxin.core.money import fen_to_yuan_compact

        assert e.explanation.endswith(f"= {fen_to_yuan_compact(e.amount_fen)}")
