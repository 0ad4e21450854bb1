"""SQLite writers take turns before BEGIN IMMEDIATE, the threads of a process on a lock of the process
and the processes on a file beside the database (no sleep-and-retry between them), and the turn ends
with the transaction however it ends."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from minxin.infra.db import (
    WAL_AUTOCHECKPOINT_PAGES,
    _write_turn,
    checkpoint_wal,
    checkpoints_beside,
    make_engine,
    unit_of_work,
    write_lock,
)


def test_a_write_transaction_holds_the_turn_until_commit_rollback_or_close(tmp_path: Path) -> None:
    path = tmp_path / "turns.db"
    engine = make_engine(f"sqlite:///{path}")
    turn = _write_turn(str(path))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (0)"))
    assert not turn.locked()  # a read-mode BEGIN takes no turn
    with unit_of_work(engine) as s:
        s.execute(text("UPDATE t SET n = n + 1"))
        assert turn.locked()
    assert not turn.locked()  # committed
    def write_and_fail() -> None:
        with unit_of_work(engine) as s:
            s.execute(text("UPDATE t SET n = n + 1"))
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        write_and_fail()
    assert not turn.locked()
    with write_lock():
        conn = engine.connect()
        conn.execute(text("UPDATE t SET n = n + 1"))
        assert turn.locked()
        conn.close()  # back to the pool: rolled back
    assert not turn.locked()
    engine.dispose()


def test_many_threads_writing_at_once_all_commit(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'many.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (0)"))

    def add() -> None:
        for _ in range(25):
            with unit_of_work(engine) as s:
                n = s.execute(text("SELECT n FROM t")).scalar_one()
                s.execute(text("UPDATE t SET n = :n"), {"n": n + 1})

    threads = [threading.Thread(target=add) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t")).scalar_one() == 200
    engine.dispose()


_WRITER = """
import sys, threading
from sqlalchemy import text
from minxin.infra.db import make_engine, unit_of_work
engine = make_engine(sys.argv[1])
def add():
    for _ in range(int(sys.argv[2])):
        with unit_of_work(engine) as s:
            n = s.execute(text("SELECT n FROM t")).scalar_one()
            s.execute(text("UPDATE t SET n = :n"), {"n": n + 1})
threads = [threading.Thread(target=add) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
"""


def test_processes_take_turns_on_the_file_beside_the_database(tmp_path: Path) -> None:
    path = tmp_path / "procs.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (0)"))
    probe = [sys.executable, "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
             "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)", f"{path}-turn"]
    with unit_of_work(engine) as s:
        s.execute(text("UPDATE t SET n = n + 1"))
        # another process finds the turn taken while this write transaction is open …
        assert subprocess.run(probe, capture_output=True).returncode != 0
    # … and free once it has committed
    assert subprocess.run(probe, capture_output=True).returncode == 0
    # Two processes of four writing threads each, every read-modify-write in its own transaction: none
    # fails on the lock and none is lost.
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, f"sqlite:///{path}", "40"],
                                stderr=subprocess.PIPE) for _ in range(2)]
    for w in writers:
        _, err = w.communicate(timeout=120)
        assert w.returncode == 0, err.decode()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t")).scalar_one() == 1 + 2 * 4 * 40
    engine.dispose()


def test_a_checkpoint_copies_the_wal_into_the_database_beside_the_writers(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    for n in range(200):  # far below the backstop (WAL_AUTOCHECKPOINT_PAGES): no commit copies the WAL
        with unit_of_work(engine) as s:
            s.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
    with unit_of_work(engine, write=False) as reader:  # an open reader neither blocks it nor is blocked
        assert reader.execute(text("SELECT COUNT(*) FROM t")).scalar_one() == 200
        result = checkpoint_wal(engine)
    assert result is not None
    frames, copied = result
    assert frames >= 200 and copied == frames
    with unit_of_work(engine) as s:  # and writers go on
        s.execute(text("INSERT INTO t VALUES (200)"))
    engine.dispose()


def test_the_server_checkpoints_every_second_in_the_background(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from minxin.infra import db, migrate
    from minxin.web import app as web_app

    engine = make_engine(f"sqlite:///{tmp_path / 'served.db'}")
    migrate.upgrade(engine)
    seen: list[tuple[int, int] | None] = []
    real = db.checkpoint_wal

    def checkpoint(e: Any) -> tuple[int, int] | None:  # the real checkpoint, its result noted
        seen.append(real(e))
        return seen[-1]

    monkeypatch.setattr(web_app, "WAL_CHECKPOINT_SECONDS", 0.05)
    monkeypatch.setattr(web_app.db, "checkpoint_wal", checkpoint)
    with TestClient(web_app.create_app(db.session_factory(engine), background=True)):
        deadline = time.monotonic() + 10
        while len(seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(seen) >= 3 and all(r is not None and r[0] == r[1] for r in seen)
    engine.dispose()


def test_beside_a_long_run_the_wal_is_copied_by_a_thread_not_by_the_commits(tmp_path: Path) -> None:
    path = tmp_path / "run.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (b BLOB)"))
    checkpoint_wal(engine)
    size0 = path.stat().st_size
    with checkpoints_beside(engine):
        for _ in range(20):  # 2 MB, 500 pages: the commits themselves would copy nothing (backstop 10,000)
            with unit_of_work(engine) as s:
                assert s.execute(text("PRAGMA wal_autocheckpoint")).scalar_one() == 0
                s.execute(text("INSERT INTO t VALUES (zeroblob(100000))"))
        deadline = time.monotonic() + 10
        while path.stat().st_size < size0 + 1_900_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size >= size0 + 1_900_000  # in the database file while the run goes on
    with unit_of_work(engine) as s:  # after the run, the commits' own backstop again
        assert s.execute(text("PRAGMA wal_autocheckpoint")).scalar_one() == WAL_AUTOCHECKPOINT_PAGES
        s.execute(text("INSERT INTO t VALUES (zeroblob(100000))"))
    size1 = path.stat().st_size
    time.sleep(0.5)
    assert path.stat().st_size == size1  # no thread copies it now
    engine.dispose()
