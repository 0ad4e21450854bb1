"""Call-centre reports (plan P19): calls by kind, time to answer and to dispatch, SLA breaches, per
county and month. The month is a calendar month in China time; times are seconds from receipt.

One scoped query reads the month's calls (a few columns each); the per-county figures are computed
here with the pure rules (percentiles do not aggregate portably in SQL across both databases).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.auth.service import Perm, require
from minxin.core.divisions import county_of
from minxin.core.period import Period
from minxin.eldercare.calls import scoped_calls
from minxin.eldercare.models import CALL_KINDS, Call
from minxin.eldercare.policy import call_policy
from minxin.eldercare.rules import breaches_answer_sla, mean, percentile, seconds_between
from minxin.eldercare.service import AnySelect
from minxin.infra.clock import CHINA_TZ
from minxin.infra.db import utcnow
from minxin.registry.service import region_names

UNKNOWN = "unknown"


@dataclass
class CountyCalls:
    county_code: str | None
    name: str
    calls: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*CALL_KINDS, UNKNOWN), 0))
    answer: list[float] = field(default_factory=list)
    dispatch: list[float] = field(default_factory=list)
    answer_sla_breaches: int = 0
    dispatch_sla_breaches: int = 0
    escalated: int = 0
    unanswered: int = 0

    def as_dict(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 1)

        return {"county_code": self.county_code, "county": self.name, "calls": self.calls,
                "by_kind": dict(self.by_kind), "answered": len(self.answer), "unanswered": self.unanswered,
                "answer_seconds_avg": r(mean(self.answer)), "answer_seconds_p90": r(percentile(self.answer, 90)),
                "dispatched": len(self.dispatch), "dispatch_seconds_avg": r(mean(self.dispatch)),
                "dispatch_seconds_p90": r(percentile(self.dispatch, 90)),
                "answer_sla_breaches": self.answer_sla_breaches, "dispatch_sla_breaches": self.dispatch_sla_breaches,
                "escalated": self.escalated}


def month_bounds(period: Period) -> tuple[datetime, datetime]:
    start = datetime.combine(period.first_day(), time(0), CHINA_TZ)
    end = datetime.combine(period.next().first_day(), time(0), CHINA_TZ)
    return start, end


def calls_report(session: Session, *, user: User, period: Period, now: datetime | None = None) -> dict[str, Any]:
    """The month's calls in the user's scope, per county (unknown callers in their own row) and in total."""
    require(user, Perm.REGISTRY_READ)
    policy = call_policy()
    now = now or utcnow()
    start, end = month_bounds(period)
    columns: AnySelect = select(Call.region_code, Call.kind, Call.received_at, Call.taken_at, Call.dispatched_at,
                                Call.escalated_at)
    stmt = scoped_calls(columns, user)
    rows = session.execute(stmt.where(Call.received_at >= start, Call.received_at < end)).all()
    counties: dict[str | None, CountyCalls] = {}
    total = CountyCalls(None, "合计")
    by_county: dict[str | None, list[Any]] = defaultdict(list)
    for row in rows:
        by_county[county_of(row.region_code) if row.region_code else None].append(row)
    names = region_names(session, {c for c in by_county if c})
    for code in sorted(by_county, key=lambda c: (c is None, c or "")):
        counties[code] = CountyCalls(code, names.get(code, code) if code else "来电人未识别")
        for row in by_county[code]:
            for acc in (counties[code], total):
                acc.calls += 1
                acc.by_kind[row.kind or UNKNOWN] += 1
                answered = seconds_between(row.received_at, row.taken_at)
                if answered is None:
                    acc.unanswered += 1
                else:
                    acc.answer.append(answered)
                if breaches_answer_sla(row.received_at, row.taken_at, sla_seconds=policy.answer_sla_seconds, now=now):
                    acc.answer_sla_breaches += 1
                dispatched = seconds_between(row.received_at, row.dispatched_at)
                if dispatched is not None:
                    acc.dispatch.append(dispatched)
                    if dispatched > policy.dispatch_sla_seconds:
                        acc.dispatch_sla_breaches += 1
                if row.escalated_at is not None:
                    acc.escalated += 1
    return {"period": str(period), "answer_sla_seconds": policy.answer_sla_seconds,
            "dispatch_sla_seconds": policy.dispatch_sla_seconds,
            "counties": [c.as_dict() for c in counties.values()], "total": total.as_dict()}
