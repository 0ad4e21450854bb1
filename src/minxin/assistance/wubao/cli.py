"""五保 on the command line: `minxin standard derive wubao YEAR` and `minxin report wubao-rate`."""

from __future__ import annotations

from typing import Any

import typer

from minxin.core.errors import ValidationError
from minxin.core.money import format_yuan
from minxin.kit.clikit import AS_OPTION, JSON_OPTION, actor_for, console, fail, out, print_json, report_app, work


def register(app: typer.Typer) -> None:
    from minxin.programs.cli import standard_app

    standard_app.command("derive")(standard_derive)
    report_app.command("wubao-rate")(report_wubao_rate)


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
