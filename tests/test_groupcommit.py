"""The group commit (minxin.infra.groupcommit): requests that arrive while a transaction writes are
written together in the next one, each answered after its commit with its own result or error."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from minxin.core.errors import ValidationError
from minxin.infra.db import make_engine, session_factory
from minxin.infra.groupcommit import GroupCommit


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'group.db'}")
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)"))
    yield eng
    eng.dispose()


def _names(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT name FROM item ORDER BY id"))]


def _wait_until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


class Writer:
    """Inserts names; the first group waits for `release` (so the others queue behind it)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.groups: list[list[str]] = []

    def __call__(self, session: Session, names: Sequence[str]) -> list[int]:
        if not self.groups:
            self.release.wait(10)
        self.groups.append(list(names))
        ids = []
        for name in names:
            if name.startswith("bad"):
                raise ValidationError(f"bad name {name}")
            ids.append(int(session.execute(text("INSERT INTO item (name) VALUES (:n) RETURNING id"),
                                           {"n": name}).scalar_one()))
        return ids


def _submit_all(group: GroupCommit[str, int], names: list[str],
                writer: Writer) -> dict[str, int | Exception]:
    """names[0] starts a group alone and is held; the rest queue behind it; then all are let go."""
    results: dict[str, int | Exception] = {}

    def one(name: str) -> None:
        try:
            results[name] = group.submit(name)
        except Exception as exc:  # the test looks at which
            results[name] = exc

    first = threading.Thread(target=one, args=(names[0],))
    first.start()
    _wait_until(lambda: group.waiting() == 0 and group.writing())  # the first is writing alone
    rest = [threading.Thread(target=one, args=(n,)) for n in names[1:]]
    for t in rest:
        t.start()
    _wait_until(lambda: group.waiting() == len(names) - 1)
    writer.release.set()
    for t in [first, *rest]:
        t.join(10)
    return results


def test_requests_that_queue_behind_a_transaction_are_written_together(engine: Engine) -> None:
    writer = Writer()
    group: GroupCommit[str, int] = GroupCommit(session_factory(engine), writer)
    names = [f"n{k}" for k in range(12)]
    results = _submit_all(group, names, writer)
    assert writer.groups == [["n0"], names[1:]]  # the lone first, then all that queued meanwhile
    assert (group.groups, group.items) == (2, 12)
    stored = _names(engine)
    assert sorted(stored) == sorted(names)
    with engine.connect() as conn:  # each request got the id of its own row
        by_name = dict(conn.execute(text("SELECT name, id FROM item")).all())
    assert {n: results[n] for n in names} == by_name


def test_a_group_is_at_most_max_group_and_the_queue_is_written_in_order(engine: Engine) -> None:
    writer = Writer()
    group: GroupCommit[str, int] = GroupCommit(session_factory(engine), writer, max_group=4)
    names = [f"m{k}" for k in range(10)]
    results = _submit_all(group, names, writer)
    assert [len(g) for g in writer.groups] == [1, 4, 4, 1]
    assert sorted(n for g in writer.groups for n in g) == sorted(names)
    assert all(isinstance(results[n], int) for n in names)


def test_one_bad_item_fails_alone_and_the_others_of_its_group_are_stored(engine: Engine) -> None:
    writer = Writer()
    group: GroupCommit[str, int] = GroupCommit(session_factory(engine), writer)
    names = ["a0", "a1", "bad2", "a3", "a0"]  # a bad one, and a0 again (UNIQUE: an IntegrityError)
    results: dict[str, list[object]] = {}
    lock = threading.Lock()

    def one(name: str) -> None:
        try:
            got: object = group.submit(name)
        except Exception as exc:
            got = exc
        with lock:
            results.setdefault(name, []).append(got)

    first = threading.Thread(target=one, args=("a0",))
    first.start()
    _wait_until(group.writing)
    rest = [threading.Thread(target=one, args=(n,)) for n in names[1:]]
    for t in rest:
        t.start()
    _wait_until(lambda: group.waiting() == 4)
    writer.release.set()
    for t in [first, *rest]:
        t.join(10)
    assert isinstance(results["bad2"][0], ValidationError)  # its own error, as raised
    assert isinstance(results["a1"][0], int) and isinstance(results["a3"][0], int)
    a0 = results["a0"]
    assert sum(isinstance(r, int) for r in a0) == 1 and len(a0) == 2  # the repeat failed alone
    assert sorted(_names(engine)) == ["a0", "a1", "a3"]  # nothing of the failed items half-stored


def test_a_lone_request_waits_for_nobody(engine: Engine) -> None:
    writer = Writer()
    writer.release.set()
    group: GroupCommit[str, int] = GroupCommit(session_factory(engine), writer)
    assert group.submit("solo") == 1
    assert group.submit("solo2") == 2
    assert writer.groups == [["solo"], ["solo2"]]
    assert (group.waiting(), group.writing()) == (0, False)
