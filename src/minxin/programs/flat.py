"""The "flat" calculator: every active case gets the standard in force, unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING

from minxin.core.money import fen_to_yuan_compact as y
from minxin.programs.calculator import Calculator, LineFacts, MonthRefs, RunSql, register

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from minxin.core.period import Period
    from minxin.programs.models import Case


def standard_select(q: RunSql, *, amount: str, rule: str, units: str = "CAST(NULL AS BIGINT)") -> str:
    """Every active case of the run whose amount is a function of its standard (and the month) alone."""
    return f"""
SELECT c.id AS case_id, c.region_code AS region_code, {amount} AS amount, c.category AS category, '{rule}' AS rule,
       s.standard_fen AS standard_fen, s.standard_id AS standard_id, CAST(NULL AS BIGINT) AS income_fen,
       CAST(NULL AS INTEGER) AS members,
       {units} AS units, 0 AS addon_fen, 0 AS n_elderly, 0 AS n_minor, 0 AS n_disabled, 0 AS n_ill
FROM {q.cases} CROSS JOIN mx_std s
WHERE {q.active} AND s.period = :period AND s.region_code = c.region_code AND s.category = c.category
  AND {amount} > 0
"""


class FlatCalculator(Calculator):
    """标准 per case per month."""

    name = "flat"
    rules = ("flat",)

    def regular_select(self, q: RunSql) -> str:
        return standard_select(q, amount="s.standard_fen", rule="flat")

    def month_terms(self, m: MonthRefs) -> tuple[str, str, str]:
        return f"{m.std}.standard_fen", "'flat'", "0"

    def proposed_amount(self, session: Session, case: Case, *, period: Period, standard_fen: int | None
                        ) -> int | None:
        return standard_fen

    def explain_core(self, f: LineFacts, entitled_fen: int) -> str:
        return f"标准 {y(f.standard_fen)}"


CALCULATOR = register(FlatCalculator())
