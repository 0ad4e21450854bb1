"""The append-only, hash-chained audit trail.

Every write and every view of an unmasked ID number appends one entry in the same transaction as
the change it records. Each entry's hash covers the previous entry's hash, so editing or deleting
any row breaks the chain from that row on, and `minxin audit verify` finds it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from minxin.auth.models import AuditEvent
from minxin.db import is_sqlite, utcnow

GENESIS = "0" * 64


def _canonical(
    *, at: datetime, actor: str, action: str, entity: str, entity_id: str | None, region_code: str | None,
    detail: str,
) -> str:
    return json.dumps(
        [at.strftime("%Y-%m-%dT%H:%M:%S.%f"), actor, action, entity, entity_id, region_code, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def entry_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _lock_chain(session: Session) -> None:
    """Serialise appends so two writers never chain onto the same previous entry."""
    if is_sqlite(session):
        return  # SQLite write transactions already hold the database write lock (BEGIN IMMEDIATE)
    session.execute(text("SELECT pg_advisory_xact_lock(7307001)"))


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int | None = None,
    region_code: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit entry to the chain (in the caller's transaction)."""
    _lock_chain(session)
    session.flush()
    prev = session.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar()
    prev_hash = prev or GENESIS
    # Microsecond precision survives every database round trip.
    at = utcnow()
    detail_json = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)
    eid = None if entity_id is None else str(entity_id)
    canonical = _canonical(
        at=at, actor=actor, action=action, entity=entity, entity_id=eid, region_code=region_code,
        detail=detail_json,
    )
    event = AuditEvent(
        at=at, actor=actor, action=action, entity=entity, entity_id=eid, region_code=region_code,
        detail=detail_json, prev_hash=prev_hash, hash=entry_hash(prev_hash, canonical),
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str | None = None


def _iter_events(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = session.execute(
            select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id).limit(batch)
        ).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        session.expunge_all()


def verify(session: Session) -> VerifyResult:
    """Walk the chain from the start; report the first entry whose links or content do not hold."""
    prev_hash = GENESIS
    checked = 0
    for ev in _iter_events(session):
        # Ids may have gaps (a PostgreSQL sequence skips on rollback); the hash links are the chain.
        if ev.prev_hash != prev_hash:
            why = "prev_hash does not match the previous entry (an entry was edited or deleted)"
            return VerifyResult(False, checked, ev.id, why)
        canonical = _canonical(
            at=ev.at, actor=ev.actor, action=ev.action, entity=ev.entity, entity_id=ev.entity_id,
            region_code=ev.region_code, detail=ev.detail,
        )
        if entry_hash(prev_hash, canonical) != ev.hash:
            return VerifyResult(False, checked, ev.id, "content does not match its hash (edited)")
        prev_hash = ev.hash
        checked += 1
    return VerifyResult(True, checked)
