"""Benefit engine operations: programs, standards, cases and their workflow, public notice, reviews."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, String, func, insert, literal, select, update
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import Perm, can_see, has_perm, require, scoped
from minxin.core._text import LIKE_ESCAPE, MAX_LENGTH, clean_text, escape_like, is_ascii_digits, optional_text
from minxin.core.divisions import covers, scope_prefix
from minxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from minxin.core.period import Period
from minxin.infra.clock import CHINA_TZ, today
from minxin.infra.db import UTCDateTime, is_db_id, utcnow
from minxin.infra.settings import get_settings
from minxin.kit.paging import Page, paginate
from minxin.programs.eligibility import Beneficiary, check_case_terms
from minxin.programs.models import OPEN_STATUSES, Case, CaseEvent, Cycle, Objection, Program, Standard
from minxin.programs.policy import ProgramPolicy, load_policy
from minxin.registry.models import Household, Institution, Person, Region
from minxin.registry.service import list_regions

# A case status as users read it, wherever one is shown: what happens next (待入户调查), not the stage
# reached. The one catalogue: pages (programs.status.*), the API's status_name, errors, exports.
STATUS_NAMES = {
    "applied": "待入户调查", "investigated": "待乡镇审核", "reviewed": "待公示", "noticed": "公示中",
    "approved": "待发放", "active": "在保", "suspended": "已暂停", "terminated": "已终止", "rejected": "不予批准",
}
# The workflow's stages as steps taken (the case page's stepper: 申请 ✓ 入户调查 ✓ 乡镇审核 …).
STAGE_NAMES = {
    "applied": "申请", "investigated": "入户调查", "reviewed": "乡镇审核", "noticed": "公示", "approved": "县级审批",
    "active": "发放",
}


# ---- programs ------------------------------------------------------------------------------------

def init_programs(session: Session) -> None:
    """Create the policy file's programs and seed their standards (once; later raises are rows)."""
    policy = load_policy()
    for code, p in policy.programs.items():
        program = session.get(Program, code)
        if program is None:
            program = Program(code=code)
            session.add(program)
        program.name, program.unit, program.calculator = p.name, p.unit, p.calculator
        program.categories = ",".join(p.categories)
        program.notice_days = p.notice_days
        session.flush()
        for s in p.standards:
            exists = session.execute(select(Standard.id).where(
                Standard.program_code == code, Standard.region_code == s.region, Standard.category == s.category,
                Standard.effective_from == s.effective)).first()
            if exists is None:
                session.add(Standard(program_code=code, region_code=s.region, category=s.category,
                                     amount_fen=s.amount_fen, effective_from=s.effective, source=s.source,
                                     created_by="system"))
    session.flush()


def list_programs(session: Session) -> list[Program]:
    """The programs, in code order (what a program filter or form offers; programs are policy, not people)."""
    return list(session.execute(select(Program).order_by(Program.code)).scalars())


def get_program(session: Session, code: str) -> Program:
    program = session.get(Program, code)
    if program is None:
        known = ", ".join(session.execute(select(Program.code)).scalars())
        raise ValidationError(f"未知项目：{code}；可选：{known} (unknown program)", field="program")
    return program


def default_program() -> str:
    """The program a form or an API call means when it names none: the policy file's first."""
    return next(iter(load_policy().programs), "")


def program_policy(code: str) -> ProgramPolicy:
    return load_policy().program(code)


def program_counts(session: Session, *, scope_code: str | None = None) -> dict[str, Any]:
    """Counts for `minxin stats`: active cases per program, cycles."""
    stmt = select(Case.program_code, func.count()).where(Case.status == "active").group_by(Case.program_code)
    if scope_code:
        stmt = stmt.where(Case.region_code.like(scope_prefix(scope_code) + "%"))
    data: dict[str, Any] = {f"{code}_active_cases": n for code, n in session.execute(stmt)}
    for code in session.execute(select(Program.code)).scalars():
        data.setdefault(f"{code}_active_cases", 0)
    data["cycles"] = session.execute(select(func.count()).select_from(Cycle)).scalar_one()
    return data


# ---- standards -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class StandardInForce:
    id: int
    program: str
    region_code: str
    category: str
    amount_fen: int
    effective_from: date


