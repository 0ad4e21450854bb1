"""The `minxin` command: the platform's own commands, and each installed domain's (`minxin.domains`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from minxin.clikit import (
    AS_OPTION,
    JSON_OPTION,
    actor_for,
    console,
    fail,
    out,
    print_json,
    progress_bar,
    report_app,
    work,
)
from minxin.clock import today
from minxin.core.errors import MinxinError
from minxin.domains import init_hooks, installed, resolve_callable

app = typer.Typer(help="minxin 民心 — civil-affairs platform.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
import_app = typer.Typer(help="Import spreadsheets.", no_args_is_help=True)
template_app = typer.Typer(help="Write empty import templates.", no_args_is_help=True)
user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for machine clients.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
id_app = typer.Typer(help="Resident ID numbers (GB 11643).", no_args_is_help=True)
export_app = typer.Typer(help="Export lists to xlsx.", no_args_is_help=True)
app.add_typer(import_app, name="import")
import_app.add_typer(template_app, name="template")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
app.add_typer(id_app, name="id")
app.add_typer(export_app, name="export")


# ---- set-up --------------------------------------------------------------------------------------

@app.command()
def init() -> None:
    """Create or upgrade the database schema and load the city's regions and policy."""
    from minxin import migrate
    from minxin.auth.service import ensure_system_user
    from minxin.db import get_engine
    from minxin.registry.service import seed_regions

    engine = get_engine()
    migrate.upgrade(engine)
    with work() as session:
        added = seed_regions(session)
        ensure_system_user(session)
        for hook in init_hooks():
            hook(session)
    console.print(f"database ready: {engine.url.render_as_string(hide_password=True)} ({added} regions added)")


@app.command()
def serve(host: str = typer.Option(None, help="Bind address (default MINXIN_HOST or 127.0.0.1)."),
          port: int = typer.Option(None, help="Port (default MINXIN_PORT or 8000)."),
          reload: bool = typer.Option(False, help="Reload on code changes (development).")) -> None:
    """Serve the web UI and the JSON API."""
    import uvicorn

    from minxin.settings import get_settings

    settings = get_settings()
    uvicorn.run("minxin.web.app:create_app", factory=True, host=host or settings.host,
                port=port or settings.port, reload=reload, proxy_headers=True)


@app.command()
def demo(households: int = typer.Option(20_000, "--households", min=1, max=5_000_000,
                                        help="How many households to generate."),
         seed: int = typer.Option(2012, "--seed", help="Random seed: the same seed gives the same city."),
         if_missing: bool = typer.Option(False, "--if-missing",
                                         help="Do nothing (but print the logins) if this seed's demo exists."),
         as_user: str = AS_OPTION) -> None:
    """Generate a reproducible synthetic city: households, persons, 低保 cases and demo users."""
    from minxin.db import get_engine
    from minxin.demo.cases import seed_dibao_cases, seed_income_history, seed_wubao
    from minxin.demo.generator import DEMO_PASSWORD, demo_exists, generate_demo

    engine = get_engine()
    with work() as session:
        actor_name = actor_for(session, as_user).username
    if if_missing and demo_exists(engine, seed):
        console.print(f"the demo city for seed {seed} exists already; log in as admin / {DEMO_PASSWORD}")
        return
    with progress_bar("demo") as update:
        try:
            summary = generate_demo(engine, households=households, seed=seed, progress=update, actor=actor_name)
            update("低保", 0, 3)
            cases = seed_dibao_cases(engine, actor=actor_name)
            update("五保", 1, 3)
            wubao, centralized = seed_wubao(engine, actor=actor_name)
            update("收入", 2, 3)
            seed_income_history(engine)
            update("收入", 3, 3)
        except MinxinError as exc:
            fail(exc.message)
    console.print(summary.describe())
    console.print(f"低保 cases created: {cases}; 五保 recipients: {wubao} ({centralized} in institutions)")


# ---- registry ------------------------------------------------------------------------------------

@app.command()
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
    from minxin.registry.importer import import_households
    from minxin.tabular import write_error_sheet

    if not file.is_file():
        fail(f"no such file: {file}")
    data = file.read_bytes()
    with work() as session, progress_bar("import") as update:
        actor = actor_for(session, as_user)
        result = import_households(session, actor=actor, data=data, filename=file.name, progress=update,
                                   dry_run=dry_run)
        if not result.ok:
            session.rollback()
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


@app.command()
def stats(as_json: bool = JSON_OPTION) -> None:
    """Print the city's key counts."""
    from minxin.stats import city_stats

    with work(write=False) as session:
        data = city_stats(session)
    if as_json:
        print_json(data)
        return
    for k, v in data.items():
        out.print(f"{k:<24} {v}", highlight=False)


# ---- users, tokens, audit ------------------------------------------------------------------------

