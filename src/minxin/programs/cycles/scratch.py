"""What every cycle run shares: its scratch tables, the line columns, the standards in force, the county
bounds and the database settings of the run's transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import Date, bindparam, select, text
from sqlalchemy.orm import Session

from minxin.core.divisions import scope_prefix
from minxin.core.period import Period
from minxin.infra.db import is_sqlite
from minxin.programs.calculator import Calculator, RunSql
from minxin.programs.models import Program, Standard
from minxin.programs.policy import ProgramPolicy
from minxin.registry.models import Region

# Scratch tables of one cycle run (temporary: per connection, never written to the WAL).
# mx_std: the standard in force per (period, region, category) for the periods the run computes, with
#         the calculator's own per-standard values (its standard_terms); for the cycle's own period,
#         same_mask bit k says the reached cycle k has that very standard now.
# mx_per: the earlier cycles a back-dated standard reaches, with their month offset from the first.
# mx_prev: arrears already paid for those months by later cycles, per case and month.
# mx_todo: the cases of an arrears run whose months need the month-by-month computation.
# mx_isl: their arrears, per case in groups of months that share facts, standard and paid.
# mx_car: failed payments carried into this cycle, per case.
_SCRATCH_DDL = (
    """CREATE TEMPORARY TABLE IF NOT EXISTS mx_per (
    cycle_id INTEGER NOT NULL PRIMARY KEY, period VARCHAR(7) NOT NULL, idx INTEGER NOT NULL, off INTEGER NOT NULL)""",
    """CREATE TEMPORARY TABLE IF NOT EXISTS mx_prev (
    case_id INTEGER NOT NULL, off INTEGER NOT NULL, paid BIGINT NOT NULL, PRIMARY KEY (case_id, off))""",
    """CREATE TEMPORARY TABLE IF NOT EXISTS mx_todo (case_id INTEGER NOT NULL PRIMARY KEY)""",
    """CREATE TEMPORARY TABLE IF NOT EXISTS mx_isl (
    case_id INTEGER NOT NULL, rank INTEGER NOT NULL, arrears_fen BIGINT NOT NULL, arrears_from VARCHAR(7) NOT NULL,
    arrears_mask BIGINT NOT NULL, arrears_months INTEGER NOT NULL, rule VARCHAR(16) NOT NULL,
    standard_fen BIGINT, standard_id INTEGER, income_fen BIGINT, members INTEGER, units BIGINT,
    addon_fen BIGINT NOT NULL, n_elderly INTEGER NOT NULL, n_minor INTEGER NOT NULL, n_disabled INTEGER NOT NULL,
    n_ill INTEGER NOT NULL, paid_fen BIGINT NOT NULL, PRIMARY KEY (case_id, rank))""",
    """CREATE TEMPORARY TABLE IF NOT EXISTS mx_car (case_id INTEGER NOT NULL PRIMARY KEY, fen BIGINT NOT NULL)""",
)
_SCRATCH_TABLES = ("mx_per", "mx_prev", "mx_todo", "mx_isl", "mx_car")

# The columns of a payment line, in the order the INSERT … SELECT statements produce them.
PARTS = (
    "region_code, amount_fen, regular_fen, category, rule, standard_fen, standard_id, income_fen, members, units, "
    "addon_fen, n_elderly, n_minor, n_disabled, n_ill, arrears_fen, arrears_from, arrears_mask, arrears_months, "
    "arrears_rule, arrears_standard_fen, arrears_standard_id, arrears_income_fen, arrears_members, arrears_units, "
    "arrears_addon_fen, arrears_n_elderly, arrears_n_minor, arrears_n_disabled, arrears_n_ill, arrears_paid_fen")
LINE_COLUMNS = f"cycle_id, case_id, seq, {PARTS}, carryover_fen, status"
NO_REGULAR = "0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
NO_ARREARS = "0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
ISLAND = ("i.arrears_fen, i.arrears_from, i.arrears_mask, i.arrears_months, i.rule, i.standard_fen, i.standard_id, "
          "i.income_fen, i.members, i.units, i.addon_fen, i.n_elderly, i.n_minor, i.n_disabled, i.n_ill, i.paid_fen")
ISLAND_OR_NONE = ("COALESCE(i.arrears_fen, 0), i.arrears_from, i.arrears_mask, i.arrears_months, i.rule, "
                  "i.standard_fen, i.standard_id, i.income_fen, i.members, i.units, i.addon_fen, i.n_elderly, "
                  "i.n_minor, i.n_disabled, i.n_ill, i.paid_fen")

# The active cases of one run: its program, its county (a key range of region codes) and the period.
_ACTIVE = ("{c}.program_code = :p AND {c}.status = 'active' AND {c}.region_code >= :lo AND {c}.region_code < :hi "
           "AND {c}.start_period <= :period AND ({c}.end_period IS NULL OR {c}.end_period >= :period)")
ACTIVE = _ACTIVE.format(c="c")
# PostgreSQL: the households of the run's cases, for the join with `households h`. Without it the
# hash join reads every household of the city for each county's run and probes each against the
# county's cases (about 0.65 s of a 2.4 s county statement at a million cases); with it the household
# key index hands out only the run's households, read in the order they lie on disk (bitmap heap
# scan). The same cases as the join's own, so it changes no result: the raise at a million cases
# 9.0 → 7.9 s, measured side by side (bench/RESULTS.md).
_RUN_HOUSEHOLDS = " AND h.id = ANY(ARRAY(SELECT c2.household_id FROM cases c2 WHERE " + _ACTIVE.format(c="c2") + "))"


def county_bounds(county_code: str) -> tuple[str, str]:
    """The region codes of a county (or, for a city-wide cycle of before county cycles, of the city) as a
    key range [lo, hi): 320706 → ('320706', '320707'), 320700 → ('3207', '3208')."""
    prefix = scope_prefix(county_code)
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def fence(session: Session) -> str:
    """Keeps the database from merging a subquery into the query around it (which would evaluate the
    subquery's expressions again at every use): SQLite does not flatten a subquery with a LIMIT,
    PostgreSQL does not pull up one with an OFFSET."""
    return " LIMIT -1 OFFSET 0" if is_sqlite(session) else " OFFSET 0"


def run_sql(session: Session) -> RunSql:
    """What the calculators build a run's SQL from. SQLite reads the cases table in rowid order (NOT
    INDEXED) rather than through the (program, status, region) index: the index hands out a county's
    cases in region order, so every case, household and person is then fetched at random; in rowid
    order they come as stored, and the scan of the other counties' rows costs less than the random
    fetches (a 213,049-case county of a million: 5.4 → 2.5 s CPU, bench/RESULTS.md). PostgreSQL
    sorts an index's matches by their place in the table by itself (bitmap heap scan), and is told
    which households the run reads (_RUN_HOUSEHOLDS); SQLite looks each one up by its key anyway."""
    sqlite = is_sqlite(session)
    return RunSql(active=ACTIVE, fence=fence(session), sqlite=sqlite,
                  cases="cases c NOT INDEXED" if sqlite else "cases c",
                  households="" if sqlite else _RUN_HOUSEHOLDS)


def dated(stmt: Any, calc: Calculator) -> Any:
    """Bind the calculator's date parameters as dates (PostgreSQL compares them with date columns)."""
    return stmt.bindparams(*(bindparam(name, type_=Date) for name in calc.date_params)) if calc.date_params \
        else stmt


