"""Benchmark: household import (`minxin.registry.importer.import_households`) of a 100,000-row file.

    python bench/bench_import.py                  # CSV and XLSX, 100,000 rows, 3 runs each, SQLite
    python bench/bench_import.py --rows 20000 --runs 1 --format csv
    python bench/bench_import.py --profile        # one run under cProfile: where the time goes
    python bench/bench_import.py --record         # also append the results to bench/RESULTS.md

The file is built once per format from the demo city's generator (valid ID numbers, real community
codes, one row per person, rows of a household together, incomes in yuan). Each run is a child
process with a fresh SQLite database; the time covers parsing, checking and storing the file and
the commit, as `minxin import households` does it. Target: under 30 s for 100,000 rows.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # the bench folder is not a package: found through sys.path above
    append_results,
    fresh_sqlite,
    machine,
    peak_rss_mb,
    run_child,
    summarise,
)

TARGET_SECONDS = 30.0
TARGET_ROWS = 100_000
GRADES = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


def build_rows(n_rows: int, seed: int = 7) -> list[list[str]]:
    """Exactly n_rows person rows in HEADERS order: whole demo households, topped up with the heads of
    households that did not fit, as one-person households."""
    from random import Random

    from minxin.demo.generator import _City
    from minxin.registry import regions_data
    from minxin.registry.importer import HEADERS

    assert HEADERS == ["户编号", "姓名", "身份证号", "与户主关系", "社区代码", "户籍类别", "月收入", "联系电话", "残疾等级"]
    communities = []
    for county, towns in regions_data.TOWNS.items():
        for suffix, town_name in towns:
            communities += regions_data.communities_for(county + suffix, town_name, 6)
    city = _City(Random(seed), communities, set())
    households, persons, _ = city.households(prefix="I", first_index=1, count=n_rows // 2 + 10, first_id=1,
                                             now="", today="")
    hukou = {h[0]: h[3] for h in households}
    members: dict[int, list[tuple[Any, ...]]] = {}
    for p in persons:
        members.setdefault(p[4], []).append(p)

    def row(household_no: str, p: tuple[Any, ...], relation: str) -> list[str]:
        income_fen = p[11]
        income = str(income_fen // 100) if income_fen % 100 == 0 else f"{income_fen / 100:.2f}"
        return [household_no, p[1], p[0], relation, p[7], hukou[p[4]], income, p[8] or "",
                GRADES[p[9]] if p[9] else ""]

    rows: list[list[str]] = []
    left_over: list[tuple[Any, ...]] = []
    for hid, people in members.items():
        if not left_over and len(rows) + len(people) <= n_rows:
            rows += [row(f"H{hid:08d}", p, p[5]) for p in people]
        else:
            left_over.append(next(p for p in people if p[6]))
    for k in range(n_rows - len(rows)):
        rows.append(row(f"S{k:08d}", left_over[k], "户主"))
    return rows


def write_file(rows: list[list[str]], fmt: str, path: Path) -> None:
    from minxin.registry.importer import HEADERS

    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(HEADERS)
        writer.writerows(rows)
        path.write_bytes(buf.getvalue().encode("utf-8"))
    else:
        from minxin.kit.tabular import write_xlsx

        write_xlsx(path, HEADERS, rows, text_columns=HEADERS)


def child(fmt: str, file: str, db: str, profile: bool, prototype: bool) -> None:
    from minxin.auth.service import ensure_system_user
    from minxin.infra.db import unit_of_work
    from minxin.registry.importer import import_households

    # --prototype measured the storing code that is now importer.store_households itself; kept as a no-op
    # so the recorded commands still run.
    del prototype

    from sqlalchemy import event

    engine = fresh_sqlite(Path(db))
    data = Path(file).read_bytes()
    # Statements sent to the database: unlike seconds, not blurred by other load on the machine.
    statements = [0]
    event.listen(engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    phases: dict[str, float] = {}
    last: list[Any] = [time.perf_counter(), "读取 read"]  # until the first progress call: parsing the file

    def progress(label: str, done: int, total: int) -> None:
        # Time per phase: 读取 parsing the file, 检查 checking rows, 写入 storing (and committing).
        now = time.perf_counter()
        phases[last[1]] = phases.get(last[1], 0.0) + now - last[0]
        last[0], last[1] = now, label

    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    with unit_of_work(engine) as session:
        actor = ensure_system_user(session)
        result = import_households(session, actor=actor, data=data, filename=Path(file).name, progress=progress)
        if not result.ok:
            raise SystemExit(f"import refused: {[str(e) for e in result.errors[:5]]}")
    seconds = time.perf_counter() - started
    progress("", 0, 0)  # close the last phase: declarations, audit entry and commit count with 写入
    phases.pop("", None)
    if profiler:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        sys.stderr.write(out.getvalue())
    engine.dispose()
    for p in Path(db).parent.glob(Path(db).name + "*"):
        p.unlink()
    print(json.dumps({"seconds": seconds, "households": result.households, "persons": result.persons,
                      "peak_rss_mb": peak_rss_mb(), "phases": phases, "statements": statements[0]}))


def xlsx_reader() -> str:
    """Which library `minxin.kit.tabular` reads .xlsx with (the numbers depend on it)."""
    import inspect
    from importlib.metadata import version

    from minxin.kit import tabular

    source = inspect.getsource(tabular._read_xlsx)
    name = "python-calamine" if "calamine" in source else "openpyxl"
    return f"{name} {version(name)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=TARGET_ROWS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--format", choices=["csv", "xlsx", "both"], default="both")
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--profile", action="store_true", help="One run under cProfile, printed to stderr.")
    parser.add_argument("--record", action="store_true", help="Append the results to bench/RESULTS.md.")
    parser.add_argument("--prototype", action="store_true",
                        help="Kept for the recorded commands: the proposed storing code is now the importer's.")
    parser.add_argument("--child", nargs=5, metavar=("FORMAT", "FILE", "DB", "PROFILE", "PROTO"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.child[2], args.child[3] == "1", args.child[4] == "1")
        return

    formats = ["csv", "xlsx"] if args.format == "both" else [args.format]
    rows = build_rows(args.rows)
    variant = " with the storing code proposed for importer.py" if args.prototype else ""
    lines = [f"## Household import{variant} (`bench/bench_import.py`), {time.strftime('%Y-%m-%d')}", "",
             f"Machine: {machine()}; xlsx read with {xlsx_reader()}", "",
             f"Command: `python bench/bench_import.py --rows {args.rows} --runs {args.runs} --format {args.format}"
             + (" --prototype" if args.prototype else "") + "`",
             "", "| file | rows | households | size | runs (s) | median (s) | target | ratio to target | peak RSS "
             "| SQL statements |", "|---|---|---|---|---|---|---|---|---|---|"]
    for fmt in formats:
        path = Path(args.dir) / f"minxin_bench_import.{fmt}"
        write_file(rows, fmt, path)
        size_mb = path.stat().st_size / 1e6
        db = str(Path(args.dir) / "minxin_bench_import.db")
        results = []
        for i in range(1 if args.profile else args.runs):
            r = run_child(Path(__file__), [fmt, str(path), db, "1" if args.profile else "0",
                                           "1" if args.prototype else "0"])
            results.append(r)
            phases = ", ".join(f"{k} {v:.1f} s" for k, v in r["phases"].items())
            print(f"{fmt} run {i + 1}: {r['seconds']:.1f} s for {len(rows):,} rows ({r['households']:,} households; "
                  f"{phases}; {r['statements']:,} SQL statements), peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
        seconds = [r["seconds"] for r in results]
        median = statistics.median(seconds)
        target = TARGET_SECONDS * args.rows / TARGET_ROWS
        print(f"{fmt}: {summarise(seconds)}; target {target:.0f} s → {median / target:.2f}× the target")
        lines.append(f"| {fmt} | {len(rows):,} | {results[0]['households']:,} | {size_mb:.1f} MB | "
                     f"{', '.join(f'{s:.1f}' for s in seconds)} | {median:.1f} | < {target:.0f} s | "
                     f"{median / target:.2f} | {max(r['peak_rss_mb'] for r in results):.0f} MB | "
                     f"{results[0]['statements']:,} |")
        path.unlink()
    if args.record and not args.profile:
        append_results("\n".join(lines))
        print("recorded in bench/RESULTS.md")


if __name__ == "__main__":
    main()
