"""`minxin standard …`, `minxin cycle …`, `minxin case …`: the benefit engine on the command line."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from minxin.core.errors import MinxinError, ValidationError
from minxin.core.money import format_yuan, format_yuan_display, parse_yuan
from minxin.core.period import Period
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

standard_app = typer.Typer(help="Effective-dated standards (natural growth mechanism).", no_args_is_help=True)
cycle_app = typer.Typer(help="Payment cycles: run, approve, export the bank file, reconcile.", no_args_is_help=True)
case_app = typer.Typer(help="Cases: import, list, workflow steps, periodic review.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(standard_app, name="standard")
    app.add_typer(cycle_app, name="cycle")
    app.add_typer(case_app, name="case")


def _period(value: str) -> Period:
    try:
        return Period.parse(value)
    except ValidationError as exc:
        fail(exc.message)


def _date(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{what} must be a date YYYY-MM-DD, not {value!r}")


# ---- standards -----------------------------------------------------------------------------------


@standard_app.command("set", context_settings={"ignore_unknown_options": True})
def standard_set(
    program: str,
    region: str,
    amount: str = typer.Argument(..., help="Amount in yuan, e.g. 480."),
    effective: str = typer.Option(..., "--effective", help="YYYY-MM-DD the standard takes effect."),
    category: str = typer.Option("", "--category", help="The standard's category, e.g. 城镇 or 农村."),
    source: str = typer.Option("", "--source", help="The notice this comes from."),
    as_user: str = AS_OPTION,
) -> None:
    """Add a standard row (never edits one); a back-dated raise creates arrears in the next cycle."""
    from minxin.programs.service import set_standard

    day = _date(effective, "--effective")
    with work() as session:
        actor = actor_for(session, as_user)
        try:
            amount_fen = parse_yuan(amount, field="amount")
        except ValidationError as exc:
            fail(exc.message)
        std = set_standard(
            session,
            actor=actor,
            program=program,
            region_code=region,
            amount_fen=amount_fen,
            effective=day,
            category=category,
            source=source,
        )
        console.print(
            f"standard {std.id}: {program} {region} {category or '-'} {format_yuan(std.amount_fen)} 元 "
            f"from {std.effective_from}"
        )


@standard_app.command("show")
def standard_show(
    program: str, region: str, period: str, category: str = typer.Option("", "--category"), as_json: bool = JSON_OPTION
) -> None:
    """Print the standard in force for a region and month, and the region it came from."""
    from minxin.programs.service import standard_in_force
    from minxin.registry.service import region_names

    p = _period(period)
    with work(write=False) as session:
        s = standard_in_force(session, program=program, region_code=region, period=p, category=category)
        name = region_names(session, {s.region_code}).get(s.region_code, s.region_code)
    data = {
        "program": program,
        "region": region,
        "period": str(p),
        "category": s.category,
        "amount_fen": s.amount_fen,
        "amount_yuan": format_yuan(s.amount_fen),
        "effective_from": s.effective_from.isoformat(),
        "from_region": s.region_code,
        "from_region_name": name,
        "standard_id": s.id,
    }
    if as_json:
        print_json(data)
        return
    out.print(
        f"{program} {region} {p!s} {s.category or ''}: {format_yuan(s.amount_fen)} 元 "
        f"(effective {s.effective_from}, set for {s.region_code} {name})",
        highlight=False,
    )


@standard_app.command("list")
def standard_list(program: str = typer.Argument(None), as_json: bool = JSON_OPTION) -> None:
    """List every standard row (the full history)."""
    from minxin.programs.service import list_standards

    with work(write=False) as session:
        rows: list[dict[str, Any]] = [
            {
                "id": s.id,
                "program": s.program_code,
                "region": s.region_code,
                "category": s.category,
                "amount_fen": s.amount_fen,
                "effective_from": s.effective_from.isoformat(),
                "created_by": s.created_by,
                "source": s.source,
            }
            for s in list_standards(session, program=program)
        ]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        out.print(
            f"{r['id']:>5} {r['program']:<8} {r['region']:<10} {r['category'] or '-':<4} "
            f"{format_yuan(r['amount_fen']):>10} from {r['effective_from']}  {r['source']}",
            highlight=False,
        )


# ---- cycles --------------------------------------------------------------------------------------


def _print_summary(summary, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        print_json(summary.as_json())
        return
    out.print(f"cycle {summary.cycle_id}  {summary.program} {summary.period} {summary.county} {summary.county_name}  "
              f"[{summary.status}]", highlight=False)
    out.print(
        f"  cases {summary.cases}   total {format_yuan_display(summary.total_fen)} 元   "
        f"arrears {format_yuan_display(summary.arrears_fen)} 元   "
        f"carry-over {format_yuan_display(summary.carryover_fen)} 元",
        highlight=False,
    )
    for c in summary.by_county:
        out.print(
            f"  {c['county']} {c['name']:<6} cases {c['cases']:>8}  "
            f"total {format_yuan_display(c['total_fen']):>16}  "
            f"arrears {format_yuan_display(c['arrears_fen']):>12}",
            highlight=False,
        )


@cycle_app.command("run")
def cycle_run(program: str, period: str,
              county: str = typer.Option(None, "--county", help="County code (6 digits); city users only. "
                                         "Without it a city user runs every county, a county user their own."),
              as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """Compute a program's month for every active case of a county (idempotent; a draft is recomputed).

    A city user without --county runs every county, each its own cycle in its own transaction."""
    from minxin.core.divisions import county_of
    from minxin.infra.db import get_engine, unit_of_work
    from minxin.programs.cycles import city_run_workers, run_county_cycles, run_cycle

    p = _period(period)
    with work(write=False) as session:
        actor = actor_for(session, as_user)
        username, own_county = actor.username, county_of(actor.scope_code)
    if county or own_county:
        with work() as session, progress_bar(f"cycle {program} {p}") as update:
            actor = actor_for(session, as_user)
            summary = run_cycle(session, actor=actor, program=program, period=p, county=county, progress=update)
        _print_summary(summary, as_json)
        return
    try:
        with progress_bar(f"cycle {program} {p} 各县区") as update:
            city = run_county_cycles(lambda: unit_of_work(write=True), actor=username, program=program, period=p,
                                     progress=update, parallel=city_run_workers(get_engine()))
    except MinxinError as exc:
        fail(exc.message)
    if as_json:
        print_json(city.as_json())
    else:
        data = city.as_json()
        out.print(f"{program} {p}: {len(city.cycles)} county cycles, cases {data['cases']}, "
                  f"total {format_yuan_display(data['total_fen'])} 元, arrears "
                  f"{format_yuan_display(data['arrears_fen'])} 元", highlight=False)
        for c in city.cycles:
            out.print(f"  cycle {c.cycle_id:>5}  {c.county} {c.county_name:<6} [{c.status}] cases {c.cases:>8}  "
                      f"total {format_yuan_display(c.total_fen):>16}", highlight=False)
    for f in city.failed:
        console.print(f"[red]county {f['county']} failed:[/red] {f['error']}", highlight=False)
    if city.failed:
        raise typer.Exit(1)


@cycle_app.command("show")
def cycle_show(cycle_id: int, as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """Show a cycle with its totals per county."""
    from minxin.programs.cycles import get_cycle_for, summarize

    with work(write=False) as session:
        actor = actor_for(session, as_user)
        summary = summarize(session, get_cycle_for(session, actor, cycle_id))
    _print_summary(summary, as_json)


@cycle_app.command("list")
def cycle_list(program: str = typer.Argument(None), as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """List the cycles in your scope (every county's for the city)."""
    from minxin.programs.cycles import scoped_cycles
    from minxin.programs.models import Cycle

    with work(write=False) as session:
        actor = actor_for(session, as_user)
        stmt = scoped_cycles(actor).order_by(Cycle.program_code, Cycle.period, Cycle.county_code)
        if program:
            stmt = stmt.where(Cycle.program_code == program)
        rows: list[dict[str, Any]] = [
            {
                "cycle_id": c.id,
                "program": c.program_code,
                "period": c.period,
                "county": c.county_code,
                "status": c.status,
                "cases": c.cases,
                "total_fen": c.total_fen,
                "arrears_fen": c.arrears_fen,
            }
            for c in session.execute(stmt).scalars()
        ]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        out.print(
            f"{r['cycle_id']:>5} {r['program']:<8} {r['period']} {r['county']} {r['status']:<10} {r['cases']:>8} "
            f"{format_yuan_display(r['total_fen']):>16}",
            highlight=False,
        )


@cycle_app.command("approve")
def cycle_approve(cycle_id: int, as_user: str = AS_OPTION) -> None:
    """Approve a draft cycle (not by the user who ran it)."""
    from minxin.programs.cycles import approve_cycle

    with work() as session:
        actor = actor_for(session, as_user)
        c = approve_cycle(session, actor=actor, cycle_id=cycle_id)
        console.print(
            f"cycle {c.id} approved by {c.approved_by}: {c.cases} cases, {format_yuan_display(c.total_fen)} 元"
        )


@cycle_app.command("export")
def cycle_export(
    cycle_id: int,
    out_file: Path = typer.Argument(..., metavar="OUT"),
    fmt: str = typer.Option("xlsx", "--format", help="xlsx or csv."),
    encoding: str = typer.Option("utf-8", "--encoding", help="CSV encoding: utf-8 or gbk."),
    as_user: str = AS_OPTION,
) -> None:
    """Write the bank file: 姓名, 身份证号, 账号, 金额(元), 摘要 (and 流水号 for reconciliation)."""
    from minxin.programs.cycles import export_cycle

    with work() as session:
        actor = actor_for(session, as_user)
        n = export_cycle(session, actor=actor, cycle_id=cycle_id, target=out_file, fmt=fmt, encoding=encoding)
    console.print(f"bank file written: {out_file} ({n} rows)")


@cycle_app.command("reconcile")
def cycle_reconcile(cycle_id: int, result_file: Path, as_user: str = AS_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Mark each payment paid or failed from the bank's result file; failed ones carry to the next cycle."""
    from minxin.programs.cycles import reconcile_cycle

    if not result_file.is_file():
        fail(f"no such file: {result_file}")
    with work() as session:
        actor = actor_for(session, as_user)
        res = reconcile_cycle(
            session, actor=actor, cycle_id=cycle_id, data=result_file.read_bytes(), filename=result_file.name
        )
        if not res.ok:
            session.rollback()
    if not res.ok:
        for e in res.errors[:200]:
            out.print(str(e), highlight=False)
        fail_import(res.errors, nothing="nothing was marked")
    if as_json:
        print_json(
            {
                "cycle_id": cycle_id,
                "paid_cases": res.paid_cases,
                "failed_cases": res.failed_cases,
                "paid_fen": res.paid_fen,
                "failed_fen": res.failed_fen,
            }
        )
        return
    console.print(
        f"cycle {cycle_id} reconciled: {res.paid_cases} paid ({format_yuan_display(res.paid_fen)} 元), "
        f"{res.failed_cases} failed ({format_yuan_display(res.failed_fen)} 元, carried to the next cycle)"
    )


# ---- cases ---------------------------------------------------------------------------------------


@case_app.command("import")
def case_import(
    program: str,
    file: Path,
    errors: Path = typer.Option(None, "--errors", help="Write the rows with their errors to this .xlsx."),
    dry_run: bool = typer.Option(False, "--dry-run"),
    as_user: str = AS_OPTION,
) -> None:
    """Create active cases from a spreadsheet (身份证号, 开始月份, 账号, 类别); all rows or none."""
    from minxin.kit.tabular import write_error_sheet
    from minxin.programs.case_import import import_cases

    if not file.is_file():
        fail(f"no such file: {file}")
    with work() as session:
        actor = actor_for(session, as_user)
        res = import_cases(
            session, actor=actor, program=program, data=file.read_bytes(), filename=file.name, dry_run=dry_run
        )
        # a refused file: the import undid its own writes; the command commits the run it recorded
    if not res.ok:
        for e in res.errors[:200]:
            out.print(str(e), highlight=False)
        if errors and res.table is not None:
            write_error_sheet(errors, res.table, res.errors)
            console.print(f"error sheet written: {errors}")
        fail_import(res.errors)
    console.print(f"{'checked' if dry_run else 'imported'} {res.cases if not dry_run else '-'} cases")


@case_app.command("show")
def case_show(case_id: int, as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """A case with its events and payments (with explanations)."""
    from minxin.core.masking import mask_id
    from minxin.programs.cycles import case_payment_items
    from minxin.programs.service import get_case_for
    from minxin.registry.models import Person

    with work(write=False) as session:
        actor = actor_for(session, as_user)
        case = get_case_for(session, actor, case_id)
        person = session.get(Person, case.person_id)
        data: dict[str, Any] = {
            "case_id": case.id,
            "program": case.program_code,
            "status": case.status,
            "category": case.category,
            "region_code": case.region_code,
            "person": person.name if person else None,
            "id_number": mask_id(person.id_number) if person else None,
            "start_period": case.start_period,
            "end_period": case.end_period,
            "next_review_due": str(case.next_review_due or ""),
            "events": [
                {
                    "action": e.action,
                    "from": e.from_status,
                    "to": e.to_status,
                    "actor": e.actor,
                    "at": e.at.isoformat(),
                    "reason": e.reason,
                }
                for e in case.events
            ],
            "payments": [
                {
                    "cycle_id": c.id,
                    "period": c.period,
                    "kind": item.kind,
                    "for_period": item.for_period,
                    "amount_fen": item.amount_fen,
                    "status": p.status,
                    "explanation": item.explanation,
                }
                for item, p, c in case_payment_items(session, case.id)
            ],
        }
    if as_json:
        print_json(data)
        return
    out.print(
        f"case {data['case_id']} {data['program']} [{data['status']}] {data['person']} {data['id_number']}",
        highlight=False,
    )
    for e in data["events"]:
        out.print(
            f"  {e['at'][:19]} {e['actor']:<12} {e['action']:<12} {e['from'] or '-'} → {e['to']} {e['reason'] or ''}",
            highlight=False,
        )
    for p in data["payments"]:
        out.print(
            f"  {p['period']} {p['kind']:<9} {format_yuan(p['amount_fen']):>10} {p['status']:<8} {p['explanation']}",
            highlight=False,
        )


@case_app.command("step")
def case_step(
    case_id: int,
    action: str = typer.Argument(
        ..., help="investigate, review, notice, approve, activate, suspend, resume, terminate or reject."
    ),
    reason: str = typer.Option(None, "--reason"),
    spot_checked: bool = typer.Option(False, "--spot-checked", help="approve: checked in person."),
    start: str = typer.Option(None, "--start", help="activate: first month; terminate: last month."),
    as_user: str = AS_OPTION,
) -> None:
    """Move a case one step along the workflow."""
    from minxin.programs.service import step

    with work() as session:
        actor = actor_for(session, as_user)
        case = step(
            session,
            actor=actor,
            case_id=case_id,
            action=action,
            reason=reason,
            spot_checked=spot_checked,
            start_period=_period(start) if start else None,
        )
        console.print(f"case {case.id}: {case.status}")


@case_app.command("due")
def case_due(
    program: str = typer.Argument(None),
    on: str = typer.Option(None, "--on", help="YYYY-MM-DD"),
    as_json: bool = JSON_OPTION,
    as_user: str = AS_OPTION,
) -> None:
    """Cases due (or overdue) for periodic review (动态管理)."""
    from minxin.programs.service import cases_due_for_review

    with work(write=False) as session:
        actor = actor_for(session, as_user)
        page = cases_due_for_review(
            session, user=actor, program=program, on=_date(on, "--on") if on else None, page_size=200
        )
        rows = [
            {
                "case_id": c.id,
                "program": c.program_code,
                "region_code": c.region_code,
                "review_class": c.review_class,
                "next_review_due": str(c.next_review_due),
            }
            for c in page.items
        ]
    if as_json:
        print_json({"total": page.total, "items": rows})
        return
    out.print(f"{page.total} cases due", highlight=False)
    for r in rows:
        out.print(
            f"  {r['case_id']:>8} {r['program']:<8} {r['region_code']} class {r['review_class']} "
            f"due {r['next_review_due']}",
            highlight=False,
        )


@case_app.command("suspend-overdue")
def case_suspend_overdue(
    program: str,
    before: str = typer.Option(..., "--before", help="Due before YYYY-MM-DD."),
    reason: str = typer.Option("逾期未复核", "--reason"),
    as_user: str = AS_OPTION,
) -> None:
    """Suspend, in bulk, active cases whose periodic review is overdue."""
    from minxin.programs.service import suspend_overdue

    with work() as session:
        actor = actor_for(session, as_user)
        n = suspend_overdue(
            session, actor=actor, program=program, overdue_before=_date(before, "--before"), reason=reason
        )
    console.print(f"{n} cases suspended")
