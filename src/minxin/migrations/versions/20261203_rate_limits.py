"""Rate limits shared by every worker process: one row per key (the public objection form per client
address) with its window and the attempts counted in it.

Revision ID: 20261203_rate_limits
Revises: 20261203_county_cycles
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from minxin.infra.db import UTCDateTime

revision: str = '20261203_rate_limits'
down_revision: str | None = '20261203_county_cycles'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'rate_limits',
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.Column('window_start', UTCDateTime(), nullable=False),
        sa.Column('hits', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limits')),
    )
    op.create_index('ix_rate_limits_window_start', 'rate_limits', ['window_start'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_rate_limits_window_start', table_name='rate_limits')
    op.drop_table('rate_limits')
