"""Medical assistance 医疗救助 rules: pure, no database, no web.

For one settlement record of a 低保 member or 五保 person (社会救助暂行办法 Art.28–29, DOMAIN §3)::

    residual   = max(0, 政策范围内费用 − 基本医保支付 − 大病保险支付 − 起付线)
    raw        = residual × 救助比例 (‰), floored to the fen
    assistance = min(raw, max(0, 年度封顶线 − already granted this calendar year for this kind))

门诊 and 住院 have separate annual counters. The rule (起付线, 比例, 封顶线) is the one in force on the
visit date for the person's category and kind, and the cap in force on that date applies to the
whole year's total, so a cap raised mid-year (P4: 门诊 from 2012-07-01) gives room at once.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from minxin.core.errors import ValidationError
from minxin.core.money import fen_to_yuan_compact as y
from minxin.core.money import parse_yuan

KINDS = ("门诊", "住院")
CATEGORIES = ("低保", "五保")  # 五保 wins when a person is both


@dataclass(frozen=True)
class MedicalRule:
    """起付线, 救助比例 and 年度封顶线 for one category and kind of visit, from a date on."""

    category: str
    kind: str
    effective: date
    deductible_fen: int
    ratio_permille: int
    cap_fen: int


class Assessment(NamedTuple):  # a tuple: made a million times per import
    residual_fen: int
    raw_fen: int
    assistance_fen: int


class RuleBook:
    """The policy file's rules, looked up by (category, kind, visit date)."""

    def __init__(self, rules: Mapping[tuple[str, str], list[MedicalRule]]) -> None:
        self.rules = {key: sorted(rs, key=lambda r: r.effective) for key, rs in rules.items()}
        self._dates = {key: [r.effective for r in rs] for key, rs in self.rules.items()}

    @property
    def earliest(self) -> date | None:
        """The first day any rule is in force; visits before it are outside every policy."""
        return min((rs[0].effective for rs in self.rules.values() if rs), default=None)

    def rule_for(self, category: str, kind: str, day: date) -> MedicalRule | None:
        """The latest rule of (category, kind) effective on or before the day, or None."""
        dates = self._dates.get((category, kind))
        if not dates:
            return None
        i = bisect.bisect_right(dates, day)
        return self.rules[(category, kind)][i - 1] if i else None


def rule_book(entries: Iterable[Mapping[str, Any]], *, source: str = "medical.rules") -> RuleBook:
    """Read `[[medical.rules]]` entries (amounts in yuan as text); refuse a malformed or repeated one."""
    rules: dict[tuple[str, str], list[MedicalRule]] = {}
    for i, e in enumerate(entries, start=1):
        def bad(msg: str, i: int = i) -> ValidationError:
            return ValidationError(f"政策文件 {source} 第 {i} 条：{msg} (bad medical rule)")

        category, kind = str(e.get("category", "")), str(e.get("kind", ""))
        if category not in CATEGORIES:
            raise bad(f"保障类别必须是 {'/'.join(CATEGORIES)}，而不是 {category!r}")
        if kind not in KINDS:
            raise bad(f"就诊类别必须是 {'/'.join(KINDS)}，而不是 {kind!r}")
        try:
            effective = date.fromisoformat(str(e["effective"]))
            deductible = parse_yuan(str(e.get("deductible_yuan", "0")), field="deductible_yuan")
            cap = parse_yuan(str(e["annual_cap_yuan"]), field="annual_cap_yuan")
            ratio = int(e["ratio_permille"])
        except (KeyError, ValueError, TypeError, ValidationError) as exc:
            raise bad(f"缺少或无法解析的字段：{exc}") from exc
        if not 0 <= ratio <= 1000:
            raise bad("ratio_permille 必须在 0 到 1000 之间")
        same = rules.setdefault((category, kind), [])
        if any(r.effective == effective for r in same):
            raise bad(f"{category}{kind} 在 {effective} 已有一条规则")
        same.append(MedicalRule(category=category, kind=kind, effective=effective, deductible_fen=deductible,
                                ratio_permille=ratio, cap_fen=cap))
    return RuleBook(rules)


def assess(*, in_scope_fen: int, insurance_fen: int, serious_fen: int, deductible_fen: int, ratio_permille: int,
           cap_fen: int, used_before_fen: int) -> Assessment:
    """The assistance for one record, given what the person already received this year for the kind.

    Never negative, never above the raw amount, and the year's total never passes the cap.
    """
    residual = max(0, in_scope_fen - insurance_fen - serious_fen - deductible_fen)
    raw = residual * ratio_permille // 1000
    room = max(0, cap_fen - used_before_fen)
    return Assessment(residual_fen=residual, raw_fen=raw, assistance_fen=min(raw, room))


def percent(permille: int) -> str:
    """700 → "70%", 725 → "72.5%"."""
    whole, tenth = divmod(permille, 10)
    return f"{whole}%" if tenth == 0 else f"{whole}.{tenth}%"


def explain(*, status: str, reason: str | None = None, in_scope_fen: int = 0, insurance_fen: int = 0,
            serious_fen: int = 0, deductible_fen: int = 0, ratio_permille: int = 0, cap_fen: int = 0,
            used_before_fen: int = 0, raw_fen: int = 0, assistance_fen: int = 0) -> str:
    """One line a caseworker can check by hand, from the facts stored on the record, e.g.
    "(1500−900−0−0)×70% = 420，年度封顶 1000 已用 800，救助 200"."""
    if status != "assisted":
        return reason or "不符合救助条件"
    terms = f"({y(in_scope_fen)}−{y(insurance_fen)}−{y(serious_fen)}−{y(deductible_fen)})"
    if in_scope_fen - insurance_fen - serious_fen - deductible_fen <= 0:
        return f"{terms} ≤ 0，救助 0"
    return (f"{terms}×{percent(ratio_permille)} = {y(raw_fen)}，年度封顶 {y(cap_fen)} 已用 {y(used_before_fen)}，"
            f"救助 {y(assistance_fen)}")
