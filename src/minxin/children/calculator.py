"""The orphan calculator: the placement's monthly standard, up to and including the month of the 18th birthday.

The rule of children/rules.py as the engine's set-based SQL. A case is paid in month P while the child
was born on or after the first day of P's month 18 years earlier (`birth_date >= :orphan_born_from`),
that is up to and including the month of the 18th birthday. The line's rule carries that last month
(`orphan:2014-05`), so arrears recompute each earlier month with the age limit of that month and the
explanation shows it: `社会散居 标准 600（未满18周岁，至 2014-05）= 600`.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from minxin.children import rules
from minxin.core.period import Period
from minxin.programs.calculator import Calculator, LineFacts, MonthRefs, RunSql, register
from minxin.programs.policy import load_policy
from minxin.registry.models import Person

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from minxin.programs.models import Case
    from minxin.programs.policy import ProgramPolicy

RULE = "orphan"


def max_age(policy: ProgramPolicy | None = None) -> int:
    """The age limit: the policy's `max_age` of the program this calculator pays (18 unless it says else)."""
    if policy is None:
        found = [p for p in load_policy().programs.values() if p.calculator == RULE]
        policy = found[0] if found else None
    return int(policy.extra.get("max_age", rules.AGE_LIMIT)) if policy is not None else rules.AGE_LIMIT


def born_from(period: Period, limit: int) -> date:
    """The earliest birth date still paid in `period`: the first day of that month, `limit` years earlier."""
    return date(period.year - limit, period.month, 1)


def _ym(column: str) -> tuple[str, str]:
    """(year, '-MM') of a DATE column as SQL text on SQLite and PostgreSQL alike (ISO date text)."""
    text = f"CAST({column} AS VARCHAR(10))"
    return f"CAST(substr({text}, 1, 4) AS INTEGER)", f"substr({text}, 5, 3)"


class OrphanCalculator(Calculator):
    """孤儿基本生活费: 标准 of the placement per month, to the month of the 18th birthday."""

    name = RULE
    rules = (RULE,)
    date_params = ("orphan_born_from",)

    def params(self, policy: ProgramPolicy, period: Period) -> dict[str, Any]:
        limit = max_age(policy)
        return {"orphan_born_from": born_from(period, limit), "orphan_max_age": limit}

    def regular_select(self, q: RunSql) -> str:
        year, month = _ym("p.birth_date")
        last = f"CAST({year} + :orphan_max_age AS VARCHAR(4)) || {month}"
        return f"""
SELECT c.id AS case_id, c.region_code AS region_code, s.standard_fen AS amount, c.category AS category,
       '{RULE}:' || {last} AS rule, s.standard_fen AS standard_fen, s.standard_id AS standard_id,
       CAST(NULL AS BIGINT) AS income_fen, CAST(NULL AS INTEGER) AS members,
       CAST(NULL AS BIGINT) AS units, 0 AS addon_fen, 0 AS n_elderly, 0 AS n_minor,
       0 AS n_disabled, 0 AS n_ill
FROM {q.cases} JOIN persons p ON p.id = c.person_id CROSS JOIN mx_std s
WHERE {q.active} AND s.period = :period AND s.region_code = c.region_code AND s.category = c.category
  AND s.standard_fen > 0 AND p.birth_date >= :orphan_born_from
"""

    def month_terms(self, m: MonthRefs) -> tuple[str, str, str]:
        # The stored rule carries the child's last paid month ('orphan:YYYY-MM'): a month after it gets nothing.
        last = f"substr({m.line}.rule, {len(RULE) + 2}, 7)"
        return (f"CASE WHEN {m.period} <= {last} THEN {m.std}.standard_fen ELSE 0 END", f"{m.line}.rule", "0")

    def proposed_amount(self, session: Session, case: Case, *, period: Period, standard_fen: int | None
                        ) -> int | None:
        if standard_fen is None:
            return None
        birth = session.execute(select(Person.birth_date).where(Person.id == case.person_id)).scalar_one()
        return rules.monthly_allowance(standard_fen=standard_fen, birth=birth, period=period, max_age=max_age())

    def explain_core(self, f: LineFacts, entitled_fen: int) -> str:
        return rules.explain(category=f.category, standard_fen=f.standard_fen, last_month=f.rule.partition(":")[2],
                             max_age=max_age())

    def institution_memo(self, category: str, masked_name: str) -> str:
        return f"{category} {masked_name}"


CALCULATOR = register(OrphanCalculator())
