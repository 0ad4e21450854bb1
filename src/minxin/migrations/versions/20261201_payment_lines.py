"""payments become lines: one per (cycle, case) holding regular, arrears and carry-over parts

Revision ID: 20261201_payment_lines
Revises: 20261128_medical
Create Date: 2026-12-01 09:00:00.000000

Before, every part of a payment was its own row (a regular row, one arrears row per month, a
carry-over row), with a surrogate id, a five-column unique key and per-row foreign-key triggers.
A back-dated raise over a million cases wrote three million rows. Now a case has one line per
cycle (seq 0) that holds all three parts, arrears months sharing their facts stored once as a
bit mask; further lines only where the arrears months rest on different facts.

On PostgreSQL the references of payments to cycles and cases are checked by one statement-level
trigger per statement (an anti-join over the statement's new rows) instead of two row-level
foreign-key triggers per row, which took most of a cycle's time; deleting a referenced case or
cycle is refused by a trigger that first locks out concurrent writers of payments. SQLite keeps
its native foreign keys (they are cheap there).

Existing rows are converted one to one: a regular row becomes a line with a regular part, an
arrears row a line with a one-month arrears part, a carry-over row a line with a carry-over part
whose source line is marked carried_into.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '20261201_payment_lines'
down_revision: str | None = '20261128_medical'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PG_TRIGGERS = """
CREATE FUNCTION minxin_payments_refs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM new_lines n WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = n.case_id)) THEN
    RAISE foreign_key_violation USING MESSAGE = 'payments.case_id names no case',
      CONSTRAINT = 'fk_payments_case_id_cases';
  END IF;
  IF EXISTS (SELECT 1 FROM new_lines n WHERE NOT EXISTS (SELECT 1 FROM cycles y WHERE y.id = n.cycle_id)) THEN
    RAISE foreign_key_violation USING MESSAGE = 'payments.cycle_id names no cycle',
      CONSTRAINT = 'fk_payments_cycle_id_cycles';
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER payments_refs AFTER INSERT ON payments REFERENCING NEW TABLE AS new_lines
  FOR EACH STATEMENT EXECUTE FUNCTION minxin_payments_refs();

CREATE FUNCTION minxin_payments_keys_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE integrity_constraint_violation USING MESSAGE = 'a payment line never moves to another cycle or case';
END $$;

CREATE TRIGGER payments_keys_fixed BEFORE UPDATE ON payments FOR EACH ROW
  WHEN (OLD.cycle_id IS DISTINCT FROM NEW.cycle_id OR OLD.case_id IS DISTINCT FROM NEW.case_id)
  EXECUTE FUNCTION minxin_payments_keys_fixed();

CREATE FUNCTION minxin_payments_parent_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Wait for (and shut out) every transaction writing payments, then look: no insert can slip in
  -- between this check and the delete's commit.
  LOCK TABLE payments IN SHARE ROW EXCLUSIVE MODE;
  IF TG_TABLE_NAME = 'cases' AND EXISTS (SELECT 1 FROM payments p WHERE p.case_id = OLD.id) THEN
    RAISE foreign_key_violation USING MESSAGE = 'a case with payments cannot be deleted',
      CONSTRAINT = 'fk_payments_case_id_cases';
  END IF;
  IF TG_TABLE_NAME = 'cycles' AND EXISTS (SELECT 1 FROM payments p WHERE p.cycle_id = OLD.id) THEN
    RAISE foreign_key_violation USING MESSAGE = 'a cycle with payments cannot be deleted',
      CONSTRAINT = 'fk_payments_cycle_id_cycles';
  END IF;
  RETURN OLD;
END $$;

CREATE TRIGGER payments_case_delete BEFORE DELETE ON cases FOR EACH ROW
  EXECUTE FUNCTION minxin_payments_parent_delete();
CREATE TRIGGER payments_cycle_delete BEFORE DELETE ON cycles FOR EACH ROW
  EXECUTE FUNCTION minxin_payments_parent_delete();
"""

PG_DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS payments_cycle_delete ON cycles;
DROP TRIGGER IF EXISTS payments_case_delete ON cases;
DROP TRIGGER IF EXISTS payments_keys_fixed ON payments;
DROP TRIGGER IF EXISTS payments_refs ON payments;
DROP FUNCTION IF EXISTS minxin_payments_parent_delete();
DROP FUNCTION IF EXISTS minxin_payments_keys_fixed();
DROP FUNCTION IF EXISTS minxin_payments_refs();
"""


