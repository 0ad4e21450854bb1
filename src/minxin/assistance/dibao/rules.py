"""低保 minimum living guarantee: the pure entitlement rule (no database, no web).

The 低保 calculator (assistance/dibao/calculator.py) computes the same formula set-based in SQL; tests
hold the two to each other on random populations, so this module is the readable statement of the rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from minxin.core.errors import ValidationError
from minxin.core.money import fen_to_yuan_compact as y

ADDON_KINDS = ("elderly", "minor", "disabled", "ill")
ADDON_NAMES = {"elderly": "老年人", "minor": "未成年人", "disabled": "重度残疾", "ill": "重病"}
RULES = ("gap", "minimum", "sanwu", "ineligible")


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


def parse_addons(extra: Mapping[str, Any], *, where: str = "") -> tuple[Addon, ...]:
    """The policy entry's `[[programs.X.addons]]` as Addons; unknown kinds and shares out of 0–1000 refused."""
    addons = []
    for a in extra.get("addons", []) or []:
        if a.get("kind") not in ADDON_KINDS:
            raise ValidationError(f"{where}unknown addon kind {a.get('kind')!r}")
        permille = int(a.get("permille", 0))
        if not 0 <= permille <= 1000:
            raise ValidationError(f"{where}addon permille must be 0..1000")
        addons.append(Addon(kind=a["kind"], permille=permille, min_age=a.get("min_age")))
    return tuple(addons)


def params_from_policy(extra: Mapping[str, Any], standard_fen: int) -> DibaoParams:
    """The parameters for one standard from the program's policy entry (floor share and add-ons)."""
    return DibaoParams(standard_fen=standard_fen, min_permille=int(extra.get("min_payment_permille", 0)),
                       addons=parse_addons(extra))


def elderly_age(addons: tuple[Addon, ...]) -> int | None:
    return next((int(a.min_age) for a in addons if a.kind == "elderly" and a.min_age), None)


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
    return f"{formula(rule, standard_fen, income_fen, members, addon_fen, addon_persons, amount_fen)} = {y(amount_fen)}"


def formula(rule: str, standard_fen: int, income_fen: int, members: int, addon_fen: int, addon_persons: int,
            entitled_fen: int) -> str:
    """The formula of an amount ("(460−100)×3 + 分类施保 23（1人次）"), before " = amount"."""
    m = max(members, 1)
    if rule == "sanwu":
        core = f"三无人员全额 {y(standard_fen)}×{m}"
    elif rule == "minimum":
        core = f"差额不足保底，按保底 {y((entitled_fen - addon_fen) // m)}×{m}"
    else:
        core = f"({y(standard_fen)}−{y(per_capita_income(income_fen, m))})×{m}"
    if addon_fen:
        core += f" + 分类施保 {y(addon_fen)}（{addon_persons}人次）"
    return core
