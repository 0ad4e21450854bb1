"""Benchmark: the 低保 payment-cycle engine at a million households, every county of the city.

    python bench/bench_cycle.py --keep                       # 1,000,000 cases, SQLite and PostgreSQL, 3 runs
    python bench/bench_cycle.py --cases 100000 --orm-cases 20000 --runs 1 --db sqlite
    python bench/bench_cycle.py --keep --record              # also append the results to bench/RESULTS.md

A cycle is one program, one month and one county. What the issue times is the city's month: a city
user's `minxin cycle run dibao YYYY-MM` runs every county (`run_county_cycles`), each county its
own cycle in its own transaction (unit of work, committed before the next county starts). Every
"cycle" below is that whole city run, timed from the first transaction to the last commit; its
rows and totals are the sums over the county cycles (the six counties' cycles together hold one
line per paid case of the city, as the one city-wide cycle did before).

What is measured, per database (targets from the issue):

1. cycle   the city run of one fresh period over N active 低保 cases spread over all counties
           (target < 10 s at 1M).
2. floor   a bare bulk insert of the same rows the county cycles wrote (their union, into one
           scratch cycle, in one transaction: the cost of writing that many lines; the city run's
           extra commits cost milliseconds): executemany (SQLite ?-placeholders; psycopg's pipelined
           executemany) and, on PostgreSQL, COPY FROM STDIN as a stricter floor, and an INSERT …
           SELECT copy inside the database. Target: cycle ≤ 2× floor.
3. orm     a row-at-a-time ORM loop doing the same calculation (per county one Cycle and one commit;
           per case Case, Household, members through the ORM, standard_in_force,
           assistance.dibao.rules.dibao_entitlement, session.add(Payment)) on a separate database of
           --orm-cases cases, against the city run on that database. Target: ≥ 20× faster; the ORM
           loop's total must equal the city run's, case by case over the union of the county cycles.
4. arrears city runs of 2012-07 and 2012-08, every county cycle of both approved (by another user than
           the runner), then a back-dated raise of both city standards effective 2012-07-01, then the
           timed city run of 2012-09 (each county: regular + arrears for 2 periods) + commits.
           Target < 10 s at 1M.

Each timed section reports wall seconds (the targets), CPU seconds (this process on SQLite, the
server backends of the engine's connections on PostgreSQL: less sensitive to a busy machine) and
this process's peak RSS during the section (VmHWM, reset before each section). Runs are repeated
--runs times; medians are reported. --profile adds the slowest statements of the first run, summed
over its county cycles, and each county's seconds.

Databases are built by bench/cycle_data.py (≈ 2 minutes per million households per database).
With --keep they are cached, keyed by N: bench/out/cycle_<N>.db (gitignored) and the PostgreSQL
database minxin_bench_cycle_<N>; every invocation first resets them to the built state (no cycles,
no payments, no benchmark standards). After a PostgreSQL build the tables are VACUUM ANALYZEd, the
state autovacuum reaches shortly after a bulk load; without statistics the planner picks nested
loops and the cycle is several times slower (see RESULTS.md).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import itertools
import json
import os
import re
import resource
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cycle_data  # the bench folder is not a package: found through sys.path above
from common import machine_info
from sqlalchemy import Engine, create_engine, event, or_, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.core.period import Period
from minxin.infra.db import make_engine, write_lock

if TYPE_CHECKING:
    from minxin.programs.cycles import CityRun

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "RESULTS.md"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1/postgres"
BENCH_SOURCE = "bench_cycle: back-dated raise"
CITY = "320700"
RAISE_FEN = {"城镇": 4_000, "农村": 3_000}  # +40 and +30 yuan a month from 2012-07-01
TARGET_CYCLE_S = 10.0
TARGET_FLOOR_RATIO = 2.0
TARGET_ORM_SPEEDUP = 20.0
TARGET_ARREARS_S = 10.0
SCRATCH_PERIOD = "2099-01"
FLOOR_LABELS = {"executemany": "bare driver executemany", "copy": "bare COPY FROM STDIN",
                "insert-select": "INSERT … SELECT copy of the same rows inside the database"}  # the floor's own cycle row (cycles are unique per program and period)


# ---- measuring -----------------------------------------------------------------------------------

def _hwm_reset() -> bool:
    """Reset this process's peak RSS (VmHWM) so the next reading covers one section only."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status_mb(key: str) -> float:
    """VmHWM (peak) or VmRSS (current) of this process in MB; ru_maxrss where /proc is missing."""
    try:
        m = re.search(rf"{key}:\s+(\d+) kB", Path("/proc/self/status").read_text())
        if m:
            return int(m.group(1)) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _release_memory() -> None:
    """Give freed memory back to the OS first, so a section's peak RSS is not an earlier section's."""
    gc.collect()
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _proc_cpu(pid: int) -> float:
    """user + system CPU seconds of a process (the PostgreSQL backend serving our connection)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


@dataclass
class Sample:
    wall: float
    cpu: float  # where the work happens: this process (SQLite) or the server backend (PostgreSQL)
    client_cpu: float  # this Python process (equal to cpu on SQLite)
    rss_mb: float  # peak RSS during the section
    rss_start_mb: float  # RSS when it began (what the process already held)
    load: float  # 1-minute load average when the section ended
    info: dict[str, Any] = field(default_factory=dict)


class Meter:
    """Times one section: wall clock, CPU where the work happens, peak RSS of this process.

    On PostgreSQL the work happens in the server backends of the engine's connections: a city run
    opens one unit of work per county, each taking a pooled connection, so the CPU of every backend
    the engine has opened (`backend_pids`) is summed."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine if engine is not None and engine.dialect.name == "postgresql" else None

    def _cpu(self) -> dict[int, float]:
        if self.engine is None:
            return {0: time.process_time()}
        return {pid: _proc_cpu(pid) for pid in backend_pids(self.engine)}

    @contextmanager
    def measure(self) -> Iterator[dict[str, float]]:
        out: dict[str, float] = {}
        _release_memory()
        out["rss_start_mb"] = _status_mb("VmRSS")
        _hwm_reset()
        c0, p0, t0 = self._cpu(), time.process_time(), time.perf_counter()
        yield out
        out["wall"] = time.perf_counter() - t0
        c1 = self._cpu()
        out["cpu"] = sum(v - c0.get(k, 0.0) for k, v in c1.items() if v == v)  # a backend born meanwhile: from 0
        out["client_cpu"] = time.process_time() - p0
        out["rss_mb"] = _status_mb("VmHWM")
        out["load"] = os.getloadavg()[0]

    @staticmethod
    def sample(m: dict[str, float], **info: Any) -> Sample:
        return Sample(m["wall"], m["cpu"], m["client_cpu"], m["rss_mb"], m["rss_start_mb"], m["load"], info)


