"""农民人均纯收入 per county and year: read (the figure entered in the web, else the policy file's), entered
and corrected by county and city staff, each change audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from minxin.assistance.statistics.models import FIRST_YEAR, LAST_YEAR, RuralIncome
from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import Perm, display_names, require
from minxin.core._text import optional_text
from minxin.core.divisions import covers
from minxin.core.errors import NotFound, ValidationError
from minxin.core.money import parse_yuan
from minxin.infra.db import utcnow
from minxin.programs.policy import load_policy
from minxin.registry.models import Region
from minxin.registry.service import counties_for

MAX_INCOME_FEN = 10_000_000 * 100  # ten million yuan a year: far above any county's per-capita income


def _policy_table() -> dict[str, Any]:
    table: dict[str, Any] = load_policy().section("statistics").get("rural_net_income", {})
    return table


def _policy_fen(county: str, year: int) -> int | None:
    by_year = _policy_table().get(county)
    if not isinstance(by_year, dict) or by_year.get(str(year)) is None:
        return None
    return parse_yuan(str(by_year[str(year)]), field="statistics")


def parse_year(text: str | int) -> int:
    """A statistics year: four digits, 1978–2100."""
    value = str(text).strip()
    if not (value.isdigit() and len(value) == 4 and FIRST_YEAR <= int(value) <= LAST_YEAR):
        raise ValidationError(f"年份应为 {FIRST_YEAR}–{LAST_YEAR} 之间的四位数字，而不是“{value[:10]}” (bad year)",
                              field="year")
    return int(value)


def parse_income(text: str) -> int:
    """An income in yuan (at most two decimals) as integer fen, positive and below ten million yuan."""
    value = text.strip().replace(",", "").replace("，", "")
    if not value:
        raise ValidationError("请填写农民人均纯收入（元） (amount required)", field="amount")
    fen = parse_yuan(value, field="amount")
    if fen <= 0:
        raise ValidationError("农民人均纯收入必须大于 0 (amount must be positive)", field="amount")
    if fen > MAX_INCOME_FEN:
        raise ValidationError("农民人均纯收入不能超过 1000 万元 (amount too large)", field="amount")
    return fen


def rural_income_fen(session: Session, *, county: str, year: int) -> int:
    """A county's rural per-capita net income of a year: as entered in the web, else from the policy file."""
    row = session.execute(select(RuralIncome.amount_fen).where(RuralIncome.county_code == county,
                                                                RuralIncome.year == year)).scalar_one_or_none()
    if row is not None:
        return int(row)
    fen = _policy_fen(county, year)
    if fen is None:
        name = session.execute(select(Region.name).where(Region.code == county)).scalar_one_or_none() or county
        raise ValidationError(f"缺少{name}（{county}）{year} 年的农民人均纯收入，请先在“统计数据”页录入 "
                              f"(no {year} figure for {county})", field="statistics")
    return fen


@dataclass(frozen=True)
class Figure:
    """One county's figure of one year and where it comes from (entered in the web, or the policy file)."""

    amount_fen: int
    entered: bool  # False: the policy file's (unverified) figure
    updated_by: str = ""
    updated_at: datetime | None = None
    source: str = ""


@dataclass(frozen=True)
class IncomeTable:
    counties: list[Region]
    years: list[int]  # newest first
    figures: dict[tuple[str, int], Figure]
    policy_verified: bool

    def latest_year(self) -> int | None:
        return self.years[0] if self.years else None


def rural_income_table(session: Session, *, user: User) -> IncomeTable:
    """Every figure of the counties the user's scope covers or lies in, the policy file's included."""
    require(user, Perm.REGISTRY_READ)
    counties = counties_for(session, user)
    codes = [c.code for c in counties]
    figures: dict[tuple[str, int], Figure] = {}
    table = _policy_table()
    for code in codes:
        by_year = table.get(code)
        if isinstance(by_year, dict):
            for y, value in by_year.items():
                if str(y).isdigit():
                    figures[(code, int(y))] = Figure(parse_yuan(str(value), field="statistics"), entered=False)
    rows = list(session.execute(select(RuralIncome).where(RuralIncome.county_code.in_(codes))).scalars())
    names = display_names(session, {r.updated_by for r in rows})
    for r in rows:
        figures[(r.county_code, r.year)] = Figure(r.amount_fen, entered=True,
                                                   updated_by=names.get(r.updated_by) or r.updated_by,
                                                   updated_at=r.updated_at, source=r.source or "")
    years = sorted({y for _, y in figures}, reverse=True)
    return IncomeTable(counties=counties, years=years, figures=figures,
                       policy_verified=bool(table.get("verified", True)))


def set_rural_income(session: Session, *, actor: User, county: str, year: int | str, amount: str,
                     source: str | None = None) -> RuralIncome:
    """Enter or correct a county's figure of a year (county staff their county, the city every county);
    audited with the figure before."""
    require(actor, Perm.STANDARDS_SET)
    county = county.strip()
    if not (county.isdigit() and len(county) == 6):
        raise ValidationError("请选择县区 (choose a county)", field="county")
    if county not in {c.code for c in counties_for(session, actor)} or not covers(actor.scope_code, county):
        raise NotFound("县区不存在或不在您的辖区内 (county outside your scope)", field="county")
    number = parse_year(year)
    fen = parse_income(amount)
    note = optional_text(source, label="数据来源", max_length=200, field="source")
    row = session.execute(select(RuralIncome).where(RuralIncome.county_code == county, RuralIncome.year == number)
                          ).scalar_one_or_none()
    before = row.amount_fen if row is not None else _policy_fen(county, number)
    if row is None:
        row = RuralIncome(county_code=county, year=number, amount_fen=fen, source=note, updated_by=actor.username)
        session.add(row)
    else:
        row.amount_fen, row.source, row.updated_by, row.updated_at = fen, note, actor.username, utcnow()
    session.flush()
    audit.record(session, actor=actor.username, action="statistics.rural_income", entity="rural_income",
                 entity_id=f"{county}-{number}", region_code=county,
                 detail={"year": number, "amount_fen": fen, "before_fen": before, "source": note})
    return row
