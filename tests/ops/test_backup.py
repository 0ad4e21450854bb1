"""`minxin backup` and `minxin restore` as an operator runs them, on SQLite and on PostgreSQL.

A backup restored into an empty database gives the same `minxin stats` and a sound audit trail;
a database that is not empty is replaced only with --force; a file that is not a backup is refused;
a SQLite backup taken while another connection keeps committing is one consistent snapshot.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from minxin.auth import audit
from minxin.auth.models import AuditEvent
from minxin.infra.db import make_engine, unit_of_work
from minxin.ops import backup as ops_backup


def _run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MINXIN_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "minxin.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)


def _ok(url: str, *args: str) -> str:
    r = _run(url, *args)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def _one_line_error(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def _stats(url: str) -> dict[str, int]:
    return dict(json.loads(_ok(url, "stats", "--json")))


class Databases:
    """Fresh databases of one kind: SQLite files in a folder, or scratch PostgreSQL databases."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind = kind
        self.folder = folder
        self.created: list[str] = []
        base = os.environ.get("MINXIN_TEST_DATABASE_URL", "")
        self.server, _, self.prefix = base.rpartition("/")

    def new(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.folder / (name + '.db')}"
        db = f"{self.prefix}_bk_{name}"
        self._admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)", f"CREATE DATABASE {db}")
        self.created.append(db)
        return f"{self.server}/{db}"

    def drop_all(self) -> None:
        if self.created:
            self._admin(*(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)" for db in self.created))

    def _admin(self, *statements: str) -> None:
        engine = create_engine(f"{self.server}/postgres", isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
        engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def dbs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if request.param == "postgresql" and not os.environ.get("MINXIN_TEST_DATABASE_URL"):
        pytest.skip("MINXIN_TEST_DATABASE_URL not set")
    databases = Databases(request.param, tmp_path_factory.mktemp("backup"))
    yield databases
    databases.drop_all()


@pytest.fixture(scope="module")
def city(dbs: Databases) -> str:
    """A small demo city: households, persons, users, 低保 and 五保 cases, an audit trail."""
    url = dbs.new("city")
    _ok(url, "init")
    _ok(url, "demo", "--households", "150", "--seed", "11")
    return url


@pytest.fixture(scope="module")
def city_backup(city: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("files") / "minxin.backup"
    r = _run(city, "backup", str(out))
    assert r.returncode == 0, r.stderr
    assert "backup written" in r.stderr
    return out


def test_a_backup_restored_into_an_empty_database_gives_the_same_stats_and_a_sound_audit_trail(
        dbs, city, city_backup):
    assert stat.S_IMODE(city_backup.stat().st_mode) == 0o600  # it holds every ID number in clear
    target = dbs.new("restored")
    r = _run(target, "restore", str(city_backup))
    assert r.returncode == 0, r.stderr
    assert "restored into the empty database" in r.stderr
    source_stats = _stats(city)
    assert source_stats["households"] == 150 and source_stats["dibao_active_cases"] > 0
    assert _stats(target) == source_stats
    verify = _ok(target, "audit", "verify")
    assert "intact" in verify
    restored_log = json.loads(_ok(target, "audit", "log", "--limit", "1", "--json"))
    assert restored_log[0]["action"] == "database.restore"
    source_log = json.loads(_ok(city, "audit", "log", "--limit", "1", "--json"))
    assert source_log[0]["action"] == "database.backup"


def test_restore_refuses_a_database_that_is_not_empty_unless_forced(dbs, city, city_backup):
    target = dbs.new("busy")
    _ok(target, "init")
    before = _stats(target)
    assert before["households"] == 0
    message = _one_line_error(_run(target, "restore", str(city_backup)))
    assert "不为空" in message and "--force" in message
    assert _stats(target) == before
    r = _run(target, "restore", str(city_backup), "--force")
    assert r.returncode == 0, r.stderr
    assert "replaced the database" in r.stderr
    assert _stats(target) == _stats(city)
    assert "intact" in _ok(target, "audit", "verify")


def test_restore_refuses_files_that_are_not_minxin_backups(dbs, tmp_path):
    target = dbs.new("untouched")
    junk = tmp_path / "junk.backup"
    junk.write_bytes(os.urandom(4096))
    assert "不是 minxin 的备份文件" in _one_line_error(_run(target, "restore", str(junk)))
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    pgdump = tmp_path / "fake.dump"
    pgdump.write_bytes(b"PGDMP" + os.urandom(200))
    for path in (other, pgdump):
        assert _run(target, "restore", str(path)).returncode == 1
    missing = _one_line_error(_run(target, "restore", str(tmp_path / "nope.backup")))
    assert "不存在" in missing
    engine = make_engine(target)
    with engine.connect() as conn:
        tables = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'") if dbs.kind == "sqlite"
                              else text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
    engine.dispose()
    assert tables == []


def test_a_backup_of_one_kind_is_refused_by_the_other_kind(dbs, city_backup, tmp_path):
    other_kind = f"sqlite:///{tmp_path / 'x.db'}" if dbs.kind == "postgresql" else \
        "postgresql+psycopg://postgres@127.0.0.1/unused"
    assert "cannot be restored" in _one_line_error(_run(other_kind, "restore", str(city_backup)))


def test_backup_refuses_a_missing_directory_and_an_unreachable_database(city, tmp_path):
    assert "不存在" in _one_line_error(_run(city, "backup", str(tmp_path / "no" / "such" / "dir.backup")))
    assert "目录" in _one_line_error(_run(city, "backup", str(tmp_path)))
    if city.startswith("sqlite:///"):
        itself = _one_line_error(_run(city, "backup", city.removeprefix("sqlite:///")))
        assert "数据库本身" in itself
    unreachable = _run("postgresql+psycopg://nobody@127.0.0.1:1/nothing", "backup", str(tmp_path / "x.backup"))
    assert "connection" in _one_line_error(unreachable)
    assert not (tmp_path / "x.backup").exists()


def test_a_sqlite_backup_taken_while_another_connection_commits_is_one_consistent_snapshot(
        tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    _ok(url, "init")
    engine = make_engine(url)
    # One page per step: the copy spans hundreds of steps, with the writer committing between them.
    monkeypatch.setattr(ops_backup, "_PAGES_PER_STEP", 1)
    stop = threading.Event()
    written: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            while not stop.is_set():
                with unit_of_work(engine) as session:
                    audit.record(session, actor="system", action="test.write", entity="test",
                                 detail={"n": len(written), "pad": "x" * 2000})
                written.append(1)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 20:
            pass
        during_start = len(written)
        steps: list[int] = []
        result = ops_backup.backup_database(database_url=url, out=tmp_path / "live.backup",
                                            progress=lambda label, done, total: steps.append(done))
        during_end = len(written)
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert len(steps) > 50 and during_end > during_start  # the writer went on while the copy ran
    copy_url = f"sqlite:///{result.path}"
    with sqlite3.connect(result.path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    copy = make_engine(copy_url)
    with unit_of_work(copy, write=False) as session:
        # The copy is a snapshot: its chain is whole up to its last entry. The live database's anchors go
        # further (the writer went on), so the copy is checked against an anchor file of its own.
        assert audit.verify(session, anchor_file=tmp_path / "copy-anchors.jsonl").ok
        copied = session.execute(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "test.write")).scalar_one()
    copy.dispose()
    engine.dispose()
    assert during_start <= copied <= during_end


def test_a_forced_restore_of_a_truncated_backup_fails_and_leaves_the_database_as_it_was(
        dbs, city_backup, tmp_path):
    target = dbs.new("kept")
    _ok(target, "init")
    before = _stats(target)
    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(city_backup.read_bytes()[: city_backup.stat().st_size * 2 // 3])
    r = _run(target, "restore", str(truncated), "--force")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert [line for line in r.stderr.splitlines() if line.startswith("error:")] == [r.stderr.splitlines()[-1]]
    assert _stats(target) == before
    assert "intact" in _ok(target, "audit", "verify")
    if dbs.kind == "postgresql":  # the old schema is back in its place, nothing left aside
        engine = make_engine(target)
        with engine.connect() as conn:
            schemas = conn.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'minxin%'")).all()
        engine.dispose()
        assert schemas == []
