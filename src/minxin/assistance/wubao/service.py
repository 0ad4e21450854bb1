"""农村五保供养 (P6, P7): standards derived from rural incomes, and the centralized support rate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from minxin.assistance.statistics.service import rural_income_fen
from minxin.auth.models import User
from minxin.auth.service import Perm, require
from minxin.core.divisions import scope_prefix
from minxin.core.errors import NotFound, ValidationError
from minxin.core.money import fen_to_yuan_compact
from minxin.core.period import Period
from minxin.programs.models import Case, Standard
from minxin.programs.policy import load_policy
from minxin.programs.service import program_policy, set_standard, standard_in_force
from minxin.registry.models import Region
from minxin.registry.service import counties_for, region_path

PROGRAM = "wubao"


@dataclass(frozen=True)
class DerivedStandard:
    county: str
    name: str
    income_year: int
    rural_income_fen: int
    ratio_permille: int
    annual_fen: int

    @property
    def explanation(self) -> str:
        return (f"{self.income_year} 年农民人均纯收入 {fen_to_yuan_compact(self.rural_income_fen)} × "
                f"{self.ratio_permille / 10:g}% = {fen_to_yuan_compact(self.annual_fen)} 元/年")


def ratio_band() -> tuple[int, int, int]:
    extra = load_policy().program(PROGRAM).extra
    return (int(extra.get("ratio_min_permille", 500)), int(extra.get("ratio_max_permille", 600)),
            int(extra.get("default_ratio_permille", 550)))


def parse_ratio(text: str) -> int:
    """'0.55', '55%' or '55' → 550 ‰."""
    raw = text.strip().rstrip("%")
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError(f"比例格式不正确：{text!r}（如 0.55 或 55%） (bad ratio)", field="ratio") from None
    permille = round(value * 1000) if value <= 1 and not text.strip().endswith("%") else round(value * 10)
    return int(permille)


def derive_standards(session: Session, *, actor: User, year: int, ratio_permille: int | None = None,
                     apply: bool = True) -> list[DerivedStandard]:
    """P7: each county's annual 五保 standard for `year` = previous year's rural income × ratio (50%–60%).

    Proposes for every county; with apply=True adds the standard rows (集中 and 分散 alike,
    effective 1 January) — refused as a whole if any county lacks its statistics.
    """
    require(actor, Perm.STANDARDS_SET)
    low, high, default = ratio_band()
    ratio = default if ratio_permille is None else ratio_permille
    if not low <= ratio <= high:
        raise ValidationError(f"五保标准比例必须在 {low / 10:g}%–{high / 10:g}% 之间，不能是 {ratio / 10:g}% "
                              "(ratio outside the 50%–60% band)", field="ratio")
    counties = counties_for(session, actor)
    proposals = [DerivedStandard(county=c.code, name=c.name, income_year=year - 1,
                                 rural_income_fen=(income := rural_income_fen(session, county=c.code, year=year - 1)),
                                 ratio_permille=ratio, annual_fen=income * ratio // 1000) for c in counties]
    if apply:
        program = load_policy().program(PROGRAM)
        for p in proposals:
            for category in program.categories:
                set_standard(session, actor=actor, program=PROGRAM, region_code=p.county, amount_fen=p.annual_fen,
                             effective=date(year, 1, 1), category=category, source=p.explanation)
    return proposals


def centralized_rate(session: Session, *, user: User) -> list[dict[str, Any]]:
    """P6: active 五保 recipients per county, how many live in institutions, and the rate vs the target."""
    require(user, Perm.REGISTRY_READ)
    target = int(load_policy().program(PROGRAM).extra.get("centralized_target_permille", 700))
    county = func.substr(Case.region_code, 1, 6)
    rows = session.execute(
        select(county, func.count(), func.sum(func.cast(Case.category == "集中", type_=Case.id.type)))
        .where(Case.program_code == PROGRAM, Case.status == "active",
               Case.region_code.like(scope_prefix(user.scope_code) + "%"))
        .group_by(county).order_by(county)
    ).all()
    names = dict(session.execute(select(Region.code, Region.name).where(Region.level == "county")).all())
    out = []
    for code, total, centralized in rows:
        centralized = int(centralized or 0)
        rate = centralized * 1000 // total if total else 0
        out.append({"county": code, "name": names.get(code, code), "recipients": int(total),
                    "centralized": centralized, "dispersed": int(total) - centralized, "rate_permille": rate,
                    "target_permille": target, "meets_target": rate >= target})
    if out:
        total = sum(r["recipients"] for r in out)
        centralized_all = sum(r["centralized"] for r in out)
        rate = centralized_all * 1000 // total
        out.append({"county": "", "name": "合计", "recipients": total, "centralized": centralized_all,
                    "dispersed": total - centralized_all, "rate_permille": rate, "target_permille": target,
                    "meets_target": rate >= target})
    return out


# ---- reads for the pages -------------------------------------------------------------------------------

@dataclass(frozen=True)
class StandardRow:
    """A county's standard in force for one category (集中 / 分散), with how it was set."""

    county: str
    county_name: str
    category: str
    annual_fen: int | None
    effective: date | None = None
    source: str = ""
    inherited_from: str | None = None  # the region whose standard applies, when not the county's own

    @property
    def monthly_fen(self) -> int | None:
        """What a month pays: the annual standard ÷ 12 in whole fen, as the payment cycle computes it."""
        return None if self.annual_fen is None else self.annual_fen // 12


def standards_in_force_by_county(session: Session, *, user: User, period: Period) -> list[StandardRow]:
    """The 五保 standard in force in `period` per category for each county the user's scope covers or lies in."""
    require(user, Perm.REGISTRY_READ)
    counties = counties_for(session, user)
    rows = []
    names = {c.code: c.name for c in counties}
    for county in counties:
        for category in program_policy(PROGRAM).categories:
            try:
                found = standard_in_force(session, program=PROGRAM, region_code=county.code, period=period,
                                          category=category)
            except NotFound:
                rows.append(StandardRow(county.code, county.name, category, None))
                continue
            std = session.get(Standard, found.id)
            source = std.source if std is not None and std.source != "manual" else ""
            inherited = None
            if found.region_code != county.code:
                inherited = names.get(found.region_code) or region_path(session, found.region_code) or found.region_code
            rows.append(StandardRow(county.code, county.name, category, found.amount_fen, found.effective_from,
                                    source, inherited))
    return rows
