"""Moving in from spreadsheets: create active cases for a program's existing recipients.

Columns: 身份证号 (the household head for household programs), 开始月份 (YYYY-MM), 账号, and 类别
where the program has categories (empty means the household's 户籍类别 where the categories are the
户籍 types). Where the categories are 集中/分散 (centralized support), 集中 needs 机构, the name of a
registered care institution in the person's county (its account is paid; an unknown institution is an
error, never created on the fly); the policy's `institution_categories` name such categories (centralized support,
e.g. 集中 or 集中养育). A program with an age limit (`max_age`) refuses a person past it at 开始月份. Same rules as
the household import: the whole file is checked, all failures listed, nothing stored unless every row
is clean.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import Perm, require
from minxin.core.divisions import covers
from minxin.core.errors import ValidationError
from minxin.core.idnumber import normalize_id
from minxin.core.period import Period
from minxin.infra.clock import today
from minxin.infra.db import utcnow
from minxin.kit.tabular import RowError, Table, cell_text, read_table, require_headers
from minxin.programs.eligibility import Beneficiary, age_limit_error, check_case_terms, needs_institution
from minxin.programs.models import OPEN_STATUSES, Case, CaseEvent
from minxin.programs.service import _clean_account, get_program, next_review, program_policy
from minxin.registry.import_runs import recorded_import
from minxin.registry.models import Household, Institution, Person
from minxin.registry.service import outside_scope_message

REQUIRED = ["身份证号", "开始月份", "账号"]
# check_case_terms names fields; the sheet names columns.
COLUMNS = {"eligibility": "身份证号", "category": "类别", "institution": "机构"}
CASES = cast(sa.Table, Case.__table__)


@dataclass
class CaseImportResult:
    table: Table | None
    errors: list[RowError] = field(default_factory=list)
    cases: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _period(value: Any) -> Period:
    if hasattr(value, "year") and hasattr(value, "month"):
        return Period(value.year, value.month)
    return Period.parse(cell_text(value))


def import_cases(session: Session, *, actor: User, program: str, data: bytes, filename: str,
                 dry_run: bool = False) -> CaseImportResult:
    """Check every row, then create all cases as active (status 在保) or none, and record the run
    (`import_runs`, kind `cases:<program>`); the caller commits, after a refused file too."""
    require(actor, Perm.CASES_APPROVE)
    prog = get_program(session, program)
    return recorded_import(
        session, actor=actor, kind=f"cases:{program}", label=f"{prog.name}案件", filename=filename,
        dry_run=dry_run, stored=lambda r: r.cases,
        run=lambda: import_cases_unrecorded(session, actor=actor, program=program, data=data, filename=filename))


def import_cases_unrecorded(session: Session, *, actor: User, program: str, data: bytes, filename: str,
                            dry_run: bool = False) -> CaseImportResult:
    """`import_cases` without recording a run: for an importer that records its own (the children's)."""
    require(actor, Perm.CASES_APPROVE)
    prog = get_program(session, program)
    policy = program_policy(program)
    try:
        table = read_table(data, filename)
        col = require_headers(table, REQUIRED)
    except ValidationError as exc:
        return CaseImportResult(table=None, errors=[RowError(1, "文件", exc.message)])
    result = CaseImportResult(table=table)
    err = result.errors.append
    cat_col = table.headers.index("类别") if "类别" in table.headers else None
    inst_col = table.headers.index("机构") if "机构" in table.headers else None
    institutions = {name: (iid, region, acct) for iid, name, region, acct in session.execute(
        select(Institution.id, Institution.name, Institution.region_code, Institution.bank_account))}
    on = today()
    parsed: list[tuple[int, str, Period, str | None, str, int | None]] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(table.rows):
        n = table.row_number(i)
        cells = {h: (raw[j] if j < len(raw) else None) for h, j in col.items()}
        ok = True
        try:
            number = normalize_id(cell_text(cells["身份证号"]))
        except ValidationError as exc:
            err(RowError(n, "身份证号", exc.message))
            ok, number = False, ""
        try:
            start = _period(cells["开始月份"])
        except ValidationError as exc:
            err(RowError(n, "开始月份", exc.message))
            ok, start = False, Period(2000, 1)
        category = cell_text(raw[cat_col]) if cat_col is not None and cat_col < len(raw) else ""
        institution_id: int | None = None
        inst_name = cell_text(raw[inst_col]) if inst_col is not None and inst_col < len(raw) else ""
        if inst_name and needs_institution(policy, category) and inst_name not in institutions:
            err(RowError(n, "机构", f"未登记的供养机构：{inst_name[:100]}；请先登记机构 (unknown institution)"))
            ok = False
        else:
            if inst_name in institutions:
                institution_id = institutions[inst_name][0]
            try:  # what can be checked before the registry is read (the same check runs again below)
                check_case_terms(policy, category=category, beneficiary=None, on=on,
                                 institution_region=institutions[inst_name][1] if inst_name in institutions
                                 else ("" if inst_name else None))
            except ValidationError as exc:
                err(RowError(n, COLUMNS.get(exc.field or "", "类别"), exc.message))
                ok = False
        account: str | None = None
        try:
            account = _clean_account(cell_text(cells["账号"]))
            if account is None and institution_id is not None:
                account = institutions[inst_name][2]
            if account is None:
                raise ValidationError("账号不能为空 (bank account is empty)")
        except ValidationError as exc:
            err(RowError(n, "账号", exc.message))
            ok = False
        if number:
            if number in seen:
                err(RowError(n, "身份证号", f"与第 {seen[number]} 行重复 (duplicate in file)"))
                ok = False
            seen[number] = n
        if ok:
            parsed.append((n, number, start, account, category, institution_id))
    # Against the registry and the program's open cases.
    numbers = [p[1] for p in parsed]
    persons: dict[str, tuple[int, int | None, bool, str | None, str | None, date, int | None]] = {}
    for k in range(0, len(numbers), 500):
        for row in session.execute(
            select(Person.id, Person.id_number, Person.household_id, Person.is_head, Household.region_code,
                   Household.hukou_type, Person.birth_date, Person.disability_grade)
            .outerjoin(Household, Household.id == Person.household_id)
            .where(Person.id_number.in_(numbers[k:k + 500]))
        ):
            persons[row[1]] = (row[0], row[2], row[3], row[4], row[5], row[6], row[7])
    open_ids: set[int] = set()
    pids = [v[0] for v in persons.values()]
    for k in range(0, len(pids), 500):
        open_ids.update(session.execute(select(Case.person_id).where(
            Case.program_code == program, Case.status.in_(OPEN_STATUSES), Case.person_id.in_(pids[k:k + 500])
        )).scalars())
    rows: list[dict[str, Any]] = []
    now = utcnow()
    institutions_by_id = {iid: region for iid, region, _ in institutions.values()}
    for n, number, start, account, category, institution_id in parsed:
        found = persons.get(number)
        if found is None or found[3] is None:
            err(RowError(n, "身份证号", "户籍登记中没有此人，请先导入家庭 (person not in the registry)"))
            continue
        pid, hh, head, region, hukou, birth, disability = found
        if region is None:
            continue
        if not covers(actor.scope_code, region):  # first: nothing more about such a person is said
            err(RowError(n, "身份证号", f"此人{outside_scope_message()}"))
            continue
        if prog.unit == "household" and not head:
            err(RowError(n, "身份证号",
                         f"此人不是户主；{prog.name}以户为单位，请填写户主的身份证号 (not a household head)"))
            continue
        if pid in open_ids:
            err(RowError(n, "身份证号", f"此人已有未结束的{prog.name}案件 (an open case exists)"))
            continue
        try:
            category = check_case_terms(
                policy, category=category, on=on,
                institution_region=institutions_by_id[institution_id] if institution_id is not None else None,
                beneficiary=Beneficiary(birth_date=birth, disability_grade=disability, hukou=hukou, region_code=region))
        except ValidationError as exc:
            err(RowError(n, COLUMNS.get(exc.field or "", "身份证号"), exc.message))
            continue
        too_old = age_limit_error(policy, birth=birth, start=start)
        if too_old:  # a program with an age limit (`max_age`): the person must not have passed it at the start
            err(RowError(n, "身份证号", too_old))
            continue
        rows.append({"program_code": program, "household_id": hh,
                     "person_id": pid, "region_code": region, "category": category, "status": "active",
                     "start_period": str(start), "bank_account": account, "sanwu": False, "staff_relative": False,
                     "spot_check_required": False, "spot_checked": False, "review_class": "B",
                     "next_review_due": next_review(policy, "B", on), "institution_id": institution_id,
                     "created_at": now, "updated_at": now})
    result.errors.sort(key=lambda e: (e.row, e.column))
    if result.errors or dry_run:
        return result
    for k in range(0, len(rows), 20000):
        session.execute(CASES.insert(), rows[k:k + 20000])  # Core: the ORM splits batches on None values
    ids = [r["person_id"] for r in rows]
    detail = json.dumps({"file": filename})
    for k in range(0, len(ids), 500):
        created = session.execute(select(Case.id).where(
            Case.program_code == program, Case.status == "active", Case.person_id.in_(ids[k:k + 500]))).scalars()
        session.execute(insert(CaseEvent), [
            {"case_id": cid, "action": "import", "from_status": None, "to_status": "active",
             "actor": actor.username, "at": now, "reason": "从原有台账导入 (moved in from a spreadsheet)",
             "detail": detail} for cid in created])
    result.cases = len(rows)
    audit.record(session, actor=actor.username, action="case.import", entity="program", entity_id=program,
                 region_code=actor.scope_code,
                 detail={"file": filename, "sha256": hashlib.sha256(data).hexdigest(), "cases": len(rows)})
    return result
