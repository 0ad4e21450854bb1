"""Children in need: reading a child (one scoped look-up), the scoped list and its export, and the
children's import (guardians and the `orphan` cases, all or nothing).

Every access rule lives here: the pages (views.py), the JSON API (api.py) and the CLI call these and
nothing else. A child is read through its `orphan` case (the case is the child in the program); the
guardian is the person's child record.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import can_see, require, scoped
from minxin.children import rules
from minxin.children.calculator import max_age
from minxin.children.domain import ChildrenPerm
from minxin.children.models import ChildRecord
from minxin.core.divisions import scope_prefix
from minxin.core.errors import NotFound, ValidationError
from minxin.core.idnumber import full_years, normalize_id
from minxin.core.masking import mask_id, mask_name
from minxin.infra.clock import today
from minxin.infra.db import utcnow
from minxin.kit.paging import Page, paginate
from minxin.kit.tabular import RowError, cell_text
from minxin.programs.case_import import CaseImportResult, import_cases_unrecorded
from minxin.programs.cycles.history import PaymentItem, case_payment_items
from minxin.programs.models import Case, Cycle, Payment
from minxin.registry.import_runs import recorded_import
from minxin.registry.models import Institution, Person

PROGRAM = "orphan"
GUARDIAN_COLUMNS = ("监护人姓名", "监护人关系", "监护人电话", "监护人身份证号")
IMPORT_COLUMNS = ("姓名", "身份证号", "类别", "机构", "开始月份", "账号", *GUARDIAN_COLUMNS)
PHONE = re.compile(r"[0-9+\-]{7,20}")


@dataclass(frozen=True)
class ChildRow:
    """One line of the children list."""

    case_id: int
    name: str
    id_number: str
    birth_date: date
    region_code: str
    placement: str
    status: str
    start_period: str | None
    institution: str | None
    guardian_name: str | None
    guardian_relation: str | None

    @property
    def last_month(self) -> str:
        return str(rules.last_paid_month(self.birth_date, max_age()))

    @property
    def age(self) -> int:
        """Age in full years today: what masked lists show, never the birth date (beside the masked ID
        number it gives the hidden digits back)."""
        return full_years(self.birth_date, today())


@dataclass
class ChildView:
    """A child's page: the person, the case (placement, institution), the guardian and the payments."""

    case: Case
    person: Person
    record: ChildRecord | None
    institution: Institution | None
    payments: list[tuple[PaymentItem, Payment, Cycle]] = field(default_factory=list)

    @property
    def last_month(self) -> str:
        return str(rules.last_paid_month(self.person.birth_date, max_age()))


def _children_stmt(user: User) -> Select[Any]:
    stmt = (select(Case.id, Person.name, Person.id_number, Person.birth_date, Case.region_code, Case.category,
                   Case.status, Case.start_period, Institution.name, ChildRecord.guardian_name,
                   ChildRecord.guardian_relation)
            .select_from(Case).join(Person, Person.id == Case.person_id)
            .outerjoin(Institution, Institution.id == Case.institution_id)
            .outerjoin(ChildRecord, ChildRecord.person_id == Case.person_id)
            .where(Case.program_code == PROGRAM))
    return scoped(cast("Select[Any]", stmt), user, Case.region_code)


def _filtered(stmt: Select[Any], *, placement: str | None, status: str | None) -> Select[Any]:
    if placement:
        if placement not in rules.PLACEMENTS:
            raise ValidationError(f"安置方式必须是 {'/'.join(rules.PLACEMENTS)} 之一 (unknown placement)",
                                  field="placement")
        stmt = stmt.where(Case.category == placement)
    if status:
        stmt = stmt.where(Case.status == status)
    return stmt


def list_children(session: Session, *, user: User, placement: str | None = None, status: str | None = None,
                  page: int = 1, page_size: int = 20) -> Page[ChildRow]:
    """The children of the user's region (their `orphan` cases), newest first, one page."""
    require(user, ChildrenPerm.CHILDREN_READ)
    stmt = _filtered(_children_stmt(user), placement=placement, status=status).order_by(Case.id.desc())
    found = paginate(session, stmt, page=page, page_size=page_size, scalars=False)
    return Page(items=[ChildRow(*row) for row in found.items], total=found.total, page=found.page,
                page_size=found.page_size)


