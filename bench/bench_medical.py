"""Benchmark: medical assistance settlement import (`minxin.assistance.medical.importer.import_settlements`).

    python bench/bench_medical.py                       # 1,000,000 records, demo city of 1,000,000 households, 3 runs
    python bench/bench_medical.py --records 100000 --households 100000 --runs 1
    python bench/bench_medical.py --pg postgresql+psycopg://postgres@127.0.0.1/postgres   # plus one PostgreSQL run
    python bench/bench_medical.py --profile             # one run under cProfile: where the time goes
    python bench/bench_medical.py --record              # also append the results to bench/RESULTS.md

The city is the demo generator's (households, persons with valid ID numbers) with its 低保 cases and
五保 recipients, built once into a base database that each run copies before the clock starts. The
CSV has one row per settlement record in 2012: 90% for the covered people (低保 household members and
五保 persons, several visits each, 门诊 mostly, 住院 some, so caps are reached) and 10% for other
residents (stored as not eligible). The time covers what `minxin medical import` does: reading and
checking the file, the look-ups, the assessment, the new 医疗救助 cases, storing the records, the
audit entry and the commit. Target: under 60 s for 1,000,000 records.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from random import Random
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # the bench folder is not a package: found through sys.path above
    append_results,
    drop_postgres,
    fresh_postgres,
    fresh_sqlite,
    machine,
    peak_rss_mb,
    run_child,
    summarise,
)

TARGET_SECONDS = 60.0
TARGET_RECORDS = 1_000_000
SEED = 2012
PG_NAME = "minxin_bench_medical"


# ---- the city and the file (before the clock) ---------------------------------------------------------

def build_city(engine: Any, households: int, *, wubao_from: Any = None) -> dict[str, int]:
    """The demo city with its 低保 cases and 五保 recipients, and the policy's programs.

    `wubao_from`: copy the 五保 cases of another database of the same city (PostgreSQL: the demo's
    `seed_wubao` orders by `p.id * 7919`, which overflows INTEGER there past 271,183 persons).
    """
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from minxin.demo.cases import seed_dibao_cases, seed_wubao
    from minxin.demo.generator import generate_demo
    from minxin.infra.db import write_lock
    from minxin.programs.service import init_programs

    with write_lock(), Session(engine) as s:
        init_programs(s)
        s.commit()
    generate_demo(engine, households=households, seed=SEED)
    dibao = seed_dibao_cases(engine)
    if wubao_from is None:
        wubao, _ = seed_wubao(engine)
    else:
        columns = ("program_code, household_id, person_id, region_code, category, status, start_period, "
                   "bank_account, sanwu, staff_relative, spot_check_required, spot_checked, review_class, "
                   "created_at, updated_at")
        with wubao_from.connect() as src:
            rows = [dict(r._mapping) for r in src.execute(text(
                f"SELECT {columns} FROM cases WHERE program_code = 'wubao'"))]
        for r in rows:
            for flag in ("sanwu", "staff_relative", "spot_check_required", "spot_checked"):
                r[flag] = bool(r[flag])
        with engine.begin() as conn:
            conn.execute(text(f"INSERT INTO cases ({columns}) VALUES "
                              f"({', '.join(':' + c.strip() for c in columns.split(','))})"), rows)
        wubao = len(rows)
    with engine.connect() as conn:
        persons = conn.execute(text("SELECT COUNT(*) FROM persons")).scalar_one()
    return {"households": households, "persons": persons, "dibao_cases": dibao, "wubao": wubao}


def _people(engine: Any, seed: int) -> tuple[list[str], list[str]]:
    """(covered ID numbers, a sample of other residents' ID numbers)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        covered = list(conn.execute(text("""
SELECT p.id_number FROM persons p JOIN cases c ON c.household_id = p.household_id
WHERE c.program_code = 'dibao' AND c.status = 'active'
UNION
SELECT p.id_number FROM persons p JOIN cases c ON c.person_id = p.id
WHERE c.program_code = 'wubao' AND c.status = 'active'
""")).scalars())
        others = list(conn.execute(text("""
SELECT p.id_number FROM persons p
WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.household_id = p.household_id)
ORDER BY (CAST(p.id AS BIGINT) * 7919) % 100003 LIMIT :n
"""), {"n": max(1000, len(covered))}).scalars())
    covered.sort()
    Random(seed).shuffle(covered)
    return covered, others


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def write_file(engine: Any, records: int, path: Path, seed: int = SEED) -> dict[str, int]:
    """The settlement CSV (UTF-8): consistent amounts, 2012 dates, unique record ids."""
    from minxin.assistance.medical.importer import HEADERS

    covered, others = _people(engine, seed)
    rnd = Random(seed)
    start = date(2012, 1, 1)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADERS)
    for i in range(records):
        pool = others if i % 10 == 9 else covered
        number = pool[rnd.randrange(len(pool))]
        day = start + timedelta(days=rnd.randrange(366))
        if rnd.random() < 0.85:
            kind, total = "门诊", rnd.randrange(3_000, 120_000)
            serious = 0
        else:
            kind, total = "住院", rnd.randrange(200_000, 6_000_000)
            serious = total * rnd.randrange(0, 20) // 100
        insurance = total * rnd.randrange(30, 70) // 100
        in_scope = total * rnd.randrange(75, 101) // 100
        w.writerow([f"YB2012{i:010d}", number, day.isoformat(), kind, _yuan(total), _yuan(insurance),
                    _yuan(serious), _yuan(in_scope)])
    path.write_bytes(buf.getvalue().encode("utf-8"))
    return {"covered_people": len(covered), "other_people": len(others)}


def _copy_sqlite(src: Path, dst: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dst}{suffix}").unlink(missing_ok=True)
        if Path(f"{src}{suffix}").exists():
            shutil.copyfile(f"{src}{suffix}", f"{dst}{suffix}")


# ---- one timed run (a child process) --------------------------------------------------------------------

def child(file: str, url: str, profile: bool) -> None:
    data = Path(file).read_bytes()
    # A million records is about 75 MB of CSV: above the default upload limit (32 MB), so raised here
    # as an operator would for a city-wide monthly file (MINXIN_MAX_UPLOAD_BYTES).
    os.environ["MINXIN_MAX_UPLOAD_BYTES"] = str(len(data) + 1)

    from sqlalchemy import event, func, select

    from minxin.assistance.medical.importer import import_settlements
    from minxin.assistance.medical.models import MedicalRecord
    from minxin.auth.service import ensure_system_user
    from minxin.infra.db import make_engine, unit_of_work

    engine = make_engine(url)
    statements = [0]
    event.listen(engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    phases: dict[str, float] = {}
    last: list[Any] = [time.perf_counter(), "读取"]

    def progress(label: str, done: int, total: int) -> None:
        now = time.perf_counter()
        phases[last[1]] = phases.get(last[1], 0.0) + now - last[0]
        last[0], last[1] = now, label

    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    with unit_of_work(engine) as session:
        actor = ensure_system_user(session)
        result = import_settlements(session, actor=actor, data=data, filename=Path(file).name, progress=progress)
        if not result.ok:
            raise SystemExit(f"import refused: {[str(e) for e in result.errors[:5]]}")
        progress("提交", 0, 0)
    seconds = time.perf_counter() - started
    progress("", 0, 0)
    phases.pop("", None)
    if profiler:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(35)
        sys.stderr.write(out.getvalue())
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(MedicalRecord)).scalar_one()
    # The same file again: every record skipped, nothing changes.
    again_started = time.perf_counter()
    with unit_of_work(engine) as session:
        again = import_settlements(session, actor=ensure_system_user(session), data=data, filename=Path(file).name)
    again_seconds = time.perf_counter() - again_started
    engine.dispose()
    print(json.dumps({"seconds": seconds, "new": result.new, "assisted": result.assisted,
                      "assisted_fen": result.assisted_fen, "not_eligible": len(result.not_eligible),
                      "cases_created": result.cases_created, "stored": stored, "again_seconds": again_seconds,
                      "again_skipped": again.skipped, "again_new": again.new, "peak_rss_mb": peak_rss_mb(),
                      "phases": phases, "statements": statements[0]}))


# ---- driver ---------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=TARGET_RECORDS)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--pg", help="Also one run on PostgreSQL: a server URL (a scratch database is created).")
    parser.add_argument("--profile", action="store_true", help="One run under cProfile, printed to stderr.")
    parser.add_argument("--record", action="store_true", help="Append the results to bench/RESULTS.md.")
    parser.add_argument("--note", default="", help="A line of context for the recorded section.")
    parser.add_argument("--child", nargs=3, metavar=("FILE", "URL", "PROFILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.child[2] == "1")
        return

    workdir = Path(args.dir)
    base = workdir / "minxin_bench_medical_base.db"
    csv_path = workdir / "minxin_bench_medical.csv"
    started = time.perf_counter()
    engine = fresh_sqlite(base)
    city = build_city(engine, args.households)
    people = write_file(engine, args.records, csv_path)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # the copies below are whole files
    engine.dispose()
    size_mb = csv_path.stat().st_size / 1e6
    print(f"city: {city}; file: {args.records:,} records, {size_mb:.1f} MB, {people}; "
          f"prepared in {time.perf_counter() - started:.0f} s", flush=True)

    lines = [f"## Medical assistance settlement import (`bench/bench_medical.py`), {time.strftime('%Y-%m-%d')}", "",
             f"Machine: {machine()}", "",
             f"Command: `python bench/bench_medical.py --records {args.records} --households {args.households} "
             f"--runs {args.runs}" + (" --pg URL" if args.pg else "") + "`", "",
             f"Data: demo city of {city['households']:,} households ({city['persons']:,} persons) with "
             f"{city['dibao_cases']:,} 低保 cases and {city['wubao']:,} 五保 recipients; a CSV of {args.records:,} "
             f"settlement records of 2012 ({size_mb:.1f} MB; 90% of them for {people['covered_people']:,} covered "
             f"people, 10% for other residents). Each run starts from a copy of the same database and imports "
             f"the file into it, then imports it again (every record skipped).", "",
             *([args.note, ""] if args.note else []),
             "| database | records | runs (s) | median (s) | target | ratio to target | assisted | not eligible "
             "| new cases | phases (median run) | again (s) | peak RSS | SQL statements |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def report(name: str, results: list[dict[str, Any]]) -> None:
        seconds = [r["seconds"] for r in results]
        mid = sorted(results, key=lambda r: r["seconds"])[len(results) // 2]
        target = TARGET_SECONDS * args.records / TARGET_RECORDS
        phases = ", ".join(f"{k} {v:.1f}" for k, v in mid["phases"].items())
        print(f"{name}: {summarise(seconds)}; target {target:.0f} s → "
              f"{statistics_median(seconds) / target:.2f}× the target", flush=True)
        lines.append(
            f"| {name} | {mid['new']:,} | {', '.join(f'{s:.1f}' for s in seconds)} | {statistics_median(seconds):.1f} "
            f"| < {target:.0f} s | {statistics_median(seconds) / target:.2f} | {mid['assisted']:,} "
            f"({mid['assisted_fen'] / 100:,.2f} 元) | {mid['not_eligible']:,} | {mid['cases_created']:,} | {phases} "
            f"| {mid['again_seconds']:.1f} | {max(r['peak_rss_mb'] for r in results):.0f} MB | "
            f"{mid['statements']:,} |")

    runs = 1 if args.profile else args.runs
    results = []
    run_db = workdir / "minxin_bench_medical_run.db"
    for i in range(runs):
        _copy_sqlite(base, run_db)
        r = run_child(Path(__file__), [str(csv_path), f"sqlite:///{run_db}", "1" if args.profile else "0"])
        results.append(r)
        assert r["stored"] == r["new"] == args.records and r["again_new"] == 0 and r["again_skipped"] == args.records
        print(f"sqlite run {i + 1}: {r['seconds']:.1f} s ({', '.join(f'{k} {v:.1f}' for k, v in r['phases'].items())}); "
              f"again {r['again_seconds']:.1f} s; peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{run_db}{suffix}").unlink(missing_ok=True)
    report("SQLite", results)

    if args.pg and not args.profile:
        pg = fresh_postgres(args.pg, PG_NAME)
        from minxin.infra.db import make_engine

        base_engine = make_engine(f"sqlite:///{base}")
        build_city(pg, args.households, wubao_from=base_engine)
        base_engine.dispose()
        # A settled database, as in service: fresh statistics, and no autovacuum of the bulk load nor a
        # checkpoint of its WAL competing with the timed run.
        with pg.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
            conn.exec_driver_sql("CHECKPOINT")
        url = pg.url.render_as_string(hide_password=False)
        pg.dispose()
        r = run_child(Path(__file__), [str(csv_path), url, "0"])
        assert r["stored"] == r["new"] == args.records and r["again_new"] == 0
        print(f"postgresql: {r['seconds']:.1f} s ({', '.join(f'{k} {v:.1f}' for k, v in r['phases'].items())}); "
              f"again {r['again_seconds']:.1f} s", flush=True)
        drop_postgres(args.pg, PG_NAME)
        report("PostgreSQL", [r])

    for suffix in ("", "-wal", "-shm"):
        Path(f"{base}{suffix}").unlink(missing_ok=True)
    csv_path.unlink()
    if args.record and not args.profile:
        append_results("\n".join(lines))
        print("recorded in bench/RESULTS.md")


def statistics_median(values: list[float]) -> float:
    import statistics

    return statistics.median(values)


if __name__ == "__main__":
    main()
