"""`/healthz` for load balancers and monitors: no login, no data.

200 `{"status": "ok"}` when the database answers and its schema is at the Alembic head of this
code; 503 `{"status": "unavailable", "reason": …}` when the database cannot be reached (or does not
answer within a few seconds) or its schema is missing, behind or ahead (run `minxin init`). Never 500.
"""

from __future__ import annotations

import logging

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker

from minxin.infra import migrate

log = logging.getLogger("minxin.health")

router = APIRouter()

# A database that does not answer within this many seconds counts as down.
TIMEOUT_SECONDS = 5.0


def database_problem(factory: sessionmaker[Session]) -> str | None:
    """None when the database answers and its schema is current, else the reason (no data in it)."""
    try:
        with factory() as session:
            current = migrate.schema_is_current(session.connection())
    except Exception as exc:  # any failure to reach or read the database is "unreachable"
        log.warning("health check: database unreachable: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return "database unreachable"
    return None if current else "schema not at head (run `minxin init`)"


@router.api_route("/healthz", methods=["GET", "HEAD"], include_in_schema=False)
async def healthz(request: Request) -> JSONResponse:
    """200 when the database answers and the schema is current, 503 otherwise."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    problem: str | None = "database did not answer in time"
    with anyio.move_on_after(TIMEOUT_SECONDS):
        problem = await anyio.to_thread.run_sync(database_problem, factory, abandon_on_cancel=True)
    if problem is None:
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "unavailable", "reason": problem}, status_code=503)
