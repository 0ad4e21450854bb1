"""The payment lines of a cycle as a reader sees them: the cycle page's table, paged and narrowed to the
reader's scope. Who reads which cycle is `cycles.get_cycle_for` / `cycles.list_cycles_for` (the pages and
/api/v1/cycles call those); this is the one query for the lines under a cycle already read that way."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.auth.service import Perm, require, scoped
from minxin.kit.paging import Page, paginate
from minxin.programs.cycles import may_read_cycles
from minxin.programs.models import Case, Cycle, Payment
from minxin.registry.models import Person


def cycle_payments_for(session: Session, user: User, cycle: Cycle, *, county: str | None = None,
                       status: str | None = None, page: int = 1, page_size: int = 20) -> Page[Any]:
    """A page of the cycle's payment lines in the user's scope, each with the head's name, by county and case."""
    if not may_read_cycles(user):
        require(user, Perm.CYCLES_RUN)
    stmt: Select[Any] = cast("Select[Any]", select(Payment, Person.name)
                             .join(Case, Case.id == Payment.case_id).join(Person, Person.id == Case.person_id)
                             .where(Payment.cycle_id == cycle.id))
    stmt = scoped(stmt, user, Payment.region_code)
    if county:
        stmt = stmt.where(Payment.region_code.like(county + "%"))
    if status:
        stmt = stmt.where(Payment.status == status)
    stmt = stmt.order_by(Payment.region_code, Payment.case_id, Payment.seq)
    return paginate(session, stmt, page=page, page_size=page_size, scalars=False)
