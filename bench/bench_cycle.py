"""Benchmark: the 低保 payment-cycle engine (programs.cycles.run_cycle) at a million households.

    python bench/bench_cycle.py --keep                       # 1,000,000 cases, SQLite and PostgreSQL, 3 runs
    python bench/bench_cycle.py --cases 100000 --orm-cases 20000 --runs 1 --db sqlite
    python bench/bench_cycle.py --keep --record              # also append the results to bench/RESULTS.md

What is measured, per database (targets from the issue):

1. cycle   run_cycle + commit of one fresh period over N active 低保 cases (target < 10 s at 1M).
2. floor   a bare bulk insert of the same rows run_cycle wrote (same 19 columns, same payments table
           and indexes, same driver, same run): executemany (SQLite ?-placeholders; psycopg's pipelined
           executemany) and, on PostgreSQL, COPY FROM STDIN as a stricter floor. Target: cycle ≤ 2× floor.
3. orm     a row-at-a-time ORM loop doing the same calculation (Case, Household, members through the
           ORM, standard_in_force per case, rules.dibao_entitlement, session.add(Payment)) on a separate
           database of --orm-cases cases, against run_cycle on that database. Target: run_cycle ≥ 20×
           faster; the ORM loop's total must equal run_cycle's, case by case.
4. arrears cycles 2012-07 and 2012-08 run and approved, then a back-dated raise of both city standards
           effective 2012-07-01, then the timed 2012-09 run (regular + arrears for 2 periods) + commit.
           Target < 10 s at 1M.

Each timed section reports wall seconds (the targets), CPU seconds (this process on SQLite, the
server backend on PostgreSQL: less sensitive to a busy machine) and this process's peak RSS during
the section (VmHWM, reset before each section). Runs are repeated --runs times; medians are reported.

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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cycle_data  # the bench folder is not a package: found through sys.path above
from common import machine_info
from sqlalchemy import Engine, create_engine, event, or_, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.core.period import Period
from minxin.db import make_engine, write_lock

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
    """Times one section: wall clock, CPU where the work happens, peak RSS of this process."""

    def __init__(self, backend_pid: int | None = None) -> None:
        self.backend_pid = backend_pid

    def _cpu(self) -> float:
        return _proc_cpu(self.backend_pid) if self.backend_pid else time.process_time()

    @contextmanager
    def measure(self) -> Iterator[dict[str, float]]:
        out: dict[str, float] = {}
        _release_memory()
        out["rss_start_mb"] = _status_mb("VmRSS")
        _hwm_reset()
        c0, p0, t0 = self._cpu(), time.process_time(), time.perf_counter()
        yield out
        out["wall"] = time.perf_counter() - t0
        out["cpu"] = self._cpu() - c0
        out["client_cpu"] = time.process_time() - p0
        out["rss_mb"] = _status_mb("VmHWM")
        out["load"] = os.getloadavg()[0]

    @staticmethod
    def sample(m: dict[str, float], **info: Any) -> Sample:
        return Sample(m["wall"], m["cpu"], m["client_cpu"], m["rss_mb"], m["rss_start_mb"], m["load"], info)


def backend_pid(conn: Any) -> int | None:
    """The PostgreSQL server process of an SQLAlchemy connection or session (None on SQLite)."""
    bind = conn.get_bind() if isinstance(conn, Session) else conn.engine
    if bind.dialect.name != "postgresql":
        return None
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


class StatementLog:
    """Per-statement wall time of one engine (before/after_cursor_execute), for --profile."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rows: list[tuple[float, str]] = []
        self.active = False
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, _cur: Any, _stmt: str, _params: Any, _ctx: Any, _many: bool) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn: Any, _cur: Any, stmt: str, _params: Any, _ctx: Any, _many: bool) -> None:
        if self.active:
            self.rows.append((time.perf_counter() - conn.info.get("bench_t0", time.perf_counter()),
                              " ".join(stmt.split())))

    @contextmanager
    def capture(self) -> Iterator[list[tuple[float, str]]]:
        self.rows = []
        self.active = True
        try:
            yield self.rows
        finally:
            self.active = False

    @staticmethod
    def top(rows: list[tuple[float, str]], k: int = 6) -> list[str]:
        return [f"{d:7.3f} s  {s[:150]}" for d, s in sorted(rows, reverse=True)[:k]]


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

    from minxin.migrate import alembic_config
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