def _check_category(program: Program, category: str) -> str:
    category = (category or "").strip()
    cats = program.category_list
    if cats and category not in cats:
        raise ValidationError(f"类别必须是 {'/'.join(cats)} 之一 (unknown category)", field="category")
    if not cats and category:
        raise ValidationError(f"项目 {program.code} 不分类别 (program has no categories)", field="category")
    return category


def _region_chain(session: Session, region_code: str) -> list[str]:
    """The region and its ancestors, most specific first (a standard is looked up along this chain)."""
    chain = []
    current: str | None = region_code
    while current:
        region = session.get(Region, current)
        if region is None:
            break
        chain.append(region.code)
        current = region.parent_code
    return chain


def standard_in_force(session: Session, *, program: str, region_code: str, period: Period,
                      category: str = "") -> StandardInForce:
    """The standard for a region and period: the most specific region first, then the latest date."""
    prog = get_program(session, program)
    category = _check_category(prog, category)
    region = session.get(Region, region_code)
    if region is None:
        raise ValidationError(f"未知区划代码：{region_code} (unknown region)", field="region")
    if region.alias_of:
        region = session.get(Region, region.alias_of) or region
    day = period.last_day()
    for code in _region_chain(session, region.code):
        row = session.execute(
            select(Standard).where(Standard.program_code == program, Standard.region_code == code,
                                   Standard.category == category, Standard.effective_from <= day)
            .order_by(Standard.effective_from.desc(), Standard.id.desc()).limit(1)
        ).scalar_one_or_none()
        if row is not None:
            return StandardInForce(row.id, program, row.region_code, row.category, row.amount_fen,
                                   row.effective_from)
    raise NotFound(f"{period} 在 {region.name} 没有 {prog.name} 标准 (no standard in force)")


def set_standard(session: Session, *, actor: User, program: str, region_code: str, amount_fen: int,
                 effective: date, category: str = "", source: str = "") -> Standard:
    """Add a standard row (never edit one). A back-dated raise creates arrears at the next cycle.

    Refused: negative amounts, unknown program/region/category, a date that reaches into a period
    already reconciled with the bank, a region outside the actor's scope.
    """
    require(actor, Perm.STANDARDS_SET)
    prog = get_program(session, program)
    category = _check_category(prog, category)
    if amount_fen < 0:
        raise ValidationError("标准金额不能为负数 (amount must not be negative)", field="amount")
    source = clean_text(source, label="依据", max_length=MAX_LENGTH["source"], field="source")
    region = session.get(Region, region_code)
    if region is None:
        raise ValidationError(f"未知区划代码：{region_code} (unknown region)", field="region")
    if region.alias_of:
        raise ValidationError(f"{region.name}（{region.code}）已撤销，请使用 {region.alias_of}", field="region")
    if region.level not in ("city", "county", "town"):
        raise ValidationError("标准只能设在市、县区或乡镇一级 (city, county or town only)", field="region")
    if not may_set_standard(actor, region.code):
        raise Forbidden(f"区划 {region.code} 不在您的辖区内 (outside your scope)")
    period = Period.of(effective)
    # The reconciled cycles the standard would reach: of the counties it applies in (a county's own, or
    # every county under a city standard), and the city-wide cycles of before county cycles.
    reconciled = next((p for p, county in session.execute(
        select(Cycle.period, Cycle.county_code).where(Cycle.program_code == program, Cycle.status == "reconciled",
                                                      Cycle.period >= str(period)).order_by(Cycle.period))
        if covers(region.code, county) or covers(county, region.code)), None)
    if reconciled:
        raise Conflict(f"生效日期 {effective} 早于已对账的 {reconciled} 期，不能追溯修改已对账的发放周期 "
                       "(would change a reconciled cycle)", field="effective")
    if session.execute(select(Standard.id).where(
            Standard.program_code == program, Standard.region_code == region.code, Standard.category == category,
            Standard.effective_from == effective)).first():
        raise Conflict(f"{region.name} {category} 在 {effective} 已有标准；标准只增不改，请换一个生效日期",
                       field="effective")
    std = Standard(program_code=program, region_code=region.code, category=category, amount_fen=amount_fen,
                   effective_from=effective, source=source or "manual", created_by=actor.username)
    session.add(std)
    session.flush()
    audit.record(session, actor=actor.username, action="standard.set", entity="standard", entity_id=std.id,
                 region_code=region.code, detail={"program": program, "category": category,
                                                  "amount_fen": amount_fen, "effective": effective.isoformat()})
    return std


