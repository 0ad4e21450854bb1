"""The registry's work queue (待办): imports with errors not yet handled (see `minxin.worklist` and
`minxin.registry.import_runs`).

Every staff role imports something (households at least), so the queue is offered to whoever holds
`registry:import` at any level; its items are the failed or refused runs within the user's scope of the
kinds the user may import (cases and medical settlements for those who approve cases, and so on).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.auth.service import Perm
from minxin.registry.import_runs import names_of, open_runs, open_runs_count
from minxin.worklist import Queue, WorkItem


def _count(session: Session, user: User, today: date) -> int:
    return open_runs_count(session, user)


def _items(session: Session, user: User, today: date, offset: int, limit: int) -> list[WorkItem]:
    runs = open_runs(session, user, offset, limit)
    names = names_of(session, runs)
    return [WorkItem(title=f"{run.label} · {run.filename}", href=f"/imports/{run.id}", since=run.started_at,
                     note=(f"{run.error_count} 处错误，未导入" if run.status == "failed" else "文件被拒收，未导入")
                     + f" · {names.get(run.actor, run.actor)}")
            for run in runs]


def queues() -> list[Queue]:
    return [Queue(key="imports.errors", label="待处理导入错误", perm=Perm.REGISTRY_IMPORT,
                  levels=("community", "town", "county", "city"), count=_count, items=_items,
                  hint="导入时有错误、未写入任何数据的文件：按错误清单修改后重新导入，或标记为已处理")]
