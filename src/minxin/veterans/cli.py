"""优抚 on the command line: `minxin veteran …` and `minxin report youfu-ontime`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from minxin.core.errors import ValidationError
from minxin.core.masking import mask_id, mask_name
from minxin.core.money import format_yuan
from minxin.core.period import Period
from minxin.kit.clikit import AS_OPTION, JSON_OPTION, actor_for, console, fail, out, print_json, report_app, work

veteran_app = typer.Typer(help="优抚 special-care recipients, services and resettlement (P21–P24).",
                          no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(veteran_app, name="veteran")
    report_app.command("youfu-ontime")(report_youfu_ontime)


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option} must be YYYY-MM-DD: {value}")


@veteran_app.command("import")
def veteran_import(
    file: Path,
    errors: Path = typer.Option(None, "--errors", help="Write the rows with their errors to this .xlsx."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check only; store nothing."),
    as_user: str = AS_OPTION,
) -> None:
    """Import recipients (姓名, 身份证号, 社区代码, 优抚类别, 子类, 开始月份, 账号[, 服役年限]); all rows or none."""
    from minxin.infra.settings import get_settings
    from minxin.kit.tabular import write_error_sheet
    from minxin.veterans.importer import import_veterans

    if not file.is_file():
        fail(f"no such file: {file}")
    if file.stat().st_size > get_settings().max_upload_bytes:
        fail(f"file too large: {file} (limit {get_settings().max_upload_bytes} bytes)")
    with work() as session:
        res = import_veterans(session, actor=actor_for(session, as_user), data=file.read_bytes(),
                              filename=file.name, dry_run=dry_run)
        # a refused file: the import undid its own writes; the command commits the run it recorded
    if not res.ok:
        for e in res.errors[:200]:
            out.print(str(e), highlight=False)
        if errors and res.table is not None:
            write_error_sheet(errors, res.table, res.errors)
            console.print(f"error sheet written: {errors}")
        fail(f"{len(res.errors)} error(s); nothing was imported")
    if dry_run:
        console.print(f"checked: {res.recipients} recipients would be imported")
    else:
        console.print(f"imported {res.recipients} recipients ({res.new_persons} new persons)")


@veteran_app.command("list")
def veteran_list(q: str = typer.Option("", "--q", help="Name, ID number or certificate."),
                 category: str = typer.Option("", "--category"), page: int = typer.Option(1, "--page"),
                 as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """Recipients in your scope, 50 a page."""
    from minxin.veterans.service import list_recipients

    with work(write=False) as session:
        res = list_recipients(session, user=actor_for(session, as_user), q=q, category=category, page=page,
                              page_size=50)
        rows = [{"id": r.id, "name": mask_name(p.name), "id_number": mask_id(p.id_number),
                 "region_code": r.region_code, "category": r.category, "subkind": r.subkind,
                 "service_years": r.service_years, "status": r.status, "case_id": r.case_id}
                for r, p in res.items]
    if as_json:
        print_json({"total": res.total, "page": res.page, "items": rows})
        return
    for row in rows:
        out.print(f"{row['id']:>7} {row['name']:<5} {row['id_number']} {row['region_code']} {row['category']}"
                  f"{'/' + row['subkind'] if row['subkind'] else ''} {row['status']}")
    console.print(f"{res.total} recipients, page {res.page}/{res.pages}")


@veteran_app.command("show")
def veteran_show(recipient_id: int, as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """A recipient: category, documents, status events, payments with explanations, service events."""
    from minxin.veterans.service import recipient_detail

    with work(write=False) as session:
        detail = recipient_detail(session, user=actor_for(session, as_user), recipient_id=recipient_id)
    if as_json:
        print_json(detail)
        return
    out.print(f"{detail['name']} {detail['id_number']} {detail['category_code']} {detail['status_name']}")
    for p in detail["payments"]:
        out.print(f"  {p['period']} {p['kind']:<9} {format_yuan(p['amount_fen']):>10}  {p['explanation']}")
    for e in detail["events"]:
        out.print(f"  {e['on']} {e['kind_name']} {e['note'] or ''}")


@veteran_app.command("event")
def veteran_event(recipient_id: int, kind: str = typer.Argument(..., help="moved_out or deceased"),
                  on: str = typer.Option(..., "--on", help="YYYY-MM-DD"), note: str = typer.Option(None, "--note"),
                  cause: str = typer.Option(None, "--cause", help="deceased: illness or other (残疾军人: required)"),
                  as_user: str = AS_OPTION) -> None:
    """Record a move out (迁出) or a death (死亡): the case ends with that month; a death of 三属 (6 months) or of a
    残疾军人 from illness (12 months) pays funeral aid in the county's next youfu cycle."""
    from minxin.veterans.service import record_status

    day = _date(on, "--on")
    with work() as session:
        r = record_status(session, actor=actor_for(session, as_user), recipient_id=recipient_id, kind=kind, on=day,
                          note=note, cause=cause)
        console.print(f"recipient {r.id}: {kind} on {day}")


