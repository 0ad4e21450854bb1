"""medical assistance (医疗救助, plan P4, P5): settlement records with their assessment

Revision ID: 20261128_medical
Revises: 33bacf6628e6
Create Date: 2026-11-28 13:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import minxin.infra.db

revision: str = '20261128_medical'
down_revision: str | None = '33bacf6628e6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('medical_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.String(length=40), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('visit_date', sa.Date(), nullable=False),
    sa.Column('visit_period', sa.String(length=7), nullable=False),
    sa.Column('kind', sa.String(length=4), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('insurance_fen', sa.BigInteger(), nullable=False),
    sa.Column('serious_fen', sa.BigInteger(), nullable=False),
    sa.Column('in_scope_fen', sa.BigInteger(), nullable=False),
    sa.Column('category', sa.String(length=4), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('deductible_fen', sa.BigInteger(), nullable=False),
    sa.Column('ratio_permille', sa.Integer(), nullable=False),
    sa.Column('cap_fen', sa.BigInteger(), nullable=False),
    sa.Column('used_before_fen', sa.BigInteger(), nullable=False),
    sa.Column('raw_fen', sa.BigInteger(), nullable=False),
    sa.Column('assistance_fen', sa.BigInteger(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('cycle_id', sa.Integer(), nullable=True),
    sa.Column('batch', sa.String(length=16), nullable=False),
    sa.Column('created_at', minxin.infra.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("(status = 'assisted' and category is not null and case_id is not null) or (status = 'not_eligible' and assistance_fen = 0 and cycle_id is null and case_id is null)", name=op.f('ck_medical_records_eligible_or_not')),
    sa.CheckConstraint("category is null or category in ('低保','五保')", name=op.f('ck_medical_records_category')),
    sa.CheckConstraint("kind in ('门诊','住院')", name=op.f('ck_medical_records_kind')),
    sa.CheckConstraint("status in ('assisted','not_eligible')", name=op.f('ck_medical_records_status')),
    sa.CheckConstraint('assistance_fen <= raw_fen', name=op.f('ck_medical_records_assistance_within_raw')),
    sa.CheckConstraint('in_scope_fen <= total_fen', name=op.f('ck_medical_records_in_scope_within_total')),
    sa.CheckConstraint('insurance_fen + serious_fen <= total_fen', name=op.f('ck_medical_records_insurance_within_total')),
    sa.CheckConstraint('ratio_permille between 0 and 1000', name=op.f('ck_medical_records_ratio')),
    sa.CheckConstraint('total_fen >= 0 and insurance_fen >= 0 and serious_fen >= 0 and in_scope_fen >= 0 and deductible_fen >= 0 and cap_fen >= 0 and used_before_fen >= 0 and raw_fen >= 0 and assistance_fen >= 0', name=op.f('ck_medical_records_amounts_nonnegative')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_medical_records_case_id_cases')),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], name=op.f('fk_medical_records_cycle_id_cycles')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_medical_records_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_medical_records')),
    sa.UniqueConstraint('record_id', name=op.f('uq_medical_records_record_id'))
    )
    with op.batch_alter_table('medical_records', schema=None) as batch_op:
        batch_op.create_index('ix_medical_records_cycle_id', ['cycle_id'], unique=False, sqlite_where=sa.text('cycle_id IS NOT NULL'), postgresql_where=sa.text('cycle_id IS NOT NULL'))
        batch_op.create_index('ix_medical_records_person_visit', ['person_id', 'visit_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_medical_records_visit_date'), ['visit_date'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('medical_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_medical_records_visit_date'))
        batch_op.drop_index('ix_medical_records_person_visit')
        batch_op.drop_index('ix_medical_records_cycle_id', sqlite_where=sa.text('cycle_id IS NOT NULL'), postgresql_where=sa.text('cycle_id IS NOT NULL'))

    op.drop_table('medical_records')
