"""Masking personal data for lists, 公示 pages and logs."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minxin.core.idnumber import make_id
from minxin.core.masking import mask_account, mask_id, mask_name, mask_phone

# --- names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("张三丰", "张**"),
        ("欧阳娜娜", "欧***"),
        ("", ""),
        ("张", "*"),
        (" 张三 ", "张*"),
        ("John", "J***"),
        ("Li Na", "L****"),
    ],
)
def test_names_keep_only_their_first_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@given(st.text(min_size=2).map(str.strip).filter(lambda s: len(s) >= 2))
def test_masked_names_keep_length_and_reveal_only_the_first_character(name: str) -> None:
    masked = mask_name(name)
    assert len(masked) == len(name)
    assert masked[0] == name[0]
    assert set(masked[1:]) == {"*"}


# --- ID numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("320706199001011234", "320706********1234"),
        ("11010519491231002X", "110105********002X"),
        ("11010519491231002x", "110105********002X"),
        ("110105491231002", "110105*****1002"),
        (" 320706 19900101 1234 ", "320706********1234"),
        ("３２０７０６１９９００１０１１２３４", "320706********1234"),
    ],
)
def test_id_numbers_keep_the_region_and_the_last_four(number: str, masked: str) -> None:
    assert mask_id(number) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("", ""),
        ("1234", "****"),
        ("32070619900101123", "*****************"),
        ("3207061990010112X4", "*" * 18),
    ],
)
def test_short_or_malformed_id_strings_are_fully_masked(text: str, masked: str) -> None:
    assert mask_id(text) == masked


@given(
    st.sampled_from(["320706", "320705", "110105"]),
    st.dates(min_value=date(1880, 1, 1)),
    st.integers(min_value=0, max_value=999),
)
def test_masked_ids_hide_the_birth_date_but_keep_the_last_four(region: str, birth: date, seq: int) -> None:
    number = make_id(region, birth, seq)
    masked = mask_id(number)
    assert len(masked) == 18
    assert masked[:6] == region
    assert masked[6:14] == "********"
    assert masked[14:] == number[14:]


# --- phone numbers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("０５１８－８５８２１２３４", "051*******34"),
        ("0518-85821234", "051*******34"),
        ("(0518)85821234", "051*******34"),
        ("85821234", "858***34"),
        ("12349", "*****"),
        ("", ""),
    ],
)
def test_phones_keep_a_few_digits_at_each_end(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_masked_mobiles_hide_the_middle_four_digits(phone: str) -> None:
    masked = mask_phone(phone)
    assert masked == phone[:3] + "****" + phone[7:]


# --- bank accounts --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("account", "masked"),
    [
        ("6222021234567890123", "***************0123"),
        ("6222 0212 3456 7890 123", "***************0123"),
        ("12345678", "****5678"),
        ("1234567", "*******"),
        ("", ""),
    ],
)
def test_accounts_keep_only_the_last_four(account: str, masked: str) -> None:
    assert mask_account(account) == masked


@given(st.text(alphabet="0123456789", min_size=8, max_size=30))
def test_masked_accounts_reveal_at_most_four_characters(account: str) -> None:
    masked = mask_account(account)
    assert len(masked) == len(account)
    assert masked.endswith(account[-4:])
    assert masked[:-4] == "*" * (len(account) - 4)
