"""Payment cycles: compute a program's month set-based, approve, export the bank file, reconcile.

A cycle is computed in a handful of SQL statements over all active cases (INSERT … SELECT), never
a Python loop per case, so a million cases take seconds. Everything a cycle run writes happens in
the caller's single transaction: a run killed halfway leaves the whole cycle or none of it.

What a cycle writes is one payment line per case (see models.Payment): the period's regular
amount, the arrears (补发) a back-dated standard adds to earlier months and failed bank payments
paid again, each part with the facts that explain it. Writing rows is what costs (indexes, WAL,
reference checks), so a raise reaching back months adds columns to the line it already writes,
not rows.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Date, and_, bindparam, func, select, text, tuple_
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
from minxin.db import UTCDateTime, is_sqlite, utcnow
from minxin.programs.models import Case, Cycle, FailedPayment, Payment, Program, Standard
from minxin.programs.policy import ProgramPolicy
from minxin.programs.rules import MAX_ARREARS_MONTHS, describe_months, explain, explain_arrears, explain_carryover
from minxin.programs.service import get_program, program_policy
from minxin.registry.facts import BIRTH_SLOTS  # households.birth1..birth5, kept by triggers
from minxin.registry.models import Region
from minxin.settings import get_settings
from minxin.tabular import RowError, cell_text, read_table, require_headers, write_xlsx

Progress = Callable[[str, int, int], None]

# Scratch tables of one cycle run (temporary: per connection, never written to the WAL).
# mx_std: the standard in force per (period, region, category) for the periods the run computes; for
#         the cycle's own period, same_mask bit k says the reached cycle k has that very standard now.
# mx_per: the earlier cycles a back-dated standard reaches, with their month offset from the first.
# mx_prev: arrears already paid for those months by later cycles, per case and month.
# mx_todo: the cases of an arrears run whose months need the month-by-month computation.
# mx_isl: their arrears, per case in groups of months that share facts, standard and paid.
# mx_car: failed payments carried into this cycle, per case.
_SCRATCH_DDL = (
    """CREATE TEMPORARY TABLE IF NOT EXISTS mx_std (
    period VARCHAR(7) NOT NULL, region_code VARCHAR(12) NOT NULL, category VARCHAR(16) NOT NULL,
    standard_fen BIGINT NOT NULL, standard_id INTEGER NOT NULL, min_pp_fen BIGINT NOT NULL,
    a_elderly BIGINT NOT NULL, a_minor BIGINT NOT NULL, a_disabled BIGINT NOT NULL, a_ill BIGINT NOT NULL,
    same_mask BIGINT NOT NULL, PRIMARY KEY (period, region_code, category))""",
    """CREATE TEMPORARY TABLE IF NOT EXISTS mx_per (
    cycle_id INTEGER NOT NULL PRIMARY KEY, period VARCHAR(7) NOT NULL, idx INTEGER NOT NULL, off INTEGER NOT NULL)""",
    """CREATE TEMPORARY TABLE IF NOT EXISTS mx_prev (
    case_id INTEGER NOT NULL, off INTEGER NOT NULL, paid BIGINT NOT NULL, PRIMARY KEY (case_id, off))""",
    """CREATE TEMPORARY TABLE IF NOT EXISTS mx_todo (case_id INTEGER NOT NULL PRIMARY KEY)""",
    """CREATE TEMPORARY TABLE IF NOT EXISTS mx_isl (
    case_id INTEGER NOT NULL, rank INTEGER NOT NULL, arrears_fen BIGINT NOT NULL, arrears_from VARCHAR(7) NOT NULL,
    arrears_mask BIGINT NOT NULL, arrears_months INTEGER NOT NULL, rule VARCHAR(16) NOT NULL,
    standard_fen BIGINT NOT NULL, standard_id INTEGER NOT NULL, income_fen BIGINT NOT NULL, members INTEGER NOT NULL,
    addon_fen BIGINT NOT NULL, n_elderly INTEGER NOT NULL, n_minor INTEGER NOT NULL, n_disabled INTEGER NOT NULL,
    n_ill INTEGER NOT NULL, paid_fen BIGINT NOT NULL, PRIMARY KEY (case_id, rank))""",
    """CREATE TEMPORARY TABLE IF NOT EXISTS mx_car (case_id INTEGER NOT NULL PRIMARY KEY, fen BIGINT NOT NULL)""",
)
_SCRATCH_TABLES = ("mx_std", "mx_per", "mx_prev", "mx_todo", "mx_isl", "mx_car")

# The columns of a payment line, in the order the INSERT … SELECT statements below produce them.
_PARTS = (
    "region_code, amount_fen, regular_fen, category, rule, standard_fen, standard_id, income_fen, members, addon_fen, "
    "n_elderly, n_minor, n_disabled, n_ill, arrears_fen, arrears_from, arrears_mask, arrears_months, arrears_rule, "
    "arrears_standard_fen, arrears_standard_id, arrears_income_fen, arrears_members, arrears_addon_fen, "
    "arrears_n_elderly, arrears_n_minor, arrears_n_disabled, arrears_n_ill, arrears_paid_fen")
LINE_COLUMNS = f"cycle_id, case_id, seq, {_PARTS}, carryover_fen, status"
_NO_REGULAR = "0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
_NO_ARREARS = "0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
_ISLAND = ("i.arrears_fen, i.arrears_from, i.arrears_mask, i.arrears_months, i.rule, i.standard_fen, i.standard_id, "
           "i.income_fen, i.members, i.addon_fen, i.n_elderly, i.n_minor, i.n_disabled, i.n_ill, i.paid_fen")
_ISLAND_OR_NONE = ("COALESCE(i.arrears_fen, 0), i.arrears_from, i.arrears_mask, i.arrears_months, i.rule, "
                   "i.standard_fen, i.standard_id, i.income_fen, i.members, i.addon_fen, i.n_elderly, i.n_minor, "
                   "i.n_disabled, i.n_ill, i.paid_fen")
# An arrears run with up to this many earlier cycles reached checks each case in one pass (see
# _fast_arrears); more, or a second raise over months that already had arrears, take the general
# month-by-month computation for every case.
FAST_ARREARS_CYCLES = 12


def _dibao_terms(*, sanwu: str, m: str, gap: str, s: str = "s.", ne: str, nm: str, nd: str, ni: str
                 ) -> tuple[str, str, str]:
    """The 低保 rule (programs.rules.dibao_entitlement) as SQL: (base, rule, add-ons) expressions.

    `gap` is the standard minus the per-capita income, `s` the prefix of the standard's columns
    (standard_fen, min_pp_fen, a_elderly …). Integer division of non-negative integers floors on
    SQLite and PostgreSQL alike, exactly as `per_capita_income` does in Python.
    """
    base = (f"CASE WHEN {sanwu} THEN {s}standard_fen * {m} WHEN {gap} <= 0 THEN 0 "
            f"WHEN {gap} < {s}min_pp_fen THEN {s}min_pp_fen * {m} ELSE {gap} * {m} END")
    rule = (f"CASE WHEN {sanwu} THEN 'sanwu' WHEN {gap} <= 0 THEN 'ineligible' "
            f"WHEN {gap} < {s}min_pp_fen THEN 'minimum' ELSE 'gap' END")
    addon = f"({ne} * {s}a_elderly + {nm} * {s}a_minor + {nd} * {s}a_disabled + {ni} * {s}a_ill)"
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


# ---- scratch tables and standards ----------------------------------------------------------------

def _scratch(session: Session) -> None:
    """Create (once per connection) and empty the run's scratch tables.

    On SQLite they are WITHOUT ROWID: a lookup is one search of the key, not two (half the cost of a
    million standard look-ups)."""
    suffix = " WITHOUT ROWID" if is_sqlite(session) else ""
    for ddl in _SCRATCH_DDL:
        session.execute(text(ddl + suffix))
    for table in _SCRATCH_TABLES:
        session.execute(text(f"DELETE FROM {table}"))


def _analyze(session: Session, *tables: str) -> None:
    """PostgreSQL: statistics for a table just filled. Autovacuum never sees temporary tables, nor
    the lines a run has just written (not committed yet): without them the planner takes the cycle
    for a few rows and walks all of its lines in every statement that follows (ANALYZE samples a
    fixed number of rows, ≈0.5 s however large the table)."""
    if not is_sqlite(session):
        for table in tables:
            session.execute(text(f"ANALYZE {table}"))


def _resolve_standards(session: Session, *, program: Program, policy: ProgramPolicy, period: Period,
                       reached: list[Period]) -> int:
    """Fill mx_std with the standard in force for every region and category at the end of the cycle's
    period and of each reached earlier period.

    Lookup per DESIGN: the most specific region along the region's chain of ancestors, then the
    latest effective date. Python works per region (thousands), never per case. The cycle's own rows
    carry same_mask: bit k set when reached period k has that same standard in force now.
    """
    parents = dict(session.execute(select(Region.code, Region.parent_code)).all())
    categories = [*program.category_list, ""] if program.category_list else [""]
    addons = {a.kind: a.permille for a in policy.addons}

    def in_force(p: Period) -> dict[tuple[str, str], tuple[int, int]]:
        standards: dict[tuple[str, str], tuple[int, int]] = {}
        for sid, region, category, amount in session.execute(
            select(Standard.id, Standard.region_code, Standard.category, Standard.amount_fen)
            .where(Standard.program_code == program.code, Standard.effective_from <= p.last_day())
            .order_by(Standard.effective_from, Standard.id)
        ):
            standards[(region, category)] = (sid, amount)  # later rows win: the latest date in force
        resolved: dict[tuple[str, str], tuple[int, int]] = {}
        for region_code in parents:
            for category in categories:
                code: str | None = region_code
                while code:
                    found = standards.get((code, category))
                    if found:
                        resolved[(region_code, category)] = found
                        break
                    code = parents.get(code)
        return resolved  # a (region, category) without a standard: its cases are reported unpaid

    own = in_force(period)
    earlier = [in_force(p) for p in reached]
    rows: list[dict[str, Any]] = []
    for p, resolved in [(period, own), *zip(reached, earlier, strict=True)]:
        for (region_code, category), (sid, amount) in resolved.items():
            same = 0
            if p == period:
                for k, other in enumerate(earlier):
                    if other.get((region_code, category), (None, None))[0] == sid:
                        same |= 1 << k
            rows.append({"period": str(p), "region_code": region_code, "category": category,
                         "standard_fen": amount, "standard_id": sid,
                         "min_pp_fen": amount * policy.min_payment_permille // 1000, "same_mask": same,
                         **{f"a_{k}": amount * addons.get(k, 0) // 1000
                            for k in ("elderly", "minor", "disabled", "ill")}})
    if rows:
        session.execute(text(
            "INSERT INTO mx_std (period, region_code, category, standard_fen, standard_id, min_pp_fen, a_elderly, "
            "a_minor, a_disabled, a_ill, same_mask) VALUES (:period, :region_code, :category, :standard_fen, "
            ":standard_id, :min_pp_fen, :a_elderly, :a_minor, :a_disabled, :a_ill, :same_mask)"), rows)
    _analyze(session, "mx_std")
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


def _tune(session: Session) -> None:
    """PostgreSQL, for this transaction only: room to hash and sort a million rows in memory; no
    JIT compilation (compiling the cycle's plans costs more than their plain integer arithmetic saves:
    about a second of a 1M arrears run, bench/RESULTS.md); and index pages priced as the cached
    pages they are (random_page_cost 1.1, the usual setting for SSDs): at the default 4 the
    month-by-month arrears read every line of every cycle to find a few thousand cases' lines in
    two months, instead of looking each up by its key."""
    if not is_sqlite(session):
        session.execute(text("SET LOCAL work_mem = '256MB'"))
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL random_page_cost = 1.1"))


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
    2. A draft is recomputed from current data: its lines are deleted and the failed payments it
       had carried are released.
    3. Resolve the standards in force for the period and for the earlier approved cycles that a
       standard added since reaches back into (arrears, 补发).
    4. Regular payments: one INSERT … SELECT over all active cases. When earlier cycles are reached,
       the same pass compares each case's lines in them with its facts now and, where they agree,
       adds the arrears to the case's line (_fast_arrears); the other cases' arrears are computed
       month by month from the facts stored on their lines (_arrears_groups).
    5. Carry-overs: failed payments of reconciled cycles, each carried once, added to the lines.
    6. Totals, and one audit entry.
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
    _tune(session)
    session.execute(text("DELETE FROM payments WHERE cycle_id = :c"), {"c": cycle.id})
    session.execute(text("UPDATE failed_payments SET carried_into = NULL WHERE carried_into = :c"), {"c": cycle.id})
    cycle.run_by = actor.username
    _scratch(session)
    tick("标准", 1)
    past = _cycles_needing_arrears(session, program=prog, period=period)
    _resolve_standards(session, program=prog, policy=policy, period=period,
                       reached=[Period.parse(c.period) for c in past])
    later = _reach(session, cycle=cycle, program=prog, past=past)
    tick("计算", 2)
    if not past:
        _insert_regular(session, cycle=cycle, program=prog, policy=policy, period=period)
    elif prog.calculator == "dibao" and not later and len(past) <= FAST_ARREARS_CYCLES:
        _fast_arrears(session, cycle=cycle, program=prog, policy=policy, period=period, past=past)
        tick("补发", 3)
        if _arrears_groups(session, program=prog, later=later, only_todo=True):
            _fold_arrears(session, cycle=cycle)
            _insert_unfolded_arrears(session, cycle=cycle)
        _finish_arrears(session, cycle=cycle)
    else:
        tick("补发", 3)
        found = _arrears_groups(session, program=prog, later=later, only_todo=False)
        _insert_regular(session, cycle=cycle, program=prog, policy=policy, period=period, arrears=found)
        _analyze(session, "payments")
        if found:
            _insert_unfolded_arrears(session, cycle=cycle)
    tick("重发", 4)
    _insert_carryover(session, cycle=cycle, period=period)
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


_ACTIVE = ("c.program_code = :p AND c.status = 'active' AND c.start_period <= :period "
           "AND (c.end_period IS NULL OR c.end_period >= :period)")


def _dibao_facts(*, fence: str, reached: list[tuple[int, int]] | None = None, by_pk: str = "") -> str:
    """Every active case with its household's facts and the standard in force (layer x).

    Members and their 分类施保 counts come from the household row (kept there by triggers on persons):
    the elderly are the leading birth-date slots on or before the cut-off, minors the trailing ones
    after it. Households of more than five members are counted from persons (the others skip that
    look-up). With `reached` ((cycle id, month offset) of the earlier cycles an arrears run reaches),
    each case's line in each of them is looked up by its key and summed up in one column, `paid`: -1
    when the case has no line in any of them; the amount paid when it has a line in every one, all
    paid the same amount on the case's facts of now (category, region, income, members, severely
    disabled, seriously ill, 三无) with the same elderly and minors (ne0, nm0: compared with the case's
    own counts in the next layer) and the standard now in force for each of those months is the
    period's own; else -2.
    """
    joins, cols = [], []
    for k, (cycle_id, _off) in enumerate(reached or []):
        joins.append(f"LEFT JOIN payments r{k}{by_pk} ON r{k}.cycle_id = {int(cycle_id)} AND r{k}.case_id = c.id "
                     f"AND r{k}.seq = 0")
    if reached:
        def same_facts(r: str) -> str:
            return (f"{r}.category = c.category AND {r}.region_code = c.region_code "
                    f"AND {r}.income_fen = h.monthly_income_fen AND {r}.members = h.member_count "
                    f"AND {r}.n_disabled = h.severe_disabled AND {r}.n_ill = h.seriously_ill "
                    f"AND (CASE WHEN {r}.rule = 'sanwu' THEN 1 ELSE 0 END) = (CASE WHEN c.sanwu THEN 1 ELSE 0 END)")
        none = " AND ".join(f"r{k}.case_id IS NULL" for k in range(len(reached)))
        alike = " AND ".join(
            [f"s.same_mask = {(1 << len(reached)) - 1}", "r0.regular_fen > 0"]
            + [f"r{k}.regular_fen = r0.regular_fen AND r{k}.n_elderly = r0.n_elderly AND r{k}.n_minor = r0.n_minor"
               for k in range(1, len(reached))]
            + [same_facts(f"r{k}") for k in range(len(reached))])
        cols.append(f"CASE WHEN {none} THEN -1 WHEN {alike} THEN r0.regular_fen ELSE -2 END AS paid, "
                    "r0.n_elderly AS ne0, r0.n_minor AS nm0")
    extra = "".join(f",\n             {c}" for c in cols)
    join_sql = "".join(f"\n      {j}" for j in joins)
    return f"""
      SELECT c.id AS case_id, c.region_code AS region_code, c.category AS category, c.sanwu AS sanwu,
             h.monthly_income_fen AS income_fen, h.member_count AS members, h.severe_disabled AS n_disabled,
             h.seriously_ill AS n_ill,
             CASE WHEN h.member_count > {BIRTH_SLOTS} THEN b.n_elderly ELSE {_slots_at_most(":eld")} END AS n_elderly,
             CASE WHEN h.member_count > {BIRTH_SLOTS} THEN b.n_minor
                  ELSE h.member_count - {_slots_at_most(":minor")} END AS n_minor,
             s.standard_fen AS standard_fen, s.standard_id AS standard_id, s.min_pp_fen AS min_pp_fen,
             s.a_elderly AS a_elderly, s.a_minor AS a_minor, s.a_disabled AS a_disabled, s.a_ill AS a_ill,
             s.standard_fen - h.monthly_income_fen / h.member_count AS gap{extra}
      FROM cases c
      JOIN households h ON h.id = c.household_id
      LEFT JOIN (
        SELECT pe.household_id AS household_id,
               SUM(CASE WHEN pe.birth_date <= :eld THEN 1 ELSE 0 END) AS n_elderly,
               SUM(CASE WHEN pe.birth_date > :minor THEN 1 ELSE 0 END) AS n_minor
        FROM households hb CROSS JOIN persons pe
        WHERE hb.member_count > {BIRTH_SLOTS} AND pe.household_id = hb.id
        GROUP BY pe.household_id
      ) b ON h.member_count > {BIRTH_SLOTS} AND b.household_id = c.household_id
      CROSS JOIN mx_std s{join_sql}
      WHERE {_ACTIVE} AND h.member_count > 0
        AND s.period = :period AND s.region_code = c.region_code AND s.category = c.category{fence}"""


def _dibao_amounts(*, fence: str, facts: str, keep: str = "y.sanwu OR y.gap > 0", carry: str = "") -> str:
    """Layer z (base, rule and add-ons) over the facts (y): each expression evaluated once."""
    base, rule, addon = _dibao_terms(sanwu="y.sanwu", m="y.members", gap="y.gap", s="y.", ne="y.n_elderly",
                                     nm="y.n_minor", nd="y.n_disabled", ni="y.n_ill")
    return f"""
  SELECT y.case_id AS case_id, y.region_code AS region_code, y.category AS category,
         y.standard_fen AS standard_fen, y.standard_id AS standard_id, y.income_fen AS income_fen,
         y.members AS members, y.n_elderly AS n_elderly, y.n_minor AS n_minor, y.n_disabled AS n_disabled,
         y.n_ill AS n_ill, {base} AS base, {rule} AS rule, {addon} AS addon{carry}
  FROM ({facts}
  ) y
  WHERE {keep}{fence}"""


def _dibao_regular_select(fence: str) -> str:
    """The regular 低保 amount of every active case: case_id, region_code, amount and its facts."""
    return f"""
