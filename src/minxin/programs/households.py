"""A household's cases and payments across every program, for the registry's household page.

Cases name the household (household unit) or one of its members (person unit: a program that pays one person);
both are the household's. Access goes through `get_household_for` and the lists are scoped again by
the case's own region, so a case outside the user's scope never shows, whatever the household.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.auth.service import scoped
from minxin.kit.paging import Page, paginate
from minxin.programs.models import Case, Cycle, Payment, Program
from minxin.registry.service import get_household_for

MAX_CASES = 200  # a household has a handful; the cap keeps a corrupt one from flooding the page


@dataclass(frozen=True)
class HouseholdCase:
    """One case of the household: the program, the member it is for, its status."""

    id: int
    program_code: str
    program_name: str
    person_id: int
    category: str
    status: str
    start_period: str | None
    end_period: str | None


@dataclass(frozen=True)
class HouseholdPayment:
    """What one cycle paid one case of the household (its lines as one payment, as the bank sees it)."""

    cycle_id: int
    period: str
    program_code: str
    program_name: str
    case_id: int
    person_id: int
    amount_fen: int
    status: str


def _case_filter(session: Session, user: User, household_id: int) -> tuple[list[int], ColumnElement[bool]]:
    household = get_household_for(session, user, household_id)
    members = [p.id for p in household.members]
    condition: ColumnElement[bool] = Case.household_id == household.id
    if members:
        condition = or_(condition, Case.person_id.in_(members))
    return members, condition


def household_cases_for(session: Session, user: User, household_id: int) -> list[HouseholdCase]:
    """Every case of the household in every program, newest first, within the user's scope."""
    _, condition = _case_filter(session, user, household_id)
    rows = session.execute(
        scoped(select(Case.id, Case.program_code, Program.name, Case.person_id, Case.category, Case.status,
                      Case.start_period, Case.end_period)
               .join(Program, Program.code == Case.program_code), user, Case.region_code)
        .where(condition).order_by(Case.id.desc()).limit(MAX_CASES))
    return [HouseholdCase(*row) for row in rows]


def household_payments_for(session: Session, user: User, household_id: int, *, page: int = 1,
                           page_size: int = 20) -> Page[HouseholdPayment]:
    """The household's payments, newest month first, one row per cycle and case, paged.

    Read as payments_of_case does: the household's cases first (a handful), then one key look-up per
    cycle of their programs, never a walk over the payments table."""
    _, condition = _case_filter(session, user, household_id)
    cases = session.execute(scoped(select(Case.id, Case.program_code), user, Case.region_code)
                            .where(condition).limit(MAX_CASES)).all()
    if not cases:
        return Page(items=[], total=0, page=page, page_size=page_size)
    case_ids = [c for c, _ in cases]
    programs = sorted({p for _, p in cases})
    stmt: Select[Any] = cast("Select[Any]",
        select(Cycle.id, Cycle.period, Cycle.program_code, Program.name, Case.id, Case.person_id,
               func.sum(Payment.amount_fen), func.max(Payment.status))
        .select_from(Cycle)
        .join(Payment, and_(Payment.cycle_id == Cycle.id, Payment.case_id.in_(case_ids)))
        .join(Case, Case.id == Payment.case_id)
        .join(Program, Program.code == Cycle.program_code)
        .where(Cycle.program_code.in_(programs))
        .group_by(Cycle.id, Cycle.period, Cycle.program_code, Program.name, Case.id, Case.person_id)
        .order_by(Cycle.period.desc(), Cycle.id.desc(), Case.id)
    )
    found = paginate(session, stmt, page=page, page_size=page_size, scalars=False)
    # SUM over BIGINT is NUMERIC on PostgreSQL: back to integer fen.
    items = [HouseholdPayment(c, period, code, name, case, person, int(fen), status)
             for c, period, code, name, case, person, fen, status in found.items]
    return Page(items=items, total=found.total, page=found.page,
                page_size=found.page_size)
