"""The bank file of a county's cycle (社会化发放: the county's finance pays through the bank) and the
bank's result file that reconciles it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import User
from minxin.core.errors import Conflict, ValidationError
from minxin.core.masking import mask_name
from minxin.core.money import format_yuan, parse_yuan
from minxin.infra.db import utcnow
from minxin.kit.tabular import RowError, cell_text, read_table, require_headers, write_csv, write_xlsx
from minxin.programs.calculator import get_calculator
from minxin.programs.cycles.approval import get_cycle_to_pay
from minxin.programs.models import Cycle
from minxin.programs.service import get_program, program_policy

BANK_HEADERS = ["姓名", "身份证号", "账号", "金额(元)", "摘要", "流水号"]


def payment_ref(cycle_id: int, case_id: int) -> str:
    return f"{cycle_id}-{case_id}"


def bank_file_name(cycle: Cycle, fmt: str, county_name: str = "") -> str:
    """The bank file's name: county and month, e.g. `320706-2026-11-<program>.xlsx`."""
    return f"{cycle.county_code}-{cycle.period}-{cycle.program_code}.{fmt}"


def _bank_rows(session: Session, cycle: Cycle, short: str) -> Iterator[list[Any]]:
    """One row per case. A case that lives in a care institution is paid to it: the institution's name and
    account, with the person's ID number and masked name in the memo (worded by the program's calculator),
    so every fen still names its recipient."""
    calc = get_calculator(get_program(session, cycle.program_code).calculator)
    # A program paying an organisation (a service provider) names it instead of the case's person.
    join, payee_name, payee_id = calc.payee() or ("", "", "")
    group_payee = f", {payee_name}, {payee_id}" if join else ""
    rows = session.execute(text(
        "SELECT p.case_id, pe.name, pe.id_number, c.bank_account, SUM(p.amount_fen), "
        "SUM(COALESCE(p.arrears_months, 0)), SUM(CASE WHEN p.carryover_fen > 0 THEN 1 ELSE 0 END), "
        f"i.name, c.category, {payee_name or 'NULL'}, {payee_id or 'NULL'} "
        "FROM payments p JOIN cases c ON c.id = p.case_id JOIN persons pe ON pe.id = c.person_id "
        f"LEFT JOIN institutions i ON i.id = c.institution_id {join} "
        "WHERE p.cycle_id = :c GROUP BY p.case_id, pe.name, pe.id_number, c.bank_account, i.name, c.category"
        f"{group_payee} ORDER BY p.case_id"
    ).execution_options(yield_per=10000), {"c": cycle.id})
    for case_id, name, id_number, account, amount, n_arrears, n_carry, institution, category, org, org_id in rows:
        memo = f"{cycle.period}{short}"
        if org:
            name, id_number = org, org_id
        elif institution:
            memo += calc.institution_memo(category or "", mask_name(name))
            name = institution
        if n_arrears:
            memo += f"含补发{n_arrears}期"
        if n_carry:
            memo += "含重发"
        yield [name, id_number, account or "", format_yuan(int(amount)), memo, payment_ref(cycle.id, case_id)]


def export_cycle(session: Session, *, actor: User, cycle_id: int, target: Path | io.BytesIO, fmt: str = "xlsx",
                 encoding: str = "utf-8") -> int:
    """Write the bank file (one row per case: 姓名, 身份证号, 账号, 金额(元), 摘要, 流水号).

    1. Only a user of the cycle's county (or the city) who may run cycles; an approved cycle becomes
       exported (a state change: the web offers it by POST only); an exported or reconciled one is
       written again unchanged (a download, audited each time).
    2. Every case must have a bank account; the file is written whole or not at all.
    """
    cycle = get_cycle_to_pay(session, actor, cycle_id)
    if cycle.status not in ("approved", "exported", "reconciled"):
        raise Conflict(f"周期 {cycle.id} 状态为 {cycle.status}，审批后才能导出银行文件 (approve first)")
    rows = bank_rows(session, cycle, fmt=fmt, encoding=encoding)
    _write(target, cycle, rows, fmt=fmt, encoding=encoding)
    first = cycle.status == "approved"
    if first:
        cycle.status = "exported"
        cycle.exported_at = utcnow()
    audit.record(session, actor=actor.username, action="cycle.export" if first else "cycle.download",
                 entity="cycle", entity_id=cycle.id, region_code=cycle.county_code,
                 detail={"format": fmt, "encoding": encoding.lower(), "rows": len(rows)})
    return len(rows)


