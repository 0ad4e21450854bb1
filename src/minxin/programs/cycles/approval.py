"""Who may read, approve and pay a cycle: the one place the cycle's access rules live.

Reading: users who run cycles (county officers, the city) or audit them, within their scope — a county
officer reads their county's cycles, the city every county's. Approving (draft → approved): a user of
the cycle's county or of the city holding the approval permission, who ran no run of that cycle
(four-eyes, 县级民政部门审批). Exporting the bank file and reconciling: users who run cycles, of the
cycle's county or the city (the county's finance pays, 社会化发放). A city-wide cycle of before county
cycles (county_code = the city's code) is the city's alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import AuditEvent, User
from minxin.auth.service import Perm, can_see, has_perm, require
from minxin.core.divisions import county_of
from minxin.core.errors import Conflict, Forbidden, NotFound
from minxin.infra.db import utcnow
from minxin.kit.paging import Page, paginate
from minxin.programs.models import Cycle


def get_cycle(session: Session, cycle_id: int) -> Cycle:
    """A cycle by id, without access checks (for code that has checked already)."""
    cycle = session.get(Cycle, cycle_id) if 0 < cycle_id < 2**63 else None
    if cycle is None:
        raise NotFound(f"发放周期不存在：{cycle_id} (no such cycle)")
    return cycle


def may_read_cycles(user: User) -> bool:
    return has_perm(user, Perm.CYCLES_RUN) or has_perm(user, Perm.AUDIT_READ)


def _in_scope(user: User, cycle: Cycle) -> bool:
    """A county's cycle is in the scope of its county's users and the city's; a city-wide one only the city's."""
    return can_see(user, cycle.county_code)


def get_cycle_for(session: Session, user: User, cycle_id: int) -> Cycle:
    """The one way to read a cycle: refused roles get Forbidden; missing and out-of-scope look alike."""
    if not may_read_cycles(user):
        require(user, Perm.CYCLES_RUN)
    cycle = session.get(Cycle, cycle_id) if 0 < cycle_id < 2**63 else None
    if cycle is None or not _in_scope(user, cycle):
        raise NotFound(f"发放周期不存在：{cycle_id} (no such cycle)")
    return cycle


def scoped_cycles(user: User) -> Select[Cycle]:
    """The cycles a user may read: their county's, or every county's for the city."""
    if not may_read_cycles(user):
        require(user, Perm.CYCLES_RUN)
    stmt = select(Cycle)
    own = county_of(user.scope_code)
    if own is not None:
        stmt = stmt.where(Cycle.county_code == own)
    return stmt


def list_cycles_for(session: Session, user: User, *, program: str | None = None, period: str | None = None,
                    page: int = 1, page_size: int = 50) -> Page[Cycle]:
    """A page of the cycles the user may read, newest month first, counties in code order."""
    stmt = scoped_cycles(user)
    if program:
        stmt = stmt.where(Cycle.program_code == program)
    if period:
        stmt = stmt.where(Cycle.period == period)
    return paginate(session, stmt.order_by(Cycle.period.desc(), Cycle.program_code, Cycle.county_code),
                    page=page, page_size=page_size)


def get_cycle_to_pay(session: Session, user: User, cycle_id: int) -> Cycle:
    """A cycle the user may export and reconcile: runs cycles, and covers the cycle's county."""
    require(user, Perm.CYCLES_RUN)
    cycle = get_cycle_for(session, user, cycle_id)
    if not can_see(user, cycle.county_code):
        raise Forbidden("全市发放周期的导出和对账须由市级用户办理 (city scope required)")
    return cycle


def runners(session: Session, cycle_id: int) -> set[str]:
    """Everyone who ran any run of the cycle (from the audit trail, which keeps every run)."""
    return set(session.execute(select(AuditEvent.actor).where(
        AuditEvent.entity == "cycle", AuditEvent.entity_id == str(cycle_id), AuditEvent.action == "cycle.run"))
        .scalars())


@dataclass(frozen=True)
class CycleActions:
    """What a reader of a cycle may do with it (the buttons its page shows; each action checks again)."""

    run: bool  # recompute the draft
    pay: bool  # export the bank file, book the bank's result file
    approve: bool


def cycle_actions_for(user: User, cycle: Cycle) -> CycleActions:
    """The actions the user's role and scope allow on the cycle (its state is the actions' own check)."""
    ours = can_see(user, cycle.county_code)
    runs = has_perm(user, Perm.CYCLES_RUN) and ours
    return CycleActions(run=runs, pay=runs, approve=has_perm(user, Perm.CYCLES_APPROVE) and ours)


def may_approve(session: Session, user: User, cycle: Cycle) -> str | None:
    """Why this user cannot approve this cycle now, or None."""
    if not has_perm(user, Perm.CYCLES_APPROVE):
        return "无审批权限"
    if not can_see(user, cycle.county_code):
        return "全市发放周期须由市级用户审批"
    if cycle.status != "draft":
        return f"周期状态为 {cycle.status}，只有草稿可以审批"
    if cycle.computed_at is None:
        return "周期尚未计算"
    if user.username == cycle.run_by or user.username in runners(session, cycle.id):
        return "运行过本周期的人员不能审批同一周期"
    return None


def approve_cycle(session: Session, *, actor: User, cycle_id: int) -> Cycle:
    """draft → approved, by a user of the cycle's county or of the city who ran no run of it (four-eyes)."""
    require(actor, Perm.CYCLES_APPROVE)
    cycle = get_cycle_for(session, actor, cycle_id)
    if cycle.status != "draft":
        raise Conflict(f"周期 {cycle.id} 状态为 {cycle.status}，只有草稿可以审批 (only a draft can be approved)")
    if actor.username == cycle.run_by or actor.username in runners(session, cycle.id):
        raise Conflict("运行发放周期的人员不能审批同一周期（运行过任何一次的都不能） "
                       "(the user who ran the cycle cannot approve it)")
    if not can_see(actor, cycle.county_code):
        raise Forbidden("全市发放周期须由市级用户审批 (city scope required)")
    if cycle.computed_at is None:
        raise Conflict("周期尚未计算 (cycle not computed)")
    cycle.status = "approved"
    cycle.approved_by = actor.username
    cycle.approved_at = utcnow()
    audit.record(session, actor=actor.username, action="cycle.approve", entity="cycle", entity_id=cycle.id,
                 region_code=cycle.county_code, detail={"total_fen": cycle.total_fen, "cases": cycle.cases})
    return cycle


__all__ = ["approve_cycle", "get_cycle", "get_cycle_for", "get_cycle_to_pay", "list_cycles_for", "may_approve",
           "may_read_cycles", "runners", "scoped_cycles"]
