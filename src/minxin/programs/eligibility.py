"""Who may be a case of a program, as the policy file states it (pure, no database)."""

from __future__ import annotations

from datetime import date

from minxin.programs.policy import ProgramPolicy


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def ineligibility(policy: ProgramPolicy, *, birth: date, disability_grade: int | None, hukou: str | None,
                  on: date) -> str | None:
    """Why a person cannot be a case of this program, or None.

    A program whose policy entry sets `min_age` (the rural five-guarantees rule, 供养工作条例 Art.6)
    takes a rural resident who is elderly (≥ min_age), disabled, or a minor (< max_minor_age). The
    conditions no data can show (no work capacity, no supporter able to support) are for the household survey and
    the 民主评议, not for a spreadsheet check.
    """
    min_age = policy.extra.get("min_age")
    if min_age is None:
        return None
    if hukou != "农村":
        return f"{policy.short}只面向农村户籍人员 (rural residents only)"
    age = age_on(birth, on)
    minor = int(policy.extra.get("max_minor_age", 16))
    if age >= int(min_age) or age < minor or disability_grade:
        return None
    return (f"{age} 岁、无残疾，不符合{policy.short}条件（须年满 {min_age} 岁、残疾或未满 {minor} 岁） "
            "(not elderly, disabled or a minor)")
