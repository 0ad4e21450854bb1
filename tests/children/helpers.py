"""Factories of the children's tests: a child in the registry, an orphan case, an import file."""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy.orm import Session

from factories import _name, new_id
from minxin.auth.models import User
from minxin.programs.models import Case
from minxin.registry.models import Institution, Person
from minxin.registry.service import HouseholdIn, MemberIn, create_household

_no = iter(range(1, 10**6))


def child(session: Session, actor: User, *, birth: date, community: str = "320706006001") -> Person:
    """A child living with a grandparent (the household head), both in the registry."""
    county = community[:6]
    hh = create_household(session, actor=actor, data=HouseholdIn(
        household_no=f"C{next(_no):07d}", region_code=community, hukou_type="城镇", members=[
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


CASE_HEADERS = ["姓名", "身份证号", "类别", "机构", "开始月份", "账号", "监护人姓名", "监护人关系", "监护人电话",
                "监护人身份证号"]


def csv_bytes(rows: list[list[str]], headers: list[str] = CASE_HEADERS) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")
