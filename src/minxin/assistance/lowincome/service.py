"""低收入居民倍增计划 (plan P1): how the income of low-income households moves toward doubling.

The cohort is fixed at the base year: a household is low-income when its per-capita monthly income at
its latest declaration on or before 31 December of the base year lies below the line (by default
1.5 × the 低保 standard of its county and hukou category in force that December, or one line given
for all). For that cohort, per county, the report compares per-capita income (total household income
over total persons) at the latest declaration on or before the end of each year, the growth, the
even path to doubling by the horizon and the yearly growth still needed. Households that made no
declaration during the report year are counted as stale: their figure is carried from an older one.

Persons are today's household members (membership is not kept with dates). The work is a few
set-based statements: a window function picks each household's latest declaration per cut-off date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Date, Subquery, and_, case, func, literal, select
from sqlalchemy.orm import Session

from minxin.assistance.lowincome.rules import (
    DEFAULT_HORIZON,
    default_line,
    growth_pct,
    on_path_fen,
    per_capita,
    progress_pct,
    required_annual_pct,
)
from minxin.auth.models import User
from minxin.auth.service import Perm, require
from minxin.core.divisions import ancestors, scope_prefix
from minxin.core.errors import NotFound, ValidationError
from minxin.core.money import format_yuan
from minxin.core.period import Period
from minxin.programs.models import Standard
from minxin.programs.service import standard_in_force
from minxin.registry.models import HUKOU_TYPES, Household, IncomeDeclaration, Person, Region
from minxin.registry.service import counties_for

STATUS_NAMES = {"doubled": "已翻番", "on_track": "按计划推进", "behind": "落后于计划", "none": "无数据"}


@dataclass(frozen=True)
class Line:
    """The low-income line (per person per month) of one county and hukou category, and where it came from."""

    category: str
    fen: int | None
    source: str  # "explicit", "standard", "earliest_standard", "missing"
    note: str = ""


@dataclass
class CountyIncome:
    county_code: str
    name: str
    base_year: int
    year: int
    horizon: int
    lines: list[Line] = field(default_factory=list)
    households: int = 0
    persons: int = 0
    base_income_fen: int = 0  # sum of the cohort's monthly household incomes at the base year's end
    year_income_fen: int = 0  # … and at the report year's end
    stale: int = 0  # cohort households with no declaration during the report year

    @property
    def base_per_capita_fen(self) -> int:
        return per_capita(self.base_income_fen, self.persons)

    @property
    def year_per_capita_fen(self) -> int:
        return per_capita(self.year_income_fen, self.persons)

    @property
    def growth_pct(self) -> float | None:
        return growth_pct(self.base_income_fen, self.year_income_fen) if self.households else None

    @property
    def progress_pct(self) -> float | None:
        return progress_pct(self.base_income_fen, self.year_income_fen) if self.households else None

    @property
    def target_fen(self) -> int:
        return 2 * self.base_per_capita_fen

    @property
    def on_path_fen(self) -> int:
        return on_path_fen(self.base_per_capita_fen, base_year=self.base_year, year=self.year, horizon=self.horizon)

    @property
    def required_annual_pct(self) -> float | None:
        if not self.households:
            return None
        return required_annual_pct(self.year_per_capita_fen, self.target_fen, year=self.year, horizon=self.horizon)

    @property
    def status(self) -> str:
        if not self.households or self.base_per_capita_fen <= 0:
            return "none"
        if self.year_per_capita_fen >= self.target_fen:
            return "doubled"
        return "on_track" if self.year_per_capita_fen >= self.on_path_fen else "behind"

    def as_json(self) -> dict[str, Any]:
        return {
            "county_code": self.county_code, "name": self.name, "households": self.households,
            "persons": self.persons, "base_per_capita_fen": self.base_per_capita_fen,
            "year_per_capita_fen": self.year_per_capita_fen, "growth_pct": self.growth_pct,
            "progress_pct": self.progress_pct, "target_fen": self.target_fen, "on_path_fen": self.on_path_fen,
            "required_annual_pct": self.required_annual_pct, "status": self.status, "stale": self.stale,
            "lines": [{"category": ln.category, "line_fen": ln.fen, "source": ln.source} for ln in self.lines],
        }


@dataclass
class IncomeGrowthReport:
    base_year: int
    year: int
    horizon: int
    line_fen: int | None  # the explicit line, if one was given
    counties: list[CountyIncome]
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> CountyIncome:
        t = CountyIncome(county_code="", name="合计", base_year=self.base_year, year=self.year, horizon=self.horizon)
        for c in self.counties:
            t.households += c.households
            t.persons += c.persons
            t.base_income_fen += c.base_income_fen
            t.year_income_fen += c.year_income_fen
            t.stale += c.stale
        return t

    def as_json(self) -> dict[str, Any]:
        return {"base_year": self.base_year, "year": self.year, "horizon": self.horizon,
                "line_fen": self.line_fen, "counties": [c.as_json() for c in self.counties],
                "total": self.total.as_json(), "notes": self.notes}


# ---- the line ----------------------------------------------------------------------------------------

def _dibao_line(session: Session, county: Region, category: str, base_year: int) -> Line:
    """1.5 × the 低保 standard in force in December of the base year; if none was in force yet, the
    earliest standard on record (said so in the note); if there is none at all, no line."""
    period = Period(base_year, 12)
    try:
        std = standard_in_force(session, program="dibao", region_code=county.code, period=period, category=category)
        return Line(category, default_line(std.amount_fen), "standard")
    except NotFound:
        pass
    chain = [county.code, *ancestors(county.code)]
    first = session.execute(
        select(func.min(Standard.effective_from))
        .where(Standard.program_code == "dibao", Standard.category == category, Standard.region_code.in_(chain))
    ).scalar()
    if first is None:
        return Line(category, None, "missing", f"{category}：没有低保标准，无法确定低收入线，请指定低收入线")
    std = standard_in_force(session, program="dibao", region_code=county.code, period=Period.of(first),
                            category=category)
    return Line(category, default_line(std.amount_fen), "earliest_standard",
                f"{category}：{period} 尚无低保标准，按最早的标准（{std.effective_from.isoformat()} 起 "
                f"{format_yuan(std.amount_fen)} 元）计算")


def _lines(session: Session, counties: list[Region], base_year: int, explicit_fen: int | None) -> dict[str, list[Line]]:
    if explicit_fen is not None:
        return {c.code: [Line(cat, explicit_fen, "explicit") for cat in HUKOU_TYPES] for c in counties}
    try:
        return {c.code: [_dibao_line(session, c, cat, base_year) for cat in HUKOU_TYPES] for c in counties}
    except ValidationError as exc:  # no 低保 program configured
        raise ValidationError(f"无法按低保标准确定低收入线：{exc.message}；请指定低收入线 (give an explicit line)",
                              field="低收入线") from exc


# ---- the report --------------------------------------------------------------------------------------

def _latest_on_or_before(cutoff: date, households: Any, name: str) -> Subquery:
    """Each household's latest declaration on or before `cutoff` (ties: the later-recorded one)."""
    d = IncomeDeclaration
    rn = func.row_number().over(partition_by=d.household_id, order_by=(d.declared_on.desc(), d.id.desc()))
    ranked = (select(d.household_id.label("household_id"), d.monthly_income_fen.label("income"),
                     d.declared_on.label("declared_on"), rn.label("rn"))
              .where(d.declared_on <= literal(cutoff, Date), d.household_id.in_(households))
              .subquery(f"{name}_ranked"))
    return (select(ranked.c.household_id, ranked.c.income, ranked.c.declared_on)
            .where(ranked.c.rn == 1).subquery(name))


