"""Registry commands: `minxin regions`, `minxin id check`, `minxin import|export households`,
`minxin import template households`."""

from __future__ import annotations

from pathlib import Path

import typer

from minxin.infra.clock import today
from minxin.kit.clikit import (
    AS_OPTION,
    JSON_OPTION,
    actor_for,
    console,
    export_app,
    fail,
    fail_import,
    import_app,
    out,
    print_json,
    progress_bar,
    template_app,
    work,
)

id_app = typer.Typer(help="Resident ID numbers (GB 11643).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command()(regions)
    app.add_typer(id_app, name="id")


def regions(level: str = typer.Option(None, "--level", help="county, town or community."),
            as_json: bool = JSON_OPTION) -> None:
    """List the city's regions."""
    from minxin.registry.service import list_regions

    with work(write=False) as session:
        rows = list_regions(session, level=level)
        data = [{"code": r.code, "name": r.name, "level": r.level, "urban": r.urban, "parent": r.parent_code,
                 "alias_of": r.alias_of} for r in rows]
    if as_json:
        print_json(data)
        return
    for r in data:
        flag = "城镇" if r["urban"] else "农村"
        alias = f"  (historical, now {r['alias_of']})" if r["alias_of"] else ""
        out.print(f"{r['code']:<12} {r['level']:<9} {flag}  {r['name']}{alias}", highlight=False)


@id_app.command("check")
def id_check(numbers: list[str] = typer.Argument(..., help="One or more ID numbers.")) -> None:
    """Check ID numbers: print each normalised with birth date, sex and region, or why it is invalid."""
    from minxin.core.errors import ValidationError
    from minxin.core.idnumber import parse_id, region_name_for

    bad = 0
    now = today()
    for raw in numbers:
        try:
            info = parse_id(raw)
        except ValidationError as exc:
            bad += 1
            out.print(f"{raw}\tINVALID\t{exc.message}", highlight=False)
            continue
        sex = "男 M" if info.sex == "M" else "女 F"
        region = region_name_for(info.region_code) or ""
        out.print(f"{info.number}\t{info.birth_date.isoformat()}\t{sex}\t{info.age_on(now)}岁\t"
                  f"{info.region_code} {region}", highlight=False)
    if bad:
        raise typer.Exit(1)


@import_app.command("households")
def import_households_cmd(
    file: Path = typer.Argument(..., help="An .xlsx or .csv file, one row per person."),
    errors: Path = typer.Option(None, "--errors", help="Write the rows with their errors to this .xlsx."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check only; store nothing."),
    as_user: str = AS_OPTION,
) -> None:
    """Import households: the whole file is checked first; nothing is stored if any row fails."""
    from minxin.kit.tabular import write_error_sheet
    from minxin.registry.importer import import_households

    if not file.is_file():
        fail(f"no such file: {file}")
    data = file.read_bytes()
    with work() as session, progress_bar("import") as update:
        actor = actor_for(session, as_user)
        result = import_households(session, actor=actor, data=data, filename=file.name, progress=update,
                                   dry_run=dry_run)
        # a refused file: the import undid its own writes; the command commits the run it recorded
    if not result.ok:
        for e in result.errors[:200]:
            out.print(str(e), highlight=False)
        if len(result.errors) > 200:
            out.print(f"... and {len(result.errors) - 200} more errors", highlight=False)
        if errors and result.table is not None:
            write_error_sheet(errors, result.table, result.errors)
            console.print(f"error sheet written: {errors}")
        fail_import(result.errors)
    if dry_run:
        console.print(f"checked {len(result.table.rows) if result.table else 0} rows: no errors (dry run)")
        return
    console.print(f"imported {result.households} households, {result.persons} persons")


@template_app.command("households")
def template_households(out_file: Path = typer.Argument(..., help="Where to write the .xlsx template.")) -> None:
    """Write the empty household import template."""
    from minxin.registry.importer import template_bytes

    out_file.write_bytes(template_bytes())
    console.print(f"template written: {out_file}")


@export_app.command("households")
def export_households(out_file: Path = typer.Argument(..., help="Where to write the .xlsx."),
                      region: str = typer.Option(None, "--region", help="Only this region (code prefix)."),
                      unmasked: bool = typer.Option(False, "--unmasked", help="Full ID numbers (audited)."),
                      as_user: str = AS_OPTION) -> None:
    """Export the registry (one row per person) to xlsx; masked unless --unmasked."""
    from minxin.registry.export import export_persons

    with work() as session:
        actor = actor_for(session, as_user)
        export_persons(session, user=actor, target=out_file, region_code=region, unmasked=unmasked)
    console.print(f"written: {out_file}")
