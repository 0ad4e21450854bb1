"""veterans: the extra months paid once on a recipient's death (丧葬补助费, 条例 Art.19 and Art.28)

Revision ID: 20261203_veteran_deaths
Revises: 20261203_rural_incomes
Create Date: 2026-12-03 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import minxin.infra.db

revision: str = '20261203_veteran_deaths'
down_revision: str | None = '20261203_rural_incomes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('veteran_death_benefits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('died_on', sa.Date(), nullable=False),
    sa.Column('cause', sa.String(length=16), nullable=False),
    sa.Column('rule', sa.String(length=16), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('pay_from', sa.String(length=7), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('created_at', minxin.infra.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("cause in ('illness','other')", name=op.f('ck_veteran_death_benefits_cause')),
    sa.CheckConstraint('months > 0', name=op.f('ck_veteran_death_benefits_months_positive')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_veteran_death_benefits_case_id_cases')),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], name=op.f('fk_veteran_death_benefits_cycle_id_cycles')),
    sa.ForeignKeyConstraint(['recipient_id'], ['veteran_recipients.id'],
                            name=op.f('fk_veteran_death_benefits_recipient_id_veteran_recipients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_veteran_death_benefits')),
    sa.UniqueConstraint('recipient_id', name=op.f('uq_veteran_death_benefits_recipient_id'))
    )
    with op.batch_alter_table('veteran_death_benefits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_veteran_death_benefits_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_veteran_death_benefits_cycle_id'), ['cycle_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('veteran_death_benefits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_veteran_death_benefits_cycle_id'))
        batch_op.drop_index(batch_op.f('ix_veteran_death_benefits_case_id'))
    op.drop_table('veteran_death_benefits')
