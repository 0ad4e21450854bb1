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
