"""优抚 operations: recipients (scoped reads, documents, status changes, medical status), service events
(checkups, convalescence) against the plan's targets, resettlement (training, placement) and the
on-time payment report (P21: 及时、足额).

Every function takes the session and keyword arguments, checks the user's permission and scope here
(pages and API call the same functions), writes its audit event in the same transaction, and never
commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Select, func, literal_column, or_, select, text
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import can_see, require, scoped
from minxin.core.divisions import parent_of, scope_prefix
from minxin.core.errors import Conflict, NotFound, ValidationError
from minxin.core.idnumber import normalize_id
from minxin.core.period import Period
from minxin.infra.clock import CHINA_TZ, today
from minxin.kit.paging import Page, paginate
from minxin.programs.models import Case, Cycle, Program, Standard
from minxin.programs.policy import load_policy
from minxin.programs.service import step
from minxin.registry.models import Person, Region
from minxin.registry.service import counties_for
from minxin.veterans import rules
from minxin.veterans.calculator import month_share_sql, supplement_sql
from minxin.veterans.domain import VeteranPerm
from minxin.veterans.models import (
    RetiredSoldier,
    TrainingCourse,
    TrainingEnrolment,
    VeteranDeathBenefit,
    VeteranEvent,
    VeteranRecipient,
    VeteranService,
)

PROGRAM = "youfu"
EVENT_NAMES = {"new": "新增", "moved_in": "迁入", "moved_out": "迁出", "deceased": "死亡"}
STATUS_NAMES = {"active": "在册", "moved_out": "已迁出", "deceased": "已去世"}
SERVICE_NAMES = {"checkup": "免费体检", "convalescence": "短期疗养"}
PLACEMENT_NAMES = {"waiting": "待安置", "placed": "已安置", "self_employed": "自主就业"}
RESULT_NAMES = {"enrolled": "在训", "passed": "结业合格", "failed": "未结业", "withdrawn": "退出"}


def program_extra() -> dict[str, Any]:
    return load_policy().program(PROGRAM).extra


# ---- recipients ------------------------------------------------------------------------------------

def require_importer(user: User) -> None:
    """Refuse (Forbidden) a user who may not import recipients, before their file is read."""
    require(user, VeteranPerm.MANAGE)


def get_recipient_for(session: Session, user: User, recipient_id: int) -> VeteranRecipient:
    """The one way to read a recipient: missing and out-of-scope look alike (NotFound)."""
    require(user, VeteranPerm.READ)
    recipient = session.get(VeteranRecipient, recipient_id)
    if recipient is None or not can_see(user, recipient.region_code):
        raise NotFound(f"优抚对象不存在：{recipient_id} (no such recipient)")
    return recipient


def recipient_query(user: User, *, q: str = "", category: str = "", status: str = ""
                    ) -> Select[VeteranRecipient, Person]:
    """Recipients in the user's scope (searched by name, ID number or certificate), newest first."""
    require(user, VeteranPerm.READ)
    stmt = select(VeteranRecipient, Person).join(Person, Person.id == VeteranRecipient.person_id)
    stmt = scoped(stmt, user, VeteranRecipient.region_code)
    q = q.strip()
    if q:
        if q.isdigit() or (len(q) == 18 and q[:17].isdigit()):
            stmt = stmt.where(or_(Person.id_number == q.upper(), VeteranRecipient.certificate_no == q))
        else:
            stmt = stmt.where(or_(Person.name.like(f"{q}%"), VeteranRecipient.certificate_no == q))
    if category:
        stmt = stmt.where(VeteranRecipient.category == category)
    if status:
        stmt = stmt.where(VeteranRecipient.status == status)
    return stmt.order_by(VeteranRecipient.id.desc())


def list_recipients(session: Session, *, user: User, q: str = "", category: str = "", status: str = "",
                    page: int = 1, page_size: int = 20) -> Page[Any]:
    return paginate(session, cast(Any, recipient_query(user, q=q, category=category, status=status)), page=page,
                    page_size=page_size, scalars=False)


def recipient_rows(session: Session, *, user: User, q: str = "", category: str = "", status: str = "",
                   limit: int = 200_000) -> list[tuple[VeteranRecipient, Person]]:
    """Every recipient of the list (for the xlsx export), in the same scope and order."""
    return [(r, p) for r, p in session.execute(recipient_query(user, q=q, category=category, status=status)
                                               .limit(limit)).all()]


def events_of(session: Session, recipient: VeteranRecipient) -> list[VeteranEvent]:
    return list(session.execute(select(VeteranEvent).where(VeteranEvent.recipient_id == recipient.id)
                                .order_by(VeteranEvent.on, VeteranEvent.id)).scalars())


def _event(session: Session, *, actor: User, recipient: VeteranRecipient, kind: str, on: date,
           note: str | None = None, detail: dict[str, Any] | None = None) -> VeteranEvent:
    ev = VeteranEvent(recipient_id=recipient.id, kind=kind, on=on, note=note, actor=actor.username)
    session.add(ev)
    audit.record(session, actor=actor.username, action=f"veteran.{kind}", entity="veteran_recipient",
                 entity_id=recipient.id, region_code=recipient.region_code,
                 detail={"on": on.isoformat(), "note": note, **(detail or {})})
    return ev


