"""eldercare: home-care service centres, care workers, courses and exam results (P20)

Revision ID: 20261203_care_training
Revises: 20261203_eldercare_beds
Create Date: 2026-12-03 08:55:25.821561
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import minxin.infra.db

revision: str = '20261203_care_training'
down_revision: str | None = '20261203_eldercare_beds'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('care_centres',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', minxin.infra.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind in ('centre','demo_point')", name=op.f('ck_care_centres_kind')),
    sa.CheckConstraint("status in ('building','in_use','closed')", name=op.f('ck_care_centres_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_centres')),
    sa.UniqueConstraint('region_code', 'name', name=op.f('uq_care_centres_region_code_name'))
    )
    with op.batch_alter_table('care_centres', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_centres_region_code'), ['region_code'], unique=False)

    op.create_table('care_courses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('hours', sa.Integer(), nullable=False),
    sa.Column('organiser', sa.String(length=100), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', minxin.infra.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("level in ('初级','中级','高级','技师','高级技师')", name=op.f('ck_care_courses_level')),
    sa.CheckConstraint('ends_on >= starts_on', name=op.f('ck_care_courses_dates')),
    sa.CheckConstraint('hours > 0 AND hours <= 2000', name=op.f('ck_care_courses_hours')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_courses'))
    )
    with op.batch_alter_table('care_courses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_courses_region_code'), ['region_code'], unique=False)

    op.create_table('care_workers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('region_code', sa.String(length=12), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', minxin.infra.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['centre_id'], ['care_centres.id'], name=op.f('fk_care_workers_centre_id_care_centres')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_workers')),
    sa.UniqueConstraint('phone', name=op.f('uq_care_workers_phone'))
    )
    with op.batch_alter_table('care_workers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_workers_centre_id'), ['centre_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_workers_region_code'), ['region_code'], unique=False)

    op.create_table('care_enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('result', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('certificate_no', sa.String(length=40), nullable=True),
    sa.Column('certified_on', sa.Date(), nullable=True),
    sa.Column('enrolled_by', sa.String(length=64), nullable=False),
    sa.Column('enrolled_at', minxin.infra.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("(result = 'passed') = (certificate_no IS NOT NULL)", name=op.f('ck_care_enrolments_certificate')),
    sa.CheckConstraint("result in ('enrolled','passed','failed','withdrawn')", name=op.f('ck_care_enrolments_result')),
    sa.CheckConstraint('score IS NULL OR (score >= 0 AND score <= 100)', name=op.f('ck_care_enrolments_score')),
    sa.ForeignKeyConstraint(['course_id'], ['care_courses.id'], name=op.f('fk_care_enrolments_course_id_care_courses')),
    sa.ForeignKeyConstraint(['worker_id'], ['care_workers.id'], name=op.f('fk_care_enrolments_worker_id_care_workers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_enrolments')),
    sa.UniqueConstraint('course_id', 'worker_id', name=op.f('uq_care_enrolments_course_id_worker_id'))
    )
    with op.batch_alter_table('care_enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_care_enrolments_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_care_enrolments_worker_id'), ['worker_id'], unique=False)
        batch_op.create_index('uq_care_enrolments_certificate_no', ['certificate_no'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('care_enrolments', schema=None) as batch_op:
        batch_op.drop_index('uq_care_enrolments_certificate_no')
        batch_op.drop_index(batch_op.f('ix_care_enrolments_worker_id'))
        batch_op.drop_index(batch_op.f('ix_care_enrolments_course_id'))

    op.drop_table('care_enrolments')
    with op.batch_alter_table('care_workers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_workers_region_code'))
        batch_op.drop_index(batch_op.f('ix_care_workers_centre_id'))

    op.drop_table('care_workers')
    with op.batch_alter_table('care_courses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_courses_region_code'))

    op.drop_table('care_courses')
    with op.batch_alter_table('care_centres', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_care_centres_region_code'))

    op.drop_table('care_centres')
