"""The audit trail as the auditor reads it: filtered, paged, verified and exported (审计日志).

Reading needs `audit:read`; entries of a region outside the reader's scope are left out (the roles that
hold the permission are city-wide today, so they see every entry). Verifying is `audit.verify`, the
same walk as `minxin audit verify`; exporting writes a formula-safe xlsx and is itself audited.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.audit_labels import action_label, entity_label
from minxin.auth.models import AuditEvent, User
from minxin.auth.service import Perm, display_names, require
from minxin.core._text import LIKE_ESCAPE, escape_like
from minxin.core.divisions import scope_prefix
from minxin.core.errors import ValidationError
from minxin.infra.clock import CHINA_TZ
from minxin.kit.paging import Page, paginate
from minxin.kit.tabular import write_xlsx
from minxin.regions import region_names

EXPORT_HEADERS = ["序号", "时间", "操作人", "操作", "对象", "对象编号（原始）", "区划", "用户名（原始）",
                  "操作（原始）", "对象（原始）", "区划代码（原始）", "详情（原始）", "哈希（原始）"]
MAX_EXPORT_ROWS = 200_000


@dataclass(frozen=True)
class AuditFilter:
    """What the auditor narrows the trail to; every field optional."""

    actor: str = ""
    entity: str = ""
    entity_id: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None  # inclusive

    def check(self) -> AuditFilter:
        if self.since and self.until and self.since > self.until:
            raise ValidationError("开始日期不能晚于结束日期 (since after until)", field="since")
        for name, limit in (("actor", 64), ("entity", 32), ("entity_id", 64), ("action", 64)):
            value = getattr(self, name)
            if len(value) > limit or any(ord(ch) < 32 for ch in value):
                raise ValidationError(f"筛选条件过长或含控制字符 (bad filter: {name})", field=name)
        return self


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=CHINA_TZ)


def _query(user: User, f: AuditFilter) -> Select[Any]:
    require(user, Perm.AUDIT_READ)
    f.check()
    prefix = scope_prefix(user.scope_code)
    stmt = select(AuditEvent).where(or_(AuditEvent.region_code.is_(None), AuditEvent.region_code == "",
                                        AuditEvent.region_code.like(prefix + "%")))
    if f.actor.strip():
        stmt = stmt.where(AuditEvent.actor == f.actor.strip())
    if f.entity.strip():
        stmt = stmt.where(AuditEvent.entity == f.entity.strip())
    if f.entity_id.strip():
        stmt = stmt.where(AuditEvent.entity_id == f.entity_id.strip())
    if f.action.strip():
        stmt = stmt.where(AuditEvent.action.like(escape_like(f.action.strip()) + "%", escape=LIKE_ESCAPE))
    if f.since:
        stmt = stmt.where(AuditEvent.at >= _start_of(f.since))
    if f.until:
        stmt = stmt.where(AuditEvent.at < _start_of(f.until + timedelta(days=1)))
    return stmt


def audit_events_for(session: Session, user: User, f: AuditFilter, *, page: int = 1,
                     page_size: int = 50) -> Page[AuditEvent]:
    """A page of the trail, newest first, narrowed by the filter and the reader's scope."""
    return paginate(session, _query(user, f).order_by(AuditEvent.id.desc()), page=page, page_size=page_size)


def audit_choices(session: Session, user: User) -> tuple[list[str], list[str]]:
    """The actions and record kinds the trail holds (for the filter's pick lists)."""
    require(user, Perm.AUDIT_READ)
    actions = list(session.execute(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).scalars())
    entities = list(session.execute(select(AuditEvent.entity).distinct().order_by(AuditEvent.entity)).scalars())
    return actions, entities


def verify_for(session: Session, user: User) -> audit.VerifyResult:
    """Verify the whole chain (the same walk as `minxin audit verify`) and record who checked it."""
    require(user, Perm.AUDIT_READ)
    username = user.username
    result = audit.verify(session)
    audit.record(session, actor=username, action="audit.verify", entity="audit",
                 detail={"ok": result.ok, "checked": result.checked, "broken_id": result.broken_id})
    return result


def _rows(session: Session, stmt: Select[Any]) -> Iterator[list[Any]]:
    """Rows for people first (display name, 操作, 对象, 区划 by name), then the stored keys as they are
    (columns marked （原始）: what a tool or a second check reads)."""
    names: dict[str, str] = {}
    regions: dict[str, str] = {}
    for chunk in _chunks(session.execute(stmt.execution_options(yield_per=2000)).scalars(), 2000):
        names.update(display_names(session, {ev.actor for ev in chunk} - set(names)))
        regions.update(region_names(session, {ev.region_code for ev in chunk if ev.region_code} - set(regions)))
        for ev in chunk:
            yield [ev.id, ev.at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S"), names.get(ev.actor, ev.actor),
                   action_label(ev.action), entity_label(ev.entity), ev.entity_id or "",
                   regions.get(ev.region_code or "", ""), ev.actor, ev.action, ev.entity, ev.region_code or "",
                   ev.detail, ev.hash]


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def export_audit(session: Session, user: User, f: AuditFilter, *, target: Path | io.BytesIO) -> int:
    """Write the filtered trail (oldest first, at most MAX_EXPORT_ROWS) to xlsx; the export is audited."""
    stmt = _query(user, f)
    n = int(paginate(session, stmt, page=1, page_size=1).total)
    if n > MAX_EXPORT_ROWS:
        raise ValidationError(f"符合条件的记录有 {n:,} 条，超过一次导出上限 {MAX_EXPORT_ROWS:,} 条，请缩小日期范围 "
                              "(too many rows)", field="since")
    username = user.username
    write_xlsx(target, EXPORT_HEADERS, _rows(session, stmt.order_by(AuditEvent.id)), sheet="审计日志",
               widths={"时间": 20, "详情（原始）": 60, "哈希（原始）": 30})
    audit.record(session, actor=username, action="audit.export", entity="audit",
                 detail={"rows": n, "actor": f.actor, "entity": f.entity, "entity_id": f.entity_id,
                         "action": f.action, "since": f.since.isoformat() if f.since else None,
                         "until": f.until.isoformat() if f.until else None})
    return n


def labels_for(session: Session, events: Iterable[AuditEvent]) -> dict[str, dict[str, str]]:
    """What a page of the trail shows besides the entries: the actors' display names and the regions' names."""
    rows = list(events)
    return {"names": display_names(session, {ev.actor for ev in rows}),
            "regions": region_names(session, {ev.region_code for ev in rows if ev.region_code})}
