"""Calendar months as value objects."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minxin.core.errors import ValidationError
from minxin.core.period import MAX_YEAR, MIN_YEAR, Period

periods = st.builds(
    Period, st.integers(min_value=MIN_YEAR, max_value=MAX_YEAR), st.integers(min_value=1, max_value=12)
)
inner_periods = st.builds(
    Period, st.integers(min_value=1950, max_value=2150), st.integers(min_value=1, max_value=12)
)


@pytest.mark.parametrize(
    "text",
    [
        "2012-07",
        "2012-7",
        "201207",
        "2012/07",
        "2012/7",
        " 2012-07 ",
        "2012.07",
        "２０１２－０７",
        "2012年7月",
    ],
)
def test_accepted_spellings_all_parse_to_july_2012(text: str) -> None:
    assert Period.parse(text) == Period(2012, 7)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2012",
        "2012-13",
        "2012-00",
        "12-07",
        "2012-007",
        "20127",
        "2012_07",
        "July 2012",
        "1899-12",
        "2201-01",
        "2012-07-01",
    ],
)
def test_malformed_or_out_of_range_text_is_rejected(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        Period.parse(text)
    assert info.value.field == "月份"


def test_parse_refuses_non_strings() -> None:
    with pytest.raises(ValidationError):
        Period.parse(201207)  # type: ignore[arg-type]


@pytest.mark.parametrize(("year", "month"), [(2012, 0), (2012, 13), (1899, 12), (2201, 1), (-1, 5)])
def test_constructor_validates_year_and_month(year: int, month: int) -> None:
    with pytest.raises(ValidationError):
        Period(year, month)


def test_constructor_refuses_non_integers() -> None:
    with pytest.raises(ValidationError):
        Period(2012, "7")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Period(2012, True)


def test_str_is_zero_padded_year_dash_month() -> None:
    assert str(Period(2012, 7)) == "2012-07"
    assert f"{Period(2012, 12)}" == "2012-12"


def test_periods_order_chronologically_and_hash_by_value() -> None:
    assert Period(2011, 12) < Period(2012, 1) < Period(2012, 2)
    assert sorted([Period(2013, 1), Period(2012, 7), Period(2012, 12)]) == [
        Period(2012, 7),
        Period(2012, 12),
        Period(2013, 1),
    ]
    assert len({Period(2012, 7), Period.parse("2012-7")}) == 1


def test_periods_are_immutable() -> None:
    p = Period(2012, 7)
    with pytest.raises(AttributeError):
        p.month = 8  # type: ignore[misc]


def test_next_and_prev_cross_year_boundaries() -> None:
    assert Period(2012, 12).next() == Period(2013, 1)
    assert Period(2013, 1).prev() == Period(2012, 12)
    assert Period(2012, 7).next() == Period(2012, 8)


def test_add_moves_by_whole_months_in_both_directions() -> None:
    assert Period(2012, 7).add(6) == Period(2013, 1)
    assert Period(2012, 7).add(-7) == Period(2011, 12)
    assert Period(2012, 7).add(0) == Period(2012, 7)
    assert Period(2012, 7).add(24) == Period(2014, 7)


def test_moving_outside_the_supported_years_is_an_error() -> None:
    with pytest.raises(ValidationError):
        Period(MAX_YEAR, 12).next()
    with pytest.raises(ValidationError):
        Period(MIN_YEAR, 1).prev()


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [
        (Period(2012, 2), date(2012, 2, 1), date(2012, 2, 29)),
        (Period(2013, 2), date(2013, 2, 1), date(2013, 2, 28)),
        (Period(1900, 2), date(1900, 2, 1), date(1900, 2, 28)),
        (Period(2000, 2), date(2000, 2, 1), date(2000, 2, 29)),
        (Period(2012, 12), date(2012, 12, 1), date(2012, 12, 31)),
        (Period(2012, 4), date(2012, 4, 1), date(2012, 4, 30)),
    ],
)
def test_first_and_last_day_respect_month_lengths_and_leap_years(
    period: Period, first: date, last: date
) -> None:
    assert period.first_day() == first
    assert period.last_day() == last


def test_of_gives_the_month_containing_a_day() -> None:
    assert Period.of(date(2012, 7, 31)) == Period(2012, 7)


def test_months_until_is_signed() -> None:
    assert Period(2012, 7).months_until(Period(2012, 9)) == 2
    assert Period(2012, 9).months_until(Period(2012, 7)) == -2
    assert Period(2012, 7).months_until(Period(2013, 7)) == 12


def test_range_includes_both_ends() -> None:
    assert Period.range(Period(2012, 11), Period(2013, 2)) == [
        Period(2012, 11),
        Period(2012, 12),
        Period(2013, 1),
        Period(2013, 2),
    ]
    assert Period.range(Period(2012, 7), Period(2012, 7)) == [Period(2012, 7)]


def test_range_is_empty_when_end_precedes_start() -> None:
    assert Period.range(Period(2012, 8), Period(2012, 7)) == []


def test_index_counts_months_from_year_zero() -> None:
    assert Period(2012, 7).index == 2012 * 12 + 6
    assert Period.from_index(2012 * 12 + 6) == Period(2012, 7)
    assert Period.from_index(2012 * 12) == Period(2012, 1)
    assert Period.from_index(2012 * 12 - 1) == Period(2011, 12)


@given(periods)
def test_from_index_inverts_index(p: Period) -> None:
    assert Period.from_index(p.index) == p


@given(periods)
def test_str_then_parse_round_trips(p: Period) -> None:
    assert Period.parse(str(p)) == p


@given(inner_periods, st.integers(min_value=-500, max_value=500))
def test_add_then_subtract_returns_the_same_month(p: Period, n: int) -> None:
    assert p.add(n).add(-n) == p
    assert p.months_until(p.add(n)) == n


@given(inner_periods)
def test_next_then_prev_is_identity_and_next_is_later(p: Period) -> None:
    assert p.next().prev() == p
    assert p < p.next()


@given(periods)
def test_last_day_is_the_day_before_the_next_months_first_day(p: Period) -> None:
    if p == Period(MAX_YEAR, 12):
        assert p.last_day() == date(MAX_YEAR, 12, 31)
    else:
        assert p.last_day() == p.next().first_day() - timedelta(days=1)
    assert Period.of(p.first_day()) == p == Period.of(p.last_day())


@given(inner_periods, inner_periods)
def test_range_length_matches_months_until(a: Period, b: Period) -> None:
    months = Period.range(a, b)
    assert len(months) == max(0, a.months_until(b) + 1)
    assert months == sorted(months)


@given(inner_periods, inner_periods)
def test_order_agrees_with_index(a: Period, b: Period) -> None:
    assert (a < b) == (a.index < b.index)
