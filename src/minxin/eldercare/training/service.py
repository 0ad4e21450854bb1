"""Home-care service centres and care-worker training (plan P20).

- Service centres and demonstration points per town (`add_centre`, `set_centre_status`,
  `list_centres`), counted per county with the towns they cover.
- Care workers (`add_worker`, `get_worker_for`, `list_workers`), courses at a national vocational
  level (`add_course`, `get_course_for`, `list_courses`), enrolment and exam results with the
  certificate (`enrol`, `record_result`).
- `training_counts`: per county and year, centres, demonstration points, towns covered, workers,
  trained (person-times), passed and certified.

Every read goes through the user's scope; every write needs `care:manage` (town, county and city
staff) within the writer's scope and is audited. A course of the city is open to every county's
workers, a county's course to its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import Perm, can_see, require, scoped
from minxin.core._text import MAX_LENGTH, clean_text, optional_text
from minxin.core.divisions import ancestors, county_of, covers, level_of, scope_prefix, town_of
from minxin.core.errors import Conflict, NotFound, ValidationError
from minxin.eldercare.domain import EldercarePerm
from minxin.eldercare.training.models import (
    CENTRE_KINDS,
    CENTRE_STATUSES,
    COURSE_LEVELS,
    ENROLMENT_RESULTS,
    CareCentre,
    CareCourse,
    CareEnrolment,
    CareWorker,
)
from minxin.infra.clock import today
from minxin.kit.paging import Page, paginate
from minxin.regions import Region
from minxin.registry.service import region_names

KIND_NAMES = {"centre": "居家养老服务中心", "demo_point": "居家养老示范点"}
CENTRE_STATUS_NAMES = {"building": "筹建", "in_use": "运营", "closed": "停运"}
RESULT_NAMES = {"enrolled": "在训", "passed": "合格", "failed": "不合格", "withdrawn": "退训"}
MAX_DB_ID = 2**31 - 1
MAX_HOURS = 2000
PASS_SCORE = 60
_PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
_CERTIFICATE = re.compile(r"^[0-9A-Za-z-]{6,40}$")
AnySelect = Select[*tuple[Any, ...]]

assert set(KIND_NAMES) == set(CENTRE_KINDS) and set(CENTRE_STATUS_NAMES) == set(CENTRE_STATUSES)
assert set(RESULT_NAMES) == set(ENROLMENT_RESULTS)


def _writer(actor: User) -> None:
    require(actor, EldercarePerm.CARE_MANAGE)


def _region(session: Session, actor: User, code: str, *, levels: tuple[str, ...], what: str) -> Region:
    """A region of the given levels inside the actor's scope (NotFound alike for unknown and outside)."""
    code = (code or "").strip()
    region = session.get(Region, code) if code.isdigit() and len(code) <= 12 else None
    if region is None or not can_see(actor, region.code):
        raise NotFound(f"区划不存在或不在您的辖区内：{code[:20]} (unknown region)", field="region")
    if level_of(region.code) not in levels:
        raise ValidationError(f"{what}应属于{'或'.join(_LEVEL_NAMES[v] for v in levels)}（{region.name}）"
                              " (wrong region level)", field="region")
    return region


_LEVEL_NAMES = {"city": "市", "county": "县区", "town": "乡镇（街道）", "community": "村（社区）"}


def _phone(value: str) -> str:
    text = clean_text(value, label="电话", max_length=MAX_LENGTH["phone"], field="phone", required=True)
    text = text.replace(" ", "")
    if not _PHONE.match(text):
        raise ValidationError("电话应为 11 位手机号或带区号的固定电话 (bad phone number)", field="phone")
    return text


def _day(value: date | None, label: str, field: str, *, not_after_today: bool = True) -> date | None:
    if value is not None and not_after_today and value > today():
        raise ValidationError(f"{label}不能晚于今天 (date in the future)", field=field)
    return value


