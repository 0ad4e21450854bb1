"""The `minxin` command as an operator uses it: real processes against a fresh SQLite file."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from tests.factories import new_id

from minxin.registry.importer import HEADERS


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "cli.db"
    r = _run(db, "init")
    assert r.returncode == 0, r.stderr
    return db


def _run(db: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MINXIN_DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "minxin.cli", *args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=120, check=False)


def test_regions_lists_counties_as_json_with_the_2012_aliases(cli_db):
    r = _run(cli_db, "regions", "--level", "county", "--json")
    assert r.returncode == 0, r.stderr
    data = {x["code"]: x for x in json.loads(r.stdout)}
    assert {"320703", "320706", "320707", "320722", "320723", "320724"} <= set(data)
    assert data["320705"]["name"] == "新浦区" and data["320705"]["alias_of"] == "320706"
    assert data["320721"]["name"] == "赣榆县"
    assert all({"code", "name", "level", "urban"} <= set(x) for x in data.values())
    communities = json.loads(_run(cli_db, "regions", "--level", "community", "--json").stdout)
    assert communities and all(len(c["code"]) == 12 for c in communities)


def test_id_check_prints_facts_or_the_reason_and_exits_1_on_any_invalid(cli_db):
    ok = _run(cli_db, "id", "check", "110105491231002", "34052419800101001x")
    assert ok.returncode == 0
    assert "11010519491231002X" in ok.stdout and "1949-12-31" in ok.stdout and "女" in ok.stdout
    bad = _run(cli_db, "id", "check", "11010519491231002X", "110105194912310021")
    assert bad.returncode == 1
    assert "INVALID" in bad.stdout and "校验" in bad.stdout


def test_user_add_reads_the_password_from_stdin_and_refuses_a_weak_one(cli_db):
    r = _run(cli_db, "user", "add", "zhou", "--role", "county_officer", "--scope", "320722", "--password-stdin",
             stdin="Strong-pass1\n")
    assert r.returncode == 0, r.stderr
    weak = _run(cli_db, "user", "add", "wu", "--role", "county_officer", "--scope", "320722", "--password-stdin",
                stdin="123\n")
    assert weak.returncode == 1 and "密码" in weak.stderr and "Traceback" not in weak.stderr
    unknown = _run(cli_db, "user", "add", "wu", "--role", "emperor", "--scope", "320722", "--password-stdin",
                   stdin="Strong-pass1\n")
    assert unknown.returncode == 1 and "role" in unknown.stderr


def test_token_create_prints_a_token(cli_db):
    _run(cli_db, "user", "add", "tok", "--role", "auditor", "--scope", "320700", "--password-stdin",
         stdin="Strong-pass1\n")
    r = _run(cli_db, "token", "create", "tok")
    assert r.returncode == 0 and r.stdout.strip().startswith("mx_")
    assert _run(cli_db, "token", "revoke", r.stdout.strip()[:10]).returncode == 0


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    path.write_text(",".join(HEADERS) + "\n" + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")


def test_import_all_or_nothing_with_error_sheet_and_exit_1(cli_db, tmp_path):
    bad = tmp_path / "bad.csv"
    _write_csv(bad, [["H1", "张三", new_id(), "户主", "320706006001", "城镇", "100", "", ""],
                     ["H1", "李四", "123", "配偶", "320706006001", "城镇", "x", "", ""]])
    errors = tmp_path / "errors.xlsx"
    r = _run(cli_db, "import", "households", str(bad), "--errors", str(errors))
    assert r.returncode == 1
    assert "row 3, column 身份证号:" in r.stdout and "row 3, column 月收入:" in r.stdout
    assert load_workbook(errors).active.cell(row=1, column=len(HEADERS) + 1).value == "错误"
    stats = json.loads(_run(cli_db, "stats", "--json").stdout)
    assert stats["households"] == 0
    good = tmp_path / "good.csv"
    _write_csv(good, [["H1", "张三", new_id(), "户主", "320706006001", "城镇", "100", "", ""]])
    r = _run(cli_db, "import", "households", str(good), "--as", "zhou")
    assert r.returncode == 1 and "辖区" in r.stdout  # zhou works in 东海县, the file is 海州区
    r = _run(cli_db, "import", "households", str(good))
    assert r.returncode == 0, r.stdout + r.stderr
    stats = json.loads(_run(cli_db, "stats", "--json").stdout)
    assert stats["households"] == 1 and stats["persons"] == 1 and stats["users"] >= 1


def test_template_and_export_write_real_workbooks(cli_db, tmp_path):
    tpl = tmp_path / "tpl.xlsx"
    assert _run(cli_db, "import", "template", "households", str(tpl)).returncode == 0
    assert [c.value for c in load_workbook(tpl).worksheets[0][1]] == HEADERS
    out = tmp_path / "export.xlsx"
    assert _run(cli_db, "export", "households", str(out)).returncode == 0
    ws = load_workbook(out).active
    assert ws.cell(row=1, column=3).value == "身份证号"


def test_audit_verify_passes_then_names_the_tampered_entry(cli_db):
    ok = _run(cli_db, "audit", "verify")
    assert ok.returncode == 0 and "intact" in ok.stdout
    con = sqlite3.connect(cli_db)
    target = con.execute("SELECT id FROM audit_events ORDER BY id LIMIT 1 OFFSET 1").fetchone()[0]
    con.execute("DROP TRIGGER audit_events_no_update")  # as whoever owns the file could
    con.execute("UPDATE audit_events SET actor='mallory' WHERE id=?", (target,))
    con.commit()
    con.close()
    bad = _run(cli_db, "audit", "verify")
    assert bad.returncode == 1 and f"entry {target}" in bad.stdout


def test_errors_are_one_line_never_a_traceback(tmp_path):
    r = _run(tmp_path / "empty.db", "stats")
    assert r.returncode == 1 and "minxin init" in r.stderr and "Traceback" not in r.stderr
    r = _run(tmp_path / "empty.db", "import", "households", str(tmp_path / "missing.csv"))
    assert r.returncode == 1 and "no such file" in r.stderr


def test_report_care_training_counts_per_county_and_refuses_a_bad_year(cli_db):
    r = _run(cli_db, "report", "care-training", "2012", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["year"] == 2012 and {c["county_code"] for c in data["counties"]} >= {"320706", "320707"}
    assert set(data["total"]) == {"towns", "towns_covered", "centres", "demo_points", "workers", "trained", "passed",
                                  "certified_workers"}
    assert data["total"]["towns"] > 0 and data["total"]["workers"] == 0
    bad = _run(cli_db, "report", "care-training", "1800")
    assert bad.returncode == 1 and "年份" in bad.stderr and "Traceback" not in bad.stderr


def test_an_import_by_the_command_records_its_run_failed_then_resolved(cli_db, tmp_path):
    """The command commits the run of a refused file (none of its rows); the corrected file resolves it."""
    bad = tmp_path / "runs-bad.csv"
    _write_csv(bad, [["RUN1", "张三", "123", "户主", "320706006001", "城镇", "100", "", ""]])
    assert _run(cli_db, "import", "households", str(bad)).returncode == 1
    good = tmp_path / "runs-good.csv"
    _write_csv(good, [["RUN1", "张三", new_id(), "户主", "320706006001", "城镇", "100", "", ""]])
    with sqlite3.connect(cli_db) as conn:
        failed = conn.execute("SELECT id, status, error_count, resolved_at FROM import_runs "
                              "WHERE filename = 'runs-bad.csv'").fetchone()
        assert failed[1:] == ("failed", 1, None)
        assert conn.execute("SELECT count(*) FROM households WHERE household_no = 'RUN1'").fetchone()[0] == 0
    assert _run(cli_db, "import", "households", str(good)).returncode == 0
    with sqlite3.connect(cli_db) as conn:
        stored = conn.execute("SELECT id, status FROM import_runs WHERE filename = 'runs-good.csv'").fetchone()
        assert stored[1] == "stored"
        assert conn.execute("SELECT resolved_by_run FROM import_runs WHERE id = ?", (failed[0],)).fetchone() == (
            stored[0],)