def may_set_standard(user: User, region_code: str) -> bool:
    """Whether the user may add a standard for the region: the role sets standards and the region is in scope."""
    return has_perm(user, Perm.STANDARDS_SET) and can_see(user, region_code)


def standards_for(session: Session, user: User, *, program: str | None = None) -> list[Standard]:
    """The standards history as a staff member reads it (standards are policy: every staff role reads all)."""
    require(user, Perm.REGISTRY_READ)
    return list_standards(session, program=program)


def standard_in_force_for(session: Session, user: User, *, program: str, region_code: str, period: Period,
                          category: str = "") -> StandardInForce:
    """`standard_in_force`, for a staff member (the API's and the pages' read)."""
    require(user, Perm.REGISTRY_READ)
    return standard_in_force(session, program=program, region_code=region_code, period=period, category=category)


@dataclass(frozen=True)
class InForce:
    """One cell of the standards table: the standard in force for a region and category this month."""

    id: int
    amount_fen: int
    effective_from: date
    region_code: str
    own: bool  # set on this region itself, not inherited from the city


@dataclass
class StandardsTable:
    """The standards page of a program: the standard in force this month for the city and each county
    (a row per region, a cell per category), the history, and the regions the reader may set one for."""

    program: Program
    month: Period
    categories: list[str]
    rows: list[tuple[Region, list[InForce | None]]]
    history: list[Standard]
    settable: list[Region]

    @property
    def regions(self) -> list[Region]:
        return [region for region, _ in self.rows]

    @property
    def in_force_ids(self) -> set[int]:
        return {cell.id for _, row in self.rows for cell in row if cell is not None}


def standards_table_for(session: Session, user: User, *, program: str, month: Period) -> StandardsTable:
    """The standards table a staff member reads (the named program, or the first one); NotFound without any."""
    require(user, Perm.REGISTRY_READ)
    programs = list_programs(session)
    prog = next((p for p in programs if p.code == program), programs[0] if programs else None)
    if prog is None:
        raise NotFound("还没有配置任何项目 (no program)")
    regions = [r for r in (session.get(Region, get_settings().city_code),) if r is not None]
    regions += list_regions(session, level="county", include_historical=False)
    categories = prog.category_list or [""]
    rows: list[tuple[Region, list[InForce | None]]] = []
    for region in regions:
        row: list[InForce | None] = []
        for category in categories:
            try:
                s = standard_in_force(session, program=prog.code, region_code=region.code, period=month,
                                      category=category)
                row.append(InForce(s.id, s.amount_fen, s.effective_from, s.region_code, s.region_code == region.code))
            except NotFound:
                row.append(None)
        rows.append((region, row))
    return StandardsTable(program=prog, month=month, categories=categories, rows=rows,
                          history=standards_for(session, user, program=prog.code),
                          settable=[r for r in regions if may_set_standard(user, r.code)])


def list_standards(session: Session, *, program: str | None = None) -> list[Standard]:
    stmt = select(Standard).order_by(Standard.program_code, Standard.region_code, Standard.category,
                                     Standard.effective_from)
    if program:
        get_program(session, program)
        stmt = stmt.where(Standard.program_code == program)
    return list(session.execute(stmt).scalars())


# ---- cases ---------------------------------------------------------------------------------------

def _event(session: Session, case: Case, *, actor: User | str, action: str, to_status: str,
           reason: str | None = None, detail: dict[str, Any] | None = None) -> CaseEvent:
    name = actor if isinstance(actor, str) else actor.username
    ev = CaseEvent(case_id=case.id, action=action, from_status=case.status if case.id else None,
                   to_status=to_status, actor=name, reason=reason,
                   detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None)
    session.add(ev)
    audit.record(session, actor=name, action=f"case.{action}", entity="case", entity_id=case.id,
                 region_code=case.region_code,
                 detail={"program": case.program_code, "from": case.status, "to": to_status, "reason": reason,
                         **(detail or {})})
    case.status = to_status
    return ev


def get_case_for(session: Session, user: User, case_id: int) -> Case:
    """The one way to read a case: missing and out-of-scope look alike."""
    require(user, Perm.REGISTRY_READ)
    case = session.get(Case, case_id) if is_db_id(case_id) else None
    if case is None or not can_see(user, case.region_code):
        raise NotFound(f"案件不存在：{case_id} (no such case)")
    return case