@veteran_app.command("medical")
def veteran_medical(recipient_id: int, insurance: str = typer.Option(..., "--insurance"),
                    subsidy: bool = typer.Option(False, "--subsidy/--no-subsidy"), as_user: str = AS_OPTION) -> None:
    """P22: the recipient's medical insurance scheme and medical subsidy status."""
    from minxin.veterans.service import set_medical

    with work() as session:
        set_medical(session, actor=actor_for(session, as_user), recipient_id=recipient_id, insurance=insurance,
                    subsidy=subsidy)


@veteran_app.command("service")
def veteran_service(recipient_id: int, kind: str = typer.Argument(..., help="checkup or convalescence"),
                    on: str = typer.Option(..., "--on"), hospital: str = typer.Option(..., "--hospital"),
                    days: int = typer.Option(None, "--days"), as_user: str = AS_OPTION) -> None:
    """P23: one person-time of a free checkup or a convalescence stay."""
    from minxin.veterans.service import record_service

    day = _date(on, "--on")
    with work() as session:
        ev = record_service(session, actor=actor_for(session, as_user), recipient_id=recipient_id, kind=kind,
                            on=day, hospital=hospital, days=days)
        console.print(f"service event {ev.id} recorded")


@veteran_app.command("targets")
def veteran_targets(year: int, as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """P23: checkups and convalescence stays per county in the year against the targets."""
    from minxin.veterans.service import service_targets

    with work(write=False) as session:
        data = service_targets(session, user=actor_for(session, as_user), year=year)
    if as_json:
        print_json(data)
        return
    for row in data["counties"]:
        out.print(f"{row['county']} {row['county_name']:<4} 体检 {row['checkup']:>6} 疗养 {row['convalescence']:>5}")
    t, g = data["total"], data["targets"]
    out.print(f"合计 体检 {t['checkup']} (目标 ≥{g['checkup']}) 疗养 {t['convalescence']} (目标 ≥{g['convalescence']})")


@veteran_app.command("soldiers")
def veteran_soldiers(status: str = typer.Option("", "--status"), as_json: bool = JSON_OPTION,
                     as_user: str = AS_OPTION) -> None:
    """P24: retired soldiers, awaiting placement first and priority cases first (100 a page)."""
    from minxin.veterans.service import PLACEMENT_NAMES, list_soldiers

    with work(write=False) as session:
        res = list_soldiers(session, user=actor_for(session, as_user), status=status, page_size=100)
        rows: list[dict[str, Any]] = [
            {"id": s.id, "name": mask_name(p.name), "region_code": s.region_code,
             "discharged_on": s.discharged_on.isoformat(), "priority": s.priority,
             "priority_reason": s.priority_reason, "placement_status": s.placement_status}
            for s, p in res.items]
    if as_json:
        print_json({"total": res.total, "items": rows})
        return
    for row in rows:
        out.print(f"{row['id']:>6} {row['name']:<5} {row['region_code']} {'优先' if row['priority'] else '    '} "
                  f"{PLACEMENT_NAMES[row['placement_status']]}")


@veteran_app.command("soldier-add")
def veteran_soldier_add(id_number: str = typer.Argument(..., help="ID number of a registered person"),
                        discharged: str = typer.Option(..., "--discharged", help="YYYY-MM-DD"),
                        priority: str = typer.Option(None, "--priority", help="Priority placement, with its reason"),
                        as_user: str = AS_OPTION) -> None:
    """P24: register a retired soldier awaiting placement (优先安置 with --priority REASON)."""
    from minxin.veterans.service import add_soldier

    day = _date(discharged, "--discharged")
    with work() as session:
        s = add_soldier(session, actor=actor_for(session, as_user), id_number=id_number, discharged_on=day,
                        priority=priority is not None, priority_reason=priority)
        console.print(f"soldier {s.id} registered")


@veteran_app.command("soldier")
def veteran_soldier(soldier_id: int, as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """P24: a soldier's placement and training (each course: result, whether free)."""
    from minxin.veterans.service import soldier_detail

    with work(write=False) as session:
        d = soldier_detail(session, user=actor_for(session, as_user), soldier_id=soldier_id)
    if as_json:
        print_json(d)
        return
    out.print(f"{d['name']} {d['id_number']} {d['region_code']} 退役 {d['discharged_on']} {d['placement_name']}"
              f"{' 优先：' + d['priority_reason'] if d['priority'] else ''} 免费培训开训至 {d['free_until']}")
    for e in d["enrolments"]:
        out.print(f"  报名 {e['id']} {e['course']} {e['starts_on']}～{e['ends_on']} {e['result_name']} "
                  f"{e['certificate_no'] or ''} {'免费' if e['free'] else '超出免费期'}")


@veteran_app.command("placement")
def veteran_placement(soldier_id: int, status: str = typer.Argument(..., help="waiting, placed or self_employed"),
                      on: str = typer.Option(None, "--on", help="YYYY-MM-DD (placed, self_employed)"),
                      note: str = typer.Option(None, "--note"), as_user: str = AS_OPTION) -> None:
    """P24: record a soldier's placement status."""
    from minxin.veterans.service import set_placement

    day = _date(on, "--on") if on else None
    with work() as session:
        set_placement(session, actor=actor_for(session, as_user), soldier_id=soldier_id, status=status, on=day,
                      note=note)
        console.print(f"soldier {soldier_id}: {status}")


@veteran_app.command("course-add")
def veteran_course_add(name: str, region: str = typer.Option(..., "--region", help="County (or town, city) code"),
                       starts: str = typer.Option(..., "--starts"), ends: str = typer.Option(..., "--ends"),
                       provider: str = typer.Option(None, "--provider"), as_user: str = AS_OPTION) -> None:
    """P24: add a skills-training course."""
    from minxin.veterans.service import add_course

    first, last = _date(starts, "--starts"), _date(ends, "--ends")
    with work() as session:
        c = add_course(session, actor=actor_for(session, as_user), name=name, region_code=region, starts_on=first,
                       ends_on=last, provider=provider)
        console.print(f"course {c.id} added")


@veteran_app.command("courses")
def veteran_courses(page: int = typer.Option(1, "--page"), as_json: bool = JSON_OPTION,
                    as_user: str = AS_OPTION) -> None:
    """P24: courses in your scope with enrolment and pass counts, 50 a page."""
    from minxin.veterans.service import courses

    with work(write=False) as session:
        res = courses(session, user=actor_for(session, as_user), page=page, page_size=50)
        rows = [{"id": c.id, "name": c.name, "region_code": c.region_code, "starts_on": c.starts_on.isoformat(),
                 "ends_on": c.ends_on.isoformat(), "provider": c.provider, "enrolled": n, "passed": p}
                for c, n, p in res.items]
    if as_json:
        print_json({"total": res.total, "page": res.page, "items": rows})
        return
    for row in rows:
        out.print(f"{row['id']:>6} {row['name']} {row['region_code']} {row['starts_on']}～{row['ends_on']} "
                  f"报名 {row['enrolled']} 合格 {row['passed']}")
    console.print(f"{res.total} courses, page {res.page}/{res.pages}")


@veteran_app.command("enrol")
def veteran_enrol(soldier_id: int, course_id: int, as_user: str = AS_OPTION) -> None:
    """P24: enrol a soldier in a course of their region (free if it starts within a year of discharge)."""
    from minxin.veterans.service import enrol

    with work() as session:
        e = enrol(session, actor=actor_for(session, as_user), course_id=course_id, soldier_id=soldier_id)
        console.print(f"enrolment {e.id}")


@veteran_app.command("result")
def veteran_result(enrolment_id: int, result: str = typer.Argument(..., help="enrolled, passed, failed, withdrawn"),
                   certificate: str = typer.Option(None, "--certificate", help="Certificate number (passed)"),
                   as_user: str = AS_OPTION) -> None:
    """P24: record a training result."""
    from minxin.veterans.service import set_result

    with work() as session:
        set_result(session, actor=actor_for(session, as_user), enrolment_id=enrolment_id, result=result,
                   certificate_no=certificate)
        console.print(f"enrolment {enrolment_id}: {result}")


def report_youfu_ontime(period: str = typer.Argument(..., metavar="YYYY-MM"), as_json: bool = JSON_OPTION,
                        limit: int = typer.Option(1000, "--limit", help="Exceptions listed (0: all)."),
                        as_user: str = AS_OPTION) -> None:
    """P21 及时、足额: per county, recipients due, paid on time and in full, and the exceptions with reasons."""
    from minxin.veterans.service import ontime_report

    try:
        month = Period.parse(period)
    except ValidationError as exc:
        fail(exc.message)
    if limit < 0:
        fail("--limit must not be negative")
    with work(write=False) as session:
        report = ontime_report(session, user=actor_for(session, as_user), period=month, limit=limit or None)
    if as_json:
        print_json(report.as_json())
        return
    out.print(f"优抚 {report.period} 到账期限 {report.due_date}")
    for c in report.counties:
        out.print(f"{c['county']} {c['county_name']:<4} 应发 {c['due']:>7} 按时足额 {c['on_time']:>7} "
                  f"异常 {c['exceptions']:>6} {c['by_reason']}")
    for e in report.exceptions:
        out.print(f"  {e['county']} {e['name']} {e['id_number']} {e['category']} {e['reason_text']}")
