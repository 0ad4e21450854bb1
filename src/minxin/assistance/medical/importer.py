"""Medical assistance 医疗救助 (plan P4, P5): settlement records in, each assessed and stored.

The medical insurance system sends its settlement records (结算记录); each record of a 低保 member or
五保 person is assessed against the policy file's `[[medical.rules]]` and stored with the facts that
explain it. Assisted persons are handled without application (直接救助, 社会救助暂行办法 Art.30): each
gets one open case of program "medical", which the payment cycle pays (cycle.py). Reading and
exporting the stored records is `assistance.medical.service`.

A file of a million records is checked, assessed and stored in well under a minute: look-ups are a
few grouped queries per chunk of people, the assessment is one pass in Python over plain tuples,
and rows go to the database through the driver's bulk path (executemany / COPY).
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from minxin.assistance.medical.models import MedicalRecord
from minxin.assistance.medical.rules import KINDS, RuleBook, assess, rule_book
from minxin.assistance.medical.service import PROGRAM
from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import Perm, require
from minxin.core._text import text_problem
from minxin.core.divisions import covers
from minxin.core.errors import ValidationError
from minxin.core.idnumber import normalize_id
from minxin.core.masking import mask_id
from minxin.core.money import format_yuan, parse_yuan
from minxin.infra.clock import today
from minxin.infra.db import is_sqlite, utcnow
from minxin.infra.settings import get_settings
from minxin.kit.tabular import RowError, Table, cell_text, read_table, require_headers
from minxin.programs.models import OPEN_STATUSES
from minxin.programs.policy import load_policy
from minxin.programs.service import get_program
from minxin.registry.import_runs import recorded_import
from minxin.registry.service import outside_scope_message

HEADERS = ["记录号", "身份证号", "就诊日期", "类别", "总费用", "基本医保支付", "大病保险支付", "政策范围内费用"]
# A blank insurance column means the fund paid nothing for the visit; the costs must be given.
BLANK_IS_ZERO = ("基本医保支付", "大病保险支付")
# A month's settlement file of a large city; bigger files are split (the byte limit still applies).
MAX_SETTLEMENT_ROWS = 1_000_000
# Settlement files come from the insurance system, a city-month at a time: larger than a clerk's sheet.
MAX_SETTLEMENT_BYTES = 256 * 1024 * 1024
MAX_RECORD_ID = 40
# Case statuses under which a 低保 household or 五保 person was covered in the months of the case.
COVERING_STATUSES = ("active", "suspended", "terminated")
INSERT_CHUNK = 20_000
# PostgreSQL: one import at a time, since each reads the year's totals that the next one adds to.
_IMPORT_LOCK = 7307004

Progress = Callable[[str, int, int], None]

_RECORD_COLUMNS = ("record_id", "person_id", "region_code", "visit_date", "visit_period", "kind", "total_fen",
                   "insurance_fen", "serious_fen", "in_scope_fen", "category", "status", "reason", "deductible_fen",
                   "ratio_permille", "cap_fen", "used_before_fen", "raw_fen", "assistance_fen", "case_id",
                   "cycle_id", "batch", "created_at")


# ---- results -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NotEligible:
    """A stored record that is not assisted, and why (listed back to the clerk)."""

    row: int
    record_id: str
    id_number: str  # masked
    visit_date: date
    reason: str


@dataclass
class SettlementImport:
    """What an import did: nothing (errors), or new records stored, duplicates skipped, cases opened."""

    table: Table | None
    batch: str = ""
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    new: int = 0
    skipped: int = 0
    assisted: int = 0
    assisted_fen: int = 0
    not_eligible: list[NotEligible] = field(default_factory=list)
    cases_created: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self, *, listed: int = 1000) -> dict[str, Any]:
        return {"ok": self.ok, "batch": self.batch, "rows": self.rows, "new": self.new, "skipped": self.skipped,
                "assisted": self.assisted, "assisted_fen": self.assisted_fen, "cases_created": self.cases_created,
                "not_eligible_count": len(self.not_eligible),
                "not_eligible": [{"row": n.row, "record_id": n.record_id, "id_number": n.id_number,
                                  "visit_date": n.visit_date.isoformat(), "reason": n.reason}
                                 for n in self.not_eligible[:listed]],
                "error_count": len(self.errors),
                "errors": [{"row": e.row, "column": e.column, "reason": e.reason} for e in self.errors[:listed]]}


@dataclass(frozen=True)
class _Person:
    id: int
    household_id: int | None
    region_code: str | None


# ---- rules from the policy file ------------------------------------------------------------------

def medical_rules() -> RuleBook:
    """The `[[medical.rules]]` of the city's policy file."""
    book = rule_book(load_policy().section("medical").get("rules", []))
    if book.earliest is None:
        raise ValidationError("政策文件没有医疗救助规则 [[medical.rules]] (no medical rules in the policy file)")
    return book


