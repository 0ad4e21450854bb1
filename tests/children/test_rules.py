"""The orphans' allowance as a pure rule: to the month of the 18th birthday, never after, never negative."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from minxin.children.rules import explain, last_paid_month, monthly_allowance
from minxin.core.period import Period


def test_the_last_paid_month_is_the_month_of_the_18th_birthday():
    assert last_paid_month(date(1996, 5, 10)) == Period(2014, 5)
    assert last_paid_month(date(2000, 2, 29)) == Period(2018, 2)


def test_the_birthday_month_pays_the_standard_and_the_month_after_nothing():
    birth = date(1996, 5, 31)
    assert monthly_allowance(standard_fen=60000, birth=birth, period=Period(2014, 5)) == 60000
    assert monthly_allowance(standard_fen=60000, birth=birth, period=Period(2014, 6)) == 0


def test_the_explanation_names_placement_standard_and_the_last_month():
    assert explain(category="社会散居", standard_fen=60000, last_month="2014-05") == \
        "社会散居 标准 600（未满18周岁，至 2014-05）"


@settings(deadline=None)  # a shared, busy machine: time is no property of the rule
@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2012, 12, 31)), st.integers(0, 10**7),
       st.integers(2008, 2035), st.integers(1, 12))
def test_an_allowance_is_the_standard_or_nothing_and_stops_for_good(birth, standard, year, month):
    period = Period(year, month)
    paid = monthly_allowance(standard_fen=standard, birth=birth, period=period)
    assert paid in (0, standard)
    if paid == 0 and standard > 0:
        assert monthly_allowance(standard_fen=standard, birth=birth, period=period.add(1)) == 0
