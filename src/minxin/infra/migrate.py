"""Alembic, driven from code: `minxin init` upgrades, tests check models and migrations agree."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"  # src/minxin/migrations


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@contextmanager
def migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for migrations. On SQLite, foreign keys are off while it lasts (a table rebuilt by
    a batch migration is dropped and renamed, which enforced keys would refuse), and every key is checked
    before it commits, as sqlite.org's procedure for schema changes says."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        raw = conn.connection.driver_connection if sqlite else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")  # outside any transaction, where it takes effect
        try:
            with conn.begin():
                yield conn
                if raw is not None:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                    if broken is not None:
                        raise RuntimeError(f"migration left a broken reference: {tuple(broken)}")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with migrating(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def check(engine: Engine) -> None:
    """Raise if the models and the migrations disagree (alembic check)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)


def head_revisions() -> tuple[str, ...]:
    """The head revision(s) of the migrations shipped with this code."""
    from alembic.script import ScriptDirectory

    if not _HEADS:
        _HEADS.extend(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))
    return tuple(_HEADS)


_HEADS: list[str] = []


def schema_is_current(connection: Connection) -> bool:
    """True when the database's Alembic revision is this code's head (False: missing, behind, ahead)."""
    from alembic.runtime.migration import MigrationContext

    current = MigrationContext.configure(connection).get_current_heads()
    return tuple(sorted(current)) == head_revisions()