SELECT z.case_id AS case_id, z.region_code AS region_code,
       z.base + CASE WHEN z.base > 0 THEN z.addon ELSE 0 END AS amount, z.category AS category, z.rule AS rule,
       z.standard_fen AS standard_fen, z.standard_id AS standard_id, z.income_fen AS income_fen, z.members AS members,
       CASE WHEN z.base > 0 THEN z.addon ELSE 0 END AS addon_fen, z.n_elderly AS n_elderly, z.n_minor AS n_minor,
       z.n_disabled AS n_disabled, z.n_ill AS n_ill
FROM ({_dibao_amounts(fence=fence, facts=_dibao_facts(fence=fence))}
) z
WHERE z.base > 0
"""


def _simple_regular_select(calculator: str) -> str:
    """A per-case amount from the standard alone (五保: the annual standard ÷ 12)."""
    amount, rule = _SIMPLE_CALCULATORS[calculator]
    return f"""
SELECT c.id AS case_id, c.region_code AS region_code, {amount} AS amount, c.category AS category, '{rule}' AS rule,
       s.standard_fen AS standard_fen, s.standard_id AS standard_id, 0 AS income_fen, 1 AS members, 0 AS addon_fen,
       0 AS n_elderly, 0 AS n_minor, 0 AS n_disabled, 0 AS n_ill