_BACKENDS: dict[int, set[int]] = {}


def watch_backends(engine: Engine) -> None:
    """Remember the server process of every connection the engine opens (PostgreSQL)."""
    if engine.dialect.name != "postgresql" or id(engine) in _BACKENDS:
        return
    pids: set[int] = set()
    _BACKENDS[id(engine)] = pids

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        pids.add(int(dbapi_conn.info.backend_pid))

    event.listen(engine, "connect", on_connect)
    engine.dispose()  # connections opened before the listener are not in the set: start anew


def backend_pids(engine: Engine) -> list[int]:
    """The live server processes of the engine's connections."""
    pids = _BACKENDS.get(id(engine), set())
    for pid in [p for p in pids if not Path(f"/proc/{p}").exists()]:
        pids.discard(pid)
    return sorted(pids)


class StatementLog:
    """Per-statement wall time and this process's CPU time (on SQLite: the statement's own, whatever else
    the machine runs) of one engine (before/after_cursor_execute), for --profile."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rows: list[tuple[float, float, str]] = []
        self.active = False
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, _cur: Any, _stmt: str, _params: Any, _ctx: Any, _many: bool) -> None:
        conn.info["bench_t0"] = time.perf_counter()
        conn.info["bench_c0"] = time.process_time()

    def _after(self, conn: Any, _cur: Any, stmt: str, _params: Any, _ctx: Any, _many: bool) -> None:
        if self.active:
            self.rows.append((time.perf_counter() - conn.info.get("bench_t0", time.perf_counter()),
                              time.process_time() - conn.info.get("bench_c0", time.process_time()),
                              " ".join(stmt.split())))

    @contextmanager
    def capture(self) -> Iterator[list[tuple[float, float, str]]]:
        self.rows = []
        self.active = True
        try:
            yield self.rows
        finally:
            self.active = False

    @staticmethod
    def top(rows: list[tuple[float, float, str]], k: int = 8) -> list[str]:
        """The slowest statements, summed over the county cycles of a city run (× how often it ran), wall
        and (in brackets) this process's CPU seconds."""
        total: dict[str, list[tuple[float, float]]] = {}
        for d, c, stmt in rows:
            total.setdefault(stmt[:150], []).append((d, c))
        ranked = sorted(total.items(), key=lambda kv: -sum(d for d, _ in kv[1]))[:k]
        return [f"{sum(d for d, _ in ds):7.3f} s ({sum(c for _, c in ds):6.3f} CPU) ×{len(ds):<2} "
                f"(max {max(d for d, _ in ds):.3f})  {stmt}" for stmt, ds in ranked] + \
            [f"{sum(d for d, _, _ in rows):7.3f} s ({sum(c for _, c, _ in rows):6.3f} CPU)  all {len(rows)} statements"]


# ---- databases -----------------------------------------------------------------------------------

@dataclass
class Db:
    backend: str
    n: int
    engine: Engine
    where: str  # file path or database name
    built_s: float | None  # None: reused from the cache
    population: dict[str, int]


def _meta(n: int) -> dict[str, Any]:
    """What a cached database must match: generator, seed, N, the migrations' head and the policy file."""
    import hashlib

    from alembic.script import ScriptDirectory

    from minxin.infra.migrate import alembic_config
    from minxin.programs.policy import policy_path

    heads = ",".join(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))
    policy = hashlib.sha256(policy_path().read_bytes()).hexdigest()[:12]
    return {"generator": cycle_data.GENERATOR_VERSION, "seed": cycle_data.SEED, "n": n, "schema": heads,
            "policy": policy}


