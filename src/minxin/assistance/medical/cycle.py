"""Paying medical assistance through the benefit engine: the "medical" calculator of a payment cycle.

Called by the engine's cycle run (programs/cycles.py, regular payments) for program "medical", inside
the run's transaction, after the draft's payments were deleted. Set-based like every calculator:
three statements, whatever the number of records.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from minxin.core.period import Period
from minxin.programs.models import Cycle

# The unpaid assisted records of an active 医疗救助 case, visited up to the cycle's month, per case.
_INSERT = """
INSERT INTO payments (cycle_id, case_id, seq, region_code, amount_fen, regular_fen, rule, standard_fen, standard_id,
                      income_fen, members, addon_fen, n_elderly, n_minor, n_disabled, n_ill, arrears_fen,
                      carryover_fen, status)
SELECT :c, r.case_id, 0, c.region_code, SUM(r.assistance_fen), SUM(r.assistance_fen), 'medical', 0,
       NULL, 0, COUNT(*), 0, 0, 0, 0, 0, 0, 0, 'pending'
FROM medical_records r JOIN cases c ON c.id = r.case_id
WHERE r.status = 'assisted' AND r.cycle_id IS NULL AND r.visit_period <= :period
  AND c.program_code = :program AND c.status = 'active'
GROUP BY r.case_id, c.region_code
HAVING SUM(r.assistance_fen) > 0
"""

# The same records (zero amounts included), linked to the cycle.
_LINK = """
UPDATE medical_records SET cycle_id = :c
WHERE status = 'assisted' AND cycle_id IS NULL AND visit_period <= :period
  AND case_id IN (SELECT id FROM cases WHERE program_code = :program AND status = 'active')
"""


def insert_medical_payments(session: Session, *, cycle: Cycle, period: Period) -> None:
    """One regular payment per 医疗救助 case: the assistance of its records not yet paid.

    1. Records this (draft) cycle took in an earlier run are released (cycle_id = NULL): a draft is
       recomputed from the current data. Approved cycles are never recomputed, so records they paid
       stay paid and are never paid twice.
    2. Per active case: SUM(assistance) of its assisted records with no cycle and a visit month up to
       the period (rule 'medical', members = number of records, standard 0); nothing for a zero sum.
    3. Those records are linked to the cycle, which now names the cycle that paid (or, for zero
       amounts, settled) each record.
    A suspended or terminated case is not paid; its records wait (or stay unpaid once terminated).
    """
    params = {"c": cycle.id, "period": str(period), "program": cycle.program_code}
    session.execute(text("UPDATE medical_records SET cycle_id = NULL WHERE cycle_id = :c"), {"c": cycle.id})
    session.execute(text(_INSERT), params)
    session.execute(text(_LINK), params)
