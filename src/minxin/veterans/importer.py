"""`minxin veteran import FILE`: key special-care recipients (重点优抚对象) from a spreadsheet.

Columns: 姓名, 身份证号, 社区代码, 优抚类别, 子类, 开始月份, 账号; optional 服役年限 (required for the
categories paid per year of service), 证件编号, 发证日期, 变动类型 (新增, the default, or 迁入). The
household import's rules: the whole file is checked first, every failure listed as `row N, column X:
reason`, nothing stored unless every row is clean.

A person already in the registry is linked by ID number (their household's community must be the row's);
a new one is registered as a household of their own in that community (the registry's rule: every
person belongs to a household with one head). Each row opens an active case of the program `youfu`
with the category `类别` or `类别/子类`, and a recipient record with a `new` (or `moved_in`) event.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import require
from minxin.core.divisions import covers
from minxin.core.errors import ValidationError
from minxin.core.idnumber import normalize_id
from minxin.core.period import Period
from minxin.infra.clock import today
from minxin.infra.db import table_of, utcnow
from minxin.kit.tabular import RowError, Table, TableCheck, cell_text, read_table
from minxin.programs.models import OPEN_STATUSES, Case, CaseEvent, Standard
from minxin.programs.service import _clean_account, get_program, next_review, program_policy
from minxin.registry.import_runs import recorded_import
from minxin.registry.models import Household, Person, Region
from minxin.registry.service import check_name
from minxin.veterans import rules
from minxin.veterans.domain import VeteranPerm
from minxin.veterans.models import VeteranEvent, VeteranRecipient

PROGRAM = "youfu"
HEADERS = ["姓名", "身份证号", "社区代码", "优抚类别", "子类", "开始月份", "账号"]
OPTIONAL = ["服役年限", "证件编号", "发证日期", "变动类型"]
KINDS = {"": "new", "新增": "new", "迁入": "moved_in"}


@dataclass
class VeteranImportResult:
    table: Table | None
    errors: list[RowError] = field(default_factory=list)
    recipients: int = 0
    new_persons: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Row:
    n: int
    name: str
    id_number: str
    community: str
    category: rules.Category
    start: Period
    account: str
    years: int | None
    certificate_no: str | None
    issued: date | None
    kind: str


def _period(value: Any) -> Period:
    if isinstance(value, (date, datetime)):
        return Period(value.year, value.month)
    return Period.parse(cell_text(value))


def _years(value: Any) -> int | None:
    text = cell_text(value)
    if not text:
        return None
    if text.endswith(".0"):
        text = text[:-2]
    if not text.isdigit():
        raise ValidationError(f"服役年限应为整数年：{text[:20]} (years must be a whole number)", field="服役年限")
    return int(text)


def _issued(value: Any) -> date | None:
    if value is None or cell_text(value) == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        day = date.fromisoformat(cell_text(value).replace("/", "-"))
    except ValueError:
        raise ValidationError("发证日期应为 YYYY-MM-DD (bad date)", field="发证日期") from None
    if day > today():
        raise ValidationError("发证日期不能晚于今天 (issued in the future)", field="发证日期")
    return day


def _age(id_number: str, on: date) -> int:
    born = (int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    return on.year - born[0] - ((on.month, on.day) < born[1:])


class _Standards:
    """The youfu standards, looked up as the engine does: the most specific region along the chain, then
    the latest date in force (loaded once per import)."""

    def __init__(self, session: Session) -> None:
        self.parents = dict(session.execute(select(Region.code, Region.parent_code)).all())
        self.rows: dict[tuple[str, str], list[date]] = {}
        for region, category, effective in session.execute(
                select(Standard.region_code, Standard.category, Standard.effective_from)
                .where(Standard.program_code == PROGRAM)):
            self.rows.setdefault((region, category), []).append(effective)

    def in_force(self, region_code: str, category: str, period: Period) -> bool:
        code: str | None = region_code
        day = period.last_day()
        while code:
            if any(d <= day for d in self.rows.get((code, category), [])):
                return True
            code = self.parents.get(code)
        return False


def import_veterans(session: Session, *, actor: User, data: bytes, filename: str, dry_run: bool = False
                    ) -> VeteranImportResult:
    """Check the whole file, then store every recipient or none, and record the run (`import_runs`); the
    caller commits, after a refused file too."""
    require(actor, VeteranPerm.MANAGE)
    get_program(session, PROGRAM)
    return recorded_import(
        session, actor=actor, kind="veterans", filename=filename, dry_run=dry_run, stored=lambda r: r.recipients,
        run=lambda: _import_veterans(session, actor=actor, data=data, filename=filename, dry_run=dry_run))


def _import_veterans(session: Session, *, actor: User, data: bytes, filename: str,
                     dry_run: bool) -> VeteranImportResult:
    try:
        table = read_table(data, filename)
        checker = TableCheck(table, HEADERS)
    except ValidationError as exc:
        return VeteranImportResult(table=None, errors=[RowError(1, "文件", exc.message)])
    result = VeteranImportResult(table=table, errors=checker.errors)
    err = checker.add
    communities = {r.code: r for r in session.execute(select(Region).where(Region.level == "community")).scalars()}
    standards = _Standards(session)
    day = today()
    rows: list[_Row] = []
    seen: dict[str, int] = {}
    for row in checker.rows():
        cells = row.cells
        name = row.check("姓名", check_name)
        number = row.check("身份证号", lambda v: normalize_id(cell_text(v), today=day))
        community = cell_text(cells["社区代码"])
        if not community:
            row.fail("社区代码", "社区代码不能为空 (community code is empty)")
        elif community not in communities:
            row.fail("社区代码", f"未知社区代码 {community[:20]} (unknown community code)")
        elif not covers(actor.scope_code, community):
            row.fail("社区代码", f"社区 {community} 不在您的辖区内 (outside your scope)")
        category = row.check("优抚类别", rules.parse_category, cell_text(cells["优抚类别"]), cell_text(cells["子类"]))
        start = row.check("开始月份", _period)
        account = row.check("账号", _clean_account, cell_text(cells["账号"]))
        if row.ok and account is None:
            row.fail("账号", "账号不能为空 (bank account is empty)")
        years_raw = row.check("服役年限", _years, cells.get("服役年限"))
        years = None
        if category is not None and row.ok:
            years = row.check("服役年限", rules.check_service_years, category, years_raw)
        certificate = cell_text(cells.get("证件编号"))[:40] or None
        issued = row.check("发证日期", _issued, cells.get("发证日期"))
        kind_text = cell_text(cells.get("变动类型"))
        if kind_text not in KINDS:
            row.fail("变动类型", "变动类型应为 新增 或 迁入 (unknown kind)")
        row.unique(seen, number, "身份证号")
        if row.ok and category is not None and start is not None:
            if not standards.in_force(community, category.code, start):
                row.fail("优抚类别", f"{category.code} 在 {start} 没有生效的抚恤补助标准 (no standard in force)")
            elif category.per_year and _age(number, start.last_day()) < 60:
                row.fail("身份证号", f"{category.category}须年满 60 周岁（{start}） (under 60)")
        if row.ok:
            rows.append(_Row(row.n, name, number, community, category, start, account, years, certificate, issued,
                             KINDS[kind_text]))

    # Against the registry and the open youfu cases.
    numbers = [r.id_number for r in rows]
    persons: dict[str, tuple[int, str, str | None]] = {}
    for k in range(0, len(numbers), 500):
        for pid, number, name, region in session.execute(
            select(Person.id, Person.id_number, Person.name, Household.region_code)
            .outerjoin(Household, Household.id == Person.household_id)
            .where(Person.id_number.in_(numbers[k:k + 500]))
        ):
            persons[number] = (pid, name, region)
    open_cases: dict[int, str] = {}
    pids = [p[0] for p in persons.values()]
    for k in range(0, len(pids), 500):
        open_cases.update(dict(session.execute(select(Case.person_id, Case.category).where(
            Case.program_code == PROGRAM, Case.status.in_(OPEN_STATUSES), Case.person_id.in_(pids[k:k + 500])
        )).all()))
    clean: list[_Row] = []
    for r in rows:
        found = persons.get(r.id_number)
        if found is not None:
            pid, registered_name, home = found
            if home is not None and home != r.community:
                err(r.n, "社区代码",
                    f"此人户籍登记在社区 {home}，与社区代码 {r.community} 不符 (registered elsewhere)")
                continue
            if registered_name != r.name:
                err(r.n, "姓名", "姓名与户籍登记不符 (name differs from the registry)")
                continue
            if pid in open_cases:
                held = open_cases[pid]
                same = held == r.category.code or held.split("/")[0] == r.category.category
                err(r.n, "优抚类别", f"此人已是{held}优抚对象 (already a recipient of the same category)" if same
                    else f"此人已是{held}优抚对象，每人只有一个优抚案件 (already a recipient of another category)")
                continue
        clean.append(r)
    result.errors.sort(key=lambda e: (e.row, (HEADERS + OPTIONAL).index(e.column)
                                      if e.column in HEADERS + OPTIONAL else -1))
    if result.errors:
        return result
    if dry_run:
        result.recipients = len(clean)
        return result
    result.recipients, result.new_persons = _store(session, actor=actor, rows=clean, persons=persons,
                                                   communities=communities, filename=filename)
    audit.record(session, actor=actor.username, action="veteran.import", entity="program", entity_id=PROGRAM,
                 region_code=actor.scope_code,
                 detail={"file": filename, "sha256": hashlib.sha256(data).hexdigest(),
                         "recipients": result.recipients, "new_persons": result.new_persons})
    return result


def _store(session: Session, *, actor: User, rows: list[_Row], persons: dict[str, tuple[int, str, str | None]],
           communities: dict[str, Region], filename: str) -> tuple[int, int]:
    """Households and persons for the new people, then cases, recipients and their events (bulk statements)."""
    now, on = utcnow(), today()
    policy = program_policy(PROGRAM)
    new = [r for r in rows if r.id_number not in persons]
    step = 5000
    for k in range(0, len(new), step):
        chunk = new[k:k + step]
        session.execute(table_of(Household).insert(), [
            {"household_no": f"YF{r.id_number}", "region_code": r.community,
             "hukou_type": "农村" if r.category.per_year or not communities[r.community].urban else "城镇",
             "monthly_income_fen": 0, "income_declared_on": on, "created_at": now, "updated_at": now}
            for r in chunk])
        hh = dict(session.execute(select(Household.household_no, Household.id).where(
            Household.household_no.in_([f"YF{r.id_number}" for r in chunk]))).all())
        session.execute(table_of(Person).insert(), [
            {"id_number": r.id_number, "name": r.name, "sex": "M" if int(r.id_number[16]) % 2 else "F",
             "birth_date": date(int(r.id_number[6:10]), int(r.id_number[10:12]), int(r.id_number[12:14])),
             "household_id": hh[f"YF{r.id_number}"], "relation": "户主", "is_head": True,
             "region_code": r.community, "monthly_income_fen": 0, "created_at": now, "updated_at": now}
            for r in chunk])
    ids: dict[str, tuple[int, int | None]] = {}
    numbers = [r.id_number for r in rows]
    for k in range(0, len(numbers), 500):
        for pid, number, hh_id in session.execute(select(Person.id, Person.id_number, Person.household_id)
                                                  .where(Person.id_number.in_(numbers[k:k + 500]))):
            ids[number] = (pid, hh_id)
    review = next_review(policy, "A", on)
    for k in range(0, len(rows), step):
        chunk = rows[k:k + step]
        session.execute(table_of(Case).insert(), [
            {"program_code": PROGRAM, "household_id": ids[r.id_number][1], "person_id": ids[r.id_number][0],
             "region_code": r.community, "category": r.category.code, "status": "active",
             "start_period": str(r.start), "bank_account": r.account, "sanwu": False, "staff_relative": False,
             "spot_check_required": False, "spot_checked": False, "review_class": "A", "next_review_due": review,
             "created_at": now, "updated_at": now} for r in chunk])
        cases = dict(session.execute(select(Case.person_id, Case.id).where(
            Case.program_code == PROGRAM, Case.status == "active",
            Case.person_id.in_([ids[r.id_number][0] for r in chunk]))).all())
        detail = json.dumps({"file": filename})
        session.execute(insert(CaseEvent), [
            {"case_id": cases[ids[r.id_number][0]], "action": "import", "from_status": None, "to_status": "active",
             "actor": actor.username, "at": now, "reason": "优抚对象导入 (imported)", "detail": detail}
            for r in chunk])
        session.execute(table_of(VeteranRecipient).insert(), [
            {"person_id": ids[r.id_number][0], "case_id": cases[ids[r.id_number][0]], "region_code": r.community,
             "category": r.category.category, "subkind": r.category.subkind, "service_years": r.years,
             "certificate_no": r.certificate_no, "certificate_issued": r.issued, "medical_subsidy": False,
             "status": "active", "created_at": now} for r in chunk])
        recipients = dict(session.execute(select(VeteranRecipient.case_id, VeteranRecipient.id).where(
            VeteranRecipient.case_id.in_(list(cases.values())))).all())
        session.execute(table_of(VeteranEvent).insert(), [
            {"recipient_id": recipients[cases[ids[r.id_number][0]]], "kind": r.kind, "on": r.start.first_day(),
             "note": f"导入 {filename}", "actor": actor.username, "at": now} for r in chunk])
    # One audit event per recipient's status change (new / moved in), in this transaction.
    for r in rows:
        audit.record(session, actor=actor.username, action=f"veteran.{r.kind}", entity="person",
                     entity_id=ids[r.id_number][0], region_code=r.community,
                     detail={"category": r.category.code, "start": str(r.start)})
    return len(rows), len(new)


TEMPLATE_HEADERS = [*HEADERS, *OPTIONAL]
