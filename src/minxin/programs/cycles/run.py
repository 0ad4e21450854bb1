"""Running a cycle: one program, one month, one county, computed set-based in one transaction.

A cycle is computed in a handful of SQL statements over all active cases of its county (INSERT …
SELECT), never a Python loop per case, so a million cases take seconds. Everything a run writes
happens in the caller's single transaction: a run killed halfway leaves the whole cycle or none.
The city runs every county at once, each county its own cycle and its own transaction
(`run_county_cycles`): one county failing leaves the others whole.

What a cycle writes is one payment line per case (see models.Payment): the period's regular amount
(from the program's calculator), the arrears (补发) a back-dated standard adds to earlier months and
failed bank payments paid again, each part with the facts that explain it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import Perm, can_see, get_user, has_perm, require
from minxin.core.divisions import county_of
from minxin.core.errors import Conflict, Forbidden, MinxinError, ValidationError
from minxin.core.period import Period
from minxin.infra.clock import today
from minxin.infra.db import checkpoints_beside, is_sqlite, utcnow
from minxin.infra.settings import get_settings
from minxin.programs.calculator import Calculator, get_calculator
from minxin.programs.cycles import arrears
from minxin.programs.cycles.scratch import (
    ISLAND_OR_NONE,
    LINE_COLUMNS,
    NO_ARREARS,
    NO_REGULAR,
    bulk_reads,
    county_bounds,
    dated,
    key_lookups,
    resolve_standards,
    run_sql,
    scratch,
    tune,
)
from minxin.programs.models import Cycle, Program
from minxin.programs.service import get_program, program_policy
from minxin.registry.models import Region

Progress = Callable[[str, int, int], None]


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
    county: str = ""
    county_name: str = ""
    by_county: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"cycle_id": self.cycle_id, "program": self.program, "period": self.period, "county": self.county,
                "county_name": self.county_name, "status": self.status, "cases": self.cases,
                "total_fen": self.total_fen, "arrears_fen": self.arrears_fen, "carryover_fen": self.carryover_fen,
                "by_county": self.by_county}


@dataclass
class CityRun:
    """Every county's cycle of one program and month: the city's sums and each county's cycle (or its error)."""

    program: str
    period: str
    cycles: list[CycleSummary] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"program": self.program, "period": self.period,
                "cases": sum(c.cases for c in self.cycles), "total_fen": sum(c.total_fen for c in self.cycles),
                "arrears_fen": sum(c.arrears_fen for c in self.cycles),
                "carryover_fen": sum(c.carryover_fen for c in self.cycles),
                "cycles": [c.as_json() for c in self.cycles], "failed": self.failed}


# ---- counties --------------------------------------------------------------------------------------

def city_code() -> str:
    return get_settings().city_code


def city_counties(session: Session) -> list[Region]:
    """The counties (and districts) of the city, in code order; abolished codes are not counties."""
    lo, hi = county_bounds(city_code())
    return list(session.execute(select(Region).where(
        Region.level == "county", Region.alias_of.is_(None), Region.code >= lo, Region.code < hi)
        .order_by(Region.code)).scalars())


def runnable_counties_for(session: Session, user: User) -> list[Region]:
    """The counties whose cycles the user may run, in code order (none for a role that runs no cycles)."""
    if not has_perm(user, Perm.CYCLES_RUN):
        return []
    return [r for r in city_counties(session) if can_see(user, r.code)]


def runs_every_county(user: User, county: str | None) -> bool:
    """Whether a run that names no county means every county's: it does for a user of the city's scope."""
    return not (county or "").strip() and county_of(user.scope_code) is None


def county_for_run(session: Session, actor: User, county: str | None) -> str:
    """The county a run is for: the one named (inside the actor's scope), or the actor's own county."""
    if county:
        county = county.strip()
        region = session.get(Region, county)
        if region is None or region.level != "county" or region.alias_of or (not can_see(actor, county) and \
                not can_see(actor, county + "000")):
            if region is not None and region.level == "county" and not region.alias_of:
                raise Forbidden(f"{region.name}（{county}）不在您的辖区内 (county outside your scope)")
            raise ValidationError(f"不是本市的县区代码：{county} (not a county of the city)", field="county")
        return county
    own = county_of(actor.scope_code)
    if own is None:
        raise ValidationError("市级用户须用 --county 指定县区，或不指定以计算全部县区 (name a county)", field="county")
    return own


