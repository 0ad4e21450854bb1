"""The one text rule every input path applies: control, direction and invisible characters, lengths, LIKE."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minxin.core._text import MAX_LENGTH, clean_text, escape_like, optional_text, text_problem
from minxin.core.errors import ValidationError

BIDI = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
C0_C1 = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))]


@pytest.mark.parametrize("ch", BIDI)
def test_bidi_overrides_are_refused_in_every_field(ch: str) -> None:
    for multiline in (False, True):
        for name in (False, True):
            assert "文字方向" in (text_problem(f"张{ch}三", multiline=multiline, name=name) or "")


@pytest.mark.parametrize("ch", C0_C1)
def test_control_characters_are_refused_on_one_line(ch: str) -> None:
    problem = text_problem(f"张{ch}三")
    assert problem is not None and f"U+{ord(ch):04X}" in problem


def test_a_multi_line_field_keeps_line_breaks_and_tabs_but_not_other_controls() -> None:
    assert text_problem("第一行\n第二行\r\n\t缩进", multiline=True) is None
    assert text_problem("响铃\x07", multiline=True) is not None
    assert text_problem("空字符\x00", multiline=True) is not None
    assert clean_text("一\r\n二", label="备注", max_length=10, multiline=True) == "一\n二"
    with pytest.raises(ValidationError, match="控制字符"):
        clean_text("一\n二", label="姓名", max_length=10)


@pytest.mark.parametrize("ch", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])
def test_zero_width_characters_are_refused_in_names_only(ch: str) -> None:
    assert "不可见" in (text_problem(f"张{ch}三", name=True) or "")
    assert text_problem(f"备注{ch}", name=False) is None


def test_the_length_limit_names_the_field_and_the_limit() -> None:
    with pytest.raises(ValidationError) as exc:
        clean_text("H" * 5000, label="户编号", max_length=MAX_LENGTH["household_no"])
    assert exc.value.field == "户编号" and "最多 32" in exc.value.message and "5000" in exc.value.message
    assert clean_text("H" * 32, label="户编号", max_length=32) == "H" * 32


def test_blank_is_empty_or_refused_when_required() -> None:
    assert clean_text("  ", label="住址", max_length=10) == ""
    assert optional_text(None, label="住址", max_length=10) is None
    with pytest.raises(ValidationError, match="不能为空"):
        clean_text(" ", label="姓名", max_length=10, required=True)


def test_a_spreadsheet_number_reads_as_its_digits() -> None:
    assert clean_text(1001.0, label="户编号", max_length=32) == "1001"


def test_the_limits_match_the_database_columns() -> None:
    from minxin.programs.models import Objection
    from minxin.registry.models import Household, Institution

    columns = Household.__table__.c
    assert MAX_LENGTH["household_no"] == columns.household_no.type.length
    assert MAX_LENGTH["address"] == columns.address.type.length
    assert MAX_LENGTH["phone"] == columns.phone.type.length
    assert MAX_LENGTH["institution_name"] == Institution.__table__.c.name.type.length
    assert MAX_LENGTH["credit_code"] == Institution.__table__.c.credit_code.type.length
    assert MAX_LENGTH["short_name"] == Objection.__table__.c.raised_by.type.length


@given(st.text())
def test_printable_text_without_direction_controls_always_passes(text: str) -> None:
    cleaned = "".join(ch for ch in text if ch.isprintable() and ch not in BIDI and ch not in "\u200e\u200f\u061c")
    assert text_problem(cleaned) is None


@given(st.text(alphabet=st.sampled_from("ab%_\\张")), st.text(alphabet=st.sampled_from("ab%_\\张")))
def test_an_escaped_like_pattern_matches_exactly_the_substrings(needle: str, haystack: str) -> None:
    # LIKE '%<escaped>%' ESCAPE '\' read as a regex: % is .*, _ is ., \x is x.
    pattern = "%" + escape_like(needle) + "%"
    regex, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            regex += re.escape(pattern[i + 1])
            i += 2
            continue
        regex += ".*" if ch == "%" else "." if ch == "_" else re.escape(ch)
        i += 1
    assert bool(re.fullmatch(regex, haystack, flags=re.S)) == (needle in haystack)
