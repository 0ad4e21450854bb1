"""Payment cycles: compute a program's month set-based, approve, export the bank file, reconcile.

A cycle is computed in a handful of SQL statements over all active cases (INSERT … SELECT), never
a Python loop per case, so a million cases take seconds. Everything a cycle run writes happens in
the caller's single transaction: a run killed halfway leaves the whole cycle or none of it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Date, bindparam, func, select, text
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import Perm, require
from minxin.core.divisions import covers
from minxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from minxin.core.masking import mask_name
from minxin.core.money import format_yuan, parse_yuan
from minxin.core.period import Period
from minxin.db import is_sqlite, utcnow
from minxin.programs.models import Cycle, Payment, Program, Standard
from minxin.programs.policy import ProgramPolicy
from minxin.programs.rules import explain
from minxin.programs.service import get_program, program_policy
from minxin.registry.models import Region
from minxin.settings import get_settings
from minxin.tabular import RowError, cell_text, read_table, require_headers, write_xlsx

Progress = Callable[[str, int, int], None]

# A scratch table holding the standard in force for each (community, category) of one period.
_STD_DDL = """
CREATE TEMPORARY TABLE IF NOT EXISTS mx_std (
    region_code VARCHAR(12) NOT NULL,
    category VARCHAR(16) NOT NULL,
    standard_fen BIGINT NOT NULL,
    standard_id INTEGER NOT NULL,
    min_pp_fen BIGINT NOT NULL,
    a_elderly BIGINT NOT NULL,
    a_minor BIGINT NOT NULL,
    a_disabled BIGINT NOT NULL,
    a_ill BIGINT NOT NULL,
    PRIMARY KEY (region_code, category)
)
"""

_PAYMENT_COLUMNS = ("cycle_id, case_id, kind, for_period, region_code, amount_fen, rule, standard_fen, "
                    "standard_id, income_fen, members, addon_fen, n_elderly, n_minor, n_disabled, n_ill, "
                    "paid_before_fen, carried_from_id, status")


def _dibao_terms(*, sanwu: str, m: str, inc: str, ne: str, nm: str, nd: str, ni: str) -> tuple[str, str, str]:
    """The 低保 rule (programs.rules.dibao_entitlement) as SQL: (base, rule, add-ons) expressions.

    Integer division of non-negative integers floors on SQLite and PostgreSQL alike, exactly as
    `per_capita_income` does in Python.
    """
    gap = f"(s.standard_fen - {inc} / {m})"
    base = (f"CASE WHEN {sanwu} THEN s.standard_fen * {m} WHEN {gap} <= 0 THEN 0 "
            f"WHEN {gap} < s.min_pp_fen THEN s.min_pp_fen * {m} ELSE {gap} * {m} END")
    rule = (f"CASE WHEN {sanwu} THEN 'sanwu' WHEN {gap} <= 0 THEN 'ineligible' "
            f"WHEN {gap} < s.min_pp_fen THEN 'minimum' ELSE 'gap' END")
    addon = f"({ne} * s.a_elderly + {nm} * s.a_minor + {nd} * s.a_disabled + {ni} * s.a_ill)"
    return base, rule, addon


# Calculators whose amount is a function of the standard alone: (SQL amount, rule name).
_SIMPLE_CALCULATORS = {
    "flat": ("s.standard_fen", "flat"),
    "wubao": ("s.standard_fen / 12", "wubao"),  # annual standard, paid monthly in whole fen
}


@dataclass
class CycleSummary:
    cycle_id: int
    program: str
    period: str
    status: str
    cases: int
    total_fen: int
    arrears_fen: int
    carryover_fen: int
    by_county: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"cycle_id": self.cycle_id, "program": self.program, "period": self.period, "status": self.status,
                "cases": self.cases, "total_fen": self.total_fen, "arrears_fen": self.arrears_fen,
                "carryover_fen": self.carryover_fen, "by_county": self.by_county}


# ---- standards resolution ------------------------------------------------------------------------

def _resolve_standards(session: Session, *, program: Program, policy: ProgramPolicy, period: Period,
                       pairs: list[tuple[str, str]]) -> int:
    """Fill mx_std with the standard in force for each (community, category) at the period's end.

    Lookup per DESIGN: the most specific region along the community's chain of ancestors, then the
    latest effective date. Python works per community (thousands), never per case.
    """
    session.execute(text(_STD_DDL))
    session.execute(text("DELETE FROM mx_std"))
    last_day = period.last_day()
    standards: dict[tuple[str, str], tuple[int, int]] = {}
    for sid, region, category, amount in session.execute(
        select(Standard.id, Standard.region_code, Standard.category, Standard.amount_fen)
        .where(Standard.program_code == program.code, Standard.effective_from <= last_day)
        .order_by(Standard.effective_from, Standard.id)
    ):
        standards[(region, category)] = (sid, amount)  # later rows win: the latest date in force
    parents = dict(session.execute(select(Region.code, Region.parent_code)).all())
    addons = {a.kind: a.permille for a in policy.addons}
    rows = []
    for region_code, category in pairs:
        code: str | None = region_code
        found = None
        while code:
            found = standards.get((code, category))
            if found:
                break
            code = parents.get(code)
        if found is None:
            continue  # no standard in force here: the cycle reports these cases as unpaid
        sid, amount = found
        rows.append({"region_code": region_code, "category": category, "standard_fen": amount,
                     "standard_id": sid, "min_pp_fen": amount * policy.min_payment_permille // 1000,
                     **{f"a_{k}": amount * addons.get(k, 0) // 1000 for k in ("elderly", "minor", "disabled", "ill")}})
    if rows:
        session.execute(text(
            "INSERT INTO mx_std (region_code, category, standard_fen, standard_id, min_pp_fen, a_elderly, a_minor, "
            "a_disabled, a_ill) VALUES (:region_code, :category, :standard_fen, :standard_id, :min_pp_fen, "
            ":a_elderly, :a_minor, :a_disabled, :a_ill)"), rows)
    return len(rows)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _elderly_age(policy: ProgramPolicy) -> int:
    for a in policy.addons:
        if a.kind == "elderly" and a.min_age:
            return int(a.min_age)
    return 200  # no elderly add-on: nobody qualifies


# ---- the cycle ------------------------------------------------------------------------------------

def _take_cycle(session: Session, *, program: str, period: Period, actor: User) -> Cycle:
    """Get or create the one cycle of (program, period), locked for this transaction."""
    values = {"program_code": program, "period": str(period), "status": "draft", "run_by": actor.username,
              "cases": 0, "total_fen": 0, "arrears_fen": 0, "carryover_fen": 0, "paid_fen": 0, "failed_fen": 0}
    if is_sqlite(session):
        session.execute(sqlite_dialect.insert(Cycle).values(**values).on_conflict_do_nothing())
        stmt = select(Cycle)
    else:
        session.execute(pg_dialect.insert(Cycle).values(**values).on_conflict_do_nothing())
        stmt = select(Cycle).with_for_update()
    cycle = session.execute(stmt.where(Cycle.program_code == program, Cycle.period == str(period))
                            .execution_options(populate_existing=True)).scalar_one()
    return cycle


def run_cycle(session: Session, *, actor: User, program: str, period: Period,
              progress: Progress | None = None) -> CycleSummary:
    """Compute (or return) the cycle of a program for a period.

    1. Take the one cycle row for (program, period); an approved cycle is returned unchanged.
    2. A draft is recomputed from current data: its payments are deleted first.
    3. Resolve the standard in force per community and category (a small scratch table).
    4. Regular payments: one INSERT … SELECT over all active cases.
    5. Carry-overs: failed payments of reconciled cycles, each carried once.
    6. Arrears (补发): earlier approved cycles whose standards were raised after they were computed
       are recomputed from the facts stored on their payments; the difference is paid now.
    7. Totals, and one audit entry.
    """
    require(actor, Perm.CYCLES_RUN)
    prog = get_program(session, program)
    policy = program_policy(program)
    step_total = 6

    def tick(label: str, n: int) -> None:
        if progress:
            progress(label, n, step_total)

    tick("准备", 0)
    cycle = _take_cycle(session, program=program, period=period, actor=actor)
    if cycle.status != "draft":
        return summarize(session, cycle)
    session.execute(text("DELETE FROM payments WHERE cycle_id = :c"), {"c": cycle.id})
    cycle.run_by = actor.username
    tick("标准", 1)
    pairs = [(str(r[0]), str(r[1])) for r in session.execute(text(
        "SELECT DISTINCT region_code, category FROM cases WHERE program_code = :p AND status = 'active'"),
        {"p": program})]
    _resolve_standards(session, program=prog, policy=policy, period=period, pairs=pairs)
    tick("计算", 2)
    _insert_regular(session, cycle=cycle, program=prog, policy=policy, period=period)
    tick("重发", 3)
    _insert_carryover(session, cycle=cycle, period=period)
    tick("补发", 4)
    _insert_arrears(session, cycle=cycle, program=prog, policy=policy, period=period)
    tick("汇总", 5)
    counties = _update_totals(session, cycle)
    cycle.computed_at = utcnow()
    session.flush()
    audit.record(session, actor=actor.username, action="cycle.run", entity="cycle", entity_id=cycle.id,
                 detail={"program": program, "period": str(period), "cases": cycle.cases,
                         "total_fen": cycle.total_fen, "arrears_fen": cycle.arrears_fen,
                         "carryover_fen": cycle.carryover_fen})
    tick("完成", 6)
    return summarize(session, cycle, counties=counties)


def _insert_regular(session: Session, *, cycle: Cycle, program: Program, policy: ProgramPolicy,
                    period: Period) -> None:
    first = period.first_day()
    params = {"c": cycle.id, "p": program.code, "period": str(period),
              "eld": _years_before(first, _elderly_age(policy)), "minor": _years_before(first, 18)}
    active = ("c.program_code = :p AND c.status = 'active' AND c.start_period <= :period "
              "AND (c.end_period IS NULL OR c.end_period >= :period)")
    if program.calculator not in ("dibao", *_SIMPLE_CALCULATORS):
        _plugin_calculator(policy, program.calculator)(session, cycle=cycle, period=period)
        return
    if program.calculator == "dibao":
        base, rule, addon = _dibao_terms(sanwu="c.sanwu", m="m.members", inc="h.monthly_income_fen",
                                         ne="m.n_elderly", nm="m.n_minor", nd="m.n_disabled", ni="m.n_ill")
        sql = f"""
