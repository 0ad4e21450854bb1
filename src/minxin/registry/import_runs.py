"""Import runs: every import of a file (web, API or command line), what came of it, and the failed ones as
work waiting (待处理导入错误).

Each importer's service function goes through `recorded_import`, the one place a run is recorded:

* the import runs inside a SAVEPOINT; a file with any row error (`failed`), or one refused as a whole
  (`refused`: unreadable, hostile, too large or without its columns, with the reason), rolls the
  savepoint back, so nothing of its rows stays; the run is then added to the session's own transaction,
  which the caller commits as for a stored file (the faces commit after a refusal too: what they commit
  is the run, and nothing else);
* a stored file records a `stored` run in the same transaction as its rows, and resolves the earlier
  failed runs of the same kind within the importer's scope (the corrected file came in).

Checks (`dry_run`) record nothing. A run keeps the first `MAX_ERRORS_KEPT` row errors and their count; the
rows as uploaded (names, ID numbers) are not kept. Runs are read through the user's scope
(`region_code` is the importer's scope) and the permission of their kind (`KINDS`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, func, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import Perm, can_see, display_names, has_perm, require, scoped
from minxin.core._text import split_gloss
from minxin.core.divisions import scope_prefix
from minxin.core.errors import NotFound, ValidationError
from minxin.infra.db import Base, UTCDateTime, is_db_id, utcnow
from minxin.kit.paging import MAX_PAGE_SIZE, Page
from minxin.kit.tabular import RowError
from minxin.regions import region_names, region_path

STATUSES = ("stored", "failed", "refused")
STATUS_NAMES = {"stored": "已导入", "failed": "有错误未导入", "refused": "文件被拒收"}
MAX_ERRORS_KEPT = 1000
MAX_FILENAME = 200


@dataclass(frozen=True)
class ImportKind:
    """What one kind of import is: its name, the permission that imports it, and where it is done."""

    label: str
    perm: str
    href: str | None  # the import page (None: the command line only)
    command: str


# The kinds by key (`cases:<program>` reads as `cases`). The permissions are those the importers require.
KINDS: dict[str, ImportKind] = {
    "households": ImportKind("家庭户籍", Perm.REGISTRY_IMPORT, "/import", "minxin import households"),
    "elderly": ImportKind("老年人信息", Perm.REGISTRY_IMPORT, None, "minxin eldercare import"),
    "cases": ImportKind("案件", Perm.CASES_APPROVE, None, "minxin case import"),
    "medical": ImportKind("医疗救助结算", Perm.CASES_APPROVE, "/medical", "minxin medical import"),
    "veterans": ImportKind("优抚对象", "veterans:manage", "/veterans/import", "minxin veteran import"),
    "children": ImportKind("孤儿及困境儿童", "children:import", "/children/import", "minxin child import"),
}


def kind_of(key: str) -> ImportKind:
    found = KINDS.get(key.partition(":")[0])
    if found is None:
        raise ValueError(f"unknown import kind {key!r}")
    return found


class ImportRun(Base):
    """One file imported (or refused): by whom, in which scope, when, and its row errors."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # households, elderly, veterans, children, medical, cases:<program>
    label: Mapped[str] = mapped_column(String(60))  # the kind as people read it (低保 案件)
    filename: Mapped[str] = mapped_column(String(MAX_FILENAME))
    actor: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(12))  # the actor's scope when importing
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(8))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[row, column, reason], …], the first 1,000
    reason: Mapped[str | None] = mapped_column(String(500))  # why a file was refused (the file's own error)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_by_run: Mapped[int | None] = mapped_column(Integer)  # the later stored run that resolved it

    __table_args__ = (
        CheckConstraint("status in ('stored', 'failed', 'refused')", name="status"),
        Index("ix_import_runs_region_code", "region_code"),
        Index("ix_import_runs_open", "resolved_at", "status", "started_at"),
    )

    @property
    def open(self) -> bool:
        return self.status != "stored" and self.resolved_at is None

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, self.status)

    @property
    def import_kind(self) -> ImportKind:
        return kind_of(self.kind)