def all_children(session: Session, *, user: User, placement: str | None = None,
                 status: str | None = None) -> list[ChildRow]:
    """Every child of the user's region (for the xlsx export), in case order."""
    require(user, ChildrenPerm.CHILDREN_READ)
    stmt = _filtered(_children_stmt(user), placement=placement, status=status).order_by(Case.id)
    return [ChildRow(*row) for row in session.execute(stmt)]


def get_child_for(session: Session, user: User, case_id: int) -> ChildView:
    """The one way to read a child: missing, another program's case and out of scope look alike."""
    require(user, ChildrenPerm.CHILDREN_READ)
    case = session.get(Case, case_id)
    if case is None or case.program_code != PROGRAM or not can_see(user, case.region_code):
        raise NotFound(f"儿童档案不存在：{case_id} (no such child)")
    person = session.get(Person, case.person_id)
    if person is None:  # the foreign key forbids it
        raise NotFound(f"儿童档案不存在：{case_id} (no such child)")
    record = session.execute(select(ChildRecord).where(ChildRecord.person_id == person.id)).scalar_one_or_none()
    institution = session.get(Institution, case.institution_id) if case.institution_id else None
    return ChildView(case=case, person=person, record=record, institution=institution,
                     payments=case_payment_items(session, case.id))


def children_counts(session: Session, *, scope_code: str | None = None) -> dict[str, Any]:
    """`minxin stats`: active orphan cases in the scope."""
    stmt = select(func.count()).select_from(Case).where(Case.program_code == PROGRAM, Case.status == "active")
    if scope_code:
        stmt = stmt.where(Case.region_code.like(scope_prefix(scope_code) + "%"))
    return {"orphan_active_cases": int(session.execute(stmt).scalar_one())}


# ---- the children's import --------------------------------------------------------------------------

@dataclass(frozen=True)
class Guardian:
    name: str
    relation: str
    phone: str | None
    id_number: str | None


def _guardian(cells: dict[str, Any], n: int, errors: list[RowError]) -> Guardian | None:
    """The guardian columns of one row, checked: a name and a relation, optional phone and ID number."""
    name = cell_text(cells.get("监护人姓名"))
    relation = cell_text(cells.get("监护人关系"))
    phone = cell_text(cells.get("监护人电话")) or None
    raw_id = cell_text(cells.get("监护人身份证号"))
    ok = True
    if not name:
        errors.append(RowError(n, "监护人姓名", "请填写监护人姓名 (guardian name required)"))
        ok = False
    elif len(name) > 64:
        errors.append(RowError(n, "监护人姓名", "监护人姓名过长（至多 64 字） (guardian name too long)"))
        ok = False
    if relation not in rules.GUARDIAN_RELATIONS:
        errors.append(RowError(n, "监护人关系", f"监护人关系必须是 {'/'.join(rules.GUARDIAN_RELATIONS)} 之一 "
                                               "(unknown relation)"))
        ok = False
    if phone and not PHONE.fullmatch(phone):
        errors.append(RowError(n, "监护人电话", "联系电话格式不正确 (bad phone number)"))
        ok = False
    id_number = None
    if raw_id:
        try:
            id_number = normalize_id(raw_id)
        except ValidationError as exc:
            errors.append(RowError(n, "监护人身份证号", exc.message))
            ok = False
    return Guardian(name, relation, phone, id_number) if ok else None


def require_importer(user: User) -> None:
    """Refuse (Forbidden) a user who may not import children, before their file is read."""
    require(user, ChildrenPerm.CHILDREN_IMPORT)


def import_children(session: Session, *, actor: User, data: bytes, filename: str,
                    dry_run: bool = False) -> CaseImportResult:
    """Children from a spreadsheet: each row opens an active `orphan` case and records the guardian.

    1. The case columns are checked by the engine's case import (类别 集中养育/社会散居, 机构 for 集中养育,
       a child 18 or over at 开始月份 refused); the guardian columns here. The row errors of both are
       listed together, each naming its row and column.
    2. Only when every row is clean: the cases are created (the engine's import, audited) and each
       child's guardian record is added or replaced, with one audit entry for the file.
    """
    require(actor, ChildrenPerm.CHILDREN_IMPORT)
    return recorded_import(
        session, actor=actor, kind="children", filename=filename, dry_run=dry_run, stored=lambda r: r.cases,
        run=lambda: _import_children(session, actor=actor, data=data, filename=filename, dry_run=dry_run))