FROM cases c CROSS JOIN mx_std s
WHERE {_ACTIVE} AND s.period = :period AND s.region_code = c.region_code AND s.category = c.category
  AND {amount} > 0
"""


def _regular_params(*, cycle: Cycle, program: Program, policy: ProgramPolicy, period: Period) -> dict[str, Any]:
    first = period.first_day()
    return {"c": cycle.id, "p": program.code, "period": str(period),
            "eld": _years_before(first, _elderly_age(policy)), "minor": _years_before(first, 18)}


def _dated(stmt: Any) -> Any:
    return stmt.bindparams(bindparam("eld", type_=Date), bindparam("minor", type_=Date))


def _insert_regular(session: Session, *, cycle: Cycle, program: Program, policy: ProgramPolicy,
                    period: Period, arrears: bool = False) -> None:
    """One line per active case with a regular amount, carrying the case's first arrears group along."""
    if program.calculator not in ("dibao", *_SIMPLE_CALCULATORS):
        _plugin_calculator(policy, program.calculator)(session, cycle=cycle, period=period)
        return
    params = _regular_params(cycle=cycle, program=program, policy=policy, period=period)
    if program.calculator == "dibao":
        select_sql = _dibao_regular_select(_fence(session))
    else:
        select_sql = _simple_regular_select(program.calculator)
        params = {k: v for k, v in params.items() if k not in ("eld", "minor")}
    fold, join = (_ISLAND_OR_NONE, "LEFT JOIN mx_isl i ON i.case_id = r.case_id AND i.rank = 0") if arrears \
        else (_NO_ARREARS, "")
    amount = "r.amount + COALESCE(i.arrears_fen, 0)" if arrears else "r.amount"
    stmt = text(f"""
INSERT INTO payments ({LINE_COLUMNS})
SELECT :c, r.case_id, 0, r.region_code, {amount}, r.amount, r.category, r.rule, r.standard_fen, r.standard_id,
       r.income_fen, r.members, r.addon_fen, r.n_elderly, r.n_minor, r.n_disabled, r.n_ill, {fold}, 0, 'pending'
FROM ({select_sql}) r {join}
""")
    session.execute(_dated(stmt) if program.calculator == "dibao" else stmt, params)


