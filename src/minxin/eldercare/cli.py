"""`minxin eldercare …`: elderly import, escalation sweep (cron), care calls; `minxin report calls`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from minxin.kit.clikit import AS_OPTION, JSON_OPTION, actor_for, console, fail, out, print_json, progress_bar, work

eldercare_app = typer.Typer(help="Elderly care: elderly people, the call and rescue centre.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(eldercare_app, name="eldercare")
    from minxin.kit.clikit import report_app

    report_app.command("calls")(report_calls)
    report_app.command("occupancy")(report_occupancy)
    report_app.command("care-training")(report_care_training)


def _date(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        fail(f"{what} must be a date YYYY-MM-DD, not {value!r}")


@eldercare_app.command("import")
def import_cmd(
    file: Path = typer.Argument(..., help="An .xlsx or .csv file, one row per elderly person."),
    errors: Path = typer.Option(None, "--errors", help="Write the rows with their errors to this .xlsx."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check only; store nothing."),
    as_of: str = typer.Option(None, "--as-of", help="Age 60+ as of this date (default today)."),
    as_user: str = AS_OPTION,
) -> None:
    """Import elderly people's care records: the whole file is checked; nothing is stored if any row fails."""
    from minxin.eldercare.importer import import_elderly
    from minxin.kit.tabular import write_error_sheet

    day = _date(as_of, "--as-of")
    if not file.is_file():
        fail(f"no such file: {file}")
    data = file.read_bytes()
    with work() as session, progress_bar("import") as update:
        actor = actor_for(session, as_user)
        result = import_elderly(session, actor=actor, data=data, filename=file.name, as_of=day, progress=update,
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
        fail(f"{len(result.errors)} error(s); nothing was imported")
    if dry_run:
        console.print(f"checked {len(result.table.rows) if result.table else 0} rows: no errors (dry run)")
        return
    console.print(f"imported elderly people: {result.created} new, {result.updated} updated")


@eldercare_app.command("escalate")
def escalate_cmd(as_json: bool = JSON_OPTION) -> None:
    """Escalate every unacknowledged emergency past its deadline (for cron; the server does it too)."""
    from minxin.eldercare.calls import escalate_due

    with work() as session:
        ids = escalate_due(session)
    if as_json:
        print_json({"escalated": ids})
        return
    console.print(f"escalated {len(ids)} call(s)" + (f": {', '.join(map(str, ids))}" if ids else ""))


@eldercare_app.command("care-calls")
def care_calls_cmd(schedule: bool = typer.Option(False, "--schedule",
                                                 help="First put everyone living alone (独居) on the list."),
                   missed: bool = typer.Option(False, "--missed", help="Only the missed (overdue) ones."),
                   as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """List the scheduled care calls (主动关怀) due today; missed ones are flagged."""
    from minxin.eldercare.calls import care_calls_due, schedule_care_calls

    with work() as session:
        actor = actor_for(session, as_user)
        added = schedule_care_calls(session, actor=actor) if schedule else 0
        due = care_calls_due(session, user=actor, missed_only=missed, page_size=200)
        rows = [{"schedule_id": d.schedule.id, "person_id": d.schedule.person_id, "name": d.name, "phone": d.phone,
                 "due_on": d.schedule.next_due_on.isoformat(), "missed": d.missed} for d in due.items]
    if as_json:
        print_json({"scheduled": added, "total": due.total, "due": rows})
        return
    if schedule:
        console.print(f"scheduled {added} new care call(s)")
    for r in rows:
        out.print(f"{r['schedule_id']:>7} {r['due_on']} {'MISSED ' if r['missed'] else '       '}{r['name']} "
                  f"{r['phone'] or ''}", highlight=False)
    console.print(f"{due.total} care call(s) due")


@eldercare_app.command("provider-add")
def provider_add(name: str = typer.Argument(..., help="The provider's name (unique)."),
                 county: str = typer.Option(..., "--county", help="County code, e.g. 320706."),
                 phone: str = typer.Option(None, "--phone"),
                 services: str = typer.Option(None, "--services", help="e.g. 助餐、助洁、助医"),
                 as_user: str = AS_OPTION) -> None:
    """Register a home-care service provider that calls can order services from."""
    from minxin.eldercare.calls import add_provider

    with work() as session:
        actor = actor_for(session, as_user)
        p = add_provider(session, actor=actor, name=name, county_code=county, phone=phone, services=services)
        console.print(f"provider {p.id}: {p.name} ({p.county_code})")


def report_calls(period: str = typer.Argument(..., help="The month, YYYY-MM."),
                 as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """Calls of a month per county: by kind, time to answer and to dispatch, SLA breaches."""
    from minxin.core.errors import ValidationError
    from minxin.core.period import Period
    from minxin.eldercare.reports import calls_report

    try:
        month = Period.parse(period)
    except ValidationError as exc:
        fail(exc.message)
    with work(write=False) as session:
        data = calls_report(session, user=actor_for(session, as_user), period=month)
    if as_json:
        print_json(data)
        return
    out.print(f"calls {data['period']}  (answer SLA {data['answer_sla_seconds']} s, "
              f"dispatch SLA {data['dispatch_sla_seconds']} s)", highlight=False)
    for c in [*data["counties"], data["total"]]:
        k = c["by_kind"]
        out.print(f"{c['county']:<10} calls {c['calls']:>6}  emergency {k['emergency']:>5} service {k['service']:>5} "
                  f"consult {k['consult']:>5} unknown {k['unknown']:>5}  answer avg {c['answer_seconds_avg']} s "
                  f"p90 {c['answer_seconds_p90']} s  dispatch avg {c['dispatch_seconds_avg']} s  "
                  f"SLA breaches {c['answer_sla_breaches']}/{c['dispatch_sla_breaches']}  "
                  f"escalated {c['escalated']}", highlight=False)


# ---- institutions: construction, beds, residents ----------------------------------------------------

@eldercare_app.command("institution-status")
def institution_status(institution: int = typer.Argument(..., help="Institution id (minxin institution list)."),
                       status: str = typer.Argument(..., help="planned, building, structure_done or in_use."),
                       on: str = typer.Option(None, "--on", help="Date of the step YYYY-MM-DD (default today)."),
                       note: str = typer.Option(None, "--note"), as_user: str = AS_OPTION) -> None:
    """Record a construction step of an institution (规划 → 在建 → 主体完工 → 投入使用)."""
    from minxin.eldercare.institutions import STATUS_NAMES, set_construction_status

    with work() as session:
        actor = actor_for(session, as_user)
        event = set_construction_status(session, actor=actor, institution_id=institution, status=status,
                                        on=_date(on, "--on"), note=note)
        console.print(f"institution {institution}: {STATUS_NAMES[event.status]} from {event.on_date}")


@eldercare_app.command("beds")
def beds_cmd(institution: int = typer.Argument(..., help="Institution id."),
             add: int = typer.Option(..., "--add", help="How many numbered beds to add."),
             as_user: str = AS_OPTION) -> None:
    """Add beds to an institution."""
    from minxin.eldercare.institutions import add_beds

    with work() as session:
        total = add_beds(session, actor=actor_for(session, as_user), institution_id=institution, count=add)
        console.print(f"institution {institution}: {total} beds")


@eldercare_app.command("place")
def place_cmd(id_number: str = typer.Argument(..., help="The resident's ID number."),
              institution: int = typer.Option(..., "--institution", help="Institution id."),
              bed: str = typer.Option(None, "--bed", help="Bed label (default: the first free bed)."),
              on: str = typer.Option(None, "--on", help="Date YYYY-MM-DD (default today)."),
              as_user: str = AS_OPTION) -> None:
    """入住: place a resident in a free bed (a bed holds one person at a time)."""
    from minxin.eldercare.institutions import place_resident

    with work() as session:
        p = place_resident(session, actor=actor_for(session, as_user), institution_id=institution,
                           id_number=id_number, bed_label=bed, on=_date(on, "--on"))
        console.print(f"placed in bed {p.bed_id} from {p.from_date}")


@eldercare_app.command("discharge")
def discharge_cmd(id_number: str = typer.Argument(..., help="The resident's ID number."),
                  on: str = typer.Option(None, "--on", help="Date YYYY-MM-DD (default today)."),
                  as_user: str = AS_OPTION) -> None:
    """退住: end a resident's placement; the bed is free again."""
    from minxin.eldercare.institutions import discharge

    with work() as session:
        p = discharge(session, actor=actor_for(session, as_user), id_number=id_number, on=_date(on, "--on"))
        console.print(f"discharged on {p.to_date}")


def report_occupancy(as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """Beds, occupied and free per county (institutions in use) and institutions per construction status."""
    from minxin.eldercare.institutions import occupancy

    with work(write=False) as session:
        data = occupancy(session, user=actor_for(session, as_user))
    if as_json:
        print_json(data)
        return
    for c in data["counties"]:
        s = c["construction"]
        out.print(f"{c['name']:<8} beds {c['beds']:>6} occupied {c['occupied']:>6} free {c['free']:>6} "
                  f"({c['rate_permille'] / 10:.1f}%)  planned {s['planned']} building {s['building']} "
                  f"structure done {s['structure_done']} in use {s['in_use']}", highlight=False)


def report_care_training(year: int = typer.Argument(..., help="The year, e.g. 2012."), as_json: bool = JSON_OPTION,
                         as_user: str = AS_OPTION) -> None:
    """Service centres, demonstration points, towns covered, care workers, trained, passed and certified per
    county (plan P20)."""
    from minxin.core.errors import MinxinError
    from minxin.eldercare.training.service import training_counts

    with work(write=False) as session:
        try:
            data = training_counts(session, user=actor_for(session, as_user), year=year)
        except MinxinError as exc:
            fail(exc.message)
    if as_json:
        print_json(data)
        return
    for c in [*data["counties"], {**data["total"], "name": "合计"}]:
        out.print(f"{c['name']:<8} towns {c['towns_covered']:>3}/{c['towns']:<3} centres {c['centres']:>3} "
                  f"points {c['demo_points']:>3} workers {c['workers']:>5} trained {c['trained']:>5} "
                  f"passed {c['passed']:>5} certified {c['certified_workers']:>5}", highlight=False)
