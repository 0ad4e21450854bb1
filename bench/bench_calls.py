"""Benchmark: the call and rescue centre (issue 14).

    python bench/bench_calls.py                              # SQLite: identify among 1,000,000, 60 s of intake
    python bench/bench_calls.py --elderly 100000 --seconds 10   # a quick look
    python bench/bench_calls.py --pg postgresql+psycopg://postgres@127.0.0.1/postgres   # on PostgreSQL instead
    python bench/bench_calls.py --workers 2                  # the served process's workers (default below)
    python bench/bench_calls.py --record                     # also append the results to bench/RESULTS.md

1. Caller identification: a city of N elderly people (persons, care profiles with a phone each, a
   一键呼叫 terminal each) is loaded with set-based SQL; then 20,000 look-ups (`identify_caller`) by
   terminal id, by phone number and of unknown callers, each timed. Target: p99 < 10 ms at 1,000,000.
2. Intake to console: `minxin serve` on loopback over that database, two consoles following the SSE
   feed (`/api/v1/calls/stream`), and POST /api/v1/calls sent open-loop at RATE calls/s for SECONDS
   (each call at its scheduled moment, whatever the previous answers took). Measured: POST answer
   time, the time from starting the POST to each console receiving the call, and the server's CPU
   time per POST (all its processes, the two open feeds included, from /proc). Checked: every
   acknowledged call is stored once and every console saw every call, counted after the consoles
   have caught up (no new step for 2 s, at most 15 s after the last answer), and the audit trail
   verifies afterwards (chain, HMACs, anchors). Target: 200 calls/s
   for 60 s, p99 POST → console < 250 ms, nothing lost.

`--workers N`: the `minxin serve --workers` of the served process; default 2 (this machine's cores).
SQLite has one writer at a time: the writers of a process queue on a lock of the process and those
of several processes on a lock file beside the database (minxin.infra.db), so they take turns at
once; before the lock file, processes waited for each other by SQLite's sleep-and-retry and one
worker did better (2 CPUs, 10 s at 200/s: 1 worker 174 calls/s, POST p99 0.2 s; 2 workers 149
calls/s, p99 1.2 s). PostgreSQL queues waiters itself. The count is printed with the results, as
is the CPU the benchmark's own client spent per POST (it shares the machine with the server).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import append_results, drop_postgres, fresh_postgres, fresh_sqlite, machine
from sqlalchemy import Engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(len(ordered) * pct / 100 + 0.999999) - 1))]


# ---- 1. a city of elderly people and caller identification ----------------------------------------------

def load_elderly(engine: Engine, n: int) -> float:
    """N persons aged 60+, each with a care profile (phone 13000000000+id) and a terminal (DEV<id>)."""
    started = time.perf_counter()
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        now = "2026-12-01 00:00:00"
        if postgres:
            conn.execute(text(
                "INSERT INTO persons (id_number, name, sex, birth_date, region_code, is_head, monthly_income_fen, "
                "created_at, updated_at) SELECT 'B' || lpad(i::text, 17, '0'), '某某', 'M', DATE '1940-01-01', "
                "'320706006' || lpad((1 + i % 6)::text, 3, '0'), FALSE, 0, :now, :now "
                "FROM generate_series(1, :n) AS i"), {"n": n, "now": now})
        else:
            conn.execute(text(
                "INSERT INTO persons (id_number, name, sex, birth_date, region_code, is_head, monthly_income_fen, "
                "created_at, updated_at) WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
                "WHERE i < :n) SELECT printf('B%017d', i), '某某', 'M', '1940-01-01', "
                "printf('320706006%03d', 1 + i % 6), 0, 0, :now, :now FROM s"), {"n": n, "now": now})
        conn.execute(text(
            "INSERT INTO elderly_profiles (person_id, region_code, living_arrangement, phone, created_at, updated_at) "
            "SELECT id, region_code, '独居', CAST(13000000000 + id AS TEXT), :now, :now FROM persons "
            "WHERE id_number LIKE 'B%'"), {"now": now})
        conn.execute(text(
            "INSERT INTO call_devices (terminal_id, person_id, created_at) "
            "SELECT 'DEV' || CAST(id AS TEXT), id, :now FROM persons WHERE id_number LIKE 'B%'"), {"now": now})
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def bench_identify(engine: Engine, n: int, lookups: int = 20_000) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from minxin.eldercare.calls import identify_caller

    with engine.connect() as conn:
        lo, hi = conn.execute(text("SELECT MIN(person_id), MAX(person_id) FROM elderly_profiles")).one()
    rng = random.Random(14)
    callers = []
    for _ in range(lookups):
        pid = rng.randint(lo, hi)
        r = rng.random()
        callers.append(f"DEV{pid}" if r < 0.45 else f"+86 {13000000000 + pid}" if r < 0.9 else
                       f"0518{rng.randrange(10**7):07d}")
    times: list[float] = []
    found = 0
    with Session(engine) as session:
        identify_caller(session, callers[0])  # warm the connection
        for caller in callers:
            t = time.perf_counter()
            pid, _ = identify_caller(session, caller)
            times.append((time.perf_counter() - t) * 1000)
            found += pid is not None
    return {"elderly": n, "lookups": lookups, "identified": found, "p50_ms": percentile(times, 50),
            "p99_ms": percentile(times, 99), "max_ms": max(times)}


# ---- 2. intake to console ---------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Console(threading.Thread):
    """One open console: follows the SSE feed and notes when each call first shows (by step id, as the
    console page does: a step delivered twice counts as a duplicate, not as a second call)."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token = url, token
        self.seen: dict[int, float] = {}
        self.steps: set[int] = set()
        self.duplicates = 0
        self.last_step_at = time.perf_counter()
        self.ready = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"}
        with contextlib.suppress(httpx.HTTPError), httpx.Client(timeout=httpx.Timeout(10, read=60)) as client, \
                client.stream("GET", f"{self.url}/api/v1/calls/stream", headers=headers) as response:
            for line in response.iter_lines():
                self.ready.set()
                if self.stop.is_set():
                    return
                if line.startswith("data: "):
                    step = json.loads(line[6:])
                    now = time.perf_counter()
                    self.last_step_at = now
                    if step["event_id"] in self.steps:
                        self.duplicates += 1
                        continue
                    self.steps.add(step["event_id"])
                    if step["action"] == "received":
                        self.seen.setdefault(step["call_id"], now)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (the uvicorn workers), from /proc."""
    import subprocess as sp

    pids = [pid] + [int(p) for p in sp.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]
    ticks = 0
    for p in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def bench_intake(engine: Engine, url: str, *, rate: int, seconds: int, workers: int = 1,
                 senders: int = 16) -> dict[str, Any]:
    import httpx

    from minxin.auth.models import User
    from minxin.auth.service import create_token, ensure_system_user
    from minxin.infra import db

    with db.unit_of_work(engine) as s:
        system = ensure_system_user(s)
        agent = s.execute(select(User).where(User.username == "bench_agent")).scalar_one_or_none()
        if agent is None:
            agent = User(username="bench_agent", display_name="bench", role="call_agent", scope_code="320700",
                         password_hash=None)
            s.add(agent)
            s.flush()
        token = create_token(s, actor=system, user=agent)
    port = _free_port()
    env = {**os.environ, "MINXIN_DATABASE_URL": url}
    server = subprocess.Popen([sys.executable, "-m", "minxin.cli", "serve", "--port", str(port),
                               "--workers", str(workers)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
            for k in range(20 * workers):  # every worker's first request builds its route table: not measured
                client.post(f"{base}/api/v1/calls", json={"caller": f"DEV{k + 1}", "kind": "consult"})
        consoles = [Console(base, token) for _ in range(2)]
        for c in consoles:
            c.start()
            c.ready.wait(10)
        total = rate * seconds
        started_at: dict[int, float] = {}
        acked: dict[int, int] = {}  # k -> call id
        post_ms: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        t0 = time.perf_counter() + 0.5
        cpu0 = _cpu_seconds(server.pid)
        own_cpu0 = time.process_time()
        rng = random.Random(7)
        callers = [f"DEV{rng.randint(1, 1000)}" if rng.random() < 0.5 else f"0518{rng.randrange(10**7):07d}"
                   for _ in range(total)]
        counter = iter(range(total))

        def send() -> None:
            with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"}) as client:
                while True:
                    with lock:
                        k = next(counter, None)
                    if k is None:
                        return
                    due = t0 + k / rate
                    delay = due - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    t = time.perf_counter()
                    try:
                        r = client.post(f"{base}/api/v1/calls", json={"caller": callers[k], "kind": "consult",
                                                                       "event_id": f"bench-{t0:.0f}-{k}"})
                    except httpx.HTTPError as exc:
                        errors.append(repr(exc))
                        continue
                    done = time.perf_counter()
                    if r.status_code == 201:
                        with lock:
                            started_at[k] = t
                            acked[k] = r.json()["id"]
                            post_ms.append((done - t) * 1000)
                    else:
                        errors.append(f"{r.status_code} {r.text[:100]}")

        threads = [threading.Thread(target=send) for _ in range(senders)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - t0
        cpu_ms = (_cpu_seconds(server.pid) - cpu0) * 1000 / max(1, len(acked))
        client_cpu_ms = (time.process_time() - own_cpu0) * 1000 / max(1, len(acked))
        # Let the consoles catch up: until no new step for 2 s, at most 15 s.
        caught_up_by = time.perf_counter() + 15
        while time.perf_counter() < caught_up_by:
            if all(c.seen.keys() >= set(acked.values()) for c in consoles):
                break
            if time.perf_counter() - max(c.last_step_at for c in consoles) > 2:
                break
            time.sleep(0.1)
        catch_up_s = time.perf_counter() - t0 - elapsed
        for c in consoles:
            c.stop.set()
        latencies = [c.seen[cid] - started_at[k] for c in consoles for k, cid in acked.items() if cid in c.seen]
        missing = [sum(1 for cid in acked.values() if cid not in c.seen) for c in consoles]
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(text("calls"))
                                  .where(text("event_id LIKE :p")), {"p": f"bench-{t0:.0f}-%"}).scalar_one()
        result: dict[str, Any] = {
            "rate": rate, "seconds": seconds, "workers": workers, "sent": total, "acknowledged": len(acked),
            "errors": len(errors), "first_errors": errors[:3], "achieved_rate": len(acked) / elapsed,
            "post_p50_ms": percentile(post_ms, 50) if post_ms else None,
            "post_p99_ms": percentile(post_ms, 99) if post_ms else None,
            "console_p50_ms": percentile(latencies, 50) * 1000 if latencies else None,
            "console_p99_ms": percentile(latencies, 99) * 1000 if latencies else None,
            "server_cpu_ms_per_post": round(cpu_ms, 2), "client_cpu_ms_per_post": round(client_cpu_ms, 2),
            "catch_up_seconds": round(catch_up_s, 1),
            "stored": stored, "missing_per_console": missing,
            "duplicates_per_console": [c.duplicates for c in consoles]}
    finally:
        server.terminate()
        server.wait(10)
    result.update(audit_verify(engine))
    return result


def audit_verify(engine: Engine) -> dict[str, Any]:
    """`minxin audit verify` over the database the run wrote: the chain, the HMACs and the anchors."""
    from sqlalchemy.orm import Session

    from minxin.auth import audit

    with Session(engine) as session:
        checked = audit.verify(session)
    return {"audit_intact": checked.ok, "audit_entries": checked.checked, "audit_problem": checked.reason}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--elderly", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--workers", type=int, default=None,
                        help="minxin serve --workers for the intake (default 2).")
    parser.add_argument("--dir", default=tempfile.gettempdir())
    parser.add_argument("--pg", help="Run on PostgreSQL (a server URL; a scratch database is created) instead.")
    parser.add_argument("--skip-intake", action="store_true")
    parser.add_argument("--record", action="store_true", help="Append the results to bench/RESULTS.md.")
    args = parser.parse_args()
    if args.pg:
        engine = fresh_postgres(args.pg, "minxin_bench_calls")
        url = engine.url.render_as_string(hide_password=False)
    else:
        path = Path(args.dir) / "minxin_bench_calls.db"
        engine = fresh_sqlite(path)
        url = f"sqlite:///{path}"
    where = engine.dialect.name
    host = machine()
    load_s = load_elderly(engine, args.elderly)
    ident = bench_identify(engine, args.elderly)
    print(json.dumps({"database": where, "load_seconds": round(load_s, 1), **ident}, ensure_ascii=False))
    intake = None
    if not args.skip_intake:
        workers = args.workers or 2
        intake = bench_intake(engine, url, rate=args.rate, seconds=args.seconds, workers=workers)
        print(json.dumps({"database": where, **intake}, ensure_ascii=False, default=str))
    engine.dispose()
    if args.pg:
        drop_postgres(args.pg, "minxin_bench_calls")
    if args.record:
        cmd = "python bench/bench_calls.py " + " ".join(a for a in sys.argv[1:] if a != "--record")
        lines = [f"## Call centre (`bench/bench_calls.py`), {time.strftime('%Y-%m-%d')}", "",
                 f"Machine: {host}", "", f"Command: `{cmd.strip()}`", "",
                 "| database | elderly | look-ups | identified | p50 (ms) | p99 (ms) | max (ms) | target |",
                 "|---|---|---|---|---|---|---|---|",
                 f"| {where} | {ident['elderly']:,} | {ident['lookups']:,} | {ident['identified']:,} | "
                 f"{ident['p50_ms']:.2f} | {ident['p99_ms']:.2f} | {ident['max_ms']:.1f} | p99 < 10 ms |", ""]
        if intake:
            lines += ["| database | workers | rate (calls/s) | seconds | acknowledged | achieved (calls/s) | errors | "
                      "POST p50 / p99 (ms) | POST→console p50 / p99 (ms) | server CPU per POST (ms) | "
                      "client CPU per POST (ms) | stored | missing per console | target |",
                      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
                      f"| {where} | {intake['workers']} | {intake['rate']} | {intake['seconds']} | {intake['acknowledged']:,} | "
                      f"{intake['achieved_rate']:.0f} | {intake['errors']} | "
                      f"{intake['post_p50_ms']:.0f} / {intake['post_p99_ms']:.0f} | "
                      f"{intake['console_p50_ms']:.0f} / {intake['console_p99_ms']:.0f} | "
                      f"{intake['server_cpu_ms_per_post']:.1f} | {intake['client_cpu_ms_per_post']:.1f} | {intake['stored']:,} | "
                      f"{intake['missing_per_console']} | 200/s, p99 < 250 ms, none lost |", ""]
        append_results("\n".join(lines))


if __name__ == "__main__":
    main()