def _new_table(sqlite: bool) -> None:
    fks = [sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name='fk_payments_case_id_cases'),
           sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], name='fk_payments_cycle_id_cycles')] if sqlite else []
    op.create_table(
        'payments',
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.SmallInteger(), nullable=False),
        sa.Column('region_code', sa.String(length=12), nullable=False),
        sa.Column('amount_fen', sa.BigInteger(), nullable=False),
        sa.Column('regular_fen', sa.BigInteger(), nullable=False),
        sa.Column('category', sa.String(length=16), nullable=True),
        sa.Column('rule', sa.String(length=16), nullable=True),
        sa.Column('standard_fen', sa.BigInteger(), nullable=True),
        sa.Column('standard_id', sa.Integer(), nullable=True),
        sa.Column('income_fen', sa.BigInteger(), nullable=True),
        sa.Column('members', sa.Integer(), nullable=True),
        sa.Column('addon_fen', sa.BigInteger(), nullable=True),
        sa.Column('n_elderly', sa.Integer(), nullable=True),
        sa.Column('n_minor', sa.Integer(), nullable=True),
        sa.Column('n_disabled', sa.Integer(), nullable=True),
        sa.Column('n_ill', sa.Integer(), nullable=True),
        sa.Column('arrears_fen', sa.BigInteger(), nullable=False),
        sa.Column('arrears_from', sa.String(length=7), nullable=True),
        sa.Column('arrears_mask', sa.BigInteger(), nullable=True),
        sa.Column('arrears_months', sa.Integer(), nullable=True),
        sa.Column('arrears_rule', sa.String(length=16), nullable=True),
        sa.Column('arrears_standard_fen', sa.BigInteger(), nullable=True),
        sa.Column('arrears_standard_id', sa.Integer(), nullable=True),
        sa.Column('arrears_income_fen', sa.BigInteger(), nullable=True),
        sa.Column('arrears_members', sa.Integer(), nullable=True),
        sa.Column('arrears_addon_fen', sa.BigInteger(), nullable=True),
        sa.Column('arrears_n_elderly', sa.Integer(), nullable=True),
        sa.Column('arrears_n_minor', sa.Integer(), nullable=True),
        sa.Column('arrears_n_disabled', sa.Integer(), nullable=True),
        sa.Column('arrears_n_ill', sa.Integer(), nullable=True),
        sa.Column('arrears_paid_fen', sa.BigInteger(), nullable=True),
        sa.Column('carryover_fen', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('bank_note', sa.String(length=200), nullable=True),
        sa.CheckConstraint('amount_fen >= 0 AND regular_fen >= 0 AND arrears_fen >= 0 AND carryover_fen >= 0',
                           name=op.f('ck_payments_amounts_nonnegative')),
        sa.CheckConstraint('amount_fen = regular_fen + arrears_fen + carryover_fen',
                           name=op.f('ck_payments_parts_add_up')),
        sa.CheckConstraint('regular_fen = 0 OR rule IS NOT NULL', name=op.f('ck_payments_regular_explained')),
        sa.CheckConstraint('arrears_fen = 0 OR (arrears_from IS NOT NULL AND arrears_months > 0 AND arrears_mask > 0 '
                           'AND arrears_paid_fen IS NOT NULL)', name=op.f('ck_payments_arrears_explained')),
        sa.CheckConstraint('arrears_fen = 0 OR arrears_rule IS NOT NULL OR regular_fen > 0',
                           name=op.f('ck_payments_arrears_facts')),
        sa.CheckConstraint("status in ('pending','paid','failed')", name=op.f('ck_payments_status')),
        *fks,
        sa.PrimaryKeyConstraint('cycle_id', 'case_id', 'seq', name=op.f('pk_payments')),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'failed_payments',
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.SmallInteger(), nullable=False),
        sa.Column('amount_fen', sa.BigInteger(), nullable=False),
        sa.Column('carried_into', sa.Integer(), nullable=True),
        sa.CheckConstraint('amount_fen > 0', name=op.f('ck_failed_payments_amount_positive')),
        sa.ForeignKeyConstraint(['carried_into'], ['cycles.id'], name=op.f('fk_failed_payments_carried_into_cycles')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_failed_payments_case_id_cases')),
        sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], name=op.f('fk_failed_payments_cycle_id_cycles')),
        sa.PrimaryKeyConstraint('cycle_id', 'case_id', 'seq', name=op.f('pk_failed_payments')),
    )
    with op.batch_alter_table('failed_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_failed_payments_carried_into'), ['carried_into'], unique=False)