# ---- reading one row -----------------------------------------------------------------------------

_DATE = re.compile(r"([0-9]{4})(?:[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?|([0-9]{2})([0-9]{2}))", re.ASCII)


def _fen(value: Any, column: str) -> int:
    """Yuan → fen. Plain "1234.5" takes a fast path; anything else goes through parse_yuan, which
    accepts what clerks type (¥, 元, thousands separators, Excel numbers) and explains what it refuses."""
    if type(value) is str and value.isascii():
        whole, dot, cents = value.partition(".")
        if whole.isdigit() and len(whole) <= 10:
            if not dot:
                return int(whole) * 100
            if len(cents) == 2 and cents.isdigit():
                return int(whole + cents)
            if len(cents) == 1 and cents.isdigit():
                return int(whole + cents) * 10
    elif value is None:
        if column in BLANK_IS_ZERO:
            return 0
        raise ValidationError("金额为空 (empty amount)", field=column)
    return parse_yuan(value, field=column)


def _visit_date(value: Any) -> date:
    """A date cell: an Excel date, or 2012-03-15, 2012/3/15, 2012.3.15, 2012年3月15日, 20120315."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = cell_text(value)
    m = _DATE.fullmatch(raw)
    if m:
        year, month, day = m.group(1), m.group(2) or m.group(4), m.group(3) or m.group(5)
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            pass
    shown = raw[:20] if raw else "（空）"
    raise ValidationError(f"就诊日期“{shown}”无法识别，应为 YYYY-MM-DD (bad date)", field="就诊日期")


class _Refused:
    """Why a cell value was refused, cached per distinct value like a checked one."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def __str__(self) -> str:
        return self.message