def _pg_admin(url: str) -> Engine:
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def open_db(backend: str, n: int, *, keep: bool, pg_url: str) -> Db:
    """The benchmark database of n cases: reused from the cache (--keep) or built now."""
    want = _meta(n)
    if backend == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"cycle_{n}.db"
        meta_path = OUT / f"cycle_{n}.json"
        cached = None
        if keep and path.exists() and meta_path.exists():
            cached = json.loads(meta_path.read_text())
        if cached and all(cached.get(k) == v for k, v in want.items()):
            engine = make_engine(f"sqlite:///{path}")
            return Db(backend, n, engine, str(path), None, cached["population"])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        meta_path.unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{path}")
        t0 = time.perf_counter()
        cycle_data.prepare(engine)
        pop = cycle_data.load(engine, n)
        built = time.perf_counter() - t0
        population = {"households": pop.households, "persons": pop.persons, "cases": pop.cases}
        meta_path.write_text(json.dumps({**want, "population": population, "build_s": round(built, 1)}))
        return Db(backend, n, engine, str(path), built, population)

    name = f"minxin_bench_cycle_{n}"
    admin = _pg_admin(pg_url)
    with admin.connect() as conn:
        row = conn.execute(text("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :d"),
                           {"d": name}).first()
    url = make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    if keep and row is not None and row[0]:
        cached = json.loads(row[0])
        if all(cached.get(k) == v for k, v in want.items()):
            admin.dispose()
            return Db(backend, n, make_engine(url), name, None, cached["population"])
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(url)
    t0 = time.perf_counter()
    cycle_data.prepare(engine)
    pop = cycle_data.load(engine, n)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
    built = time.perf_counter() - t0
    population = {"households": pop.households, "persons": pop.persons, "cases": pop.cases}
    comment = json.dumps({**want, "population": population, "build_s": round(built, 1)}).replace("'", "''")
    with admin.connect() as conn:
        conn.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{comment}'"))
    admin.dispose()
    return Db(backend, n, engine, name, built, population)


def drop_db(db: Db, pg_url: str) -> None:
    db.engine.dispose()
    if db.backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db.where}{suffix}").unlink(missing_ok=True)
        (OUT / f"cycle_{db.n}.json").unlink(missing_ok=True)
    else:
        admin = _pg_admin(pg_url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db.where}" WITH (FORCE)'))
        admin.dispose()


def _vacuum(engine: Engine, *tables: str) -> None:
    """PostgreSQL: reclaim what a clean-up deleted (autovacuum may be off), so runs start alike."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for t in tables:
            conn.execute(text(f"VACUUM (ANALYZE) {t}"))


def delete_cycles(engine: Engine, ids: list[int], *, vacuum: bool = True) -> None:
    if not ids:
        return
    with write_lock(), engine.begin() as conn:
        for cid in ids:
            conn.execute(text("DELETE FROM payments WHERE cycle_id = :c"), {"c": cid})
            conn.execute(text("DELETE FROM cycles WHERE id = :c"), {"c": cid})
    if vacuum:
        _vacuum(engine, "payments", "cycles")


def reset(engine: Engine) -> None:
    """Back to the built state: no cycles, no payments, no raise added by this benchmark."""
    with write_lock(), engine.begin() as conn:
        n = conn.execute(text("SELECT count(*) FROM cycles")).scalar_one()
        conn.execute(text("DELETE FROM payments"))
        conn.execute(text("DELETE FROM cycles"))
        conn.execute(text("DELETE FROM standards WHERE source = :s"), {"s": BENCH_SOURCE})
    if n:
        _vacuum(engine, "payments", "cycles", "standards")


def _users(session: Session) -> tuple[User, User]:
    from minxin.auth.service import ensure_system_user, get_user

    return ensure_system_user(session), get_user(session, cycle_data.APPROVER)


# ---- the sections --------------------------------------------------------------------------------

def timed_cycle(engine: Engine, period: Period, log: StatementLog | None = None) -> tuple[CityRun, Sample]:
    """The city's run of every county + their commits, as `minxin cycle run dibao YYYY-MM` does for a
    city user: run_county_cycles, each county its own cycle in its own unit of work (transaction), timed
    as a whole. Per-county wall times go into the sample's info."""
    from minxin.infra.db import unit_of_work
    from minxin.programs.cycles import city_run_workers, run_county_cycles

    with Session(engine) as s:
        runner, _ = _users(s)
        username = runner.username
    marks: list[tuple[str, float]] = []

    def progress(label: str, _k: int, _n: int) -> None:
        marks.append((label, time.perf_counter()))

    meter = Meter(engine)
    with meter.measure() as m:
        if log is not None:
            with log.capture() as stmts:
                city = run_county_cycles(lambda: unit_of_work(engine, write=True), actor=username, program="dibao",
                                         period=period, progress=progress, parallel=city_run_workers(engine))
        else:
            city = run_county_cycles(lambda: unit_of_work(engine, write=True), actor=username, program="dibao",
                                     period=period, progress=progress, parallel=city_run_workers(engine))
    if city.failed:
        delete_cycles(engine, [c.cycle_id for c in city.cycles])
        raise SystemExit(f"county cycles failed: {city.failed}")
    sums = city.as_json()
    # Each mark is a county finishing (the first: the start): its time since the mark before. With
    # counties computed side by side (PostgreSQL) these are the intervals between finishes.
    counties = {label: round(b - a, 3) for (_, a), (label, b) in itertools.pairwise(marks) if label != "完成"}
    info: dict[str, Any] = {"cycle_ids": [c.cycle_id for c in city.cycles], "counties": len(city.cycles),
                            "cases": sums["cases"], "total_fen": sums["total_fen"], "arrears_fen": sums["arrears_fen"],
                            "county_cases": {c.county: c.cases for c in city.cycles}, "county_s": counties}
    if log is not None:
        per_county = ", ".join(f"{k} {v:.2f} ({info['county_cases'].get(k, 0):,} lines)"
                               for k, v in counties.items())
        info["profile"] = [*StatementLog.top(stmts), f"per county (s): {per_county}"]
    return city, Meter.sample(m, **info)


