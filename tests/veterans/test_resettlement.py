"""P24 resettlement: soldiers awaiting placement listed first with priority cases first, courses, enrolment and
results, each an audited action in the user's scope."""

from __future__ import annotations

from datetime import date

import pytest
from tests.factories import household

from minxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from minxin.veterans import service


def test_awaiting_and_priority_soldiers_come_first_and_courses_count_results(session, county_officer,
                                                                            other_county_officer, community_worker):
    people = [household(session, county_officer, members=1).members[0] for _ in range(3)]
    placed = service.add_soldier(session, actor=county_officer, person_id=people[0].id, discharged_on=date(2011, 12, 1))
    plain = service.add_soldier(session, actor=county_officer, person_id=people[1].id, discharged_on=date(2011, 12, 1))
    first = service.add_soldier(session, actor=county_officer, person_id=people[2].id, discharged_on=date(2012, 12, 1),
                                priority=True, priority_reason="烈士子女")
    service.set_placement(session, actor=county_officer, soldier_id=placed.id, status="placed", on=date(2012, 6, 1))
    order = [s.id for s, _ in service.list_soldiers(session, user=county_officer).items]
    assert order == [first.id, plain.id, placed.id]
    assert service.list_soldiers(session, user=other_county_officer).total == 0
    course = service.add_course(session, actor=county_officer, name="电工", region_code="320706",
                                starts_on=date(2012, 3, 1), ends_on=date(2012, 5, 31))
    enrolment = service.enrol(session, actor=county_officer, course_id=course.id, soldier_id=first.id)
    with pytest.raises(Conflict):
        service.enrol(session, actor=county_officer, course_id=course.id, soldier_id=first.id)
    service.set_result(session, actor=county_officer, enrolment_id=enrolment.id, result="passed",
                       certificate_no="电工证001")
    [(c, enrolled, passed)] = service.courses(session, user=county_officer).items
    assert (c.id, enrolled, passed) == (course.id, 1, 1)
    with pytest.raises(NotFound):
        service.enrol(session, actor=other_county_officer, course_id=course.id, soldier_id=plain.id)
    with pytest.raises(Forbidden):
        service.set_placement(session, actor=community_worker, soldier_id=plain.id, status="placed")
    with pytest.raises(ValidationError):
        service.set_placement(session, actor=county_officer, soldier_id=plain.id, status="hired")
    with pytest.raises(ValidationError):
        service.add_course(session, actor=county_officer, name="烹饪", region_code="320706",
                           starts_on=date(2012, 5, 1), ends_on=date(2012, 4, 1))
    with pytest.raises(Conflict):
        service.add_soldier(session, actor=county_officer, person_id=people[0].id, discharged_on=date(2011, 12, 1))


def test_training_is_free_when_it_starts_within_a_year_of_discharge():
    from minxin.veterans import rules

    assert rules.free_training_until(date(2011, 12, 1)) == date(2012, 12, 1)
    assert rules.free_training_until(date(2012, 2, 29)) == date(2013, 2, 28)
    assert rules.training_free(date(2011, 12, 1), date(2012, 12, 1))  # the anniversary itself is within the year
    assert not rules.training_free(date(2011, 12, 1), date(2012, 12, 2))


def test_a_course_is_open_to_the_soldiers_of_its_region_and_refusals_store_nothing(
        session, county_officer, town_officer, city_admin, other_county_officer):
    from sqlalchemy import select

    from minxin.auth.models import AuditEvent
    from minxin.veterans.models import RetiredSoldier, TrainingEnrolment

    person = household(session, county_officer, members=1).members[0]
    soldier = service.add_soldier(session, actor=town_officer, id_number=person.id_number,
                                  discharged_on=date(2012, 6, 30))
    county = service.add_course(session, actor=county_officer, name="电工", region_code="320706",
                                starts_on=date(2013, 3, 1), ends_on=date(2013, 5, 1))
    ganyu = service.add_course(session, actor=other_county_officer, name="焊工", region_code="320707",
                               starts_on=date(2013, 3, 1), ends_on=date(2013, 5, 1))
    # The town officer sees neither course in their list, yet enrols their soldier in the county's.
    assert service.courses(session, user=town_officer).total == 0
    assert [c.id for c in service.courses_open_to(session, user=town_officer, soldier=soldier)] == [county.id]
    enrolment = service.enrol(session, actor=town_officer, course_id=county.id, soldier_id=soldier.id)
    assert service.courses_open_to(session, user=town_officer, soldier=soldier) == []
    with pytest.raises(NotFound):  # another county's course: not even there for the town officer
        service.enrol(session, actor=town_officer, course_id=ganyu.id, soldier_id=soldier.id)
    with pytest.raises(ValidationError):  # the city sees it, but it does not train Haizhou's soldiers
        service.enrol(session, actor=city_admin, course_id=ganyu.id, soldier_id=soldier.id)
    with pytest.raises(NotFound):  # an enrolment named with another soldier
        service.set_result(session, actor=county_officer, enrolment_id=enrolment.id, result="passed",
                           soldier_id=soldier.id + 1)
    with pytest.raises(ValidationError):
        service.set_result(session, actor=county_officer, enrolment_id=enrolment.id, result="withdrawn",
                           certificate_no="证1")
    with pytest.raises(ValidationError):
        service.add_soldier(session, actor=county_officer, id_number="320706199001011234",
                            discharged_on=date(2012, 1, 1))  # a wrong check digit
    with pytest.raises(NotFound):
        service.add_soldier(session, actor=other_county_officer, id_number=person.id_number,
                            discharged_on=date(2012, 1, 1))
    with pytest.raises(ValidationError):
        service.add_soldier(session, actor=county_officer, person_id=person.id, discharged_on=date(2099, 1, 1))
    with pytest.raises(ValidationError):
        service.set_placement(session, actor=county_officer, soldier_id=soldier.id, status="self_employed")
    with pytest.raises(ValidationError):
        service.add_course(session, actor=county_officer, name="电\x00工", region_code="320706",
                           starts_on=date(2013, 3, 1), ends_on=date(2013, 5, 1))
    with pytest.raises(NotFound):
        service.add_course(session, actor=county_officer, name="电工", region_code="320706006001",
                           starts_on=date(2013, 3, 1), ends_on=date(2013, 5, 1))  # a community organises none
    assert session.execute(select(RetiredSoldier)).scalars().all() == [soldier]
    assert len(session.execute(select(TrainingEnrolment)).scalars().all()) == 1
    enrol_audit = session.execute(select(AuditEvent).where(AuditEvent.action == "veteran.enrol")).scalar_one()
    assert '"free": true' in enrol_audit.detail  # starts 2013-03-01, within a year of 2012-06-30