def scratch(session: Session, calc: Calculator) -> None:
    """Create (once per connection) and empty the run's scratch tables; mx_std anew, with the calculator's
    own per-standard columns.

    On SQLite they are WITHOUT ROWID: a lookup is one search of the key, not two (half the cost of a
    million standard look-ups)."""
    suffix = " WITHOUT ROWID" if is_sqlite(session) else ""
    session.execute(text("DROP TABLE IF EXISTS mx_std"))
    extra = "".join(f", {term} BIGINT NOT NULL" for term in calc.standard_terms)
    session.execute(text(
        "CREATE TEMPORARY TABLE mx_std (period VARCHAR(7) NOT NULL, region_code VARCHAR(12) NOT NULL, "
        f"category VARCHAR(16) NOT NULL, standard_fen BIGINT NOT NULL, standard_id INTEGER NOT NULL{extra}, "
        f"same_mask BIGINT NOT NULL, PRIMARY KEY (period, region_code, category)){suffix}"))
    for ddl in _SCRATCH_DDL:
        session.execute(text(ddl + suffix))
    for table in _SCRATCH_TABLES:
        session.execute(text(f"DELETE FROM {table}"))


def analyze(session: Session, *tables: str) -> None:
    """PostgreSQL: statistics for a scratch table just filled (autovacuum never sees temporary tables).

    Not for payments: ANALYZE samples a fixed number of rows of the whole table, 0.5–0.8 s however
    small the county, in each county's run (3.4 s of a city's six, bench/RESULTS.md); the statements
    after the lines are written say how they are to be planned instead (bulk_reads, key_lookups)."""
    if not is_sqlite(session):
        for table in tables:
            session.execute(text(f"ANALYZE {table}"))


