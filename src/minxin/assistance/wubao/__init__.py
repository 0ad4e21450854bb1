"""农村五保供养 (P6, P7): the 五保 program — its calculator, derived standards and the centralized rate."""

from minxin.assistance.statistics.service import rural_income_fen
from minxin.assistance.wubao.service import (
    PROGRAM,
    DerivedStandard,
    StandardRow,
    centralized_rate,
    derive_standards,
    parse_ratio,
    ratio_band,
    standards_in_force_by_county,
)

__all__ = ["PROGRAM", "DerivedStandard", "StandardRow", "centralized_rate", "derive_standards",
           "parse_ratio", "ratio_band", "rural_income_fen",
           "standards_in_force_by_county"]
