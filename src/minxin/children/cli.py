"""`minxin child …`: import children with their guardians, list them, show one with its payments."""

from __future__ import annotations

from pathlib import Path

import typer

from minxin.kit.clikit import AS_OPTION, JSON_OPTION, actor_for, console, fail, out, print_json, work

child_app = typer.Typer(help="Orphans and children in hardship (孤儿基本生活费).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(child_app, name="child")


@child_app.command("import")
def child_import(
    file: Path,
    errors: Path = typer.Option(None, "--errors", help="Write the rows with their errors to this .xlsx."),
    dry_run: bool = typer.Option(False, "--dry-run"),
    as_user: str = AS_OPTION,
) -> None:
    """Children from a spreadsheet: an active orphan case and the guardian per row; all rows or none."""
    from minxin.children.service import import_children
    from minxin.kit.tabular import write_error_sheet

    if not file.is_file():
        fail(f"no such file: {file}")
    with work() as session:
        actor = actor_for(session, as_user)
        res = import_children(session, actor=actor, data=file.read_bytes(), filename=file.name, dry_run=dry_run)
        # a refused file: the import undid its own writes; the command commits the run it recorded
    if not res.ok:
        for e in res.errors[:200]:
            out.print(str(e), highlight=False)
        if errors and res.table is not None:
            write_error_sheet(errors, res.table, res.errors)
            console.print(f"error sheet written: {errors}")
        fail(f"{len(res.errors)} error(s); nothing was imported")
    console.print(f"{'checked' if dry_run else 'imported'} {res.cases} children")


@child_app.command("list")
def child_list(
    placement: str = typer.Option("", "--placement", help="集中养育 or 社会散居."),
    page: int = typer.Option(1, "--page", min=1),
    as_json: bool = JSON_OPTION,
    as_user: str = AS_OPTION,
) -> None:
    """The children of the actor's region, newest first (masked), one page of 50."""
    from minxin.children.service import list_children
    from minxin.core.masking import mask_id, mask_name

    with work(write=False) as session:
        actor = actor_for(session, as_user)
        found = list_children(session, user=actor, placement=placement or None, page=page, page_size=50)
        rows = [{"case_id": r.case_id, "name": mask_name(r.name), "id_number": mask_id(r.id_number),
                 "age": r.age, "region_code": r.region_code, "placement": r.placement,
                 "institution": r.institution, "status": r.status, "paid_until": r.last_month,
                 "guardian": mask_name(r.guardian_name) if r.guardian_name else None} for r in found.items]
    if as_json:
        print_json({"total": found.total, "page": found.page, "items": rows})
        return
    for r in rows:
        out.print(f"{r['case_id']}\t{r['name']}\t{r['id_number']}\t{r['placement']}\t{r['status']}\t"
                  f"至 {r['paid_until']}")
    console.print(f"{found.total} children, page {found.page}/{found.pages}")


@child_app.command("show")
def child_show(case_id: int, as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """One child: guardian, placement, case and payments with their explanations."""
    from minxin.children.api import child_out
    from minxin.children.service import get_child_for

    with work(write=False) as session:
        actor = actor_for(session, as_user)
        data = child_out(get_child_for(session, actor, case_id)).model_dump(mode="json")
    if as_json:
        print_json(data)
        return
    out.print(f"{data['name']} {data['id_number']} {data['age']} 岁，{data['placement']}"
              f"{'（' + data['institution'] + '）' if data['institution'] else ''}，发放至 {data['paid_until']}")
    guardian = data["guardian"]
    out.print(f"监护人：{guardian['name']}（{guardian['relation']}）" if guardian else "监护人：未登记")
    for p in data["payments"]:
        out.print(f"{p['cycle_period']}\t{p['kind']}\t{p['for_period']}\t{p['amount_fen'] / 100:.2f}\t"
                  f"{p['explanation']}")