def declaration_years(session: Session, *, user: User) -> tuple[int | None, int | None]:
    """The first and the latest year with an income declaration in the user's scope ((None, None) if none)."""
    require(user, Perm.REGISTRY_READ)
    in_scope = select(Household.id).where(Household.region_code.like(scope_prefix(user.scope_code) + "%"))
    first, last = session.execute(
        select(func.min(IncomeDeclaration.declared_on), func.max(IncomeDeclaration.declared_on))
        .where(IncomeDeclaration.household_id.in_(in_scope))).one()
    return (first.year if first else None), (last.year if last else None)


def income_growth_report(session: Session, *, user: User, base_year: int, year: int,
                         low_income_line_fen: int | None = None, horizon: int = DEFAULT_HORIZON) -> IncomeGrowthReport:
    """Per county in scope: the base-year low-income cohort's per-capita income then and in `year`,
    growth, progress to doubling by `horizon`, the yearly growth still needed, and stale households."""
    require(user, Perm.REGISTRY_READ)
    for label, y in (("基准年", base_year), ("统计年", year), ("目标年", horizon)):
        if not 1900 <= y <= 2200:
            raise ValidationError(f"{label} {y} 超出范围 (year out of range)", field=label)
    if year < base_year:
        raise ValidationError(f"统计年 {year} 不能早于基准年 {base_year} (year before the base year)", field="统计年")
    if horizon <= base_year:
        raise ValidationError(f"目标年 {horizon} 必须晚于基准年 {base_year} (horizon not after the base year)",
                              field="目标年")
    if low_income_line_fen is not None and low_income_line_fen <= 0:
        raise ValidationError("低收入线必须大于 0 (the line must be positive)", field="低收入线")

    counties = counties_for(session, user)  # a town officer sees their own county's row
    lines = _lines(session, counties, base_year, low_income_line_fen)
    rows = {c.code: CountyIncome(county_code=c.code, name=c.name, base_year=base_year, year=year, horizon=horizon,
                                 lines=lines[c.code]) for c in counties}
    # One note per distinct situation, naming the counties it applies to.
    by_note: dict[str, list[str]] = {}
    for c in counties:
        for ln in lines[c.code]:
            if ln.note:
                by_note.setdefault(ln.note, []).append(c.name)
    notes = [f"{'、'.join(names)} {note}" for note, names in by_note.items()]
    report = IncomeGrowthReport(base_year=base_year, year=year, horizon=horizon, line_fen=low_income_line_fen,
                                counties=list(rows.values()), notes=notes)
    if not counties:
        return report

    prefix = scope_prefix(user.scope_code)
    in_scope = select(Household.id).where(Household.region_code.like(prefix + "%"))
    base = _latest_on_or_before(date(base_year, 12, 31), in_scope, "base")
    now = _latest_on_or_before(date(year, 12, 31), in_scope, "now")
    members = (select(Person.household_id.label("household_id"), func.count().label("n"))
               .where(Person.household_id.is_not(None)).group_by(Person.household_id).subquery("members"))
    county = func.substr(Household.region_code, 1, 6)
    whens = [(and_(county == code, Household.hukou_type == ln.category), literal(ln.fen, BigInteger))
             for code, county_lines in lines.items() for ln in county_lines if ln.fen is not None]
    if not whens:
        return report
    line = case(*whens, else_=None)
    stmt = (
        select(county, func.count(), func.sum(members.c.n), func.sum(base.c.income), func.sum(now.c.income),
               func.sum(case((now.c.declared_on < literal(date(year, 1, 1), Date), 1), else_=0)))
        .select_from(Household)
        .join(members, members.c.household_id == Household.id)
        .join(base, base.c.household_id == Household.id)
        .join(now, now.c.household_id == Household.id)
        .where(Household.region_code.like(prefix + "%"))
        # per-capita income below the line, without division: income < line × persons
        .where(base.c.income < line * members.c.n)
        .group_by(county)
    )
    for code, n, persons, base_sum, now_sum, stale in session.execute(stmt):
        row = rows.get(code)
        if row is None:
            continue
        row.households, row.persons = int(n), int(persons)
        row.base_income_fen, row.year_income_fen, row.stale = int(base_sum), int(now_sum), int(stale or 0)
    return report


