"""Shared pieces of the benchmarks: fresh databases, the machine's description, runs in child processes.

Each timed run happens in a child process of its own, so that its peak memory (ru_maxrss) is its
own and no page cache or Python state carries over from one run to the next.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
# The benchmarks' databases write audit entries like any other: their key lives with them, apart
# from the key of a checkout's own database (the child processes inherit the setting).
os.environ.setdefault("MINXIN_AUDIT_KEY_FILE", str(ROOT / "bench" / "out" / "minxin-audit.key"))


def machine_info() -> dict[str, str]:
    """nproc, CPU model, RAM, Python and the SQLite library the engine uses."""
    from minxin.infra.db import sqlite_module

    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    driver = sqlite_module()
    return {"nproc": str(os.cpu_count()), "cpu": model, "ram": ram, "python": platform.python_version(),
            "sqlite": f"{driver.sqlite_version} ({driver.__name__})"}


def machine() -> str:
    """nproc, CPU model and RAM, for the results table."""
    m = machine_info()
    # The machine is shared: the load when the benchmark starts says how much to trust the numbers.
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{m['nproc']} CPUs ({m['cpu']}), {m['ram']} RAM, Python {m['python']}, "
            f"SQLite {m['sqlite']}; load average at start {load}")


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _forget_anchors(url: str) -> None:
    """The replaced database's anchor file (its default place only: a configured MINXIN_AUDIT_ANCHOR_FILE
    is left alone); its anchors would name entries the new database never had (`minxin audit verify`
    would call that a truncation)."""
    from minxin.auth import audit
    from minxin.infra.settings import get_settings

    if get_settings().audit_anchor_file is None:
        audit.anchor_path(url).unlink(missing_ok=True)


def fresh_sqlite(path: Path) -> Engine:
    """A new SQLite file at `path`, migrated, with regions and the system user (= `minxin init`)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    _forget_anchors(f"sqlite:///{path}")
    return _initialise(f"sqlite:///{path}")


def fresh_postgres(url: str, name: str) -> Engine:
    """A new database `name` on the server of `url` (dropped first if it exists), initialised."""
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    target = make_url(url).set(database=name).render_as_string(hide_password=False)
    _forget_anchors(target)
    return _initialise(target)


def drop_postgres(url: str, name: str) -> None:
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(url: str, *statements: str) -> None:
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    admin.dispose()


def _initialise(url: str) -> Engine:
    from minxin.auth import audit
    from minxin.auth.service import ensure_system_user
    from minxin.infra import migrate
    from minxin.infra.db import make_engine, write_lock
    from minxin.registry.service import seed_regions

    audit.create_key(audit.key_path(url))  # `minxin init` does the same: no key, no audit entry
    engine = make_engine(url)
    migrate.upgrade(engine)
    with write_lock(), Session(engine) as s:
        seed_regions(s)
        ensure_system_user(s)
        s.commit()
    return engine


def run_child(script: Path, args: list[str]) -> dict[str, Any]:
    """Run `script --child args…`; it prints one JSON line (its measurements) last."""
    # stderr passes through (warnings, a profile); stdout carries the result.
    proc = subprocess.run([sys.executable, str(script), "--child", *args], stdout=subprocess.PIPE, text=True,
                          check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout)
        raise SystemExit(f"benchmark child failed ({proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summarise(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds):.1f} s (runs: {', '.join(f'{s:.1f}' for s in seconds)})"


def append_results(section: str) -> None:
    """Append a section to bench/RESULTS.md, creating the file with its header if needed."""
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nRecorded by the scripts in `bench/`; newest sections last. "
                           "Times are wall-clock seconds on the machine named in each section.\n")
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("\n" + section.rstrip() + "\n")
