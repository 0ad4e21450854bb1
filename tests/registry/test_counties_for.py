"""counties_for: the one answer to "which counties does this user's scope cover or lie in"."""

from __future__ import annotations

from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.registry.models import Region
from minxin.registry.service import counties_for, list_regions


def _codes(session: Session, user: User) -> list[str]:
    return [r.code for r in counties_for(session, user)]


def test_a_town_officer_and_a_community_worker_get_the_one_county_they_work_in(
        session: Session, town_officer: User, community_worker: User) -> None:
    assert _codes(session, town_officer) == ["320706"]
    assert _codes(session, community_worker) == ["320706"]


def test_a_county_officer_gets_their_own_county(session: Session, county_officer: User,
                                                other_county_officer: User) -> None:
    assert _codes(session, county_officer) == ["320706"]
    assert _codes(session, other_county_officer) == ["320707"]


def test_city_users_of_every_role_get_every_current_county_in_code_order(
        session: Session, city_admin: User, call_agent: User, auditor: User) -> None:
    current = [r.code for r in list_regions(session, level="county", include_historical=False)]
    assert len(current) > 1
    for user in (city_admin, call_agent, auditor):
        assert _codes(session, user) == current


def test_historical_county_codes_are_never_among_them(session: Session, city_admin: User) -> None:
    historical = {r.code for r in list_regions(session, level="county") if r.alias_of}
    assert historical, "the seed has 2012 county codes that were later merged"
    assert not historical & set(_codes(session, city_admin))
    assert all(isinstance(r, Region) and r.level == "county" for r in counties_for(session, city_admin))