def _fast_arrears(session: Session, *, cycle: Cycle, program: Program, policy: ProgramPolicy, period: Period,
                  past: list[Cycle]) -> None:
    """The regular lines of an arrears run, with the arrears of every case whose months agree, in one pass.

    1. Each active case is read with its line in each reached cycle (a primary-key look-up per
       cycle, no grouping). A case paid in every reached month, the same amount each, on its facts
       of now (members, counts, income, category, region, 三无), whose standard now in force for each
       of those months is the period's own, is owed today's regular amount for each: its arrears are
       (amount − paid) × months, one part with all the months in its mask, resting on the line's own
       regular facts (its arrears facts columns stay empty).
    2. Every other case that had a line in a reached month is marked todo (its line carries
       arrears_months = 0 until _finish_arrears), together with the program's cases not active now
       whose status changed after the first reached cycle was computed; _arrears_groups works out
       their arrears month by month (a month not paid, or paid differently, is its own group there).
    """
    first = Period.parse(past[0].period)
    reached = _offsets(past)
    fence = _fence(session)
    mask = sum(1 << off for _, off in reached)
    # Counts of now differing from the months' (a birthday across an age limit) make the case todo.
    carry = (", CASE WHEN y.paid >= 0 AND (y.ne0 <> y.n_elderly OR y.nm0 <> y.n_minor) THEN -2 ELSE y.paid END "
             "AS paid")
    keep = "y.sanwu OR y.gap > 0 OR y.paid <> -1"
    # SQLite would look a line up through the case index and then the table; the key is one search.
    by_pk = " INDEXED BY sqlite_autoindex_payments_1" if is_sqlite(session) else ""
    facts = _dibao_facts(fence=fence, reached=reached, by_pk=by_pk)
    amounts = _dibao_amounts(fence=fence, facts=facts, keep=keep, carry=carry)

    def when_due(col: str) -> str:
        return f"CASE WHEN w.arrears > 0 THEN {col} END"

    params = _regular_params(cycle=cycle, program=program, policy=policy, period=period)
    # A todo case (paid = -2) is written with the mark arrears_months = 0 (and no arrears), even
    # with nothing to pay now: _arrears_groups takes it up, and _finish_arrears clears the mark.
    session.execute(_dated(text(f"""
INSERT INTO payments ({LINE_COLUMNS})
SELECT :c, w.case_id, 0, w.region_code, w.amount + w.arrears, w.amount, w.category, w.rule, w.standard_fen,
       w.standard_id, w.income_fen, w.members, w.addon_fen, w.n_elderly, w.n_minor, w.n_disabled, w.n_ill, w.arrears,
       {when_due(f"'{first}'")}, {when_due(str(mask))},
       CASE WHEN w.arrears > 0 THEN {len(reached)} WHEN w.paid = -2 THEN 0 END,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, {when_due("w.paid")}, 0, 'pending'
FROM (
  SELECT v.*, CASE WHEN v.paid >= 0 AND v.amount > v.paid THEN (v.amount - v.paid) * {len(reached)} ELSE 0 END
         AS arrears
  FROM (
    SELECT z.case_id AS case_id, z.region_code AS region_code, z.category AS category, z.rule AS rule,
           z.base + CASE WHEN z.base > 0 THEN z.addon ELSE 0 END AS amount, z.standard_fen AS standard_fen,
           z.standard_id AS standard_id, z.income_fen AS income_fen, z.members AS members,
           CASE WHEN z.base > 0 THEN z.addon ELSE 0 END AS addon_fen, z.n_elderly AS n_elderly,
           z.n_minor AS n_minor, z.n_disabled AS n_disabled, z.n_ill AS n_ill, z.paid AS paid
    FROM ({amounts}
    ) z{fence}
  ) v{fence}
) w
WHERE w.amount > 0 OR w.paid = -2
""")), params)
    _analyze(session, "payments")
    marked = " INDEXED BY ix_payments_unsettled" if is_sqlite(session) else ""  # the marked few, not the cycle
    session.execute(text(
        f"INSERT INTO mx_todo (case_id) SELECT case_id FROM payments{marked} WHERE cycle_id = :c AND seq = 0 "
        "AND arrears_months = 0"), {"c": cycle.id})
    since = min(c.computed_at for c in past if c.computed_at is not None)
    session.execute(text("""
INSERT INTO mx_todo (case_id)
SELECT c.id FROM cases c
WHERE c.program_code = :p AND NOT (c.status = 'active' AND c.start_period <= :period
                                    AND (c.end_period IS NULL OR c.end_period >= :period))
  AND (c.updated_at >= :since OR c.end_period >= :first)
""").bindparams(bindparam("since", type_=UTCDateTime())),
        {"p": program.code, "period": str(period), "since": since, "first": str(first)})
    _analyze(session, "mx_todo")