# ---- service centres --------------------------------------------------------------------------------

def add_centre(session: Session, *, actor: User, name: str, kind: str, region_code: str,
               status: str = "in_use", opened_on: date | None = None, address: str | None = None,
               phone: str | None = None) -> CareCentre:
    """A new service centre or demonstration point of a town or community in the actor's scope."""
    _writer(actor)
    clean_name = clean_text(name, label="名称", max_length=MAX_LENGTH["long_name"], field="name", required=True)
    if kind not in CENTRE_KINDS:
        raise ValidationError(f"类型应为 {'、'.join(KIND_NAMES.values())} 之一 (bad kind)", field="kind")
    if status not in CENTRE_STATUSES:
        raise ValidationError(f"状态应为 {'、'.join(CENTRE_STATUS_NAMES.values())} 之一 (bad status)", field="status")
    region = _region(session, actor, region_code, levels=("town", "community"), what="服务中心")
    if status == "in_use" and opened_on is None:
        raise ValidationError("运营中的服务中心须填写开业日期 (opening date required)", field="opened_on")
    _day(opened_on, "开业日期", "opened_on")
    centre = CareCentre(name=clean_name, kind=kind, region_code=region.code, status=status, opened_on=opened_on,
                        address=optional_text(address, label="地址", max_length=MAX_LENGTH["address"], field="address"),
                        phone=_phone(phone) if phone and phone.strip() else None, created_by=actor.username)
    try:
        with session.begin_nested():
            session.add(centre)
            session.flush()
    except IntegrityError:
        raise Conflict(f"{region.name}已有同名的服务中心「{clean_name}」 (duplicate name)", field="name") from None
    audit.record(session, actor=actor.username, action="care_centre.add", entity="care_centre", entity_id=centre.id,
                 region_code=centre.region_code, detail={"name": clean_name, "kind": kind, "status": status})
    return centre


def get_centre_for(session: Session, user: User, centre_id: int) -> CareCentre:
    require(user, Perm.REGISTRY_READ)
    centre = session.get(CareCentre, centre_id) if 0 < centre_id <= MAX_DB_ID else None
    if centre is None or not can_see(user, centre.region_code):
        raise NotFound(f"服务中心不存在：{centre_id} (no such centre)")
    return centre


def set_centre_status(session: Session, *, actor: User, centre_id: int, status: str,
                      opened_on: date | None = None) -> CareCentre:
    """Open (运营), close (停运) or mark as being prepared (筹建) a centre; opening needs its date."""
    _writer(actor)
    centre = get_centre_for(session, actor, centre_id)
    if status not in CENTRE_STATUSES:
        raise ValidationError(f"状态应为 {'、'.join(CENTRE_STATUS_NAMES.values())} 之一 (bad status)", field="status")
    if status == centre.status:
        raise Conflict(f"服务中心已是「{CENTRE_STATUS_NAMES[status]}」 (unchanged)", field="status")
    _day(opened_on, "开业日期", "opened_on")
    if status == "in_use":
        centre.opened_on = opened_on or centre.opened_on or today()
    before, centre.status = centre.status, status
    session.flush()
    audit.record(session, actor=actor.username, action="care_centre.status", entity="care_centre",
                 entity_id=centre.id, region_code=centre.region_code, detail={"from": before, "to": status})
    return centre


def list_centres(session: Session, *, user: User, kind: str | None = None, page: int = 1,
                 page_size: int = 50) -> Page[CareCentre]:
    require(user, Perm.REGISTRY_READ)
    stmt = scoped(select(CareCentre), user, CareCentre.region_code)
    if kind:
        if kind not in CENTRE_KINDS:
            raise ValidationError("类型不正确 (bad kind)", field="kind")
        stmt = stmt.where(CareCentre.kind == kind)
    return paginate(session, stmt.order_by(CareCentre.region_code, CareCentre.name, CareCentre.id), page=page,
                    page_size=page_size)


