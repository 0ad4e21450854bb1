"""农民人均纯收入 entered and corrected in the web: validated, scoped, audited, and what 五保 derivation reads."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from minxin.assistance.statistics.models import RuralIncome
from minxin.assistance.statistics.service import rural_income_fen, set_rural_income
from minxin.assistance.wubao import derive_standards
from minxin.auth.audit import AuditEvent
from minxin.auth.models import User
from minxin.core.errors import Forbidden, NotFound, ValidationError


def _rows(session: Session) -> int:
    return session.execute(select(func.count()).select_from(RuralIncome)).scalar_one()


def test_a_figure_entered_makes_a_year_derivable_and_a_correction_replaces_it(session: Session, city_admin: User):
    with pytest.raises(ValidationError, match="2013"):
        derive_standards(session, actor=city_admin, year=2014, apply=False)
    for county in ("320703", "320706", "320707", "320722", "320723", "320724"):
        set_rural_income(session, actor=city_admin, county=county, year=2013, amount="10000")
    set_rural_income(session, actor=city_admin, county="320706", year=2013, amount="10200.50", source="统计年鉴")
    assert rural_income_fen(session, county="320706", year=2013) == 1_020_050
    haizhou = next(p for p in derive_standards(session, actor=city_admin, year=2014, ratio_permille=550, apply=False)
                   if p.county == "320706")
    assert haizhou.annual_fen == 1_020_050 * 550 // 1000
    assert session.execute(select(func.count()).select_from(RuralIncome)
                           .where(RuralIncome.county_code == "320706")).scalar_one() == 1
    changes = session.execute(select(AuditEvent).where(AuditEvent.action == "statistics.rural_income",
                                                       AuditEvent.entity_id == "320706-2013")
                              .order_by(AuditEvent.id)).scalars().all()
    assert [json.loads(e.detail)["before_fen"] for e in changes] == [None, 1_000_000]


def test_an_entered_figure_overrides_the_policy_files(session: Session, county_officer: User):
    assert rural_income_fen(session, county="320706", year=2011) == 910_000  # the policy file's placeholder
    set_rural_income(session, actor=county_officer, county="320706", year=2011, amount="9300")
    assert rural_income_fen(session, county="320706", year=2011) == 930_000


@pytest.mark.parametrize(("year", "amount", "field"), [
    ("1977", "9000", "year"), ("2101", "9000", "year"), ("20x1", "9000", "year"), ("9" * 5000, "9000", "year"),
    ("2012", "", "amount"), ("2012", "0", "amount"), ("2012", "-5", "amount"), ("2012", "9000.123", "amount"),
    ("2012", "=1+1", "amount"), ("2012", "99999999", "amount"), ("2012", "9000\x00", "amount"),
])
def test_bad_years_and_amounts_are_refused_and_nothing_is_stored(session: Session, city_admin: User, year: str,
                                                                  amount: str, field: str):
    before = _rows(session)
    with pytest.raises(ValidationError) as exc:
        set_rural_income(session, actor=city_admin, county="320706", year=year, amount=amount)
    assert exc.value.field == field
    assert _rows(session) == before


def test_only_county_and_city_staff_enter_figures_and_only_for_their_counties(
        session: Session, county_officer: User, town_officer: User, other_county_officer: User):
    with pytest.raises(Forbidden):
        set_rural_income(session, actor=town_officer, county="320706", year=2012, amount="9000")
    with pytest.raises(NotFound):
        set_rural_income(session, actor=other_county_officer, county="320706", year=2012, amount="9000")
    with pytest.raises(NotFound):
        set_rural_income(session, actor=county_officer, county="320799", year=2012, amount="9000")
    assert _rows(session) == 0
