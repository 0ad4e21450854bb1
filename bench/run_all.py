"""`make bench`: every benchmark at the sizes the issues name, results appended to bench/RESULTS.md.

Full sizes take a while on a 2-core machine (the 1M-household demo and the 1M-case cycle dominate);
`python bench/run_all.py --quick` runs each at a tenth of its size to check the scripts themselves.
Set MINXIN_BENCH_PG to a PostgreSQL server URL to include PostgreSQL where a benchmark supports it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="a tenth of each size, one run, nothing recorded")
    args = ap.parse_args()
    pg = os.environ.get("MINXIN_BENCH_PG")
    runs = ["--runs", "1"] if args.quick else ["--runs", "3", "--record"]
    scale = 10 if args.quick else 1
    plan = [
        ["bench_import.py", "--rows", str(100_000 // scale), "--format", "both", *runs],
        ["bench_demo.py", "--households", str(1_000_000 // scale), *runs],
        ["bench_cycle.py", "--cases", str(1_000_000 // scale), "--orm-cases", str(100_000 // scale),
         "--db", "both" if pg else "sqlite", *(["--pg-url", pg] if pg else []), *runs],
        ["bench_medical.py", "--records", str(1_000_000 // scale), "--households", str(1_000_000 // scale),
         *runs],
    ]
    failed = 0
    for cmd in plan:
        if not (HERE / cmd[0]).exists():
            print(f"skip {cmd[0]} (not present)")
            continue
        print("==>", " ".join(cmd), flush=True)
        failed += subprocess.call([sys.executable, str(HERE / cmd[0]), *cmd[1:]], cwd=HERE.parent) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