def download_bank_file(session: Session, *, actor: User, cycle_id: int, target: Path | io.BytesIO, fmt: str = "xlsx",
                       encoding: str = "utf-8") -> int:
    """The bank file of a cycle already exported, again (changes nothing but the audit trail)."""
    cycle = get_cycle_to_pay(session, actor, cycle_id)
    if cycle.status not in ("exported", "reconciled"):
        raise Conflict(f"周期 {cycle.id} 尚未导出银行文件，请先导出 (export first)")
    return export_cycle(session, actor=actor, cycle_id=cycle_id, target=target, fmt=fmt, encoding=encoding)


def bank_rows(session: Session, cycle: Cycle, *, fmt: str, encoding: str) -> list[list[Any]]:
    if fmt not in ("xlsx", "csv"):
        raise ValidationError("格式必须是 xlsx 或 csv (format must be xlsx or csv)", field="format")
    if {"gbk": "gbk", "utf-8": "utf-8", "utf8": "utf-8"}.get(encoding.lower()) is None:
        raise ValidationError("编码必须是 gbk 或 utf-8 (encoding must be gbk or utf-8)", field="encoding")
    missing = session.execute(text(
        "SELECT COUNT(DISTINCT p.case_id) FROM payments p JOIN cases c ON c.id = p.case_id "
        "WHERE p.cycle_id = :c AND (c.bank_account IS NULL OR c.bank_account = '')"), {"c": cycle.id}).scalar_one()
    if missing:
        raise Conflict(f"有 {missing} 个案件没有银行账号，请补录后再导出 (cases without a bank account)")
    return list(_bank_rows(session, cycle, program_policy(cycle.program_code).short))


def _write(target: Path | io.BytesIO, cycle: Cycle, rows: list[list[Any]], *, fmt: str, encoding: str) -> None:
    short = program_policy(cycle.program_code).short
    if fmt == "xlsx":
        write_xlsx(target, BANK_HEADERS, rows, sheet=f"{cycle.period}{short}",
                   text_columns=("身份证号", "账号", "流水号"), widths={"身份证号": 22, "账号": 24, "摘要": 24})
        return
    buf = io.BytesIO()  # whole or nothing: a name GBK cannot spell fails before a byte is written
    write_csv(buf, BANK_HEADERS, rows, encoding=encoding)
    if isinstance(target, io.BytesIO):
        target.write(buf.getvalue())
    else:
        target.write_bytes(buf.getvalue())


# The words a bank's result file may say in 结果 (case and blanks around them do not matter).
RESULT_OK = ("成功", "已支付", "paid", "success", "ok", "1")
RESULT_FAIL = ("失败", "未支付", "failed", "fail", "0")


def result_words_text() -> str:
    """The accepted 结果 words as a clerk reads them in a message or on the page."""
    return f"{'、'.join(RESULT_OK)}（已发）或 {'、'.join(RESULT_FAIL)}（失败）"