class _Result(Protocol):
    @property
    def ok(self) -> bool: ...

    @property
    def errors(self) -> list[RowError]: ...

    @property
    def table(self) -> Any: ...


R = TypeVar("R", bound=_Result)

_UNSAFE = re.compile(r"[\x00-\x1f\x7f]+")


def clean_filename(name: str) -> str:
    """The file's own name (no folder), without control or format characters, at most 200 characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(c for c in _UNSAFE.sub("", base) if unicodedata.category(c) not in ("Cf", "Cs", "Co"))
    return base.strip()[:MAX_FILENAME] or "（无文件名）"


def recorded_import(session: Session, *, actor: User, kind: str, filename: str, label: str | None = None,
                    dry_run: bool = False, stored: Callable[[R], int], run: Callable[[], R]) -> R:
    """Run one import (`run()`) all or nothing and record it; see the module's docstring."""
    if dry_run:
        return run()
    import_kind = kind_of(kind)
    started = utcnow()
    savepoint = session.begin_nested()
    try:
        result = run()
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    if result.ok:
        savepoint.commit()
    else:
        savepoint.rollback()
    errors = list(result.errors)
    file_errors = [e for e in errors if e.row <= 1]
    # Refused: the file itself (unreadable, hostile, too large, without its columns), no row was checked.
    refused = not result.ok and (result.table is None or len(file_errors) == len(errors))
    record = ImportRun(
        kind=kind[:40], label=(label or import_kind.label)[:60], filename=clean_filename(filename),
        actor=actor.username, region_code=actor.scope_code, started_at=started, finished_at=utcnow(),
        status="stored" if result.ok else "refused" if refused else "failed",
        rows=len(result.table.rows) if result.table is not None else 0,
        stored=stored(result) if result.ok else 0, error_count=len(errors),
        errors=[[e.row, str(e.column)[:40], str(e.reason)[:300]] for e in errors[:MAX_ERRORS_KEPT]],
        reason="；".join(str(e.reason) for e in file_errors)[:500] or None)
    session.add(record)
    session.flush()
    if result.ok:
        session.execute(
            update(ImportRun).where(
                ImportRun.kind == record.kind, ImportRun.status != "stored", ImportRun.resolved_at.is_(None),
                ImportRun.region_code.like(scope_prefix(actor.scope_code) + "%"), ImportRun.id != record.id)
            .values(resolved_at=record.finished_at, resolved_by=actor.username, resolved_by_run=record.id)
            .execution_options(synchronize_session=False))
    return result


@dataclass
class _Refused:
    errors: list[RowError]
    table: None = None
    ok: bool = False


def record_refused_file(session: Session, *, actor: User, kind: str, filename: str, reason: str) -> None:
    """Record a file refused before its importer could read it (over the upload limit on the web), through
    the same helper; for a user who may import that kind."""
    require(actor, kind_of(kind).perm)
    recorded_import(session, actor=actor, kind=kind, filename=filename, stored=lambda r: 0,
                    run=lambda: _Refused(errors=[RowError(1, "文件", reason)]))


# ---- reading runs -------------------------------------------------------------------------------

def readable_kinds(user: User) -> list[str]:
    """The kinds whose runs the user may read: those they may import."""
    return [key for key, kind in KINDS.items() if has_perm(user, kind.perm)]


def _kind_clause(kinds: Sequence[str]) -> Any:
    return or_(ImportRun.kind.in_(kinds), *(ImportRun.kind.like(k + ":%") for k in kinds))


def scoped_runs(user: User) -> Any:
    """Runs within the user's scope, of the kinds they may import."""
    kinds = readable_kinds(user)
    if not kinds:
        return select(ImportRun).where(ImportRun.id.is_(None))
    return scoped(select(ImportRun).where(_kind_clause(kinds)), user, ImportRun.region_code)


def _open(stmt: Any) -> Any:
    return stmt.where(ImportRun.status != "stored", ImportRun.resolved_at.is_(None))


def require_runs_reader(user: User) -> None:
    if not readable_kinds(user):
        require(user, Perm.REGISTRY_IMPORT)