INSERT INTO payments ({_PAYMENT_COLUMNS})
SELECT :c, x.case_id, 'regular', CAST(:period AS VARCHAR(7)), x.region_code,
       x.base + CASE WHEN x.base > 0 THEN x.addon ELSE 0 END, x.rule, x.standard_fen, x.standard_id, x.income,
       x.members, CASE WHEN x.base > 0 THEN x.addon ELSE 0 END, x.n_elderly, x.n_minor, x.n_disabled, x.n_ill,
       0, 0, 'pending'
FROM (
  SELECT c.id AS case_id, c.region_code AS region_code, s.standard_fen AS standard_fen,
         s.standard_id AS standard_id, h.monthly_income_fen AS income, m.members AS members,
         m.n_elderly AS n_elderly, m.n_minor AS n_minor, m.n_disabled AS n_disabled, m.n_ill AS n_ill,
         {base} AS base, {rule} AS rule, {addon} AS addon
  FROM cases c
  JOIN households h ON h.id = c.household_id
  JOIN mx_std s ON s.region_code = c.region_code AND s.category = c.category
  JOIN (
    SELECT pe.household_id AS household_id, COUNT(*) AS members,
           SUM(CASE WHEN pe.birth_date <= :eld THEN 1 ELSE 0 END) AS n_elderly,
           SUM(CASE WHEN pe.birth_date > :minor THEN 1 ELSE 0 END) AS n_minor,
           SUM(CASE WHEN pe.disability_grade IN (1, 2) THEN 1 ELSE 0 END) AS n_disabled,
           SUM(CASE WHEN pe.health_status = '重病' THEN 1 ELSE 0 END) AS n_ill
    FROM persons pe
    WHERE pe.household_id IN (SELECT c.household_id FROM cases c WHERE {active})
    GROUP BY pe.household_id
  ) m ON m.household_id = c.household_id
  WHERE {active}
) x
WHERE x.base > 0
"""
    else:  # a per-case amount from the standard alone (五保: the annual standard ÷ 12)
        amount, rule = _SIMPLE_CALCULATORS[program.calculator]
        sql = f"""
