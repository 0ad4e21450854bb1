"""The home-care settlement calculator (`homecare`): a provider is paid the value of its finished orders.

Each contracted provider has one case of program `homecare` (homecare.register_provider). A cycle of
month P for a county:

1. releases the orders this draft took in an earlier run (a draft is recomputed from current data),
   then takes (links to the cycle) every finished order of value with a month up to P and no cycle
   yet, of the county's active provider cases — one UPDATE;
2. writes one line per provider with the sum of the orders it took (`units` = their number).

An order finished after its month's cycle was approved is paid by the next month's, once. The bank file
names the provider (its name, its 统一社会信用代码, its account), not the case's person. The same rule in
Python is `homecare.rules.settlement` (tests hold the SQL to it); the explanation reads
`完成服务单 12 单，合计 = 360`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, text

from minxin.eldercare.homecare import rules
from minxin.programs.calculator import Calculator, LineFacts, RunSql, register

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from minxin.core.period import Period
    from minxin.programs.models import Case, Cycle

# The county's active provider cases of the run (the orders a cycle takes are theirs).
_CASES = "c.program_code = :p AND c.status = 'active' AND c.region_code >= :lo AND c.region_code < :hi"


class HomecareCalculator(Calculator):
    """政府购买居家养老服务: a provider's finished orders of the month (and earlier ones not yet paid)."""

    name = rules.RULE
    rules = (rules.RULE,)
    uses_standards = False
    unit_word = "家"

    def before_regular(self, session: Session, *, cycle: Cycle, period: Period) -> None:
        from minxin.programs.cycles.scratch import county_bounds

        lo, hi = county_bounds(cycle.county_code)
        session.execute(text("UPDATE service_orders SET settled_cycle_id = NULL WHERE settled_cycle_id = :c"),
                        {"c": cycle.id})
        session.execute(text(f"""
UPDATE service_orders SET settled_cycle_id = :c
WHERE status = 'finished' AND settled_cycle_id IS NULL AND value_fen > 0 AND period <= :period
  AND provider_id IN (SELECT sp.id FROM service_providers sp JOIN cases c ON c.id = sp.case_id WHERE {_CASES})
"""), {"c": cycle.id, "period": str(period), "p": cycle.program_code, "lo": lo, "hi": hi})

    def regular_select(self, q: RunSql) -> str:
        return f"""
SELECT c.id AS case_id, c.region_code AS region_code, SUM(o.value_fen) AS amount, c.category AS category,
       '{rules.RULE}' AS rule, CAST(NULL AS BIGINT) AS standard_fen, CAST(NULL AS INTEGER) AS standard_id,
       CAST(NULL AS BIGINT) AS income_fen, CAST(NULL AS INTEGER) AS members,
       COUNT(*) AS units, 0 AS addon_fen, 0 AS n_elderly, 0 AS n_minor, 0 AS n_disabled, 0 AS n_ill
FROM service_orders o JOIN service_providers sp ON sp.id = o.provider_id JOIN cases c ON c.id = sp.case_id
WHERE o.settled_cycle_id = :c
GROUP BY c.id, c.region_code, c.category
HAVING SUM(o.value_fen) > 0
"""

    def proposed_amount(self, session: Session, case: Case, *, period: Period, standard_fen: int | None
                        ) -> int | None:
        from minxin.eldercare.homecare.service import provider_settlement
        from minxin.eldercare.models import ServiceProvider

        provider = session.execute(select(ServiceProvider).where(ServiceProvider.case_id == case.id)).scalar()
        return None if provider is None else provider_settlement(session, provider, period=period)[1]

    def explain_core(self, f: LineFacts, entitled_fen: int) -> str:
        return rules.explain(f.units, entitled_fen)

    def payee(self) -> tuple[str, str, str] | None:
        return ("LEFT JOIN service_providers payee ON payee.case_id = c.id", "payee.name",
                "COALESCE(payee.credit_code, '')")

    def institution_memo(self, category: str, masked_name: str) -> str:
        return "居家养老服务结算"


CALCULATOR = register(HomecareCalculator())