_NUMBERED = """
SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.cycle_id, o.case_id ORDER BY
         CASE o.kind WHEN 'regular' THEN 0 WHEN 'arrears' THEN 1 ELSE 2 END, o.for_period, o.id) - 1 AS seq
FROM payments_old o
"""


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == 'sqlite'
    # Out of the way, with the old names freed for the new table.
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('uq_payments_carried_from', sqlite_where=sa.text('carried_from_id <> 0'),
                            postgresql_where=sa.text('carried_from_id <> 0'))
        batch_op.drop_index('ix_payments_case_period')
    op.rename_table('payments', 'payments_old')
    if not sqlite:
        op.execute('ALTER TABLE payments_old RENAME CONSTRAINT pk_payments TO pk_payments_old')
    _new_table(sqlite)
    op.execute(f"""
INSERT INTO payments (cycle_id, case_id, seq, region_code, amount_fen, regular_fen, category, rule, standard_fen,
    standard_id, income_fen, members, addon_fen, n_elderly, n_minor, n_disabled, n_ill, arrears_fen, arrears_from, arrears_mask,
    arrears_months, arrears_rule, arrears_standard_fen, arrears_standard_id, arrears_income_fen, arrears_members,
    arrears_addon_fen, arrears_n_elderly, arrears_n_minor, arrears_n_disabled, arrears_n_ill, arrears_paid_fen,
    carryover_fen, status, bank_note)
SELECT n.cycle_id, n.case_id, n.seq, n.region_code, n.amount_fen,
    CASE WHEN n.kind = 'regular' THEN n.amount_fen ELSE 0 END,
    (SELECT c.category FROM cases c WHERE c.id = n.case_id AND n.kind = 'regular'),
    CASE WHEN n.kind = 'regular' THEN n.rule END, CASE WHEN n.kind = 'regular' THEN n.standard_fen END,
    CASE WHEN n.kind = 'regular' THEN n.standard_id END, CASE WHEN n.kind = 'regular' THEN n.income_fen END,
    CASE WHEN n.kind = 'regular' THEN n.members END, CASE WHEN n.kind = 'regular' THEN n.addon_fen END,
    CASE WHEN n.kind = 'regular' THEN n.n_elderly END, CASE WHEN n.kind = 'regular' THEN n.n_minor END,
    CASE WHEN n.kind = 'regular' THEN n.n_disabled END, CASE WHEN n.kind = 'regular' THEN n.n_ill END,
    CASE WHEN n.kind = 'arrears' THEN n.amount_fen ELSE 0 END,
    CASE WHEN n.kind = 'arrears' THEN n.for_period END, CASE WHEN n.kind = 'arrears' THEN 1 END,
    CASE WHEN n.kind = 'arrears' THEN 1 END, CASE WHEN n.kind = 'arrears' THEN n.rule END,
    CASE WHEN n.kind = 'arrears' THEN n.standard_fen END, CASE WHEN n.kind = 'arrears' THEN n.standard_id END,
    CASE WHEN n.kind = 'arrears' THEN n.income_fen END, CASE WHEN n.kind = 'arrears' THEN n.members END,
    CASE WHEN n.kind = 'arrears' THEN n.addon_fen END, CASE WHEN n.kind = 'arrears' THEN n.n_elderly END,
    CASE WHEN n.kind = 'arrears' THEN n.n_minor END, CASE WHEN n.kind = 'arrears' THEN n.n_disabled END,
    CASE WHEN n.kind = 'arrears' THEN n.n_ill END, CASE WHEN n.kind = 'arrears' THEN n.paid_before_fen END,
    CASE WHEN n.kind = 'carryover' THEN n.amount_fen ELSE 0 END,
    n.status, n.bank_note
FROM ({_NUMBERED}) n
""")
    op.execute(f"""
INSERT INTO failed_payments (cycle_id, case_id, seq, amount_fen, carried_into)
SELECT n.cycle_id, n.case_id, n.seq, n.amount_fen,
       (SELECT co.cycle_id FROM payments_old co WHERE co.carried_from_id = n.id)
FROM ({_NUMBERED}) n
WHERE n.status = 'failed' AND n.amount_fen > 0
""")
    op.drop_table('payments_old')
    if not sqlite:
        op.execute(PG_TRIGGERS)


def downgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == 'sqlite'
    if not sqlite:
        op.execute(PG_DROP_TRIGGERS)
    with op.batch_alter_table('failed_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_failed_payments_carried_into'))
    op.drop_table('failed_payments')
    op.rename_table('payments', 'payments_new')
    if not sqlite:
        op.execute('ALTER TABLE payments_new RENAME CONSTRAINT pk_payments TO pk_payments_new')
    op.create_table(
        'payments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('for_period', sa.String(length=7), nullable=False),
        sa.Column('region_code', sa.String(length=12), nullable=False),
        sa.Column('amount_fen', sa.BigInteger(), nullable=False),
        sa.Column('rule', sa.String(length=16), nullable=False),
        sa.Column('standard_fen', sa.BigInteger(), nullable=False),
        sa.Column('standard_id', sa.Integer(), nullable=True),
        sa.Column('income_fen', sa.BigInteger(), nullable=False),
        sa.Column('members', sa.Integer(), nullable=False),
        sa.Column('addon_fen', sa.BigInteger(), nullable=False),
        sa.Column('n_elderly', sa.Integer(), nullable=False),
        sa.Column('n_minor', sa.Integer(), nullable=False),
        sa.Column('n_disabled', sa.Integer(), nullable=False),
        sa.Column('n_ill', sa.Integer(), nullable=False),
        sa.Column('paid_before_fen', sa.BigInteger(), nullable=False),
        sa.Column('carried_from_id', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('bank_note', sa.String(length=200), nullable=True),
        sa.CheckConstraint("kind in ('regular','arrears','carryover')", name=op.f('ck_payments_kind')),
        sa.CheckConstraint("status in ('pending','paid','failed')", name=op.f('ck_payments_status')),
        sa.CheckConstraint('amount_fen >= 0', name=op.f('ck_payments_amount_nonnegative')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_payments_case_id_cases')),
        sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], name=op.f('fk_payments_cycle_id_cycles')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
        sa.UniqueConstraint('cycle_id', 'case_id', 'kind', 'for_period', 'carried_from_id',
                            name=op.f('uq_payments_cycle_id_case_id_kind_for_period_carried_from_id')),
    )
    # Each part of a line becomes a row again; an arrears part one row per month of its mask (up to
    # five years of months), a carry-over part one row (its source is not tracked back: carried_from_id 0).
    cols = ("cycle_id, case_id, kind, for_period, region_code, amount_fen, rule, standard_fen, standard_id, "
            "income_fen, members, addon_fen, n_elderly, n_minor, n_disabled, n_ill, paid_before_fen, "
            "carried_from_id, status, bank_note")
    op.execute(f"""
INSERT INTO payments ({cols})
SELECT l.cycle_id, l.case_id, 'regular', y.period, l.region_code, l.regular_fen, l.rule, l.standard_fen,
       l.standard_id, l.income_fen, l.members, l.addon_fen, l.n_elderly, l.n_minor, l.n_disabled, l.n_ill, 0, 0,
       l.status, l.bank_note
FROM payments_new l JOIN cycles y ON y.id = l.cycle_id WHERE l.regular_fen > 0
""")
    months = " UNION ALL ".join(f"SELECT {i} AS k" for i in range(60))
    op.execute(f"""
INSERT INTO payments ({cols})
SELECT l.cycle_id, l.case_id, 'arrears',
       CAST(CAST(substr(l.arrears_from, 1, 4) AS INTEGER) + (CAST(substr(l.arrears_from, 6, 2) AS INTEGER) - 1 + m.k) / 12
            AS VARCHAR(4)) || '-' ||
       CASE WHEN (CAST(substr(l.arrears_from, 6, 2) AS INTEGER) - 1 + m.k) % 12 + 1 < 10 THEN '0' ELSE '' END ||
       CAST((CAST(substr(l.arrears_from, 6, 2) AS INTEGER) - 1 + m.k) % 12 + 1 AS VARCHAR(2)),
       l.region_code, l.arrears_fen / l.arrears_months, COALESCE(l.arrears_rule, 'gap'),
       COALESCE(l.arrears_standard_fen, 0), l.arrears_standard_id, COALESCE(l.arrears_income_fen, 0),
       COALESCE(l.arrears_members, 0), COALESCE(l.arrears_addon_fen, 0), COALESCE(l.arrears_n_elderly, 0),
       COALESCE(l.arrears_n_minor, 0), COALESCE(l.arrears_n_disabled, 0), COALESCE(l.arrears_n_ill, 0),
       COALESCE(l.arrears_paid_fen, 0), 0, l.status, l.bank_note
FROM payments_new l JOIN ({months}) m ON (l.arrears_mask / (CAST(1 AS BIGINT) << m.k)) % 2 = 1
WHERE l.arrears_fen > 0
""")
    op.execute(f"""
INSERT INTO payments ({cols})
SELECT l.cycle_id, l.case_id, 'carryover', y.period, l.region_code, l.carryover_fen, 'carryover', 0, NULL, 0, 0, 0,
       0, 0, 0, 0, 0, 0, l.status, l.bank_note
FROM payments_new l JOIN cycles y ON y.id = l.cycle_id WHERE l.carryover_fen > 0
""")
    op.drop_table('payments_new')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_case_period', ['case_id', 'for_period'], unique=False)
        batch_op.create_index('uq_payments_carried_from', ['carried_from_id'], unique=True,
                              sqlite_where=sa.text('carried_from_id <> 0'),
                              postgresql_where=sa.text('carried_from_id <> 0'))
