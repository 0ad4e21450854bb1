"""Eldercare factories: elderly people with profiles, contacts and devices."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy.orm import Session

from factories import new_id
from minxin.auth.models import User
from minxin.eldercare.models import CallDevice, ElderlyProfile, EmergencyContact
from minxin.registry.models import Person
from minxin.registry.service import HouseholdIn, MemberIn, create_household

_seq = itertools.count(1)
OLD = date(1940, 3, 1)


def elderly_person(session: Session, actor: User, *, community: str = "320706006001", living: str = "独居",
                   phone: str | None = None, terminal: str | None = None, birth: date = OLD,
                   contact: bool = True) -> Person:
    """A one-person household of an elderly person with a care profile (and a device, a contact)."""
    n = next(_seq)
    region = community[:6]
    hh = create_household(session, actor=actor, data=HouseholdIn(
        household_no=f"E{n:07d}{region}", region_code=community, hukou_type="城镇",
        members=[MemberIn(name="王秀英", id_number=new_id(birth, female=True, region=region), relation="户主")]))
    person = hh.members[0]
    session.add(ElderlyProfile(person_id=person.id, region_code=community, living_arrangement=living,
                               chronic_conditions="高血压", care_level="轻度失能", assessed_on=date(2012, 1, 5),
                               phone=phone, address="新海路 1 号"))
    if terminal:
        session.add(CallDevice(terminal_id=terminal, person_id=person.id))
    if contact:
        session.add(EmergencyContact(person_id=person.id, name="王强", relation="子女", phone="13900000001"))
    session.flush()
    return person