# ---- care workers -----------------------------------------------------------------------------------

def add_worker(session: Session, *, actor: User, name: str, phone: str, region_code: str,
               centre_id: int | None = None) -> CareWorker:
    """A care worker of a town or community in scope; the centre, if named, must be in scope too.
    The phone number identifies a worker (one record per person)."""
    _writer(actor)
    clean_name = clean_text(name, label="姓名", max_length=MAX_LENGTH["person_name"], field="name", required=True,
                            name=True)
    number = _phone(phone)
    region = _region(session, actor, region_code, levels=("town", "community"), what="护理员的工作地")
    if centre_id:
        centre = get_centre_for(session, actor, centre_id)
        if town_of(centre.region_code) != town_of(region.code):
            raise ValidationError("所在服务中心不在该乡镇（街道） (centre of another town)", field="centre_id")
    worker = CareWorker(name=clean_name, phone=number, region_code=region.code, centre_id=centre_id or None,
                        created_by=actor.username)
    try:
        with session.begin_nested():
            session.add(worker)
            session.flush()
    except IntegrityError:
        raise Conflict(f"电话 {number} 已登记为护理员 (phone already registered)", field="phone") from None
    audit.record(session, actor=actor.username, action="care_worker.add", entity="care_worker", entity_id=worker.id,
                 region_code=worker.region_code, detail={"centre_id": worker.centre_id})
    return worker


def get_worker_for(session: Session, user: User, worker_id: int) -> CareWorker:
    require(user, Perm.REGISTRY_READ)
    worker = session.get(CareWorker, worker_id) if 0 < worker_id <= MAX_DB_ID else None
    if worker is None or not can_see(user, worker.region_code):
        raise NotFound(f"护理员不存在：{worker_id} (no such care worker)")
    return worker


def list_workers(session: Session, *, user: User, q: str = "", page: int = 1, page_size: int = 50) -> Page[Any]:
    """(worker, certificates held) rows in scope; `q` finds a name or a phone number."""
    require(user, Perm.REGISTRY_READ)
    certs = (select(func.count(CareEnrolment.id)).where(CareEnrolment.worker_id == CareWorker.id,
                                                        CareEnrolment.result == "passed")
             .correlate(CareWorker).scalar_subquery())
    stmt: AnySelect = scoped(select(CareWorker, certs), user, CareWorker.region_code)
    q = clean_text(q, label="查询", max_length=40, field="q")
    if q:
        stmt = stmt.where(CareWorker.phone == q) if q[:1].isdigit() else stmt.where(CareWorker.name == q)
    return paginate(session, stmt.order_by(CareWorker.region_code, CareWorker.id), page=page, page_size=page_size,
                    scalars=False)


def enrolments_of(session: Session, worker: CareWorker) -> list[tuple[CareEnrolment, CareCourse]]:
    """A worker's courses, latest first (the worker read through `get_worker_for`)."""
    return [(e, c) for e, c in session.execute(
        select(CareEnrolment, CareCourse).join(CareCourse, CareCourse.id == CareEnrolment.course_id)
        .where(CareEnrolment.worker_id == worker.id).order_by(CareCourse.starts_on.desc(), CareCourse.id.desc()))]


# ---- courses ----------------------------------------------------------------------------------------

def _course_visible(user: User) -> Any:
    """Courses of the user's scope and below, and those of the county and city above it."""
    region = CareCourse.region_code
    inside = region.like(scope_prefix(user.scope_code) + "%")  # as `scoped` narrows lists
    above = ancestors(user.scope_code)
    return or_(inside, region.in_(above)) if above else inside


