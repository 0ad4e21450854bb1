"""Test factories, one root for every test: valid ID numbers, households and cases, children, elderly people
with their care profiles, built through the real services (or as the import would create them)."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.core.idnumber import make_id
from minxin.eldercare.models import CallDevice, ElderlyProfile, EmergencyContact
from minxin.programs.models import Case
from minxin.registry.models import Household, Institution, Person
from minxin.registry.service import HouseholdIn, MemberIn, create_household

_seq = itertools.count(1)
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"


def _name() -> str:
    n = next(_seq)
    return _SURNAMES[n % len(_SURNAMES)] + _GIVEN[n % len(_GIVEN)] + _GIVEN[(n // 7) % len(_GIVEN)]


def new_id(birth: date = date(1970, 5, 1), *, female: bool = False, region: str = "320706") -> str:
    """A valid ID number never handed out before in this test run."""
    n = next(_seq)
    seq = (n * 2) % 1000 if female else (n * 2 + 1) % 1000
    # Vary the birth day too so that more than 500 numbers per sex stay unique.
    day = birth.replace(day=1 + (n // 500) % 28)
    return make_id(region, day, seq)


def household(session: Session, actor: User, *, community: str = "320706006001", hukou: str = "城镇",
              members: int = 3, income_yuan: int = 0, no: str | None = None) -> Household:
    """A household of `members` persons (head, spouse, children) in a community."""
    relations = ["户主", "配偶", "子女", "子女", "父母", "父母"]
    people = []
    for i in range(members):
        birth = date(1975, 3, 1) if i < 2 else date(2005, 6, 1)
        people.append(MemberIn(name=_name(), id_number=new_id(birth, female=i == 1),
                               relation=relations[i] if i < len(relations) else "其他",
                               monthly_income_fen=income_yuan * 100 if i == 0 else 0))
    return create_household(session, actor=actor, data=HouseholdIn(
        household_no=no or f"T{next(_seq):08d}", region_code=community, hukou_type=hukou, members=people))


def active_case(session: Session, household_: Household, *, program: str = "dibao", start: str = "2012-01",
                account: str | None = None, sanwu: bool = False) -> Case:
    """An active case for a household, as `minxin case import` would create it."""
    head = next(m for m in household_.members if m.is_head)
    case = Case(program_code=program, household_id=household_.id, person_id=head.id,
                region_code=household_.region_code, category=household_.hukou_type, status="active",
                start_period=start, bank_account=account or f"62284800{head.id:011d}", sanwu=sanwu)
    session.add(case)
    session.flush()
    return case


# ---- children -----------------------------------------------------------------------------------

_child_no = iter(range(1, 10**6))


def child(session: Session, actor: User, *, birth: date, community: str = "320706006001") -> Person:
    """A child living with a grandparent (the household head), both in the registry."""
    county = community[:6]
    hh = create_household(session, actor=actor, data=HouseholdIn(
        household_no=f"C{next(_child_no):07d}", region_code=community, hukou_type="城镇", members=[
            MemberIn(name=_name(), id_number=new_id(date(1950, 2, 1), region=county), relation="户主"),
            MemberIn(name=_name(), id_number=new_id(birth, region=county), relation="孙子女"),
        ]))
    return next(m for m in hh.members if not m.is_head)


def orphan_case(session: Session, person: Person, *, placement: str = "社会散居", start: str = "2012-01",
                institution: Institution | None = None) -> Case:
    """An active orphan case, as the import would create it."""
    assert person.household is not None
    case = Case(program_code="orphan", household_id=person.household_id, person_id=person.id,
                region_code=person.household.region_code, category=placement, status="active", start_period=start,
                bank_account=f"62220200{person.id:011d}", institution_id=institution.id if institution else None)
    session.add(case)
    session.flush()
    return case


def institution(session: Session, *, name: str = "海州区儿童福利院", region: str = "320706") -> Institution:
    inst = Institution(name=name, region_code=region, kind="福利院", beds=100, bank_account="6222000011112222")
    session.add(inst)
    session.flush()
    return inst


# ---- elderly care ---------------------------------------------------------------------------------

_elderly_seq = itertools.count(1)
OLD = date(1940, 3, 1)


def elderly_person(session: Session, actor: User, *, community: str = "320706006001", living: str = "独居",
                   phone: str | None = None, terminal: str | None = None, birth: date = OLD,
                   contact: bool = True) -> Person:
    """A one-person household of an elderly person with a care profile (and a device, a contact)."""
    n = next(_elderly_seq)
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