def _finish_arrears(session: Session, *, cycle: Cycle) -> None:
    """Clear the marks _fast_arrears left on the lines of the cases it could not settle: a line that got
    no arrears loses the mark, one with nothing to pay at all goes."""
    session.execute(text(
        "DELETE FROM payments WHERE cycle_id = :c AND seq = 0 AND amount_fen = 0 "
        "AND case_id IN (SELECT case_id FROM mx_todo)"), {"c": cycle.id})
    session.execute(text(
        "UPDATE payments SET arrears_months = NULL WHERE cycle_id = :c AND seq = 0 AND arrears_months = 0 "
        "AND case_id IN (SELECT case_id FROM mx_todo)"), {"c": cycle.id})


def _fold_arrears(session: Session, *, cycle: Cycle) -> None:
    """The first arrears group of a todo case rides on its regular line, where it has one.

    Driven by the groups (a few): each is a key look-up of its line, never a walk over the cycle."""
    session.execute(text("""
UPDATE payments SET (amount_fen, arrears_fen, arrears_from, arrears_mask, arrears_months, arrears_rule,
                     arrears_standard_fen, arrears_standard_id, arrears_income_fen, arrears_members,
                     arrears_addon_fen, arrears_n_elderly, arrears_n_minor, arrears_n_disabled, arrears_n_ill,
                     arrears_paid_fen) = (
  SELECT payments.amount_fen + i.arrears_fen, i.arrears_fen, i.arrears_from, i.arrears_mask, i.arrears_months,
         i.rule, i.standard_fen, i.standard_id, i.income_fen, i.members, i.addon_fen, i.n_elderly, i.n_minor,
         i.n_disabled, i.n_ill, i.paid_fen
  FROM mx_isl i WHERE i.case_id = payments.case_id AND i.rank = 0)
WHERE cycle_id = :c AND seq = 0 AND case_id IN (SELECT case_id FROM mx_isl WHERE rank = 0)
"""), {"c": cycle.id})


def _insert_unfolded_arrears(session: Session, *, cycle: Cycle) -> None:
    """Arrears groups no regular line took along: further groups of a case, and cases not paid this month."""
    # Two statements, so that each is a plain join: `rank > 0 OR NOT EXISTS …` would have PostgreSQL
    # hash every line of the cycle to answer the NOT EXISTS.
    for which in ("i.rank > 0", "i.rank = 0 AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.cycle_id = :c "
                  "AND p.case_id = i.case_id AND p.seq = 0)"):
        session.execute(text(f"""
INSERT INTO payments ({LINE_COLUMNS})
SELECT :c, i.case_id, i.rank, c.region_code, i.arrears_fen, {_NO_REGULAR}, {_ISLAND}, 0, 'pending'
FROM mx_isl i JOIN cases c ON c.id = i.case_id
WHERE {which}
"""), {"c": cycle.id})


def _slots_at_most(cut: str) -> str:
    """How many of a household's birth-date slots (ascending) are on or before `cut`."""
    cases = " ".join(f"WHEN h.birth{i} IS NULL OR h.birth{i} > {cut} THEN {i - 1}" for i in range(1, BIRTH_SLOTS + 1))
    return f"CASE {cases} ELSE {BIRTH_SLOTS} END"