def _payment_columns() -> list[str]:
    from minxin.programs.cycles import LINE_COLUMNS

    return [c.strip() for c in LINE_COLUMNS.split(",")]


def _in(ids: list[int]) -> str:
    """An IN list of cycle ids (integers we made ourselves)."""
    return "(" + ", ".join(str(int(i)) for i in ids) + ")"


def payment_rows(engine: Engine, cycle_ids: list[int]) -> list[tuple[Any, ...]]:
    """The lines of the county cycles of one city run, the union, in case order."""
    cols = _payment_columns()
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            f"SELECT {', '.join(cols)} FROM payments WHERE cycle_id IN {_in(cycle_ids)} ORDER BY case_id, seq"))]


def _scratch_cycle(engine: Engine) -> int:
    with write_lock(), engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO cycles (program_code, period, county_code, status, cases, total_fen, arrears_fen, "
            "carryover_fen, run_by, paid_fen, failed_fen) VALUES ('dibao', :p, :city, 'draft', 0, 0, 0, 0, 'bench', 0, 0)"),
            {"p": SCRATCH_PERIOD, "city": CITY})
        return int(conn.execute(text("SELECT id FROM cycles WHERE program_code = 'dibao' AND period = :p"),
                                {"p": SCRATCH_PERIOD}).scalar_one())


def floor_insert(engine: Engine, rows: list[tuple[Any, ...]], how: str) -> Sample:
    """The same rows into a fresh scratch cycle through the bare driver: executemany or COPY, + commit.

    The rows of every county cycle go into one scratch cycle in one transaction: the floor is the
    cost of writing that many lines, without the five extra commits of a city run (milliseconds)."""
    cols = _payment_columns()
    cid = _scratch_cycle(engine)
    rows = [(cid, *r[1:]) for r in rows]
    sqlite = engine.dialect.name == "sqlite"
    try:
        with write_lock(), engine.connect() as conn:
            meter = Meter(engine)
            conn.commit()
            dbapi: Any = conn.connection.driver_connection
            with meter.measure() as m:
                conn.begin()
                if sqlite:
                    dbapi.executemany(f"INSERT INTO payments ({', '.join(cols)}) VALUES "
                                      f"({', '.join('?' * len(cols))})", rows)
                else:
                    with dbapi.cursor() as cur:
                        if how == "copy":
                            with cur.copy(f"COPY payments ({', '.join(cols)}) FROM STDIN") as cp:
                                for row in rows:
                                    cp.write_row(row)
                        else:
                            cur.executemany(f"INSERT INTO payments ({', '.join(cols)}) VALUES "
                                            f"({', '.join(['%s'] * len(cols))})", rows)
                conn.commit()
        return Meter.sample(m, rows=len(rows))
    finally:
        delete_cycles(engine, [cid])


