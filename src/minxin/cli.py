"""The `minxin` command: the platform's own commands, and each installed domain's (`minxin.domains`)."""

from __future__ import annotations

import sys

import typer

from minxin.core.errors import MinxinError
from minxin.domains import init_hooks, installed, resolve_callable
from minxin.kit.clikit import (
    AS_OPTION,
    JSON_OPTION,
    actor_for,
    console,
    export_app,
    fail,
    import_app,
    out,
    print_json,
    progress_bar,
    report_app,
    work,
)
from minxin.ops.cli import register as register_ops_commands

app = typer.Typer(help="minxin 民心 — civil-affairs platform.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)


# ---- set-up --------------------------------------------------------------------------------------

@app.command()
def init() -> None:
    """Create or upgrade the database schema, the audit key file, and load the city's regions and policy."""
    from minxin.auth import audit
    from minxin.auth.service import ensure_system_user
    from minxin.infra import migrate
    from minxin.infra.db import get_engine
    from minxin.registry.service import seed_regions

    key = audit.key_path()
    try:
        if audit.create_key(key):
            console.print(f"audit key created: {key} (mode 0600; keep it out of the database's backups)")
    except OSError as exc:
        fail(f"审计密钥文件无法创建：{key}（{exc}）")
    engine = get_engine()
    migrate.upgrade(engine)
    with work() as session:
        added = seed_regions(session)
        ensure_system_user(session)
        for hook in init_hooks():
            hook(session)
    # Re-anchor on every init: an upgraded database's unkeyed entries are pinned from here on.
    with work(write=False) as session:
        try:
            audit.write_anchor(session)
        except OSError as exc:
            fail(f"审计锚点文件无法写入：{audit.anchor_path()}（{exc}）")
    console.print(f"database ready: {engine.url.render_as_string(hide_password=True)} ({added} regions added)")


@app.command()
def serve(host: str = typer.Option(None, help="Bind address (default MINXIN_HOST or 127.0.0.1)."),
          port: int = typer.Option(None, help="Port (default MINXIN_PORT or 8000)."),
          workers: int = typer.Option(None, "--workers", min=1, max=64,
                                      help="Worker processes (default MINXIN_WORKERS or 1; production: "
                                           "2 × cores on PostgreSQL, see docs/deploy.md)."),
          reload: bool = typer.Option(False, help="Reload on code changes (development, one process).")) -> None:
    """Serve the web UI and the JSON API (JSON log lines on stderr)."""
    import uvicorn

    from minxin.auth.audit import audit_key
    from minxin.infra.settings import get_settings
    from minxin.web.logs import log_config

    settings = get_settings()
    try:
        audit_key()  # every write appends a keyed audit entry: refuse to start without the key
    except MinxinError as exc:
        fail(exc.message)
    n = workers or settings.workers
    if reload and n > 1:
        fail("--reload runs one process: it cannot be combined with --workers above 1")
    uvicorn.run("minxin.web.app:create_app", factory=True, host=host or settings.host,
                port=port or settings.port, reload=reload, workers=None if reload else n, proxy_headers=True,
                log_config=log_config(), access_log=False,
                # Open call consoles hold their live feed (SSE) open: on shutdown, give requests a few seconds.
                timeout_graceful_shutdown=3,
                # A worker that starts slowly (a busy machine) is not killed as unhealthy after 5 s.
                timeout_worker_healthcheck=60)


@app.command()
def demo(households: int = typer.Option(20_000, "--households", min=1, max=5_000_000,
                                        help="How many households to generate."),
         seed: int = typer.Option(2012, "--seed", help="Random seed: the same seed gives the same city."),
         if_missing: bool = typer.Option(False, "--if-missing",
                                         help="Do nothing (but print the logins) if this seed's demo exists."),
         as_user: str = AS_OPTION) -> None:
    """Generate a reproducible synthetic city: households, persons, 低保 cases and demo users."""
    from minxin.demo.cases import seed_dibao_cases, seed_income_history, seed_wubao
    from minxin.demo.children import seed_orphans
    from minxin.demo.eldercare import seed_eldercare
    from minxin.demo.generator import DEMO_PASSWORD, demo_exists, generate_demo
    from minxin.infra.db import get_engine

    engine = get_engine()
    with work() as session:
        actor_name = actor_for(session, as_user).username
    if if_missing and demo_exists(engine, seed):
        console.print(f"the demo city for seed {seed} exists already; log in as admin / {DEMO_PASSWORD}")
        return
    with progress_bar("demo") as update:
        try:
            summary = generate_demo(engine, households=households, seed=seed, progress=update, actor=actor_name)
            update("低保", 0, 5)
            cases = seed_dibao_cases(engine, actor=actor_name)
            update("五保", 1, 5)
            wubao, centralized = seed_wubao(engine, actor=actor_name)
            update("收入", 2, 5)
            seed_income_history(engine)
            update("儿童", 3, 5)
            orphans = seed_orphans(engine, actor=actor_name)
            from minxin.demo.veterans import seed_veterans

            update("优抚", 4, 5)
            youfu = seed_veterans(engine, actor=actor_name, seed=seed)
            update("养老", 5, 5)
            elder = seed_eldercare(engine, seed=seed, actor=actor_name)
        except MinxinError as exc:
            fail(exc.message)
    console.print(summary.describe())
    console.print(f"低保 cases created: {cases}; 五保 recipients: {wubao} ({centralized} in institutions); "
                  f"orphans: {orphans}")
    console.print(f"优抚 recipients: {youfu['recipients']}; retired soldiers: {youfu.get('soldiers', 0)}")
    console.print(elder.describe())


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


def _register_domain_commands() -> None:
    """Each installed domain's `cli` modules add their commands (`register(app)`); one that fails to
    import stops the command with its error."""
    for domain in installed():
        for name in domain.cli:
            resolve_callable(f"{name}:register")(app)


_register_domain_commands()
register_ops_commands(app)  # `minxin backup`, `minxin restore`: the platform's, like init and serve
# The groups several domains add to, registered once after them.
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(report_app, name="report")


def _die(message: str) -> None:
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
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
