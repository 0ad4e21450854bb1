"""The payment lines of a cycle as a reader sees them (programs.cycle_access): paged, within scope."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from tests.factories import active_case, household

from minxin.auth.models import User
from minxin.core.errors import Forbidden
from minxin.core.period import Period
from minxin.programs.cycle_access import cycle_payments_for
from minxin.programs.cycles import get_cycle_for, run_cycle


def _regions(session: Session, user: User, cycle_id: int) -> set[str]:
    cycle = get_cycle_for(session, user, cycle_id)
    return {p.region_code[:9] for p, _name in cycle_payments_for(session, user, cycle, page_size=200).items}


def test_each_reader_gets_only_the_lines_of_their_scope(session: Session, city_admin: User, county_officer: User,
                                                        auditor: User) -> None:
    active_case(session, household(session, city_admin, community="320706006001"))
    active_case(session, household(session, city_admin, community="320706001001"))
    run = run_cycle(session, actor=city_admin, program="dibao", period=Period(2012, 7), county="320706")
    assert _regions(session, city_admin, run.cycle_id) == {"320706006", "320706001"}
    assert _regions(session, auditor, run.cycle_id) == {"320706006", "320706001"}
    assert _regions(session, county_officer, run.cycle_id) == {"320706006", "320706001"}


def test_the_lines_are_paged_and_filtered_by_town_and_status(session: Session, city_admin: User) -> None:
    for _ in range(3):
        active_case(session, household(session, city_admin, community="320706006001"))
    active_case(session, household(session, city_admin, community="320706001001"))
    run = run_cycle(session, actor=city_admin, program="dibao", period=Period(2012, 7), county="320706")
    cycle = get_cycle_for(session, city_admin, run.cycle_id)
    first = cycle_payments_for(session, city_admin, cycle, page_size=2)
    assert (first.total, len(first.items), first.pages) == (4, 2, 2)
    assert cycle_payments_for(session, city_admin, cycle, county="320706001").total == 1
    assert cycle_payments_for(session, city_admin, cycle, status="paid").total == 0


def test_roles_that_read_no_cycles_are_refused_the_lines(session: Session, city_admin: User, call_agent: User,
                                                         community_worker: User) -> None:
    run = run_cycle(session, actor=city_admin, program="dibao", period=Period(2012, 7), county="320706")
    cycle = get_cycle_for(session, city_admin, run.cycle_id)
    for refused in (call_agent, community_worker):
        with pytest.raises(Forbidden):
            cycle_payments_for(session, refused, cycle)
