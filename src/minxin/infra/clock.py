"""Today's date as the bureau sees it (Asia/Shanghai), whatever the server's own time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def today() -> date:
    return datetime.now(CHINA_TZ).date()


def local(dt: datetime) -> datetime:
    """A stored UTC datetime shown in China time."""
    return dt.astimezone(CHINA_TZ)
