"""Pure entitlement rules of the benefit engine: no database, no web.

The cycle computes the same formulas set-based in SQL (programs/cycles.py); tests hold the two
to each other on random populations, so this module is the readable statement of the rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minxin.core.money import fen_to_yuan_compact as y

ADDON_KINDS = ("elderly", "minor", "disabled", "ill")
ADDON_NAMES = {"elderly": "老年人", "minor": "未成年人", "disabled": "重度残疾", "ill": "重病"}


@dataclass(frozen=True)
class Addon:
    """分类施保: a per-person supplement as a share (‰) of the standard, for one class of member."""

    kind: str
    permille: int
    min_age: int | None = None  # elderly: aged at least this on the period's first day

    def per_person_fen(self, standard_fen: int) -> int:
        return standard_fen * self.permille // 1000


@dataclass(frozen=True)
class DibaoParams:
    """The 低保 parameters in force for one household's region, category and period."""

    standard_fen: int
    min_permille: int = 0  # minimum payment per person as a share of the standard (0 = none)
    addons: tuple[Addon, ...] = ()


@dataclass(frozen=True)
class HouseholdFacts:
    members: int
    income_fen: int  # assessed monthly household income
    sanwu: bool = False
    addon_counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Entitlement:
    amount_fen: int
    rule: str  # gap | minimum | sanwu | ineligible
    standard_fen: int
    income_fen: int
    members: int
    addon_fen: int
    addon_persons: int

    @property
    def explanation(self) -> str:
        return explain(rule=self.rule, standard_fen=self.standard_fen, income_fen=self.income_fen,
                       members=self.members, addon_fen=self.addon_fen, addon_persons=self.addon_persons,
                       amount_fen=self.amount_fen)


def per_capita_income(income_fen: int, members: int) -> int:
    """Per-capita monthly income in whole fen, rounded down (in the household's favour)."""
    return income_fen // members


def dibao_entitlement(facts: HouseholdFacts, params: DibaoParams) -> Entitlement:
    """低保 monthly benefit of a household.

    1. 三无 households get the full standard for every member (条例 Art.8).
    2. Otherwise gap = standard − per-capita income; no gap, no benefit.
    3. A gap below the minimum share of the standard is raised to that minimum (local floor).
    4. 分类施保 add-ons are paid per qualifying member on top, to recipients only.
    Never negative.
    """
    if facts.members <= 0:
        raise ValueError("a household has at least one member")
    if facts.income_fen < 0 or params.standard_fen < 0:
        raise ValueError("income and standard are never negative")
    std = params.standard_fen
    m = facts.members
    if facts.sanwu:
        base, rule = std * m, "sanwu"
    else:
        gap = std - per_capita_income(facts.income_fen, m)
        min_pp = std * params.min_permille // 1000
        if gap <= 0:
            base, rule = 0, "ineligible"
        elif gap < min_pp:
            base, rule = min_pp * m, "minimum"
        else:
            base, rule = gap * m, "gap"
    addon_fen = 0
    addon_persons = 0
    if base > 0:
        for addon in params.addons:
            n = facts.addon_counts.get(addon.kind, 0)
            addon_fen += n * addon.per_person_fen(std)
            addon_persons += n
    return Entitlement(amount_fen=base + addon_fen, rule=rule, standard_fen=std, income_fen=facts.income_fen,
                       members=m, addon_fen=addon_fen, addon_persons=addon_persons)


def explain(*, rule: str, standard_fen: int, income_fen: int, members: int, addon_fen: int = 0,
            addon_persons: int = 0, amount_fen: int) -> str:
    """A one-line explanation of a regular amount a caseworker can check by hand: "(460−100)×3 = 1080"."""
    if rule == "ineligible":
        m = max(members, 1)
        return f"({y(standard_fen)}−{y(per_capita_income(income_fen, m))})×{m} ≤ 0，不予发放"
    return f"{_core(rule, standard_fen, income_fen, members, addon_fen, addon_persons, amount_fen)} = {y(amount_fen)}"


def _core(rule: str, standard_fen: int, income_fen: int, members: int, addon_fen: int, addon_persons: int,
          entitled_fen: int) -> str:
    m = max(members, 1)
    if rule == "sanwu":
        core = f"三无人员全额 {y(standard_fen)}×{m}"
    elif rule == "minimum":
        core = f"差额不足保底，按保底 {y((entitled_fen - addon_fen) // m)}×{m}"
    elif rule == "flat":
        core = f"标准 {y(standard_fen)}"
    elif rule == "wubao":
        core = f"年标准 {y(standard_fen)} ÷ 12"
    elif rule == "medical":
        core = f"医疗救助 {m} 笔就诊记录"
    else:
        core = f"({y(standard_fen)}−{y(per_capita_income(income_fen, m))})×{m}"
    if addon_fen:
        core += f" + 分类施保 {y(addon_fen)}（{addon_persons}人次）"
    return core


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


def explain_arrears(*, first: str, mask: int, months: int, rule: str, standard_fen: int, income_fen: int,
                    members: int, addon_fen: int, addon_persons: int, paid_fen: int, amount_fen: int) -> str:
    """补发: "补发 2012-07：(500−100)×3 = 1200，已发 1080，补 120"; over several months the per-month
    difference and the total ("… 已发 1080，每月补 120，共补 240（2个月）")."""
    per_month = amount_fen // max(months, 1)
    entitled = paid_fen + per_month
    core = _core(rule, standard_fen, income_fen, members, addon_fen, addon_persons, entitled)
    head = f"补发 {describe_months(first, mask)}：{core} = {y(entitled)}，已发 {y(paid_fen)}"
    if months == 1:
        return f"{head}，补 {y(amount_fen)}"
    return f"{head}，每月补 {y(per_month)}，共补 {y(amount_fen)}（{months}个月）"


def explain_carryover(*, periods: list[str], amount_fen: int) -> str:
    """重发: a failed bank payment paid again."""
    when = f" {'、'.join(periods)}" if periods else ""
    return f"重发{when} 未成功发放的款项 {y(amount_fen)}"
