"""Who reads payment cycles: the pages and the API call the same functions (programs.cycle_access)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from tests.factories import active_case, household

from minxin.auth.models import User
from minxin.core.errors import Forbidden, NotFound
from minxin.core.period import Period
from minxin.programs.cycle_access import cycle_payments_for, get_cycle_for, list_cycles_for
from minxin.programs.cycles import run_cycle


def test_those_who_run_approve_or_audit_cycles_read_them_and_no_one_else(
        session: Session, city_admin: User, county_officer: User, auditor: User, town_officer: User,
        community_worker: User, call_agent: User) -> None:
    run = run_cycle(session, actor=city_admin, program="dibao", period=Period(2012, 7))
    for reader in (city_admin, county_officer, auditor):
        assert [c.id for c in list_cycles_for(session, reader).items] == [run.cycle_id]
        assert get_cycle_for(session, reader, run.cycle_id).id == run.cycle_id
    for refused in (town_officer, community_worker, call_agent):
        with pytest.raises(Forbidden):
            list_cycles_for(session, refused)
        with pytest.raises(Forbidden):
            get_cycle_for(session, refused, run.cycle_id)


def test_the_list_is_paged_newest_month_first_and_filtered_by_program(session: Session, city_admin: User) -> None:
    for month in (7, 8, 9):
        run_cycle(session, actor=city_admin, program="dibao", period=Period(2012, month))
    first = list_cycles_for(session, city_admin, page=1, page_size=2)
    assert [c.period for c in first.items] == ["2012-09", "2012-08"] and first.total == 3 and first.pages == 2
    assert [c.period for c in list_cycles_for(session, city_admin, page=2, page_size=2).items] == ["2012-07"]
    assert list_cycles_for(session, city_admin, program="wubao").total == 0


def test_a_missing_cycle_and_an_id_past_the_integer_range_are_not_found(session: Session, auditor: User) -> None:
    for cycle_id in (0, 987_654_321, 10**23):
        with pytest.raises(NotFound):
            get_cycle_for(session, auditor, cycle_id)


def test_a_county_officer_reads_only_the_lines_of_their_county(session: Session, city_admin: User,
                                                              county_officer: User,
                                                              other_county_officer: User) -> None:
    system = city_admin
    active_case(session, household(session, system, community="320706006001"))
    active_case(session, household(session, system, community="320707100001"))
    run = run_cycle(session, actor=city_admin, program="dibao", period=Period(2012, 7))
    cycle = get_cycle_for(session, city_admin, run.cycle_id)

    def regions(user: User) -> set[str]:
        return {p.region_code[:6] for p, _name in cycle_payments_for(session, user, cycle, page_size=200).items}

    assert regions(city_admin) == {"320706", "320707"}
    assert regions(county_officer) == {"320706"}
    assert regions(other_county_officer) == {"320707"}