def tune(session: Session) -> None:
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


@contextmanager
def _planner(session: Session, settings: dict[str, str]) -> Iterator[None]:
    """PostgreSQL planner settings for the statements of the block (this transaction only), restored
    to the session's after it; SQLite plans each statement as the run's SQL says: nothing to set."""
    if is_sqlite(session):
        yield
        return
    for name, value in settings.items():
        session.execute(text(f"SET LOCAL {name} = {value}"))
    try:
        yield
    finally:
        for name in settings:
            session.execute(text(f"SET LOCAL {name} TO DEFAULT"))


def bulk_reads(session: Session) -> AbstractContextManager[None]:
    """For the statements that read a county's share of the registry (a fifth of the cases, their
    households, their lines in earlier cycles): no nested loops over index look-ups, no plain index
    scans. PostgreSQL then reads a county's cases in the order they lie on disk (bitmap heap scan) and
    joins by hashing, each page read once; looked up one by one, each of 200,000 cases costs a few
    random page reads, and the registry does not fit in a default buffer pool (128 MB): the largest
    county of a million cases read 1.1 million buffers in 6 s instead of 49,000 in 1.2 s
    (bench/RESULTS.md)."""
    return _planner(session, {"enable_nestloop": "off", "enable_indexscan": "off"})


def key_lookups(session: Session) -> AbstractContextManager[None]:
    """For the statements driven by a run's few todo cases, arrears groups or carried failures (the
    scratch tables): each row looks its line or case up by key (nested loops), never a hash of the
    cycle's lines or of the cases. The cycle's lines just written have no statistics (ANALYZE samples
    the whole payments table, 0.5–0.8 s in every county's run), so the planner's own choice can be
    a hash of millions of lines, or the cycle's 200,000 lines read once and walked again for each of
    1,600 arrears groups (23 s for one county, bench/RESULTS.md)."""
    return _planner(session, {"enable_hashjoin": "off", "enable_mergejoin": "off", "enable_material": "off"})


def resolve_standards(session: Session, *, program: Program, policy: ProgramPolicy, calc: Calculator,
                      county: str, period: Period, reached: list[Period]) -> int:
    """Fill mx_std with the standard in force for every region of the county and category at the end of
    the cycle's period and of each reached earlier period.

    Lookup per DESIGN: the most specific region along the region's chain of ancestors, then the
    latest effective date. Python works per region (thousands), never per case. The cycle's own rows
    carry same_mask: bit k set when reached period k has that same standard in force now.
    """
    if not calc.uses_standards:
        return 0
    lo, hi = county_bounds(county)
    parents = dict(session.execute(select(Region.code, Region.parent_code)).all())
    regions = [code for code in parents if lo <= code < hi]
    categories = [*program.category_list, ""] if program.category_list else [""]

    def in_force(p: Period) -> dict[tuple[str, str], tuple[int, int]]:
        standards: dict[tuple[str, str], tuple[int, int]] = {}
        for sid, region, category, amount in session.execute(
            select(Standard.id, Standard.region_code, Standard.category, Standard.amount_fen)
            .where(Standard.program_code == program.code, Standard.effective_from <= p.last_day())
            .order_by(Standard.effective_from, Standard.id)
        ):
            standards[(region, category)] = (sid, amount)  # later rows win: the latest date in force
        resolved: dict[tuple[str, str], tuple[int, int]] = {}
        for region_code in regions:
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
                         "standard_fen": amount, "standard_id": sid, "same_mask": same,
                         **calc.standard_values(policy, amount)})
    if rows:
        names = ["period", "region_code", "category", "standard_fen", "standard_id", *calc.standard_terms,
                 "same_mask"]
        session.execute(text(f"INSERT INTO mx_std ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"),
                        rows)
    analyze(session, "mx_std")
    return len(rows)
