"""Pure rules of the benefit engine itself (no database, no web): arrears months and their wording.

Each program's own entitlement rule lives in its package's `rules.py` (e.g. assistance/<program>/rules.py)
and reaches the engine through its calculator (programs/calculator.py).
"""

from __future__ import annotations

from minxin.core.money import fen_to_yuan_compact as y
from minxin.programs.calculator import LineFacts, explain_core

# A back-dated raise may reach at most this many months back: arrears months are a 63-bit mask.
MAX_ARREARS_MONTHS = 60


def mask_offsets(mask: int) -> list[int]:
    """The month offsets (0 = the first arrears month) whose bits are set."""
    return [i for i in range(mask.bit_length()) if mask >> i & 1]


def describe_months(first: str, mask: int) -> str:
    """The arrears months as text: "2012-07", "2012-07～2012-09" when consecutive, else "2012-07、2012-09"."""
    year, month = int(first[:4]), int(first[5:7])
    base = year * 12 + month - 1
    periods = [f"{(base + k) // 12:04d}-{(base + k) % 12 + 1:02d}" for k in mask_offsets(mask)]
    if len(periods) == 1:
        return periods[0]
    if mask + 1 == 1 << mask.bit_length():  # no gaps
        return f"{periods[0]}～{periods[-1]}"
    return "、".join(periods)


def explain_arrears(*, first: str, mask: int, months: int, facts: LineFacts, paid_fen: int, amount_fen: int) -> str:
    """补发: "补发 2012-07：(500−100)×3 = 1200，已发 1080，补 120"; over several months the per-month
    difference and the total ("… 已发 1080，每月补 120，共补 240（2个月）"). The formula is the
    calculator's that wrote the facts' rule."""
    per_month = amount_fen // max(months, 1)
    entitled = paid_fen + per_month
    head = f"补发 {describe_months(first, mask)}：{explain_core(facts, entitled)} = {y(entitled)}，已发 {y(paid_fen)}"
    if months == 1:
        return f"{head}，补 {y(amount_fen)}"
    return f"{head}，每月补 {y(per_month)}，共补 {y(amount_fen)}（{months}个月）"


def explain_carryover(*, periods: list[str], amount_fen: int) -> str:
    """重发: a failed bank payment paid again."""
    when = f" {'、'.join(periods)}" if periods else ""
    return f"重发{when} 未成功发放的款项 {y(amount_fen)}"