CAUSE_NAMES = {"illness": "因病死亡", "other": "其他原因"}


def record_status(session: Session, *, actor: User, recipient_id: int, kind: str, on: date,
                  note: str | None = None, cause: str | None = None) -> VeteranRecipient:
    """A recipient moves out (迁出) or dies (死亡): the event, and the youfu case ends with that month.

    1. The recipient must be active; a death names its cause (因病 `illness` or `other`) where the benefit
       depends on it (残疾军人), and is not dated in the future.
    2. The case is terminated with the month of the move or death as its end month (still paid, also by a
       cycle run after this).
    3. A death that pays funeral aid (rules.death_rule: 6 months to 三属, 12 to a 残疾军人 who died of
       illness) records the benefit: the county's next youfu cycle after the month of death pays it once,
       as its own explained line (veterans.calculator).
    4. The event and its audit entry, in this transaction."""
    require(actor, VeteranPerm.MANAGE)
    recipient = get_recipient_for(session, actor, recipient_id)
    if kind not in ("moved_out", "deceased"):
        raise ValidationError("变动类型应为 迁出(moved_out) 或 死亡(deceased) (unknown status change)", field="kind")
    if recipient.status != "active":
        raise Conflict(f"此优抚对象已{STATUS_NAMES[recipient.status]}，不能再登记{EVENT_NAMES[kind]} "
                       "(recipient no longer active)")
    if on > today() + timedelta(days=1):
        raise ValidationError("日期不能晚于今天 (date in the future)", field="日期")
    rule = None
    if kind == "deceased":
        cause = (cause or "").strip() or None
        if cause is not None and cause not in CAUSE_NAMES:
            raise ValidationError("死亡原因应为 因病死亡(illness) 或 其他原因(other) (unknown cause)", field="死亡原因")
        if cause is None and recipient.category == rules.DISABLED:
            raise ValidationError("残疾军人死亡须注明死亡原因：因病死亡(illness) 或 其他原因(other)；因病死亡增发"
                                  "12个月残疾抚恤金 (cause required)", field="死亡原因")
        rule = rules.death_rule(recipient.category, cause or "other")
    elif cause:
        raise ValidationError("迁出不填死亡原因 (a move has no cause of death)", field="死亡原因")
    case = session.get(Case, recipient.case_id)
    if case is not None and case.status in ("active", "suspended", "approved"):
        step(session, actor=actor, case_id=case.id, action="terminate",
             reason=f"优抚对象{EVENT_NAMES[kind]}（{on.isoformat()}）{('：' + note) if note else ''}",
             start_period=Period.of(on))
    recipient.status = kind
    detail: dict[str, Any] = {"cause": cause} if kind == "deceased" else {}
    if rule is not None:
        months = rules.DEATH_RULES[rule][0]
        session.add(VeteranDeathBenefit(recipient_id=recipient.id, case_id=recipient.case_id, died_on=on,
                                        cause=cause or "other", rule=rule, months=months,
                                        pay_from=str(Period.of(on)), actor=actor.username))
        detail.update(benefit_rule=rule, benefit_months=months)
    _event(session, actor=actor, recipient=recipient, kind=kind, on=on, note=note, detail=detail)
    session.flush()
    return recipient


def death_benefit_of(session: Session, recipient: VeteranRecipient) -> dict[str, Any] | None:
    """The funeral aid a death pays: rule, months, article and the cycle that paid it (None while pending)."""
    b = session.execute(select(VeteranDeathBenefit).where(VeteranDeathBenefit.recipient_id == recipient.id)
                        .execution_options(populate_existing=True)).scalar_one_or_none()  # cycles write it in SQL
    if b is None:
        return None
    article = rules.DEATH_RULES[b.rule][1]
    cycle = session.get(Cycle, b.cycle_id) if b.cycle_id is not None else None
    return {"rule": b.rule, "months": b.months, "article": f"军人抚恤优待条例{article}",
            "died_on": b.died_on.isoformat(),
            "cause": b.cause, "cause_name": CAUSE_NAMES[b.cause], "pay_from": b.pay_from,
            "cycle_id": b.cycle_id, "paid_in": cycle.period if cycle else None}


def set_documents(session: Session, *, actor: User, recipient_id: int, certificate_no: str,
                  issued: date | None) -> VeteranRecipient:
    """The recipient's certificate (优抚证/残疾军人证) number and the day it was issued."""
    require(actor, VeteranPerm.MANAGE)
    recipient = get_recipient_for(session, actor, recipient_id)
    number = certificate_no.strip()
    if not number or len(number) > 40:
        raise ValidationError("证件编号不能为空，且不超过 40 个字符 (certificate number)", field="证件编号")
    if issued is not None and issued > today() + timedelta(days=1):
        raise ValidationError("发证日期不能晚于今天 (issued in the future)", field="发证日期")
    recipient.certificate_no, recipient.certificate_issued = number, issued
    audit.record(session, actor=actor.username, action="veteran.documents", entity="veteran_recipient",
                 entity_id=recipient.id, region_code=recipient.region_code,
                 detail={"certificate_no": number, "issued": issued.isoformat() if issued else None})
    session.flush()
    return recipient