@dataclass
class ReconcileResult:
    errors: list[RowError] = field(default_factory=list)
    paid_cases: int = 0
    failed_cases: int = 0
    paid_fen: int = 0
    failed_fen: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def reconcile_cycle(session: Session, *, actor: User, cycle_id: int, data: bytes, filename: str) -> ReconcileResult:
    """Read the bank's result file and mark each payment paid or failed; all rows must check first.

    The file has the bank file's columns plus 结果 (one of `RESULT_OK` or `RESULT_FAIL`) and optionally
    原因. Every case of the cycle must appear exactly once with the exported amount; a row naming
    another cycle's payment, an amount that differs, an unknown result word, or a 合计 row that does
    not add up refuses the whole file. The whole file is checked before anything is refused, so the
    errors list every problem at once, each with its row and reason.
    """
    cycle = get_cycle_to_pay(session, actor, cycle_id)
    if cycle.status != "exported":
        raise Conflict(f"周期 {cycle.id} 状态为 {cycle.status}，导出银行文件后才能对账 (export first)")
    result = ReconcileResult()
    try:
        table = read_table(data, filename)
        col = require_headers(table, ["流水号", "金额(元)", "结果"])
    except ValidationError as exc:
        result.errors.append(RowError(1, "文件", exc.message))
        return result
    expected = {int(case_id): int(amount) for case_id, amount in session.execute(text(
        "SELECT case_id, SUM(amount_fen) FROM payments WHERE cycle_id = :c GROUP BY case_id"), {"c": cycle.id})}
    outcome: dict[int, tuple[bool, str | None]] = {}
    declared_total: tuple[int, int] | None = None
    sum_rows = 0
    seen: dict[int, int] = {}  # case id → the row that named it
    err = result.errors.append
    for i, raw in enumerate(table.rows):
        # Each cell is checked on its own, so one pass lists every problem of the file (row and reason).
        n = table.row_number(i)
        cells = {h: (raw[j] if j < len(raw) else None) for h, j in col.items()}
        ref = cell_text(cells["流水号"])
        name_cell = cell_text(raw[table.headers.index("姓名")]) if "姓名" in table.headers and \
            table.headers.index("姓名") < len(raw) else ""
        amount: int | None
        try:
            amount = parse_yuan(cell_text(cells["金额(元)"]), field="金额(元)")
        except ValidationError as exc:
            err(RowError(n, "金额(元)", exc.message))
            amount = None
        if ref in ("合计", "总计") or name_cell in ("合计", "总计"):
            if amount is not None:
                declared_total = (n, amount)
            continue
        sum_rows += amount or 0
        status = cell_text(cells["结果"]).strip().lower()
        ok: bool | None = True if status in RESULT_OK else False if status in RESULT_FAIL else None
        if ok is None:
            shown = f"「{cell_text(cells['结果']).strip()}」" if status else "为空"
            err(RowError(n, "结果", f"结果{shown}无法识别，应填写 {result_words_text()}"))
        case_id: int | None = None
        parts = ref.split("-")
        if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts):
            err(RowError(n, "流水号", f"流水号「{ref}」格式不正确，应为银行文件中的“周期号-案件号”"))
        elif int(parts[0]) != cycle.id:
            err(RowError(n, "流水号", f"流水号 {ref} 属于周期 {int(parts[0])}，不是本周期 {cycle.id}"))
        elif int(parts[1]) not in expected:
            err(RowError(n, "流水号", f"本周期没有流水号 {ref} 的付款"))
        elif int(parts[1]) in seen:
            err(RowError(n, "流水号", f"流水号 {ref} 重复出现（第 {seen[int(parts[1])]} 行已有）"))
        else:
            case_id = int(parts[1])
            seen[case_id] = n
        if case_id is not None and amount is not None and amount != expected[case_id]:
            err(RowError(n, "金额(元)", f"金额 {format_yuan(amount)} 与发放金额 {format_yuan(expected[case_id])} 不符"))
            continue
        if case_id is None or amount is None or ok is None:
            continue
        reason = cell_text(raw[table.headers.index("原因")]) if "原因" in table.headers and \
            table.headers.index("原因") < len(raw) else None
        outcome[case_id] = (ok, reason or None)
    if declared_total is not None and declared_total[1] != sum_rows:
        err(RowError(declared_total[0], "金额(元)", f"合计 {format_yuan(declared_total[1])} 与各行之和 "
                     f"{format_yuan(sum_rows)} 不符"))
    missing = set(expected) - set(seen)
    if missing:
        sample = "、".join(payment_ref(cycle.id, c) for c in sorted(missing)[:5])
        err(RowError(1, "流水号", f"结果文件缺少 {len(missing)} 笔付款（如 {sample}），请使用银行返回的完整文件"))
    if result.errors:
        return result
    failed = [c for c, (ok, _) in outcome.items() if not ok]
    session.execute(text("UPDATE payments SET status = 'paid' WHERE cycle_id = :c"), {"c": cycle.id})
    for k in range(0, len(failed), 500):
        chunk = failed[k:k + 500]
        session.execute(text("UPDATE payments SET status = 'failed' WHERE cycle_id = :c AND case_id IN :ids")
                        .bindparams(bindparam("ids", expanding=True)), {"c": cycle.id, "ids": chunk})
    if failed:
        session.execute(text(
            "INSERT INTO failed_payments (cycle_id, case_id, seq, amount_fen) SELECT cycle_id, case_id, seq, "
            "amount_fen FROM payments WHERE cycle_id = :c AND status = 'failed' AND amount_fen > 0"), {"c": cycle.id})
    reasons = [(c, r) for c, (ok, r) in outcome.items() if not ok and r]
    for case_id, reason in reasons:
        session.execute(text("UPDATE payments SET bank_note = :r WHERE cycle_id = :c AND case_id = :k"),
                        {"r": reason[:200], "c": cycle.id, "k": case_id})
    result.failed_cases = len(failed)
    result.paid_cases = len(outcome) - len(failed)
    result.failed_fen = sum(expected[c] for c in failed)
    result.paid_fen = sum(expected.values()) - result.failed_fen
    cycle.status = "reconciled"
    cycle.reconciled_at = utcnow()
    cycle.paid_fen, cycle.failed_fen = result.paid_fen, result.failed_fen
    audit.record(session, actor=actor.username, action="cycle.reconcile", entity="cycle", entity_id=cycle.id,
                 region_code=cycle.county_code,
                 detail={"paid_cases": result.paid_cases, "failed_cases": result.failed_cases,
                         "paid_fen": result.paid_fen, "failed_fen": result.failed_fen, "file": filename})
    return result


