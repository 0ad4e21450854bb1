"""Accounts, API tokens and the audit trail: `minxin user|token|audit …`."""

from __future__ import annotations

import sys
from typing import Any

import typer

from minxin.kit.clikit import AS_OPTION, JSON_OPTION, actor_for, console, fail, out, print_json, work

user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for machine clients.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")
    app.add_typer(audit_app, name="audit")


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
    """List staff accounts (`locked_until`: until when the name's failed logins make it wait, if now)."""
    from sqlalchemy import select

    from minxin.auth.models import User
    from minxin.auth.service import login_wait

    with work(write=False) as session:
        users = session.execute(select(User).where(User.is_system.is_(False)).order_by(User.username)).scalars()
        data: list[dict[str, Any]] = []
        for user in users:
            wait = login_wait(session, username=user.username)
            data.append({"username": user.username, "role": user.role, "scope": user.scope_code,
                         "active": user.is_active, "locked_until": wait.isoformat() if wait else None})
    if as_json:
        print_json(data)
        return
    for u in data:
        out.print(f"{u['username']:<20} {u['role']:<18} {u['scope']:<12} "
                  f"{'active' if u['active'] else 'disabled'}", highlight=False)


@user_app.command("unlock")
def user_unlock(name: str, as_user: str = AS_OPTION) -> None:
    """Forget the failed logins counted against a user name (its wait ends now)."""
    from minxin.auth.service import clear_login_throttle

    with work() as session:
        actor = actor_for(session, as_user)
        clear_login_throttle(session, actor=actor, username=name)
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
    """Check the audit trail: hash chain, HMACs and the anchor file; exit 1 naming the first broken entry
    or the truncation."""
    from minxin.auth.audit import AnchorFileError, anchor_path, verify

    try:
        with work(write=False) as session:
            result = verify(session)
    except AnchorFileError as exc:
        fail(str(exc))
    if result.ok:
        out.print(f"audit trail intact: {result.checked} entries verified", highlight=False)
        if result.anchor_file is None:
            console.print(f"warning: no anchor file at {anchor_path()}: a truncation of the newest entries "
                          "cannot be detected", highlight=False)
        else:
            console.print(f"{result.keyed} keyed; anchored up to entry {result.anchored_id} ({result.anchor_file})",
                          highlight=False)
        return
    if result.broken_id is None:
        out.print(f"audit trail BROKEN: {result.reason} ({result.checked} entries verified)", highlight=False)
    else:
        out.print(f"audit trail BROKEN at entry {result.broken_id}: {result.reason} "
                  f"({result.checked} entries before it verified)", highlight=False)
    raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor() -> None:
    """Append the current head of the audit chain to the anchor file now."""
    from minxin.auth.audit import anchor_path, write_anchor

    try:
        with work(write=False) as session:
            anchor = write_anchor(session)
    except OSError as exc:
        fail(f"审计锚点文件无法写入：{anchor_path()}（{exc}）")
    if anchor is None:
        out.print("audit trail empty: nothing to anchor", highlight=False)
        return
    out.print(f"anchored entry {anchor.id} in {anchor_path()}", highlight=False)


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