MEDICAL_SCHEMES = ("城镇职工基本医疗保险", "城镇居民基本医疗保险", "新型农村合作医疗", "未参保")


def set_medical(session: Session, *, actor: User, recipient_id: int, insurance: str, subsidy: bool
                ) -> VeteranRecipient:
    """P22: the recipient's basic medical insurance scheme and whether they get the 优抚 medical subsidy."""
    require(actor, VeteranPerm.MANAGE)
    recipient = get_recipient_for(session, actor, recipient_id)
    insurance = insurance.strip()
    if insurance not in MEDICAL_SCHEMES:
        raise ValidationError(f"医保类型应为 {'、'.join(MEDICAL_SCHEMES)} 之一 (unknown scheme)", field="医保")
    recipient.medical_insurance, recipient.medical_subsidy = insurance, subsidy
    audit.record(session, actor=actor.username, action="veteran.medical", entity="veteran_recipient",
                 entity_id=recipient.id, region_code=recipient.region_code,
                 detail={"insurance": insurance, "subsidy": subsidy})
    session.flush()
    return recipient


def veteran_counts(session: Session, *, scope_code: str | None = None) -> dict[str, int]:
    """Counts for `minxin stats`: recipients on the register."""
    stmt = select(func.count()).select_from(VeteranRecipient).where(VeteranRecipient.status == "active")
    if scope_code:
        stmt = stmt.where(VeteranRecipient.region_code.like(scope_prefix(scope_code) + "%"))
    return {"youfu_recipients": session.execute(stmt).scalar_one()}


# ---- service events: checkups and convalescence (P23) ----------------------------------------------

def record_service(session: Session, *, actor: User, recipient_id: int, kind: str, on: date, hospital: str,
                   days: int | None = None, note: str | None = None) -> VeteranService:
    """One person-time of a free checkup or a convalescence stay in a special-care hospital."""
    require(actor, VeteranPerm.SERVICES)
    recipient = get_recipient_for(session, actor, recipient_id)
    if kind not in SERVICE_NAMES:
        raise ValidationError("服务类型应为 体检(checkup) 或 疗养(convalescence) (unknown kind)", field="kind")
    hospital = hospital.strip()
    if not hospital or len(hospital) > 100:
        raise ValidationError("请填写医院（优抚医院/疗养院）名称 (hospital required)", field="医院")
    if days is not None and days <= 0:
        raise ValidationError("疗养天数必须为正数 (days must be positive)", field="天数")
    if on > today() + timedelta(days=1):
        raise ValidationError("日期不能晚于今天 (date in the future)", field="日期")
    if recipient.status != "active":
        raise Conflict("此优抚对象已不在册 (recipient no longer active)")
    ev = VeteranService(recipient_id=recipient.id, kind=kind, on=on, region_code=recipient.region_code,
                        hospital=hospital, days=days, note=note, actor=actor.username)
    session.add(ev)
    session.flush()
    audit.record(session, actor=actor.username, action=f"veteran.{kind}", entity="veteran_service",
                 entity_id=ev.id, region_code=recipient.region_code,
                 detail={"recipient": recipient.id, "on": on.isoformat(), "hospital": hospital, "days": days})
    return ev


def services_of(session: Session, recipient: VeteranRecipient) -> list[VeteranService]:
    return list(session.execute(select(VeteranService).where(VeteranService.recipient_id == recipient.id)
                                .order_by(VeteranService.on.desc())).scalars())


def service_targets(session: Session, *, user: User, year: int) -> dict[str, Any]:
    """P23: person-times of free checkups and convalescence stays per county in the year, and the city's
    totals against the targets (≥ 1,500 checkups, ≥ 200 stays; policy file)."""
    require(user, VeteranPerm.READ)
    extra = program_extra()
    targets = {"checkup": int(extra.get("checkup_target", 1500)),
               "convalescence": int(extra.get("convalescence_target", 200))}
    # Inline constants: bound ones would make the GROUP BY a different expression for PostgreSQL.
    county = func.substr(VeteranService.region_code, literal_column("1"), literal_column("6"))
    stmt = (select(county, VeteranService.kind, func.count())
            .where(VeteranService.on >= date(year, 1, 1), VeteranService.on <= date(year, 12, 31))
            .group_by(county, VeteranService.kind))
    counts: dict[tuple[str, str], int] = {(c, k): n for c, k, n in session.execute(
        scoped(stmt, user, VeteranService.region_code))}
    rows: list[dict[str, Any]] = [
        {"county": r.code, "county_name": r.name, "checkup": counts.get((r.code, "checkup"), 0),
         "convalescence": counts.get((r.code, "convalescence"), 0)} for r in counties_for(session, user)]
    total = {k: sum(int(row[k]) for row in rows) for k in targets}
    return {"year": year, "targets": targets, "counties": rows, "total": total,
            "met": {k: total[k] >= targets[k] for k in targets}}


# ---- resettlement (P24) ------------------------------------------------------------------------------

