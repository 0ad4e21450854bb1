"""待办: the work waiting for a user's own step, gathered from every installed domain's work queues.

A domain declares its queues in its descriptor (`Domain(worklist=("minxin.programs.worklist:queues",))`):
a function returning `Queue`s. A queue names its step (`label`, e.g. 待入户调查), the permission the step
needs and the scope levels at which the step is the user's own (入户调查 is the community's step: a town
officer also holds the permission, but the cases wait for the community worker, not for them). A user
sees a queue only when both hold, so a role is shown only steps it may take. Every query of a queue is
narrowed to the user's scope by the queue itself, through the domain's scoped helpers.

The home page shows each visible kind with its count and oldest items; `/worklist/<key>` pages one kind;
the top bar shows the sum. The queues list oldest first (by due date where the step has one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.auth.service import has_perm
from minxin.core.divisions import level_of
from minxin.core.errors import NotFound
from minxin.domains import installed, resolve_callable
from minxin.kit.paging import MAX_PAGE_SIZE, Page


@dataclass(frozen=True)
class WorkItem:
    """One thing waiting: what it is, where to do it, since when it waits and by when it is due."""

    title: str
    href: str
    since: datetime | date | None = None
    due: date | None = None
    note: str = ""


@dataclass(frozen=True)
class Queue:
    """One kind of work. `count(session, user, today)` and `items(session, user, today, offset, limit)`
    answer within the user's scope; `list_href` is the domain's own full list, if it has one."""

    key: str  # URL-safe, unique over all domains, e.g. "cases.investigate"
    label: str  # the step as what happens next: 待入户调查
    perm: str
    levels: tuple[str, ...]  # scope levels at which this is the user's step: community, town, county, city
    count: Callable[[Session, User, date], int]
    items: Callable[[Session, User, date, int, int], list[WorkItem]]
    hint: str = ""

    def is_for(self, user: User) -> bool:
        return has_perm(user, self.perm) and level_of(user.scope_code) in self.levels


@dataclass(frozen=True)
class Kind:
    """A queue as the home page shows it: its count and its oldest items."""

    queue: Queue
    count: int
    oldest: list[WorkItem]


def all_queues() -> list[Queue]:
    """Every installed domain's queues, in domain order."""
    queues: list[Queue] = []
    for domain in installed():
        for path in domain.worklist:
            queues.extend(resolve_callable(path)())
    return queues


def queues_for(user: User) -> list[Queue]:
    """The queues whose step this user may take at their scope."""
    return [q for q in all_queues() if q.is_for(user)]


def worklist_for(session: Session, user: User, *, today: date, preview: int = 3,
                 keep_empty: bool = False) -> list[Kind]:
    """The user's 待办 by kind: count and the `preview` oldest items (kinds with nothing are left out
    unless `keep_empty`)."""
    kinds = []
    for queue in queues_for(user):
        n = queue.count(session, user, today)
        if n or keep_empty:
            kinds.append(Kind(queue, n, queue.items(session, user, today, 0, preview) if n else []))
    return kinds


def waiting_count(session: Session, user: User, *, today: date) -> int:
    """The number shown in the top bar: everything waiting for the user's steps."""
    return sum(q.count(session, user, today) for q in queues_for(user))


def queue_for(user: User, key: str) -> Queue:
    """One of the user's queues; another role's queue or an unknown key alike is NotFound."""
    for queue in queues_for(user):
        if queue.key == key:
            return queue
    raise NotFound(f"没有这类待办：{key[:40]} (no such work queue)")


def queue_page(session: Session, user: User, key: str, *, today: date, page: int = 1,
               page_size: int = 20) -> tuple[Queue, Page[WorkItem]]:
    """A page of one of the user's queues, oldest first."""
    queue = queue_for(user, key)
    page = max(1, page)
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    total = queue.count(session, user, today)
    items = queue.items(session, user, today, (page - 1) * page_size, page_size) if total else []
    return queue, Page(items=items, total=total, page=page, page_size=page_size)


# ---- programs at a glance ------------------------------------------------------------------------

@dataclass(frozen=True)
class Glance:
    """One program in the user's scope: recipients now, this month's total and the months before."""

    name: str
    href: str
    unit: str  # 户 or 人
    recipients: int
    month_fen: int | None  # None: no cycle for this month yet
    trend: Sequence[tuple[str, int]]  # (period, total fen), oldest first


def glance_for(session: Session, user: User, *, today: date) -> list[Glance]:
    """Every installed domain's at-a-glance rows for the user (empty for whom it is not meant)."""
    rows: list[Glance] = []
    for domain in installed():
        for path in domain.glance:
            provider: Callable[..., Any] = resolve_callable(path)
            rows.extend(provider(session, user, today=today))
    return rows