def report_table(report: IncomeGrowthReport) -> tuple[list[str], list[list[Any]]]:
    """The report as spreadsheet headers and rows (yuan as numbers, percentages as numbers)."""
    from decimal import Decimal

    headers = ["县区代码", "县区", "低收入户数", "人口", f"{report.base_year}年人均月收入(元)",
               f"{report.year}年人均月收入(元)", "增长(%)", "翻番进度(%)", f"{report.horizon}年翻番目标(元)",
               f"{report.year}年计划路径(元)", "尚需年均增长(%)", "状态", f"{report.year}年未申报户数", "低收入线"]

    def line_text(c: CountyIncome) -> str:
        return "；".join(f"{ln.category} {format_yuan(ln.fen)}" if ln.fen is not None else f"{ln.category} 无"
                        for ln in c.lines)

    out: list[list[Any]] = []
    for c in [*report.counties, report.total]:
        out.append([c.county_code, c.name, c.households, c.persons, Decimal(format_yuan(c.base_per_capita_fen)),
                    Decimal(format_yuan(c.year_per_capita_fen)), c.growth_pct, c.progress_pct,
                    Decimal(format_yuan(c.target_fen)), Decimal(format_yuan(c.on_path_fen)), c.required_annual_pct,
                    STATUS_NAMES[c.status], c.stale, line_text(c) if c.county_code else ""])
    return headers, out