def _check_period(period: Period) -> None:
    """A cycle is computed for a month that has begun, or next month (paid ahead); never later."""
    latest = Period.of(today()).add(1)
    if period > latest:
        raise ValidationError(f"不能计算 {latest} 以后月份的发放周期 (cycles beyond next month are refused)",
                              field="period")


# ---- the cycle ------------------------------------------------------------------------------------

def _take_cycle(session: Session, *, program: str, period: Period, county: str, actor: User) -> Cycle:
    """Get or create the one cycle of (program, period, county), locked for this transaction."""
    legacy = session.execute(select(Cycle.id).where(
        Cycle.program_code == program, Cycle.period == str(period), Cycle.county_code == city_code())).scalar()
    if legacy is not None and county != city_code():
        raise Conflict(f"{period} 已有全市发放周期 {legacy}（按县区发放之前计算），该月不再按县区计算 "
                       "(a city-wide cycle exists for this month)")
    values = {"program_code": program, "period": str(period), "county_code": county, "status": "draft",
              "run_by": actor.username, "cases": 0, "total_fen": 0, "arrears_fen": 0, "carryover_fen": 0,
              "paid_fen": 0, "failed_fen": 0}
    if is_sqlite(session):
        session.execute(sqlite_dialect.insert(Cycle).values(**values).on_conflict_do_nothing())
        stmt = select(Cycle)
    else:
        session.execute(pg_dialect.insert(Cycle).values(**values).on_conflict_do_nothing())
        stmt = select(Cycle).with_for_update()
    return session.execute(stmt.where(Cycle.program_code == program, Cycle.period == str(period),
                                      Cycle.county_code == county)
                           .execution_options(populate_existing=True)).scalar_one()


def run_cycle(session: Session, *, actor: User, program: str, period: Period, county: str | None = None,
              progress: Progress | None = None) -> CycleSummary:
    """Compute (or return) the cycle of a program for a month in one county.

    1. Take the one cycle row for (program, period, county); an approved cycle is returned unchanged.
       The county is the one named (inside the actor's scope) or the actor's own.
    2. A draft is recomputed from current data: its lines are deleted and the failed payments it
       had carried are released (and the calculator releases what it had taken).
    3. Resolve the standards in force for the period and for the earlier approved cycles that a
       standard added since reaches back into (arrears, 补发).
    4. Regular payments: one INSERT … SELECT over the county's active cases, by the program's
       calculator. When earlier cycles are reached and the calculator can check them in one pass,
       the same pass adds the arrears of every case whose months agree (arrears.fast_arrears); the
       other cases' arrears are computed month by month from the facts stored on their lines.
    5. Carry-overs: failed payments of reconciled cycles, each carried once, added to the lines.
    6. Totals, and one audit entry.
    """
    require(actor, Perm.CYCLES_RUN)
    _check_period(period)
    prog = get_program(session, program)
    policy = program_policy(program)
    calc = get_calculator(prog.calculator)
    county = county_for_run(session, actor, county)
    step_total = 6

    def tick(label: str, n: int) -> None:
        if progress:
            progress(label, n, step_total)

    tick("准备", 0)
    cycle = _take_cycle(session, program=program, period=period, county=county, actor=actor)
    if cycle.status != "draft":
        return summarize(session, cycle)
    tune(session)
    session.execute(text("DELETE FROM payments WHERE cycle_id = :c"), {"c": cycle.id})
    session.execute(text("UPDATE failed_payments SET carried_into = NULL WHERE carried_into = :c"), {"c": cycle.id})
    calc.before_regular(session, cycle=cycle, period=period)
    cycle.run_by = actor.username
    scratch(session, calc)
    tick("标准", 1)
    past = arrears.cycles_needing_arrears(session, program=prog, calc=calc, county=county, city=city_code(),
                                          period=period)
    resolve_standards(session, program=prog, policy=policy, calc=calc, county=county, period=period,
                      reached=[Period.parse(c.period) for c in past])
    later = arrears.reach(session, cycle=cycle, program=prog, past=past, city=city_code())
    lo, hi = county_bounds(county)
    params: dict[str, Any] = {"c": cycle.id, "p": prog.code, "period": str(period), "lo": lo, "hi": hi,
                              **calc.params(policy, period)}
    tick("计算", 2)
    if not past:
        _insert_regular(session, calc=calc, params=params)
    elif not later and len(past) <= arrears.FAST_ARREARS_CYCLES and calc.one_pass_arrears:
        arrears.fast_arrears(session, cycle=cycle, calc=calc, params=params, period=period, past=past)
        tick("补发", 3)
        with key_lookups(session):
            if arrears.arrears_groups(session, cycle=cycle, calc=calc, later=later, only_todo=True):
                arrears.fold_arrears(session, cycle=cycle)
                arrears.insert_unfolded_arrears(session, cycle=cycle)
            arrears.finish_arrears(session, cycle=cycle)
    else:
        tick("补发", 3)
        with bulk_reads(session):
            found = arrears.arrears_groups(session, cycle=cycle, calc=calc, later=later, only_todo=False)
        _insert_regular(session, calc=calc, params=params, with_arrears=found)
        if found:
            with key_lookups(session):
                arrears.insert_unfolded_arrears(session, cycle=cycle)
    calc.after_regular(session, cycle=cycle, period=period)
    tick("重发", 4)
    with key_lookups(session):
        _insert_carryover(session, cycle=cycle, period=period)
    tick("汇总", 5)
    counties = _update_totals(session, cycle)
    cycle.computed_at = utcnow()
    session.flush()
    audit.record(session, actor=actor.username, action="cycle.run", entity="cycle", entity_id=cycle.id,
                 region_code=county,
                 detail={"program": program, "period": str(period), "county": county, "cases": cycle.cases,
                         "total_fen": cycle.total_fen, "arrears_fen": cycle.arrears_fen,
                         "carryover_fen": cycle.carryover_fen})
    tick("完成", 6)
    return summarize(session, cycle, counties=counties)


