"""Administrative division codes and the scoping rule built on them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minxin.core.divisions import (
    LEVELS,
    PROVINCE_NAMES,
    ancestors,
    county_of,
    covers,
    level_of,
    parent_of,
    scope_prefix,
    town_of,
    validate_code,
)
from minxin.core.errors import ValidationError

EXAMPLES = {
    "320000": "province",
    "320700": "city",
    "320706": "county",
    "320706001": "town",
    "320706001001": "community",
}

county_codes = st.builds(
    lambda p, c, k: f"{p}{c:02d}{k:02d}",
    st.sampled_from(sorted(PROVINCE_NAMES)),
    st.integers(min_value=1, max_value=99),
    st.integers(min_value=1, max_value=99),
)
community_codes = st.builds(
    lambda county, t, v: f"{county}{t:03d}{v:03d}",
    county_codes,
    st.integers(min_value=1, max_value=999),
    st.integers(min_value=1, max_value=999),
)


@pytest.mark.parametrize(("code", "level"), EXAMPLES.items())
def test_level_follows_length_and_trailing_zeros(code: str, level: str) -> None:
    assert level_of(code) == level


def test_levels_are_listed_from_top_to_bottom() -> None:
    assert LEVELS == ("province", "city", "county", "town", "community")


@pytest.mark.parametrize("code", ["110100", "441900", "419000"])
def test_six_digit_codes_ending_in_00_are_cities(code: str) -> None:
    assert level_of(code) == "city"


def test_towns_may_sit_directly_under_a_city_without_counties() -> None:
    assert level_of("441900003") == "town"
    assert parent_of("441900003") == "441900"


@pytest.mark.parametrize(
    "code",
    [
        "",
        "   ",
        "32070",
        "3207060",
        "3207060010",
        "32070600100101",
        "32070a",
        "３２０７０６",
        "990000",
        "000000",
        "320006",
        "320006001",
        "320000001",
        "320706000",
        "320706001000",
        "320706000001",
        "-32070",
    ],
)
def test_malformed_codes_are_rejected(code: str) -> None:
    with pytest.raises(ValidationError) as info:
        level_of(code)
    assert info.value.field == "区划代码"


def test_validate_code_strips_surrounding_spaces() -> None:
    assert validate_code(" 320706 ") == "320706"


def test_validate_code_checks_the_requested_level() -> None:
    assert validate_code("320706", level="county") == "320706"
    with pytest.raises(ValidationError) as info:
        validate_code("320700", level="county")
    assert "wrong level" in info.value.message


def test_validate_code_rejects_an_unknown_level_name() -> None:
    with pytest.raises(ValidationError):
        validate_code("320706", level="village")


def test_validate_code_rejects_non_strings() -> None:
    with pytest.raises(ValidationError):
        validate_code(320706)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "prefix"),
    [
        ("320000", "32"),
        ("320700", "3207"),
        ("320706", "320706"),
        ("320706001", "320706001"),
        ("320706001001", "320706001001"),
    ],
)
def test_scope_prefix_keeps_only_the_significant_digits(code: str, prefix: str) -> None:
    assert scope_prefix(code) == prefix


@pytest.mark.parametrize(
    ("scope", "record", "visible"),
    [
        ("320000", "320706001001", True),
        ("320000", "320000", True),
        ("320700", "320706", True),
        ("320700", "320722101", True),
        ("320700", "320700", True),
        ("320706", "320706001001", True),
        ("320706", "320706", True),
        ("320706001", "320706001001", True),
        ("320706001001", "320706001001", True),
        ("320700", "320100", False),
        ("320700", "320000", False),
        ("320706", "320703001", False),
        ("320706", "320705", False),
        ("320706", "320700", False),
        ("320706001", "320706002001", False),
        ("320706001", "320706", False),
        ("320706001001", "320706001002", False),
        ("110000", "320706", False),
    ],
)
def test_covers_lets_a_scope_see_only_records_inside_it(scope: str, record: str, visible: bool) -> None:
    assert covers(scope, record) is visible


@pytest.mark.parametrize("record", ["", "3207060", "32070600100x", "3207060010010"])
def test_malformed_record_codes_are_never_covered(record: str) -> None:
    assert covers("320000", record) is False


def test_a_malformed_scope_is_an_error_not_a_silent_denial() -> None:
    with pytest.raises(ValidationError):
        covers("3207", "320706")


def test_parent_chain_walks_up_to_the_province() -> None:
    assert parent_of("320706001001") == "320706001"
    assert parent_of("320706001") == "320706"
    assert parent_of("320706") == "320700"
    assert parent_of("320700") == "320000"
    assert parent_of("320000") is None


def test_ancestors_are_listed_from_the_top_and_exclude_the_code_itself() -> None:
    assert ancestors("320706001001") == ["320000", "320700", "320706", "320706001"]
    assert ancestors("320706") == ["320000", "320700"]
    assert ancestors("320000") == []


@pytest.mark.parametrize(
    ("code", "county", "town"),
    [
        ("320000", None, None),
        ("320700", None, None),
        ("320706", "320706", None),
        ("320706001", "320706", "320706001"),
        ("320706001001", "320706", "320706001"),
    ],
)
def test_county_of_and_town_of_answer_only_at_or_below_their_level(
    code: str, county: str | None, town: str | None
) -> None:
    assert county_of(code) == county
    assert town_of(code) == town


@given(community_codes)
def test_every_ancestor_covers_its_descendant(code: str) -> None:
    chain = [*ancestors(code), code]
    assert [level_of(c) for c in chain] == list(LEVELS)
    for i, upper in enumerate(chain):
        for lower in chain[i:]:
            assert covers(upper, lower)
        for higher in chain[:i]:
            assert not covers(upper, higher)


@given(community_codes, community_codes)
def test_covers_is_exactly_the_prefix_rule(scope_source: str, record: str) -> None:
    for scope in [*ancestors(scope_source), scope_source]:
        assert covers(scope, record) == record.startswith(scope_prefix(scope))


@given(community_codes)
def test_parent_of_is_the_last_ancestor(code: str) -> None:
    assert parent_of(code) == ancestors(code)[-1]