class _RowReader:
    """Checks rows one at a time; caches what repeats across a file (ID numbers, dates)."""

    def __init__(self, table: Table, book: RuleBook, errors: list[RowError]) -> None:
        col = require_headers(table, HEADERS)
        self.cols = [col[h] for h in HEADERS]
        self.width = max(self.cols) + 1
        self.earliest = book.earliest or date.min
        self.latest = today()
        self.errors = errors
        # Per distinct cell value: the checked value, or the reason it was refused.
        self.ids: dict[Any, str | _Refused] = {}
        self.dates: dict[Any, date | _Refused] = {}
        self.seen: dict[str, int] = {}

    def _id(self, value: Any) -> str | _Refused:
        try:
            found: str | _Refused = normalize_id(cell_text(value))
        except ValidationError as exc:
            found = _Refused(exc.message)
        self.ids[value] = found
        return found

    def _date(self, value: Any) -> date | _Refused:
        try:
            day = _visit_date(value)
            if day < self.earliest:
                raise ValidationError(
                    f"就诊日期 {day} 早于所有医疗救助政策的生效日期 {self.earliest} (a date outside any policy)")
            if day > self.latest:
                raise ValidationError(f"就诊日期 {day} 晚于今天 (visit date in the future)")
            found: date | _Refused = day
        except ValidationError as exc:
            found = _Refused(exc.message)
        self.dates[value] = found
        return found

    def read(self, n: int, raw: list[Any]) -> tuple[int, str, str, date, str, int, int, int, int] | None:
        """(row, record id, ID number, visit date, kind, total, insurance, 大病, in-scope) or None (errors noted).

        Written for speed (a million rows): cached ID numbers and dates, one pass, no work twice.
        """
        if len(raw) < self.width:
            raw = raw + [None] * (self.width - len(raw))
        c = self.cols
        err = self.errors.append
        ok = True
        rid = raw[c[0]]
        if type(rid) is not str:
            rid = cell_text(rid)
        if not rid:
            err(RowError(n, "记录号", "记录号为空 (empty record id)"))
            rid, ok = f"（第 {n} 行）", False
        elif len(rid) > MAX_RECORD_ID:
            err(RowError(n, "记录号", f"记录号过长，最多 {MAX_RECORD_ID} 个字符 (record id too long)"))
            ok = False
        elif problem := text_problem(rid, name=True):
            err(RowError(n, "记录号", f"记录号{problem}"))
            ok = False
        elif rid in self.seen:
            err(RowError(n, "记录号", f"记录号 {rid} 与第 {self.seen[rid]} 行重复 (duplicate record id in the file)"))
            ok = False
        else:
            self.seen[rid] = n
        number = self.ids.get(raw[c[1]]) or self._id(raw[c[1]])
        if type(number) is not str:
            err(RowError(n, "身份证号", f"记录号 {rid}：{number}"))
            ok = False
        day = self.dates.get(raw[c[2]]) or self._date(raw[c[2]])
        if type(day) is not date:
            err(RowError(n, "就诊日期", f"记录号 {rid}：{day}"))
            ok = False
        kind = raw[c[3]]
        if kind not in KINDS:
            shown = cell_text(kind)[:10] or "（空）"
            err(RowError(n, "类别", f"记录号 {rid}：类别“{shown}”必须是 门诊 或 住院 (unknown kind)"))
            ok = False
        try:
            total = _fen(raw[c[4]], "总费用")
        except ValidationError as exc:
            err(RowError(n, "总费用", f"记录号 {rid}：{exc.message}"))
            total, ok = -1, False
        try:
            insurance = _fen(raw[c[5]], "基本医保支付")
        except ValidationError as exc:
            err(RowError(n, "基本医保支付", f"记录号 {rid}：{exc.message}"))
            insurance, ok = -1, False
        try:
            serious = _fen(raw[c[6]], "大病保险支付")
        except ValidationError as exc:
            err(RowError(n, "大病保险支付", f"记录号 {rid}：{exc.message}"))
            serious, ok = -1, False
        try:
            in_scope = _fen(raw[c[7]], "政策范围内费用")
        except ValidationError as exc:
            err(RowError(n, "政策范围内费用", f"记录号 {rid}：{exc.message}"))
            in_scope, ok = -1, False
        if min(total, insurance, serious, in_scope) >= 0:
            if insurance + serious > total:
                err(RowError(n, "基本医保支付", f"记录号 {rid}：基本医保支付 {format_yuan(insurance)} + 大病保险支付 "
                             f"{format_yuan(serious)} 超过总费用 {format_yuan(total)} (insurance exceeds total)"))
                ok = False
            if in_scope > total:
                err(RowError(n, "政策范围内费用", f"记录号 {rid}：政策范围内费用 {format_yuan(in_scope)} 超过总费用 "
                             f"{format_yuan(total)} (in-scope cost exceeds total)"))
                ok = False
        if not ok:
            return None
        assert isinstance(number, str) and isinstance(day, date)
        return (n, rid, number, day, kind, total, insurance, serious, in_scope)


# ---- look-ups: a scratch table of keys, one join per question ------------------------------------

