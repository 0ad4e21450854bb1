"""eldercare: institutions' ownership and construction status with dated history, beds and residents

Revision ID: 20261203_eldercare_beds
Revises: 20261203_eldercare
Create Date: 2026-12-03 06:04:49.548359
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import minxin.infra.db

revision: str = '20261203_eldercare_beds'
down_revision: str | None = '20261203_eldercare'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('institution_beds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_institution_beds_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_institution_beds')),
    sa.UniqueConstraint('institution_id', 'label', name=op.f('uq_institution_beds_institution_id_label'))
    )
    op.create_table('institution_status_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('created_at', minxin.infra.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("status in ('planned','building','structure_done','in_use')", name=op.f('ck_institution_status_events_status')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_institution_status_events_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_institution_status_events'))
    )
    with op.batch_alter_table('institution_status_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_institution_status_events_institution_id'), ['institution_id'], unique=False)

    op.create_table('bed_placements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bed_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('from_date', sa.Date(), nullable=False),
    sa.Column('to_date', sa.Date(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('created_at', minxin.infra.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('to_date is null or to_date >= from_date', name=op.f('ck_bed_placements_dates')),
    sa.ForeignKeyConstraint(['bed_id'], ['institution_beds.id'], name=op.f('fk_bed_placements_bed_id_institution_beds')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_bed_placements_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bed_placements'))
    )
    with op.batch_alter_table('bed_placements', schema=None) as batch_op:
        batch_op.create_index('ix_bed_placements_bed', ['bed_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bed_placements_person_id'), ['person_id'], unique=False)
        batch_op.create_index('uq_bed_placements_open_bed', ['bed_id'], unique=True, sqlite_where=sa.text('to_date is null'), postgresql_where=sa.text('to_date is null'))
        batch_op.create_index('uq_bed_placements_open_person', ['person_id'], unique=True, sqlite_where=sa.text('to_date is null'), postgresql_where=sa.text('to_date is null'))

    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ownership', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('construction_status', sa.String(length=16), server_default='in_use', nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_institutions_construction_status'),
            "construction_status in ('planned','building','structure_done','in_use')")
        batch_op.create_check_constraint(op.f('ck_institutions_ownership'),
                                         "ownership is null or ownership in ('公办','民办','公建民营')")



def downgrade() -> None:
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_institutions_ownership'), type_='check')
        batch_op.drop_constraint(op.f('ck_institutions_construction_status'), type_='check')
        batch_op.drop_column('construction_status')
        batch_op.drop_column('ownership')

    with op.batch_alter_table('bed_placements', schema=None) as batch_op:
        batch_op.drop_index('uq_bed_placements_open_person', sqlite_where=sa.text('to_date is null'), postgresql_where=sa.text('to_date is null'))
        batch_op.drop_index('uq_bed_placements_open_bed', sqlite_where=sa.text('to_date is null'), postgresql_where=sa.text('to_date is null'))
        batch_op.drop_index(batch_op.f('ix_bed_placements_person_id'))
        batch_op.drop_index('ix_bed_placements_bed')

    op.drop_table('bed_placements')
    with op.batch_alter_table('institution_status_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_institution_status_events_institution_id'))

    op.drop_table('institution_status_events')
    op.drop_table('institution_beds')