def add_course(session: Session, *, actor: User, name: str, region_code: str, level: str, starts_on: date,
               ends_on: date, hours: int, organiser: str | None = None) -> CareCourse:
    """A course the city or a county organises (its region is a county or the city in the actor's scope)."""
    _writer(actor)
    clean_name = clean_text(name, label="课程名称", max_length=MAX_LENGTH["long_name"], field="name", required=True)
    region = _region(session, actor, region_code, levels=("city", "county"), what="培训课程")
    if level not in COURSE_LEVELS:
        raise ValidationError(f"等级应为 {'、'.join(COURSE_LEVELS)} 之一 (bad level)", field="level")
    if ends_on < starts_on:
        raise ValidationError("结束日期不能早于开始日期 (ends before it starts)", field="ends_on")
    if not 1 <= hours <= MAX_HOURS:
        raise ValidationError(f"学时应为 1–{MAX_HOURS} (bad hours)", field="hours")
    course = CareCourse(name=clean_name, region_code=region.code, level=level, starts_on=starts_on, ends_on=ends_on,
                        hours=hours, created_by=actor.username,
                        organiser=optional_text(organiser, label="承办单位", max_length=MAX_LENGTH["long_name"],
                                                field="organiser"))
    session.add(course)
    session.flush()
    audit.record(session, actor=actor.username, action="care_course.add", entity="care_course", entity_id=course.id,
                 region_code=course.region_code, detail={"name": clean_name, "level": level, "hours": hours})
    return course


def get_course_for(session: Session, user: User, course_id: int) -> CareCourse:
    require(user, Perm.REGISTRY_READ)
    course = session.get(CareCourse, course_id) if 0 < course_id <= MAX_DB_ID else None
    if course is None or not (can_see(user, course.region_code) or covers(course.region_code, user.scope_code)):
        raise NotFound(f"培训课程不存在：{course_id} (no such course)")
    return course


def list_courses(session: Session, *, user: User, year: int | None = None, page: int = 1,
                 page_size: int = 50) -> Page[Any]:
    """(course, enrolled, passed) rows visible to the user, latest first; `year`: courses ending in it."""
    require(user, Perm.REGISTRY_READ)
    enrolled = (select(func.count(CareEnrolment.id)).where(CareEnrolment.course_id == CareCourse.id)
                .correlate(CareCourse).scalar_subquery())
    passed = (select(func.count(CareEnrolment.id)).where(CareEnrolment.course_id == CareCourse.id,
                                                         CareEnrolment.result == "passed")
              .correlate(CareCourse).scalar_subquery())
    stmt: AnySelect = select(CareCourse, enrolled, passed).where(_course_visible(user))
    if year:
        stmt = stmt.where(CareCourse.ends_on >= date(year, 1, 1), CareCourse.ends_on <= date(year, 12, 31))
    return paginate(session, stmt.order_by(CareCourse.starts_on.desc(), CareCourse.id.desc()), page=page,
                    page_size=page_size, scalars=False)


def course_roster(session: Session, *, user: User, course: CareCourse, page: int = 1,
                  page_size: int = 100) -> Page[Any]:
    """(enrolment, worker) rows of a course, for the workers in the user's scope."""
    stmt: AnySelect = (select(CareEnrolment, CareWorker).join(CareWorker, CareWorker.id == CareEnrolment.worker_id)
                       .where(CareEnrolment.course_id == course.id))
    stmt = scoped(stmt, user, CareWorker.region_code)
    return paginate(session, stmt.order_by(CareWorker.region_code, CareWorker.id), page=page, page_size=page_size,
                    scalars=False)


def enrol(session: Session, *, actor: User, course_id: int, worker_id: int) -> CareEnrolment:
    """A worker joins a course of their county or of the city (also recorded after the course, from its roll)."""
    _writer(actor)
    course = get_course_for(session, actor, course_id)
    worker = get_worker_for(session, actor, worker_id)
    if not covers(course.region_code, worker.region_code):
        raise ValidationError("只能报名本县区或市级举办的课程 (course of another county)", field="worker_id")
    row = CareEnrolment(course_id=course.id, worker_id=worker.id, enrolled_by=actor.username)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(f"{worker.name} 已报名此课程 (already enrolled)", field="worker_id") from None
    audit.record(session, actor=actor.username, action="care_course.enrol", entity="care_enrolment",
                 entity_id=row.id, region_code=worker.region_code, detail={"course": course.id, "worker": worker.id})
    return row


