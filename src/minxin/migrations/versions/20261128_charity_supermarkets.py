"""charity supermarkets (慈善超市, plan P10) and their append-only ledger

Revision ID: 20261128_charity
Revises: 6fc62c4c4450
Create Date: 2026-11-28 12:42:59.779011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import minxin.infra.db

revision: str = '20261128_charity'
down_revision: str | None = '6fc62c4c4450'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('charity_supermarkets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('county_code', sa.String(length=12), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', minxin.infra.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['county_code'], ['regions.code'], name=op.f('fk_charity_supermarkets_county_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_supermarkets')),
    sa.UniqueConstraint('name', name=op.f('uq_charity_supermarkets_name'))
    )
    with op.batch_alter_table('charity_supermarkets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_supermarkets_county_code'), ['county_code'], unique=False)

    op.create_table('charity_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('supermarket_id', sa.Integer(), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('donor', sa.String(length=100), nullable=True),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('item', sa.String(length=64), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('value_fen', sa.BigInteger(), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('created_at', minxin.infra.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("(kind = 'correction' and reverses_id is not null) or (kind <> 'correction' and reverses_id is null)", name=op.f('ck_charity_ledger_correction_reverses')),
    sa.CheckConstraint("kind <> 'distribution' or (household_id is not null and quantity <= 0 and value_fen <= 0)", name=op.f('ck_charity_ledger_distribution')),
    sa.CheckConstraint("kind <> 'donation_goods' or (item is not null and quantity > 0 and value_fen >= 0 and donor is not null and household_id is null)", name=op.f('ck_charity_ledger_donation_goods')),
    sa.CheckConstraint("kind <> 'donation_money' or (item is null and value_fen > 0 and donor is not null and household_id is null)", name=op.f('ck_charity_ledger_donation_money')),
    sa.CheckConstraint("kind in ('donation_money','donation_goods','distribution','correction')", name=op.f('ck_charity_ledger_kind')),
    sa.CheckConstraint('(item is null and quantity = 0 and value_fen <> 0) or (item is not null and quantity <> 0)', name=op.f('ck_charity_ledger_item_quantity')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_charity_ledger_household_id_households')),
    sa.ForeignKeyConstraint(['reverses_id'], ['charity_ledger.id'], name=op.f('fk_charity_ledger_reverses_id_charity_ledger')),
    sa.ForeignKeyConstraint(['supermarket_id'], ['charity_supermarkets.id'], name=op.f('fk_charity_ledger_supermarket_id_charity_supermarkets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charity_ledger')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_charity_ledger_reverses_id'))
    )
    with op.batch_alter_table('charity_ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charity_ledger_household_id'), ['household_id'], unique=False)
        batch_op.create_index('ix_charity_ledger_supermarket_date', ['supermarket_id', 'entry_date'], unique=False)
        batch_op.create_index('ix_charity_ledger_supermarket_item', ['supermarket_id', 'item'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('charity_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_charity_ledger_supermarket_item')
        batch_op.drop_index('ix_charity_ledger_supermarket_date')
        batch_op.drop_index(batch_op.f('ix_charity_ledger_household_id'))

    op.drop_table('charity_ledger')
    with op.batch_alter_table('charity_supermarkets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charity_supermarkets_county_code'))

    op.drop_table('charity_supermarkets')
