"""The orphans' basic living allowance (孤儿基本生活费) as pure rules: no database, no web.

A child is paid the monthly standard of their placement (机构集中养育 / 社会散居) for every month up to and
including the month of their 18th birthday, and nothing from the month after (国办发〔2010〕54号: the
allowance stops when the child comes of age). The cycle's SQL (children/calculator.py) is held to
`monthly_allowance` on a random population by a test.
"""

from __future__ import annotations

from datetime import date

from minxin.core.money import fen_to_yuan_compact as y
from minxin.core.period import Period

AGE_LIMIT = 18  # the policy file's `max_age` of program orphan; paid up to the month of this birthday
PLACEMENTS = ("集中养育", "社会散居")  # raised in an institution / in the community by relatives or a guardian
GUARDIAN_RELATIONS = ("祖父母", "外祖父母", "兄弟姐妹", "其他亲属", "机构", "其他")


def last_paid_month(birth: date, max_age: int = AGE_LIMIT) -> Period:
    """The last month the allowance is paid: the month of the child's `max_age`th birthday."""
    return Period(birth.year + max_age, birth.month)


def monthly_allowance(*, standard_fen: int, birth: date, period: Period, max_age: int = AGE_LIMIT) -> int:
    """What one month pays: the placement's standard while the child is under age (to the birthday month), else 0."""
    if standard_fen < 0:
        raise ValueError("standard_fen must not be negative")
    return standard_fen if period <= last_paid_month(birth, max_age) else 0


def explain(*, category: str, standard_fen: int, last_month: str, max_age: int = AGE_LIMIT) -> str:
    """The formula part of a payment's explanation: `社会散居 标准 600（未满18周岁，至 2014-05）`."""
    head = f"{category} " if category else ""
    limit = f"（未满{max_age}周岁，至 {last_month}）" if last_month else f"（未满{max_age}周岁）"
    return f"{head}标准 {y(standard_fen)}{limit}"