def floor_insert_select(engine: Engine, source_cycles: list[int]) -> Sample:
    """The set-based floor: the county cycles' rows copied by one INSERT … SELECT (no computation) + commit."""
    cols = _payment_columns()
    rest = ", ".join(cols[1:])
    cid = _scratch_cycle(engine)
    try:
        with write_lock(), engine.connect() as conn:
            meter = Meter(engine)
            conn.commit()
            with meter.measure() as m, conn.begin():
                n = conn.execute(text(f"INSERT INTO payments ({cols[0]}, {rest}) SELECT :c, {rest} FROM payments "
                                      f"WHERE cycle_id IN {_in(source_cycles)}"), {"c": cid}).rowcount
        return Meter.sample(m, rows=n)
    finally:
        delete_cycles(engine, [cid])


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def orm_cycle(engine: Engine, period: Period) -> tuple[dict[int, tuple[int, str]], int, Sample]:
    """The Odoo way: per county one cycle and one transaction, as the city run does; per case, load Case,
    Household and members, look the standard up, compute, add."""
    from minxin.assistance.dibao.rules import (
        HouseholdFacts,
        dibao_entitlement,
        elderly_age,
        params_from_policy,
        parse_addons,
    )
    from minxin.programs.cycles import city_counties, county_bounds
    from minxin.programs.models import Case, Cycle, Payment
    from minxin.programs.service import program_policy, standard_in_force
    from minxin.registry.models import Household

    policy = program_policy("dibao")
    first = period.first_day()
    eld_cut = _years_before(first, elderly_age(parse_addons(policy.extra)) or 200)
    minor_cut = _years_before(first, 18)
    p = str(period)
    results: dict[int, tuple[int, str]] = {}
    cycle_ids: list[int] = []
    total = 0
    loaded = 0
    with Session(engine) as s:
        counties = [r.code for r in city_counties(s)]
    meter = Meter(engine)
    with meter.measure() as m:
        for county in counties:
            lo, hi = county_bounds(county)
            with write_lock(), Session(engine) as s, s.no_autoflush:
                runner, _ = _users(s)
                cycle = Cycle(program_code="dibao", period=p, county_code=county, status="draft",
                              run_by=runner.username)
                s.add(cycle)
                s.flush()
                cases = s.execute(select(Case).where(
                    Case.program_code == "dibao", Case.status == "active", Case.region_code >= lo,
                    Case.region_code < hi, Case.start_period <= p,
                    or_(Case.end_period.is_(None), Case.end_period >= p)).order_by(Case.id)).scalars().all()
                loaded += len(cases)
                county_total = 0
                county_cases = 0
                # Payments are written at the commit (batched by SQLAlchemy), not flushed before every
                # query of the loop: this makes the baseline faster, the comparison conservative.
                for case in cases:
                    household = s.get(Household, case.household_id)
                    assert household is not None
                    members = household.members
                    std = standard_in_force(s, program="dibao", region_code=case.region_code, period=period,
                                            category=case.category)
                    counts = {
                        "elderly": sum(1 for pe in members if pe.birth_date <= eld_cut),
                        "minor": sum(1 for pe in members if pe.birth_date > minor_cut),
                        "disabled": sum(1 for pe in members if pe.disability_grade in (1, 2)),
                        "ill": sum(1 for pe in members if pe.health_status == "重病"),
                    }
                    ent = dibao_entitlement(
                        HouseholdFacts(members=len(members), income_fen=household.monthly_income_fen,
                                       sanwu=case.sanwu, addon_counts=counts),
                        params_from_policy(policy.extra, std.amount_fen))
                    if ent.amount_fen <= 0:
                        continue
                    s.add(Payment(cycle_id=cycle.id, case_id=case.id, seq=0, region_code=case.region_code,
                                  amount_fen=ent.amount_fen, regular_fen=ent.amount_fen, category=case.category,
                                  rule=ent.rule, standard_fen=std.amount_fen, standard_id=std.id,
                                  income_fen=ent.income_fen, members=ent.members, addon_fen=ent.addon_fen,
                                  n_elderly=counts["elderly"], n_minor=counts["minor"],
                                  n_disabled=counts["disabled"], n_ill=counts["ill"], arrears_fen=0,
                                  carryover_fen=0, status="pending"))
                    results[case.id] = (ent.amount_fen, ent.rule)
                    county_total += ent.amount_fen
                    county_cases += 1
                cycle.cases, cycle.total_fen = county_cases, county_total
                total += county_total
                s.commit()
                cycle_ids.append(cycle.id)
    sample = Meter.sample(m, cases_loaded=loaded, rows=len(results), total_fen=total, counties=len(counties))
    delete_cycles(engine, cycle_ids)
    return results, total, sample


def cycle_amounts(engine: Engine, cycle_ids: list[int]) -> dict[int, tuple[int, str]]:
    """Per case, the regular amount and rule over the lines of all the given (county) cycles."""
    with engine.connect() as conn:
        return {int(c): (int(a), str(r)) for c, a, r in conn.execute(text(
            f"SELECT case_id, regular_fen, rule FROM payments WHERE cycle_id IN {_in(cycle_ids)} "
            "AND regular_fen > 0"))}


def arrears_run(engine: Engine, log: StatementLog | None, *, floor: bool = False
                ) -> tuple[Sample, list[Sample], dict[str, Sample]]:
    """City runs of 2012-07 and 2012-08, every county cycle of each approved by the approver (not the
    runner), a back-dated raise of both city standards from 2012-07-01, then the timed city run of
    2012-09 (every county: regular + arrears for the two reached months) + its commits.

    With floor, the 2012-09 county cycles' rows are then inserted again through the bare driver (the
    floor for that many rows), before the clean-up.
    """
    from minxin.programs.cycles import approve_cycle
    from minxin.programs.service import set_standard, standard_in_force

    setup: list[Sample] = []
    ids: list[int] = []
    try:
        for month in (7, 8):
            city, sample = timed_cycle(engine, Period(2012, month))
            month_ids = [c.cycle_id for c in city.cycles]
            ids.extend(month_ids)
            sample.info["label"] = f"setup: city run 2012-{month:02d} ({month - 7} approved month(s) before it)"
            setup.append(sample)
            with write_lock(), Session(engine) as s:
                _, approver = _users(s)
                for cid in month_ids:
                    approve_cycle(s, actor=approver, cycle_id=cid)
                s.commit()
        with write_lock(), Session(engine) as s:
            _, approver = _users(s)
            for category, plus in RAISE_FEN.items():
                old = standard_in_force(s, program="dibao", region_code=CITY, period=Period(2012, 7),
                                        category=category)
                set_standard(s, actor=approver, program="dibao", region_code=CITY, amount_fen=old.amount_fen + plus,
                             effective=date(2012, 7, 1), category=category, source=BENCH_SOURCE)
            s.commit()
        city, sample = timed_cycle(engine, Period(2012, 9), log)
        sep = [c.cycle_id for c in city.cycles]
        ids.extend(sep)
        with engine.connect() as conn:
            rows, regular, with_arrears, months = conn.execute(text(
                "SELECT count(*), SUM(CASE WHEN regular_fen > 0 THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN arrears_fen > 0 THEN 1 ELSE 0 END), COALESCE(SUM(arrears_months), 0) "
                f"FROM payments WHERE cycle_id IN {_in(sep)}")).one()
        sample.info.update(rows=int(rows), regular_rows=int(regular), arrears_rows=int(with_arrears),
                           arrears_months=int(months))
        floors: dict[str, Sample] = {}
        if floor:
            floors["insert-select"] = floor_insert_select(engine, sep)
            rows = payment_rows(engine, sep)
            for how in ["executemany"] + (["copy"] if engine.dialect.name == "postgresql" else []):
                floors[how] = floor_insert(engine, rows, how)
            del rows
        return sample, setup, floors
    finally:
        delete_cycles(engine, ids, vacuum=False)
        with write_lock(), engine.begin() as conn:
            conn.execute(text("DELETE FROM standards WHERE source = :s"), {"s": BENCH_SOURCE})
        _vacuum(engine, "payments", "cycles", "standards")


