"""Care institutions 供养机构 as social assistance reads them: each with the 五保 recipients it houses.

The institution itself is a registry record (`registry.service.add_institution`, `list_institutions`):
the engine checks a 集中 case's institution and elderly care runs its beds, so neither may depend on
social assistance.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from minxin.assistance.wubao import PROGRAM
from minxin.auth.models import User
from minxin.programs.models import Case
from minxin.registry.models import Institution
from minxin.registry.service import list_institutions


def institutions_with_residents(session: Session, *, user: User) -> list[tuple[Institution, int]]:
    """The care institutions in the user's scope, each with its active 集中 五保 recipients. Counted whole:
    the institution is in scope, and a count names nobody, even when some residents come from towns
    outside a town officer's own."""
    institutions = list_institutions(session, user=user)
    ids = [i.id for i in institutions]
    counts: dict[int, int] = {}
    if ids:
        rows = session.execute(
            select(Case.institution_id, func.count()).where(
                Case.program_code == PROGRAM, Case.status == "active", Case.category == "集中",
                Case.institution_id.in_(ids)).group_by(Case.institution_id))
        counts = {i: int(n) for i, n in rows.all() if i is not None}
    return [(i, counts.get(i.id, 0)) for i in institutions]
