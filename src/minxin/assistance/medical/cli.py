"""`minxin medical …`: import settlement records, export the results, show a person's year."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from minxin.core.money import format_yuan
from minxin.kit.clikit import (
    AS_OPTION,
    JSON_OPTION,
    actor_for,
    console,
    fail,
    fail_import,
    out,
    print_json,
    progress_bar,
    work,
)

medical_app = typer.Typer(help="Medical assistance 医疗救助 (P4, P5): settlement records.", no_args_is_help=True)

NOT_ELIGIBLE_SHOWN = 50
ERRORS_SHOWN = 200


def register(app: typer.Typer) -> None:
    app.add_typer(medical_app, name="medical")


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{name} must be YYYY-MM-DD, not {value!r}")


@medical_app.command("import")
def medical_import(
    file: Path,
    errors: Path = typer.Option(None, "--errors", help="Write the rows with their errors to this .xlsx."),
    as_json: bool = JSON_OPTION,
    as_user: str = AS_OPTION,
) -> None:
    """Import the insurance system's settlement records and assess them; all rows or none.

    Columns: 记录号, 身份证号, 就诊日期, 类别 (门诊/住院), 总费用, 基本医保支付, 大病保险支付, 政策范围内费用 (yuan).
    Records already imported are skipped, so a file can be imported again safely.
    """
    from minxin.assistance.medical.importer import import_settlements
    from minxin.kit.tabular import write_error_sheet

    if not file.is_file():
        fail(f"no such file: {file}")
    with work() as session, progress_bar(f"medical {file.name}") as update:
        actor = actor_for(session, as_user)
        res = import_settlements(session, actor=actor, data=file.read_bytes(), filename=file.name, progress=update)
        # a refused file: the import undid its own writes; the command commits the run it recorded
    if as_json:
        print_json(res.as_json())
    if not res.ok:
        if not as_json:
            for e in res.errors[:ERRORS_SHOWN]:
                out.print(str(e))
        if errors and res.table is not None:
            write_error_sheet(errors, res.table, res.errors)
            console.print(f"error sheet written: {errors}")
        fail_import(res.errors)
    if as_json:
        return
    out.print(f"new records: {res.new}, skipped (already imported): {res.skipped}")
    out.print(f"assisted: {res.assisted} records, {format_yuan(res.assisted_fen)} 元; "
              f"new 医疗救助 cases: {res.cases_created}")
    out.print(f"not eligible: {len(res.not_eligible)}")
    for n in res.not_eligible[:NOT_ELIGIBLE_SHOWN]:
        out.print(f"  row {n.row} {n.record_id} {n.id_number} {n.visit_date}: {n.reason}")
    if len(res.not_eligible) > NOT_ELIGIBLE_SHOWN:
        out.print(f"  … {len(res.not_eligible) - NOT_ELIGIBLE_SHOWN} more (minxin medical export lists them all)")


@medical_app.command("export")
def medical_export(start: str = typer.Argument(..., help="First visit date, YYYY-MM-DD."),
                   end: str = typer.Argument(..., help="Last visit date, YYYY-MM-DD."),
                   out_file: Path = typer.Argument(..., metavar="OUT"),
                   fmt: str = typer.Option("xlsx", "--format", help="xlsx or csv."),
                   as_user: str = AS_OPTION) -> None:
    """The assessed records of visits from START to END, for one-stop settlement (一站式结算)."""
    from minxin.assistance.medical.service import export_results

    first, last = _day(start, "START"), _day(end, "END")
    with work() as session:
        n = export_results(session, user=actor_for(session, as_user), start=first, end=last, target=out_file,
                           fmt=fmt)
    console.print(f"{n} records written: {out_file}")


@medical_app.command("show")
def medical_show(id_number: str, as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """A person's settlement records, and per year and kind the assistance used against the cap."""
    from minxin.assistance.medical.service import STATUS_NAMES, explain_record, person_records

    with work(write=False) as session:
        data = person_records(session, user=actor_for(session, as_user), id_number=id_number)
        explained = [(r, explain_record(r)) for r in data.records]
    if as_json:
        print_json({
            "name": data.person.name,
            "years": [{"year": u.year, "kind": u.kind, "records": u.records, "used_fen": u.used_fen,
                       "cap_fen": u.cap_fen, "left_fen": u.left_fen} for u in data.years],
            "records": [{"record_id": r.record_id, "visit_date": r.visit_date.isoformat(), "kind": r.kind,
                         "category": r.category, "status": r.status, "in_scope_fen": r.in_scope_fen,
                         "assistance_fen": r.assistance_fen, "cycle_id": r.cycle_id, "explanation": why}
                        for r, why in explained],
        })
        return
    out.print(f"{data.person.name}: {len(explained)} records")
    for u in data.years:
        cap = "未救助"
        if u.cap_fen is not None and u.left_fen is not None:
            cap = f"封顶 {format_yuan(u.cap_fen)}，剩余 {format_yuan(u.left_fen)}"
        out.print(f"  {u.year} {u.kind}: {u.records} 笔，已用 {format_yuan(u.used_fen)}，{cap}")
    for r, why in explained:
        paid = f" (cycle {r.cycle_id})" if r.cycle_id else ""
        out.print(f"  {r.visit_date} {r.record_id} {r.kind} {r.category or '-'} {STATUS_NAMES[r.status]} "
                  f"{format_yuan(r.assistance_fen)}{paid}  {why}")
