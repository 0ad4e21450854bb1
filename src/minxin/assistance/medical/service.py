"""Medical assistance 医疗救助 (plan P4, P5): the stored records read back, and the results out.

The settlement records come in through `assistance.medical.importer`, which assesses each and stores
it with the facts that explain it. This module answers who may read which record (scoped lists, one
person's year), explains a record, and writes the results back to the insurance side as a spreadsheet
for one-stop settlement (一站式结算).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from minxin.assistance.medical.models import MedicalRecord
from minxin.assistance.medical.rules import KINDS, explain, percent
from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import Perm, can_see, require, scoped
from minxin.core.errors import NotFound, ValidationError
from minxin.core.idnumber import normalize_id
from minxin.core.money import format_yuan
from minxin.kit.paging import Page, paginate
from minxin.kit.tabular import write_csv, write_xlsx
from minxin.registry.models import Household, Person

PROGRAM = "medical"
EXPORT_HEADERS = ["记录号", "身份证号", "姓名", "就诊日期", "类别", "保障类别", "政策范围内费用", "基本医保支付",
                  "大病保险支付", "起付线", "救助比例", "救助金额", "年度已用", "封顶线", "状态", "说明"]
STATUS_NAMES = {"assisted": "已救助", "not_eligible": "不符合条件"}


# ---- reading records -----------------------------------------------------------------------------

def explain_record(r: MedicalRecord) -> str:
    """The record's one-line explanation, from the facts stored on it."""
    return explain(status=r.status, reason=r.reason, in_scope_fen=r.in_scope_fen, insurance_fen=r.insurance_fen,
                   serious_fen=r.serious_fen, deductible_fen=r.deductible_fen, ratio_permille=r.ratio_permille,
                   cap_fen=r.cap_fen, used_before_fen=r.used_before_fen, raw_fen=r.raw_fen,
                   assistance_fen=r.assistance_fen)


def _records_query(user: User, *, status: str | None = None, kind: str | None = None, start: date | None = None,
                   end: date | None = None) -> Select[Any]:
    if status and status not in STATUS_NAMES:
        raise ValidationError(f"状态必须是 {'/'.join(STATUS_NAMES)} 之一 (unknown status)", field="status")
    if kind and kind not in KINDS:
        raise ValidationError("类别必须是 门诊 或 住院 (unknown kind)", field="kind")
    if start and end and start > end:
        raise ValidationError("开始日期晚于结束日期 (start after end)", field="start")
    # Rows of (record, name, ID number); typed loosely, as scoped() takes any select.
    base = cast("Select[Any]", select(MedicalRecord, Person.name, Person.id_number).join(
        Person, Person.id == MedicalRecord.person_id))
    stmt = scoped(base, user, MedicalRecord.region_code)
    if status:
        stmt = stmt.where(MedicalRecord.status == status)
    if kind:
        stmt = stmt.where(MedicalRecord.kind == kind)
    if start:
        stmt = stmt.where(MedicalRecord.visit_date >= start)
    if end:
        stmt = stmt.where(MedicalRecord.visit_date <= end)
    return stmt


def list_records(session: Session, *, user: User, status: str | None = None, kind: str | None = None,
                 start: date | None = None, end: date | None = None, page: int = 1,
                 page_size: int = 20) -> Page[Any]:
    """Assessed records in the user's scope, newest visit first: rows of (record, name, ID number)."""
    require(user, Perm.REGISTRY_READ)
    stmt = _records_query(user, status=status, kind=kind, start=start, end=end)
    stmt = stmt.order_by(MedicalRecord.visit_date.desc(), MedicalRecord.id.desc())
    return paginate(session, stmt, page=page, page_size=page_size, scalars=False)


@dataclass(frozen=True)
class YearUse:
    """A person's assistance in one calendar year for one kind of visit, against the cap."""

    year: int
    kind: str
    records: int
    used_fen: int
    cap_fen: int | None  # the cap in force at the year's latest assisted visit; None if none assisted

    @property
    def left_fen(self) -> int | None:
        return None if self.cap_fen is None else max(0, self.cap_fen - self.used_fen)


