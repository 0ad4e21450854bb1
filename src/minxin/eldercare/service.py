"""Elderly people (60+ in the registry) and what the care side keeps of them.

Access goes through `get_elderly_for` (one person, NotFound alike for missing and out of scope) and
`list_elderly` (one scoped, paged query). The call centre lives in `calls.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.auth.service import Perm, can_see, require, scoped
from minxin.core.errors import NotFound, ValidationError
from minxin.eldercare.models import LIVING_ARRANGEMENTS, CallDevice, ElderlyProfile, EmergencyContact
from minxin.eldercare.rules import age_on, elderly_cutoff, is_elderly
from minxin.infra.clock import today
from minxin.kit.paging import Page, paginate
from minxin.registry.models import Person

MAX_DB_ID = 2**31 - 1
# A select of any columns (SQLAlchemy 2.1 types a select by its column tuple).
AnySelect = Select[*tuple[Any, ...]]


@dataclass
class Elderly:
    """An elderly person as the care side sees them: the registry person and the care record."""

    person: Person
    profile: ElderlyProfile | None
    contacts: list[EmergencyContact]
    devices: list[CallDevice]

    @property
    def age(self) -> int:
        return age_on(self.person.birth_date, today())


def get_elderly_for(session: Session, user: User, person_id: int, *, on: date | None = None) -> Elderly:
    """The one way to read an elderly person: missing, out of scope and under 60 all look alike."""
    require(user, Perm.REGISTRY_READ)
    person = session.get(Person, person_id) if 0 < person_id <= MAX_DB_ID else None
    if person is None or not can_see(user, person.region_code) or not is_elderly(person.birth_date, on or today()):
        raise NotFound(f"老年人不存在：{person_id} (no such elderly person)")
    return elderly_of(session, person)


def elderly_of(session: Session, person: Person) -> Elderly:
    """The care record of a person already read through a scoped accessor."""
    profile = session.execute(select(ElderlyProfile).where(ElderlyProfile.person_id == person.id)).scalar()
    contacts = list(session.execute(select(EmergencyContact).where(EmergencyContact.person_id == person.id)
                                    .order_by(EmergencyContact.priority, EmergencyContact.id)).scalars())
    devices = list(session.execute(select(CallDevice).where(CallDevice.person_id == person.id)
                                   .order_by(CallDevice.id)).scalars())
    return Elderly(person, profile, contacts, devices)


def elderly_query(user: User, *, on: date, living: str | None = None, q: str = "",
                  region_code: str | None = None) -> AnySelect:
    """Persons aged 60+ on `on` in the user's scope, with their profile (None where none is kept)."""
    stmt: AnySelect = select(Person, ElderlyProfile).outerjoin(ElderlyProfile, ElderlyProfile.person_id == Person.id)
    stmt = scoped(stmt, user, Person.region_code)
    stmt = stmt.where(Person.birth_date <= elderly_cutoff(on))
    if region_code:
        stmt = stmt.where(Person.region_code.like(region_code.strip() + "%"))
    if living:
        if living not in LIVING_ARRANGEMENTS:
            raise ValidationError("居住状况应为 独居、空巢 或 与家人同住 (bad living arrangement)", field="living")
        stmt = stmt.where(ElderlyProfile.living_arrangement == living)
    q = q.strip()
    if q:
        stmt = stmt.where(Person.id_number == q.upper()) if q[:1].isdigit() else stmt.where(Person.name == q)
    return stmt.order_by(Person.region_code, Person.id)


def list_elderly(session: Session, *, user: User, on: date | None = None, living: str | None = None, q: str = "",
                 region_code: str | None = None, page: int = 1, page_size: int = 20) -> Page[Any]:
    """A page of (person, profile) rows of the elderly in scope."""
    require(user, Perm.REGISTRY_READ)
    stmt = elderly_query(user, on=on or today(), living=living, q=q, region_code=region_code)
    return paginate(session, stmt, page=page, page_size=page_size, scalars=False)
