"""Shared pieces of every domain's CLI: the actor (--as), one unit of work, errors, progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.auth.service import SYSTEM_USERNAME, ensure_system_user, get_user
from minxin.core.errors import MinxinError, NotFound
from minxin.infra.db import unit_of_work

console = Console(stderr=True)
out = Console(soft_wrap=True, markup=False)

AS_OPTION = typer.Option(SYSTEM_USERNAME, "--as", help="Record this user as the actor (default: system).")
JSON_OPTION = typer.Option(False, "--json", help="Print JSON.")


def fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def fail_import(errors: Sequence[Any], *, nothing: str = "nothing was imported") -> NoReturn:
    """Exit 1 with one line on stderr: the file's own refusal (a bomb, a wrong encoding) or the error count."""
    if len(errors) == 1 and errors[0].row <= 1:
        fail(f"{errors[0].reason}; {nothing}")
    fail(f"{len(errors)} error(s); {nothing}")


def actor_for(session: Session, username: str) -> User:
    if username == SYSTEM_USERNAME:
        return ensure_system_user(session)
    try:
        user = get_user(session, username)
    except NotFound:
        fail(f"unknown user for --as: {username}")
    if not user.is_active:
        fail(f"user {username} is disabled")
    return user


@contextmanager
def work(*, write: bool = True) -> Iterator[Session]:
    """One CLI command = one transaction; domain errors become a one-line message and exit 1."""
    try:
        with unit_of_work(write=write) as session:
            yield session
    except MinxinError as exc:
        fail(exc.message)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar on stderr; yields update(label, done, total).

    Only on a terminal: redirected to a file or a pipe, stderr keeps to what went wrong (one line).
    """
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False, disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task(description, total=None)

        def update(label: str, done: int, total: int) -> None:
            progress.update(task, description=f"{description} {label}", completed=done, total=total or None)

        yield update


# Groups several domains add commands to (`minxin report low-income`, `minxin import households`);
# cli.py registers each once, after every domain's `register`.
report_app = typer.Typer(help="Reports on the plan's targets.", no_args_is_help=True)
import_app = typer.Typer(help="Import spreadsheets.", no_args_is_help=True)
template_app = typer.Typer(help="Write empty import templates.", no_args_is_help=True)
import_app.add_typer(template_app, name="template")
export_app = typer.Typer(help="Export lists to xlsx.", no_args_is_help=True)