def case_head_for(session: Session, user: User, case: Case) -> Person | None:
    """The person a case is for (a household program's head), for a user who may read the case."""
    case = get_case_for(session, user, case.id)
    return session.get(Person, case.person_id)


def case_household_for(session: Session, user: User, case: Case) -> Household | None:
    """The household of a case (None for a case of a person without one), for a user who may read the case."""
    case = get_case_for(session, user, case.id)
    return session.get(Household, case.household_id) if case.household_id else None


def case_region_filter(user: User, region: str) -> str | None:
    """The region a case list is narrowed to (a county, town or community code in the user's scope), or None.

    A malformed code is a ValidationError; a region outside the scope is NotFound like a missing one."""
    region = region.strip()
    if not region:
        return None
    if not region.isdigit() or len(region) not in (6, 9, 12):
        raise ValidationError("区域代码格式不正确 (malformed region code)", field="region")
    if not can_see(user, region):
        raise NotFound("区域不在您的辖区内 (region outside your scope)")
    return region


def objections_of(session: Session, user: User, case_id: int) -> list[Objection]:
    """The objections to a case the user may read, oldest first."""
    case = get_case_for(session, user, case_id)
    return list(session.execute(select(Objection).where(Objection.case_id == case.id)
                                .order_by(Objection.id)).scalars())


