"""The engine as operators run it: real `minxin` processes on SQLite files and on PostgreSQL.

Two processes running the same cycle produce one cycle; a cycle killed with SIGKILL leaves all of it
or none of it, and a rerun completes it.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import date

import pytest
from sqlalchemy import create_engine, text
from tests.factories import new_id

from minxin.registry.importer import HEADERS

HOUSEHOLDS = 3000
PASSWORD = "Strong-pass1\n"


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "MINXIN_DATABASE_URL": url, "COLUMNS": "200"}


def _run(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "minxin.cli", *args], capture_output=True, text=True,
                          env=_env(url), input=stdin, timeout=300, check=False)


def _popen(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "minxin.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(url))


def _fresh_postgres(name: str) -> str | None:
    base = os.environ.get("MINXIN_TEST_DATABASE_URL")
    if not base:
        return None
    admin = create_engine(base.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def city_url(request, tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("proc")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'city.db'}"
    else:
        # Named after the suite's own database, so that two suites on one server never share it.
        url = _fresh_postgres(f"{os.environ.get('MINXIN_TEST_DATABASE_URL', '').rsplit('/', 1)[-1]}_proc")
        if url is None:
            pytest.skip("MINXIN_TEST_DATABASE_URL not set")
    assert _run(url, "init").returncode == 0
    rng = random.Random(3)
    households = tmp / "hh.csv"
    cases = tmp / "cases.csv"
    with households.open("w", newline="", encoding="utf-8") as fh, cases.open("w", newline="", encoding="utf-8") as fc:
        wh, wc = csv.writer(fh), csv.writer(fc)
        wh.writerow(HEADERS)
        wc.writerow(["身份证号", "开始月份", "账号", "类别"])
        for i in range(HOUSEHOLDS):
            community = rng.choice(["320706006001", "320706006002", "320706009001"])  # the runner's county
            hukou = "城镇" if community.startswith("320706") else "农村"
            head = new_id(date(1960, 1, 1))
            wh.writerow([f"P{i:06d}", "张伟", head, "户主", community, hukou, rng.choice(["0", "100", "250"]), "", ""])
            for _ in range(rng.randint(0, 3)):
                wh.writerow([f"P{i:06d}", "李娜", new_id(date(1990, 1, 1)), "子女", community, hukou, "0", "", ""])
            wc.writerow([head, "2012-01", f"62284800{i:011d}", ""])
    r = _run(url, "import", "households", str(households))
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run(url, "case", "import", "dibao", str(cases))
    assert r.returncode == 0, r.stdout + r.stderr
    for name, role, scope in [("runner", "county_officer", "320706"), ("checker", "city_admin", "320700")]:
        assert _run(url, "user", "add", name, "--role", role, "--scope", scope, "--password-stdin",
                    stdin=PASSWORD).returncode == 0
    return url


def _cycle_state(url: str, period: str) -> tuple[int, int, int, int, int]:
    eng = create_engine(url)
    with eng.connect() as conn:
        cyc = conn.execute(text("SELECT id, cases, total_fen FROM cycles WHERE program_code='dibao' AND period=:p"),
                           {"p": period}).all()
        n_cycles = len(cyc)
        if not cyc:
            return 0, 0, 0, 0, 0
        cid, cases, total = cyc[0]
        pays, paid_total = conn.execute(text("SELECT COUNT(DISTINCT case_id), COALESCE(SUM(amount_fen), 0) "
                                             "FROM payments WHERE cycle_id = :c"), {"c": cid}).one()
    eng.dispose()
    return n_cycles, cases, total, pays, int(paid_total)


def test_the_operator_flow_from_run_to_reconcile(city_url, tmp_path):
    r = _run(city_url, "cycle", "run", "dibao", "2012-07", "--json", "--as", "runner")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert {"cycle_id", "program", "period", "status", "cases", "total_fen", "arrears_fen"} <= set(s)
    assert s["status"] == "draft" and s["cases"] == HOUSEHOLDS and s["period"] == "2012-07"
    again = json.loads(_run(city_url, "cycle", "run", "dibao", "2012-07", "--json", "--as", "runner").stdout)
    assert again["cycle_id"] == s["cycle_id"] and again["total_fen"] == s["total_fen"]
    same = _run(city_url, "cycle", "approve", str(s["cycle_id"]), "--as", "runner")
    assert same.returncode == 1 and "cannot approve" in same.stderr
    assert _run(city_url, "cycle", "approve", str(s["cycle_id"]), "--as", "checker").returncode == 0
    bank = tmp_path / "bank.csv"
    r = _run(city_url, "cycle", "export", str(s["cycle_id"]), "--format", "csv", "--encoding", "gbk", str(bank))
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(bank.read_text(encoding="gbk").splitlines()))
    assert rows[0][:5] == ["姓名", "身份证号", "账号", "金额(元)", "摘要"] and len(rows) == HOUSEHOLDS + 1
    assert sum(round(float(x[3]) * 100) for x in rows[1:]) == s["total_fen"]
    result = tmp_path / "result.csv"
    with result.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([*rows[0], "结果"])
        for i, row in enumerate(rows[1:]):
            w.writerow([*row, "失败" if i == 0 else "成功"])
    r = _run(city_url, "cycle", "reconcile", str(s["cycle_id"]), str(result), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    rec = json.loads(r.stdout)
    assert rec["failed_cases"] == 1 and rec["paid_fen"] + rec["failed_fen"] == s["total_fen"]
    aug = json.loads(_run(city_url, "cycle", "run", "dibao", "2012-08", "--json", "--as", "runner").stdout)
    assert aug["carryover_fen"] == rec["failed_fen"]
    show = json.loads(_run(city_url, "standard", "show", "dibao", "320706", "2012-08", "--category", "城镇",
                           "--json").stdout)
    assert (show["amount_fen"], show["effective_from"], show["from_region"]) == (46000, "2012-01-01", "320700")


def test_the_city_runs_every_county_in_its_own_cycle_from_the_command_line(city_url):
    r = _run(city_url, "cycle", "run", "dibao", "2012-11", "--json", "--as", "checker")
    assert r.returncode == 0, r.stderr
    city = json.loads(r.stdout)
    assert {"cases", "total_fen", "arrears_fen", "carryover_fen", "cycles"} <= set(city)
    counties = {c["county"]: c for c in city["cycles"]}
    assert len(counties) == 6 and len({c["cycle_id"] for c in city["cycles"]}) == 6
    assert counties["320706"]["cases"] == city["cases"] == HOUSEHOLDS
    assert city["total_fen"] == sum(c["total_fen"] for c in city["cycles"])
    one = json.loads(_run(city_url, "cycle", "run", "dibao", "2012-11", "--county", "320706", "--json",
                          "--as", "checker").stdout)
    assert one["cycle_id"] == counties["320706"]["cycle_id"] and one["county"] == "320706"
    bad = _run(city_url, "cycle", "run", "dibao", "2012-11", "--county", "320707", "--as", "runner")
    assert bad.returncode == 1 and "辖区" in bad.stderr


def test_two_processes_running_the_same_cycle_produce_one_cycle(city_url):
    procs = [_popen(city_url, "cycle", "run", "dibao", "2012-10", "--json", "--as", "runner") for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    ids = {json.loads(o[0])["cycle_id"] for o in outs}
    assert len(ids) == 1
    n_cycles, cases, total, pays, paid_total = _cycle_state(city_url, "2012-10")
    assert n_cycles == 1 and cases == pays == HOUSEHOLDS and total == paid_total


def test_a_cycle_killed_midway_leaves_all_or_nothing_and_a_rerun_completes_it(city_url):
    rng = random.Random(11)
    for attempt in range(4):
        period = f"2013-{attempt + 1:02d}"
        p = _popen(city_url, "cycle", "run", "dibao", period, "--json", "--as", "runner")
        time.sleep(rng.uniform(0.4, 2.5))
        p.send_signal(signal.SIGKILL)
        p.communicate()
        n_cycles, cases, total, pays, paid_total = _cycle_state(city_url, period)
        assert n_cycles in (0, 1)
        if n_cycles:  # the run had committed: the cycle is whole
            assert cases == pays == HOUSEHOLDS and total == paid_total
        r = _run(city_url, "cycle", "run", "dibao", period, "--json", "--as", "runner")
        assert r.returncode == 0, r.stderr
        n_cycles, cases, total, pays, paid_total = _cycle_state(city_url, period)
        assert (n_cycles, cases, pays) == (1, HOUSEHOLDS, HOUSEHOLDS) and total == paid_total


def test_a_city_run_with_counties_side_by_side_gives_what_one_after_another_gives(city_url):
    """MINXIN_CYCLE_WORKERS: on PostgreSQL the counties are computed at the same time, each in its own
    transaction and connection (on SQLite one after another whatever the setting); the cycles, their
    totals and the audit chain are the same as a run of one county after another."""
    def city_run(period: str, workers: str) -> dict:
        r = subprocess.run([sys.executable, "-m", "minxin.cli", "cycle", "run", "dibao", period, "--json", "--as",
                            "checker"], capture_output=True, text=True, timeout=300, check=False,
                           env={**_env(city_url), "MINXIN_CYCLE_WORKERS": workers})
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    one, side = city_run("2012-12", "1"), city_run("2013-05", "6")
    assert [c["county"] for c in side["cycles"]] == [c["county"] for c in one["cycles"]]  # in code order
    assert [(c["cases"], c["total_fen"]) for c in side["cycles"]] == [(c["cases"], c["total_fen"])
                                                                      for c in one["cycles"]]
    assert len({c["cycle_id"] for c in side["cycles"]} | {c["cycle_id"] for c in one["cycles"]}) == 12
    assert side["cases"] == HOUSEHOLDS and not side["failed"]
    n_cycles = _cycle_state(city_url, "2013-05")[0]
    assert n_cycles == 6
    verify = _run(city_url, "audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
