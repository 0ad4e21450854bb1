"""The console feed: Server-Sent Events read from `call_events` by increasing id.

Every worker process can serve every console because the feed is the database, not a process's
memory: a step written by any process shows up at the next poll of every stream. The event id is the
`call_events` id, so a browser that reconnects sends `Last-Event-ID` and gets exactly what it missed.

Reading by "id greater than the last one sent" skips nothing only if ids become visible in increasing
order. On PostgreSQL ids come from a sequence when the row is inserted, and two transactions may
commit in the other order: a poll could see 105 while 104 is still uncommitted, and never look back.
So every step is inserted under the audit chain lock (`audit.lock_chain`, a transaction-level advisory
lock held to commit, which every audited write takes anyway): a step's id is handed out only after
every earlier step's transaction has committed or rolled back. A poll that sees id N therefore sees
every step below N that will ever exist, and N is a safe resume point. SQLite has one writer at a time
(BEGIN IMMEDIATE), which gives the same order.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from minxin.auth.models import User
from minxin.eldercare.calls import events_after, latest_event_id
from minxin.eldercare.models import Call, CallEvent

POLL_SECONDS = 0.05
KEEPALIVE_SECONDS = 15.0
BATCH = 500
# A feed ends after this long; the browser's EventSource reconnects at once with Last-Event-ID and
# misses nothing. Bounded connections let proxies and server restarts recycle them.
MAX_STREAM_SECONDS = 600.0


def start_position(last_event_id: str | None, after: int | None, factory: sessionmaker[Session]) -> int:
    """Where a stream starts: the browser's Last-Event-ID (a reconnect), else `after`, else now."""
    for value in (last_event_id, after):
        if value is None:
            continue
        try:
            n = int(value)
        except (TypeError, ValueError):
            continue
        if n >= 0:
            return n
    with factory() as session:
        return latest_event_id(session)


def event_payload(event: CallEvent, call: Call) -> dict[str, Any]:
    return {"event_id": event.id, "call_id": call.id, "action": event.action, "what": event.what,
            "actor": event.actor, "at": event.at.isoformat(), "status": call.status, "kind": call.kind,
            "person_id": call.person_id, "escalated": call.escalated_at is not None}


def _poll(factory: sessionmaker[Session], user: User, after: int) -> list[dict[str, Any]]:
    with factory() as session:
        return [event_payload(e, c) for e, c in events_after(session, user=user, after_id=after, limit=BATCH)]


async def call_events_stream(request: Request, *, user: User, factory: sessionmaker[Session],
                             after: int) -> AsyncIterator[str]:
    """Yield SSE frames for each new timeline step in the user's scope until the client goes away."""
    yield "retry: 2000\n\n"
    last_sent = started = time.monotonic()
    while True:
        if await request.is_disconnected():
            return
        batch = await run_in_threadpool(_poll, factory, user, after)
        if batch:
            # One chunk per poll, not one per step: each chunk goes through every middleware's send
            # and a socket write, and a busy centre has tens of steps in a poll.
            after = batch[-1]["event_id"]
            yield "".join(f"id: {p['event_id']}\nevent: call\ndata: {json.dumps(p, ensure_ascii=False)}\n\n"
                          for p in batch)
            last_sent = time.monotonic()
        now = time.monotonic()
        if now - started >= MAX_STREAM_SECONDS:
            return
        if now - last_sent >= KEEPALIVE_SECONDS:
            yield ": keepalive\n\n"
            last_sent = now
        if len(batch) < BATCH:
            await asyncio.sleep(POLL_SECONDS)
