"""cases: indexes for an arrears run's look-up of the cases changed or ended since the months it reaches

Revision ID: 20261203_case_change_indexes
Revises: 20261203_import_runs
Create Date: 2026-12-03 12:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '20261203_case_change_indexes'
down_revision: str | None = '20261203_import_runs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_cases_program_updated', 'cases', ['program_code', 'updated_at'])
    op.create_index('ix_cases_program_end', 'cases', ['program_code', 'end_period'])


def downgrade() -> None:
    op.drop_index('ix_cases_program_end', table_name='cases')
    op.drop_index('ix_cases_program_updated', table_name='cases')