def timed_cycle(engine: Engine, period: Period, log: StatementLog | None = None) -> tuple[Any, Sample]:
    """run_cycle + commit as the system user, in one SQLite write transaction."""
    from minxin.programs.cycles import run_cycle

    with write_lock(), Session(engine) as s:
        runner, _ = _users(s)
        meter = Meter(backend_pid(s))
        with meter.measure() as m:
            if log is not None:
                with log.capture() as stmts:
                    summary = run_cycle(s, actor=runner, program="dibao", period=period)
                    s.commit()
            else:
                summary = run_cycle(s, actor=runner, program="dibao", period=period)
                s.commit()
    info: dict[str, Any] = {"cycle_id": summary.cycle_id, "cases": summary.cases, "total_fen": summary.total_fen,
                            "arrears_fen": summary.arrears_fen}
    if log is not None:
        info["profile"] = StatementLog.top(stmts)
    return summary, Meter.sample(m, **info)


def _payment_columns() -> list[str]:
    from minxin.programs.cycles import LINE_COLUMNS

    return [c.strip() for c in LINE_COLUMNS.split(",")]


def payment_rows(engine: Engine, cycle_id: int) -> list[tuple[Any, ...]]:
    cols = _payment_columns()
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            f"SELECT {', '.join(cols)} FROM payments WHERE cycle_id = :c ORDER BY case_id, seq"), {"c": cycle_id})]


def _scratch_cycle(engine: Engine) -> int:
    with write_lock(), engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO cycles (program_code, period, status, cases, total_fen, arrears_fen, carryover_fen, "
            "run_by, paid_fen, failed_fen) VALUES ('dibao', :p, 'draft', 0, 0, 0, 0, 'bench', 0, 0)"),
            {"p": SCRATCH_PERIOD})
        return int(conn.execute(text("SELECT id FROM cycles WHERE program_code = 'dibao' AND period = :p"),
                                {"p": SCRATCH_PERIOD}).scalar_one())


def floor_insert(engine: Engine, rows: list[tuple[Any, ...]], how: str) -> Sample:
    """The same rows into a fresh scratch cycle through the bare driver: executemany or COPY, + commit."""
    cols = _payment_columns()
    cid = _scratch_cycle(engine)
    rows = [(cid, *r[1:]) for r in rows]
    sqlite = engine.dialect.name == "sqlite"
    try:
        with write_lock(), engine.connect() as conn:
            meter = Meter(backend_pid(conn))
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


