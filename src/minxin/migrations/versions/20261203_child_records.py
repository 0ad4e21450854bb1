"""children in need (孤儿基本生活费): child records with their guardian

Revision ID: 20261203_child_records
Revises: 20261203_audit_anchor
Create Date: 2026-12-03 06:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import minxin.infra.db

revision: str = '20261203_child_records'
down_revision: str | None = '20261203_audit_anchor'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('child_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('guardian_name', sa.String(length=64), nullable=False),
    sa.Column('guardian_relation', sa.String(length=16), nullable=False),
    sa.Column('guardian_phone', sa.String(length=20), nullable=True),
    sa.Column('guardian_id_number', sa.String(length=18), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', minxin.infra.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', minxin.infra.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("guardian_name <> ''", name=op.f('ck_child_records_guardian_named')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_child_records_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_child_records')),
    sa.UniqueConstraint('person_id', name=op.f('uq_child_records_person_id'))
    )
    with op.batch_alter_table('child_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_child_records_region_code'), ['region_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('child_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_child_records_region_code'))
    op.drop_table('child_records')
