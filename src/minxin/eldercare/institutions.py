"""Care institutions (plan P15–P17): construction status with dated history, beds, residents, occupancy.

The institutions themselves are the registry's (`minxin institution add`, where 五保 集中 recipients
live); this module adds what elderly care needs of them. A bed holds one person at a time and a
person lies in one bed at a time: the service checks both, and two partial unique indexes make the
database refuse a second open placement even if two clerks race.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import Perm, can_see, require, scoped
from minxin.core.divisions import county_of
from minxin.core.errors import Conflict, NotFound, ValidationError
from minxin.eldercare.models import CONSTRUCTION_STATUSES, Bed, BedPlacement, InstitutionStatusEvent
from minxin.infra.clock import today
from minxin.registry.models import Institution, Person
from minxin.registry.service import region_names

STATUS_NAMES = {"planned": "规划", "building": "在建", "structure_done": "主体完工", "in_use": "投入使用"}
MAX_DB_ID = 2**31 - 1
MAX_BEDS_AT_ONCE = 2000


def get_institution_for(session: Session, user: User, institution_id: int, *, for_update: bool = False) -> Institution:
    """The one way to read an institution: missing and out-of-scope alike (NotFound)."""
    require(user, Perm.REGISTRY_READ)
    inst = None
    if 0 < institution_id <= MAX_DB_ID:
        stmt = select(Institution).where(Institution.id == institution_id)
        inst = session.execute(stmt.with_for_update() if for_update else stmt).scalar_one_or_none()
    if inst is None or not can_see(user, inst.region_code):
        raise NotFound(f"机构不存在：{institution_id} (no such institution)")
    return inst


def _writable(session: Session, actor: User, institution_id: int) -> Institution:
    require(actor, Perm.STANDARDS_SET)  # county officers and the city admin run institutions
    return get_institution_for(session, actor, institution_id, for_update=True)


def set_construction_status(session: Session, *, actor: User, institution_id: int, status: str,
                            on: date | None = None, note: str | None = None) -> InstitutionStatusEvent:
    """Move an institution forward in construction (a step may be skipped, never undone), dated."""
    inst = _writable(session, actor, institution_id)
    if status not in CONSTRUCTION_STATUSES:
        raise ValidationError(f"建设状态应为 {'、'.join(STATUS_NAMES.values())} 之一 (bad status)", field="status")
    day = on or today()
    if day > today():
        raise ValidationError("日期不能晚于今天 (date in the future)", field="on")
    last = session.execute(select(InstitutionStatusEvent).where(InstitutionStatusEvent.institution_id == inst.id)
                           .order_by(InstitutionStatusEvent.id.desc()).limit(1)).scalar()
    current = CONSTRUCTION_STATUSES.index(inst.construction_status)
    if last is not None and CONSTRUCTION_STATUSES.index(status) <= current:
        raise Conflict(f"机构已是「{STATUS_NAMES[inst.construction_status]}」，建设状态只能向前 (status only moves on)",
                       field="status")
    if last is not None and day < last.on_date:
        raise ValidationError(f"日期早于上一步（{last.on_date.isoformat()}） (date before the previous step)",
                              field="on")
    clean_note = " ".join((note or "").split())[:200] or None
    event = InstitutionStatusEvent(institution_id=inst.id, status=status, on_date=day, actor=actor.username,
                                   note=clean_note)
    session.add(event)
    inst.construction_status = status
    session.flush()
    audit.record(session, actor=actor.username, action="institution.status", entity="institution",
                 entity_id=inst.id, region_code=inst.region_code, detail={"status": status, "on": day.isoformat()})
    return event


def status_history(session: Session, institution: Institution) -> list[InstitutionStatusEvent]:
    return list(session.execute(select(InstitutionStatusEvent)
                                .where(InstitutionStatusEvent.institution_id == institution.id)
                                .order_by(InstitutionStatusEvent.id)).scalars())


def add_beds(session: Session, *, actor: User, institution_id: int, count: int) -> int:
    """Add `count` numbered beds; the institution's bed count follows its bed rows."""
    inst = _writable(session, actor, institution_id)
    if not 1 <= count <= MAX_BEDS_AT_ONCE:
        raise ValidationError(f"床位数应为 1–{MAX_BEDS_AT_ONCE} (bad bed count)", field="count")
    existing = session.execute(select(func.count()).select_from(Bed).where(Bed.institution_id == inst.id)).scalar_one()
    labels = set(session.execute(select(Bed.label).where(Bed.institution_id == inst.id)).scalars())
    rows: list[dict[str, Any]] = []
    n = existing
    while len(rows) < count:
        n += 1
        if str(n) not in labels:
            rows.append({"institution_id": inst.id, "label": str(n)})
    session.execute(insert(Bed), rows)
    inst.beds = existing + count
    session.flush()
    audit.record(session, actor=actor.username, action="institution.beds", entity="institution", entity_id=inst.id,
                 region_code=inst.region_code, detail={"added": count, "beds": inst.beds})
    return inst.beds


