"""The benefit engine's work queues (待办) and its programs at a glance (see `minxin.worklist`).

Case steps wait for the level the workflow gives them: 入户调查 and 定期复核 for the community, 审核, 公示
and 异议 for the town (异议 also for the county, whose approval they block), 审批 and 发放 for the county.
Cycles wait for the county (and the city, which runs every county). Every query is narrowed by
`scoped` (cases, payment lines) or `scoped_cycles` (cycles), the same helpers the lists use.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.auth.service import Perm, scoped
from minxin.core.masking import mask_name
from minxin.core.period import Period
from minxin.infra.clock import CHINA_TZ
from minxin.programs.cycles import may_read_cycles, scoped_cycles
from minxin.programs.models import Case, CaseEvent, Cycle, FailedPayment, Objection, Program
from minxin.programs.service import STATUS_NAMES
from minxin.registry.models import Person, Region
from minxin.registry.service import counties_for
from minxin.worklist import Glance, Queue, WorkItem

# How far ahead a notice's end or a periodic review counts as waiting (days).
NOTICE_AHEAD_DAYS = 2
REVIEW_AHEAD_DAYS = 30


def _end_of(day: date) -> datetime:
    """The first instant after `day` at the bureau (a notice ending any time that day counts)."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=CHINA_TZ)


def _local_date(value: datetime | None) -> date | None:
    return value.astimezone(CHINA_TZ).date() if value else None


def _open_objection(case_id: ColumnElement[Any] | Any) -> ColumnElement[bool]:
    return exists().where(Objection.case_id == case_id, Objection.resolved_at.is_(None))


def _submitted_by(case_id: ColumnElement[Any] | Any, username: str) -> ColumnElement[bool]:
    """Whether the user submitted a step of the case (then its approval is not theirs to give)."""
    return exists().where(CaseEvent.case_id == case_id, CaseEvent.actor == username)


# ---- case queues ---------------------------------------------------------------------------------

def _case_queue(key: str, label: str, perm: str, levels: tuple[str, ...], *, hint: str,
                where: Callable[[User, date], list[ColumnElement[bool]]],
                order: Callable[[], Any] = lambda: Case.updated_at,
                due: Callable[[Case], date | None] = lambda c: None,
                since: Callable[[Case], datetime | None] = lambda c: c.updated_at, anchor: str = "actions") -> Queue:
    def base(user: User, today: date) -> Select[Any]:
        return scoped(select(Case).where(*where(user, today)), user, Case.region_code)

    def count(session: Session, user: User, today: date) -> int:
        stmt = base(user, today).with_only_columns(func.count()).order_by(None)
        return int(session.execute(stmt).scalar_one())

    def items(session: Session, user: User, today: date, offset: int, limit: int) -> list[WorkItem]:
        stmt = (base(user, today).add_columns(Person.name, Program.name, Region.name)
                .join(Person, Person.id == Case.person_id).join(Program, Program.code == Case.program_code)
                .outerjoin(Region, Region.code == Case.region_code)
                .order_by(order(), Case.id).offset(offset).limit(limit))
        return [WorkItem(title=f"{program} · {mask_name(name)}",
                         note=f"{community or case.region_code} · 案件 {case.id}",
                         href=f"/cases/{case.id}#{anchor}", since=since(case), due=due(case))
                for case, name, program, community in session.execute(stmt)]

    return Queue(key=key, label=label, perm=perm, levels=levels, count=count, items=items, hint=hint)


def case_queues() -> list[Queue]:
    community, town, county = ("community",), ("town",), ("county",)
    return [
        _case_queue("cases.investigate", STATUS_NAMES["applied"], Perm.CASES_INVESTIGATE, community,
                    hint="已受理的申请，待入户调查核实收入和家庭情况",
                    where=lambda u, d: [Case.status == "applied"]),
        _case_queue("reviews.due", "待定期复核", Perm.CASES_INVESTIGATE, community,
                    hint=f"在保案件的定期复核到期（含 {REVIEW_AHEAD_DAYS} 天内到期）",
                    where=lambda u, d: [Case.status == "active", Case.next_review_due.is_not(None),
                                     Case.next_review_due <= d + timedelta(days=REVIEW_AHEAD_DAYS)],
                    order=lambda: Case.next_review_due, due=lambda c: c.next_review_due, anchor="review-card"),
        _case_queue("cases.review", STATUS_NAMES["investigated"], Perm.CASES_REVIEW, town,
                    hint="已入户调查的案件，待乡镇（街道）审核",
                    where=lambda u, d: [Case.status == "investigated"]),
        _case_queue("cases.notice", STATUS_NAMES["reviewed"], Perm.CASES_NOTICE, town,
                    hint="已审核的案件，待张榜公示",
                    where=lambda u, d: [Case.status == "reviewed"]),
        _case_queue("notices.ending", "公示即将期满", Perm.CASES_NOTICE, town,
                    hint=f"公示期 {NOTICE_AHEAD_DAYS} 天内期满的案件，期满后报县级审批",
                    where=lambda u, d: [Case.status == "noticed", Case.notice_end.is_not(None),
                                     Case.notice_end >= datetime.now(CHINA_TZ),
                                     Case.notice_end < _end_of(d + timedelta(days=NOTICE_AHEAD_DAYS))],
                    order=lambda: Case.notice_end, due=lambda c: _local_date(c.notice_end)),
        _case_queue("cases.approve", "待县级审批", Perm.CASES_APPROVE, county,
                    hint="公示期满、无未处理异议的案件",
                    where=lambda u, d: [Case.status == "noticed", Case.notice_end.is_not(None),
                                     Case.notice_end <= datetime.now(CHINA_TZ), ~_open_objection(Case.id),
                                     ~_submitted_by(Case.id, u.username)],
                    order=lambda: Case.notice_end, since=lambda c: c.notice_end),  # waiting since the notice ended
        _case_queue("cases.activate", STATUS_NAMES["approved"], Perm.CASES_APPROVE, county,
                    hint="已审批的案件，登记账号后开始发放",
                    where=lambda u, d: [Case.status == "approved"]),
    ]


