"""Test factories for the registry: valid ID numbers and households, built through the real services."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.core.idnumber import make_id
from minxin.programs.models import Case
from minxin.registry.models import Household
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