def record_result(session: Session, *, actor: User, enrolment_id: int, result: str, score: int | None = None,
                  certificate_no: str | None = None, certified_on: date | None = None) -> CareEnrolment:
    """The exam's result once the course has ended: 合格 with a score ≥ 60 and the certificate's number
    (unique in the city) and date; 不合格 or 退训 without a certificate."""
    _writer(actor)
    row = session.get(CareEnrolment, enrolment_id) if 0 < enrolment_id <= MAX_DB_ID else None
    if row is None:
        raise NotFound(f"报名记录不存在：{enrolment_id} (no such enrolment)")
    worker = get_worker_for(session, actor, row.worker_id)
    course = session.get(CareCourse, row.course_id)
    assert course is not None
    if result not in ENROLMENT_RESULTS or result == "enrolled":
        raise ValidationError("结果应为 合格、不合格 或 退训 (bad result)", field="result")
    if result != "withdrawn" and course.ends_on > today():
        raise Conflict(f"课程 {course.ends_on.isoformat()} 结束后才能登记考核结果 (course not over)", field="result")
    if score is not None and not 0 <= score <= 100:
        raise ValidationError("成绩应为 0–100 (bad score)", field="score")
    number = (certificate_no or "").strip() or None
    if result == "passed":
        if score is None or score < PASS_SCORE:
            raise ValidationError(f"合格须有 {PASS_SCORE} 分及以上的成绩 (passing score required)", field="score")
        if number is None or not _CERTIFICATE.match(number):
            raise ValidationError("合格须填写证书编号（6–40 位字母、数字或 -） (certificate number required)",
                                  field="certificate_no")
        day = certified_on or today()
        if day < course.ends_on or day > today():
            raise ValidationError("发证日期应在课程结束和今天之间 (bad certificate date)", field="certified_on")
    else:
        if number:
            raise ValidationError("只有合格才发证书 (certificate only for a pass)", field="certificate_no")
        if result == "failed" and score is not None and score >= PASS_SCORE:
            raise ValidationError(f"{score} 分应为合格 (score is a pass)", field="score")
        day = None
    taken = Conflict(f"证书编号 {number} 已被使用 (certificate number taken)", field="certificate_no")
    if number and session.execute(select(CareEnrolment.id).where(CareEnrolment.certificate_no == number,
                                                                 CareEnrolment.id != row.id)).first():
        raise taken
    before = row.result
    row.result, row.score, row.certificate_no, row.certified_on = result, score, number, day
    try:
        session.flush()
    except IntegrityError:  # the same number given elsewhere at this moment: the caller rolls back
        raise taken from None
    audit.record(session, actor=actor.username, action="care_course.result", entity="care_enrolment",
                 entity_id=row.id, region_code=worker.region_code,
                 detail={"from": before, "result": result, "score": score, "certificate_no": number})
    return row


# ---- counts per county (P20) --------------------------------------------------------------------------

