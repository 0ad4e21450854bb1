"""Premium subsidies 参保参合 (P3): the yearly roster of every 低保 member and 五保 person whose
individual medical-insurance premium the city pays in full, for the insurance agency.

One set-based query builds the roster: people covered in any month of the year, the scheme by
户籍 (城镇居民医保 or 新农合), and the premium from the policy file, pro rata by months covered or for
the whole year as the policy says.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import Perm, require
from minxin.core.divisions import scope_prefix
from minxin.core.errors import ValidationError
from minxin.core.money import format_yuan, parse_yuan
from minxin.kit.tabular import write_csv, write_xlsx
from minxin.programs.policy import load_policy
from minxin.regions import community_labels

ROSTER_HEADERS = ["姓名", "身份证号", "险种", "户籍类别", "保障类别", "社区代码", "社区", "覆盖月数", "代缴金额(元)"]


@dataclass(frozen=True)
class Scheme:
    scheme: str
    hukou: str
    amount_fen: int
    effective: date


@dataclass
class RosterSummary:
    year: int
    proration: str
    people: int = 0
    total_fen: int = 0
    by_scheme: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"year": self.year, "proration": self.proration, "people": self.people, "total_fen": self.total_fen,
                "by_scheme": self.by_scheme}


def premium_policy(year: int) -> tuple[str, dict[str, Scheme]]:
    """(proration, scheme per 户籍类别) in force for the year: the latest row effective by 31 December."""
    section = load_policy().section("premiums")
    proration = str(section.get("proration", "monthly"))
    if proration not in ("monthly", "whole_year"):
        raise ValidationError(f"premiums.proration 必须是 monthly 或 whole_year，而不是 {proration!r}")
    schemes: dict[str, Scheme] = {}
    for raw in sorted(section.get("schemes", []), key=lambda r: str(r.get("effective"))):
        effective = date.fromisoformat(str(raw["effective"]))
        if effective <= date(year, 12, 31):
            schemes[str(raw["hukou"])] = Scheme(scheme=str(raw["scheme"]), hukou=str(raw["hukou"]),
                                                amount_fen=parse_yuan(str(raw["amount_yuan"])), effective=effective)
    missing = {"城镇", "农村"} - set(schemes)
    if missing:
        raise ValidationError(f"政策文件没有 {year} 年适用的{'、'.join(sorted(missing))}保费标准 (no premium in force)")
    return proration, schemes


_MONTH = "(CAST(substr({p}, 1, 4) AS INTEGER) * 12 + CAST(substr({p}, 6, 2) AS INTEGER))"


def _roster_sql() -> str:
    start = _MONTH.format(p="CASE WHEN c.start_period > :first THEN c.start_period ELSE :first END")
    end = _MONTH.format(p="CASE WHEN c.end_period IS NULL OR c.end_period > :last THEN :last ELSE c.end_period END")
    covered = ("c.start_period IS NOT NULL AND c.start_period <= :last AND (c.end_period IS NULL OR "
               "c.end_period >= :first) AND c.status IN ('active', 'suspended', 'terminated') AND "
               "c.region_code LIKE :scope")
    return f"""
SELECT pe.name, pe.id_number, h.hukou_type, MIN(x.program), pe.region_code, MAX(x.months)
FROM (
  SELECT pe.id AS person_id, '低保' AS program, {end} - {start} + 1 AS months
  FROM cases c JOIN persons pe ON pe.household_id = c.household_id
  WHERE c.program_code = 'dibao' AND {covered}
  UNION ALL
  SELECT c.person_id AS person_id, '五保' AS program, {end} - {start} + 1 AS months
  FROM cases c
  WHERE c.program_code = 'wubao' AND {covered}
) x
JOIN persons pe ON pe.id = x.person_id
JOIN households h ON h.id = pe.household_id
GROUP BY pe.id, pe.name, pe.id_number, h.hukou_type, pe.region_code
ORDER BY pe.region_code, pe.id
"""


def roster_rows(session: Session, *, user: User, year: int, summary: RosterSummary) -> Iterator[list[Any]]:
    """Stream the roster, one row per person (a person in both programs appears once)."""
    require(user, Perm.REGISTRY_READ)
    proration, schemes = premium_policy(year)
    params = {"first": f"{year}-01", "last": f"{year}-12", "scope": scope_prefix(user.scope_code) + "%"}
    communities = community_labels(session, scope_prefix(user.scope_code))
    result = session.execute(text(_roster_sql()).execution_options(yield_per=20000), params)
    for name, id_number, hukou, program, region, months in result:
        scheme = schemes[hukou]
        months = int(months)
        fee = scheme.amount_fen if proration == "whole_year" else scheme.amount_fen * months // 12
        summary.people += 1
        summary.total_fen += fee
        bucket = summary.by_scheme.setdefault(scheme.scheme, {"people": 0, "total_fen": 0})
        bucket["people"] += 1
        bucket["total_fen"] += fee
        yield [name, id_number, scheme.scheme, hukou, program, region, communities.get(region, ""), months,
               format_yuan(fee)]


def export_roster(session: Session, *, user: User, year: int, target: Path | io.BytesIO,
                  fmt: str = "xlsx") -> RosterSummary:
    """Write the roster (xlsx or UTF-8 CSV) for the insurance agency; the export is audited."""
    require(user, Perm.REGISTRY_READ)
    require(user, Perm.PII_VIEW)
    if not 2000 <= year <= 2100:
        raise ValidationError("年份不正确 (bad year)", field="year")
    if fmt not in ("xlsx", "csv"):
        raise ValidationError("格式必须是 xlsx 或 csv", field="format")
    proration, _ = premium_policy(year)
    summary = RosterSummary(year=year, proration=proration)
    rows = roster_rows(session, user=user, year=year, summary=summary)
    if fmt == "xlsx":
        write_xlsx(target, ROSTER_HEADERS, rows, sheet=f"{year}参保参合代缴名册",
                   widths={"身份证号": 22, "险种": 22, "社区代码": 16})
    else:
        write_csv(target, ROSTER_HEADERS, rows)
    audit.record(session, actor=user.username, action="premium.roster", entity="roster", entity_id=str(year),
                 region_code=user.scope_code, detail=summary.as_json())
    return summary
