"""Assistance tests: the assistance tables in Base.metadata, and the domain CLIs over a temporary SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer

from minxin.assistance.supermarkets import models as _supermarket_models  # noqa: F401 - registers the tables


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[typer.Typer, dict[str, object]]]:
    """The supermarket and low-income commands over a fresh SQLite file (MINXIN_DATABASE_URL)."""
    from tests.conftest import make_user
    from tests.factories import household

    from minxin.assistance.lowincome import cli as lowincome_cli
    from minxin.assistance.supermarkets import cli as supermarket_cli
    from minxin.auth.service import ensure_system_user
    from minxin.infra import db, migrate
    from minxin.infra.settings import get_settings
    from minxin.kit.clikit import report_app
    from minxin.programs.service import init_programs
    from minxin.registry.service import seed_regions

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("MINXIN_DATABASE_URL", url)
    get_settings.cache_clear()
    db._engine_for.cache_clear()
    engine = db.get_engine()
    migrate.upgrade(engine)
    facts: dict[str, object] = {}
    with db.unit_of_work(engine) as s:
        seed_regions(s)
        ensure_system_user(s)
        init_programs(s)
        officer = make_user(s, username="hz_officer", role="county_officer", scope="320706")
        make_user(s, username="auditor1", role="auditor", scope="320700")
        facts["household_no"] = household(s, officer, no="HZ0001").household_no
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """minxin (test root)."""

    supermarket_cli.register(app)
    lowincome_cli.register(app)
    app.add_typer(report_app, name="report")  # as minxin.cli does once for every domain's reports
    yield app, facts
    engine.dispose()
    get_settings.cache_clear()
    db._engine_for.cache_clear()