@dataclass
class CountyTraining:
    county_code: str
    name: str
    towns: int = 0
    towns_covered: int = 0
    centres: int = 0
    demo_points: int = 0
    workers: int = 0
    trained: int = 0
    passed: int = 0
    certified_workers: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def training_counts(session: Session, *, user: User, year: int) -> dict[str, Any]:
    """Per county in scope: towns and the towns with a centre or point in use, centres and demonstration
    points in use, care workers, person-times trained on courses ending in `year`, passes among them,
    and workers holding a certificate (any year)."""
    require(user, Perm.REGISTRY_READ)
    if not 2000 <= year <= today().year + 1:
        raise ValidationError(f"年份应在 2000–{today().year + 1} 之间 (bad year)", field="year")
    all_counties = session.execute(select(Region.code).where(Region.level == "county", Region.alias_of.is_(None))
                                   .order_by(Region.code)).scalars()
    counties = [code for code in all_counties if can_see(user, code) or covers(code, user.scope_code)]
    names = region_names(session, set(counties))
    out = {code: CountyTraining(code, names.get(code, code)) for code in counties}

    def add(rows: Any, attr: str) -> None:
        for code, n in rows:
            c = out.get(county_of(code) or "")
            if c is not None:
                setattr(c, attr, getattr(c, attr) + int(n))

    towns = scoped(select(Region.code, 1).where(Region.level == "town", Region.alias_of.is_(None)), user,
                   Region.code)
    add(session.execute(towns), "towns")
    in_use = scoped(select(CareCentre.region_code, CareCentre.kind).where(CareCentre.status == "in_use"), user,
                    CareCentre.region_code)
    covered: set[str] = set()
    for code, kind in session.execute(in_use):
        c = out.get(county_of(code) or "")
        if c is None:
            continue
        if kind == "centre":
            c.centres += 1
        else:
            c.demo_points += 1
        town = town_of(code)
        if town and town not in covered:
            covered.add(town)
            c.towns_covered += 1
    workers = scoped(select(CareWorker.region_code, func.count()), user, CareWorker.region_code)
    add(session.execute(workers.group_by(CareWorker.region_code)), "workers")
    ended = (CareCourse.ends_on >= date(year, 1, 1)) & (CareCourse.ends_on <= date(year, 12, 31))
    enrolments = scoped(select(CareWorker.region_code, CareEnrolment.result, func.count())
                        .join(CareEnrolment, CareEnrolment.worker_id == CareWorker.id)
                        .join(CareCourse, CareCourse.id == CareEnrolment.course_id).where(ended),
                        user, CareWorker.region_code)
    for code, result, n in session.execute(enrolments.group_by(CareWorker.region_code, CareEnrolment.result)):
        c = out.get(county_of(code) or "")
        if c is None or result == "withdrawn":
            continue
        c.trained += int(n)
        if result == "passed":
            c.passed += int(n)
    certified = scoped(select(CareWorker.region_code, func.count(func.distinct(CareWorker.id)))
                       .join(CareEnrolment, CareEnrolment.worker_id == CareWorker.id)
                       .where(CareEnrolment.result == "passed"), user, CareWorker.region_code)
    add(session.execute(certified.group_by(CareWorker.region_code)), "certified_workers")
    rows = [c.as_dict() for c in out.values()]
    total = {k: sum(r[k] for r in rows) for k in ("towns", "towns_covered", "centres", "demo_points", "workers",
                                                   "trained", "passed", "certified_workers")}
    return {"year": year, "counties": rows, "total": total}


def find_worker_by_phone(session: Session, *, user: User, phone: str) -> CareWorker:
    """The care worker in scope registered with this phone number (NotFound alike for outside)."""
    require(user, Perm.REGISTRY_READ)
    number = _phone(phone)
    worker = session.execute(select(CareWorker).where(CareWorker.phone == number)).scalar_one_or_none()
    if worker is None or not can_see(user, worker.region_code):
        raise NotFound(f"辖区内没有电话为 {number} 的护理员 (no such care worker)", field="phone")
    return worker


def course_of_enrolment(session: Session, *, user: User, enrolment_id: int) -> int:
    """The course of an enrolment whose worker the user may see (for showing a refused result again)."""
    row = session.get(CareEnrolment, enrolment_id) if 0 < enrolment_id <= MAX_DB_ID else None
    if row is None:
        raise NotFound(f"报名记录不存在：{enrolment_id} (no such enrolment)")
    get_worker_for(session, user, row.worker_id)
    return row.course_id