def _import_children(session: Session, *, actor: User, data: bytes, filename: str,
                     dry_run: bool) -> CaseImportResult:
    checked = import_cases_unrecorded(session, actor=actor, program=PROGRAM, data=data, filename=filename, dry_run=True)
    if checked.table is None:
        return checked
    table = checked.table
    errors = list(checked.errors)
    missing = [h for h in ("监护人姓名", "监护人关系") if h not in table.headers]
    if missing:
        errors.append(RowError(1, "文件", f"缺少列：{'、'.join(missing)} (missing columns)"))
        return CaseImportResult(table=table, errors=errors)
    col = {h: table.headers.index(h) for h in (*GUARDIAN_COLUMNS, "身份证号") if h in table.headers}
    guardians: dict[str, Guardian] = {}
    for i, raw in enumerate(table.rows):
        n = table.row_number(i)
        cells = {h: (raw[j] if j < len(raw) else None) for h, j in col.items()}
        guardian = _guardian(cells, n, errors)
        try:
            number = normalize_id(cell_text(cells.get("身份证号")))
        except ValidationError:
            continue  # reported by the case import
        if guardian is not None:
            guardians[number] = guardian
    errors.sort(key=lambda e: (e.row, e.column))
    if errors or dry_run:
        return CaseImportResult(table=table, errors=errors, cases=0 if errors else len(guardians))
    result = import_cases_unrecorded(session, actor=actor, program=PROGRAM, data=data, filename=filename)
    if not result.ok:  # the data changed between the two checks
        return result
    persons = dict(session.execute(select(Person.id_number, Person.id)
                                   .where(Person.id_number.in_(list(guardians)))).all()) if guardians else {}
    regions = dict(session.execute(select(Case.person_id, Case.region_code).where(
        Case.program_code == PROGRAM, Case.status == "active", Case.person_id.in_(list(persons.values())))).all())
    existing = {r.person_id: r for r in session.execute(
        select(ChildRecord).where(ChildRecord.person_id.in_(list(persons.values())))).scalars()}
    now = utcnow()
    for number, g in guardians.items():
        pid = persons[number]
        record = existing.get(pid) or ChildRecord(person_id=pid, created_by=actor.username, created_at=now)
        record.region_code = regions[pid]
        record.guardian_name, record.guardian_relation = g.name, g.relation
        record.guardian_phone, record.guardian_id_number = g.phone, g.id_number
        record.updated_at = now
        session.add(record)
    session.flush()
    audit.record(session, actor=actor.username, action="child.import", entity="program", entity_id=PROGRAM,
                 region_code=actor.scope_code,
                 detail={"file": filename, "sha256": hashlib.sha256(data).hexdigest(), "children": len(guardians)})
    return result


EXPORT_HEADERS = ("案件号", "姓名", "身份证号", "年龄", "社区代码", "社区", "安置方式", "机构", "状态", "开始月份",
                  "发放至", "监护人", "监护人关系")
STATUS_NAMES = {"active": "在保", "suspended": "暂停", "terminated": "终止"}


def export_rows(rows: list[ChildRow], communities: dict[str, str] | None = None) -> list[list[Any]]:
    """The children list as spreadsheet rows, names and ID numbers masked as in the list, the age instead
    of the birth date (which would give the masked digits back); each community by its code and its name
    (`communities`: code → name)."""
    names = communities or {}
    return [[r.case_id, mask_name(r.name), mask_id(r.id_number), r.age, r.region_code,
             names.get(r.region_code, ""), r.placement, r.institution or "", STATUS_NAMES.get(r.status, r.status),
             r.start_period or "", r.last_month,
             mask_name(r.guardian_name) if r.guardian_name else "", r.guardian_relation or ""] for r in rows]
