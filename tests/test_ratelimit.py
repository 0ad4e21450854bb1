"""Rate limits in the database: counted per key and window, shared by every connection (worker process)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from minxin.infra.db import utcnow, write_lock
from minxin.kit import ratelimit
from minxin.kit.ratelimit import RateLimit

WINDOW = timedelta(minutes=10)


def test_attempts_beyond_the_limit_are_refused_until_the_window_ends(session: Session) -> None:
    start = utcnow()
    answers = [ratelimit.hit(session, key="objection:198.51.100.1", limit=3, window=WINDOW,
                             now=start + timedelta(seconds=i)) for i in range(5)]
    assert answers == [True, True, True, False, False]
    later = start + WINDOW + timedelta(seconds=1)
    assert ratelimit.hit(session, key="objection:198.51.100.1", limit=3, window=WINDOW, now=later)
    row = session.get(RateLimit, "objection:198.51.100.1")
    assert row is not None and row.hits == 1


def test_each_key_counts_on_its_own_and_finished_windows_are_cleared(session: Session) -> None:
    start = utcnow()
    assert ratelimit.hit(session, key="objection:a", limit=1, window=WINDOW, now=start)
    assert not ratelimit.hit(session, key="objection:a", limit=1, window=WINDOW, now=start)
    assert ratelimit.hit(session, key="objection:b", limit=1, window=WINDOW, now=start)
    ratelimit.hit(session, key="objection:c", limit=1, window=WINDOW, now=start + WINDOW * 2)
    assert set(session.execute(select(RateLimit.key)).scalars()) == {"objection:c"}


def test_two_connections_share_one_count(engine: Engine) -> None:
    """As two worker processes would: each its own connection and transaction, one count between them."""
    key = "objection:shared-test"
    try:
        answers = []
        with Session(engine) as first, Session(engine) as second:
            for i in range(6):
                worker = (first, second)[i % 2]
                with write_lock():
                    answers.append(ratelimit.hit(worker, key=key, limit=4, window=WINDOW))
                    worker.commit()
        assert answers == [True, True, True, True, False, False]
    finally:
        with write_lock(), Session(engine) as s:
            s.execute(delete(RateLimit).where(RateLimit.key == key))
            s.commit()
