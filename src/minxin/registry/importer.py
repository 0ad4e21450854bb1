"""Household import: one row per person, rows sharing 户编号 form one household.

The whole file is checked first; if any row fails nothing is stored and every failure is listed.
Storing is a handful of bulk statements, so 100,000 rows take seconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import Perm, require
from minxin.core.divisions import covers
from minxin.core.errors import ValidationError
from minxin.core.idnumber import normalize_id
from minxin.core.money import parse_yuan
from minxin.infra.clock import today
from minxin.infra.db import table_of
from minxin.kit.tabular import RowError, Table, TableCheck, cell_text, read_table
from minxin.registry.import_runs import recorded_import
from minxin.registry.models import Household, IncomeDeclaration, Person, Region
from minxin.registry.service import (
    check_household_no,
    check_name,
    existing_household_numbers,
    find_household_of,
    normalize_disability,
    normalize_hukou,
    normalize_phone,
    normalize_relation,
    taken_household_no_message,
    taken_id_message,
)

HEADERS = ["户编号", "姓名", "身份证号", "与户主关系", "社区代码", "户籍类别", "月收入", "联系电话", "残疾等级"]

Progress = Callable[[str, int, int], None]


@dataclass
class ImportResult:
    table: Table | None
    errors: list[RowError] = field(default_factory=list)
    households: int = 0
    persons: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Row:
    n: int
    household_no: str
    name: str
    id_number: str
    relation: str
    community: str
    hukou: str
    income_fen: int
    phone: str | None
    disability: int | None


def validate_households(session: Session, *, actor: User, table: Table,
                        progress: Progress | None = None) -> tuple[list[_Row], list[RowError]]:
    """Check every row and every household; return the clean rows or all the errors."""
    try:
        checker = TableCheck(table, HEADERS)
    except ValidationError as exc:
        return [], [RowError(1, "表头", exc.message)]
    errors, err = checker.errors, checker.add
    communities = set(session.execute(select(Region.code).where(Region.level == "community")).scalars())
    rows: list[_Row] = []
    seen_ids: dict[str, int] = {}
    col = checker.index
    day = today()
    for row in checker.rows(progress):
        hh_no = row.check("户编号", check_household_no)
        name = row.check("姓名", check_name)
        id_number = row.check("身份证号", lambda v: normalize_id(cell_text(v), today=day))
        relation = row.check("与户主关系", lambda v: normalize_relation(cell_text(v)))
        community = cell_text(row.cells["社区代码"])
        if not community:
            row.fail("社区代码", "社区代码不能为空 (community code is empty)")
        elif community not in communities:
            row.fail("社区代码", f"未知社区代码 {community} (unknown community code)")
        elif not covers(actor.scope_code, community):
            row.fail("社区代码", f"社区 {community} 不在您的辖区内 (outside your scope)")
        hukou = row.check("户籍类别", lambda v: normalize_hukou(cell_text(v)))
        income = row.check("月收入", lambda v: 0 if v is None else parse_yuan(v, field="月收入"))
        phone = row.check("联系电话", normalize_phone)
        disability = row.check("残疾等级", normalize_disability)
        row.unique(seen_ids, id_number, "身份证号")
        if row.ok:
            rows.append(_Row(row.n, hh_no, name, id_number, relation, community, hukou, income, phone, disability))

    # Household-level rules.
    groups: dict[str, list[_Row]] = {}
    for r in rows:
        groups.setdefault(r.household_no, []).append(r)
    failed_rows = {e.row for e in errors}
    all_numbers_by_hh: dict[str, list[int]] = {}
    for i, raw in enumerate(table.rows):
        j = col["户编号"]
        hh = cell_text(raw[j]) if j < len(raw) else ""
        if hh:
            all_numbers_by_hh.setdefault(hh, []).append(table.row_number(i))
    for hh_no, members in groups.items():
        first = all_numbers_by_hh[hh_no][0]
        if any(n in failed_rows for n in all_numbers_by_hh[hh_no]):
            continue  # the household is already refused through its bad rows
        heads = [m for m in members if m.relation == "户主"]
        if not heads:
            err(first, "与户主关系", f"户 {hh_no} 没有户主 (household has no head)")
        elif len(heads) > 1:
            err(heads[1].n, "与户主关系",
                f"户 {hh_no} 有 {len(heads)} 名户主（第 {'、'.join(str(h.n) for h in heads)} 行） (two heads)")
        for m in members[1:]:
            if m.community != members[0].community:
                err(m.n, "社区代码", f"同一户的社区代码必须相同（第 {members[0].n} 行为 {members[0].community}）")
            if m.hukou != members[0].hukou:
                err(m.n, "户籍类别", f"同一户的户籍类别必须相同（第 {members[0].n} 行为 {members[0].hukou}）")

    # Against the database: existing households and persons.
    if progress:
        progress("检查", len(table.rows), len(table.rows))
    # A household or person registered outside the actor's scope is refused without saying where.
    existing_hh = existing_household_numbers(session, list(groups), user=actor)
    for hh_no, in_scope in existing_hh.items():
        err(groups[hh_no][0].n, "户编号", taken_household_no_message(hh_no, in_scope=in_scope))
    taken = find_household_of(session, [r.id_number for r in rows], user=actor)
    for r in rows:
        if r.id_number in taken:
            err(r.n, "身份证号", taken_id_message(taken[r.id_number]))
    errors.sort(key=lambda e: (e.row, HEADERS.index(e.column) if e.column in HEADERS else -1))
    return rows, errors


def store_households(session: Session, *, rows: list[_Row], progress: Progress | None = None) -> tuple[int, int]:
    """Insert validated rows: households, then persons, then one income declaration each."""
    groups: dict[str, list[_Row]] = {}
    for r in rows:
        groups.setdefault(r.household_no, []).append(r)
    day = today()
    from minxin.infra.db import utcnow

    now = utcnow()
    hh_rows = [
        {"household_no": no, "region_code": m[0].community, "hukou_type": m[0].hukou,
         "phone": next((x.phone for x in m if x.relation == "户主"), None),
         "monthly_income_fen": sum(x.income_fen for x in m), "income_declared_on": day,
         "created_at": now, "updated_at": now}
        for no, m in groups.items()
    ]
    step = 20_000
    total = len(hh_rows) + len(rows)
    done = 0
    for k in range(0, len(hh_rows), step):
        # Core inserts: the ORM's bulk path splits batches whenever a row has a None the next lacks.
        session.execute(table_of(Household).insert(), hh_rows[k:k + step])
        done += len(hh_rows[k:k + step])
        if progress:
            progress("写入", done, total)
    ids: dict[str, int] = {}
    numbers = list(groups)
    for k in range(0, len(numbers), 500):
        chunk = numbers[k:k + 500]
        ids.update(dict(session.execute(
            select(Household.household_no, Household.id).where(Household.household_no.in_(chunk))).all()))
    person_rows = []
    for r in rows:
        n = r.id_number  # already checked: sex and birth date read straight from it (GB 11643)
        person_rows.append({
            "id_number": n, "name": r.name, "sex": "M" if int(n[16]) % 2 else "F",
            "birth_date": date(int(n[6:10]), int(n[10:12]), int(n[12:14])),
            "household_id": ids[r.household_no], "relation": r.relation, "is_head": r.relation == "户主",
            "region_code": r.community, "phone": r.phone, "disability_grade": r.disability,
            "monthly_income_fen": r.income_fen, "created_at": now, "updated_at": now,
        })
    for k in range(0, len(person_rows), step):
        session.execute(table_of(Person).insert(), person_rows[k:k + step])
        done += len(person_rows[k:k + step])
        if progress:
            progress("写入", done, total)
    decl = [{"household_id": ids[str(h["household_no"])], "declared_on": day,
             "monthly_income_fen": h["monthly_income_fen"], "source": "import", "created_at": now}
            for h in hh_rows]
    for k in range(0, len(decl), step):
        session.execute(table_of(IncomeDeclaration).insert(), decl[k:k + step])
    return len(hh_rows), len(person_rows)


def import_households(session: Session, *, actor: User, data: bytes, filename: str,
                      progress: Progress | None = None, dry_run: bool = False) -> ImportResult:
    """Check the whole file, then store all of it or nothing, and record the run (`import_runs`); the caller
    commits, after a refused file too (the run is then all there is to commit)."""
    require_importer(actor)
    return recorded_import(
        session, actor=actor, kind="households", filename=filename, dry_run=dry_run,
        stored=lambda r: r.persons,
        run=lambda: _import_households(session, actor=actor, data=data, filename=filename, progress=progress,
                                       dry_run=dry_run))


def _import_households(session: Session, *, actor: User, data: bytes, filename: str,
                       progress: Progress | None, dry_run: bool) -> ImportResult:
    try:
        table = read_table(data, filename)
    except ValidationError as exc:
        return ImportResult(table=None, errors=[RowError(1, "文件", exc.message)])
    rows, errors = validate_households(session, actor=actor, table=table, progress=progress)
    result = ImportResult(table=table, errors=errors)
    if errors:
        return result
    if dry_run:
        result.households, result.persons = len({r.household_no for r in rows}), len(rows)
        return result
    result.households, result.persons = store_households(session, rows=rows, progress=progress)
    audit.record(session, actor=actor.username, action="household.import", entity="import",
                 entity_id=hashlib.sha256(data).hexdigest()[:16], region_code=actor.scope_code,
                 detail={"file": filename, "sha256": hashlib.sha256(data).hexdigest(),
                         "households": result.households, "persons": result.persons})
    return result


def require_importer(user: User) -> None:
    """Raise Forbidden unless the user may import households (the import form, its template, the upload)."""
    require(user, Perm.REGISTRY_IMPORT)


def template_for(user: User, communities: list[tuple[str, str, str, str]] | None = None) -> bytes:
    """The empty import template, for a user who may import, with the communities of the user's scope
    (county, town, community, code) on a sheet of their own."""
    require_importer(user)
    return template_bytes(communities)


def template_bytes(communities: list[tuple[str, str, str, str]] | None = None) -> bytes:
    """The empty import template with its headers described in a note sheet, and the community codes
    the importer may use (``communities``: county, town, community, code) on a third sheet."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "家庭成员"
    ws.append(HEADERS)
    for c in ws[1]:
        c.font = Font(bold=True)
    for i, h in enumerate(HEADERS):
        letter = chr(ord("A") + i)
        ws.column_dimensions[letter].width = 22 if h in ("身份证号", "社区代码") else 12
        for row in range(2, 2001):
            ws[f"{letter}{row}"].number_format = "@"
    notes = wb.create_sheet("填写说明")
    for line in [
        ("列", "说明"),
        ("户编号", "同一户的成员填写相同的户编号"),
        ("姓名", "必填"),
        ("身份证号", "18 位公民身份号码（15 位会自动升级）；请设为文本格式"),
        ("与户主关系", "户主/本人、配偶、子女、父母、孙子女、兄弟姐妹、其他；每户有且只有一名户主"),
        ("社区代码", "12 位社区（村）代码：见本文件“社区代码”工作表，或系统中 困难群众档案 → 社区代码表"),
        ("户籍类别", "城镇 或 农村；同一户相同"),
        ("月收入", "本人月收入，单位元，最多两位小数，不能为负；空白视为 0"),
        ("联系电话", "可空；11 位手机号或固定电话"),
        ("残疾等级", "可空；一级、二级、三级、四级 或 无"),
    ]:
        notes.append(line)
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["B"].width = 80
    if communities is not None:
        codes = wb.create_sheet("社区代码")
        codes.append(("县区", "街道/乡镇", "社区/村", "社区代码"))
        for c in codes[1]:
            c.font = Font(bold=True)
        for community in communities:
            codes.append(community)
            codes.cell(row=codes.max_row, column=4).number_format = "@"
        for letter, width in zip("ABCD", (12, 14, 16, 16), strict=True):
            codes.column_dimensions[letter].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