def _spot_check_drawn(case_id: int, permille: int) -> bool:
    """A reproducible random draw: the same case always gets the same answer."""
    digest = hashlib.sha256(f"spot-check:{case_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 1000 < permille


def _household_head(session: Session, household: Household) -> Person:
    head = session.execute(select(Person).where(Person.household_id == household.id, Person.is_head)
                           ).scalar_one_or_none()
    if head is None:
        raise ValidationError("该户没有户主 (household has no head)")
    return head


def next_review(policy: ProgramPolicy, review_class: str, start: date) -> date | None:
    months = policy.review_months.get(review_class)
    if not months:
        return None
    return Period.of(start).add(months).first_day()


def apply(session: Session, *, actor: User, program: str, household_id: int, bank_account: str | None = None,
          sanwu: bool = False, staff_relative: bool = False, review_class: str = "B",
          reason: str | None = None, category: str | None = None, institution_id: int | None = None) -> Case:
    """申请: open a case for a household (its head is the applicant and, for person programs, the
    beneficiary). The same check as every import (`check_case_terms`): who may be a case of the
    program, its category (from the 户籍 where the categories are 户籍 types; else one of the program's,
    required) and, for 集中 (centralized support), a care
    institution in the person's county."""
    require(actor, Perm.CASES_APPLY)
    prog = get_program(session, program)
    household = session.get(Household, household_id) if is_db_id(household_id) else None
    if household is None or not can_see(actor, household.region_code):
        raise NotFound(f"户不存在：{household_id} (no such household)")
    head = _household_head(session, household)
    if session.execute(select(Case.id).where(Case.program_code == program, Case.person_id == head.id,
                                             Case.status.in_(OPEN_STATUSES))).first():
        raise Conflict(f"该户已有未结束的{prog.name}案件 (an open case exists)")
    if review_class not in ("A", "B", "C"):
        raise ValidationError("复核分类必须是 A/B/C (review class A, B or C)", field="review_class")
    reason = optional_text(reason, label="申请说明", max_length=MAX_LENGTH["note"], field="reason", multiline=True)
    institution = None
    if institution_id is not None:
        institution = session.get(Institution, institution_id) if 0 < institution_id <= 2**31 - 1 else None
        if institution is None:
            raise ValidationError(f"供养机构不存在：{institution_id} (no such institution)", field="institution_id")
    try:
        category = check_case_terms(
            program_policy(program), category=category, on=today(),
            institution_region=institution.region_code if institution else None,
            beneficiary=Beneficiary(birth_date=head.birth_date, disability_grade=head.disability_grade,
                                    hukou=household.hukou_type, region_code=household.region_code))
    except ValidationError as exc:
        exc.field = {"institution": "institution_id", "eligibility": "household_id"}.get(exc.field or "", exc.field)
        raise
    case = Case(program_code=program, household_id=household.id, person_id=head.id,
                region_code=household.region_code, category=category, status="applied",
                bank_account=_clean_account(bank_account) or (institution.bank_account if institution else None),
                sanwu=sanwu, staff_relative=staff_relative, review_class=review_class,
                institution_id=institution.id if institution else None)
    session.add(case)
    session.flush()
    ev = CaseEvent(case_id=case.id, action="apply", from_status=None, to_status="applied", actor=actor.username,
                   reason=reason, detail=json.dumps({"staff_relative": staff_relative, "sanwu": sanwu}))
    session.add(ev)
    audit.record(session, actor=actor.username, action="case.apply", entity="case", entity_id=case.id,
                 region_code=case.region_code, detail={"program": program, "household": household.household_no,
                                                       "category": category, "staff_relative": staff_relative})
    return case


def _clean_account(account: str | None) -> str | None:
    if account is None:
        return None
    acct = str(account).replace(" ", "").replace("-", "").strip()
    if acct.endswith(".0"):
        acct = acct[:-2]
    if not acct:
        return None
    if not is_ascii_digits(acct) or not 12 <= len(acct) <= 30:
        raise ValidationError("银行账号应为 12–30 位数字 (bad bank account)", field="账号")
    return acct


# step name → (permission, statuses it may start from, status it leads to)
STEPS: dict[str, tuple[Perm, tuple[str, ...], str]] = {
    "investigate": (Perm.CASES_INVESTIGATE, ("applied",), "investigated"),
    "review": (Perm.CASES_REVIEW, ("investigated",), "reviewed"),
    "notice": (Perm.CASES_NOTICE, ("reviewed",), "noticed"),
    "approve": (Perm.CASES_APPROVE, ("noticed",), "approved"),
    "activate": (Perm.CASES_APPROVE, ("approved",), "active"),
    "suspend": (Perm.CASES_APPROVE, ("active",), "suspended"),
    "resume": (Perm.CASES_APPROVE, ("suspended",), "active"),
    "terminate": (Perm.CASES_APPROVE, ("active", "suspended", "approved"), "terminated"),
    "reject": (Perm.CASES_REVIEW, ("applied", "investigated", "reviewed", "noticed"), "rejected"),
}
STEP_NAMES = {"investigate": "入户调查", "review": "乡镇审核", "notice": "进入公示", "approve": "县级审批",
              "activate": "开始发放", "suspend": "暂停发放", "resume": "恢复发放", "terminate": "终止",
              "reject": "不予批准"}
REASON_REQUIRED = {"suspend", "terminate", "reject"}


def allowed_steps(user: User, case: Case) -> list[str]:
    """The workflow buttons this user may press on this case now."""
    from minxin.auth.service import has_perm

    steps = [s for s, (perm, sources, _) in STEPS.items() if case.status in sources and has_perm(user, perm)
             and can_see(user, case.region_code)]
    if "approve" in steps and any(e.actor == user.username for e in case.events):
        steps.remove("approve")  # who submitted an earlier step may not approve (see _check_approval)
    return steps


def waiting_steps(session: Session, user: User, case: Case, *, now: datetime | None = None) -> dict[str, str]:
    """Steps this user may take on this case but not yet, each with what it waits for: 县级审批 during 公示
    (with the day the notice ends) or while an objection is open. Pages show these as waiting, not as a
    button that would be refused."""
    if "approve" not in allowed_steps(user, case):
        return {}
    now = now or utcnow()
    if case.notice_end and case.notice_end > now:
        return {"approve": f"公示期至 {case.notice_end.astimezone(CHINA_TZ):%Y-%m-%d %H:%M}，期满后可审批"}
    open_objections = session.execute(select(func.count()).select_from(Objection).where(
        Objection.case_id == case.id, Objection.resolved_at.is_(None))).scalar_one()
    if open_objections:
        return {"approve": f"有 {open_objections} 条公示异议尚未处理，处理后可审批"}
    return {}


def actions_for(session: Session, user: User, case: Case, *, now: datetime | None = None
                ) -> tuple[list[str], dict[str, str]]:
    """The steps this user may take on this case now, and those that wait (step → what for)."""
    waits = waiting_steps(session, user, case, now=now)
    return [s for s in allowed_steps(user, case) if s not in waits], waits


def step(session: Session, *, actor: User, case_id: int, action: str, reason: str | None = None,
         spot_checked: bool | None = None, start_period: Period | None = None,
         income_fen: int | None = None, now: datetime | None = None) -> Case:
    """Move a case one step along the workflow; refuse steps out of order, by the wrong role, or by
    the person who submitted the step being approved."""
    if action not in STEPS:
        raise ValidationError(f"未知操作：{action}；可选：{', '.join(STEPS)} (unknown step)", field="action")
    perm, sources, target = STEPS[action]
    case = get_case_for(session, actor, case_id)
    require(actor, perm)
    if case.status not in sources:
        raise Conflict(f"案件当前为「{STATUS_NAMES[case.status]}」，不能执行「{STEP_NAMES[action]}」 "
                       f"(step {action} not allowed from {case.status})")
    reason = optional_text(reason, label="理由", max_length=MAX_LENGTH["note"], field="reason", multiline=True)
    if action in REASON_REQUIRED and not reason:
        raise ValidationError(f"「{STEP_NAMES[action]}」必须填写书面理由 (a written reason is required)",
                              field="reason")
    now = now or utcnow()
    detail: dict[str, Any] = {}
    policy = program_policy(case.program_code)
    if action == "investigate" and income_fen is not None:
        from minxin.registry.service import declare_income

        if case.household_id is None:
            raise ValidationError("此案件没有户 (case has no household)")
        declare_income(session, actor=actor, household_id=case.household_id, monthly_income_fen=income_fen,
                       note=f"入户调查 case {case.id}")
        detail["income_fen"] = income_fen
    if action == "notice":
        program = get_program(session, case.program_code)
        case.notice_start = now
        case.notice_end = now + timedelta(days=program.notice_days)
        case.spot_check_required = case.staff_relative or _spot_check_drawn(case.id, policy.spot_check_permille)
        detail["notice_end"] = case.notice_end.isoformat()
        detail["spot_check_required"] = case.spot_check_required
    if action == "approve":
        _check_approval(session, case, actor=actor, spot_checked=bool(spot_checked), now=now)
        case.spot_checked = bool(spot_checked)
        detail["spot_checked"] = case.spot_checked
    if action in ("activate",):
        if not case.bank_account:
            raise ValidationError("开始发放前须登记银行账号 (a bank account is required)", field="账号")
        start = start_period or Period.of(today())
        case.start_period = str(start)
        due = next_review(policy, case.review_class, start.first_day())
        case.next_review_due = due
        detail["start_period"] = str(start)
    if action == "terminate":
        end = start_period or Period.of(today())
        case.end_period = str(end)
        detail["end_period"] = str(end)
    if action == "resume":
        case.next_review_due = next_review(policy, case.review_class, today())
    _event(session, case, actor=actor, action=action, to_status=target, reason=reason, detail=detail or None)
    session.flush()
    return case


def _check_approval(session: Session, case: Case, *, actor: User, spot_checked: bool, now: datetime) -> None:
    """County approval: not by anyone who submitted an earlier step, after the notice period, with no
    open objection, and with the in-person check where the draw or a staff relation demands it."""
    submitters = set(session.execute(select(CaseEvent.actor).where(CaseEvent.case_id == case.id)).scalars())
    if actor.username in submitters:
        raise Forbidden("提交过本案前序环节的人员不能审批本案 (the submitter of a step cannot approve it)")
    if case.notice_end and case.notice_end > now:
        raise Conflict(f"公示期未满（至 {case.notice_end.astimezone(CHINA_TZ).date()}），不能审批 "
                       "(notice period not over)")
    open_objections = session.execute(select(func.count()).select_from(Objection).where(
        Objection.case_id == case.id, Objection.resolved_at.is_(None))).scalar_one()
    if open_objections:
        raise Conflict(f"有 {open_objections} 条公示异议尚未处理，不能审批 (unresolved objections)")
    if (case.spot_check_required or case.staff_relative) and not spot_checked:
        why = "工作人员/村居干部近亲属申请" if case.staff_relative else "本案被抽中入户核查"
        raise ValidationError(f"{why}，须记录县级入户抽查后才能审批 (in-person check required)",
                              field="spot_checked")


def raise_objection(session: Session, *, case_id: int, content: str, raised_by: str | None = None,
                    contact: str | None = None, actor: str = "public") -> Objection:
    """Record an objection to a case under public notice (anyone may raise one)."""
    content = clean_text(content, label="异议内容", max_length=MAX_LENGTH["note"], field="content", required=True,
                         multiline=True)
    raised_by = optional_text(raised_by, label="姓名", max_length=MAX_LENGTH["short_name"], field="name", name=True)
    contact = optional_text(contact, label="联系方式", max_length=MAX_LENGTH["short_name"], field="contact")
    case = session.get(Case, case_id) if is_db_id(case_id) else None
    if case is None or case.status != "noticed" or (case.notice_end is not None and case.notice_end < utcnow()):
        raise NotFound("该公示不存在或已结束 (no such notice)")
    obj = Objection(case_id=case.id, content=content, raised_by=raised_by, contact=contact)
    session.add(obj)
    session.flush()
    audit.record(session, actor=actor, action="case.objection", entity="case", entity_id=case.id,
                 region_code=case.region_code, detail={"objection": obj.id})
    return obj


def resolve_objection(session: Session, *, actor: User, objection_id: int, resolution: str) -> Objection:
    require(actor, Perm.CASES_REVIEW)
    obj = session.get(Objection, objection_id)
    if obj is None:
        raise NotFound("异议不存在 (no such objection)")
    get_case_for(session, actor, obj.case_id)
    if obj.resolved_at is not None:
        raise Conflict("该异议已处理 (already resolved)")
    if not (resolution or "").strip():
        raise ValidationError("请填写核查处理结果 (resolution required)", field="resolution")
    resolution = clean_text(resolution, label="处理结果", max_length=MAX_LENGTH["note"], field="resolution",
                            multiline=True)
    obj.resolved_at = utcnow()
    obj.resolved_by = actor.username
    obj.resolution = resolution
    audit.record(session, actor=actor.username, action="case.objection_resolved", entity="case",
                 entity_id=obj.case_id, detail={"objection": obj.id})
    return obj


def set_bank_account(session: Session, *, actor: User, case_id: int, account: str) -> Case:
    require(actor, Perm.CASES_APPLY)
    case = get_case_for(session, actor, case_id)
    old = case.bank_account
    case.bank_account = _clean_account(account)
    audit.record(session, actor=actor.username, action="case.bank_account", entity="case", entity_id=case.id,
                 region_code=case.region_code, detail={"changed": old != case.bank_account})
    return case


# ---- the amount a case would get ------------------------------------------------------------------

def proposed_amount(session: Session, case: Case, *, period: Period | None = None) -> int | None:
    """拟补助金额: what the case would be paid for a month at the standard in force (None: no standard, or a
    program whose amount is assessed elsewhere). Asked of the program's calculator, which applies the
    same rule as its cycle SQL; tests hold the two together."""
    from minxin.programs.calculator import get_calculator

    period = period or Period.of(today())
    program = get_program(session, case.program_code)
    calc = get_calculator(program.calculator)
    standard_fen: int | None = None
    if calc.uses_standards:
        try:
            standard_fen = standard_in_force(session, program=case.program_code, region_code=case.region_code,
                                             period=period, category=case.category).amount_fen
        except (NotFound, ValidationError):
            return None
    return calc.proposed_amount(session, case, period=period, standard_fen=standard_fen)


# ---- lists, notices and periodic review ----------------------------------------------------------

def list_cases(session: Session, *, user: User, program: str | None = None, status: str | None = None,
               region_code: str | None = None, page: int = 1, page_size: int = 20) -> Page[Case]:
    require(user, Perm.REGISTRY_READ)
    stmt = scoped(select(Case), user, Case.region_code)
    if program:
        stmt = stmt.where(Case.program_code == program)
    if status:
        stmt = stmt.where(Case.status == status)
    if region_code:
        stmt = stmt.where(Case.region_code.like(escape_like(region_code.strip()) + "%", escape=LIKE_ESCAPE))
    return paginate(session, stmt.order_by(Case.id.desc()), page=page, page_size=page_size)


def notices_for_community(session: Session, *, community_code: str, now: datetime | None = None) -> list[Case]:
    """Cases under public notice in one community, for the public page (no login)."""
    now = now or utcnow()
    return list(session.execute(
        select(Case).where(Case.region_code == community_code, Case.status == "noticed",
                           Case.notice_end >= now).order_by(Case.notice_start)
    ).scalars())


def cases_due_for_review(session: Session, *, user: User, program: str | None = None, on: date | None = None,
                         region_code: str | None = None, page: int = 1, page_size: int = 50) -> Page[Case]:
    """Active cases in the user's scope (and in `region_code`, if given) whose periodic review is due by `on`."""
    require(user, Perm.REGISTRY_READ)
    on = on or today()
    stmt = scoped(select(Case), user, Case.region_code).where(
        Case.status == "active", Case.next_review_due.is_not(None), Case.next_review_due <= on)
    if program:
        stmt = stmt.where(Case.program_code == program)
    if region_code:
        stmt = stmt.where(Case.region_code.like(region_code + "%"))
    return paginate(session, stmt.order_by(Case.next_review_due, Case.id), page=page, page_size=page_size)


def overdue_preview(session: Session, *, user: User, program: str, overdue_before: date | None,
                    page_size: int = 50) -> Page[Case]:
    """The cases `suspend_overdue` would suspend (review due before the date), for the confirm step."""
    require(user, Perm.CASES_APPROVE)
    if overdue_before is None:
        raise ValidationError("请填写日期，格式为 年-月-日 (date required)", field="before")
    _refuse_future_cutoff(overdue_before)
    return cases_due_for_review(session, user=user, program=program, on=overdue_before - timedelta(days=1),
                                page_size=page_size)


def get_objection_for(session: Session, user: User, case_id: int, objection_id: int) -> Objection:
    """An objection to a case the user may read; NotFound alike for missing, out of scope or of another case."""
    case = get_case_for(session, user, case_id)
    objection = session.get(Objection, objection_id) if is_db_id(objection_id) else None
    if objection is None or objection.case_id != case.id:
        raise NotFound("异议不存在 (no such objection)")
    return objection


def record_review(session: Session, *, actor: User, case_id: int, note: str | None = None,
                  review_class: str | None = None) -> Case:
    """动态管理: a periodic review done; the next one is due after the class's interval."""
    require(actor, Perm.CASES_INVESTIGATE)
    case = get_case_for(session, actor, case_id)
    note = optional_text(note, label="复核说明", max_length=MAX_LENGTH["note"], field="note", multiline=True)
    if case.status != "active":
        raise Conflict("只有在保案件需要复核 (only active cases are reviewed)")
    if review_class:
        if review_class not in ("A", "B", "C"):
            raise ValidationError("复核分类必须是 A/B/C", field="review_class")
        case.review_class = review_class
    case.next_review_due = next_review(program_policy(case.program_code), case.review_class, today())
    session.add(CaseEvent(case_id=case.id, action="periodic_review", from_status="active", to_status="active",
                          actor=actor.username, reason=note))
    audit.record(session, actor=actor.username, action="case.periodic_review", entity="case", entity_id=case.id,
                 region_code=case.region_code, detail={"next_review_due": str(case.next_review_due)})
    return case


def _refuse_future_cutoff(overdue_before: date) -> None:
    """A review due tomorrow is not overdue today: the cut-off may be today at the latest."""
    if overdue_before > today():
        raise ValidationError(f"截止日期 {overdue_before.isoformat()} 晚于今天（{today().isoformat()}）："
                              "只能暂停复核日期已经过去的案件，请选择今天或更早的日期 (cut-off in the future)",
                              field="before")


def suspend_overdue(session: Session, *, actor: User, program: str, overdue_before: date,
                    reason: str = "逾期未复核") -> int:
    """Suspend, in one set-based statement, every active case in scope whose review is overdue."""
    require(actor, Perm.CASES_APPROVE)
    _refuse_future_cutoff(overdue_before)
    get_program(session, program)
    reason = clean_text(reason, label="理由", max_length=MAX_LENGTH["source"], field="reason", required=True)
    prefix = scope_prefix(actor.scope_code)
    where = (Case.program_code == program, Case.status == "active", Case.next_review_due.is_not(None),
             Case.next_review_due < overdue_before, Case.region_code.like(prefix + "%"))
    ids = select(Case.id).where(*where)
    now = utcnow()
    session.execute(insert(CaseEvent).from_select(
        ["case_id", "action", "from_status", "to_status", "actor", "at", "reason"],
        select(Case.id, literal("suspend", String), literal("active", String), literal("suspended", String),
               literal(actor.username, String), literal(now, UTCDateTime()), literal(reason, String)).where(*where),
    ))
    res = session.execute(update(Case).where(Case.id.in_(ids)).values(status="suspended", updated_at=now)
                          .execution_options(synchronize_session=False))
    n = res.rowcount if isinstance(res, CursorResult) else 0
    audit.record(session, actor=actor.username, action="case.suspend_overdue", entity="program", entity_id=program,
                 region_code=actor.scope_code, detail={"cases": n, "overdue_before": overdue_before.isoformat(),
                                                       "reason": reason})
    return int(n or 0)
