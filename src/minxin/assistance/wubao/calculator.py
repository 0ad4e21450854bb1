"""The 五保 calculator: a person's annual standard paid monthly, ÷ 12 in whole fen (`年标准 5005 ÷ 12 = 417.08`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from minxin.core.money import fen_to_yuan_compact as y
from minxin.programs.calculator import Calculator, LineFacts, MonthRefs, RunSql, register
from minxin.programs.flat import standard_select

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from minxin.core.period import Period
    from minxin.programs.models import Case


def monthly_fen(annual_fen: int) -> int:
    """五保 monthly payment: the annual standard ÷ 12, rounded down to the fen."""
    return annual_fen // 12


class WubaoCalculator(Calculator):
    name = "wubao"
    rules = ("wubao",)

    def regular_select(self, q: RunSql) -> str:
        return standard_select(q, amount="s.standard_fen / 12", rule="wubao")

    def month_terms(self, m: MonthRefs) -> tuple[str, str, str]:
        return f"{m.std}.standard_fen / 12", "'wubao'", "0"

    def proposed_amount(self, session: Session, case: Case, *, period: Period, standard_fen: int | None
                        ) -> int | None:
        return None if standard_fen is None else monthly_fen(standard_fen)

    def explain_core(self, f: LineFacts, entitled_fen: int) -> str:
        return f"年标准 {y(f.standard_fen)} ÷ 12"

    def institution_memo(self, category: str, masked_name: str) -> str:
        return f"{category}供养 {masked_name}"


CALCULATOR = register(WubaoCalculator())