# Scratch tables (temporary, per connection) holding the keys a file involves; each look-up is one
# join against them, rather than thousands of parameters in IN lists that planners may answer with a
# full scan (PostgreSQL did, for cases by household: 13 s for 170,000 households).
_KEY_TABLES = {"mx_med_numbers": "VARCHAR(18)", "mx_med_records": "VARCHAR(40)", "mx_med_persons": "BIGINT",
               "mx_med_households": "BIGINT"}


def _load_keys(session: Session, table: str, keys: Iterable[Any]) -> None:
    session.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} (k {_KEY_TABLES[table]} PRIMARY KEY)"))
    session.execute(text(f"DELETE FROM {table}"))
    _bulk_insert(session, table, ("k",), [(k,) for k in keys])


def _persons(session: Session, numbers: Iterable[str]) -> dict[str, _Person]:
    """The registry's persons by ID number, with their community (their own, else their household's)."""
    _load_keys(session, "mx_med_numbers", numbers)
    return {number: _Person(pid, hh, code) for pid, number, hh, code in session.execute(text(
        "SELECT p.id, p.id_number, p.household_id, COALESCE(p.region_code, h.region_code) "
        "FROM mx_med_numbers k JOIN persons p ON p.id_number = k.k "
        "LEFT JOIN households h ON h.id = p.household_id"))}


def _stored_record_ids(session: Session, record_ids: Iterable[str]) -> set[str]:
    """The file's record ids that are stored already."""
    if session.execute(select(MedicalRecord.id).limit(1)).first() is None:
        return set()
    _load_keys(session, "mx_med_records", record_ids)
    return set(session.execute(text(
        "SELECT k.k FROM mx_med_records k JOIN medical_records r ON r.record_id = k.k")).scalars())


# (start period, end period, bank account, institution) of a covering 低保 or 五保 case.
_Cover = tuple[str, str | None, str | None, int | None]

_COVERAGE = {
    # 五保: the person's own case. 低保: a case of the person's household.
    "wubao": ("c.person_id", "mx_med_persons"),
    "dibao": ("c.household_id", "mx_med_households"),
}


def _coverage(session: Session, program: str) -> dict[int, list[_Cover]]:
    """Per person (五保) or household (低保) of the file: the cases that covered it, latest first."""
    column, keys = _COVERAGE[program]
    found: dict[int, list[_Cover]] = {}
    for key, start, end, account, institution in session.execute(text(
        f"SELECT {column}, c.start_period, c.end_period, c.bank_account, c.institution_id "
        f"FROM cases c JOIN {keys} k ON k.k = {column} "
        "WHERE c.program_code = :p AND c.status IN :statuses AND c.start_period IS NOT NULL"
    ).bindparams(bindparam("statuses", expanding=True)), {"p": program, "statuses": list(COVERING_STATUSES)}):
        found.setdefault(key, []).append((start, end, account, institution))
    for covers_ in found.values():
        covers_.sort(key=lambda c: c[0], reverse=True)
    return found


def _covering(covers_: list[_Cover] | None, period: str) -> _Cover | None:
    if covers_:
        for c in covers_:
            if c[0] <= period and (c[1] is None or period <= c[1]):
                return c
    return None


def _used_so_far(session: Session, first_year: int, last_year: int) -> dict[tuple[int, str, int], int]:
    """Assistance already granted per (person, kind, calendar year), for the file's people and years."""
    return {(pid, kind, int(year)): int(total) for pid, kind, year, total in session.execute(text(
        "SELECT r.person_id, r.kind, substr(r.visit_period, 1, 4), SUM(r.assistance_fen) "
        "FROM medical_records r JOIN mx_med_persons k ON k.k = r.person_id "
        "WHERE r.status = 'assisted' AND r.visit_period >= :first AND r.visit_period <= :last "
        "GROUP BY r.person_id, r.kind, substr(r.visit_period, 1, 4)"),
        {"first": f"{first_year:04d}-01", "last": f"{last_year:04d}-12"})}