def _fence(session: Session) -> str:
    """Keeps the database from merging a subquery into the query around it (which would evaluate the
    subquery's expressions again at every use): SQLite does not flatten a subquery with a LIMIT,
    PostgreSQL does not pull up one with an OFFSET."""
    return " LIMIT -1 OFFSET 0" if is_sqlite(session) else " OFFSET 0"


def _plugin_calculator(policy: ProgramPolicy, calculator: str) -> Callable[..., None]:
    """A calculator provided by a domain module named in the policy file (`calculator_module`).

    The engine knows nothing of the domain: the module's `insert_<calculator>_payments(session, *,
    cycle, period)` inserts the cycle's regular lines set-based (columns: LINE_COLUMNS), like the
    built-in calculators.
    """
    import importlib

    module_name = policy.extra.get("calculator_module")
    if not module_name:
        raise ValidationError(f"项目 {policy.code} 的计算方法 {calculator} 未知 (unknown calculator)")
    module = importlib.import_module(str(module_name))
    fn: Callable[..., None] = getattr(module, f"insert_{calculator}_payments")
    return fn


def _insert_carryover(session: Session, *, cycle: Cycle, period: Period) -> None:
    """Failed payments of reconciled cycles, paid again here, once.

    1. Every failed line of an earlier reconciled cycle that no cycle has carried is marked as
       carried into this one (failed_payments: the few failures, apart from the lines).
    2. Per case, their sum is added to the case's line, or a line of its own is written.
    """
    marked = session.execute(text("""
UPDATE failed_payments SET carried_into = :c
WHERE carried_into IS NULL
  AND cycle_id IN (SELECT id FROM cycles WHERE program_code = :p AND status = 'reconciled' AND period < :period)
"""), {"c": cycle.id, "p": cycle.program_code, "period": str(period)})
    if not marked.rowcount:  # type: ignore[attr-defined]
        return
    session.execute(text(
        "INSERT INTO mx_car (case_id, fen) SELECT case_id, SUM(amount_fen) FROM failed_payments "
        "WHERE carried_into = :c GROUP BY case_id"), {"c": cycle.id})
    session.execute(text("""
UPDATE payments SET carryover_fen = (SELECT k.fen FROM mx_car k WHERE k.case_id = payments.case_id),
                    amount_fen = amount_fen + (SELECT k.fen FROM mx_car k WHERE k.case_id = payments.case_id)
WHERE cycle_id = :c AND seq = 0 AND case_id IN (SELECT case_id FROM mx_car)
"""), {"c": cycle.id})
    session.execute(text(f"""
INSERT INTO payments ({LINE_COLUMNS})
SELECT :c, k.case_id, 0, c.region_code, k.fen, {_NO_REGULAR}, {_NO_ARREARS}, k.fen, 'pending'
FROM mx_car k JOIN cases c ON c.id = k.case_id
WHERE NOT EXISTS (SELECT 1 FROM payments p WHERE p.cycle_id = :c AND p.case_id = k.case_id AND p.seq = 0)
"""), {"c": cycle.id})


# ---- arrears (补发) ---------------------------------------------------------------------------------

def _cycles_needing_arrears(session: Session, *, program: Program, period: Period) -> list[Cycle]:
    """Earlier paid cycles that a standard added since the last paid run reaches back into."""
    if program.calculator not in ("dibao", *_SIMPLE_CALCULATORS):
        return []  # plug-in calculators pay assessed amounts; a standard cannot raise them afterwards
    baseline = session.execute(select(func.max(Cycle.computed_at)).where(
        Cycle.program_code == program.code, Cycle.status != "draft", Cycle.period < str(period))).scalar()
    if baseline is None:
        return []
    new_standards = select(Standard.effective_from).where(
        Standard.program_code == program.code, Standard.created_at > baseline)
    earliest = session.execute(select(func.min(new_standards.subquery().c.effective_from))).scalar()
    if earliest is None:
        return []
    return list(session.execute(select(Cycle).where(
        Cycle.program_code == program.code, Cycle.status.in_(("approved", "exported")), Cycle.period < str(period),
        Cycle.period >= str(Period.of(earliest))).order_by(Cycle.period)).scalars())


def _offsets(past: list[Cycle]) -> list[tuple[int, int]]:
    """(cycle id, months after the first) of the reached cycles, oldest first."""
    first = Period.parse(past[0].period)
    return [(c.id, first.months_until(Period.parse(c.period))) for c in past]


_MONTH_INDEX = "(CAST(substr({p}, 1, 4) AS INTEGER) * 12 + CAST(substr({p}, 6, 2) AS INTEGER) - 1)"


def _reach(session: Session, *, cycle: Cycle, program: Program, past: list[Cycle]) -> bool:
    """Fill mx_per with the reached cycles and mx_prev with arrears later cycles already paid for their
    months; True when there are such (a second raise over the same months)."""
    if not past:
        return False
    first = Period.parse(past[0].period)
    session.execute(text("INSERT INTO mx_per (cycle_id, period, idx, off) VALUES (:c, :p, :i, :o)"),
                    [{"c": cycle_id, "p": str(first.add(off)), "i": first.index + off, "o": off}
                     for cycle_id, off in _offsets(past)])
    _analyze(session, "mx_per")
    later = [int(r[0]) for r in session.execute(text(
        "SELECT id FROM cycles WHERE program_code = :p AND status <> 'draft' AND arrears_fen > 0 AND period > :first "
        "AND id <> :c"), {"p": program.code, "first": str(first), "c": cycle.id})]
    if not later:
        return False
    k = f"(x.idx - {_MONTH_INDEX.format(p='a.arrears_from')})"
    session.execute(text(f"""
INSERT INTO mx_prev (case_id, off, paid)
SELECT a.case_id, x.off, SUM(a.arrears_fen / a.arrears_months)
FROM payments a JOIN mx_per x ON {k} >= 0 AND {k} < 63 AND (a.arrears_mask >> {k}) & 1 = 1
WHERE a.cycle_id IN :later AND a.arrears_fen > 0
GROUP BY a.case_id, x.off
""").bindparams(bindparam("later", expanding=True)), {"later": later})
    _analyze(session, "mx_prev")
    return True