@user_app.command("add")
def user_add(name: str = typer.Argument(..., help="Username."),
             role: str = typer.Option(..., "--role", help="community_worker, town_officer, county_officer, "
                                      "city_admin, call_agent or auditor."),
             scope: str = typer.Option(..., "--scope", help="Region code the user works in."),
             display_name: str = typer.Option(None, "--display-name"),
             password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
             as_user: str = AS_OPTION) -> None:
    """Add a staff account (password prompted, or read with --password-stdin)."""
    from minxin.auth.service import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with work() as session:
        actor = actor_for(session, as_user)
        user = add_user(session, actor=actor, username=name, password=password, role=role, scope_code=scope,
                        display_name=display_name)
        console.print(f"user added: {user.username} ({user.role}, scope {user.scope_code})")


@user_app.command("list")
def user_list(as_json: bool = JSON_OPTION) -> None:
    """List staff accounts."""
    from sqlalchemy import select

    from minxin.auth.models import User

    with work(write=False) as session:
        users = session.execute(select(User).where(User.is_system.is_(False)).order_by(User.username)).scalars()
        data = [{"username": u.username, "role": u.role, "scope": u.scope_code, "active": u.is_active,
                 "locked_until": u.locked_until.isoformat() if u.locked_until else None} for u in users]
    if as_json:
        print_json(data)
        return
    for u in data:
        out.print(f"{u['username']:<20} {u['role']:<18} {u['scope']:<12} "
                  f"{'active' if u['active'] else 'disabled'}", highlight=False)


@user_app.command("unlock")
def user_unlock(name: str, as_user: str = AS_OPTION) -> None:
    """Clear a login lockout."""
    from minxin.auth import audit
    from minxin.auth.service import get_user

    with work() as session:
        actor = actor_for(session, as_user)
        user = get_user(session, name)
        user.locked_until = None
        user.failed_logins = 0
        audit.record(session, actor=actor.username, action="user.unlock", entity="user", entity_id=user.id)
    console.print(f"unlocked: {name}")


@token_app.command("create")
def token_create(username: str = typer.Argument(..., help="The user the token acts as."),
                 as_user: str = AS_OPTION) -> None:
    """Create an API token and print it (shown once). Send it as `Authorization: Bearer …`."""
    from minxin.auth.service import create_token, get_user

    with work() as session:
        actor = actor_for(session, as_user)
        plain = create_token(session, actor=actor, user=get_user(session, username))
    sys.stdout.write(plain + "\n")


@token_app.command("revoke")
def token_revoke(token: str = typer.Argument(..., help="The token, its first 10 characters, or its id."),
                 as_user: str = AS_OPTION) -> None:
    """Revoke an API token."""
    from minxin.auth.service import revoke_token

    with work() as session:
        actor = actor_for(session, as_user)
        t = revoke_token(session, actor=actor, token_id_or_prefix=token)
        console.print(f"revoked token {t.id} ({t.prefix}…)")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit trail's hash chain; exit 1 naming the first broken entry."""
    from minxin.auth.audit import verify

    with work(write=False) as session:
        result = verify(session)
    if result.ok:
        out.print(f"audit trail intact: {result.checked} entries verified", highlight=False)
        return
    out.print(f"audit trail BROKEN at entry {result.broken_id}: {result.reason} "
              f"({result.checked} entries before it verified)", highlight=False)
    raise typer.Exit(1)


@audit_app.command("log")
def audit_log(limit: int = typer.Option(20, "--limit"), as_json: bool = JSON_OPTION) -> None:
    """Show the latest audit entries."""
    from sqlalchemy import select

    from minxin.auth.models import AuditEvent

    with work(write=False) as session:
        rows = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)).scalars().all()
        data: list[dict[str, Any]] = [
            {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action, "entity": e.entity,
             "entity_id": e.entity_id, "detail": e.detail} for e in rows]
    if as_json:
        print_json(data)
        return
    for e in data:
        out.print(f"{e['id']:>7} {e['at'][:19]} {e['actor']:<14} {e['action']:<24} {e['entity']} "
                  f"{e['entity_id'] or ''} {e['detail']}", highlight=False)


def _register_domain_commands() -> None:
    """Each installed domain's `cli` modules add their commands (`register(app)`); one that fails to
    import stops the command with its error."""
    for domain in installed():
        for name in domain.cli:
            resolve_callable(f"{name}:register")(app)


_register_domain_commands()
app.add_typer(report_app, name="report")


def _die(message: str) -> None:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    sys.exit(1)


def main() -> None:
    """Entry point: no traceback ever reaches the user."""
    import logging

    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        console.print("interrupted; nothing from the interrupted step was stored")
        sys.exit(130)
    except OperationalError as exc:
        msg = str(exc.orig) if exc.orig else str(exc)
        if "no such table" in msg or "does not exist" in msg:
            _die("the database is not initialised: run `minxin init` first")
        _die(f"database error: {msg.splitlines()[0]}")
    except SQLAlchemyError as exc:
        _die(f"database error: {str(exc).splitlines()[0]}")
    except Exception as exc:
        logging.getLogger("minxin").exception("unexpected error")
        _die(f"unexpected error: {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    main()
