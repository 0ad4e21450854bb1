"""`minxin report low-income`: the low-income doubling plan (P1) on the command line."""

from __future__ import annotations

import typer

from minxin.assistance.lowincome.rules import DEFAULT_HORIZON
from minxin.core.money import format_yuan, format_yuan_display, parse_yuan
from minxin.kit.clikit import AS_OPTION, JSON_OPTION, actor_for, out, print_json, report_app, work


def register(app: typer.Typer) -> None:
    """Add `low-income` to the shared `minxin report` group (cli.py adds the group to the app once)."""
    if not any(c.name == "low-income" for c in report_app.registered_commands):
        report_app.command("low-income")(low_income)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def low_income(
    base_year: int = typer.Option(..., "--base-year", help="The year the low-income cohort is taken in."),
    year: int = typer.Option(..., "--year", help="The year compared with the base year."),
    line: str = typer.Option(None, "--line", help="Low-income line in yuan per person per month "
                                                  "(default: 1.5 × the county's 低保 standard)."),
    horizon: int = typer.Option(DEFAULT_HORIZON, "--horizon", help="The year income should have doubled by."),
    as_json: bool = JSON_OPTION,
    as_user: str = AS_OPTION,
) -> None:
    """低收入居民倍增计划: per county, the base-year low-income households' per-capita income, growth and
    the yearly growth still needed to double by the horizon."""
    from minxin.assistance.lowincome.service import STATUS_NAMES, income_growth_report

    with work(write=False) as session:
        user = actor_for(session, as_user)
        line_fen = parse_yuan(line, field="--line") if line is not None else None
        rep = income_growth_report(session, user=user, base_year=base_year, year=year, low_income_line_fen=line_fen,
                                   horizon=horizon)
    if as_json:
        print_json(rep.as_json())
        return
    head = f"low-income households: cohort {rep.base_year}, compared in {rep.year}, doubling by {rep.horizon}"
    if rep.line_fen is not None:
        head += f", line {format_yuan(rep.line_fen)} 元"
    out.print(head, highlight=False)
    for c in [*rep.counties, rep.total]:
        out.print(f"  {c.county_code or '':<6} {c.name:<6} households {c.households:>6}  persons {c.persons:>6}  "
                  f"{rep.base_year} {format_yuan_display(c.base_per_capita_fen):>9}  "
                  f"{rep.year} {format_yuan_display(c.year_per_capita_fen):>9}  growth {_pct(c.growth_pct):>7}  "
                  f"needed/yr {_pct(c.required_annual_pct):>7}  {STATUS_NAMES[c.status]}  stale {c.stale}",
                  highlight=False)
    for note in rep.notes:
        out.print(f"  note: {note}", highlight=False)
