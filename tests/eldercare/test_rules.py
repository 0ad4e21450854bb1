"""Pure eldercare rules: who is elderly, how a caller is recognised, percentiles."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minxin.core.errors import ValidationError
from minxin.eldercare.rules import (
    age_on,
    elderly_cutoff,
    is_elderly,
    normalize_care_level,
    normalize_device_id,
    normalize_living,
    normalize_phone_number,
    percentile,
)


def test_a_person_is_elderly_from_the_sixtieth_birthday_on() -> None:
    assert not is_elderly(date(1952, 7, 2), date(2012, 7, 1))
    assert is_elderly(date(1952, 7, 1), date(2012, 7, 1))
    assert age_on(date(1952, 7, 1), date(2012, 7, 1)) == 60


@given(st.dates(min_value=date(1901, 1, 1), max_value=date(2099, 12, 31)))
def test_the_cutoff_birth_date_is_exactly_the_last_elderly_birthday(day: date) -> None:
    cutoff = elderly_cutoff(day)
    assert is_elderly(cutoff, day)
    assert not is_elderly(date.fromordinal(cutoff.toordinal() + 1), day)


@pytest.mark.parametrize(("raw", "digits"), [
    ("13812345678", "13812345678"), ("+86 138-1234-5678", "13812345678"), ("0086 13812345678", "13812345678"),
    ("(0518) 8555-1234", "051885551234"), ("DEV-001", None), ("12", None),
])
def test_phone_numbers_are_read_as_the_phone_system_sends_them(raw: str, digits: str | None) -> None:
    assert normalize_phone_number(raw) == digits


def test_device_ids_are_upper_cased_and_junk_is_not_a_device() -> None:
    assert normalize_device_id(" lyg-0001 ") == "LYG-0001"
    assert normalize_device_id("<script>") is None
    assert normalize_device_id("x" * 40) is None


def test_living_arrangements_and_care_levels_accept_the_short_forms() -> None:
    assert normalize_living("与子女同住") == "与家人同住"
    assert normalize_care_level("重度") == "重度失能"
    with pytest.raises(ValidationError, match="居住状况"):
        normalize_living("养老院")
    with pytest.raises(ValidationError, match="能力等级"):
        normalize_care_level("很好")


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 90) is None
    assert percentile([5.0], 99) == 5.0
    assert percentile([float(i) for i in range(1, 101)], 90) == 90.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