INSERT INTO payments ({_PAYMENT_COLUMNS})
SELECT :c, c.id, 'regular', CAST(:period AS VARCHAR(7)), c.region_code, {amount}, '{rule}', s.standard_fen,
       s.standard_id, 0, 1, 0, 0, 0, 0, 0, 0, 0, 'pending'
FROM cases c JOIN mx_std s ON s.region_code = c.region_code AND s.category = c.category
WHERE {active} AND {amount} > 0
"""
    stmt = text(sql)
    if program.calculator == "dibao":
        stmt = stmt.bindparams(bindparam("eld", type_=Date), bindparam("minor", type_=Date))
    else:
        params = {k: v for k, v in params.items() if k not in ("eld", "minor")}
    session.execute(stmt, params)


def _plugin_calculator(policy: ProgramPolicy, calculator: str) -> Callable[..., None]:
    """A calculator provided by a domain module named in the policy file (`calculator_module`).

    The engine knows nothing of the domain: the module's `insert_<calculator>_payments(session, *,
    cycle, period)` inserts the cycle's regular payments set-based, like the built-in calculators.
    """
    import importlib

    module_name = policy.extra.get("calculator_module")
    if not module_name:
        raise ValidationError(f"项目 {policy.code} 的计算方法 {calculator} 未知 (unknown calculator)")
    module = importlib.import_module(str(module_name))
    fn: Callable[..., None] = getattr(module, f"insert_{calculator}_payments")
    return fn


def _insert_carryover(session: Session, *, cycle: Cycle, period: Period) -> None:
    session.execute(text(f"""
INSERT INTO payments ({_PAYMENT_COLUMNS})
SELECT :c, f.case_id, 'carryover', f.for_period, f.region_code, f.amount_fen, f.rule, f.standard_fen,
       f.standard_id, f.income_fen, f.members, f.addon_fen, f.n_elderly, f.n_minor, f.n_disabled, f.n_ill,
       f.paid_before_fen, f.id, 'pending'
FROM payments f JOIN cycles y ON y.id = f.cycle_id
WHERE y.program_code = :p AND y.status = 'reconciled' AND y.period < :period AND f.status = 'failed'
  AND NOT EXISTS (SELECT 1 FROM payments x WHERE x.carried_from_id = f.id)
"""), {"c": cycle.id, "p": cycle.program_code, "period": str(period)})


def _cycles_needing_arrears(session: Session, *, program: str, period: Period) -> list[Cycle]:
    """Earlier paid cycles that a standard added since the last paid run reaches back into."""
    baseline = session.execute(select(func.max(Cycle.computed_at)).where(
        Cycle.program_code == program, Cycle.status != "draft", Cycle.period < str(period))).scalar()
    if baseline is None:
        return []
    new_standards = select(Standard.effective_from).where(
        Standard.program_code == program, Standard.created_at > baseline)
    earliest = session.execute(select(func.min(new_standards.subquery().c.effective_from))).scalar()
    if earliest is None:
        return []
    return list(session.execute(select(Cycle).where(
        Cycle.program_code == program, Cycle.status.in_(("approved", "exported")), Cycle.period < str(period),
        Cycle.period >= str(Period.of(earliest))).order_by(Cycle.period)).scalars())


def _insert_arrears(session: Session, *, cycle: Cycle, program: Program, policy: ProgramPolicy,
                    period: Period) -> None:
    if program.calculator not in ("dibao", *_SIMPLE_CALCULATORS):
        return  # plug-in calculators pay assessed amounts; a standard cannot raise them afterwards
    for past in _cycles_needing_arrears(session, program=program.code, period=period):
        past_period = Period.parse(past.period)
        pairs = [(str(r[0]), str(r[1])) for r in session.execute(text(
            "SELECT DISTINCT p.region_code, c.category FROM payments p JOIN cases c ON c.id = p.case_id "
            "WHERE p.cycle_id = :y AND p.kind = 'regular'"), {"y": past.id})]
        _resolve_standards(session, program=program, policy=policy, period=past_period, pairs=pairs)
        if program.calculator == "dibao":
            base, rule, addon = _dibao_terms(sanwu="r.rule = 'sanwu'", m="r.members", inc="r.income_fen",
                                             ne="r.n_elderly", nm="r.n_minor", nd="r.n_disabled", ni="r.n_ill")
        else:
            amount, name = _SIMPLE_CALCULATORS[program.calculator]
            base, rule, addon = amount, f"'{name}'", "0"
        session.execute(text(f"""
INSERT INTO payments ({_PAYMENT_COLUMNS})
SELECT :c, x.case_id, 'arrears', CAST(:pp AS VARCHAR(7)), x.region_code, x.entitled - x.paid, x.rule,
       x.standard_fen, x.standard_id, x.income_fen, x.members, x.addon_fen, x.n_elderly, x.n_minor,
       x.n_disabled, x.n_ill, x.paid, 0, 'pending'
FROM (
  SELECT y.case_id, y.region_code, y.standard_fen, y.standard_id, y.income_fen, y.members, y.n_elderly, y.n_minor,
         y.n_disabled, y.n_ill, y.rule, y.paid,
         y.base + CASE WHEN y.base > 0 THEN y.addon ELSE 0 END AS entitled,
         CASE WHEN y.base > 0 THEN y.addon ELSE 0 END AS addon_fen
  FROM (
    SELECT r.case_id AS case_id, r.region_code AS region_code, s.standard_fen AS standard_fen,
           s.standard_id AS standard_id, r.income_fen AS income_fen, r.members AS members,
           r.n_elderly AS n_elderly, r.n_minor AS n_minor, r.n_disabled AS n_disabled, r.n_ill AS n_ill,
           {base} AS base, {rule} AS rule, {addon} AS addon, q.paid AS paid
    FROM payments r
    JOIN cases c ON c.id = r.case_id
    JOIN mx_std s ON s.region_code = r.region_code AND s.category = c.category
    JOIN (
      SELECT p.case_id AS case_id, SUM(p.amount_fen) AS paid
      FROM payments p JOIN cycles cy ON cy.id = p.cycle_id
      WHERE cy.program_code = :prog AND cy.status <> 'draft' AND p.for_period = :pp
        AND p.kind IN ('regular', 'arrears')
      GROUP BY p.case_id
    ) q ON q.case_id = r.case_id
    WHERE r.cycle_id = :y AND r.kind = 'regular'
  ) y
) x
WHERE x.entitled > x.paid
"""), {"c": cycle.id, "pp": past.period, "y": past.id, "prog": program.code})


def _update_totals(session: Session, cycle: Cycle) -> list[dict[str, Any]]:
    """Cycle totals as the sum of its county totals (one pass over the cycle's payments)."""
    counties = county_totals(session, cycle.id)
    cycle.cases = sum(c["cases"] for c in counties)
    cycle.total_fen = sum(c["total_fen"] for c in counties)
    cycle.arrears_fen = sum(c["arrears_fen"] for c in counties)
    cycle.carryover_fen = sum(c["carryover_fen"] for c in counties)
    return counties


def county_totals(session: Session, cycle_id: int) -> list[dict[str, Any]]:
    """Per county: cases, regular, arrears, carry-over and total fen (they add up to the cycle's)."""
    rows = session.execute(text(
        "SELECT substr(region_code, 1, 6) AS county, COUNT(DISTINCT case_id), COALESCE(SUM(amount_fen), 0), "
        "COALESCE(SUM(CASE WHEN kind = 'regular' THEN amount_fen ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN kind = 'arrears' THEN amount_fen ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN kind = 'carryover' THEN amount_fen ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN status = 'paid' THEN amount_fen ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN status = 'failed' THEN amount_fen ELSE 0 END), 0) "
        "FROM payments WHERE cycle_id = :c GROUP BY substr(region_code, 1, 6) ORDER BY 1"), {"c": cycle_id}).all()
    names = dict(session.execute(select(Region.code, Region.name).where(Region.level == "county")).all())
    return [{"county": r[0], "name": names.get(r[0], r[0]), "cases": int(r[1]), "total_fen": int(r[2]),
             "regular_fen": int(r[3]), "arrears_fen": int(r[4]), "carryover_fen": int(r[5]),
             "paid_fen": int(r[6]), "failed_fen": int(r[7])} for r in rows]


def summarize(session: Session, cycle: Cycle, *, counties: list[dict[str, Any]] | None = None) -> CycleSummary:
    return CycleSummary(cycle_id=cycle.id, program=cycle.program_code, period=cycle.period, status=cycle.status,
                        cases=cycle.cases, total_fen=cycle.total_fen, arrears_fen=cycle.arrears_fen,
                        carryover_fen=cycle.carryover_fen,
                        by_county=counties if counties is not None else county_totals(session, cycle.id))


def require_city_scope(user: User) -> None:
    """A cycle pays the whole city, and its bank file names every recipient in full: approving, exporting
    and reconciling it is for users whose scope is the city (county officers run and read their part)."""
    if not covers(user.scope_code, get_settings().city_code):
        raise Forbidden("全市发放周期的审批、导出银行文件和对账须由市级用户办理 (city scope required)")


def get_cycle(session: Session, cycle_id: int) -> Cycle:
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise NotFound(f"发放周期不存在：{cycle_id} (no such cycle)")
    return cycle


def approve_cycle(session: Session, *, actor: User, cycle_id: int) -> Cycle:
    """draft → approved, by someone other than whoever ran (last computed) the cycle."""
    require(actor, Perm.CYCLES_APPROVE)
    cycle = get_cycle(session, cycle_id)
    if cycle.status != "draft":
        raise Conflict(f"周期 {cycle.id} 状态为 {cycle.status}，只有草稿可以审批 (only a draft can be approved)")
    if cycle.run_by == actor.username:
        raise Conflict("运行发放周期的人员不能审批同一周期 (the user who ran the cycle cannot approve it)")
    require_city_scope(actor)
    if cycle.computed_at is None:
        raise Conflict("周期尚未计算 (cycle not computed)")
    cycle.status = "approved"
    cycle.approved_by = actor.username
    cycle.approved_at = utcnow()
    audit.record(session, actor=actor.username, action="cycle.approve", entity="cycle", entity_id=cycle.id,
                 detail={"total_fen": cycle.total_fen, "cases": cycle.cases})
    return cycle


# ---- bank file -----------------------------------------------------------------------------------

BANK_HEADERS = ["姓名", "身份证号", "账号", "金额(元)", "摘要", "流水号"]


def payment_ref(cycle_id: int, case_id: int) -> str:
    return f"{cycle_id}-{case_id}"


def _bank_rows(session: Session, cycle: Cycle, short: str) -> Iterator[list[Any]]:
    """One row per case. A 集中供养 case is paid to its institution: the institution's name and account,
    with the person's ID number and masked name in the memo, so every fen still names its recipient."""
    rows = session.execute(text(
        "SELECT p.case_id, pe.name, pe.id_number, c.bank_account, SUM(p.amount_fen), "
        "SUM(CASE WHEN p.kind = 'arrears' THEN 1 ELSE 0 END), SUM(CASE WHEN p.kind = 'carryover' THEN 1 ELSE 0 END), "
        "i.name, c.category "
        "FROM payments p JOIN cases c ON c.id = p.case_id JOIN persons pe ON pe.id = c.person_id "
        "LEFT JOIN institutions i ON i.id = c.institution_id "
        "WHERE p.cycle_id = :c GROUP BY p.case_id, pe.name, pe.id_number, c.bank_account, i.name, c.category "
        "ORDER BY p.case_id"
    ).execution_options(yield_per=10000), {"c": cycle.id})
    for case_id, name, id_number, account, amount, n_arrears, n_carry, institution, category in rows:
        memo = f"{cycle.period}{short}"
        if institution:
            memo += f"{category}供养 {mask_name(name)}"
            name = institution
        if n_arrears:
            memo += f"含补发{n_arrears}期"
        if n_carry:
            memo += "含重发"
        yield [name, id_number, account or "", format_yuan(int(amount)), memo, payment_ref(cycle.id, case_id)]


def export_cycle(session: Session, *, actor: User, cycle_id: int, target: Path | io.BytesIO, fmt: str = "xlsx",
                 encoding: str = "utf-8") -> int:
    """Write the bank file (one row per case: 姓名, 身份证号, 账号, 金额(元), 摘要, 流水号)."""
    require(actor, Perm.CYCLES_RUN)
    require_city_scope(actor)
    cycle = get_cycle(session, cycle_id)
    if cycle.status not in ("approved", "exported"):
        raise Conflict(f"周期 {cycle.id} 状态为 {cycle.status}，审批后才能导出银行文件 (approve first)")
    if fmt not in ("xlsx", "csv"):
        raise ValidationError("格式必须是 xlsx 或 csv (format must be xlsx or csv)", field="format")
    enc = {"gbk": "gbk", "utf-8": "utf-8", "utf8": "utf-8"}.get(encoding.lower())
    if enc is None:
        raise ValidationError("编码必须是 gbk 或 utf-8 (encoding must be gbk or utf-8)", field="encoding")
    short = program_policy(cycle.program_code).short
    missing = session.execute(text(
        "SELECT COUNT(DISTINCT p.case_id) FROM payments p JOIN cases c ON c.id = p.case_id "
        "WHERE p.cycle_id = :c AND (c.bank_account IS NULL OR c.bank_account = '')"), {"c": cycle.id}).scalar_one()
    if missing:
        raise Conflict(f"有 {missing} 个案件没有银行账号，请补录后再导出 (cases without a bank account)")
    rows = list(_bank_rows(session, cycle, short))
    if fmt == "xlsx":
        write_xlsx(target, BANK_HEADERS, rows, sheet=f"{cycle.period}{short}",
                   text_columns=("身份证号", "账号", "流水号"), widths={"身份证号": 22, "账号": 24, "摘要": 24})
    else:
        buf = io.StringIO(newline="")
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(BANK_HEADERS)
        w.writerows(rows)
        data = buf.getvalue().encode(enc, errors="strict")
        if isinstance(target, io.BytesIO):
            target.write(data)
        else:
            target.write_bytes(data)
    cycle.status = "exported"
    cycle.exported_at = utcnow()
    audit.record(session, actor=actor.username, action="cycle.export", entity="cycle", entity_id=cycle.id,
                 detail={"format": fmt, "encoding": enc, "rows": len(rows)})
    return len(rows)


# ---- reconciliation ------------------------------------------------------------------------------

RESULT_OK = {"成功", "已支付", "paid", "success", "ok", "1"}
RESULT_FAIL = {"失败", "未支付", "failed", "fail", "0"}


@dataclass
class ReconcileResult:
    errors: list[RowError] = field(default_factory=list)
    paid_cases: int = 0
    failed_cases: int = 0
    paid_fen: int = 0
    failed_fen: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def reconcile_cycle(session: Session, *, actor: User, cycle_id: int, data: bytes, filename: str) -> ReconcileResult:
    """Read the bank's result file and mark each payment paid or failed; all rows must check first.

    The file has the bank file's columns plus 结果 (成功/失败) and optionally 原因. Every case of
    the cycle must appear exactly once with the exported amount; a row naming another cycle's
    payment, an amount that differs, or a 合计 row that does not add up refuses the whole file.
    """
    require(actor, Perm.CYCLES_RUN)
    require_city_scope(actor)
    cycle = get_cycle(session, cycle_id)
    if cycle.status != "exported":
        raise Conflict(f"周期 {cycle.id} 状态为 {cycle.status}，导出银行文件后才能对账 (export first)")
    result = ReconcileResult()
    try:
        table = read_table(data, filename)
        col = require_headers(table, ["流水号", "金额(元)", "结果"])
    except ValidationError as exc:
        result.errors.append(RowError(1, "文件", exc.message))
        return result
    expected = {int(case_id): int(amount) for case_id, amount in session.execute(text(
        "SELECT case_id, SUM(amount_fen) FROM payments WHERE cycle_id = :c GROUP BY case_id"), {"c": cycle.id})}
    outcome: dict[int, tuple[bool, str | None]] = {}
    declared_total: tuple[int, int] | None = None
    sum_rows = 0
    err = result.errors.append
    for i, raw in enumerate(table.rows):
        n = table.row_number(i)
        cells = {h: (raw[j] if j < len(raw) else None) for h, j in col.items()}
        ref = cell_text(cells["流水号"])
        name_cell = cell_text(raw[table.headers.index("姓名")]) if "姓名" in table.headers and \
            table.headers.index("姓名") < len(raw) else ""
        try:
            amount = parse_yuan(cell_text(cells["金额(元)"]), field="金额(元)")
        except ValidationError as exc:
            err(RowError(n, "金额(元)", exc.message))
            continue
        if ref in ("合计", "总计") or name_cell in ("合计", "总计"):
            declared_total = (n, amount)
            continue
        parts = ref.split("-")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            err(RowError(n, "流水号", f"流水号格式不正确：{ref!r} (bad payment reference)"))
            continue
        ref_cycle, case_id = int(parts[0]), int(parts[1])
        if ref_cycle != cycle.id:
            err(RowError(n, "流水号", f"流水号 {ref} 属于周期 {ref_cycle}，不是本周期 {cycle.id} (another cycle)"))
            continue
        if case_id not in expected:
            err(RowError(n, "流水号", f"本周期没有流水号 {ref} 的付款 (no such payment in this cycle)"))
            continue
        if case_id in outcome:
            err(RowError(n, "流水号", f"流水号 {ref} 重复出现 (duplicate)"))
            continue
        if amount != expected[case_id]:
            err(RowError(n, "金额(元)", f"金额 {format_yuan(amount)} 与发放金额 {format_yuan(expected[case_id])} 不符"))
            continue
        status = cell_text(cells["结果"]).lower()
        if status in RESULT_OK:
            ok = True
        elif status in RESULT_FAIL:
            ok = False
        else:
            err(RowError(n, "结果", f"结果必须是 成功 或 失败，而不是 {status!r} (result must be 成功/失败)"))
            continue
        reason = cell_text(raw[table.headers.index("原因")]) if "原因" in table.headers and \
            table.headers.index("原因") < len(raw) else None
        outcome[case_id] = (ok, reason or None)
        sum_rows += amount
    if declared_total is not None and declared_total[1] != sum(expected[c] for c in outcome):
        err(RowError(declared_total[0], "金额(元)", f"合计 {format_yuan(declared_total[1])} 与各行之和 "
                     f"{format_yuan(sum_rows)} 不符 (total does not add up)"))
    missing = set(expected) - set(outcome)
    if missing and not result.errors:
        sample = "、".join(payment_ref(cycle.id, c) for c in sorted(missing)[:5])
        err(RowError(1, "流水号", f"结果文件缺少 {len(missing)} 笔付款（如 {sample}），请使用银行返回的完整文件"))
    if result.errors:
        return result
    failed = [c for c, (ok, _) in outcome.items() if not ok]
    session.execute(text("UPDATE payments SET status = 'paid' WHERE cycle_id = :c"), {"c": cycle.id})
    for k in range(0, len(failed), 500):
        chunk = failed[k:k + 500]
        session.execute(text("UPDATE payments SET status = 'failed' WHERE cycle_id = :c AND case_id IN :ids")
                        .bindparams(bindparam("ids", expanding=True)), {"c": cycle.id, "ids": chunk})
    reasons = [(c, r) for c, (ok, r) in outcome.items() if not ok and r]
    for case_id, reason in reasons:
        session.execute(text("UPDATE payments SET bank_note = :r WHERE cycle_id = :c AND case_id = :k"),
                        {"r": reason[:200], "c": cycle.id, "k": case_id})
    result.failed_cases = len(failed)
    result.paid_cases = len(outcome) - len(failed)
    result.failed_fen = sum(expected[c] for c in failed)
    result.paid_fen = sum(expected.values()) - result.failed_fen
    cycle.status = "reconciled"
    cycle.reconciled_at = utcnow()
    cycle.paid_fen, cycle.failed_fen = result.paid_fen, result.failed_fen
    audit.record(session, actor=actor.username, action="cycle.reconcile", entity="cycle", entity_id=cycle.id,
                 detail={"paid_cases": result.paid_cases, "failed_cases": result.failed_cases,
                         "paid_fen": result.paid_fen, "failed_fen": result.failed_fen, "file": filename})
    return result


def payments_of_case(session: Session, case_id: int) -> list[tuple[Payment, Cycle]]:
    return list(session.execute(
        select(Payment, Cycle).join(Cycle, Cycle.id == Payment.cycle_id).where(Payment.case_id == case_id)
        .order_by(Cycle.period.desc(), Payment.id)).all())


def explain_payment(p: Payment) -> str:
    """The payment's one-line explanation, from the facts stored on it."""
    return explain(rule=p.rule, standard_fen=p.standard_fen, income_fen=p.income_fen, members=p.members,
                   addon_fen=p.addon_fen, addon_persons=p.n_elderly + p.n_minor + p.n_disabled + p.n_ill
                   if p.addon_fen else 0, amount_fen=p.amount_fen, kind=p.kind, for_period=p.for_period,
                   paid_before_fen=p.paid_before_fen)

