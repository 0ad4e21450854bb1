"""The call centre's work queue (待办): emergency calls not yet answered (see `minxin.worklist`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.eldercare.calls import KIND_NAMES, scoped_calls
from minxin.eldercare.domain import EldercarePerm
from minxin.eldercare.models import Call
from minxin.worklist import Queue, WorkItem


def _open_emergencies(user: User) -> Select[Any]:
    """Open calls that are emergencies or not yet classified (an unclassified call may be one)."""
    return scoped_calls(select(Call).where(Call.status == "open",
                                           or_(Call.kind == "emergency", Call.kind.is_(None))), user)


def _count(session: Session, user: User, today: date) -> int:
    return int(session.execute(_open_emergencies(user).with_only_columns(func.count()).order_by(None)).scalar_one())


def _items(session: Session, user: User, today: date, offset: int, limit: int) -> list[WorkItem]:
    stmt = _open_emergencies(user).order_by(Call.received_at, Call.id).offset(offset).limit(limit)
    return [WorkItem(title=f"{KIND_NAMES.get(call.kind or '', '未分类')}呼叫 · {call.location or '位置不明'}",
                     href=f"/eldercare/console/calls/{call.id}", since=call.received_at,
                     note="已超时上报值班主任" if call.escalated_at else "")
            for call in session.execute(stmt).scalars()]


def queues() -> list[Queue]:
    return [Queue(key="calls.open", label="待接听紧急呼叫", perm=EldercarePerm.CALLS_HANDLE, levels=("city",),
                  count=_count, items=_items, hint="紧急或尚未分类的来电，尽快接听")]
