"""Rural per-capita net income per county and year (农民人均纯收入), entered in the web: the statistic the
五保 standard is derived from (until now only in the policy file).

Revision ID: 20261203_rural_incomes
Revises: 20261203_care_training
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from minxin.infra.db import UTCDateTime

revision: str = '20261203_rural_incomes'
down_revision: str | None = '20261203_care_training'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'rural_incomes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('county_code', sa.String(length=12), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('amount_fen', sa.BigInteger(), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=True),
        sa.Column('updated_by', sa.String(length=64), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.CheckConstraint('amount_fen > 0', name=op.f('ck_rural_incomes_amount_positive')),
        sa.CheckConstraint('year BETWEEN 1978 AND 2100', name=op.f('ck_rural_incomes_year_range')),
        sa.ForeignKeyConstraint(['county_code'], ['regions.code'], name=op.f('fk_rural_incomes_county_code_regions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rural_incomes')),
        sa.UniqueConstraint('county_code', 'year', name=op.f('uq_rural_incomes_county_code_year')),
    )
    op.create_index('ix_rural_incomes_county_code', 'rural_incomes', ['county_code'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_rural_incomes_county_code', table_name='rural_incomes')
    op.drop_table('rural_incomes')
