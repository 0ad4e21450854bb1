"""Households and persons: registering, the one-person-once rule, scope, search, masking, income history."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from tests.factories import household, new_id

from minxin.auth.models import AuditEvent
from minxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from minxin.registry.models import IncomeDeclaration, Person
from minxin.registry.service import (
    HouseholdIn,
    MemberIn,
    create_household,
    declare_income,
    get_household_for,
    income_history,
    reveal_id_number,
    search_persons,
)

COMMUNITY = "320706006001"


def _members(*relations: str) -> list[MemberIn]:
    return [MemberIn(name="李四", id_number=new_id(), relation=r) for r in relations]


def test_a_household_is_registered_with_its_members_and_audited(session, county_officer):
    hh = household(session, county_officer, members=3, income_yuan=1200)
    assert hh.members[0].relation == "户主"
    assert len(hh.members) == 3
    assert hh.monthly_income_fen == 120000
    assert all(m.region_code == COMMUNITY for m in hh.members)
    ev = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
    assert ev.action == "household.create" and ev.actor == county_officer.username
    assert session.execute(select(IncomeDeclaration).where(IncomeDeclaration.household_id == hh.id)).scalar_one()


def test_person_derives_birth_date_and_sex_from_the_id_number(session, county_officer):
    number = new_id(date(1950, 2, 3), female=True)
    hh = create_household(session, actor=county_officer, data=HouseholdIn(
        household_no="HX1", region_code=COMMUNITY, hukou_type="城镇",
        members=[MemberIn(name="王芳", id_number=number.lower(), relation="本人")]))
    person = hh.members[0]
    assert person.id_number == number  # stored upper-case, normalised
    assert person.sex == "F"
    assert person.birth_date.year == 1950
    assert person.relation == "户主"


def test_the_same_person_in_a_second_household_is_refused_naming_the_first(session, county_officer):
    first = household(session, county_officer, members=2, no="HH-FIRST")
    someone = first.members[1].id_number
    with pytest.raises(Conflict, match="HH-FIRST"):
        create_household(session, actor=county_officer, data=HouseholdIn(
            household_no="HH-SECOND", region_code=COMMUNITY, hukou_type="城镇",
            members=[MemberIn(name="张三", id_number=someone, relation="户主")]))


@pytest.mark.parametrize("relations", [("配偶", "子女"), ("户主", "户主")])
def test_a_household_needs_exactly_one_head(session, county_officer, relations):
    with pytest.raises(ValidationError, match="户主"):
        create_household(session, actor=county_officer, data=HouseholdIn(
            household_no="HX2", region_code=COMMUNITY, hukou_type="城镇", members=_members(*relations)))


def test_unknown_community_and_bad_hukou_are_refused(session, county_officer):
    with pytest.raises(ValidationError, match="社区代码"):
        create_household(session, actor=county_officer, data=HouseholdIn(
            household_no="HX3", region_code="320706999999", hukou_type="城镇", members=_members("户主")))
    with pytest.raises(ValidationError, match="户籍类别"):
        create_household(session, actor=county_officer, data=HouseholdIn(
            household_no="HX4", region_code=COMMUNITY, hukou_type="城市", members=_members("户主")))


def test_a_worker_cannot_register_outside_their_scope(session, other_county_officer):
    with pytest.raises(NotFound):
        create_household(session, actor=other_county_officer, data=HouseholdIn(
            household_no="HX5", region_code=COMMUNITY, hukou_type="城镇", members=_members("户主")))


def test_a_read_only_role_cannot_register(session, auditor):
    with pytest.raises(Forbidden):
        create_household(session, actor=auditor, data=HouseholdIn(
            household_no="HX6", region_code=COMMUNITY, hukou_type="城镇", members=_members("户主")))


def test_households_of_another_county_look_missing(session, county_officer, other_county_officer):
    hh = household(session, county_officer)
    assert get_household_for(session, county_officer, hh.id).id == hh.id
    with pytest.raises(NotFound):
        get_household_for(session, other_county_officer, hh.id)
    with pytest.raises(NotFound):
        get_household_for(session, county_officer, 987654321)


def test_search_finds_by_name_and_by_id_number_within_scope_only(session, county_officer, other_county_officer,
                                                                 city_admin):
    hh = household(session, county_officer, members=2)
    head = hh.members[0]
    by_name = search_persons(session, user=county_officer, q=head.name)
    assert head.id in [p.id for p in by_name.items]
    by_id = search_persons(session, user=county_officer, q=head.id_number.lower())
    assert [p.id for p in by_id.items] == [head.id]
    by_tail = search_persons(session, user=county_officer, q=head.id_number[-6:])
    assert head.id in [p.id for p in by_tail.items]
    assert search_persons(session, user=other_county_officer, q=head.id_number).total == 0
    assert search_persons(session, user=city_admin, q=head.id_number).total == 1


def test_search_is_paged(session, county_officer):
    for _ in range(5):
        household(session, county_officer, members=1)
    page = search_persons(session, user=county_officer, page_size=2)
    assert len(page.items) == 2 and page.total >= 5 and page.pages >= 3
    second = search_persons(session, user=county_officer, page_size=2, page=2)
    assert {p.id for p in second.items}.isdisjoint({p.id for p in page.items})


def test_revealing_an_id_number_is_audited_and_needs_scope(session, county_officer, other_county_officer,
                                                          auditor):
    hh = household(session, county_officer, members=1)
    person = hh.members[0]
    assert reveal_id_number(session, user=county_officer, person_id=person.id) == person.id_number
    ev = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
    assert (ev.action, ev.entity_id, ev.actor) == ("person.view_id", str(person.id), county_officer.username)
    with pytest.raises(NotFound):
        reveal_id_number(session, user=other_county_officer, person_id=person.id)
    with pytest.raises(Forbidden):
        reveal_id_number(session, user=auditor, person_id=person.id)


def test_income_declarations_keep_history_and_the_latest_is_current(session, county_officer):
    hh = household(session, county_officer, members=2, income_yuan=800)
    declare_income(session, actor=county_officer, household_id=hh.id, monthly_income_fen=50000,
                   declared_on=date(2020, 1, 1))
    assert hh.monthly_income_fen == 80000  # an older declaration does not replace the current one
    declare_income(session, actor=county_officer, household_id=hh.id, monthly_income_fen=90000)
    assert hh.monthly_income_fen == 90000
    history = income_history(session, user=county_officer, household_id=hh.id)
    assert [d.monthly_income_fen for d in history][:1] == [90000]
    assert len(history) == 3
    with pytest.raises(ValidationError):
        declare_income(session, actor=county_officer, household_id=hh.id, monthly_income_fen=-1)


def test_the_database_refuses_a_second_head_even_if_code_were_wrong(session, county_officer):
    from sqlalchemy.exc import IntegrityError

    hh = household(session, county_officer, members=2)
    spouse = session.execute(select(Person).where(Person.household_id == hh.id, Person.is_head.is_(False))
                             ).scalar_one()
    spouse.is_head = True
    with pytest.raises(IntegrityError):
        session.flush()
