"""`minxin init`, `minxin audit verify` and `minxin audit anchor` as an operator runs them: real
processes on a fresh SQLite file, the key and the anchor file at their default places beside it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest


def _run(db: Path, *args: str, stdin: str | None = None, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINXIN_AUDIT_")}
    env |= {"MINXIN_DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "200", **env_extra}
    return subprocess.run([sys.executable, "-m", "minxin.cli", *args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=120, check=False)


@pytest.fixture(scope="module")
def city_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("city") / "city.db"
    r = _run(db, "init")
    assert r.returncode == 0, r.stderr
    for name in ("zhou", "wu", "zheng"):
        r = _run(db, "user", "add", name, "--role", "county_officer", "--scope", "320722", "--password-stdin",
                 stdin="Strong-pass1\n")
        assert r.returncode == 0, r.stderr
    return db


@pytest.fixture
def city(city_template: Path, tmp_path: Path) -> Path:
    """A copy of the city: its database, its key and its anchor file, each test its own."""
    for f in city_template.parent.iterdir():
        shutil.copy2(f, tmp_path / f.name)
    return tmp_path / city_template.name


def _ids(db: Path) -> list[int]:
    with sqlite3.connect(db) as con:
        return [row[0] for row in con.execute("SELECT id FROM audit_events ORDER BY id")]


def test_init_creates_a_key_readable_by_its_owner_only_beside_the_database(city: Path):
    key = city.parent / "minxin-audit.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert len(bytes.fromhex(key.read_text().strip())) == 32
    before = key.read_text()
    assert _run(city, "init").returncode == 0
    assert key.read_text() == before  # never replaced
    with sqlite3.connect(city) as con:  # and never in the database
        dumped = "\n".join(con.iterdump())
    assert before.strip() not in dumped


def test_every_command_that_audits_appends_the_head_to_the_anchor_file(city: Path):
    anchors = city.parent / "city-audit-anchors.jsonl"
    lines = [json.loads(line) for line in anchors.read_text().splitlines()]
    assert [line["id"] for line in lines][-1] == _ids(city)[-1]
    assert all(set(line) == {"id", "hmac", "hash", "at"} for line in lines)
    ok = _run(city, "audit", "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip() == f"audit trail intact: {len(_ids(city))} entries verified"


def test_deleting_the_newest_entries_fails_verify_naming_the_truncation(city: Path):
    ids = _ids(city)
    with sqlite3.connect(city) as con:
        con.execute("DROP TRIGGER audit_events_no_delete")  # whoever owns the file can
        con.execute("DELETE FROM audit_events WHERE id >= ?", (ids[-2],))
    bad = _run(city, "audit", "verify")
    assert bad.returncode == 1
    assert f"审计记录被截断：锚点记录到第 {ids[-1]} 条，数据库只有到第 {ids[-3]} 条" in bad.stdout


def test_the_database_refuses_to_delete_an_entry(city: Path):
    with sqlite3.connect(city) as con, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM audit_events")
    assert _run(city, "audit", "verify").returncode == 0


def test_audit_anchor_writes_the_head_on_demand(city: Path):
    anchors = city.parent / "city-audit-anchors.jsonl"
    anchors.unlink()
    r = _run(city, "audit", "anchor")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"anchored entry {_ids(city)[-1]} in {anchors}"
    assert json.loads(anchors.read_text())["id"] == _ids(city)[-1]


def test_verify_without_an_anchor_file_passes_with_a_warning(city: Path):
    (city.parent / "city-audit-anchors.jsonl").unlink()
    r = _run(city, "audit", "verify")
    assert r.returncode == 0 and "intact" in r.stdout
    assert "no anchor file" in r.stderr


def test_a_missing_key_file_is_one_clear_line_and_nothing_changes(city: Path, tmp_path: Path):
    missing = str(tmp_path / "elsewhere" / "audit.key")
    before = _ids(city)
    for args in (("audit", "verify"), ("user", "unlock", "zhou")):
        r = _run(city, *args, MINXIN_AUDIT_KEY_FILE=missing)
        assert r.returncode == 1
        assert f"审计密钥文件不存在：{missing}" in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    serve = _run(city, "serve", "--port", "1", MINXIN_AUDIT_KEY_FILE=missing)
    assert serve.returncode == 1 and "审计密钥文件不存在" in serve.stderr
    assert _ids(city) == before
