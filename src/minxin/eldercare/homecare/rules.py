"""Pure rules of government-purchased home care (政府购买居家养老服务, plan P18).

Who receives purchased services free, how much a month, what an order is worth and what a provider is
paid: no database and no web here. The rules are data in the policy file's `[homecare]` table (a city
default, each county may override what it names); `homecare_policy` checks that table once.

- **Eligibility**: a person is eligible when any group of their county matches; a group matches when
  every condition it names holds (an active case in one of `programs`, age ≥ `min_age` from the ID
  number on the day, `living` arrangement, assessed `care_levels`). The reason shown is the names of
  the groups matched (DOMAIN §5: 三无/五保, 低保, the disabled poor, the very old …).
- **Entitlement**: a monthly voucher value in fen by the person's assessment level; an unassessed
  person counts at `unassessed_level`.
- **Order value**: minutes × the county's hourly price, rounded to the fen (half up).
- **Settlement**: a provider is paid, per month, the value of its finished orders of that month or
  earlier not paid by an approved cycle (`settlement_fen`; the calculator's SQL is held to it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from minxin.core.errors import ValidationError
from minxin.core.money import fen_to_yuan_compact as y
from minxin.core.money import parse_yuan

CARE_LEVELS = ("能力完好", "轻度失能", "中度失能", "重度失能")
LIVING = ("独居", "空巢", "与家人同住")
RULE = "homecare"
MAX_MINUTES = 24 * 60  # one order is at most a day's service
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_COUNTY = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class Group:
    """One eligibility group (服务对象类别): every condition it names must hold."""

    code: str
    name: str
    programs: tuple[str, ...] = ()
    min_age: int | None = None
    living: tuple[str, ...] = ()
    care_levels: tuple[str, ...] = ()


@dataclass(frozen=True)
class HomecarePolicy:
    """A county's home-care rules (the city default with the county's overrides)."""

    hour_price_fen: int
    entitlement_fen: Mapping[str, int]
    unassessed_level: str
    groups: tuple[Group, ...]


@dataclass(frozen=True)
class Facts:
    """What eligibility reads of one elderly person on one day."""

    birth: date
    living: str | None
    care_level: str | None
    programs: frozenset[str]  # programs with an active case covering the person (own or household's)


def _bad(where: str, msg: str) -> ValidationError:
    return ValidationError(f"政策文件 [{where}] {msg} (bad homecare policy)")


def _strs(raw: Any, where: str, name: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise _bad(where, f"{name} 应为字符串列表")
    if allowed is not None and any(v not in allowed for v in raw):
        raise _bad(where, f"{name} 只能是 {'、'.join(allowed)}")
    return tuple(raw)


def _group(raw: Any, where: str) -> Group:
    if not isinstance(raw, dict):
        raise _bad(where, "groups 的每一项应为表")
    code, name = raw.get("code"), raw.get("name")
    if not isinstance(code, str) or not _CODE.match(code) or not isinstance(name, str) or not name.strip():
        raise _bad(where, f"groups 项需要 code（小写字母）和 name：{raw!r}")
    min_age = raw.get("min_age")
    if min_age is not None and (not isinstance(min_age, int) or isinstance(min_age, bool) or not 0 <= min_age <= 150):
        raise _bad(where, f"{code}.min_age 应为 0–150 的整数")
    group = Group(code=code, name=name.strip(), programs=_strs(raw.get("programs"), where, f"{code}.programs"),
                  min_age=min_age, living=_strs(raw.get("living"), where, f"{code}.living", LIVING),
                  care_levels=_strs(raw.get("care_levels"), where, f"{code}.care_levels", CARE_LEVELS))
    unknown = set(raw) - {"code", "name", "programs", "min_age", "living", "care_levels"}
    if unknown:
        raise _bad(where, f"{code} 有未知条件 {', '.join(sorted(unknown))}")
    if not (group.programs or group.min_age is not None or group.living or group.care_levels):
        raise _bad(where, f"{code} 没有任何条件（会让所有人都符合）")
    return group


def _layer(base: HomecarePolicy | None, raw: Mapping[str, Any], where: str) -> HomecarePolicy:
    """`raw` over `base`: what it names replaces the base's (groups as a whole, entitlement per level)."""
    price = base.hour_price_fen if base else None
    if "hour_price_yuan" in raw:
        try:
            price = parse_yuan(str(raw["hour_price_yuan"]))
        except ValidationError as exc:
            raise _bad(where, f"hour_price_yuan: {exc.message}") from exc
    if price is None or price <= 0:
        raise _bad(where, "hour_price_yuan 应为正数")
    levels = dict(base.entitlement_fen) if base else {}
    ent = raw.get("entitlement_yuan", {})
    if not isinstance(ent, dict):
        raise _bad(where, "entitlement_yuan 应为表")
    for level, amount in ent.items():
        if level not in CARE_LEVELS:
            raise _bad(where, f"entitlement_yuan 的等级只能是 {'、'.join(CARE_LEVELS)}")
        try:
            levels[level] = parse_yuan(str(amount))
        except ValidationError as exc:
            raise _bad(where, f"entitlement_yuan.{level}: {exc.message}") from exc
        if levels[level] < 0:
            raise _bad(where, f"entitlement_yuan.{level} 不能为负")
    if set(levels) != set(CARE_LEVELS):
        raise _bad(where, f"entitlement_yuan 须给出每个等级：{'、'.join(CARE_LEVELS)}")
    unassessed = raw.get("unassessed_level", base.unassessed_level if base else "能力完好")
    if unassessed not in CARE_LEVELS:
        raise _bad(where, "unassessed_level 只能是评估等级之一")
    if "groups" in raw:
        if not isinstance(raw["groups"], list):
            raise _bad(where, "groups 应为表的数组")
        groups = tuple(_group(g, where) for g in raw["groups"])
        if len({g.code for g in groups}) != len(groups):
            raise _bad(where, "groups 的 code 重复")
    elif base is not None:
        groups = base.groups
    else:
        raise _bad(where, "缺少 groups")
    return HomecarePolicy(hour_price_fen=price, entitlement_fen=levels, unassessed_level=unassessed, groups=groups)