def run_county_cycles(open_work: Callable[[], AbstractContextManager[Session]], *, actor: str, program: str,
                      period: Period, counties: list[str] | None = None,
                      progress: Callable[[str, int, int], None] | None = None, parallel: int = 1) -> CityRun:
    """Run a program's month for every county of the city (or those named), each county its own cycle in
    its own transaction: `open_work()` opens one unit of work (commits when the block ends without an
    error). A county that fails is reported in `failed` and leaves the others whole.

    1. Check, in a first short transaction, that the actor may run the city's cycles (city scope).
    2. For each county: a unit of work, the actor read anew, run_cycle. With `parallel` above 1 (only
       where each unit of work is its own connection: PostgreSQL, see city_run_workers), that many
       counties are computed at the same time, in threads; the counties' cycles touch disjoint rows,
       and their audit entries are chained one after another (audit.record's lock). The result lists
       the counties in code order whatever order they finished in.
    """
    with open_work() as session:
        user = get_user(session, actor)
        require(user, Perm.CYCLES_RUN)
        _check_period(period)
        get_program(session, program)
        if county_of(user.scope_code) is not None:
            raise Forbidden("只有市级用户可以一次计算全部县区 (city scope required to run every county)")
        codes = counties or [r.code for r in city_counties(session)]
        engine = session.get_bind().engine
    result = CityRun(program=program, period=str(period))
    done: dict[str, CycleSummary | str] = {}
    lock = threading.Lock()

    def one(code: str) -> None:
        try:
            with open_work() as session:
                summary = run_cycle(session, actor=get_user(session, actor), program=program, period=period,
                                    county=code)
            outcome: CycleSummary | str = summary
        except MinxinError as exc:
            outcome = exc.message
        with lock:
            done[code] = outcome
            if progress:
                progress(code, len(done), len(codes))

    if progress:
        progress("开始", 0, len(codes))
    workers = max(1, min(parallel, len(codes)))
    if workers == 1:
        # SQLite (one writer): the counties one after another, each one's WAL pages copied into the
        # database file on another core while the next is computed.
        with checkpoints_beside(engine):
            for code in codes:
                one(code)
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="county-cycle") as pool:
            for future in [pool.submit(one, code) for code in codes]:
                future.result()  # an unexpected error is raised here, once the others have finished
    for code in codes:
        outcome = done[code]
        if isinstance(outcome, CycleSummary):
            result.cycles.append(outcome)
        else:
            result.failed.append({"county": code, "error": outcome})
    if progress:
        progress("完成", len(codes), len(codes))
    return result


