"""The server's background escalation sweep: unacknowledged emergencies escalate with no browser open.

Deadlines live in the database (`calls.escalate_at`), so a restarted server picks up where the last
one stopped, and every worker process may run this loop: `escalate_due` claims each due call with one
UPDATE … WHERE escalated_at IS NULL, so a call escalates exactly once whichever process gets there.
`minxin eldercare escalate` does the same from cron.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from minxin.eldercare.calls import escalate_due
from minxin.eldercare.models import Call
from minxin.eldercare.policy import call_policy
from minxin.infra.db import utcnow, write_lock

log = logging.getLogger("minxin.eldercare")


def sweep(factory: sessionmaker[Session]) -> list[int]:
    """One pass: a cheap read first, the write transaction only when some call is due."""
    now = utcnow()
    with factory() as session:
        due = session.execute(select(Call.id).where(Call.escalate_at <= now, Call.escalated_at.is_(None),
                                                    Call.status == "open").limit(1)).first()
    if due is None:
        return []
    with write_lock(), factory() as session:
        ids = escalate_due(session, now=now)
        session.commit()
    if ids:
        log.warning("escalated %d unacknowledged call(s): %s", len(ids), ids)
    return ids


async def escalation_loop(app: Any) -> None:
    """Run `sweep` every escalation_poll_seconds (policy file) for as long as the server runs."""
    while True:
        try:
            interval = max(1, call_policy().escalation_poll_seconds)
            await run_in_threadpool(sweep, app.state.session_factory)
        except asyncio.CancelledError:
            raise
        except Exception:  # a failed pass (database restarting) must not end the loop
            log.exception("escalation sweep failed; retrying")
            interval = 5
        await asyncio.sleep(interval)