def list_import_runs(session: Session, *, user: User, status: str = "", page: int = 1,
                     page_size: int = 20) -> Page[ImportRun]:
    """The runs of the user's scope, newest first; `status`: stored, failed, refused or open (未处理)."""
    require_runs_reader(user)
    stmt = scoped_runs(user)
    if status == "open":
        stmt = _open(stmt)
    elif status in STATUSES:
        stmt = stmt.where(ImportRun.status == status)
    elif status:
        raise ValidationError("状态必须是 stored、failed、refused 或 open (bad status)", field="status")
    page = max(1, page)
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    total = int(session.execute(stmt.with_only_columns(func.count()).order_by(None)).scalar_one())
    items = list(session.execute(stmt.order_by(ImportRun.started_at.desc(), ImportRun.id.desc())
                                 .offset((page - 1) * page_size).limit(page_size)).scalars())
    return Page(items=items, total=total, page=page, page_size=page_size)


def get_import_run_for(session: Session, user: User, run_id: int) -> ImportRun:
    """One run, if the user may import its kind and it lies within their scope; else NotFound."""
    run = session.get(ImportRun, run_id) if is_db_id(run_id) else None
    if (run is None or not can_see(user, run.region_code)
            or run.kind.partition(":")[0] not in readable_kinds(user)):
        raise NotFound("没有这条导入记录 (no such import run)")
    return run


def run_errors(run: ImportRun, *, page: int = 1, page_size: int = 50) -> Page[RowError]:
    """A page of the run's kept row errors."""
    page = max(1, page)
    page_size = min(max(1, page_size), MAX_PAGE_SIZE)
    kept = run.errors or []
    items = [RowError(int(r), str(c), str(reason)) for r, c, reason in
             kept[(page - 1) * page_size:page * page_size]]
    return Page(items=items, total=len(kept), page=page, page_size=page_size)


ERROR_HEADERS = ("行号", "列", "原因")


def error_rows(run: ImportRun) -> list[list[Any]]:
    """The kept row errors as the rows of the error sheet."""
    return [[r, c, split_gloss(reason)[0]] for r, c, reason in (run.errors or [])]


def names_of(session: Session, runs: Sequence[ImportRun]) -> dict[str, str]:
    """Who imported and who handled the runs: username → the name people are shown by."""
    return display_names(session, {u for run in runs for u in (run.actor, run.resolved_by) if u})


def place_of(session: Session, run: ImportRun) -> str:
    """The importer's scope by name (海州区 新海街道 …; the city: its code's region name)."""
    code = run.region_code
    return region_path(session, code) or region_names(session, {code}).get(code) or code


def download_errors(session: Session, *, user: User, run_id: int) -> ImportRun:
    """The run whose error sheet the user downloads, the download audited (reasons may quote cells)."""
    run = get_import_run_for(session, user, run_id)
    audit.record(session, actor=user.username, action="import.errors_download", entity="import_run",
                 entity_id=run.id, region_code=run.region_code)
    return run


def mark_resolved(session: Session, *, user: User, run_id: int) -> ImportRun:
    """Mark a failed or refused run as handled (已处理) by hand; audited. Handled already: nothing changes."""
    run = get_import_run_for(session, user, run_id)
    if run.status == "stored":
        raise ValidationError("已导入成功的记录无须处理 (the file was stored)")
    if run.resolved_at is not None:
        return run
    run.resolved_at, run.resolved_by = utcnow(), user.username
    audit.record(session, actor=user.username, action="import.resolve", entity="import_run", entity_id=run.id,
                 region_code=run.region_code, detail={"kind": run.kind, "file": run.filename})
    return run


# ---- the work queue -----------------------------------------------------------------------------

def open_runs_count(session: Session, user: User) -> int:
    stmt = _open(scoped_runs(user))
    return int(session.execute(stmt.with_only_columns(func.count()).order_by(None)).scalar_one())


def open_runs(session: Session, user: User, offset: int, limit: int) -> list[ImportRun]:
    stmt = _open(scoped_runs(user)).order_by(ImportRun.started_at, ImportRun.id).offset(offset).limit(limit)
    return list(session.execute(stmt).scalars())