def city_run_workers(engine: Engine) -> int:
    """How many counties a city run computes at the same time on this database: MINXIN_CYCLE_WORKERS,
    else one per CPU core on PostgreSQL (each county's statements run on one core of the server);
    always one on SQLite, which has one writer at a time."""
    if engine.dialect.name == "sqlite":
        return 1
    configured = get_settings().cycle_workers
    return configured if configured > 0 else max(1, os.cpu_count() or 1)


def _insert_regular(session: Session, *, calc: Calculator, params: dict[str, Any], with_arrears: bool = False
                    ) -> None:
    """One line per active case with a regular amount, carrying the case's first arrears group along."""
    fold, join = (ISLAND_OR_NONE, "LEFT JOIN mx_isl i ON i.case_id = r.case_id AND i.rank = 0") if with_arrears \
        else (NO_ARREARS, "")
    amount = "r.amount + COALESCE(i.arrears_fen, 0)" if with_arrears else "r.amount"
    stmt = text(f"""
INSERT INTO payments ({LINE_COLUMNS})
SELECT :c, r.case_id, 0, r.region_code, {amount}, r.amount, r.category, r.rule, r.standard_fen, r.standard_id,
       r.income_fen, r.members, r.units, r.addon_fen, r.n_elderly, r.n_minor, r.n_disabled, r.n_ill, {fold}, 0,
       'pending'
FROM ({calc.regular_select(run_sql(session))}) r {join}
""")
    with bulk_reads(session):
        session.execute(dated(stmt, calc), params)


def _insert_carryover(session: Session, *, cycle: Cycle, period: Period) -> None:
    """Failed payments of reconciled cycles of the county's cases, paid again here, once.

    1. Every failed line of an earlier reconciled cycle of the program (the county's own, or a city-wide
       one of before) for a case of the county that no cycle has carried is marked as carried into this one
       (failed_payments: the few failures, apart from the lines).
    2. Per case, their sum is added to the case's line, or a line of its own is written.
    """
    lo, hi = county_bounds(cycle.county_code)
    marked = session.execute(text("""
UPDATE failed_payments SET carried_into = :c
WHERE carried_into IS NULL
  AND cycle_id IN (SELECT id FROM cycles WHERE program_code = :p AND status = 'reconciled' AND period < :period)
  AND case_id IN (SELECT id FROM cases WHERE region_code >= :lo AND region_code < :hi)
"""), {"c": cycle.id, "p": cycle.program_code, "period": str(period), "lo": lo, "hi": hi})
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
SELECT :c, k.case_id, 0, c.region_code, k.fen, {NO_REGULAR}, {NO_ARREARS}, k.fen, 'pending'
FROM mx_car k JOIN cases c ON c.id = k.case_id
WHERE NOT EXISTS (SELECT 1 FROM payments p WHERE p.cycle_id = :c AND p.case_id = k.case_id AND p.seq = 0)
"""), {"c": cycle.id})


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
    names = county_names(session)
    keys = ("cases", "total_fen", "regular_fen", "arrears_fen", "carryover_fen", "paid_fen", "failed_fen")
    counties: dict[str, dict[str, Any]] = {}
    for region, *sums in rows:
        county = str(region)[:6]
        row = counties.setdefault(county, {"county": county, "name": names.get(county, county),
                                           **dict.fromkeys(keys, 0)})
        for key, value in zip(keys, sums, strict=True):
            row[key] += int(value)
    return [counties[k] for k in sorted(counties)]


def county_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Region.code, Region.name).where(Region.level.in_(("county", "city")))).all())


def summarize(session: Session, cycle: Cycle, *, counties: list[dict[str, Any]] | None = None) -> CycleSummary:
    return CycleSummary(cycle_id=cycle.id, program=cycle.program_code, period=cycle.period, status=cycle.status,
                        cases=cycle.cases, total_fen=cycle.total_fen, arrears_fen=cycle.arrears_fen,
                        carryover_fen=cycle.carryover_fen, county=cycle.county_code,
                        county_name=county_names(session).get(cycle.county_code, cycle.county_code),
                        by_county=counties if counties is not None else county_totals(session, cycle.id))


def iter_programs(session: Session) -> Iterator[Program]:
    yield from session.execute(select(Program).order_by(Program.code)).scalars()