def _arrears_groups(session: Session, *, program: Program, later: bool, only_todo: bool) -> bool:
    """Fill mx_isl with the arrears due now, month by month; False when there are none.

    1. For each regular line of a reached cycle (of the todo cases only, with only_todo): the
       amount due under the standard now in force, from the facts stored on the line; minus what was
       paid for that month (the line's regular amount and any arrears since).
    2. Months of a case with the same facts, standard and amount paid form one group: its months as
       a bit mask, its amount the per-month difference times the months (groups never span more than
       MAX_ARREARS_MONTHS, so the mask fits 63 bits).
    3. A case's groups are ranked by their first month: rank 0 rides on the case's regular line.
    """
    prev_join = "LEFT JOIN mx_prev q ON q.case_id = r.case_id AND q.off = x.off" if later else ""
    prev_paid = "COALESCE(q.paid, 0)" if later else "0"
    if program.calculator == "dibao":
        base, rule, addon = _dibao_terms(sanwu="r.rule = 'sanwu'", m="r.members",
                                         gap="(s.standard_fen - r.income_fen / r.members)",
                                         ne="r.n_elderly", nm="r.n_minor", nd="r.n_disabled", ni="r.n_ill")
    else:
        amount, name = _SIMPLE_CALCULATORS[program.calculator]
        base, rule, addon = amount, f"'{name}'", "0"
    chunk, fence = MAX_ARREARS_MONTHS, _fence(session)
    # The todo cases drive the look-ups (a few), or every line of the reached cycles is read.
    source = ("FROM mx_todo t CROSS JOIN mx_per x CROSS JOIN payments r" if only_todo
              else "FROM mx_per x CROSS JOIN payments r")
    match = "r.cycle_id = x.cycle_id AND r.case_id = t.case_id AND r.seq = 0" if only_todo \
        else "r.cycle_id = x.cycle_id"
    # SUM of distinct powers of two is their OR; shifted down so bit 0 is the group's first month.
    session.execute(text(f"""
INSERT INTO mx_isl (case_id, rank, arrears_fen, arrears_from, arrears_mask, arrears_months, rule, standard_fen,
                    standard_id, income_fen, members, addon_fen, n_elderly, n_minor, n_disabled, n_ill, paid_fen)
SELECT z.case_id, ROW_NUMBER() OVER (PARTITION BY z.case_id ORDER BY z.lo) - 1, (z.entitled - z.paid) * z.months,
       f.period, z.bits / (CAST(1 AS BIGINT) << (z.lo % {chunk})), z.months, z.rule, z.standard_fen, z.standard_id,
       z.income_fen, z.members, z.addon_fen, z.n_elderly, z.n_minor, z.n_disabled, z.n_ill, z.paid
FROM (
  SELECT g.case_id AS case_id, MIN(g.off) AS lo, CAST(SUM(CAST(1 AS BIGINT) << (g.off % {chunk})) AS BIGINT) AS bits,
         COUNT(*) AS months, g.rule AS rule, g.standard_fen AS standard_fen, g.standard_id AS standard_id,
         g.income_fen AS income_fen, g.members AS members, g.addon_fen AS addon_fen, g.n_elderly AS n_elderly,
         g.n_minor AS n_minor, g.n_disabled AS n_disabled, g.n_ill AS n_ill, g.paid AS paid, g.entitled AS entitled
  FROM (
    SELECT y.case_id AS case_id, y.off AS off, y.rule AS rule, y.standard_fen AS standard_fen,
           y.standard_id AS standard_id, y.income_fen AS income_fen, y.members AS members,
           CASE WHEN y.base > 0 THEN y.addon ELSE 0 END AS addon_fen, y.n_elderly AS n_elderly, y.n_minor AS n_minor,
           y.n_disabled AS n_disabled, y.n_ill AS n_ill, y.paid AS paid,
           y.base + CASE WHEN y.base > 0 THEN y.addon ELSE 0 END AS entitled
    FROM (
      SELECT r.case_id AS case_id, x.off AS off, s.standard_fen AS standard_fen, s.standard_id AS standard_id,
             r.income_fen AS income_fen, r.members AS members, r.n_elderly AS n_elderly, r.n_minor AS n_minor,
             r.n_disabled AS n_disabled, r.n_ill AS n_ill, {base} AS base, {rule} AS rule, {addon} AS addon,
             r.regular_fen + {prev_paid} AS paid
      {source}
      CROSS JOIN mx_std s
      {prev_join}
      WHERE {match} AND r.regular_fen > 0
        AND s.period = x.period AND s.region_code = r.region_code AND s.category = r.category{fence}
    ) y{fence}
  ) g
  WHERE g.entitled > g.paid
  GROUP BY g.case_id, g.off / {chunk}, g.rule, g.standard_fen, g.standard_id, g.income_fen, g.members, g.addon_fen,
           g.n_elderly, g.n_minor, g.n_disabled, g.n_ill, g.paid, g.entitled
) z
JOIN mx_per f ON f.off = z.lo
"""))
    found = session.execute(text("SELECT 1 FROM mx_isl LIMIT 1")).first() is not None
    if found:
        _analyze(session, "mx_isl")
    return found


# ---- totals --------------------------------------------------------------------------------------

def _update_totals(session: Session, cycle: Cycle) -> list[dict[str, Any]]:
    """Cycle totals as the sum of its county totals (one pass over the cycle's lines)."""
    counties = county_totals(session, cycle.id, with_status=False)
    cycle.cases = sum(c["cases"] for c in counties)
    cycle.total_fen = sum(c["total_fen"] for c in counties)
    cycle.arrears_fen = sum(c["arrears_fen"] for c in counties)
    cycle.carryover_fen = sum(c["carryover_fen"] for c in counties)
    return counties


