"""Alembic environment: the URL comes from MINXIN_DATABASE_URL (or the caller's config)."""

from __future__ import annotations

from alembic import context

from minxin.infra.db import get_engine
from minxin.infra.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or None
    with get_engine(url).connect() as conn:
        _run(conn)
        conn.commit()


# On PostgreSQL the references of payments are checked by statement-level triggers instead of
# foreign keys (see the 20261201_payment_lines revision): the models keep declaring them.
_TRIGGER_CHECKED_FKS = {"fk_payments_case_id_cases", "fk_payments_cycle_id_cycles"}


def _include_object(dialect: str):  # type: ignore[no-untyped-def]
    def include(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
        return not (dialect == "postgresql" and type_ == "foreign_key_constraint" and name in _TRIGGER_CHECKED_FKS)
    return include


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_include_object(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
