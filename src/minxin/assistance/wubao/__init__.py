"""农村五保供养 (P6, P7): the 五保 program — its calculator, derived standards and the centralized rate."""

from minxin.assistance.wubao.service import (
    PROGRAM,
    DerivedStandard,
    centralized_rate,
    derive_standards,
    parse_ratio,
    ratio_band,
    rural_income_fen,
)

__all__ = ["PROGRAM", "DerivedStandard", "centralized_rate", "derive_standards", "parse_ratio", "ratio_band",
           "rural_income_fen"]
