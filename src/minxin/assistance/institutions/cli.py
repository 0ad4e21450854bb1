"""Care institutions on the command line: `minxin institution add|list`."""

from __future__ import annotations

from datetime import date

import typer

from minxin.kit.clikit import AS_OPTION, JSON_OPTION, actor_for, console, fail, out, print_json, work

institution_app = typer.Typer(help="Care institutions (敬老院, 福利院 …).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(institution_app, name="institution")


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
