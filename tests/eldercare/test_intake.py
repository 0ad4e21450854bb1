"""Call intake through the group commit (minxin.eldercare.intake), on a committed SQLite file and a
PostgreSQL database: the calls that arrive while the audit chain is busy are stored together in one
transaction, each answered with its own call; repeated event_ids (within the group and from before)
are one call; every new call has its step and its audit entry, and the chain verifies."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from tests.conftest import committed_database, make_user
from tests.factories import elderly_person

from minxin.auth import audit
from minxin.auth.models import AuditEvent, User
from minxin.auth.service import ensure_system_user
from minxin.eldercare import calls as svc
from minxin.eldercare.intake import intake_group, store_call
from minxin.eldercare.models import Call, CallEvent
from minxin.infra import db

_DATABASES = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    # A database name of its own per test: PostgreSQL's anchor file is named after the database.
    with committed_database(request.param, tmp_path, f"intake_{next(_DATABASES)}") as eng:
        with db.unit_of_work(eng) as s:
            ensure_system_user(s)
            agent = make_user(s, username="ig_agent", role="call_agent", scope="320700")
            officer = make_user(s, username="ig_officer", role="county_officer", scope="320706")
            elderly_person(s, officer, terminal="IG-1", phone="13866660000")
            svc.receive_call(s, actor=agent, caller="IG-1", event_id="old-1")
        yield eng


def _agent(session: Session) -> User:
    return session.execute(select(User).where(User.username == "ig_agent")).scalar_one()


def _wait_until(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_calls_that_wait_for_the_chain_are_stored_together(engine: Engine) -> None:
    group = intake_group(engine)
    before = (group.groups, group.items)
    factory = db.session_factory(engine)
    answers: dict[int, svc.Received | Exception] = {}

    def call(n: int, caller: str, event_id: str | None) -> None:
        try:
            with factory() as s:
                prepared = svc.prepare_call(s, actor=_agent(s), caller=caller, kind="consult", event_id=event_id)
                answers[n] = store_call(s, prepared)
        except Exception as exc:  # the test says which
            answers[n] = exc

    # Somebody else holds the chain (on SQLite the write lock) while the calls come in.
    blocker = factory()
    db.begin_write(blocker)
    audit.lock_chain(blocker)
    first = threading.Thread(target=call, args=(0, "IG-1", "ev-0"))
    first.start()
    _wait_until(group.writing)  # the first call's transaction waits for the chain
    calls = [(1, "13866660000", "dup-1"), (2, "0518000999", None), (3, "IG-1", "dup-1"), (4, "IG-1", "old-1"),
             (5, "+86 138 6666 0000", "ev-5"), (6, "unknown-9", None)]
    rest = [threading.Thread(target=call, args=c) for c in calls]
    for t in rest:
        t.start()
    _wait_until(lambda: group.waiting() == len(calls))
    blocker.commit()
    blocker.close()
    for t in [first, *rest]:
        t.join(30)

    assert (group.groups - before[0], group.items - before[1]) == (2, 7)  # the first alone, then the six
    assert all(isinstance(a, svc.Received) for a in answers.values()), answers
    got = {n: a for n, a in answers.items() if isinstance(a, svc.Received)}
    with factory() as s:
        old = s.execute(select(Call).where(Call.event_id == "old-1")).scalar_one()
        assert (got[4].id, got[4].created) == (old.id, False)
        assert got[1].id == got[3].id and sorted([got[1].created, got[3].created]) == [False, True]
        new_ids = {got[n].id for n in (0, 1, 2, 5, 6)}
        assert len(new_ids) == 5 and all(got[n].created for n in (0, 2, 5, 6))
        assert got[2].person_id is None and got[6].person_id is None
        assert got[0].person_id == got[1].person_id == got[5].person_id == old.person_id is not None
        for call_id in new_ids:  # stored once, with one step and one audit entry each
            stored = s.get_one(Call, call_id)
            assert stored.status == "open"
            steps = s.execute(select(CallEvent.action).where(CallEvent.call_id == call_id)).scalars().all()
            assert steps == ["received"]
            entries = s.execute(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "call.receive", AuditEvent.entity_id == str(call_id))).scalar()
            assert entries == 1
        assert s.execute(select(func.count()).select_from(Call).where(Call.event_id == "dup-1")).scalar() == 1
        result = audit.verify(s)
        assert result.ok, result.reason
        assert result.anchored_id == result.last_id  # the group's commit anchored its last entry


def test_a_call_that_fails_in_a_group_fails_alone(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A group whose transaction fails is written again one call at a time: the others are stored."""
    group = intake_group(engine)
    factory = db.session_factory(engine)
    real = svc.write_calls
    monkeypatch.setattr(group, "_write", lambda session, calls: (
        (_ for _ in ()).throw(RuntimeError("bad call")) if any(c.values["caller"] == "BAD" for c in calls)
        else real(session, calls)))
    answers: dict[str, object] = {}

    def call(caller: str) -> None:
        try:
            with factory() as s:
                answers[caller] = store_call(s, svc.prepare_call(s, actor=_agent(s), caller=caller))
        except Exception as exc:  # the test says which
            answers[caller] = exc

    blocker = factory()
    db.begin_write(blocker)
    audit.lock_chain(blocker)
    first = threading.Thread(target=call, args=("G-0",))
    first.start()
    _wait_until(group.writing)
    rest = [threading.Thread(target=call, args=(c,)) for c in ("G-1", "BAD", "G-3")]
    for t in rest:
        t.start()
    _wait_until(lambda: group.waiting() == 3)
    blocker.commit()
    blocker.close()
    for t in [first, *rest]:
        t.join(30)
    assert isinstance(answers["BAD"], RuntimeError)
    with factory() as s:
        stored = set(s.execute(select(Call.caller).where(Call.caller.in_(["G-0", "G-1", "BAD", "G-3"]))).scalars())
        assert stored == {"G-0", "G-1", "G-3"}
        assert {answers[c].id for c in ("G-1", "G-3")} <= set(s.execute(select(Call.id)).scalars())  # type: ignore[union-attr]
        assert audit.verify(s).ok