def get_soldier_for(session: Session, user: User, soldier_id: int) -> RetiredSoldier:
    """The one way to read a retired soldier: missing and out-of-scope look alike (NotFound)."""
    require(user, VeteranPerm.READ)
    soldier = session.get(RetiredSoldier, soldier_id)
    if soldier is None or not can_see(user, soldier.region_code):
        raise NotFound(f"退役士兵不存在：{soldier_id} (no such soldier)")
    return soldier


def get_course_for(session: Session, user: User, course_id: int) -> TrainingCourse:
    require(user, VeteranPerm.READ)
    course = session.get(TrainingCourse, course_id)
    if course is None or not can_see(user, course.region_code):
        raise NotFound(f"培训课程不存在：{course_id} (no such course)")
    return course


def _check_placement_status(status: str) -> str:
    if status and status not in PLACEMENT_NAMES:
        raise ValidationError(f"安置状态应为 {'/'.join(PLACEMENT_NAMES)} 之一 (unknown status)", field="status")
    return status


def soldier_query(user: User, *, status: str = "") -> Select[RetiredSoldier, Person]:
    """Retired soldiers in the user's scope: awaiting placement first, priority cases first among them."""
    require(user, VeteranPerm.READ)
    stmt = scoped(select(RetiredSoldier, Person).join(Person, Person.id == RetiredSoldier.person_id), user,
                  RetiredSoldier.region_code)
    if _check_placement_status(status):
        stmt = stmt.where(RetiredSoldier.placement_status == status)
    waiting_first = func.coalesce(func.nullif(RetiredSoldier.placement_status, "waiting"), "")
    return stmt.order_by(waiting_first, RetiredSoldier.priority.desc(), RetiredSoldier.discharged_on,
                         RetiredSoldier.id)


def soldier_rows(session: Session, *, user: User, status: str = "", limit: int = 200_000
                 ) -> list[tuple[RetiredSoldier, Person]]:
    """Every retired soldier of the list (for the xlsx export), in the same scope and order."""
    return [(s, p) for s, p in session.execute(soldier_query(user, status=status).limit(limit)).all()]


def list_soldiers(session: Session, *, user: User, status: str = "", page: int = 1, page_size: int = 20
                  ) -> Page[Any]:
    return paginate(session, cast(Any, soldier_query(user, status=status)), page=page, page_size=page_size,
                    scalars=False)


def _check_day(day: date | None, field: str) -> None:
    if day is not None and day > today() + timedelta(days=1):
        raise ValidationError("日期不能晚于今天 (date in the future)", field=field)


def _short(value: str | None, limit: int, field: str) -> str | None:
    value = (value or "").strip()
    if len(value) > limit or any(ord(ch) < 32 for ch in value):
        raise ValidationError(f"{field}不超过 {limit} 个字符，且不含控制字符 (too long)", field=field)
    return value or None


def add_soldier(session: Session, *, actor: User, person_id: int | None = None, id_number: str | None = None,
                discharged_on: date, priority: bool = False, priority_reason: str | None = None) -> RetiredSoldier:
    """Register a retired soldier awaiting placement (退役士兵待安置): a person of the registry in the actor's
    scope, by id or by ID number; priority cases (优先安置) with their reason."""
    require(actor, VeteranPerm.SERVICES)
    if id_number is not None:
        try:
            number = normalize_id(id_number)
        except ValidationError as exc:
            raise ValidationError(exc.message, field="身份证号") from None
        found = session.execute(select(Person).where(Person.id_number == number)).scalar_one_or_none()
        if found is None or not can_see(actor, found.region_code):
            raise NotFound("辖区内没有此身份证号的人员，请先在户籍登记中登记 (no such person in your scope)")
        person_id = found.id
    person = session.get(Person, person_id) if person_id is not None else None
    if person is None or not can_see(actor, person.region_code):
        raise NotFound(f"人员不存在：{person_id} (no such person)")
    _check_day(discharged_on, "退役日期")
    reason = _short(priority_reason, 64, "优先原因")
    if priority and not reason:
        raise ValidationError("优先安置须注明原因（如 烈士子女、因战致残） (priority reason required)",
                              field="优先原因")
    if session.execute(select(RetiredSoldier.id).where(RetiredSoldier.person_id == person.id)).first():
        raise Conflict("此人已登记为退役士兵 (already registered)")
    soldier = RetiredSoldier(person_id=person.id, region_code=person.region_code or "", discharged_on=discharged_on,
                             priority=priority, priority_reason=reason if priority else None)
    session.add(soldier)
    session.flush()
    audit.record(session, actor=actor.username, action="veteran.soldier_add", entity="retired_soldier",
                 entity_id=soldier.id, region_code=soldier.region_code,
                 detail={"discharged_on": discharged_on.isoformat(), "priority": priority, "reason": reason})
    return soldier


