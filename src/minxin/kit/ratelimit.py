"""Rate limits kept in the database, so that every worker process (and every server) counts together.

One row per key (`objection:<client address>`): a fixed window and the attempts counted in it. An
attempt is one upsert that either counts into the running window or starts a new one, and returns
the count: atomic on SQLite and PostgreSQL alike, so two workers racing both count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Index, Integer, String, case, delete, literal
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from minxin.infra.db import Base, UTCDateTime, utcnow


class RateLimit(Base):
    """Attempts of one key (an action and a client address) in the window that began at window_start."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    hits: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_rate_limits_window_start", "window_start"),)


def hit(session: Session, *, key: str, limit: int, window: timedelta, now: datetime | None = None) -> bool:
    """Count one attempt for ``key``; True while at most ``limit`` attempts fell in the window.

    The caller commits the count even when it then refuses the attempt, so refused attempts count too.
    """
    now = now or utcnow()
    cutoff = now - window
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stale = RateLimit.window_start < cutoff
    values = insert(RateLimit).values(key=key[:160], window_start=now, hits=1)
    upsert = values.on_conflict_do_update(
        index_elements=[RateLimit.key],
        set_={"hits": case((stale, 1), else_=RateLimit.hits + 1),
              "window_start": case((stale, literal(now, UTCDateTime())), else_=RateLimit.window_start)},
    )
    count = session.execute(upsert.returning(RateLimit.hits)).scalar_one()
    session.execute(delete(RateLimit).where(stale))  # other keys' finished windows: the table stays small
    return int(count) <= limit
