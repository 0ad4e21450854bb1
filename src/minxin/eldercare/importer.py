"""Elderly-people import: one row per elderly person already in the registry (by 身份证号).

Same rules as the household import (registry/importer.py): the whole file is checked first; if any
row fails, nothing is stored and every failure is listed as `row N, column X: reason`.

A row states the person's care record: living arrangement, chronic conditions, care level with its
assessment date, phones, address, a 一键呼叫 terminal and up to two emergency contacts. A person
imported again is updated; their contacts (and terminal) are replaced only when the row gives some.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import Perm, require
from minxin.core.divisions import covers
from minxin.core.errors import ValidationError
from minxin.core.idnumber import normalize_id
from minxin.eldercare.models import CallDevice, ElderlyProfile, EmergencyContact
from minxin.eldercare.rules import (
    ELDERLY_AGE,
    age_on,
    check_terminal_id,
    normalize_care_level,
    normalize_living,
)
from minxin.infra.clock import today
from minxin.infra.db import utcnow
from minxin.kit.tabular import RowCheck, RowError, Table, TableCheck, cell_text, read_table
from minxin.registry.import_runs import recorded_import
from minxin.registry.models import Person
from minxin.registry.service import check_name, normalize_phone

HEADERS = ["身份证号", "居住状况", "慢性病", "能力等级", "评估日期", "手机", "固定电话", "住址", "呼叫终端号",
           "紧急联系人1", "关系1", "联系电话1", "紧急联系人2", "关系2", "联系电话2"]
CHUNK = 500

Progress = Callable[[str, int, int], None]


@dataclass
class ElderlyImportResult:
    table: Table | None
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Contact:
    name: str
    relation: str
    phone: str


@dataclass
class _Row:
    n: int
    id_number: str
    living: str
    conditions: str | None
    care_level: str | None
    assessed_on: date | None
    phone: str | None
    home_phone: str | None
    address: str | None
    terminal: str | None
    contacts: list[_Contact]
    person_id: int = 0
    region_code: str = ""


def parse_day(value: Any, *, label: str) -> date | None:
    """A date cell: an Excel date, or text 2012-05-01 / 2012/5/1."""
    text = cell_text(value)
    if not text:
        return None
    head = text[:10] if "T" in text else text
    parts = head.replace("/", "-").replace(".", "-").split("-")
    try:
        if len(parts) != 3:
            raise ValueError
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise ValidationError(f"{label}应为日期，如 2012-05-01 (bad date)", field=label) from None


def _optional_text(value: Any, *, label: str, max_len: int) -> str | None:
    text = " ".join(cell_text(value).split())
    if len(text) > max_len:
        raise ValidationError(f"{label}过长，最多 {max_len} 字 (too long)", field=label)
    return text or None


def _contact(cells: dict[str, Any], k: int) -> _Contact | None:
    name_col, rel_col, phone_col = f"紧急联系人{k}", f"关系{k}", f"联系电话{k}"
    name, relation, phone = (cell_text(cells.get(c)) for c in (name_col, rel_col, phone_col))
    if not (name or relation or phone):
        return None
    if not name:
        raise ValidationError(f"填写了{rel_col}或{phone_col}，但{name_col}为空 (contact name missing)",
                              field=name_col)
    try:
        clean_name = check_name(name)
    except ValidationError as exc:
        raise ValidationError(exc.message, field=name_col) from None
    if not relation:
        raise ValidationError(f"请填写{rel_col}（如 子女、配偶、邻居） (relation missing)", field=rel_col)
    if len(relation) > 16:
        raise ValidationError(f"{rel_col}过长 (relation too long)", field=rel_col)
    try:
        clean_phone = normalize_phone(phone)
    except ValidationError as exc:
        raise ValidationError(exc.message, field=phone_col) from None
    if clean_phone is None:
        raise ValidationError(f"请填写{phone_col} (contact phone missing)", field=phone_col)
    return _Contact(clean_name, relation, clean_phone)


def validate_elderly(session: Session, *, actor: User, table: Table, as_of: date,
                     progress: Progress | None = None) -> tuple[list[_Row], list[RowError]]:
    """Check every row against the rules and the registry; return the clean rows or all the errors."""
    try:
        checker = TableCheck(table, HEADERS)
    except ValidationError as exc:
        return [], [RowError(1, "表头", exc.message)]
    errors, err = checker.errors, checker.add
    rows: list[_Row] = []
    seen_ids: dict[str, int] = {}
    seen_terminals: dict[str, int] = {}
    total = len(table.rows)
    day = today()
    for row in checker.rows(progress):
        cells = row.cells

        def required(column: str, row: RowCheck = row) -> str | None:
            text = cell_text(row.cells[column])
            if not text:
                row.fail(column, f"{column}不能为空 ({column} is empty)")
                return None
            return text

        raw_id = required("身份证号")
        id_number = row.check("身份证号", lambda v: normalize_id(cell_text(v), today=day)) if raw_id else None
        living = row.check("居住状况", lambda v: normalize_living(cell_text(v))) if required("居住状况") else None
        conditions = row.check("慢性病", lambda v: _optional_text(v, label="慢性病", max_len=200))
        level_text = cell_text(cells["能力等级"])
        level = row.check("能力等级", lambda v: normalize_care_level(cell_text(v))) if level_text else None
        assessed = row.check("评估日期", lambda v: parse_day(v, label="评估日期"))
        if assessed is not None and assessed > day:
            row.fail("评估日期", "评估日期不能晚于今天 (assessment date in the future)")
        if level_text and assessed is None and cell_text(cells["评估日期"]) == "":
            row.fail("评估日期", "填写了能力等级，请同时填写评估日期 (assessment date missing)")
        if not level_text and cell_text(cells["评估日期"]):
            row.fail("能力等级", "填写了评估日期，请同时填写能力等级 (care level missing)")
        phone = row.check("手机", lambda v: _phone(v, "手机"))
        home_phone = row.check("固定电话", lambda v: _phone(v, "固定电话"))
        address = row.check("住址", lambda v: _optional_text(v, label="住址", max_len=200))
        terminal_text = cell_text(cells["呼叫终端号"])
        terminal = row.check("呼叫终端号", lambda v: check_terminal_id(cell_text(v))) if terminal_text else None
        contacts: list[_Contact] = []
        for k in (1, 2):
            c = row.check(f"紧急联系人{k}", partial(_contact_of, cells, k))
            if c is not None:
                contacts.append(c)
        row.unique(seen_ids, id_number, "身份证号")
        row.unique(seen_terminals, terminal, "呼叫终端号")
        if row.ok and id_number and living:
            rows.append(_Row(row.n, id_number, living, conditions, level, assessed, phone, home_phone, address,
                             terminal, contacts))
    if progress:
        progress("检查", total, total)

    # Against the registry: the person exists, is in the actor's scope and is 60 or over.
    persons: dict[str, tuple[int, str | None, date]] = {}
    numbers = [r.id_number for r in rows]
    for k in range(0, len(numbers), CHUNK):
        for pid, number, region, birth in session.execute(
                select(Person.id, Person.id_number, Person.region_code, Person.birth_date)
                .where(Person.id_number.in_(numbers[k:k + CHUNK]))):
            persons[number] = (pid, region, birth)
    clean: list[_Row] = []
    for r in rows:
        found = persons.get(r.id_number)
        if found is None or found[1] is None or not covers(actor.scope_code, found[1]):
            err(r.n, "身份证号", "此人未在本辖区登记，请先导入其家庭 (person not registered in your scope)")
            continue
        pid, region, birth = found
        if age_on(birth, as_of) < ELDERLY_AGE:
            err(r.n, "身份证号", f"截至 {as_of.isoformat()} 未满 {ELDERLY_AGE} 周岁 (not elderly)")
            continue
        if r.assessed_on is not None and r.assessed_on < birth:
            err(r.n, "评估日期", "评估日期早于出生日期 (assessment before birth)")
            continue
        r.person_id, r.region_code = pid, region or ""
        clean.append(r)

    # Terminals already installed at another person's home.
    terminals = [r.terminal for r in clean if r.terminal]
    owner: dict[str, int] = {}
    for k in range(0, len(terminals), CHUNK):
        owner.update({str(t): int(p) for t, p in session.execute(
            select(CallDevice.terminal_id, CallDevice.person_id)
            .where(CallDevice.terminal_id.in_(terminals[k:k + CHUNK]))).all()})
    for r in clean:
        if r.terminal and owner.get(r.terminal, r.person_id) != r.person_id:
            err(r.n, "呼叫终端号", f"呼叫终端 {r.terminal} 已登记给他人 (terminal belongs to someone else)")
    errors.sort(key=lambda e: (e.row, HEADERS.index(e.column) if e.column in HEADERS else -1))
    return clean, errors


def _contact_of(cells: dict[str, Any], k: int, _value: Any) -> _Contact | None:
    return _contact(cells, k)


def _phone(value: Any, label: str) -> str | None:
    try:
        return normalize_phone(value)
    except ValidationError as exc:
        raise ValidationError(exc.message.replace("联系电话", label), field=label) from None


def store_elderly(session: Session, *, rows: list[_Row]) -> tuple[int, int]:
    """Insert new profiles, update existing ones; replace contacts and terminals the rows give."""
    now = utcnow()
    pids = [r.person_id for r in rows]
    existing: set[int] = set()
    for k in range(0, len(pids), CHUNK):
        existing.update(session.execute(
            select(ElderlyProfile.person_id).where(ElderlyProfile.person_id.in_(pids[k:k + CHUNK]))).scalars())

    def values(r: _Row) -> dict[str, Any]:
        return {"region_code": r.region_code, "living_arrangement": r.living, "chronic_conditions": r.conditions,
                "care_level": r.care_level, "assessed_on": r.assessed_on, "phone": r.phone,
                "home_phone": r.home_phone, "address": r.address, "updated_at": now}

    new = [{"person_id": r.person_id, "created_at": now, **values(r)} for r in rows if r.person_id not in existing]
    for k in range(0, len(new), 5000):
        session.execute(insert(ElderlyProfile), new[k:k + 5000])
    for r in rows:
        if r.person_id in existing:
            session.execute(update(ElderlyProfile).where(ElderlyProfile.person_id == r.person_id)
                            .values(**values(r)))
    with_contacts = [r for r in rows if r.contacts]
    for k in range(0, len(with_contacts), CHUNK):
        chunk = [r.person_id for r in with_contacts[k:k + CHUNK] if r.person_id in existing]
        if chunk:
            session.execute(delete(EmergencyContact).where(EmergencyContact.person_id.in_(chunk)))
    contacts = [{"person_id": r.person_id, "name": c.name, "relation": c.relation, "phone": c.phone,
                 "priority": i + 1} for r in with_contacts for i, c in enumerate(r.contacts)]
    for k in range(0, len(contacts), 5000):
        session.execute(insert(EmergencyContact), contacts[k:k + 5000])
    with_terminal = [r for r in rows if r.terminal]
    for k in range(0, len(with_terminal), CHUNK):
        chunk = [r.person_id for r in with_terminal[k:k + CHUNK] if r.person_id in existing]
        if chunk:
            session.execute(delete(CallDevice).where(CallDevice.person_id.in_(chunk)))
    devices = [{"terminal_id": r.terminal, "person_id": r.person_id, "installed_on": today(), "created_at": now}
               for r in with_terminal]
    for k in range(0, len(devices), 5000):
        session.execute(insert(CallDevice), devices[k:k + 5000])
    return len(new), len(rows) - len(new)


def import_elderly(session: Session, *, actor: User, data: bytes, filename: str, as_of: date | None = None,
                   progress: Progress | None = None, dry_run: bool = False) -> ElderlyImportResult:
    """Check the whole file, then store all of it or nothing, and record the run (`import_runs`); the caller
    commits, after a refused file too."""
    require(actor, Perm.REGISTRY_IMPORT)
    return recorded_import(
        session, actor=actor, kind="elderly", filename=filename, dry_run=dry_run,
        stored=lambda r: r.created + r.updated,
        run=lambda: _import_elderly(session, actor=actor, data=data, filename=filename, as_of=as_of,
                                    progress=progress, dry_run=dry_run))


def _import_elderly(session: Session, *, actor: User, data: bytes, filename: str, as_of: date | None,
                    progress: Progress | None, dry_run: bool) -> ElderlyImportResult:
    try:
        table = read_table(data, filename)
    except ValidationError as exc:
        return ElderlyImportResult(table=None, errors=[RowError(1, "文件", exc.message)])
    rows, errors = validate_elderly(session, actor=actor, table=table, as_of=as_of or today(), progress=progress)
    result = ElderlyImportResult(table=table, errors=errors)
    if errors or dry_run:
        return result
    result.created, result.updated = store_elderly(session, rows=rows)
    digest = hashlib.sha256(data).hexdigest()
    audit.record(session, actor=actor.username, action="elderly.import", entity="import", entity_id=digest[:16],
                 region_code=actor.scope_code,
                 detail={"file": filename, "sha256": digest, "created": result.created, "updated": result.updated})
    return result
