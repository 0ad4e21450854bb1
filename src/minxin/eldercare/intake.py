"""Call intake through a group commit: the calls that arrive together are stored in one transaction.

Every call appends to the audit chain, whose lock is held to commit, so on PostgreSQL the lock's
round trips (the chain head, the inserts, the commit) set the intake rate, not the work. With
`minxin.infra.groupcommit` a request that finds another process's or request's transaction writing
waits, and the calls that waited are written together: the chain lock is taken once, the head read
once, calls, steps and audit entries inserted in one multi-row statement each, one commit. Each
request is answered only after the transaction holding its call has committed, as before.

One group per database engine and process. A session bound to a connection (the tests' rolled-back
transactions) writes its call itself, in its own transaction.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from minxin.eldercare.calls import PreparedCall, Received, write_calls
from minxin.infra.db import finish_reading, session_factory, start_writing
from minxin.infra.groupcommit import GroupCommit

MAX_GROUP = 100  # calls per transaction at most (a few hundred milliseconds of a busy centre's calls)

_groups: dict[Engine, GroupCommit[PreparedCall, Received]] = {}
_guard = threading.Lock()


def intake_group(engine: Engine) -> GroupCommit[PreparedCall, Received]:
    """This process's group commit for calls into `engine`."""
    with _guard:
        group = _groups.get(engine)
        if group is None:
            group = _groups[engine] = GroupCommit(session_factory(engine), write_calls, max_group=MAX_GROUP)
        return group


def store_call(session: Session, prepared: PreparedCall) -> Received:
    """Store a prepared call, committed when this returns. The request's session has only read (who
    is calling); its read ends here and the call goes through the process's group commit."""
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        start_writing(session)
        received = write_calls(session, [prepared])[0]
        session.commit()
        return received
    finish_reading(session)
    return intake_group(bind).submit(prepared)