def floor_insert_select(engine: Engine, source_cycle: int) -> Sample:
    """The set-based floor: the source cycle's rows copied by one INSERT … SELECT (no computation) + commit."""
    cols = _payment_columns()
    rest = ", ".join(cols[1:])
    cid = _scratch_cycle(engine)
    try:
        with write_lock(), engine.connect() as conn:
            meter = Meter(backend_pid(conn))
            conn.commit()
            with meter.measure() as m, conn.begin():
                n = conn.execute(text(f"INSERT INTO payments ({cols[0]}, {rest}) SELECT :c, {rest} FROM payments "
                                      "WHERE cycle_id = :src"), {"c": cid, "src": source_cycle}).rowcount
        return Meter.sample(m, rows=n)
    finally:
        delete_cycles(engine, [cid])


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def orm_cycle(engine: Engine, period: Period) -> tuple[dict[int, tuple[int, str]], int, Sample]:
    """The Odoo way: per case, load Case, Household and members, look the standard up, compute, add."""
    from minxin.programs.models import Case, Cycle, Payment
    from minxin.programs.rules import DibaoParams, HouseholdFacts, dibao_entitlement
    from minxin.programs.service import program_policy, standard_in_force
    from minxin.registry.models import Household

    policy = program_policy("dibao")
    first = period.first_day()
    elderly_age = next((a.min_age for a in policy.addons if a.kind == "elderly" and a.min_age), 200)
    eld_cut, minor_cut = _years_before(first, elderly_age), _years_before(first, 18)
    p = str(period)
    results: dict[int, tuple[int, str]] = {}
    with write_lock(), Session(engine) as s:
        runner, _ = _users(s)
        meter = Meter(backend_pid(s))
        with meter.measure() as m, s.no_autoflush:
            cycle = Cycle(program_code="dibao", period=p, status="draft", run_by=runner.username)
            s.add(cycle)
            s.flush()
            cases = s.execute(select(Case).where(
                Case.program_code == "dibao", Case.status == "active", Case.start_period <= p,
                or_(Case.end_period.is_(None), Case.end_period >= p)).order_by(Case.id)).scalars().all()
            total = 0
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
                    DibaoParams(standard_fen=std.amount_fen, min_permille=policy.min_payment_permille,
                                addons=policy.addons))
                if ent.amount_fen <= 0:
                    continue
                s.add(Payment(cycle_id=cycle.id, case_id=case.id, seq=0, region_code=case.region_code,
                              amount_fen=ent.amount_fen, regular_fen=ent.amount_fen, rule=ent.rule,
                              standard_fen=std.amount_fen, standard_id=std.id, income_fen=ent.income_fen,
                              members=ent.members, addon_fen=ent.addon_fen, n_elderly=counts["elderly"],
                              n_minor=counts["minor"], n_disabled=counts["disabled"], n_ill=counts["ill"],
                              arrears_fen=0, carryover_fen=0, status="pending"))
                results[case.id] = (ent.amount_fen, ent.rule)
                total += ent.amount_fen
            cycle.cases, cycle.total_fen = len(results), total
            s.commit()
        cycle_id = cycle.id
    sample = Meter.sample(m, cases_loaded=len(cases), rows=len(results), total_fen=total)
    delete_cycles(engine, [cycle_id])
    return results, total, sample


def cycle_amounts(engine: Engine, cycle_id: int) -> dict[int, tuple[int, str]]:
    with engine.connect() as conn:
        return {int(c): (int(a), str(r)) for c, a, r in conn.execute(text(
            "SELECT case_id, regular_fen, rule FROM payments WHERE cycle_id = :c AND regular_fen > 0"),
            {"c": cycle_id})}


