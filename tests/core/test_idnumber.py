"""Resident ID numbers, GB 11643-1999 (examples from DOMAIN.md section 7.1)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minxin.core.errors import MinxinError, ValidationError
from minxin.core.idnumber import (
    CHECK_CHARS,
    CHINA_TZ,
    WEIGHTS,
    IdInfo,
    check_char,
    is_valid_id,
    make_id,
    normalize_id,
    parse_id,
    region_name_for,
)

TODAY = date(2013, 6, 1)

PUBLISHED = [
    ("11010519491231002X", date(1949, 12, 31), "F", "110105"),
    ("440524188001010014", date(1880, 1, 1), "M", "440524"),
    ("34052419800101001X", date(1980, 1, 1), "M", "340524"),
]

REGIONS = [
    "110105",
    "440524",
    "340524",
    "320102",
    "321302",
    "320700",
    "320701",
    "320702",
    "320703",
    "320704",
    "320705",
    "320706",
    "320707",
    "320721",
    "320722",
    "320723",
    "320724",
    "650102",
    "710000",
    "810000",
    "820000",
]

birth_dates = st.dates(min_value=date(1880, 1, 1), max_value=TODAY)
valid_ids = st.builds(make_id, st.sampled_from(REGIONS), birth_dates, st.integers(min_value=0, max_value=999))


def reason(raw: str) -> str:
    with pytest.raises(ValidationError) as info:
        normalize_id(raw, today=TODAY)
    assert info.value.field == "身份证号"
    return info.value.message


# --- check character ---------------------------------------------------------


def test_weights_are_powers_of_two_mod_eleven() -> None:
    assert tuple(pow(2, 17 - i, 11) for i in range(17)) == WEIGHTS


@pytest.mark.parametrize(("number", "birth", "sex", "region"), PUBLISHED)
def test_published_examples_have_the_right_check_char(
    number: str, birth: date, sex: str, region: str
) -> None:
    assert check_char(number[:17]) == number[17]


def test_check_char_maps_remainders_through_10x98765432() -> None:
    assert CHECK_CHARS == "10X98765432"
    assert check_char("00000000000000000") == "1"


@pytest.mark.parametrize("bad", ["", "1234", "1101051949123100２", "11010519491231002X", "a" * 17])
def test_check_char_refuses_anything_but_17_ascii_digits(bad: str) -> None:
    with pytest.raises(ValidationError):
        check_char(bad)


# --- normalization -------------------------------------------------------------


@pytest.mark.parametrize(("number", "birth", "sex", "region"), PUBLISHED)
def test_published_examples_are_valid_and_parse(number: str, birth: date, sex: str, region: str) -> None:
    info = parse_id(number, today=TODAY)
    assert info == IdInfo(number=number, birth_date=birth, sex=sex, region_code=region)
    assert is_valid_id(number, today=TODAY)


def test_legacy_15_digit_number_is_upgraded() -> None:
    assert normalize_id("110105491231002", today=TODAY) == "11010519491231002X"


def test_lower_case_x_is_upper_cased() -> None:
    assert normalize_id("11010519491231002x", today=TODAY) == "11010519491231002X"


def test_full_width_digits_and_x_are_converted() -> None:
    assert normalize_id("１１０１０５１９４９１２３１００２Ｘ", today=TODAY) == "11010519491231002X"
    assert normalize_id("１１０１０５１９４９１２３１００２ｘ", today=TODAY) == "11010519491231002X"


def test_spaces_anywhere_are_removed_including_ideographic_ones() -> None:
    raw = " 110105 1949\u30001231\t002X\n"
    assert normalize_id(raw, today=TODAY) == "11010519491231002X"
    assert normalize_id("110105　491231　002", today=TODAY) == "11010519491231002X"


def test_zero_width_characters_from_copy_paste_are_removed() -> None:
    assert normalize_id("\ufeff11010519491231002\u200bX", today=TODAY) == "11010519491231002X"


# --- rejection reasons -----------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "   ", "\u3000"])
def test_empty_input_is_rejected_as_empty(raw: str) -> None:
    assert "为空" in reason(raw)


@pytest.mark.parametrize("raw", ["1101051949123100", "11010519491231002X1", "123"])
def test_wrong_length_is_rejected_with_the_actual_length(raw: str) -> None:
    message = reason(raw)
    assert "wrong length" in message
    assert str(len(raw)) in message


@pytest.mark.parametrize(
    "raw",
    ["11010519491231002Y", "1101051949-231002X", "11010519491231002?", "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X"],
)
def test_illegal_characters_are_rejected(raw: str) -> None:
    assert "illegal character" in reason(raw)


@pytest.mark.parametrize("raw", ["X10105194912310021", "11010549123100X", "1101051949123100XX"])
def test_x_is_only_allowed_as_the_check_character(raw: str) -> None:
    message = reason(raw)
    assert "X" in message


def test_bad_check_char_reports_the_expected_one() -> None:
    message = reason("110105194912310021")
    assert "bad check digit" in message
    assert "应为X" in message


def test_error_messages_do_not_echo_the_id_number() -> None:
    assert "110105194912310021" not in reason("110105194912310021")


@pytest.mark.parametrize(
    "first17",
    ["11010519491331002", "11010519490230002", "11010519490001002", "11010519000229002"],
)
def test_impossible_birth_dates_are_rejected(first17: str) -> None:
    assert "impossible birth date" in reason(first17 + check_char(first17))


def test_leap_day_birth_is_accepted_in_a_leap_year() -> None:
    number = make_id("320706", date(2000, 2, 29), 11)
    assert parse_id(number, today=TODAY).birth_date == date(2000, 2, 29)


def test_birth_before_1880_is_rejected() -> None:
    first17 = "44052418791231001"
    assert "1880" in reason(first17 + check_char(first17))


def test_birth_in_the_future_is_rejected_relative_to_today() -> None:
    number = make_id("320706", date(2013, 6, 2), 1)
    assert "future" in reason(number)
    assert normalize_id(number, today=date(2013, 6, 2)) == number


def test_birth_today_is_accepted() -> None:
    number = make_id("320706", TODAY, 2)
    assert parse_id(number, today=TODAY).birth_date == TODAY


def test_today_defaults_to_the_current_date() -> None:
    assert is_valid_id("11010519491231002X")
    future = make_id("320706", date(9999, 1, 1), 1)
    assert not is_valid_id(future)


@pytest.mark.parametrize("region", ["000000", "160101", "990000", "321401", "720101", "830000"])
def test_unknown_province_or_prefecture_codes_are_rejected(region: str) -> None:
    first17 = region + "19800101001"
    assert "unknown region code" in reason(first17 + check_char(first17))


@pytest.mark.parametrize("county", ["320708", "320725", "320771", "320799"])
def test_lianyungang_codes_outside_the_historical_list_are_rejected(county: str) -> None:
    first17 = county + "19800101001"
    assert "unknown region code" in reason(first17 + check_char(first17))


@pytest.mark.parametrize(
    "county",
    [
        "320700",
        "320701",
        "320702",
        "320703",
        "320704",
        "320705",
        "320706",
        "320707",
        "320721",
        "320722",
        "320723",
        "320724",
    ],
)
def test_abolished_lianyungang_codes_stay_valid(county: str) -> None:
    assert is_valid_id(make_id(county, date(1960, 5, 5), 7), today=TODAY)


@pytest.mark.parametrize("prefecture", [f"32{n:02d}" for n in range(1, 14)])
def test_every_jiangsu_prefecture_is_accepted(prefecture: str) -> None:
    assert is_valid_id(make_id(prefecture + "02", date(1960, 5, 5), 7), today=TODAY)


def test_legacy_numbers_go_through_the_same_checks() -> None:
    assert "impossible birth date" in reason("110105491331002")
    assert "unknown region code" in reason("990105491231002")


def test_validation_error_is_a_minxin_error_with_a_field() -> None:
    with pytest.raises(MinxinError) as info:
        normalize_id("1", today=TODAY)
    assert isinstance(info.value, ValidationError)
    assert info.value.field == "身份证号"
    assert str(info.value) == info.value.message


def test_is_valid_id_answers_false_for_non_strings() -> None:
    assert not is_valid_id(None)
    assert not is_valid_id(11010519491231002)


# --- derived facts -------------------------------------------------------------


def test_odd_sequence_digit_is_male_and_even_is_female() -> None:
    assert parse_id(make_id("320706", date(1990, 1, 1), 1), today=TODAY).sex == "M"
    assert parse_id(make_id("320706", date(1990, 1, 1), 2), today=TODAY).sex == "F"
    assert parse_id(make_id("320706", date(1990, 1, 1), 0), today=TODAY).sex == "F"


def test_age_counts_full_years_turning_on_the_birthday() -> None:
    info = parse_id("11010519491231002X", today=TODAY)
    assert info.age_on(date(2012, 12, 30)) == 62
    assert info.age_on(date(2012, 12, 31)) == 63
    assert info.age_on(date(1949, 12, 31)) == 0


def test_age_of_a_leap_day_baby_increases_on_march_first_in_common_years() -> None:
    info = parse_id(make_id("320706", date(1948, 2, 29), 3), today=TODAY)
    assert info.age_on(date(2013, 2, 28)) == 64
    assert info.age_on(date(2013, 3, 1)) == 65
    assert info.age_on(date(2012, 2, 29)) == 64


def test_age_before_birth_is_an_error() -> None:
    info = parse_id("11010519491231002X", today=TODAY)
    with pytest.raises(ValidationError):
        info.age_on(date(1949, 12, 30))


def test_id_info_repr_masks_the_number() -> None:
    text = repr(parse_id("11010519491231002X", today=TODAY))
    assert "11010519491231002X" not in text
    assert "110105********002X" in text


def test_id_info_is_immutable() -> None:
    info = parse_id("11010519491231002X", today=TODAY)
    with pytest.raises(AttributeError):
        info.sex = "M"  # type: ignore[misc]


# --- region names ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("110105", "北京市"),
        ("320102", "江苏省"),
        ("440524", "广东省"),
        ("320700", "连云港市"),
        ("320701", "市辖区"),
        ("320702", "新海区"),
        ("320703", "连云区"),
        ("320704", "云台区"),
        ("320705", "新浦区"),
        ("320706", "海州区"),
        ("320707", "赣榆区"),
        ("320721", "赣榆县"),
        ("320722", "东海县"),
        ("320723", "灌云县"),
        ("320724", "灌南县"),
        ("320771", "江苏省"),
        ("650102", "新疆维吾尔自治区"),
        ("820000", "澳门特别行政区"),
    ],
)
def test_region_names_cover_provinces_and_lianyungang_counties(code: str, name: str) -> None:
    assert region_name_for(code) == name


@pytest.mark.parametrize("code", ["990000", "", "7"])
def test_region_name_is_none_for_unknown_codes(code: str) -> None:
    assert region_name_for(code) is None


# --- generator ---------------------------------------------------------------------


def test_make_id_builds_the_published_examples() -> None:
    assert make_id("110105", date(1949, 12, 31), 2) == "11010519491231002X"
    assert make_id("440524", date(1880, 1, 1), 1) == "440524188001010014"


@pytest.mark.parametrize("seq", [-1, 1000, True])
def test_make_id_refuses_sequence_numbers_outside_0_to_999(seq: int) -> None:
    with pytest.raises(ValidationError):
        make_id("320706", date(1990, 1, 1), seq)


@pytest.mark.parametrize("region", ["32070", "3207066", "999999", "320725", "abcdef"])
def test_make_id_refuses_unknown_regions(region: str) -> None:
    with pytest.raises(ValidationError):
        make_id(region, date(1990, 1, 1), 1)


def test_make_id_refuses_births_before_1880() -> None:
    with pytest.raises(ValidationError):
        make_id("320706", date(1879, 12, 31), 1)


@given(st.sampled_from(REGIONS), birth_dates, st.integers(min_value=0, max_value=999))
def test_make_id_output_always_validates_and_parses_back(region: str, birth: date, seq: int) -> None:
    number = make_id(region, birth, seq)
    info = parse_id(number, today=TODAY)
    assert info.number == number
    assert info.birth_date == birth
    assert info.region_code == region
    assert info.sex == ("M" if seq % 2 else "F")


@given(valid_ids, st.integers(min_value=0, max_value=16), st.integers(min_value=1, max_value=9))
def test_changing_any_single_digit_invalidates_a_number(number: str, position: int, delta: int) -> None:
    digit = str((int(number[position]) + delta) % 10)
    changed = number[:position] + digit + number[position + 1 :]
    assert not is_valid_id(changed, today=TODAY)


@given(valid_ids, st.sampled_from(CHECK_CHARS))
def test_changing_the_check_char_invalidates_a_number(number: str, check: str) -> None:
    changed = number[:17] + check
    assert is_valid_id(changed, today=TODAY) == (check == number[17])


@given(valid_ids, st.integers(min_value=0, max_value=15))
def test_swapping_two_different_adjacent_digits_invalidates_a_number(number: str, position: int) -> None:
    a, b = number[position], number[position + 1]
    swapped = number[:position] + b + a + number[position + 2 :]
    assert is_valid_id(swapped, today=TODAY) == (a == b)


@given(valid_ids)
def test_normalizing_is_idempotent(number: str) -> None:
    once = normalize_id(number.lower(), today=TODAY)
    assert once == number
    assert normalize_id(once, today=TODAY) == once


@given(st.text(max_size=25))
def test_arbitrary_text_either_validates_or_raises_validation_error(raw: str) -> None:
    try:
        number = normalize_id(raw, today=TODAY)
    except ValidationError:
        return
    assert len(number) == 18
    assert is_valid_id(number, today=TODAY)


def test_datetimes_are_accepted_where_dates_are_expected() -> None:
    moment = datetime(2013, 6, 1, 23, 59, tzinfo=CHINA_TZ)
    info = parse_id("11010519491231002X", today=moment)
    assert info.age_on(moment) == 63
