"""The engine's own rules: arrears months and their wording, by hand-worked examples."""

from __future__ import annotations

import pytest

from minxin.programs.calculator import LineFacts
from minxin.programs.rules import describe_months, explain_arrears, explain_carryover, mask_offsets


def test_arrears_and_carryover_explanations_use_the_calculator_of_the_rule():
    facts = LineFacts(rule="gap", standard_fen=50000, income_fen=30000, members=3, units=1, addon_fen=0,
                      addon_persons=0)
    assert explain_arrears(first="2012-07", mask=1, months=1, amount_fen=12000, facts=facts, paid_fen=108000) == \
        "补发 2012-07：(500−100)×3 = 1200，已发 1080，补 120"
    assert explain_arrears(first="2012-11", mask=0b111, months=3, amount_fen=36000, facts=facts,
                           paid_fen=108000) == \
        "补发 2012-11～2013-01：(500−100)×3 = 1200，已发 1080，每月补 120，共补 360（3个月）"
    annual = LineFacts(rule="wubao", standard_fen=500500, income_fen=0, members=1, units=1, addon_fen=0,
                       addon_persons=0)
    assert explain_arrears(first="2012-07", mask=1, months=1, amount_fen=500, facts=annual, paid_fen=41208) == \
        "补发 2012-07：年标准 5005 ÷ 12 = 417.08，已发 412.08，补 5"
    assert explain_carryover(periods=["2012-07"], amount_fen=108000) == "重发 2012-07 未成功发放的款项 1080"


@pytest.mark.parametrize(("first", "mask", "text"), [
    ("2012-07", 0b1, "2012-07"), ("2012-12", 0b11, "2012-12～2013-01"), ("2012-07", 0b101, "2012-07、2012-09"),
    ("2012-01", (1 << 60) - 1, "2012-01～2016-12"),
])
def test_arrears_months_read_from_the_mask(first, mask, text):
    assert describe_months(first, mask) == text
    assert len(mask_offsets(mask)) == bin(mask).count("1")
