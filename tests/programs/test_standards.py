"""Standards are effective-dated rows: looked up by the most specific region, then the latest date."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from minxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from minxin.core.period import Period
from minxin.programs.models import Cycle, Standard
from minxin.programs.service import set_standard, standard_in_force

P = Period(2012, 7)


def test_the_seeded_city_standard_applies_in_every_county(session):
    s = standard_in_force(session, program="dibao", region_code="320722101001", period=P, category="农村")
    assert (s.amount_fen, s.region_code, s.effective_from) == (33000, "320700", date(2012, 1, 1))


def test_a_county_row_overrides_the_city_from_its_date_on(session, county_officer):
    set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=50000,
                 effective=date(2012, 7, 1), category="城镇")
    before = standard_in_force(session, program="dibao", region_code="320706006001", period=Period(2012, 6),
                               category="城镇")
    after = standard_in_force(session, program="dibao", region_code="320706006001", period=P, category="城镇")
    elsewhere = standard_in_force(session, program="dibao", region_code="320707100001", period=P, category="城镇")
    assert (before.amount_fen, after.amount_fen, elsewhere.amount_fen) == (46000, 50000, 46000)
    assert after.region_code == "320706"


def test_a_historical_code_finds_the_standard_of_its_successor(session, county_officer):
    set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=51000,
                 effective=date(2012, 3, 1), category="城镇")
    s = standard_in_force(session, program="dibao", region_code="320705", period=P, category="城镇")
    assert s.amount_fen == 51000


def test_setting_a_standard_adds_a_row_and_never_edits_one(session, county_officer):
    n = session.execute(select(func.count()).select_from(Standard)).scalar_one()
    set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=48000,
                 effective=date(2013, 1, 1), category="城镇")
    assert session.execute(select(func.count()).select_from(Standard)).scalar_one() == n + 1
    with pytest.raises(Conflict, match="只增不改"):
        set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=49000,
                     effective=date(2013, 1, 1), category="城镇")


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"amount_fen": -1}, ValidationError),
    ({"program": "nope"}, ValidationError),
    ({"region_code": "999999"}, ValidationError),
    ({"region_code": "320705"}, ValidationError),  # abolished 2014: use 320706
    ({"category": "城市"}, ValidationError),
    ({"region_code": "320707"}, Forbidden),        # another county
])
def test_bad_standards_are_refused(session, county_officer, kwargs, error):
    args = {"program": "dibao", "region_code": "320706", "amount_fen": 50000, "effective": date(2012, 7, 1),
            "category": "城镇"} | kwargs
    with pytest.raises(error):
        set_standard(session, actor=county_officer, **args)


def test_only_county_and_city_officers_set_standards(session, town_officer):
    with pytest.raises(Forbidden):
        set_standard(session, actor=town_officer, program="dibao", region_code="320706", amount_fen=1,
                     effective=date(2012, 7, 1), category="城镇")


def test_a_date_reaching_into_a_reconciled_cycle_is_refused(session, county_officer):
    session.add(Cycle(program_code="dibao", period="2012-05", county_code="320706", status="reconciled", run_by="x"))
    session.flush()
    with pytest.raises(Conflict, match="已对账"):
        set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=50000,
                     effective=date(2012, 5, 1), category="城镇")
    set_standard(session, actor=county_officer, program="dibao", region_code="320706", amount_fen=50000,
                 effective=date(2012, 6, 1), category="城镇")


def test_no_standard_before_the_first_date(session):
    with pytest.raises(NotFound):
        standard_in_force(session, program="dibao", region_code="320706", period=Period(2011, 12), category="城镇")
