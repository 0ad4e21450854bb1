"""Money in integer fen: parsing yuan input and formatting it back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minxin.core.errors import ValidationError
from minxin.core.money import (
    MAX_FEN,
    fen_to_yuan_compact,
    format_yuan,
    format_yuan_display,
    parse_yuan,
)

fen_amounts = st.integers(min_value=-MAX_FEN, max_value=MAX_FEN)


def reason(value: str | int | float | Decimal) -> str:
    with pytest.raises(ValidationError) as info:
        parse_yuan(value)
    assert info.value.field == "金额"
    return info.value.message


# --- parsing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("460.5", 46050),
        ("460", 46000),
        ("460.", 46000),
        ("460.55", 46055),
        (".5", 50),
        ("0", 0),
        ("0.01", 1),
        ("1,234.56", 123456),
        ("1,234,567.89", 123456789),
        (" 12 ", 1200),
        ("￥12", 1200),
        ("¥12", 1200),
        ("¥ 12.30", 1230),
        ("12元", 1200),
        ("RMB 12", 1200),
        ("１２３．４５", 12345),
        ("１，２３４", 123400),
        ("+12", 1200),
        ("012", 1200),
        ("460.500", 46050),
    ],
)
def test_text_amounts_are_read_as_yuan(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(("value", "fen"), [(460, 46000), (0, 0), (10**10, MAX_FEN)])
def test_ints_are_whole_yuan(value: int, fen: int) -> None:
    assert parse_yuan(value) == fen


@pytest.mark.parametrize(("value", "fen"), [(460.5, 46050), (460.0, 46000), (0.1, 10), (1234.56, 123456)])
def test_floats_from_spreadsheets_go_through_their_shortest_repr(value: float, fen: int) -> None:
    assert parse_yuan(value) == fen


def test_float_arithmetic_noise_is_rejected_as_too_many_decimals() -> None:
    assert "2 decimal places" in reason(0.1 + 0.2)


@pytest.mark.parametrize(("value", "fen"), [(Decimal("460.5"), 46050), (Decimal("1E+2"), 10000)])
def test_decimals_are_accepted(value: Decimal, fen: int) -> None:
    assert parse_yuan(value) == fen


@pytest.mark.parametrize("value", ["1.005", "0.001", Decimal("0.125"), 1.001, Decimal("1E-40")])
def test_more_than_two_decimal_places_are_rejected(value: str | float | Decimal) -> None:
    assert "2 decimal places" in reason(value)


@pytest.mark.parametrize(
    "text",
    ["abc", "12abc", "1.2.3", "--5", "-+5", "1e3", "0x10", "1,23", "12,34.5", "1,2345", ",123", "¥", "١٢"],
)
def test_non_numeric_text_is_rejected(text: str) -> None:
    assert "not a number" in reason(text)


@pytest.mark.parametrize("text", ["", "   ", "\u3000"])
def test_empty_text_is_rejected(text: str) -> None:
    assert "empty" in reason(text)


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), float("-inf"), Decimal("NaN"), Decimal("Infinity")]
)
def test_nan_and_infinity_are_rejected(value: float | Decimal) -> None:
    assert "NaN" in reason(value)


@pytest.mark.parametrize("text", ["NaN", "inf", "Infinity"])
def test_nan_and_infinity_as_text_are_rejected(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_yuan(text)


@pytest.mark.parametrize("value", ["-1", "-0.01", "−5", "￥-12", "-￥12", -3, -0.5, Decimal("-1")])
def test_negative_amounts_are_rejected_by_default(value: str | int | float | Decimal) -> None:
    assert "negative" in reason(value)


@pytest.mark.parametrize(
    ("value", "fen"), [("-1", -100), ("−0.05", -5), ("￥-12", -1200), ("-￥12", -1200), (-3, -300)]
)
def test_negative_amounts_are_accepted_when_allowed(value: str | int, fen: int) -> None:
    assert parse_yuan(value, allow_negative=True) == fen


def test_negative_zero_is_just_zero() -> None:
    assert parse_yuan("-0") == 0


@pytest.mark.parametrize("value", ["10000000000.01", 10**10 + 1, 1e300, Decimal("1E+999999"), "9" * 40])
def test_absurdly_large_amounts_are_rejected(value: str | int | float | Decimal) -> None:
    assert "too large" in reason(value)


def test_the_largest_amount_is_exactly_ten_billion_yuan() -> None:
    assert parse_yuan("10000000000") == MAX_FEN
    assert parse_yuan("-10000000000", allow_negative=True) == -MAX_FEN


def test_very_long_text_is_rejected_without_heavy_work() -> None:
    assert "too long" in reason("1" * 10_000)


def test_booleans_are_not_amounts() -> None:
    with pytest.raises(ValidationError):
        parse_yuan(True)


def test_unsupported_types_are_rejected() -> None:
    with pytest.raises(ValidationError):
        parse_yuan([1])  # type: ignore[arg-type]


def test_error_names_the_field_given_by_the_caller() -> None:
    with pytest.raises(ValidationError) as info:
        parse_yuan("x", field="家庭月收入")
    assert info.value.field == "家庭月收入"


# --- formatting ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (46050, "460.50"),
        (46000, "460.00"),
        (-5, "-0.05"),
        (0, "0.00"),
        (123456789, "1234567.89"),
        (7, "0.07"),
    ],
)
def test_format_yuan_has_two_decimals_and_no_separators(fen: int, text: str) -> None:
    assert format_yuan(fen) == text


@pytest.mark.parametrize(
    ("fen", "text"),
    [(123456789, "1,234,567.89"), (46050, "460.50"), (-123456789, "-1,234,567.89"), (100000, "1,000.00")],
)
def test_format_yuan_display_groups_thousands(fen: int, text: str) -> None:
    assert format_yuan_display(fen) == text


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (46000, "460"),
        (46050, "460.5"),
        (46055, "460.55"),
        (5, "0.05"),
        (50, "0.5"),
        (0, "0"),
        (-10000, "-100"),
    ],
)
def test_compact_yuan_drops_trailing_zeros(fen: int, text: str) -> None:
    assert fen_to_yuan_compact(fen) == text


@pytest.mark.parametrize("formatter", [format_yuan, format_yuan_display, fen_to_yuan_compact])
def test_formatters_refuse_non_integers(formatter: object) -> None:
    assert callable(formatter)
    with pytest.raises(TypeError):
        formatter(1.5)
    with pytest.raises(TypeError):
        formatter(True)


@given(fen_amounts)
def test_format_then_parse_round_trips(fen: int) -> None:
    assert parse_yuan(format_yuan(fen), allow_negative=True) == fen


@given(fen_amounts)
def test_display_format_then_parse_round_trips(fen: int) -> None:
    assert parse_yuan(format_yuan_display(fen), allow_negative=True) == fen


@given(fen_amounts)
def test_compact_format_then_parse_round_trips(fen: int) -> None:
    assert parse_yuan(fen_to_yuan_compact(fen), allow_negative=True) == fen


@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_float_of_a_two_decimal_amount_parses_exactly(fen: int) -> None:
    assert parse_yuan(float(format_yuan(fen))) == fen


@given(st.one_of(st.text(max_size=30), st.floats(), st.integers(), st.decimals()))
def test_any_input_either_parses_within_bounds_or_raises_validation_error(
    value: str | float | int | Decimal,
) -> None:
    try:
        fen = parse_yuan(value, allow_negative=True)
    except ValidationError:
        return
    assert -MAX_FEN <= fen <= MAX_FEN
