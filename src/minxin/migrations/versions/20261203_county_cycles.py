"""County cycles and generic fact slots.

* cycles.county_code: a cycle is one program, one month and one county. Cycles computed before are
  city-wide: they get the city's code (the regions table's city, else 320700) and stay as they are,
  lines unchanged; a county run refuses a month that already has a city-wide cycle.
* UNIQUE (program_code, period, county_code) replaces UNIQUE (program_code, period).
* payments.units / arrears_units: how many of a rule's units an amount counts (records, years of
  service). Medical-assistance lines stored their record count in `members`; it moves to `units`, so
  `members` means household members only.
* ix_cases_program_status gains region_code: a county's run reads its cases as one key range.

Revision ID: 20261203_county_cycles
Revises: 20261201_line_status_check
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '20261203_county_cycles'
down_revision: str | None = '20261201_line_status_check'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    city = bind.execute(sa.text("SELECT code FROM regions WHERE level = 'city' ORDER BY code LIMIT 1")).scalar() \
        or '320700'
    with op.batch_alter_table('cycles') as batch_op:
        batch_op.add_column(sa.Column('county_code', sa.String(length=6), nullable=True))
    op.execute(sa.text("UPDATE cycles SET county_code = :city").bindparams(city=city))
    with op.batch_alter_table('cycles') as batch_op:
        batch_op.alter_column('county_code', existing_type=sa.String(length=6), nullable=False)
        batch_op.drop_constraint('uq_cycles_program_code_period', type_='unique')
        batch_op.create_unique_constraint('uq_cycles_program_code_period_county_code',
                                          ['program_code', 'period', 'county_code'])
    op.add_column('payments', sa.Column('units', sa.BigInteger(), nullable=True))
    op.add_column('payments', sa.Column('arrears_units', sa.BigInteger(), nullable=True))
    op.execute("UPDATE payments SET units = members, members = NULL WHERE rule = 'medical'")
    op.drop_index('ix_cases_program_status', table_name='cases')
    op.create_index('ix_cases_program_status', 'cases', ['program_code', 'status', 'region_code'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cases_program_status', table_name='cases')
    op.create_index('ix_cases_program_status', 'cases', ['program_code', 'status'], unique=False)
    op.execute("UPDATE payments SET members = units WHERE rule = 'medical'")
    with op.batch_alter_table('payments') as batch_op:
        batch_op.drop_column('arrears_units')
        batch_op.drop_column('units')
    with op.batch_alter_table('cycles') as batch_op:
        batch_op.drop_constraint('uq_cycles_program_code_period_county_code', type_='unique')
        batch_op.create_unique_constraint('uq_cycles_program_code_period', ['program_code', 'period'])
        batch_op.drop_column('county_code')