def set_placement(session: Session, *, actor: User, soldier_id: int, status: str, on: date | None = None,
                  note: str | None = None) -> RetiredSoldier:
    """The soldier's placement (安置状态): waiting, placed (已安置, with the day) or self-employed (自主就业)."""
    require(actor, VeteranPerm.SERVICES)
    soldier = get_soldier_for(session, actor, soldier_id)
    if not _check_placement_status(status):
        raise ValidationError(f"安置状态应为 {'/'.join(PLACEMENT_NAMES)} 之一 (unknown status)", field="status")
    if status != "waiting" and on is None:
        raise ValidationError("请填写安置日期 (date required)", field="安置日期")
    _check_day(on, "安置日期")
    if on is not None and status != "waiting" and on < soldier.discharged_on:
        raise ValidationError("安置日期不能早于退役日期 (placed before discharge)", field="安置日期")
    soldier.placement_status = status
    soldier.placed_on = on if status != "waiting" else None
    soldier.placement_note = _short(note, 200, "说明")
    audit.record(session, actor=actor.username, action="veteran.placement", entity="retired_soldier",
                 entity_id=soldier.id, region_code=soldier.region_code,
                 detail={"status": status, "on": on.isoformat() if on else None, "note": soldier.placement_note})
    session.flush()
    return soldier


def add_course(session: Session, *, actor: User, name: str, region_code: str, starts_on: date, ends_on: date,
               provider: str | None = None) -> TrainingCourse:
    """A skills-training course (职业技能培训) a county (or the city, or a town) organises."""
    require(actor, VeteranPerm.SERVICES)
    name = name.strip()
    if not name or len(name) > 100 or any(ord(ch) < 32 for ch in name):
        raise ValidationError("课程名称不能为空，不超过 100 个字符 (course name required)", field="名称")
    if ends_on < starts_on:
        raise ValidationError("结束日期不能早于开始日期 (ends before it starts)", field="结束日期")
    region_code = region_code.strip()
    region = session.get(Region, region_code) if region_code.isdigit() and len(region_code) <= 12 else None
    if region is None or region.level == "community" or not can_see(actor, region_code):
        raise NotFound(f"区划不存在或不在您的辖区内：{region_code} (unknown region)")
    course = TrainingCourse(name=name, region_code=region_code, starts_on=starts_on, ends_on=ends_on,
                            provider=_short(provider, 100, "培训机构"))
    session.add(course)
    session.flush()
    audit.record(session, actor=actor.username, action="veteran.course_add", entity="training_course",
                 entity_id=course.id, region_code=region_code,
                 detail={"name": name, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat()})
    return course


def course_query(user: User) -> Select[TrainingCourse, int, int]:
    """Courses in scope with their enrolment and pass counts, latest first."""
    require(user, VeteranPerm.READ)
    enrolled = func.count(TrainingEnrolment.id)
    passed = func.count(TrainingEnrolment.id).filter(TrainingEnrolment.result == "passed")
    stmt = (select(TrainingCourse, enrolled, passed)
            .outerjoin(TrainingEnrolment, TrainingEnrolment.course_id == TrainingCourse.id)
            .group_by(TrainingCourse.id).order_by(TrainingCourse.starts_on.desc(), TrainingCourse.id.desc()))
    return scoped(stmt, user, TrainingCourse.region_code)


def courses(session: Session, *, user: User, page: int = 1, page_size: int = 20) -> Page[Any]:
    return paginate(session, cast(Any, course_query(user)), page=page, page_size=page_size, scalars=False)


def course_rows(session: Session, *, user: User, limit: int = 200_000) -> list[tuple[TrainingCourse, int, int]]:
    """Every course of the list (for the xlsx export), in the same scope and order."""
    return [(c, int(n), int(p)) for c, n, p in session.execute(course_query(user).limit(limit)).all()]


def courses_open_to(session: Session, *, user: User, soldier: RetiredSoldier, limit: int = 200
                    ) -> list[TrainingCourse]:
    """Courses the soldier (whom the user may see) may enrol in: organised for the soldier's region or one
    covering it (town, county, city), not yet enrolled, latest first."""
    require(user, VeteranPerm.READ)
    if not can_see(user, soldier.region_code):
        raise NotFound(f"退役士兵不存在：{soldier.id} (no such soldier)")
    code: str | None = soldier.region_code
    regions: list[str] = []
    while code:
        regions.append(code)
        code = parent_of(code)
    taken = select(TrainingEnrolment.course_id).where(TrainingEnrolment.soldier_id == soldier.id)
    stmt = (select(TrainingCourse).where(TrainingCourse.region_code.in_(regions), TrainingCourse.id.not_in(taken))
            .order_by(TrainingCourse.starts_on.desc(), TrainingCourse.id.desc()).limit(limit))
    return list(session.execute(stmt).scalars())


def enrol(session: Session, *, actor: User, course_id: int, soldier_id: int) -> TrainingEnrolment:
    """Enrol a soldier in a course of a region covering theirs (free if it starts within a year of discharge)."""
    require(actor, VeteranPerm.SERVICES)
    soldier = get_soldier_for(session, actor, soldier_id)
    course = session.get(TrainingCourse, course_id)
    # A course is open to the soldiers of its region: a town officer enrols theirs in the county's courses.
    open_to = course is not None and soldier.region_code.startswith(scope_prefix(course.region_code))
    if course is None or not (open_to or can_see(actor, course.region_code)):
        raise NotFound(f"培训课程不存在：{course_id} (no such course)")
    if not open_to:
        raise ValidationError("此课程不面向该士兵所在地区 (course of another region)", field="课程")
    if session.execute(select(TrainingEnrolment.id).where(TrainingEnrolment.course_id == course_id,
                                                          TrainingEnrolment.soldier_id == soldier_id)).first():
        raise Conflict("已报名此课程 (already enrolled)")
    row = TrainingEnrolment(course_id=course_id, soldier_id=soldier.id)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor.username, action="veteran.enrol", entity="training_enrolment",
                 entity_id=row.id, region_code=soldier.region_code,
                 detail={"course": course_id, "soldier": soldier.id,
                         "free": rules.training_free(soldier.discharged_on, course.starts_on)})
    return row


