"""P3: the yearly premium roster — who is on it, for how many months, and what the city pays."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from tests.factories import active_case, household

from minxin.assistance.premiums.service import ROSTER_HEADERS, export_roster
from minxin.core.errors import Forbidden
from minxin.infra.settings import get_settings
from minxin.programs.policy import _load


def _roster(session, user, year=2012):
    buf = io.BytesIO()
    summary = export_roster(session, user=user, year=year, target=buf)
    rows = list(load_workbook(io.BytesIO(buf.getvalue())).active.iter_rows(values_only=True))
    assert list(rows[0]) == ROSTER_HEADERS
    return summary, {r[1]: r for r in rows[1:]}


def test_members_are_charged_by_the_months_their_household_was_covered(session, county_officer):
    urban = household(session, county_officer, members=3)
    rural = household(session, county_officer, members=2, hukou="农村", community="320706100201")
    ended = household(session, county_officer, members=1)
    active_case(session, urban, start="2011-06")
    active_case(session, rural, start="2012-07")
    c = active_case(session, ended, start="2012-01")
    c.status, c.end_period = "terminated", "2012-03"
    summary, rows = _roster(session, county_officer)
    for m in urban.members:
        assert rows[m.id_number][2:] == ("城镇居民基本医疗保险", "城镇", "低保", urban.region_code,
                                        "新海街道 · 朝阳社区", 12, "100.00")
    for m in rural.members:
        assert rows[m.id_number][7:] == (6, "30.00")  # 60 a year × 6/12
    assert rows[ended.members[0].id_number][7:] == (3, "25.00")
    assert summary.people == 6 and summary.total_fen == 3 * 10000 + 2 * 3000 + 2500


def test_people_outside_the_year_or_not_yet_approved_are_not_on_it(session, county_officer):
    later = household(session, county_officer, members=1)
    active_case(session, later, start="2013-01")
    applied = household(session, county_officer, members=1)
    c = active_case(session, applied)
    c.status, c.start_period = "applied", None
    _, rows = _roster(session, county_officer)
    assert later.members[0].id_number not in rows and applied.members[0].id_number not in rows


def test_a_person_in_both_programs_appears_once(session, county_officer):
    hh = household(session, county_officer, members=1, hukou="农村", community="320706100201")
    active_case(session, hh, start="2012-01")
    active_case(session, hh, program="wubao", start="2012-01").category = "分散"
    summary, rows = _roster(session, county_officer)
    assert summary.people == 1 and rows[hh.members[0].id_number][8] == "60.00"


def test_whole_year_proration_from_the_policy_file(session, county_officer, tmp_path: Path, monkeypatch):
    src = Path("policies/lianyungang-2012.toml").read_text(encoding="utf-8")
    policy = tmp_path / "p.toml"
    policy.write_text(src.replace('proration = "monthly"', 'proration = "whole_year"'), encoding="utf-8")
    monkeypatch.setenv("MINXIN_POLICY_FILE", str(policy))
    get_settings.cache_clear()
    _load.cache_clear()
    try:
        hh = household(session, county_officer, members=1, hukou="农村", community="320706100201")
        active_case(session, hh, start="2012-11")
        summary, rows = _roster(session, county_officer)
        assert summary.proration == "whole_year" and rows[hh.members[0].id_number][7:] == (2, "60.00")
    finally:
        monkeypatch.delenv("MINXIN_POLICY_FILE")
        get_settings.cache_clear()
        _load.cache_clear()


def test_the_roster_is_scoped_and_needs_the_right_to_see_id_numbers(session, county_officer,
                                                                     other_county_officer, call_agent):
    hh = household(session, county_officer, members=1)
    active_case(session, hh)
    _, rows = _roster(session, other_county_officer)
    assert hh.members[0].id_number not in rows
    with pytest.raises(Forbidden):
        export_roster(session, user=call_agent, year=2012, target=io.BytesIO())