def arrears_run(engine: Engine, log: StatementLog | None, *, floor: bool = False
                ) -> tuple[Sample, list[Sample], dict[str, Sample]]:
    """2012-07 and 2012-08 run and approved, a back-dated raise, then the timed 2012-09 run.

    With floor, the 2012-09 cycle's rows are then inserted again through the bare driver (the
    floor for that many rows), before the clean-up.
    """
    from minxin.programs.cycles import approve_cycle
    from minxin.programs.service import set_standard, standard_in_force

    setup: list[Sample] = []
    ids: list[int] = []
    try:
        for month in (7, 8):
            summary, sample = timed_cycle(engine, Period(2012, month))
            ids.append(summary.cycle_id)
            sample.info["label"] = f"setup: run 2012-{month:02d} ({month - 7} approved cycle(s) before it)"
            setup.append(sample)
            with write_lock(), Session(engine) as s:
                _, approver = _users(s)
                approve_cycle(s, actor=approver, cycle_id=summary.cycle_id)
                s.commit()
        with write_lock(), Session(engine) as s:
            _, approver = _users(s)
            for category, plus in RAISE_FEN.items():
                old = standard_in_force(s, program="dibao", region_code=CITY, period=Period(2012, 7),
                                        category=category)
                set_standard(s, actor=approver, program="dibao", region_code=CITY, amount_fen=old.amount_fen + plus,
                             effective=date(2012, 7, 1), category=category, source=BENCH_SOURCE)
            s.commit()
        summary, sample = timed_cycle(engine, Period(2012, 9), log)
        ids.append(summary.cycle_id)
        with engine.connect() as conn:
            rows, regular, with_arrears, months = conn.execute(text(
                "SELECT count(*), SUM(CASE WHEN regular_fen > 0 THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN arrears_fen > 0 THEN 1 ELSE 0 END), COALESCE(SUM(arrears_months), 0) "
                "FROM payments WHERE cycle_id = :c"), {"c": summary.cycle_id}).one()
        sample.info.update(rows=int(rows), regular_rows=int(regular), arrears_rows=int(with_arrears),
                           arrears_months=int(months))
        floors: dict[str, Sample] = {}
        if floor:
            floors["insert-select"] = floor_insert_select(engine, summary.cycle_id)
            rows = payment_rows(engine, summary.cycle_id)
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
                summary, sample = timed_cycle(db.engine, period, log if r == 0 else None)
                cyc.append(sample)
                rows = payment_rows(db.engine, summary.cycle_id)
                floors["insert-select"].append(floor_insert_select(db.engine, summary.cycle_id))
                delete_cycles(db.engine, [summary.cycle_id])
                hows = ["executemany"] + (["copy"] if backend == "postgresql" else [])
                for how in hows:
                    floors[how].append(floor_insert(db.engine, rows, how))
                del rows
                hows.append("insert-select")
                _say(f"[{backend}] run {r + 1}: cycle {period} {sample.wall:.2f} s ({summary.cases:,} payments), "
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
    _say(f"[{backend}] ORM comparison on {db.n:,} cases at {db.where}")
    reset(db.engine)
    orm: list[Sample] = []
    sql: list[Sample] = []
    checks: list[dict[str, Any]] = []
    try:
        period = Period(2012, 10)
        for r in range(args.orm_runs or args.runs):
            orm_amounts, orm_total, o = orm_cycle(db.engine, period)
            summary, c = timed_cycle(db.engine, period)
            sql_amounts = cycle_amounts(db.engine, summary.cycle_id)
            delete_cycles(db.engine, [summary.cycle_id])
            mismatched = sum(1 for k in orm_amounts.keys() | sql_amounts.keys()
                             if orm_amounts.get(k) != sql_amounts.get(k))
            checks.append({"orm_total_fen": orm_total, "cycle_total_fen": summary.total_fen,
                           "orm_rows": len(orm_amounts), "cycle_rows": len(sql_amounts), "mismatched_cases": mismatched,
                           "equal": orm_total == summary.total_fen and mismatched == 0})
            orm.append(o)
            sql.append(c)
            _say(f"[{backend}] ORM run {r + 1} ({period}): ORM loop {o.wall:.1f} s, run_cycle {c.wall:.2f} s, "
                 f"totals {orm_total} vs {summary.total_fen}, {mismatched} mismatched cases")
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
    add(f"- Load average (1/5/15 min) at start: {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}; the machine is shared, "
        f"so CPU seconds (this process on SQLite, the server backend on PostgreSQL) are given next to wall time")
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
            add(f"| {b} | 1. run_cycle + commit, fresh period | {rows:,} | {w:.2f} | {runs_text(cyc)} | "
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
            add(f"| {b} | 4. back-dated raise: run 2012-09 + commit ({i['regular_rows']:,} regular payments, "
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
            add(f"| {b} | 3. ORM row-at-a-time loop ({r['orm_db']['cases']:,} cases) | {o[0].info['rows']:,} | "
                f"{ow:.2f} | {runs_text(o)} | {cpu(o)} | {rss(o)} | info | | |")
            add(f"| {b} | 3. run_cycle on the same {r['orm_db']['cases']:,} cases | {c[0].info['cases']:,} | {cw:.2f} | "
                f"{runs_text(c)} | {cpu(c)} | {rss(c)} | ≥ 20× faster than ORM | "
                f"{speedup:.1f}× faster | {verdict(speedup >= TARGET_ORM_SPEEDUP)} |")
            add(f"| {b} | 3. cross-check: ORM total = run_cycle total, case by case | {ch['orm_rows']:,} | | | | | "
                f"equal | {ch['orm_total_fen']} vs {ch['cycle_total_fen']} fen, {ch['mismatched_cases']} cases differ | "
                f"{'equal' if ok_totals else 'DIFFERENT'} |")
    profiles = [(r["backend"], k, s.info["profile"]) for r in results for k in ("cycle", "arrears")
                if k in r for s in r[k][:1] if "profile" in s.info]
    if profiles:
        add("")
        add("Slowest statements of the first run (before/after_cursor_execute; a streamed SELECT is timed to its "
            "first row only):")
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