def set_result(session: Session, *, actor: User, enrolment_id: int, result: str,
               certificate_no: str | None = None, soldier_id: int | None = None) -> TrainingEnrolment:
    """The result of an enrolment (结业合格 with the certificate, 未结业, 退出); `soldier_id`, when given, must
    be the enrolment's (a page's form names both)."""
    require(actor, VeteranPerm.SERVICES)
    row = session.get(TrainingEnrolment, enrolment_id)
    if row is None or (soldier_id is not None and row.soldier_id != soldier_id):
        raise NotFound(f"报名记录不存在：{enrolment_id} (no such enrolment)")
    soldier = get_soldier_for(session, actor, row.soldier_id)
    if result not in RESULT_NAMES:
        raise ValidationError(f"培训结果应为 {'/'.join(RESULT_NAMES)} 之一 (unknown result)", field="result")
    certificate = _short(certificate_no, 40, "证书编号")
    if certificate and result != "passed":
        raise ValidationError("只有结业合格才有证书编号 (certificate only when passed)", field="证书编号")
    row.result, row.certificate_no = result, certificate
    audit.record(session, actor=actor.username, action="veteran.training_result", entity="training_enrolment",
                 entity_id=row.id, region_code=soldier.region_code,
                 detail={"result": result, "certificate_no": certificate})
    session.flush()
    return row


def enrolments_of(session: Session, soldier: RetiredSoldier) -> list[tuple[TrainingEnrolment, TrainingCourse]]:
    return [(e, c) for e, c in session.execute(
        select(TrainingEnrolment, TrainingCourse).join(TrainingCourse, TrainingCourse.id == TrainingEnrolment.course_id)
        .where(TrainingEnrolment.soldier_id == soldier.id).order_by(TrainingCourse.starts_on))]


def soldier_detail(session: Session, *, user: User, soldier_id: int) -> dict[str, Any]:
    """A retired soldier as the page and `minxin veteran soldier` present it: person (masked), discharge,
    priority, placement, and each enrolment with its course, result and whether the training is free."""
    from minxin.core.masking import mask_id, mask_name

    s = get_soldier_for(session, user, soldier_id)
    person = session.get(Person, s.person_id)
    assert person is not None  # foreign key
    return {
        "id": s.id, "person_id": person.id, "name": mask_name(person.name), "id_number": mask_id(person.id_number),
        "region_code": s.region_code, "discharged_on": s.discharged_on.isoformat(), "priority": s.priority,
        "priority_reason": s.priority_reason, "placement_status": s.placement_status,
        "placement_name": PLACEMENT_NAMES[s.placement_status],
        "placed_on": s.placed_on.isoformat() if s.placed_on else None, "placement_note": s.placement_note,
        "free_until": rules.free_training_until(s.discharged_on).isoformat(),
        "enrolments": [{"id": e.id, "course_id": c.id, "course": c.name, "region_code": c.region_code,
                        "starts_on": c.starts_on.isoformat(), "ends_on": c.ends_on.isoformat(),
                        "provider": c.provider, "result": e.result, "result_name": RESULT_NAMES[e.result],
                        "certificate_no": e.certificate_no,
                        "free": rules.training_free(s.discharged_on, c.starts_on)}
                       for e, c in enrolments_of(session, s)],
    }


# ---- on time and in full (P21) -----------------------------------------------------------------------

REASONS = {
    "no_cycle": "未计算发放（本月发放周期未运行）",
    "suspended": "案件暂停发放",
    "not_in_cycle": "未列入本月发放",
    "not_exported": "未导出银行文件",
    "not_reconciled": "银行尚未回盘",
    "failed": "银行发放失败",
    "short": "发放金额不足",
}
# Paid in full and confirmed by the bank, but after the due day: counted (`late`), not an exception.
LATE = "late"


@dataclass
class OntimeReport:
    period: str
    due_date: date
    counties: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    exceptions_total: int = 0

    def totals(self) -> dict[str, Any]:
        keys = ("due", "paid", "on_time", "late", "exceptions", "due_fen", "paid_fen")
        out: dict[str, Any] = {k: sum(int(c[k]) for c in self.counties) for k in keys}
        by_reason: dict[str, int] = {}
        for c in self.counties:
            for reason, n in c["by_reason"].items():
                by_reason[reason] = by_reason.get(reason, 0) + n
        out["by_reason"] = by_reason
        return out

    def as_json(self) -> dict[str, Any]:
        return {"program": PROGRAM, "period": self.period, "due_date": self.due_date.isoformat(),
                "counties": self.counties, "total": self.totals(), "exceptions": self.exceptions,
                "exceptions_total": self.exceptions_total}