def _person(session: Session, actor: User, id_number: str) -> Person:
    number = (id_number or "").strip().upper()
    person = session.execute(select(Person).where(Person.id_number == number)).scalar_one_or_none() if number else None
    if person is None or not can_see(actor, person.region_code):
        raise NotFound("此人未在本辖区登记 (person not registered in your scope)", field="id_number")
    return person


def _open_placement(session: Session, person_id: int) -> BedPlacement | None:
    return session.execute(select(BedPlacement).where(BedPlacement.person_id == person_id,
                                                      BedPlacement.to_date.is_(None))).scalar_one_or_none()


def place_resident(session: Session, *, actor: User, institution_id: int, id_number: str, bed_label: str | None = None,
                   on: date | None = None) -> BedPlacement:
    """入住: a person takes a free bed (the one named, or the first free) of an institution in use.

    1. Lock the institution row (PostgreSQL; SQLite writers hold the write lock), so placements in
       one institution are serialised.
    2. Refuse a person already in a bed, a bed already taken, an institution not yet in use.
    3. The partial unique indexes refuse a second open placement even if the checks were bypassed.
    """
    inst = _writable(session, actor, institution_id)
    if inst.construction_status != "in_use":
        raise Conflict(f"机构「{inst.name}」尚未投入使用（{STATUS_NAMES[inst.construction_status]}），不能入住 "
                       "(institution not in use)")
    person = _person(session, actor, id_number)
    day = on or today()
    if day > today():
        raise ValidationError("入住日期不能晚于今天 (date in the future)", field="on")
    if (current := _open_placement(session, person.id)) is not None:
        bed = session.get(Bed, current.bed_id)
        raise Conflict(f"{person.name} 已入住（床位 {bed.label if bed else current.bed_id}），请先办理退住 "
                       "(already in a bed)", field="id_number")
    taken = select(BedPlacement.bed_id).where(BedPlacement.to_date.is_(None))
    stmt = select(Bed).where(Bed.institution_id == inst.id)
    if bed_label:
        chosen = session.execute(stmt.where(Bed.label == bed_label.strip())).scalar_one_or_none()
        if chosen is None:
            raise NotFound(f"床位不存在：{bed_label} (no such bed)", field="bed")
        if session.execute(taken.where(BedPlacement.bed_id == chosen.id)).first():
            raise Conflict(f"床位 {chosen.label} 已有人入住 (bed taken)", field="bed")
    else:
        chosen = session.execute(stmt.where(Bed.id.not_in(taken)).order_by(Bed.id).limit(1)).scalar_one_or_none()
        if chosen is None:
            raise Conflict(f"机构「{inst.name}」没有空床位 (no free bed)", field="bed")
    placement = BedPlacement(bed_id=chosen.id, person_id=person.id, from_date=day, actor=actor.username)
    try:
        with session.begin_nested():
            session.add(placement)
            session.flush()
    except IntegrityError:
        raise Conflict("床位或此人刚被他人办理入住，请刷新后重试 (bed or person placed meanwhile)") from None
    audit.record(session, actor=actor.username, action="bed.place", entity="institution", entity_id=inst.id,
                 region_code=inst.region_code, detail={"bed": chosen.label, "person_id": person.id,
                                                       "from": day.isoformat()})
    return placement


