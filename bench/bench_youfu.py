"""优抚 (youfu) at province scale: a county cycle of 200,000 recipients and the on-time report over it.

    python bench/bench_youfu.py [--recipients 200000] [--runs 3] [--db sqlite,postgresql] [--record]

For each database: a fresh schema (the real migrations), 200,000 recipients in one county spread over
its communities and over the categories with seeded national standards (every 7th paid per year of
service), loaded in bulk. Timed, median of `--runs`:

* cycle: `run_cycle` of a fresh month (a different month each run), one transaction, committed;
* on-time report: `ontime_report` for the first month after it was marked reconciled with one payment in
  a thousand failed (the report's two statements over every recipient, the temporary standards table
  and the exception list of 1,000).

PostgreSQL: MINXIN_BENCH_PG (default postgresql+psycopg://postgres@127.0.0.1/minxin_bench_youfu),
dropped and created anew.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from common import RESULTS, machine  # noqa: E402

from minxin.auth import audit  # noqa: E402
from minxin.auth.service import ensure_system_user  # noqa: E402
from minxin.core.period import Period  # noqa: E402
from minxin.infra import migrate  # noqa: E402
from minxin.infra.db import make_engine, unit_of_work, write_lock  # noqa: E402
from minxin.programs.cycles import run_cycle  # noqa: E402
from minxin.programs.models import Case, Cycle  # noqa: E402
from minxin.programs.service import init_programs  # noqa: E402
from minxin.registry.models import Person, Region  # noqa: E402
from minxin.registry.service import seed_regions  # noqa: E402
from minxin.veterans import rules  # noqa: E402
from minxin.veterans.models import VeteranRecipient  # noqa: E402

COUNTY = "320706"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1/minxin_bench_youfu"
CATEGORIES = [c for c in rules.leaf_categories() if "因病" not in c or c.split("/")[1] in rules.GRADES[:6]]


def fresh(backend: str, tmp: Path) -> Engine:
    if backend == "sqlite":
        path = tmp / "bench_youfu.db"
        for p in tmp.glob("bench_youfu.db*"):
            p.unlink()
        return make_engine(f"sqlite:///{path}")
    url = os.environ.get("MINXIN_BENCH_PG", PG_DEFAULT)
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_engine(url)


def load(engine: Engine, n: int) -> None:
    audit.create_key(audit.key_path(engine.url))  # `minxin init` does the same: no key, no audit entry
    migrate.upgrade(engine)
    with write_lock(), Session(engine) as s:
        seed_regions(s)
        ensure_system_user(s)
        init_programs(s)
        s.commit()
    with write_lock(), Session(engine) as s:
        communities = list(s.execute(select(Region.code).where(Region.level == "community",
                                                               Region.code.like(COUNTY + "%"))).scalars())
        now = datetime.now(UTC)
        step = 20_000
        for k in range(0, n, step):
            s.execute(insert(Person), [
                {"id_number": f"{COUNTY}1950{i:08d}", "name": "优抚", "sex": "M", "birth_date": date(1950, 1, 1),
                 "region_code": communities[i % len(communities)], "monthly_income_fen": 0, "created_at": now,
                 "updated_at": now} for i in range(k, min(n, k + step))])
        ids = list(s.execute(select(Person.id).order_by(Person.id)).scalars())
        for k in range(0, n, step):
            s.execute(insert(Case), [
                {"program_code": "youfu", "person_id": pid, "region_code": communities[i % len(communities)],
                 "category": rules.PER_YEAR if i % 7 == 0 else CATEGORIES[i % len(CATEGORIES)], "status": "active",
                 "start_period": "2012-01", "bank_account": f"6228482{pid:011d}", "sanwu": False,
                 "staff_relative": False, "spot_check_required": False, "spot_checked": False, "review_class": "A",
                 "created_at": now, "updated_at": now}
                for i, pid in enumerate(ids[k:k + step], start=k)])
        cases = s.execute(select(Case.id, Case.person_id, Case.region_code, Case.category)).all()
        for k in range(0, len(cases), step):
            s.execute(insert(VeteranRecipient), [
                {"person_id": pid, "case_id": cid, "region_code": region, "category": cat.split("/")[0],
                 "subkind": cat.partition("/")[2], "service_years": (cid % 20) + 1 if cat == rules.PER_YEAR else None,
                 "medical_subsidy": False, "status": "active", "created_at": now}
                for cid, pid, region, cat in cases[k:k + step]])
        s.commit()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()


def system(session: Session) -> Any:
    return ensure_system_user(session)


def timed(fn: Any) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench(backend: str, n: int, runs: int, tmp: Path) -> dict[str, Any]:
    engine = fresh(backend, tmp)
    t_load = timed(lambda: load(engine, n))
    cycle_times, cases = [], 0
    for r in range(runs):
        def one(month: int = r + 2) -> None:
            nonlocal cases
            with unit_of_work(engine) as s:
                summary = run_cycle(s, actor=system(s), program="youfu", period=Period(2012, month), county=COUNTY)
                cases = summary.cases
        cycle_times.append(timed(one))
    assert cases == n, cases
    with unit_of_work(engine) as s:
        cycle = s.execute(select(Cycle).where(Cycle.period == "2012-02")).scalar_one()
        cycle.status, cycle.reconciled_at = "reconciled", datetime(2012, 2, 14, tzinfo=UTC)
        s.execute(text("UPDATE payments SET status = CASE WHEN case_id % 1000 = 0 THEN 'failed' ELSE 'paid' END "
                       "WHERE cycle_id = :c"), {"c": cycle.id})
    from minxin.veterans.service import ontime_report

    report_times, summary = [], {}
    for _ in range(runs):
        def rep() -> None:
            nonlocal summary
            with unit_of_work(engine, write=False) as s:
                summary = ontime_report(s, user=system(s), period=Period(2012, 2), limit=1000).totals()
        report_times.append(timed(rep))
    assert summary["due"] == n and summary["by_reason"].get("failed") == n // 1000, summary
    engine.dispose()
    return {"backend": backend, "load": t_load, "cycle": cycle_times, "report": report_times,
            "by_reason": summary["by_reason"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--recipients", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--db", default="sqlite,postgresql")
    ap.add_argument("--tmp", default="/tmp")
    ap.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    args = ap.parse_args(argv)
    started = machine()
    results = [bench(b.strip(), args.recipients, args.runs, Path(args.tmp)) for b in args.db.split(",")]
    lines = [f"\n## {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — 优抚 (youfu): cycle and on-time report, "
             f"{args.recipients:,} recipients\n",
             f"Command: `python bench/bench_youfu.py --recipients {args.recipients} --runs {args.runs} "
             f"--db {args.db}{' --record' if args.record else ''}`  ",
             f"Machine: {started}  ",
             f"Data: {args.recipients:,} active youfu cases in one county ({COUNTY}), {len(CATEGORIES)} "
             "categories with the policy file's seeded standards, every 7th paid per year of service; one "
             "county cycle per run (a fresh month each); the report over the first month marked reconciled "
             "with 1 payment in 1,000 failed.\n",
             "| database | cycle (median of runs) | runs | on-time report (median) | runs | target |",
             "|---|---|---|---|---|---|"]
    for r in results:
        c, rep = statistics.median(r["cycle"]), statistics.median(r["report"])
        ok = "met" if c < 10 and rep < 10 else "NOT met"
        lines.append(f"| {r['backend']} | {c:.2f} s | {', '.join(f'{x:.2f}' for x in r['cycle'])} | {rep:.2f} s | "
                     f"{', '.join(f'{x:.2f}' for x in r['report'])} | < 10 s each: {ok} |")
    text_out = "\n".join(lines) + "\n"
    print(text_out)
    if args.record:
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write(text_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