def due_date(period: Period) -> date:
    day = int(program_extra().get("due_day", 15))
    return date(period.year, period.month, min(max(day, 1), 28 if period.month == 2 else 30))


def _fill_due_standards(session: Session, *, user: User, period: Period) -> None:
    """yf_due: the annual standard in force now for the period, per (region, category) that has recipients in
    the user's scope — Python per pair (thousands), never per case; the lookup of the engine (the most
    specific region along the chain, then the latest date)."""
    session.execute(text("DROP TABLE IF EXISTS yf_due"))
    session.execute(text("CREATE TEMPORARY TABLE yf_due (region_code VARCHAR(12) NOT NULL, "
                         "category VARCHAR(16) NOT NULL, standard_fen BIGINT NOT NULL, "
                         "PRIMARY KEY (region_code, category))"))
    prefix = scope_prefix(user.scope_code)
    pairs = session.execute(select(Case.region_code, Case.category).where(
        Case.program_code == PROGRAM, Case.region_code.like(prefix + "%")).distinct()).all()
    if not pairs:
        return
    parents = dict(session.execute(select(Region.code, Region.parent_code)).all())
    standards: dict[tuple[str, str], int] = {}
    for region, category, amount in session.execute(
        select(Standard.region_code, Standard.category, Standard.amount_fen)
        .where(Standard.program_code == PROGRAM, Standard.effective_from <= period.last_day())
        .order_by(Standard.effective_from, Standard.id)
    ):
        standards[(region, category)] = amount
    rows = []
    for region_code, category in pairs:
        code: str | None = region_code
        while code:
            if (code, category) in standards:
                rows.append({"r": region_code, "c": category, "s": standards[(code, category)]})
                break
            code = parents.get(code)
    if rows:
        session.execute(text("INSERT INTO yf_due (region_code, category, standard_fen) VALUES (:r, :c, :s)"), rows)


def _county_row(county: str, name: str) -> dict[str, Any]:
    return {"county": county, "county_name": name, "due": 0, "paid": 0, "on_time": 0, "late": 0, "exceptions": 0,
            "due_fen": 0, "paid_fen": 0, "by_reason": {}}