def objection_queue() -> Queue:
    """Objections raised during notice and not yet resolved (they block approval)."""

    def base(user: User) -> Select[Any]:
        stmt = cast("Select[Any]", select(Objection, Case).join(Case, Case.id == Objection.case_id)
                    .where(Objection.resolved_at.is_(None)))
        return scoped(stmt, user, Case.region_code)

    def count(session: Session, user: User, today: date) -> int:
        return int(session.execute(base(user).with_only_columns(func.count()).order_by(None)).scalar_one())

    def items(session: Session, user: User, today: date, offset: int, limit: int) -> list[WorkItem]:
        stmt = (base(user).add_columns(Program.name).join(Program, Program.code == Case.program_code)
                .order_by(Objection.raised_at, Objection.id).offset(offset).limit(limit))
        return [WorkItem(title=f"{program} · 案件 {case.id} 的异议", href=f"/cases/{case.id}#objections",
                         since=obj.raised_at, due=_local_date(case.notice_end), note="异议未处理前不能审批")
                for obj, case, program in session.execute(stmt)]

    return Queue(key="objections.open", label="待处理异议", perm=Perm.CASES_REVIEW, levels=("town", "county"),
                 count=count, items=items, hint="公示期间群众提出的异议，核查后填写处理结果")


def failed_payment_queue() -> Queue:
    """Bank payments that failed and are not yet carried into a later cycle: the account to correct."""

    def base(user: User) -> Select[Any]:
        stmt = cast("Select[Any]", select(FailedPayment, Case).join(Case, Case.id == FailedPayment.case_id)
                    .where(FailedPayment.carried_into.is_(None)))
        return scoped(stmt, user, Case.region_code)

    def count(session: Session, user: User, today: date) -> int:
        return int(session.execute(base(user).with_only_columns(func.count()).order_by(None)).scalar_one())

    def items(session: Session, user: User, today: date, offset: int, limit: int) -> list[WorkItem]:
        stmt = (base(user).add_columns(Cycle.period, Program.name, Person.name)
                .join(Cycle, Cycle.id == FailedPayment.cycle_id).join(Program, Program.code == Case.program_code)
                .join(Person, Person.id == Case.person_id)
                .order_by(Cycle.period, FailedPayment.case_id).offset(offset).limit(limit))
        return [WorkItem(title=f"{program} · {mask_name(name)} · {period} 发放失败",
                         href=f"/cases/{case.id}#bank", since=None,
                         note=f"{fp.amount_fen // 100}.{fp.amount_fen % 100:02d} 元，核对银行账号后随下期补发")
                for fp, case, period, program, name in session.execute(stmt)]

    return Queue(key="payments.failed", label="发放失败待处理", perm=Perm.CASES_APPLY, levels=("community", "county"),
                 count=count, items=items, hint="银行退回的发放，核对账号后随下一期发放补发")


# ---- cycle queues --------------------------------------------------------------------------------

_CYCLE_STEPS = {  # status → (key, label, hint)
    "draft": ("cycles.approve", "待审批发放批次", "已计算的发放批次，须由未运行过的人员审批"),
    "approved": ("cycles.export", "待导出银行文件", "已审批的批次，导出银行代发文件"),
    "exported": ("cycles.reconcile", "待银行对账", "已导出的批次，导入银行回盘文件对账"),
}


