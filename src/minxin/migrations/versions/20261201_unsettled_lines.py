"""Payments: a partial index over the lines an arrears run marks as unsettled (arrears_months = 0).

The one-pass arrears computation marks the few cases whose months disagree on their new line for the
length of the run; finding them was a walk over every line of the cycle (0.2 s on SQLite, 0.7 s on
PostgreSQL at a million lines). The index holds only marked lines, so it is empty at rest and costs a
line written one test of its condition.

Revision ID: 20261201_unsettled_lines
Revises: 20261201_household_facts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '20261201_unsettled_lines'
down_revision: str | None = '20261201_household_facts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_payments_unsettled', 'payments', ['cycle_id', 'case_id'], unique=False,
                    sqlite_where=sa.text('arrears_months = 0'), postgresql_where=sa.text('arrears_months = 0'))


def downgrade() -> None:
    op.drop_index('ix_payments_unsettled', table_name='payments')