def _open_cases(session: Session) -> dict[int, int]:
    """The open 医疗救助 case of each of the file's people who has one."""
    rows = session.execute(text(
        "SELECT c.person_id, c.id FROM cases c JOIN mx_med_persons k ON k.k = c.person_id "
        "WHERE c.program_code = :p AND c.status IN :statuses").bindparams(bindparam("statuses", expanding=True)),
        {"p": PROGRAM, "statuses": list(OPEN_STATUSES)})
    return {int(pid): int(cid) for pid, cid in rows}


def _bulk_insert(session: Session, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Rows (tuples in `columns` order, dates and times as ISO text) through the driver's bulk path,
    in the session's transaction: SQLite executemany, PostgreSQL COPY."""
    if not rows:
        return
    conn = session.connection()
    driver: Any = conn.connection.driver_connection
    cols = ", ".join(columns)
    if conn.dialect.name == "sqlite":
        driver.executemany(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(columns))})", rows)
    elif conn.dialect.name == "postgresql":
        with driver.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:  # any other database: the portable path
        conn.execute(text(f"INSERT INTO {table} ({cols}) VALUES ({', '.join(':' + c for c in columns)})"),
                     [dict(zip(columns, row, strict=True)) for row in rows])


# ---- import and assess ---------------------------------------------------------------------------

_CASE_COLUMNS = ("program_code", "household_id", "person_id", "region_code", "category", "status", "start_period",
                 "bank_account", "institution_id", "sanwu", "staff_relative", "spot_check_required", "spot_checked",
                 "review_class", "created_at", "updated_at")
_EVENT_COLUMNS = ("case_id", "action", "to_status", "actor", "at", "reason", "detail")


def _open_medical_cases(session: Session, *, actor: User, payees: dict[int, tuple[_Person, _Cover, str]],
                        filename: str) -> dict[int, int]:
    """Open an active 医疗救助 case for each assisted person who has none (直接救助, no application),
    paid to the account (or care institution) of the 低保/五保 case that covers them, each with its
    event; returns person id → new case id. In bulk: a first import opens tens of thousands."""
    now = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
    _bulk_insert(session, "cases", _CASE_COLUMNS, [
        (PROGRAM, p.household_id, pid, p.region_code, "", "active", start, cover[2], cover[3], False, False, False,
         False, "A", now, now) for pid, (p, cover, start) in sorted(payees.items())])
    created = {pid: cid for pid, cid in _open_cases(session).items() if pid in payees}
    reason = "直接救助：低保、五保对象医疗救助，无需申请（社会救助暂行办法第三十条）"
    detail = json.dumps({"file": filename}, ensure_ascii=False)
    _bulk_insert(session, "case_events", _EVENT_COLUMNS,
                 [(cid, "direct", "active", actor.username, now, reason, detail) for cid in created.values()])
    return created


