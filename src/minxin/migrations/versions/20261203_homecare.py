"""homecare: providers' staff, bank account and case; orders' value, times and settlement; entitlement balances

Revision ID: 20261203_homecare
Revises: 20261203_veteran_deaths
Create Date: 2026-12-03 08:54:43.005111
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import minxin.infra.db

revision: str = '20261203_homecare'
down_revision: str | None = '20261203_veteran_deaths'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('homecare_balances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('limit_fen', sa.BigInteger(), nullable=False),
    sa.Column('used_fen', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', minxin.infra.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('limit_fen >= 0 AND used_fen >= 0', name=op.f('ck_homecare_balances_nonnegative')),
    sa.CheckConstraint('used_fen <= limit_fen', name=op.f('ck_homecare_balances_within_entitlement')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_homecare_balances_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_homecare_balances')),
    sa.UniqueConstraint('person_id', 'period', name=op.f('uq_homecare_balances_person_id_period'))
    )
    op.create_table('provider_staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('qualification', sa.String(length=64), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', minxin.infra.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['service_providers.id'], name=op.f('fk_provider_staff_provider_id_service_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_staff'))
    )
    with op.batch_alter_table('provider_staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provider_staff_provider_id'), ['provider_id'], unique=False)

    with op.batch_alter_table('service_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('period', sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column('minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('value_fen', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('staff_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('started_at', minxin.infra.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('finished_at', minxin.infra.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('finished_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('settled_cycle_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_service_orders_person_period', ['person_id', 'period'], unique=False)
        batch_op.create_index('ix_service_orders_settle', ['provider_id', 'status', 'period'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_orders_settled_cycle_id'), ['settled_cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_orders_staff_id'), ['staff_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_service_orders_settled_cycle_id_cycles'), 'cycles', ['settled_cycle_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_service_orders_staff_id_provider_staff'), 'provider_staff', ['staff_id'], ['id'])
        batch_op.create_check_constraint(op.f('ck_service_orders_value_nonnegative'), 'value_fen >= 0')
        batch_op.create_check_constraint(op.f('ck_service_orders_minutes_positive'), 'minutes is null or minutes > 0')
        batch_op.create_check_constraint(op.f('ck_service_orders_value_dated'), 'value_fen = 0 or period is not null')
        batch_op.create_check_constraint(
            op.f('ck_service_orders_finished_after_start'),
            'finished_at is null or (started_at is not null and finished_at >= started_at)')
        batch_op.create_check_constraint(op.f('ck_service_orders_finished_dated'),
                                         "status <> 'finished' or finished_at is not null")

    with op.batch_alter_table('service_providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_name', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('credit_code', sa.String(length=18), nullable=True))
        batch_op.add_column(sa.Column('bank_account', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_service_providers_case_id'), ['case_id'])
        batch_op.create_foreign_key(batch_op.f('fk_service_providers_case_id_cases'), 'cases', ['case_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('service_providers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_service_providers_case_id_cases'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_service_providers_case_id'), type_='unique')
        batch_op.drop_column('case_id')
        batch_op.drop_column('bank_account')
        batch_op.drop_column('credit_code')
        batch_op.drop_column('contact_name')

    with op.batch_alter_table('service_orders', schema=None) as batch_op:
        for name in ('finished_dated', 'finished_after_start', 'value_dated', 'minutes_positive', 'value_nonnegative'):
            batch_op.drop_constraint(op.f(f'ck_service_orders_{name}'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_service_orders_staff_id_provider_staff'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_service_orders_settled_cycle_id_cycles'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_service_orders_staff_id'))
        batch_op.drop_index(batch_op.f('ix_service_orders_settled_cycle_id'))
        batch_op.drop_index('ix_service_orders_settle')
        batch_op.drop_index('ix_service_orders_person_period')
        batch_op.drop_column('settled_cycle_id')
        batch_op.drop_column('finished_by')
        batch_op.drop_column('finished_at')
        batch_op.drop_column('started_at')
        batch_op.drop_column('staff_id')
        batch_op.drop_column('value_fen')
        batch_op.drop_column('minutes')
        batch_op.drop_column('period')

    with op.batch_alter_table('provider_staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_provider_staff_provider_id'))

    op.drop_table('provider_staff')
    op.drop_table('homecare_balances')