def discharge(session: Session, *, actor: User, id_number: str, on: date | None = None) -> BedPlacement:
    """退住: end a person's open placement; the bed is free again."""
    require(actor, Perm.STANDARDS_SET)
    person = _person(session, actor, id_number)
    placement = _open_placement(session, person.id)
    if placement is None:
        raise NotFound(f"{person.name} 没有入住记录 (not in a bed)", field="id_number")
    bed = session.get(Bed, placement.bed_id)
    assert bed is not None
    inst = _writable(session, actor, bed.institution_id)
    day = on or today()
    if day < placement.from_date or day > today():
        raise ValidationError("退住日期应在入住日期和今天之间 (bad date)", field="on")
    placement.to_date = day
    session.flush()
    audit.record(session, actor=actor.username, action="bed.discharge", entity="institution", entity_id=inst.id,
                 region_code=inst.region_code, detail={"bed": bed.label, "person_id": person.id, "to": day.isoformat()})
    return placement


@dataclass
class Occupancy:
    institution_id: int | None
    name: str
    county_code: str | None
    kind: str | None
    ownership: str | None
    status: str | None
    beds: int
    occupied: int

    @property
    def free(self) -> int:
        return max(0, self.beds - self.occupied)

    @property
    def rate_permille(self) -> int:
        return (self.occupied * 1000 + self.beds // 2) // self.beds if self.beds else 0

    def as_dict(self) -> dict[str, Any]:
        return {"institution_id": self.institution_id, "name": self.name, "county_code": self.county_code,
                "kind": self.kind, "ownership": self.ownership, "status": self.status, "beds": self.beds,
                "occupied": self.occupied, "free": self.free, "rate_permille": self.rate_permille}


def _occupancy_rows(session: Session, institutions: list[Institution]) -> list[Occupancy]:
    ids = [i.id for i in institutions]
    occupied: dict[int, int] = {}
    for k in range(0, len(ids), 500):
        rows = session.execute(select(Bed.institution_id, func.count())
                               .join(BedPlacement, BedPlacement.bed_id == Bed.id)
                               .where(BedPlacement.to_date.is_(None), Bed.institution_id.in_(ids[k:k + 500]))
                               .group_by(Bed.institution_id)).all()
        occupied.update({int(i): int(n) for i, n in rows})
    return [Occupancy(i.id, i.name, county_of(i.region_code), i.kind, i.ownership, i.construction_status, i.beds,
                      occupied.get(i.id, 0)) for i in institutions]


def occupancy(session: Session, *, user: User) -> dict[str, Any]:
    """Beds, occupied and free per institution and per county in scope (institutions in use only count)."""
    require(user, Perm.REGISTRY_READ)
    institutions = list(session.execute(scoped(select(Institution), user, Institution.region_code)
                                        .order_by(Institution.region_code, Institution.name)).scalars())
    rows = _occupancy_rows(session, institutions)
    by_county: dict[str | None, Occupancy] = {}
    names = region_names(session, {r.county_code for r in rows if r.county_code})
    statuses: dict[str | None, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CONSTRUCTION_STATUSES, 0))
    for r in rows:
        statuses[r.county_code][r.status or "in_use"] += 1
        acc = by_county.setdefault(r.county_code, Occupancy(None, names.get(r.county_code or "", ""), r.county_code,
                                                            None, None, None, 0, 0))
        if r.status != "in_use":
            continue  # beds of an institution still being built are not there yet
        acc.beds += r.beds
        acc.occupied += r.occupied
    counties = [{**c.as_dict(), "construction": statuses[code]} for code, c in sorted(by_county.items(),
                                                                                     key=lambda kv: kv[0] or "")]
    return {"institutions": [r.as_dict() for r in rows], "counties": counties}


def free_beds_public(session: Session) -> list[dict[str, Any]]:
    """Institutions in use with free beds, for the public page: names and counts only, no personal data."""
    institutions = list(session.execute(select(Institution).where(Institution.construction_status == "in_use")
                                        .order_by(Institution.region_code, Institution.name)).scalars())
    rows = [r for r in _occupancy_rows(session, institutions) if r.free > 0]
    names = region_names(session, {r.county_code for r in rows if r.county_code})
    return [{"name": r.name, "county": names.get(r.county_code or "", ""), "kind": r.kind, "ownership": r.ownership,
             "beds": r.beds, "free": r.free} for r in rows]