@dataclass
class PersonMedical:
    person: Person
    records: list[MedicalRecord]
    years: list[YearUse]


def person_records(session: Session, *, user: User, id_number: str) -> PersonMedical:
    """A person's settlement records and, per year and kind, the assistance used against the cap."""
    require(user, Perm.REGISTRY_READ)
    number = normalize_id(id_number)
    person = session.execute(select(Person).where(Person.id_number == number)).scalar_one_or_none()
    region = person.region_code if person is not None else None
    if person is not None and region is None and person.household_id is not None:
        region = session.execute(select(Household.region_code).where(Household.id == person.household_id)).scalar()
    if person is None or not can_see(user, region):
        raise NotFound("户籍登记中没有此人，或不在您的辖区内 (no such person)")
    records = list(session.execute(select(MedicalRecord).where(MedicalRecord.person_id == person.id)
                                   .order_by(MedicalRecord.visit_date, MedicalRecord.record_id)).scalars())
    years: dict[tuple[int, str], list[MedicalRecord]] = {}
    for r in records:
        years.setdefault((r.visit_date.year, r.kind), []).append(r)
    uses = []
    for (year, kind), rs in sorted(years.items()):
        assisted = [r for r in rs if r.status == "assisted"]
        uses.append(YearUse(year=year, kind=kind, records=len(rs), used_fen=sum(r.assistance_fen for r in assisted),
                            cap_fen=assisted[-1].cap_fen if assisted else None))
    return PersonMedical(person=person, records=records, years=uses)


# ---- export for one-stop settlement --------------------------------------------------------------

def _export_rows(session: Session, stmt: Select[Any], counter: list[int]) -> Iterator[list[Any]]:
    for r, name, number in session.execute(stmt.execution_options(yield_per=10_000)):
        counter[0] += 1
        assisted = r.status == "assisted"
        yield [r.record_id, number, name, r.visit_date.isoformat(), r.kind, r.category or "",
               format_yuan(r.in_scope_fen), format_yuan(r.insurance_fen), format_yuan(r.serious_fen),
               format_yuan(r.deductible_fen) if assisted else "", percent(r.ratio_permille) if assisted else "",
               format_yuan(r.assistance_fen), format_yuan(r.used_before_fen) if assisted else "",
               format_yuan(r.cap_fen) if assisted else "", STATUS_NAMES[r.status], explain_record(r)]


def _write_csv(target: Path | io.BytesIO, rows: Iterable[Sequence[Any]]) -> None:
    write_csv(target, EXPORT_HEADERS, rows)


def export_results(session: Session, *, user: User, start: date, end: date, target: Path | io.BytesIO,
                   fmt: str = "xlsx") -> int:
    """Write the assessed records of visits from start to end (xlsx or UTF-8 CSV) for one-stop
    settlement: full ID numbers, so it needs PII access; scoped and audited. Returns the row count."""
    require(user, Perm.REGISTRY_READ)
    require(user, Perm.PII_VIEW)
    if fmt not in ("xlsx", "csv"):
        raise ValidationError("格式必须是 xlsx 或 csv (format must be xlsx or csv)", field="format")
    stmt = _records_query(user, start=start, end=end).order_by(MedicalRecord.visit_date, MedicalRecord.record_id)
    counter = [0]
    rows = _export_rows(session, stmt, counter)
    if fmt == "xlsx":
        write_xlsx(target, EXPORT_HEADERS, rows, sheet="医疗救助结算结果", text_columns=("记录号", "身份证号"),
                   widths={"记录号": 18, "身份证号": 22, "说明": 60})
    else:
        _write_csv(target, rows)
    audit.record(session, actor=user.username, action="medical.export", entity="program", entity_id=PROGRAM,
                 region_code=user.scope_code,
                 detail={"start": start.isoformat(), "end": end.isoformat(), "format": fmt, "rows": counter[0]})
    return counter[0]
