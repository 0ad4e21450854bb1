"""Payments: the status check as three comparisons instead of an IN list (same rule).

SQLite evaluates `status in ('pending','paid','failed')` through a temporary table built for the
statement, one look-up per line written: ≈0.45 s of every million-line cycle (bench/RESULTS.md);
`status = 'pending' OR status = 'paid' OR status = 'failed'` costs ≈0.05 s.

SQLite keeps a table's checks in the text of its CREATE TABLE; replacing a check with an equivalent
one changes nothing stored, so the text is rewritten in place (the writable_schema procedure of
https://sqlite.org/lang_altertable.html#otheralter) instead of copying the table. PostgreSQL swaps
the constraint (its validation reads the lines once).

Revision ID: 20261201_line_status_check
Revises: 20261201_unsettled_lines
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '20261201_line_status_check'
down_revision: str | None = '20261201_unsettled_lines'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_LIST = "status in ('pending','paid','failed')"
COMPARED = "status = 'pending' OR status = 'paid' OR status = 'failed'"


def _swap(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f('ck_payments_status'), 'payments', type_='check')
        op.create_check_constraint(op.f('ck_payments_status'), 'payments', new)
        return
    before = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'payments'")).scalar()
    needle = f"CONSTRAINT ck_payments_status CHECK ({old})"
    if before is None or before.count(needle) != 1:
        raise RuntimeError(f"payments: expected the check {needle!r} once in the table's definition")
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar_one()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'payments'"),
                 {"sql": before.replace(needle, f"CONSTRAINT ck_payments_status CHECK ({new})")})
    bind.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))  # every connection re-reads the schema
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))
    problems = bind.execute(sa.text("PRAGMA integrity_check")).scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"payments: integrity check after the schema change: {problems[:3]}")


def upgrade() -> None:
    _swap(IN_LIST, COMPARED)


def downgrade() -> None:
    _swap(COMPARED, IN_LIST)