def import_settlements(session: Session, *, actor: User, data: bytes, filename: str,
                       progress: Progress | None = None) -> SettlementImport:
    """Import the insurance system's settlement records and assess each new one; all rows or none.

    1. Only someone who may approve cases imports (the assessment grants money without application).
       On PostgreSQL a transaction lock serialises imports: each reads the year's totals per person
       that the previous one added to, so two at once could both fill the same cap.
    2. Every row is checked (ID number, date within the policy, kind, amounts and their consistency,
       record ids unique in the file), then against the registry and the actor's scope. Any error:
       nothing is stored and every error is listed.
    3. Records already stored (same 记录号) are skipped, so the same file twice changes nothing.
    4. The people's 五保 and 低保 coverage and their year's totals so far are read in a few grouped
       queries; each new record is assessed in date order (then record id) after those totals.
    5. Assisted persons without an open 医疗救助 case get one; the records are stored in bulk.
    """
    require(actor, Perm.CASES_APPROVE)

    def tick(label: str, done: int, total: int) -> None:
        if progress:
            progress(label, done, total)

    get_program(session, PROGRAM)
    book = medical_rules()
    if not is_sqlite(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _IMPORT_LOCK})
    with _collector_paused():
        result = recorded_import(
            session, actor=actor, kind="medical", filename=filename, stored=lambda r: r.new,
            run=lambda: _import(session, actor=actor, data=data, filename=filename, book=book, tick=tick))
    if result.ok:
        audit.record(session, actor=actor.username, action="medical.import", entity="program", entity_id=PROGRAM,
                     region_code=actor.scope_code,
                     detail={"file": filename, "sha256": hashlib.sha256(data).hexdigest(), "rows": result.rows,
                             "new": result.new, "skipped": result.skipped, "assisted": result.assisted,
                             "assisted_fen": result.assisted_fen, "not_eligible": len(result.not_eligible),
                             "cases_created": result.cases_created})
        tick("完成", 1, 1)
    return result


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while millions of rows, tuples and lists are made (none
    of them in a cycle): each automatic collection walks every object made so far, which made a
    million-record import several times slower than ten imports of 100,000."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _import(session: Session, *, actor: User, data: bytes, filename: str, book: RuleBook,
            tick: Callable[[str, int, int], None]) -> SettlementImport:
    tick("读取", 0, 1)
    result = SettlementImport(table=None, batch=hashlib.sha256(data).hexdigest()[:16])
    try:
        table = read_table(data, filename, max_rows=MAX_SETTLEMENT_ROWS,
                           max_bytes=max(get_settings().max_upload_bytes, MAX_SETTLEMENT_BYTES))
        reader = _RowReader(table, book, result.errors)
    except ValidationError as exc:
        result.errors.append(RowError(1, "文件", exc.message))
        return result
    result.table, result.rows = table, len(table.rows)
    parsed = []
    for i, raw in enumerate(table.rows):
        row = reader.read(i + 2, raw)
        if row is not None:
            parsed.append(row)
        if i % 50_000 == 0:
            tick("校验", i, result.rows)
    tick("核对", 0, 1)
    numbers = list({r[2] for r in parsed})
    persons = _persons(session, numbers)
    refused: dict[str, str] = {}  # ID number → why its rows are refused (checked once per person)
    for number in numbers:
        p = persons.get(number)
        if p is None or p.region_code is None:
            refused[number] = "户籍登记中没有此人 (person not in the registry)"
        elif not covers(actor.scope_code, p.region_code):
            refused[number] = f"此人{outside_scope_message()}"
    if refused:
        result.errors.extend(RowError(r[0], "身份证号", f"记录号 {r[1]}：{refused[r[2]]}")
                             for r in parsed if r[2] in refused)
    if result.errors:
        result.errors.sort(key=lambda e: (e.row, e.column))
        return result
    result.table = None  # every row is clean: no error sheet, and the file's rows need not stay in memory
    del table
    stored = _stored_record_ids(session, (r[1] for r in parsed))
    new = [r for r in parsed if r[1] not in stored] if stored else parsed
    new.sort(key=itemgetter(3, 1))  # visit date, then record id
    result.skipped = len(parsed) - len(new)
    del parsed
    if new:
        _assess_and_store(session, actor=actor, new=new, persons=persons, book=book, result=result,
                          filename=filename, tick=tick)
    return result


