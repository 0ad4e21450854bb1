"""Import runs: every import of a file, its outcome and row errors; the failed ones wait as 待处理导入错误.

Revision ID: 20261203_import_runs
Revises: 20261203_homecare
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from minxin.infra.db import UTCDateTime

revision: str = '20261203_import_runs'
down_revision: str | None = '20261203_homecare'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'import_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('label', sa.String(length=60), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('region_code', sa.String(length=12), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=False),
        sa.Column('finished_at', UTCDateTime(), nullable=False),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('stored', sa.Integer(), nullable=False),
        sa.Column('error_count', sa.Integer(), nullable=False),
        sa.Column('errors', sa.JSON(), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.Column('resolved_at', UTCDateTime(), nullable=True),
        sa.Column('resolved_by', sa.String(length=64), nullable=True),
        sa.Column('resolved_by_run', sa.Integer(), nullable=True),
        sa.CheckConstraint("status in ('stored', 'failed', 'refused')", name=op.f('ck_import_runs_status')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs')),
    )
    op.create_index('ix_import_runs_region_code', 'import_runs', ['region_code'], unique=False)
    op.create_index('ix_import_runs_open', 'import_runs', ['resolved_at', 'status', 'started_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_import_runs_open', table_name='import_runs')
    op.drop_index('ix_import_runs_region_code', table_name='import_runs')
    op.drop_table('import_runs')
