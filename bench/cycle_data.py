"""Synthetic 低保 population for bench/bench_cycle.py, loaded through the drivers' bulk paths.

`build(url, n)` migrates an empty database, seeds regions, programs and their standards, the system
user and a second city_admin (the approver: whoever runs a cycle may not approve it), then loads
n households with 1–5 members each (≈2.53 n persons) and one active 低保 case per household:

* communities drawn uniformly from the seeded ones; 城镇 in urban communities, 农村 elsewhere;
* per-capita income 0 for 10 % of households, otherwise uniform in [0, 1.15 × the seed standard),
  so ≈ 87 % are eligible; 2 % are 三无 (income 0, paid the full standard);
* ages 0–95, 4 % disabled (grade 1–4), 3 % seriously ill (重病), so every 分类施保 add-on occurs.

Rows are generated in chunks from one `random.Random(seed)` stream (the same n and seed give the
same population) and written with SQLite `executemany` (`?` placeholders, one plain connection of
the engine's SQLite driver, tuned for loading) or PostgreSQL `COPY … FROM STDIN` (psycopg `cursor.copy()`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from random import Random
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from minxin.infra.db import sqlite_module

# Bump when the population changes: cached databases built by an older version are rebuilt.
GENERATOR_VERSION = 3
SEED = 2012
APPROVER = "bench_approver"
APPROVER_PASSWORD = "bench-approver-2012"
CHUNK = 50_000

HOUSEHOLD_COLUMNS = ("id", "household_no", "region_code", "hukou_type", "monthly_income_fen",
                     "income_declared_on", "created_at", "updated_at")
PERSON_COLUMNS = ("id", "id_number", "name", "sex", "birth_date", "household_id", "relation", "is_head",
                  "region_code", "disability_grade", "health_status", "monthly_income_fen", "created_at",
                  "updated_at")
CASE_COLUMNS = ("id", "program_code", "household_id", "person_id", "region_code", "category", "status",
                "start_period", "bank_account", "sanwu", "staff_relative", "spot_check_required",
                "spot_checked", "review_class", "next_review_due", "created_at", "updated_at")

# Seed standards of the policy file (fen), used only to shape the income distribution.
_STANDARD_GUESS = {"城镇": 46_000, "农村": 33_000}
_SIZE_WEIGHTS = (25, 30, 22, 13, 10)  # 1..5 members: mean 2.53
_REFERENCE = date(2012, 6, 30).toordinal()
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华兰红玉梅"
_RELATIONS = ("配偶", "子女", "子女", "父母", "孙子女")


@dataclass
class Population:
    households: int
    persons: int
    cases: int
    seconds: float


def communities(session: Session) -> list[tuple[str, bool]]:
    """(code, urban) of every current community, in code order."""
    return [(str(c), bool(u)) for c, u in session.execute(text(
        "SELECT code, urban FROM regions WHERE level = 'community' AND alias_of IS NULL ORDER BY code"))]


def generate(n: int, comms: list[tuple[str, bool]], *, seed: int = SEED, chunk: int = CHUNK,
             ) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Chunks of (households, persons, cases) rows; ids start at 1. Dates and times are ISO text."""
    from minxin.core.idnumber import make_id

    rng = Random(seed)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    sizes = [k + 1 for k, w in enumerate(_SIZE_WEIGHTS) for _ in range(w)]
    seq: dict[tuple[str, int], int] = {}
    pid = 0
    hh: list[tuple[Any, ...]] = []
    pe: list[tuple[Any, ...]] = []
    ca: list[tuple[Any, ...]] = []
    for i in range(1, n + 1):
        code, urban = comms[rng.randrange(len(comms))]
        category = "城镇" if urban else "农村"
        m = sizes[rng.randrange(len(sizes))]
        sanwu = rng.random() < 0.02
        if sanwu or rng.random() < 0.10:
            income = 0
        else:
            income = rng.randrange(_STANDARD_GUESS[category] * 115 // 100) * m + rng.randrange(m)
        hh.append((i, f"BC{i:010d}", code, category, income, "2012-06-01", now, now))
        family = _SURNAMES[rng.randrange(len(_SURNAMES))]
        head_id = pid + 1
        county = code[:6]
        for j in range(m):
            pid += 1
            age = rng.randrange(25, 91) if j == 0 else rng.randrange(0, 96)
            birth = _REFERENCE - age * 365 - rng.randrange(365)
            male = rng.random() < 0.5
            k = seq.get((county, birth), 0)
            seq[(county, birth)] = k + 1
            id_number = make_id(county, date.fromordinal(birth), 2 * k + (1 if male else 0))
            name = family + _GIVEN[rng.randrange(len(_GIVEN))] + (
                _GIVEN[rng.randrange(len(_GIVEN))] if rng.random() < 0.6 else "")
            r = rng.random()
            disability = 1 + rng.randrange(4) if r < 0.04 else None
            health = "重病" if rng.random() < 0.03 else ("慢性病" if rng.random() < 0.1 else "健康")
            pe.append((pid, id_number, name, "M" if male else "F", date.fromordinal(birth).isoformat(), i,
                       "户主" if j == 0 else _RELATIONS[rng.randrange(len(_RELATIONS))], j == 0, code,
                       disability, health, 0, now, now))
        start = f"{2011 + rng.randrange(2)}-{1 + rng.randrange(6):02d}"
        ca.append((i, "dibao", i, head_id, code, category, "active", start, f"6228480{i:012d}", sanwu,
                   False, False, False, "ABC"[rng.randrange(3)], "2013-01-01", now, now))
        if len(hh) >= chunk:
            yield hh, pe, ca
            hh, pe, ca = [], [], []
    if hh:
        yield hh, pe, ca


def prepare(engine: Engine) -> None:
    """Migrate, seed regions, programs and standards, the system user and the approver."""
    from minxin.auth import audit
    from minxin.auth.service import add_user, ensure_system_user
    from minxin.infra import migrate
    from minxin.infra.db import write_lock
    from minxin.programs.service import init_programs
    from minxin.registry.service import seed_regions

    audit.create_key(audit.key_path(engine.url))  # as `minxin init`: the audit trail needs its key
    migrate.upgrade(engine)
    with write_lock(), Session(engine) as s:
        seed_regions(s)
        system = ensure_system_user(s)
        init_programs(s)
        if s.execute(text("SELECT 1 FROM users WHERE username = :u"), {"u": APPROVER}).first() is None:
            add_user(s, actor=system, username=APPROVER, password=APPROVER_PASSWORD, role="city_admin",
                     scope_code=engine_city(s))
        s.commit()


def engine_city(session: Session) -> str:
    return str(session.execute(text("SELECT code FROM regions WHERE level = 'city'")).scalar_one())


def load(engine: Engine, n: int, *, seed: int = SEED, progress: bool = True) -> Population:
    """Generate and bulk-load the population into a prepared, empty database."""
    from minxin.registry.facts import lift_facts_triggers, refresh_facts, restore_facts_triggers

    with Session(engine) as s:
        comms = communities(s)
    # The persons triggers that keep household facts are lifted for the load, and the facts
    # refreshed in one statement after it (as `minxin demo` does, there in one transaction; this
    # loader commits per chunk on its own driver connections).
    with engine.begin() as conn:
        triggers = lift_facts_triggers(conn)
    started = time.perf_counter()
    counts = [0, 0, 0]
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        assert path
        conn = sqlite_module().connect(path, isolation_level=None)
        try:
            for stmt in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=OFF", "PRAGMA foreign_keys=OFF",
                         "PRAGMA cache_size=-2000000", "PRAGMA temp_store=MEMORY"):
                conn.execute(stmt)
            for hh, pe, ca in generate(n, comms, seed=seed):
                conn.execute("BEGIN")
                for table, cols, rows in (("households", HOUSEHOLD_COLUMNS, hh), ("persons", PERSON_COLUMNS, pe),
                                          ("cases", CASE_COLUMNS, ca)):
                    conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
                                     f"({', '.join('?' * len(cols))})", rows)
                conn.execute("COMMIT")
                counts = [counts[0] + len(hh), counts[1] + len(pe), counts[2] + len(ca)]
                _report(progress, counts, n, started)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    else:
        raw = engine.raw_connection()
        try:
            dbapi: Any = raw.driver_connection
            with dbapi.cursor() as cur:
                for hh, pe, ca in generate(n, comms, seed=seed):
                    for table, cols, rows in (("households", HOUSEHOLD_COLUMNS, hh),
                                              ("persons", PERSON_COLUMNS, pe), ("cases", CASE_COLUMNS, ca)):
                        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                            for row in rows:
                                cp.write_row(row)
                    counts = [counts[0] + len(hh), counts[1] + len(pe), counts[2] + len(ca)]
                    _report(progress, counts, n, started)
                for table in ("households", "persons", "cases"):
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT max(id) FROM {table}))")
            dbapi.commit()
        finally:
            raw.close()
    with engine.begin() as conn:
        refresh_facts(conn, first_id=1, last_id=counts[0])
        restore_facts_triggers(conn, triggers)
    return Population(counts[0], counts[1], counts[2], time.perf_counter() - started)


def _report(progress: bool, counts: list[int], n: int, started: float) -> None:
    if progress and (counts[0] % (CHUNK * 4) == 0 or counts[0] == n):
        print(f"  loaded {counts[0]:,}/{n:,} households, {counts[1]:,} persons "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