def homecare_policy(raw: Mapping[str, Any], county: str | None = None) -> HomecarePolicy:
    """The `[homecare]` table of the policy file for a county (None: the city default), checked whole."""
    if not raw:
        raise _bad("homecare", "缺少 [homecare] 表")
    city = _layer(None, raw, "homecare")
    counties = raw.get("counties", {})
    if not isinstance(counties, dict) or any(not _COUNTY.match(str(k)) or not isinstance(v, dict)
                                             for k, v in counties.items()):
        raise _bad("homecare.counties", "应为 县区代码 = 表")
    checked = {str(code): _layer(city, v, f"homecare.counties.{code}") for code, v in counties.items()}
    return checked.get(county or "", city)


def birth_from_id(id_number: str, fallback: date) -> date:
    """The birth date written in an 18-digit ID number (positions 7–14, GB 11643); the stored one otherwise."""
    if len(id_number) == 18 and id_number[6:14].isdigit():
        try:
            return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
        except ValueError:
            pass
    return fallback


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def matches(group: Group, facts: Facts, day: date) -> bool:
    if group.programs and not facts.programs & set(group.programs):
        return False
    if group.min_age is not None and age_on(facts.birth, day) < group.min_age:
        return False
    if group.living and facts.living not in group.living:
        return False
    return not (group.care_levels and facts.care_level not in group.care_levels)


def eligible_groups(policy: HomecarePolicy, facts: Facts, day: date) -> list[Group]:
    """The groups the person belongs to on `day` (empty: not eligible)."""
    return [g for g in policy.groups if matches(g, facts, day)]


def monthly_entitlement_fen(policy: HomecarePolicy, care_level: str | None) -> int:
    """The month's voucher value by assessment level (an unassessed person counts at `unassessed_level`)."""
    return policy.entitlement_fen[care_level if care_level in CARE_LEVELS else policy.unassessed_level]


def order_value_fen(minutes: int, hour_price_fen: int) -> int:
    """Minutes × the hourly price, to the fen (half up). 90 min at 20 元/h = 30 元."""
    if minutes <= 0 or minutes > MAX_MINUTES:
        raise ValidationError(f"服务时长应为 1–{MAX_MINUTES} 分钟 (minutes out of range)", field="minutes")
    return (minutes * hour_price_fen * 2 + 60) // 120


def refusal(*, used_fen: int, value_fen: int, limit_fen: int) -> str | None:
    """Why an order of `value_fen` cannot be drawn on a month with `used_fen` of `limit_fen` used (None: it can)."""
    if used_fen + value_fen <= limit_fen:
        return None
    left = max(0, limit_fen - used_fen)
    return (f"超出本月服务额度：额度 {y(limit_fen)} 元，已用 {y(used_fen)} 元，剩余 {y(left)} 元，"
            f"本单 {y(value_fen)} 元 (beyond the monthly entitlement)")


@dataclass(frozen=True)
class OrderFacts:
    """What a settlement reads of one order."""

    period: str | None
    status: str
    value_fen: int
    settled_cycle_id: int | None


def payable(order: OrderFacts, period: str, draft_cycle_id: int | None) -> bool:
    """Paid in `period`'s settlement: finished, of that month or earlier, not held by another cycle (a draft
    of this month is recomputed, so what it took counts again)."""
    return (order.status == "finished" and order.value_fen > 0 and order.period is not None
            and order.period <= period
            and (order.settled_cycle_id is None or order.settled_cycle_id == draft_cycle_id))


def settlement(orders: Iterable[OrderFacts], period: str, draft_cycle_id: int | None = None, *,
               contracted: bool = True) -> tuple[int, int]:
    """(orders paid, their total in fen) of one provider's month; nothing while its case is not active (a
    stopped provider's orders wait for it to be active again)."""
    if not contracted:
        return 0, 0
    paid = [o.value_fen for o in orders if payable(o, period, draft_cycle_id)]
    return len(paid), sum(paid)


def explain(count: int, amount_fen: int) -> str:
    """`完成服务单 12 单，合计 = 360`: what the provider is paid and for how many orders."""
    return f"完成服务单 {count} 单，合计"
