"""低收入居民倍增计划 (P1): the income growth report on households with declarations at known dates."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from tests.factories import household

from minxin.assistance.lowincome import rules
from minxin.assistance.lowincome.service import income_growth_report, report_table
from minxin.auth.models import User
from minxin.core.errors import ValidationError
from minxin.programs.service import set_standard
from minxin.registry.models import Household
from minxin.registry.service import declare_income

GANYU_COMMUNITY = "320707100001"


def _declare(session: Session, actor: User, h: Household, *pairs: tuple[date, int]) -> None:
    for day, yuan in pairs:
        declare_income(session, actor=actor, household_id=h.id, monthly_income_fen=yuan * 100, declared_on=day)


@pytest.fixture
def city(session: Session, county_officer: User, other_county_officer: User) -> dict[str, Household]:
    """Households of Haizhou (城镇 line 1.5 × 460 = 690, 农村 1.5 × 330 = 495 元 per person) and Ganyu.

    A 3 persons: 2011-06 1500, 2011-11 1200 (base: 400/person), 2012-05 1700 then 1800 the same day → 1800
    B 2 persons: 2011-03 1000 (500/person), nothing in 2012 → stale, carries 1000
    C 2 persons: 2011-02 2000 (1000/person, above the line) → not in the cohort
    D 1 person:  only 2012 → no base-year declaration, not in the cohort
    E 2 persons, 农村: 2011-08 900 (450/person < 495), 2012-08 1100
    F Ganyu, 2 persons: 2011-04 800, 2012-04 1000
    Every household also has its registration declaration (dated today), after both years.
    """
    o = county_officer
    hh = {k: household(session, o, members=n) for k, n in (("A", 3), ("B", 2), ("C", 2), ("D", 1))}
    hh["E"] = household(session, o, members=2, hukou="农村")
    hh["F"] = household(session, other_county_officer, members=2, community=GANYU_COMMUNITY)
    _declare(session, o, hh["A"], (date(2011, 6, 1), 1500), (date(2011, 11, 1), 1200), (date(2012, 5, 1), 1700),
             (date(2012, 5, 1), 1800))
    _declare(session, o, hh["B"], (date(2011, 3, 1), 1000))
    _declare(session, o, hh["C"], (date(2011, 2, 1), 2000), (date(2012, 3, 1), 500))
    _declare(session, o, hh["D"], (date(2012, 2, 1), 100))
    _declare(session, o, hh["E"], (date(2011, 8, 1), 900), (date(2012, 8, 1), 1100))
    _declare(session, other_county_officer, hh["F"], (date(2011, 4, 1), 800), (date(2012, 4, 1), 1000))
    return hh


# ---- pure rules ------------------------------------------------------------------------------------

def test_the_doubling_arithmetic_by_hand() -> None:
    assert rules.per_capita(310000, 7) == 44286  # 3100 元 over 7 persons = 442.857…
    assert rules.default_line(46000) == 69000 and rules.default_line(33000) == 49500
    assert rules.growth_pct(310000, 390000) == 25.8
    assert rules.growth_pct(0, 100) is None
    assert rules.on_path_fen(10000, base_year=2011, year=2016, horizon=2021) == 14142  # halfway: ×√2
    assert rules.on_path_fen(10000, base_year=2011, year=2030, horizon=2021) == 20000
    assert rules.required_annual_pct(10000, 20000, year=2011, horizon=2021) == 7.2  # 2^(1/10) − 1
    assert rules.required_annual_pct(25000, 20000, year=2012, horizon=2020) == 0.0
    assert rules.required_annual_pct(10000, 20000, year=2020, horizon=2020) is None
    assert rules.progress_pct(100, 80) == 0.0


@given(st.integers(1, 10**7), st.integers(2000, 2030), st.integers(0, 20), st.integers(1, 20))
def test_the_even_path_starts_at_the_base_and_ends_doubled(base: int, base_year: int, ahead: int,
                                                           span: int) -> None:
    horizon = base_year + span
    path = rules.on_path_fen(base, base_year=base_year, year=base_year + ahead, horizon=horizon)
    assert base <= path <= 2 * base
    assert rules.on_path_fen(base, base_year=base_year, year=base_year, horizon=horizon) == base
    assert rules.on_path_fen(base, base_year=base_year, year=horizon, horizon=horizon) == 2 * base


# ---- the report ------------------------------------------------------------------------------------

def test_the_county_report_by_hand(session: Session, county_officer: User, city: dict[str, Household]) -> None:
    rep = income_growth_report(session, user=county_officer, base_year=2011, year=2012)
    assert [c.county_code for c in rep.counties] == ["320706"]
    hz = rep.counties[0]
    # Cohort A, B, E: 7 persons; base 1200 + 1000 + 900 = 3100 元, 2012: 1800 + 1000 + 1100 = 3900 元.
    assert (hz.households, hz.persons, hz.stale) == (3, 7, 1)
    assert (hz.base_income_fen, hz.year_income_fen) == (310000, 390000)
    assert (hz.base_per_capita_fen, hz.year_per_capita_fen) == (44286, 55714)
    assert hz.growth_pct == 25.8 and hz.progress_pct == 25.8
    assert hz.target_fen == 88572
    assert hz.on_path_fen == round(44286 * 2 ** (1 / 9)) == 47832
    assert hz.required_annual_pct == round(((88572 / 55714) ** (1 / 8) - 1) * 100, 1) == 6.0
    assert hz.status == "on_track"
    # No 低保 standard was in force in December 2011: the earliest one (2012-01-01) is used, and said so.
    assert [(ln.category, ln.fen, ln.source) for ln in hz.lines] == [
        ("城镇", 69000, "earliest_standard"), ("农村", 49500, "earliest_standard")]
    assert any("2011-12 尚无低保标准" in n and "460.00" in n for n in rep.notes)


def test_the_city_sees_every_county_and_a_total(session: Session, city_admin: User,
                                                city: dict[str, Household]) -> None:
    rep = income_growth_report(session, user=city_admin, base_year=2011, year=2012, horizon=2015)
    by_code = {c.county_code: c for c in rep.counties}
    assert len(by_code) == 6
    gy = by_code["320707"]
    assert (gy.households, gy.persons, gy.base_per_capita_fen, gy.year_per_capita_fen, gy.growth_pct) == (
        1, 2, 40000, 50000, 25.0)
    assert gy.status == "on_track" and gy.required_annual_pct == round((1.6 ** (1 / 3) - 1) * 100, 1)
    assert by_code["320722"].households == 0 and by_code["320722"].status == "none"
    assert by_code["320722"].growth_pct is None
    total = rep.total
    assert (total.households, total.persons, total.base_income_fen, total.year_income_fen, total.stale) == (
        4, 9, 390000, 490000, 1)
    data = json.loads(json.dumps(rep.as_json()))
    assert data["total"]["households"] == 4 and data["horizon"] == 2015
    headers, rows = report_table(rep)
    assert headers[0] == "县区代码" and rows[-1][1] == "合计" and rows[-1][2] == 4


def test_an_explicit_line_replaces_the_dibao_line(session: Session, county_officer: User,
                                                  city: dict[str, Household]) -> None:
    # 450 元: A (400/person) is below it; B (500) is not, nor is E (450, not strictly below).
    rep = income_growth_report(session, user=county_officer, base_year=2011, year=2012, low_income_line_fen=45000)
    hz = rep.counties[0]
    assert (hz.households, hz.persons, hz.base_income_fen, hz.year_income_fen, hz.stale) == (1, 3, 120000, 180000, 0)
    assert hz.growth_pct == 50.0 and rep.notes == []
    assert {ln.source for ln in hz.lines} == {"explicit"}


def test_a_county_standard_in_force_in_the_base_year_sets_the_line(session: Session, county_officer: User,
                                                                   city_admin: User,
                                                                   city: dict[str, Household]) -> None:
    set_standard(session, actor=city_admin, program="dibao", region_code="320706", amount_fen=40000,
                 effective=date(2011, 1, 1), category="城镇")  # line 600: A (400) and B (500) are in
    set_standard(session, actor=city_admin, program="dibao", region_code="320706", amount_fen=20000,
                 effective=date(2011, 1, 1), category="农村")  # line 300: E (450) is out
    rep = income_growth_report(session, user=county_officer, base_year=2011, year=2012)
    hz = rep.counties[0]
    assert [(ln.fen, ln.source) for ln in hz.lines] == [(60000, "standard"), (30000, "standard")]
    assert (hz.households, hz.persons, hz.base_income_fen, hz.year_income_fen) == (2, 5, 220000, 280000)
    assert rep.notes == []


def test_latest_declaration_on_or_before_each_years_end_is_used(session: Session, county_officer: User,
                                                               city: dict[str, Household]) -> None:
    # Comparing 2011 with itself: the same cohort, no growth, and everyone declared in 2011.
    rep = income_growth_report(session, user=county_officer, base_year=2011, year=2011)
    hz = rep.counties[0]
    assert (hz.households, hz.base_income_fen, hz.year_income_fen, hz.stale) == (3, 310000, 310000, 0)
    # Later years carry the latest declaration forward (2013: nobody declared, all stale).
    later = income_growth_report(session, user=county_officer, base_year=2011, year=2013).counties[0]
    assert (later.year_income_fen, later.stale) == (390000, 3)


def test_bad_parameters_are_refused(session: Session, county_officer: User) -> None:
    with pytest.raises(ValidationError, match="不能早于基准年"):
        income_growth_report(session, user=county_officer, base_year=2012, year=2011)
    with pytest.raises(ValidationError, match="目标年"):
        income_growth_report(session, user=county_officer, base_year=2012, year=2013, horizon=2012)
    with pytest.raises(ValidationError, match="低收入线必须大于 0"):
        income_growth_report(session, user=county_officer, base_year=2011, year=2012, low_income_line_fen=0)
    with pytest.raises(ValidationError, match="超出范围"):
        income_growth_report(session, user=county_officer, base_year=1800, year=2012)


def test_a_town_officer_gets_their_county_row_with_their_towns_households(session: Session, town_officer: User,
                                                                          city: dict[str, Household]) -> None:
    rep = income_growth_report(session, user=town_officer, base_year=2011, year=2012)
    assert [c.county_code for c in rep.counties] == ["320706"]
    assert rep.counties[0].households == 3  # the factory's community lies in the officer's town


def test_the_cli_prints_the_report(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    app, _ = cli
    r = CliRunner().invoke(app, ["report", "low-income", "--base-year", "2011", "--year", "2012", "--json",
                                 "--line", "500"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["line_fen"] == 50000 and len(data["counties"]) == 6
    text = CliRunner().invoke(app, ["report", "low-income", "--base-year", "2011", "--year", "2012"])
    assert text.exit_code == 0 and "合计" in text.stdout and "2011-12" in text.stdout
    bad = CliRunner().invoke(app, ["report", "low-income", "--base-year", "2012", "--year", "2011"])
    assert bad.exit_code == 1 and "不能早于基准年" in bad.stderr


def test_the_default_years_come_from_the_declarations() -> None:
    assert rules.default_years(2011, 2013, this_year=2026) == (2011, 2013, 2020)
    assert rules.default_years(2025, 2025, this_year=2026) == (2024, 2025, 2034)  # 2020 lies behind: ten years
    assert rules.default_years(None, None, this_year=2026) == (2025, 2026, 2035)
    assert rules.default_years(2011, 2013, this_year=2026, year=2012) == (2011, 2012, 2020)
    assert rules.default_years(2011, 2013, this_year=2026, base_year=2012, horizon=2030) == (2012, 2013, 2030)


def test_the_years_with_declarations_are_those_of_the_users_scope(session: Session, county_officer: User,
                                                                   other_county_officer: User,
                                                                   city: dict[str, Household]) -> None:
    from minxin.assistance.lowincome.service import declaration_years
    from minxin.infra.clock import today

    assert declaration_years(session, user=county_officer) == (2011, today().year)
    first, _ = declaration_years(session, user=other_county_officer)
    assert first == 2011