# ---- orchestration -------------------------------------------------------------------------------

def med(samples: list[Sample], attr: str = "wall") -> float:
    return statistics.median(getattr(s, attr) for s in samples)


def cpu(samples: list[Sample]) -> str:
    """Median CPU seconds: SQLite works in this process; on PostgreSQL the server backend and Python both count."""
    if all(s.cpu == s.client_cpu for s in samples):
        return f"{med(samples, 'cpu'):.2f}"
    return f"{med(samples, 'cpu'):.2f} server + {med(samples, 'client_cpu'):.2f} Python"


def rss(samples: list[Sample]) -> str:
    """Largest peak RSS of the runs, and what the process held when that run began."""
    top = max(samples, key=lambda s: s.rss_mb)
    return f"{top.rss_mb:.0f} (from {top.rss_start_mb:.0f})"


def runs_text(samples: list[Sample]) -> str:
    return ", ".join(f"{s.wall:.2f}" for s in samples)


def _say(msg: str) -> None:
    print(msg, flush=True)


def bench_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    res: dict[str, Any] = {"backend": backend}
    if not args.only & {"cycle", "arrears"}:
        return {**res, **bench_orm(backend, args)}
    db = open_db(backend, args.cases, keep=args.keep, pg_url=args.pg_url)
    watch_backends(db.engine)
    res["db"] = {"where": db.where, "built_s": db.built_s, **db.population}
    _say(f"[{backend}] {db.n:,} cases at {db.where} "
         f"({f'built in {db.built_s:.0f} s' if db.built_s is not None else 'reused from cache'})")
    reset(db.engine)
    log = StatementLog(db.engine) if args.profile else None
    try:
        if "cycle" in args.only:
            cyc: list[Sample] = []
            floors: dict[str, list[Sample]] = {"executemany": [], "copy": [], "insert-select": []}
            period = Period(2012, 10)
            for r in range(args.runs):
                _city, sample = timed_cycle(db.engine, period, log if r == 0 else None)
                cyc.append(sample)
                ids = sample.info["cycle_ids"]
                rows = payment_rows(db.engine, ids)
                floors["insert-select"].append(floor_insert_select(db.engine, ids))
                delete_cycles(db.engine, ids)
                hows = (["executemany"] if args.executemany_floor else []) + \
                    (["copy"] if backend == "postgresql" else [])
                for how in hows:
                    floors[how].append(floor_insert(db.engine, rows, how))
                del rows
                hows.append("insert-select")
                _say(f"[{backend}] run {r + 1}: city run {period} {sample.wall:.2f} s ({sample.info['cases']:,} "
                     f"payments in {sample.info['counties']} county cycles; per county s {sample.info['county_s']}), "
                     + ", ".join(f"floor {h} {floors[h][-1].wall:.2f} s" for h in hows))
                period = period.next()
            res["cycle"] = cyc
            res["floors"] = {k: v for k, v in floors.items() if v}
        if "arrears" in args.only:
            arr: list[Sample] = []
            setup: list[Sample] = []
            arr_floors: dict[str, Sample] = {}
            for r in range(args.runs):
                sample, s_setup, fl = arrears_run(db.engine, log if r == 0 else None,
                                                  floor=r == 0 and not args.no_arrears_floor)
                arr.append(sample)
                setup.extend(s_setup)
                arr_floors.update(fl)
                _say(f"[{backend}] arrears run {r + 1}: 2012-09 {sample.wall:.2f} s, {sample.info['rows']:,} rows "
                     f"({sample.info['arrears_rows']:,} with arrears for {sample.info['arrears_months']:,} case-months, "
                     f"{sample.info['arrears_fen'] / 100:,.2f} yuan)")
            res["arrears"] = arr
            res["arrears_setup"] = setup
            res["arrears_floors"] = arr_floors
    finally:
        if args.keep:
            reset(db.engine)
            db.engine.dispose()
        else:
            drop_db(db, args.pg_url)
    if "orm" in args.only:
        res.update(bench_orm(backend, args))
    return res