def _assess_and_store(session: Session, *, actor: User, new: list[tuple[Any, ...]], persons: dict[str, _Person],
                      book: RuleBook, result: SettlementImport, filename: str,
                      tick: Callable[[str, int, int], None]) -> None:
    by_number = {number: persons[number] for number in {r[2] for r in new}}
    person_ids = sorted({p.id for p in by_number.values()})
    households = sorted({p.household_id for p in by_number.values() if p.household_id is not None})
    _load_keys(session, "mx_med_persons", person_ids)
    _load_keys(session, "mx_med_households", households)
    wubao = _coverage(session, "wubao")
    dibao = _coverage(session, "dibao")
    used = _used_so_far(session, new[0][3].year, new[-1][3].year)
    cases = _open_cases(session)
    tick("核算", 0, len(new))
    days: dict[date, tuple[str, str]] = {}  # visit date → (ISO text, YYYY-MM), made once per distinct date
    rules: dict[tuple[str, str, date], Any] = {}
    coverage: dict[tuple[int, str], tuple[str, _Cover | None]] = {}  # (person, month) → category, case
    masks: dict[str, str] = {}
    payees: dict[int, tuple[_Person, _Cover, str]] = {}
    created_at = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
    rows: list[list[Any]] = []
    batch = result.batch
    assisted = assisted_fen = 0
    not_eligible = result.not_eligible
    for i, (n, rid, number, day, kind, total, insurance, serious, in_scope) in enumerate(new):
        p = by_number[number]
        texts = days.get(day)
        if texts is None:
            texts = days[day] = (day.isoformat(), f"{day.year:04d}-{day.month:02d}")
        iso, period = texts
        key_month = (p.id, period)
        if key_month in coverage:
            category, cover = coverage[key_month]
        else:
            category, cover = "五保", _covering(wubao.get(p.id), period)  # 五保 first: it wins over 低保
            if cover is None:
                category = "低保"
                cover = _covering(dibao.get(p.household_id), period) if p.household_id is not None else None
            coverage[key_month] = (category, cover)
        rule = None
        if cover is not None:
            key = (category, kind, day)
            rule = rules.get(key)
            if rule is None:
                rule = rules[key] = book.rule_for(category, kind, day)
        if rule is None or cover is None:
            if cover is None:
                reason = f"就诊月份 {period} 不是低保家庭成员或五保对象 (not covered on the visit date)"
            else:
                reason = f"{day} 没有适用于{category}{kind}的医疗救助规则 (no rule in force)"
            masked = masks.get(number)
            if masked is None:
                masked = masks[number] = mask_id(number)
            not_eligible.append(NotEligible(row=n, record_id=rid, id_number=masked, visit_date=day, reason=reason))
            rows.append([rid, p.id, p.region_code, iso, period, kind, total, insurance, serious, in_scope, None,
                         "not_eligible", reason, 0, 0, 0, 0, 0, 0, None, None, batch, created_at])
            continue
        counter = (p.id, kind, day.year)
        before = used.get(counter, 0)
        a = assess(in_scope_fen=in_scope, insurance_fen=insurance, serious_fen=serious,
                   deductible_fen=rule.deductible_fen, ratio_permille=rule.ratio_permille, cap_fen=rule.cap_fen,
                   used_before_fen=before)
        used[counter] = before + a.assistance_fen
        assisted += 1
        assisted_fen += a.assistance_fen
        if p.id not in cases:
            first = payees[p.id][2] if p.id in payees else period
            payees[p.id] = (p, cover, first)  # the latest visit's covering case is paid
        # case_id (index 19) holds the person id until the person's case is known.
        rows.append([rid, p.id, p.region_code, iso, period, kind, total, insurance, serious, in_scope, category,
                     "assisted", None, rule.deductible_fen, rule.ratio_permille, rule.cap_fen, before, a.raw_fen,
                     a.assistance_fen, p.id, None, batch, created_at])
        if i % 100_000 == 0:
            tick("核算", i, len(new))
    result.assisted, result.assisted_fen = assisted, assisted_fen
    new.clear()  # assessed: the parsed rows are not needed any more (a million tuples)
    tick("建档", 0, 1)
    if payees:
        created = _open_medical_cases(session, actor=actor, payees=payees, filename=filename)
        result.cases_created = len(created)
        cases.update(created)
    for row in rows:
        if row[11] == "assisted":
            row[19] = cases[row[19]]  # person id → the person's 医疗救助 case
    result.new = len(rows)
    tick("写入", 0, len(rows))
    rows.sort(key=itemgetter(1))  # by person: the person index and the foreign-key look-ups go in order
    for k in range(0, len(rows), INSERT_CHUNK):
        _bulk_insert(session, "medical_records", _RECORD_COLUMNS, rows[k:k + INSERT_CHUNK])
        tick("写入", min(k + INSERT_CHUNK, len(rows)), len(rows))
