"""The "medical" calculator: a cycle pays the medical assistance assessed and not yet paid.

Assistance is assessed per settlement record when it is imported (assistance/medical/importer.py);
a cycle of program "medical" pays, per active case of the run's county, the sum of its assisted
records with no cycle yet and a visit month up to the period. Set-based like every calculator: one
statement releases what a draft had taken, one writes the lines, one links the records paid.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

from minxin.core.money import fen_to_yuan_compact as y
from minxin.programs.calculator import Calculator, LineFacts, RunSql, register

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from minxin.core.period import Period
    from minxin.programs.models import Cycle

# An active 医疗救助 case of the run's county (its start and end do not limit records already assessed).
_CASES = "c.program_code = :p AND c.status = 'active' AND c.region_code >= :lo AND c.region_code < :hi"


class MedicalCalculator(Calculator):
    """医疗救助: the assessed assistance of a person's unpaid records (units = the records paid)."""

    name = "medical"
    rules = ("medical",)
    uses_standards = False

    def regular_select(self, q: RunSql) -> str:
        return f"""
SELECT r.case_id AS case_id, c.region_code AS region_code, SUM(r.assistance_fen) AS amount, c.category AS category,
       'medical' AS rule, CAST(NULL AS BIGINT) AS standard_fen, CAST(NULL AS INTEGER) AS standard_id,
       CAST(NULL AS BIGINT) AS income_fen, CAST(NULL AS INTEGER) AS members,
       COUNT(*) AS units, 0 AS addon_fen, 0 AS n_elderly, 0 AS n_minor, 0 AS n_disabled, 0 AS n_ill
FROM medical_records r JOIN cases c ON c.id = r.case_id
WHERE r.status = 'assisted' AND r.cycle_id IS NULL AND r.visit_period <= :period AND {_CASES}
GROUP BY r.case_id, c.region_code, c.category
HAVING SUM(r.assistance_fen) > 0
"""

    def before_regular(self, session: Session, *, cycle: Cycle, period: Period) -> None:
        """Records this (draft) cycle took in an earlier run are released: a draft is recomputed from the
        current data. Approved cycles are never recomputed, so what they paid stays paid, once."""
        session.execute(text("UPDATE medical_records SET cycle_id = NULL WHERE cycle_id = :c"), {"c": cycle.id})

    def after_regular(self, session: Session, *, cycle: Cycle, period: Period) -> None:
        """The records just paid (zero amounts included: settled) are linked to the cycle. A suspended or
        terminated case is not paid; its records wait (or stay unpaid once terminated)."""
        lo, hi = cycle_bounds(cycle)
        session.execute(text(f"""
UPDATE medical_records SET cycle_id = :c
WHERE status = 'assisted' AND cycle_id IS NULL AND visit_period <= :period
  AND case_id IN (SELECT c.id FROM cases c WHERE {_CASES})
"""), {"c": cycle.id, "period": str(period), "p": cycle.program_code, "lo": lo, "hi": hi})

    def explain_core(self, f: LineFacts, entitled_fen: int) -> str:
        return f"医疗救助 {f.units} 笔就诊记录"

    def explain(self, f: LineFacts, amount_fen: int) -> str:
        return f"{self.explain_core(f, amount_fen)} = {y(amount_fen)}"


def cycle_bounds(cycle: Cycle) -> tuple[str, str]:
    from minxin.programs.cycles.scratch import county_bounds

    return county_bounds(cycle.county_code)


CALCULATOR = register(MedicalCalculator())
