"""What the public notice (公示) and the case pages show of each case, and how they survive a broken one.

A page lists what it can: a case whose amount cannot be worked out (no category where its program
needs one, a category without a standard, a household gone) is listed with its amount marked
待核定, never failing the whole page. `proposed_amount` itself stays the engine's; this module only
wraps its use.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from minxin.core.errors import MinxinError, NotFound
from minxin.core.masking import mask_name
from minxin.infra.db import utcnow
from minxin.programs.eligibility import needs_institution
from minxin.programs.models import Case, Objection, Program
from minxin.programs.policy import ProgramPolicy
from minxin.programs.service import notices_for_community, program_policy, proposed_amount, raise_objection
from minxin.regions import region_path
from minxin.registry.models import Household, Person, Region

log = logging.getLogger(__name__)

# What a broken record may raise while its amount is worked out: domain refusals and the errors of
# missing or malformed data. Database errors are not caught: they are not the record's fault.
_RECORD_ERRORS = (MinxinError, ArithmeticError, LookupError, TypeError, ValueError, AttributeError)


@dataclass
class NoticeRow:
    case_id: int
    head: str  # already masked
    members: int
    income_fen: int
    proposed_fen: int | None
    notice_end: datetime | None
    broken: bool = False  # the amount could not be worked out: shown as 金额待核定


def case_problem(program: Program, case: Case, policy: ProgramPolicy | None = None) -> str | None:
    """Why a stored case is incomplete (written before every face checked it, or by hand), or None."""
    cats = program.category_list
    if cats and case.category not in cats:
        return f"类别待补（须为 {'/'.join(cats)}） (category missing)"
    if not cats and case.category:
        return "类别有误 (program has no categories)"
    if policy is not None and needs_institution(policy, case.category) and case.institution_id is None:
        return "供养机构待补 (institution missing)"
    return None


def safe_proposed_amount(session: Session, case: Case) -> tuple[int | None, bool]:
    """(拟补助金额 or None, broken): a case whose amount fails is marked, not raised."""
    try:
        with session.begin_nested():  # whatever the calculation touched is undone if it fails
            return proposed_amount(session, case), False
    except _RECORD_ERRORS as exc:
        log.warning("case %s: proposed amount unavailable: %s", case.id, exc)
        return None, True


def notice_rows(session: Session, *, community_code: str, now: datetime | None = None) -> list[NoticeRow]:
    """One community's cases under notice as the public page shows them (masked), each on its own."""
    rows = []
    for case in notices_for_community(session, community_code=community_code, now=now):
        household = session.get(Household, case.household_id) if case.household_id else None
        head = session.get(Person, case.person_id)
        proposed, broken = safe_proposed_amount(session, case)
        program = session.get(Program, case.program_code)
        if program is not None and case_problem(program, case, policy_or_none(case.program_code)):
            proposed, broken = None, True  # whatever came out, it rests on an incomplete record
        rows.append(NoticeRow(case_id=case.id, head=mask_name(head.name if head else ""),
                              members=len(household.members) if household else 1,
                              income_fen=household.monthly_income_fen if household else 0,
                              proposed_fen=proposed, notice_end=case.notice_end, broken=broken))
    return rows


def policy_or_none(code: str) -> ProgramPolicy | None:
    """The program's policy, or None for a program the policy file no longer lists."""
    try:
        return program_policy(code)
    except MinxinError:
        return None


# ---- the public notice pages (no login): what anyone may read and object to --------------------------

def communities_under_notice(session: Session, *, q: str = "", now: datetime | None = None,
                             limit: int = 100) -> list[dict[str, object]]:
    """Communities with a notice running now, matched by code prefix or by name, in code order: each
    with its code, name, the path of its parent and how many households are under notice."""
    now = now or utcnow()
    counts = dict(session.execute(
        select(Case.region_code, func.count()).where(Case.status == "noticed", Case.notice_end >= now)
        .group_by(Case.region_code)).all())
    if not counts:
        return []
    q = q.strip()
    regions = list(session.execute(select(Region).where(Region.code.in_(counts)).order_by(Region.code)).scalars())
    if q.isdigit():
        regions = [r for r in regions if r.code.startswith(q)]
    elif q:
        regions = [r for r in regions if q in r.name]
    return [{"code": r.code, "name": r.name, "parent": region_path(session, r.parent_code or ""),
             "count": counts[r.code]} for r in regions[:limit]]


def get_notice_community(session: Session, code: str) -> Region:
    """The community (社区/村, a 12-digit code) whose notice a public page shows; NotFound for anything else."""
    region = session.get(Region, code) if code.isdigit() and len(code) == 12 else None
    if region is None or region.level != "community":
        raise NotFound("社区（村）不存在 (no such community)")
    return region


def object_to_notice(session: Session, *, community_code: str, case_id: int, content: str,
                     raised_by: str | None = None, contact: str | None = None) -> Objection:
    """An objection from the public to a case the community's notice shows now (NotFound for any other)."""
    if case_id not in {c.id for c in notices_for_community(session, community_code=community_code)}:
        raise NotFound("该公示不存在或已结束 (no such notice)")
    return raise_objection(session, case_id=case_id, content=content, raised_by=raised_by, contact=contact)
