"""Premium roster (P3) for 1,000,000 people: target under 30 s (issue: social assistance on the engine).

Builds a demo city, makes every household an active 低保 case (so about a million people are covered),
then times `export_roster` to xlsx and to csv — the query, the premium of each person and the file —
in fresh child processes, median of --runs.

    python bench/bench_premiums.py --people 1000000 --runs 3 [--record]
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from common import append_results, fresh_sqlite, machine, peak_rss_mb, run_child
from sqlalchemy import text
from sqlalchemy.orm import Session

TARGET_PEOPLE = 1_000_000
TARGET_SECONDS = 30.0
PERSONS_PER_HOUSEHOLD = 2.85  # the demo city's average


def build(db: Path, people: int) -> int:
    from minxin.demo.generator import generate_demo
    from minxin.infra.db import write_lock
    from minxin.programs.service import init_programs

    engine = fresh_sqlite(db)
    with write_lock(), Session(engine) as s:
        init_programs(s)
        s.commit()
    generate_demo(engine, households=max(1, round(people / PERSONS_PER_HOUSEHOLD)), seed=7)
    with write_lock(), engine.begin() as conn:
        conn.execute(text("""
INSERT INTO cases (program_code, household_id, person_id, region_code, category, status, start_period,
                   bank_account, sanwu, staff_relative, spot_check_required, spot_checked, review_class,
                   created_at, updated_at)
SELECT 'dibao', h.id, p.id, h.region_code, h.hukou_type, 'active', '2012-01', '622848' || (10000000000 + p.id),
       0, 0, 0, 0, 'B', '2012-01-01 00:00:00', '2012-01-01 00:00:00'
FROM households h JOIN persons p ON p.household_id = h.id AND p.is_head
"""))
        covered = conn.execute(text("SELECT COUNT(*) FROM persons WHERE household_id IS NOT NULL")).scalar_one()
    engine.dispose()
    return int(covered)


def child(fmt: str, db: str) -> None:
    from minxin.assistance.premiums.service import export_roster
    from minxin.auth.service import ensure_system_user
    from minxin.infra.db import make_engine, write_lock

    engine = make_engine(f"sqlite:///{db}")
    out = Path(tempfile.gettempdir()) / f"minxin-roster-bench.{fmt}"
    with write_lock(), Session(engine) as s:
        user = ensure_system_user(s)
        started = time.perf_counter()
        summary = export_roster(s, user=user, year=2012, target=out, fmt=fmt)
        s.commit()
        seconds = time.perf_counter() - started
    size = out.stat().st_size
    out.unlink()
    print(json.dumps({"seconds": seconds, "people": summary.people, "total_fen": summary.total_fen,
                      "bytes": size, "rss_mb": peak_rss_mb()}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--people", type=int, default=TARGET_PEOPLE)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    ap.add_argument("--record", action="store_true")
    ap.add_argument("--child", nargs=2, metavar=("FORMAT", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    db = Path(args.dir) / "minxin-bench-premiums.db"
    print(f"building a city with about {args.people:,} covered people …", flush=True)
    covered = build(db, args.people)
    rows = []
    for fmt in ("xlsx", "csv"):
        results = [run_child(Path(__file__), [fmt, str(db)]) for _ in range(args.runs)]
        secs = [r["seconds"] for r in results]
        med = statistics.median(secs)
        print(f"{fmt}: {results[0]['people']:,} people, median {med:.1f} s (runs {', '.join(f'{s:.1f}' for s in secs)})")
        rows.append(f"| {fmt} | {results[0]['people']:,} | {results[0]['bytes'] / 1e6:.0f} MB | "
                    f"{', '.join(f'{s:.1f}' for s in secs)} | {med:.1f} | < {TARGET_SECONDS:.0f} s | "
                    f"{med / TARGET_SECONDS:.2f} | {max(r['rss_mb'] for r in results):.0f} MB |")
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    if args.record:
        append_results(
            f"## Premium roster (`bench/bench_premiums.py`), {datetime.date.today()}\n\n"
            f"Machine: {machine()}\n\n"
            f"Command: `python bench/bench_premiums.py --people {args.people} --runs {args.runs}` "
            f"({covered:,} people in active 低保 households; time = query + premiums + file)\n\n"
            "| format | people | file | runs (s) | median (s) | target | ratio to target | peak RSS |\n"
            "|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
