"""`minxin backup OUT` and `minxin restore FILE [--force]`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import typer

from minxin.kit.clikit import AS_OPTION, actor_for, console, fail, progress_bar, work


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)


@contextmanager
def _progress(description: str) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar that appears with the first step: a refusal prints its one error line only."""
    with ExitStack() as stack:
        bar: list[Callable[[str, int, int], None]] = []

        def update(label: str, done: int, total: int) -> None:
            if not bar:
                bar.append(stack.enter_context(progress_bar(description)))
            bar[0](label, done, total)

        yield update


def backup(out_file: Path = typer.Argument(..., metavar="OUT", help="Where to write the backup file."),
           as_user: str = AS_OPTION) -> None:
    """Back up the whole database while it runs: SQLite's online backup API, or pg_dump (custom format)."""
    from minxin.auth import audit
    from minxin.core.errors import MinxinError
    from minxin.infra.settings import get_settings
    from minxin.ops.backup import backup_database

    with work(write=False) as session:
        actor = actor_for(session, as_user).username
    try:
        with _progress("backup") as update:
            result = backup_database(database_url=get_settings().database_url, out=out_file, progress=update)
    except MinxinError as exc:
        fail(exc.message)
    # The file holds every ID number in clear, like an unmasked export: the trail says who made it.
    with work() as session:
        audit.record(session, actor=actor, action="database.backup", entity="database",
                     detail={"file": str(out_file.resolve()), "bytes": result.bytes, "kind": result.kind})
    console.print(result.describe(), highlight=False, soft_wrap=True)


def restore(file: Path = typer.Argument(..., help="A backup written by `minxin backup`."),
            force: bool = typer.Option(False, "--force", help="Replace a database that is not empty."),
            as_user: str = AS_OPTION) -> None:
    """Restore a backup into the database (MINXIN_DATABASE_URL); a non-empty one only with --force."""
    from minxin.auth import audit
    from minxin.core.errors import MinxinError
    from minxin.infra import migrate
    from minxin.infra.db import get_engine
    from minxin.infra.settings import get_settings
    from minxin.ops.backup import restore_database

    try:
        with _progress("restore") as update:
            result = restore_database(database_url=get_settings().database_url, source=file, force=force,
                                      progress=update)
    except MinxinError as exc:
        fail(exc.message)
    console.print(result.describe(), highlight=False, soft_wrap=True)
    engine = get_engine()
    with engine.connect() as conn:
        current = migrate.schema_is_current(conn)
    if not current:
        console.print("the backup's schema is not this version's: run `minxin init` to upgrade it",
                      highlight=False)
        return
    with work() as session:
        actor = actor_for(session, as_user).username
        audit.record(session, actor=actor, action="database.restore", entity="database",
                     detail={"file": str(file.resolve()), "replaced": result.replaced})