def ontime_report(session: Session, *, user: User, period: Period, limit: int | None = 1000) -> OntimeReport:
    """P21 及时、足额: every youfu recipient due a payment for the month, whether the bank confirmed it
    (the county's cycle reconciled, the line paid) by the month's due day (policy file `due_day`) and for
    the full amount due under the standards in force now, and the exceptions with their reason.

    1. Due: the youfu cases in scope whose start month is at or before the month and whose end month (if
       any) is at or after it, active, suspended or since terminated.
    2. Each is joined to its county's cycle of the month and its line there; the amount due is the
       calculator's rule over the standard in force now (yf_due), the case's years of service and the
       local supplement.
    3. Per county: due; paid (in full, confirmed by the bank), of which on time (by the due day) and late;
       the exceptions by reason (REASONS); amounts due and paid; the exceptions listed (up to `limit`;
       None for all) by county and case. A payment confirmed after the due day is counted late, not
       listed as an exception.
    Set-based: two statements over the same join, however many recipients."""
    require(user, VeteranPerm.READ)
    deadline = due_date(period)
    report = OntimeReport(period=str(period), due_date=deadline)
    cutoff = datetime.combine(deadline + timedelta(days=1), time(), tzinfo=CHINA_TZ)
    late_cycles = [cid for cid, at in session.execute(select(Cycle.id, Cycle.reconciled_at).where(
        Cycle.program_code == PROGRAM, Cycle.period == str(period), Cycle.status == "reconciled"))
        if at is not None and at > cutoff]
    _fill_due_standards(session, user=user, period=period)
    prefix = scope_prefix(user.scope_code)
    due_sql = (f"CASE WHEN d.standard_fen IS NULL THEN NULL ELSE {month_share_sql('d.standard_fen', ':period')} "
               f"* COALESCE(v.service_years, 1) + {supplement_sql('c.region_code', 'c.category', ':period')} END")
    late = f"WHEN y.id IN ({', '.join(str(int(i)) for i in late_cycles)}) THEN 'late'" if late_cycles else ""
    base = f"""
SELECT c.id AS case_id, c.region_code AS region_code, c.category AS category, c.person_id AS person_id,
       {due_sql} AS due_fen, COALESCE(p.regular_fen, 0) AS paid_fen,
       CASE WHEN c.status = 'suspended' AND p.case_id IS NULL THEN 'suspended'
            WHEN y.id IS NULL THEN 'no_cycle'
            WHEN p.case_id IS NULL THEN 'not_in_cycle'
            WHEN y.status = 'draft' OR y.status = 'approved' THEN 'not_exported'
            WHEN y.status = 'exported' THEN 'not_reconciled'
            WHEN p.status = 'failed' THEN 'failed'
            WHEN d.standard_fen IS NOT NULL AND p.regular_fen < {due_sql} THEN 'short'
            {late}
            ELSE 'ok' END AS reason
FROM cases c
LEFT JOIN veteran_recipients v ON v.case_id = c.id
LEFT JOIN yf_due d ON d.region_code = c.region_code AND d.category = c.category
LEFT JOIN cycles y ON y.program_code = c.program_code AND y.period = :period
     AND y.county_code = substr(c.region_code, 1, 6)
LEFT JOIN payments p ON p.cycle_id = y.id AND p.case_id = c.id AND p.seq = 0
WHERE c.program_code = :p AND c.region_code >= :lo AND c.region_code < :hi
  AND (c.status = 'active' OR c.status = 'suspended' OR c.status = 'terminated')
  AND c.start_period <= :period AND (c.end_period IS NULL OR c.end_period >= :period)
"""
    lo, hi = prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)
    params = {"p": PROGRAM, "period": str(period), "lo": lo, "hi": hi}
    names = {r.code: r.name for r in counties_for(session, user)}
    per: dict[str, dict[str, Any]] = {}
    for county, reason, n, due_fen, paid_fen in session.execute(text(f"""
SELECT substr(t.region_code, 1, 6), t.reason, COUNT(*), COALESCE(SUM(t.due_fen), 0),
       COALESCE(SUM(CASE WHEN t.reason = 'ok' OR t.reason = 'late' OR t.reason = 'short' THEN t.paid_fen
                    ELSE 0 END), 0)
FROM ({base}) t GROUP BY substr(t.region_code, 1, 6), t.reason"""), params):
        row = per.setdefault(county, _county_row(county, names.get(county, county)))
        row["due"] += int(n)
        row["due_fen"] += int(due_fen)
        row["paid_fen"] += int(paid_fen)
        if reason in ("ok", LATE):
            row["paid"] += int(n)
            row["on_time" if reason == "ok" else "late"] += int(n)
        else:
            row["exceptions"] += int(n)
            row["by_reason"][reason] = int(n)
    for code, name in names.items():
        per.setdefault(code, _county_row(code, name))
    report.counties = [per[k] for k in sorted(per)]
    report.exceptions_total = sum(c["exceptions"] for c in report.counties)
    cap = "" if limit is None else f" LIMIT {int(limit)}"
    rows = session.execute(text(f"""
SELECT t.case_id, t.region_code, t.category, t.reason, t.due_fen, t.paid_fen, ps.name, ps.id_number, vr.id
FROM ({base}) t JOIN persons ps ON ps.id = t.person_id LEFT JOIN veteran_recipients vr ON vr.case_id = t.case_id
WHERE t.reason <> 'ok' AND t.reason <> 'late' ORDER BY t.region_code, t.case_id{cap}"""), params).all()
    from minxin.core.masking import mask_id, mask_name

    report.exceptions = [
        {"county": str(r[1])[:6], "case_id": int(r[0]), "recipient_id": int(r[8]) if r[8] is not None else None,
         "region_code": r[1], "name": mask_name(r[6]), "id_number": mask_id(r[7]), "category": r[2],
         "reason": r[3], "reason_text": REASONS.get(r[3], r[3]), "due_fen": None if r[4] is None else int(r[4]),
         "paid_fen": int(r[5])} for r in rows]
    return report


def program_exists(session: Session) -> bool:
    return session.get(Program, PROGRAM) is not None


def recipient_detail(session: Session, *, user: User, recipient_id: int) -> dict[str, Any]:
    """A recipient as the page, the API and `minxin veteran show` present it: person (masked), category,
    documents, medical status, case, status events, payments (each part with its explanation) and service
    events."""
    from minxin.core.masking import mask_id, mask_name
    from minxin.programs.cycles.history import case_payment_items

    r = get_recipient_for(session, user, recipient_id)
    person = session.get(Person, r.person_id)
    case = session.get(Case, r.case_id)
    assert person is not None and case is not None  # foreign keys
    return {
        "id": r.id, "person_id": person.id, "name": mask_name(person.name), "id_number": mask_id(person.id_number),
        "region_code": r.region_code, "category": r.category, "subkind": r.subkind,
        "category_code": case.category, "service_years": r.service_years, "status": r.status,
        "status_name": STATUS_NAMES.get(r.status, r.status),
        "certificate_no": r.certificate_no,
        "certificate_issued": r.certificate_issued.isoformat() if r.certificate_issued else None,
        "medical_insurance": r.medical_insurance, "medical_subsidy": r.medical_subsidy,
        "case": {"id": case.id, "status": case.status, "start_period": case.start_period,
                 "end_period": case.end_period},
        "events": [{"kind": e.kind, "kind_name": EVENT_NAMES.get(e.kind, e.kind), "on": e.on.isoformat(),
                    "note": e.note, "actor": e.actor} for e in events_of(session, r)],
        "payments": [{"period": cycle.period, "cycle_id": cycle.id, "kind": item.kind, "for": item.for_period,
                      "amount_fen": item.amount_fen, "explanation": item.explanation, "status": line.status}
                     for item, line, cycle in case_payment_items(session, case.id)],
        "services": [{"kind": s.kind, "kind_name": SERVICE_NAMES[s.kind], "on": s.on.isoformat(),
                      "hospital": s.hospital, "days": s.days} for s in services_of(session, r)],
        "death_benefit": death_benefit_of(session, r),
    }