def bench_orm(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    db = open_db(backend, args.orm_cases, keep=args.keep, pg_url=args.pg_url)
    watch_backends(db.engine)
    _say(f"[{backend}] ORM comparison on {db.n:,} cases at {db.where}")
    reset(db.engine)
    orm: list[Sample] = []
    sql: list[Sample] = []
    checks: list[dict[str, Any]] = []
    try:
        period = Period(2012, 10)
        for r in range(args.orm_runs or args.runs):
            orm_amounts, orm_total, o = orm_cycle(db.engine, period)
            _city, c = timed_cycle(db.engine, period)
            sql_amounts = cycle_amounts(db.engine, c.info["cycle_ids"])
            delete_cycles(db.engine, c.info["cycle_ids"])
            mismatched = sum(1 for k in orm_amounts.keys() | sql_amounts.keys()
                             if orm_amounts.get(k) != sql_amounts.get(k))
            checks.append({"orm_total_fen": orm_total, "cycle_total_fen": c.info["total_fen"],
                           "orm_rows": len(orm_amounts), "cycle_rows": len(sql_amounts), "mismatched_cases": mismatched,
                           "equal": orm_total == c.info["total_fen"] and mismatched == 0})
            orm.append(o)
            sql.append(c)
            _say(f"[{backend}] ORM run {r + 1} ({period}): ORM loop {o.wall:.1f} s, run_cycle {c.wall:.2f} s, "
                 f"totals {orm_total} vs {c.info['total_fen']}, {mismatched} mismatched cases")
            period = period.next()
    finally:
        if args.keep:
            reset(db.engine)
            db.engine.dispose()
        else:
            drop_db(db, args.pg_url)
    return {"orm": orm, "orm_cycle": sql, "orm_checks": checks, "orm_db": {"where": db.where, **db.population}}


# ---- reporting -----------------------------------------------------------------------------------

def pg_info(url: str) -> str:
    try:
        admin = _pg_admin(url)
        with admin.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar_one()
            settings = dict(conn.execute(text(
                "SELECT name, current_setting(name) FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem', "
                "'autovacuum', 'jit', 'synchronous_commit', 'max_wal_size')")).all())
        admin.dispose()
        return f"PostgreSQL {version} (" + ", ".join(f"{k}={v}" for k, v in sorted(settings.items())) + ")"
    except Exception as exc:  # informational only
        return f"PostgreSQL (settings unavailable: {exc.__class__.__name__})"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(results: list[dict[str, Any]], args: argparse.Namespace, started: float, load: tuple[float, ...]
           ) -> str:
    m = machine_info()
    lines: list[str] = []
    add = lines.append
    argv = " ".join(sys.argv[1:])
    add(f"## Payment cycle engine (bench/bench_cycle.py), {time.strftime('%Y-%m-%d %H:%M')}")
    add("")
    add(f"- Command: `python bench/bench_cycle.py {argv}`".rstrip())
    add(f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram']} RAM; Python {m['python']}, SQLite {m['sqlite']}; "
        f"{pg_info(args.pg_url) if any(r['backend'] == 'postgresql' for r in results) else 'no PostgreSQL'}")
    end = os.getloadavg()
    add(f"- Load average (1/5/15 min) at start: {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}, at the end: "
        f"{end[0]:.2f}/{end[1]:.2f}/{end[2]:.2f}; the machine is shared, so CPU seconds (this process on "
        f"SQLite, the server backends on PostgreSQL) are given next to wall time")
    add("- A cycle is one program, month and county: each measurement of a cycle is the city's run of every "
        "county (`run_county_cycles`, each county its own cycle and transaction, as `minxin cycle run dibao "
        "YYYY-MM` for a city user), timed as a whole; rows and totals are summed over the county cycles")
    add(f"- {args.runs} runs per measurement, medians; total benchmark time {time.perf_counter() - started:.0f} s")
    for r in results:
        if "db" in r:
            d = r["db"]
            built = f"built in {d['built_s']:.0f} s" if d["built_s"] is not None else "cached build"
            add(f"- {r['backend']}: {d['cases']:,} cases, {d['households']:,} households, {d['persons']:,} persons "
                f"({built})")
    add("")
    add("| DB | measurement | rows | median wall s | runs (wall s) | median CPU s | peak RSS MB (start) | target | ratio | verdict |")
    add("|---|---|---:|---:|---|---:|---:|---|---:|---|")
    for r in results:
        b = r["backend"]
        if "cycle" in r:
            cyc = r["cycle"]
            w = med(cyc)
            rows = cyc[0].info["cases"]
            add(f"| {b} | 1. city run of {cyc[0].info['counties']} county cycles + commits, fresh period | "
                f"{rows:,} | {w:.2f} | {runs_text(cyc)} | "
                f"{cpu(cyc)} | {rss(cyc)} | < {TARGET_CYCLE_S:.0f} s | "
                f"{w / TARGET_CYCLE_S:.2f}× target | {verdict(w < TARGET_CYCLE_S)} |")
            for how, fl in r["floors"].items():
                fw = med(fl)
                ratio = w / fw
                strict = "target" if how == "executemany" else "info"
                label = FLOOR_LABELS[how]
                add(f"| {b} | 2. floor: {label} + commit | {fl[0].info['rows']:,} | {fw:.2f} | {runs_text(fl)} | "
                    f"{cpu(fl)} | {rss(fl)} | cycle ≤ 2× floor ({strict}) | "
                    f"{ratio:.2f}× floor | {verdict(ratio <= TARGET_FLOOR_RATIO) if strict == 'target' else '—'} |")
        if "arrears" in r:
            arr = r["arrears"]
            w = med(arr)
            i = arr[0].info
            add(f"| {b} | 4. back-dated raise: city run 2012-09 + commits ({i['regular_rows']:,} regular payments, "
                f"{i['arrears_rows']:,} with arrears for {i['arrears_months']:,} case-months, "
                f"arrears {i['arrears_fen'] / 100:,.2f} yuan) | {i['rows']:,} | "
                f"{w:.2f} | {runs_text(arr)} | {cpu(arr)} | {rss(arr)} | "
                f"< {TARGET_ARREARS_S:.0f} s | {w / TARGET_ARREARS_S:.2f}× target | {verdict(w < TARGET_ARREARS_S)} |")
            for how, fs in r.get("arrears_floors", {}).items():
                ratio = w / fs.wall
                add(f"| {b} | 4. floor for those rows: {FLOOR_LABELS[how]} + commit (1 run) | {fs.info['rows']:,} | "
                    f"{fs.wall:.2f} | {fs.wall:.2f} | {cpu([fs])} | {rss([fs])} | info | {ratio:.2f}× floor | — |")
            for label in sorted({s.info["label"] for s in r["arrears_setup"]}):
                ss = [s for s in r["arrears_setup"] if s.info["label"] == label]
                add(f"| {b} | ({label}) | {ss[0].info['cases']:,} | {med(ss):.2f} | {runs_text(ss)} | "
                    f"{cpu(ss)} | {rss(ss)} | info | | |")
        if "orm" in r:
            o, c = r["orm"], r["orm_cycle"]
            ow, cw = med(o), med(c)
            speedup = ow / cw
            ok_totals = all(ch["equal"] for ch in r["orm_checks"])
            ch = r["orm_checks"][0]
            add(f"| {b} | 3. ORM row-at-a-time loop ({r['orm_db']['cases']:,} cases, a cycle and a commit per county) | {o[0].info['rows']:,} | "
                f"{ow:.2f} | {runs_text(o)} | {cpu(o)} | {rss(o)} | info | | |")
            add(f"| {b} | 3. city run on the same {r['orm_db']['cases']:,} cases | {c[0].info['cases']:,} | {cw:.2f} | "
                f"{runs_text(c)} | {cpu(c)} | {rss(c)} | ≥ 20× faster than ORM | "
                f"{speedup:.1f}× faster | {verdict(speedup >= TARGET_ORM_SPEEDUP)} |")
            add(f"| {b} | 3. cross-check: ORM total = city run total, case by case over all county cycles | {ch['orm_rows']:,} | | | | | "
                f"equal | {ch['orm_total_fen']} vs {ch['cycle_total_fen']} fen, {ch['mismatched_cases']} cases differ | "
                f"{'equal' if ok_totals else 'DIFFERENT'} |")
    profiles = [(r["backend"], k, s.info["profile"]) for r in results for k in ("cycle", "arrears")
                if k in r for s in r[k][:1] if "profile" in s.info]
    if profiles:
        add("")
        add("Slowest statements of the first run, summed over its county cycles (before/after_cursor_execute; "
            "a streamed SELECT is timed to its first row only):")
        for b, k, top in profiles:
            add("")
            add(f"{b}, {k}:")
            add("")
            add("```")
            lines.extend(top)
            add("```")
    return "\n".join(lines) + "\n"


def append_results(section: str) -> None:
    """Append our section to bench/RESULTS.md (other benchmarks append theirs: never rewrite)."""
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nRecorded by the scripts in `bench/`; newest sections last. "
                           "Times are wall-clock seconds on the machine named in each section.\n", encoding="utf-8")
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("\n" + section.rstrip() + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=1_000_000, help="active 低保 cases (households) [1,000,000]")
    ap.add_argument("--orm-cases", type=int, default=100_000, help="cases for the ORM comparison [100,000]")
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement; medians are reported [3]")
    ap.add_argument("--orm-runs", type=int, default=None, help="runs of the ORM comparison [--runs]")
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--pg-url", default=os.environ.get("MINXIN_BENCH_PG", DEFAULT_PG),
                    help="any database on the PostgreSQL server (the benchmark creates its own)")
    ap.add_argument("--keep", action="store_true", help="reuse/keep the built databases (keyed by N)")
    ap.add_argument("--only", default="cycle,arrears,orm",
                    help="comma-separated subset of cycle (1+2), arrears (4), orm (3) [all]")
    ap.add_argument("--no-executemany-floor", dest="executemany_floor", action="store_false",
                    help="skip the floor of the bare driver's executemany after each city run (30–120 s a run "
                         "at 1,000,000; the INSERT … SELECT and COPY floors stay)")
    ap.add_argument("--no-arrears-floor", action="store_true",
                    help="skip the bare insert of the 2012-09 rows (first arrears run only, for information)")
    ap.add_argument("--profile", action="store_true", help="per-statement timings of the first run")
    ap.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    args = ap.parse_args(argv)
    args.only = {s.strip() for s in args.only.split(",") if s.strip()}
    started = time.perf_counter()
    load = os.getloadavg()
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = [bench_backend(b, args) for b in backends]
    section = report(results, args, started, load)
    print()
    print(section)
    if args.record:
        append_results(section)
        print(f"appended to {RESULTS}")
    raw = OUT / "bench_cycle_last.json"
    OUT.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(results, default=lambda o: o.__dict__, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
