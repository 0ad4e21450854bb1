"""Social assistance on the command line: institutions, 五保 standards and the centralized rate."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from minxin.clikit import AS_OPTION, JSON_OPTION, actor_for, console, fail, out, print_json, report_app, work
from minxin.core.errors import ValidationError
from minxin.core.money import format_yuan

institution_app = typer.Typer(help="Care institutions (敬老院, 福利院 …).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    from minxin.programs.cli import standard_app

    app.add_typer(institution_app, name="institution")
    app.add_typer(premium_app, name="premium")
    standard_app.command("derive")(standard_derive)
    report_app.command("wubao-rate")(report_wubao_rate)


@institution_app.command("add")
def institution_add(name: str, region: str = typer.Option(..., "--region", help="County or town code."),
                    kind: str = typer.Option("敬老院", "--kind"), beds: int = typer.Option(0, "--beds"),
                    account: str = typer.Option(None, "--account", help="Bank account paid for 集中供养."),
                    opened: str = typer.Option(None, "--opened", help="YYYY-MM-DD"),
                    ownership: str = typer.Option(None, "--ownership", help="公办, 民办 or 公建民营."),
                    status: str = typer.Option("in_use", "--status",
                                               help="planned, building, structure_done or in_use."),
                    as_user: str = AS_OPTION) -> None:
    """Register a care institution (a planned one too; `minxin eldercare institution-status` moves it on)."""
    from minxin.registry.service import add_institution

    try:
        opened_on = date.fromisoformat(opened) if opened else None
    except ValueError:
        fail(f"--opened must be YYYY-MM-DD, not {opened!r}")
    with work() as session:
        actor = actor_for(session, as_user)
        inst = add_institution(session, actor=actor, name=name, region_code=region, kind=kind, beds=beds,
                               bank_account=account, opened_on=opened_on, ownership=ownership,
                               construction_status=status)
        console.print(f"institution {inst.id}: {inst.name} ({inst.kind}, {inst.beds} beds, {inst.region_code})")


@institution_app.command("list")
def institution_list(as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """List care institutions in your scope."""
    from minxin.registry.service import list_institutions

    with work(write=False) as session:
        actor = actor_for(session, as_user)
        rows = [{"id": i.id, "name": i.name, "region_code": i.region_code, "kind": i.kind, "beds": i.beds,
                 "bank_account": i.bank_account, "ownership": i.ownership,
                 "construction_status": i.construction_status} for i in list_institutions(session, user=actor)]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        out.print(f"{r['id']:>4} {r['region_code']:<10} {r['kind']:<8} {r['beds']:>5} 床  {r['name']}")


def standard_derive(program: str, year: int = typer.Argument(..., help="The year the standard is for."),
                    ratio: str = typer.Option(None, "--ratio", help="Share of last year's rural income: 0.5–0.6."),
                    dry_run: bool = typer.Option(False, "--dry-run", help="Propose only; set nothing."),
                    as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """五保 (P7): propose and set each county's annual standard = last year's rural income × ratio."""
    from minxin.assistance.wubao import PROGRAM, derive_standards, parse_ratio

    if program != PROGRAM:
        fail(f"only {PROGRAM} standards are derived from statistics, not {program!r}")
    try:
        ratio_permille = parse_ratio(ratio) if ratio else None
    except ValidationError as exc:
        fail(exc.message)
    with work() as session:
        actor = actor_for(session, as_user)
        proposals = derive_standards(session, actor=actor, year=year, ratio_permille=ratio_permille,
                                     apply=not dry_run)
    data: list[dict[str, Any]] = [{"county": p.county, "name": p.name, "income_year": p.income_year,
             "rural_income_fen": p.rural_income_fen, "ratio_permille": p.ratio_permille,
             "annual_fen": p.annual_fen, "monthly_fen": p.annual_fen // 12, "explanation": p.explanation}
            for p in proposals]
    if as_json:
        print_json({"program": program, "year": year, "applied": not dry_run, "standards": data})
        return
    for d in data:
        out.print(f"{d['county']} {d['name']:<4} {d['explanation']}  (月 {format_yuan(d['monthly_fen'])})")
    console.print("proposed only (dry run)" if dry_run else f"set from {year}-01-01 for 集中 and 分散")


def report_wubao_rate(as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """五保 centralized support rate per county against the ≥70% target (P6)."""
    from minxin.assistance.wubao import centralized_rate

    with work(write=False) as session:
        rows = centralized_rate(session, user=actor_for(session, as_user))
    if as_json:
        print_json(rows)
        return
    for r in rows:
        mark = "达标" if r["meets_target"] else "未达标"
        out.print(f"{r['county']:<7} {r['name']:<4} 供养 {r['recipients']:>6} 集中 {r['centralized']:>6} "
                  f"集中率 {r['rate_permille'] / 10:5.1f}% (目标 {r['target_permille'] / 10:g}%) {mark}")


premium_app = typer.Typer(help="Premium subsidies 参保参合 (P3).", no_args_is_help=True)


@premium_app.command("roster")
def premium_roster(year: int, out_file: Path = typer.Argument(..., metavar="OUT"),
                   fmt: str = typer.Option("xlsx", "--format", help="xlsx or csv."),
                   as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """The year's roster of 低保 members and 五保 persons whose premium the city pays, for the agency."""
    from minxin.assistance.premiums import export_roster
    from minxin.clikit import progress_bar

    with work() as session, progress_bar(f"roster {year}") as update:
        actor = actor_for(session, as_user)
        update("生成", 0, 1)
        summary = export_roster(session, user=actor, year=year, target=out_file, fmt=fmt)
        update("生成", 1, 1)
    if as_json:
        print_json(summary.as_json())
        return
    console.print(f"roster written: {out_file}: {summary.people} people, {format_yuan(summary.total_fen)} 元 "
                  f"({summary.proration})")
    for scheme, b in summary.by_scheme.items():
        console.print(f"  {scheme}: {b['people']} people, {format_yuan(b['total_fen'])} 元")
