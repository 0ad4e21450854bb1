"""Premium subsidies on the command line: `minxin premium roster YEAR OUT`."""

from __future__ import annotations

from pathlib import Path

import typer

from minxin.core.money import format_yuan
from minxin.kit.clikit import AS_OPTION, JSON_OPTION, actor_for, console, print_json, work

premium_app = typer.Typer(help="Premium subsidies 参保参合 (P3).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(premium_app, name="premium")




@premium_app.command("roster")
def premium_roster(year: int, out_file: Path = typer.Argument(..., metavar="OUT"),
                   fmt: str = typer.Option("xlsx", "--format", help="xlsx or csv."),
                   as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """The year's roster of 低保 members and 五保 persons whose premium the city pays, for the agency."""
    from minxin.assistance.premiums.service import export_roster
    from minxin.kit.clikit import progress_bar

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