def county_totals(session: Session, cycle_id: int, *, with_status: bool = True) -> list[dict[str, Any]]:
    """Per county: cases, regular, arrears, carry-over and total fen (they add up to the cycle's), and
    what the bank paid and failed (skipped with with_status=False: a cycle just computed is all pending).

    Summed per community in the database (a few thousand groups, no string work per line), per
    county here."""
    status = ("COALESCE(SUM(CASE WHEN status = 'paid' THEN amount_fen ELSE 0 END), 0), "
              "COALESCE(SUM(CASE WHEN status = 'failed' THEN amount_fen ELSE 0 END), 0)") if with_status else "0, 0"
    rows = session.execute(text(
        "SELECT region_code, SUM(CASE WHEN seq = 0 THEN 1 ELSE 0 END), COALESCE(SUM(amount_fen), 0), "
        "COALESCE(SUM(regular_fen), 0), COALESCE(SUM(arrears_fen), 0), COALESCE(SUM(carryover_fen), 0), "
        f"{status} FROM payments WHERE cycle_id = :c GROUP BY region_code"), {"c": cycle_id}).all()
    names = dict(session.execute(select(Region.code, Region.name).where(Region.level == "county")).all())
    keys = ("cases", "total_fen", "regular_fen", "arrears_fen", "carryover_fen", "paid_fen", "failed_fen")
    counties: dict[str, dict[str, Any]] = {}
    for region, *sums in rows:
        county = str(region)[:6]
        row = counties.setdefault(county, {"county": county, "name": names.get(county, county),
                                           **dict.fromkeys(keys, 0)})
        for key, value in zip(keys, sums, strict=True):
            row[key] += int(value)
    return [counties[k] for k in sorted(counties)]


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
        "SUM(COALESCE(p.arrears_months, 0)), SUM(CASE WHEN p.carryover_fen > 0 THEN 1 ELSE 0 END), "
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
    if failed:
        session.execute(text(
            "INSERT INTO failed_payments (cycle_id, case_id, seq, amount_fen) SELECT cycle_id, case_id, seq, "
            "amount_fen FROM payments WHERE cycle_id = :c AND status = 'failed' AND amount_fen > 0"), {"c": cycle.id})
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
    """A case's lines, newest first: one key look-up per cycle of its program."""
    program = select(Case.program_code).where(Case.id == case_id).scalar_subquery()
    return list(session.execute(
        select(Payment, Cycle).select_from(Cycle)
        .join(Payment, and_(Payment.cycle_id == Cycle.id, Payment.case_id == case_id))
        .where(Cycle.program_code == program)
        .order_by(Cycle.period.desc(), Payment.seq)).all())


@dataclass(frozen=True)
class PaymentItem:
    """One part of a payment line as people read it: regular, arrears (补发) or carry-over (重发)."""

    kind: str
    for_period: str
    amount_fen: int
    explanation: str


def carried_sources(session: Session, lines: Iterable[Payment]) -> dict[tuple[int, int], list[str]]:
    """For lines with a carry-over part: the periods of the failed payments they pay again."""
    keys = {(p.cycle_id, p.case_id) for p in lines if p.carryover_fen}
    out: dict[tuple[int, int], list[str]] = defaultdict(list)
    if not keys:
        return out
    rows = session.execute(
        select(FailedPayment.carried_into, FailedPayment.case_id, Cycle.period)
        .join(Cycle, Cycle.id == FailedPayment.cycle_id)
        .where(tuple_(FailedPayment.carried_into, FailedPayment.case_id).in_(sorted(keys)))
        .order_by(Cycle.period).distinct())
    for into, case_id, period in rows:
        if into is not None:
            out[(int(into), int(case_id))].append(str(period))
    return out


def payment_items(p: Payment, *, period: str, carried_from: list[str] | None = None) -> list[PaymentItem]:
    """The parts of a line (period = its cycle's), each with its explanation from the facts stored on it."""
    items: list[PaymentItem] = []
    if p.regular_fen and p.rule is not None:
        persons = (p.n_elderly or 0) + (p.n_minor or 0) + (p.n_disabled or 0) + (p.n_ill or 0)
        items.append(PaymentItem("regular", period, p.regular_fen, explain(
            rule=p.rule, standard_fen=p.standard_fen or 0, income_fen=p.income_fen or 0, members=p.members or 1,
            addon_fen=p.addon_fen or 0, addon_persons=persons if p.addon_fen else 0, amount_fen=p.regular_fen)))
    if p.arrears_fen and p.arrears_from and p.arrears_mask:
        if p.arrears_rule is None:  # the arrears rest on the line's regular facts
            rule, std, income, members, addon = p.rule, p.standard_fen, p.income_fen, p.members, p.addon_fen
            counts = (p.n_elderly, p.n_minor, p.n_disabled, p.n_ill)
        else:
            rule, std, income, members = p.arrears_rule, p.arrears_standard_fen, p.arrears_income_fen, p.arrears_members
            addon = p.arrears_addon_fen
            counts = (p.arrears_n_elderly, p.arrears_n_minor, p.arrears_n_disabled, p.arrears_n_ill)
        persons = sum(c or 0 for c in counts)
        items.append(PaymentItem("arrears", describe_months(p.arrears_from, p.arrears_mask), p.arrears_fen,
                                 explain_arrears(
            first=p.arrears_from, mask=p.arrears_mask, months=p.arrears_months or 1, rule=rule or "gap",
            standard_fen=std or 0, income_fen=income or 0, members=members or 1, addon_fen=addon or 0,
            addon_persons=persons if addon else 0, paid_fen=p.arrears_paid_fen or 0, amount_fen=p.arrears_fen)))
    if p.carryover_fen:
        sources = carried_from or []
        items.append(PaymentItem("carryover", "、".join(sources) or period, p.carryover_fen,
                                 explain_carryover(periods=sources, amount_fen=p.carryover_fen)))
    return items


def explain_payment(p: Payment, *, carried_from: list[str] | None = None) -> str:
    """A line's explanation: its parts' explanations, joined ("(460−100)×3 = 1080；补发 …")."""
    return "；".join(i.explanation for i in payment_items(p, period="", carried_from=carried_from))


def items_of_lines(session: Session, rows: list[tuple[Payment, str]]) -> list[tuple[PaymentItem, Payment]]:
    """(line, its cycle's period) pairs as display rows: one per part, each with its line (status, note)."""
    sources = carried_sources(session, [p for p, _ in rows])
    return [(item, p) for p, period in rows
            for item in payment_items(p, period=period, carried_from=sources.get((p.cycle_id, p.case_id)))]


def case_payment_items(session: Session, case_id: int) -> list[tuple[PaymentItem, Payment, Cycle]]:
    """A case's payment history, newest first: one row per part of each line, with its line and cycle."""
    lines = payments_of_case(session, case_id)
    cycles = {p.cycle_id: c for p, c in lines}
    rows = items_of_lines(session, [(p, c.period) for p, c in lines])
    return [(item, p, cycles[p.cycle_id]) for item, p in rows]
