"""SQLite writers of one process take turns on a lock of the process before BEGIN IMMEDIATE (no
sleep-and-retry between threads), and the turn ends with the transaction however it ends."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from minxin.infra.db import _write_turn, make_engine, unit_of_work, write_lock


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