def _cycle_queue(status: str) -> Queue:
    key, label, hint = _CYCLE_STEPS[status]
    perm = Perm.CYCLES_APPROVE if status == "draft" else Perm.CYCLES_RUN

    def base(user: User) -> Select[Any]:
        stmt = scoped_cycles(user).where(Cycle.status == status)
        if status == "draft":  # who ran a cycle may not approve it: not their step
            stmt = stmt.where(Cycle.computed_at.is_not(None), Cycle.run_by != user.username)
        return stmt

    def count(session: Session, user: User, today: date) -> int:
        return int(session.execute(base(user).with_only_columns(func.count()).order_by(None)).scalar_one())

    def items(session: Session, user: User, today: date, offset: int, limit: int) -> list[WorkItem]:
        stmt = (base(user).add_columns(Program.name, Region.name).join(Program, Program.code == Cycle.program_code)
                .outerjoin(Region, Region.code == Cycle.county_code)
                .order_by(Cycle.period, Cycle.county_code, Cycle.id).offset(offset).limit(limit))
        return [WorkItem(title=f"{program} · {cycle.period} · {county or cycle.county_code}",
                         href=f"/cycles/{cycle.id}", since=cycle.approved_at or cycle.computed_at,
                         note=f"{cycle.cases} 笔，{cycle.total_fen // 100:,}.{cycle.total_fen % 100:02d} 元")
                for cycle, program, county in session.execute(stmt)]

    return Queue(key=key, label=label, perm=perm, levels=("county", "city"), count=count, items=items, hint=hint)


def cycles_to_run_queue() -> Queue:
    """This month's cycles not yet run: a program with active cases in a county of the user's, no cycle."""

    def missing(session: Session, user: User, today: date) -> list[tuple[str, str, str, str]]:
        # One index seek per (program, county) without a cycle this month: a few dozen at most, whatever
        # the number of cases (the top bar asks on every page).
        period = str(Period.of(today))
        have = {(r[0], r[1]) for r in session.execute(
            scoped_cycles(user).with_only_columns(Cycle.program_code, Cycle.county_code).where(Cycle.period == period))}
        programs = list(session.execute(select(Program.code, Program.name).where(Program.frequency == "monthly")
                                        .order_by(Program.code)))
        out = []
        for county in counties_for(session, user):
            for code, name in programs:
                if (code, county.code) in have:
                    continue
                any_active = session.execute(select(
                    exists().where(Case.program_code == code, Case.status == "active",
                                   Case.region_code.like(county.code + "%")))).scalar()
                if any_active:
                    out.append((code, county.code, name, county.name))
        return out

    def count(session: Session, user: User, today: date) -> int:
        return len(missing(session, user, today))

    def items(session: Session, user: User, today: date, offset: int, limit: int) -> list[WorkItem]:
        period = str(Period.of(today))
        return [WorkItem(title=f"{name} · {period} · {county}", href=f"/cycles?program={program}&period={period}",
                         due=Period.of(today).last_day(), note="本月尚未计算发放")
                for program, _code, name, county in missing(session, user, today)[offset:offset + limit]]

    return Queue(key="cycles.run", label="待生成本月发放", perm=Perm.CYCLES_RUN, levels=("county", "city"),
                 count=count, items=items, hint="有在保对象但本月尚未计算的项目")


def queues() -> list[Queue]:
    """The engine's queues, in the order of the workflow."""
    cases = case_queues()
    return [*cases[:5], objection_queue(), *cases[5:], failed_payment_queue(), cycles_to_run_queue(),
            *(_cycle_queue(s) for s in _CYCLE_STEPS)]


# ---- programs at a glance ------------------------------------------------------------------------

GLANCE_MONTHS = 6


def glance(session: Session, user: User, *, today: date) -> list[Glance]:
    """Per program with active cases or cycles in the user's scope: recipients, this month's total and the
    last six months' totals (from the cycles). For county and city users who read cycles."""
    from minxin.core.divisions import level_of

    if level_of(user.scope_code) not in ("county", "city") or not may_read_cycles(user):
        return []
    this = Period.of(today)
    periods = [str(this.add(-i)) for i in range(GLANCE_MONTHS - 1, -1, -1)]
    recipients = {r[0]: int(r[1]) for r in session.execute(scoped(
        select(Case.program_code, func.count()).where(Case.status == "active"), user, Case.region_code)
        .group_by(Case.program_code))}
    totals: dict[tuple[str, str], int] = {}
    cyc = scoped_cycles(user).where(Cycle.period.in_(periods)).subquery()
    for r in session.execute(select(cyc.c.program_code, cyc.c.period, func.sum(cyc.c.total_fen))
                             .group_by(cyc.c.program_code, cyc.c.period)):
        totals[(r[0], r[1])] = int(r[2] or 0)
    programs = session.execute(select(Program).order_by(Program.code)).scalars()
    rows = []
    for p in programs:
        if not recipients.get(p.code) and not any(k[0] == p.code for k in totals):
            continue
        rows.append(Glance(name=p.name, href=f"/cycles?program={p.code}", unit="户" if p.unit == "household" else "人",
                           recipients=int(recipients.get(p.code, 0)), month_fen=totals.get((p.code, str(this))),
                           trend=[(period, totals.get((p.code, period), 0)) for period in periods]))
    return rows


__all__ = ["glance", "queues"]
