"""Benchmark: `generate_demo` of a synthetic city into a fresh database.

    python bench/bench_demo.py                       # 1,000,000 households on SQLite, 3 runs
    python bench/bench_demo.py --households 100000 --runs 1 --pg postgresql+psycopg://postgres@127.0.0.1/postgres
    python bench/bench_demo.py --record              # also append the results to bench/RESULTS.md

Each run is a child process with a fresh database (created and migrated before the clock starts);
the time is `generate_demo` alone: generation, bulk insert, users, audit entry and commit.
Target: under 180 s for 1,000,000 households on SQLite.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

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

TARGET_SECONDS = 180.0
TARGET_HOUSEHOLDS = 1_000_000
SEED = 2012


def child(backend: str, households: int, where: str) -> None:
    from minxin.demo.generator import generate_demo

    if backend == "sqlite":
        path = Path(where)
        engine = fresh_sqlite(path)
    else:
        name = "minxin_bench_demo"
        engine = fresh_postgres(where, name)
    started = time.perf_counter()
    summary = generate_demo(engine, households=households, seed=SEED)
    seconds = time.perf_counter() - started
    result = {"seconds": seconds, "households": summary.households, "persons": summary.persons,
              "peak_rss_mb": peak_rss_mb()}
    engine.dispose()
    if backend == "sqlite":
        result["db_mb"] = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6
        for p in path.parent.glob(path.name + "*"):
            p.unlink()
    else:
        drop_postgres(where, name)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=TARGET_HOUSEHOLDS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", metavar="URL", help="Also run on PostgreSQL (a scratch database on this server).")
    parser.add_argument("--no-sqlite", action="store_true", help="Only PostgreSQL.")
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="Where the SQLite file goes.")
    parser.add_argument("--record", action="store_true", help="Append the results to bench/RESULTS.md.")
    parser.add_argument("--child", nargs=3, metavar=("BACKEND", "N", "WHERE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return

    backends = ([] if args.no_sqlite else [("sqlite", str(Path(args.dir) / "minxin_bench_demo.db"))])
    if args.pg:
        backends.append(("postgresql", args.pg))
    lines = [f"## Demo city generation (`bench/bench_demo.py`), {time.strftime('%Y-%m-%d')}", "",
             f"Machine: {machine()}", "",
             f"Command: `python bench/bench_demo.py --households {args.households} --runs {args.runs}"
             + (f" --pg {args.pg}" if args.pg else "") + "`", "",
             "| database | households | persons | runs (s) | median (s) | target | ratio to target | peak RSS |",
             "|---|---|---|---|---|---|---|---|"]
    for backend, where in backends:
        results = []
        for i in range(args.runs):
            r = run_child(Path(__file__), [backend, str(args.households), where])
            results.append(r)
            extra = f", database {r['db_mb']:.0f} MB" if "db_mb" in r else ""
            print(f"{backend} run {i + 1}: {r['seconds']:.1f} s for {r['households']:,} households, "
                  f"{r['persons']:,} persons, peak RSS {r['peak_rss_mb']:.0f} MB{extra}", flush=True)
        seconds = [r["seconds"] for r in results]
        median = statistics.median(seconds)
        # The target is stated for 1M households; scale it linearly for other sizes.
        target = TARGET_SECONDS * args.households / TARGET_HOUSEHOLDS
        print(f"{backend}: {summarise(seconds)}; target {target:.0f} s → {median / target:.2f}× the target")
        lines.append(f"| {backend} | {args.households:,} | {results[0]['persons']:,} | "
                     f"{', '.join(f'{s:.1f}' for s in seconds)} | {median:.1f} | < {target:.0f} s | "
                     f"{median / target:.2f} | {max(r['peak_rss_mb'] for r in results):.0f} MB |")
    if args.record:
        append_results("\n".join(lines))
        print("recorded in bench/RESULTS.md")


if __name__ == "__main__":
    main()
