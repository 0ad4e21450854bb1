"""household facts: member count, 分类施保 counts and the members' birth dates, kept by the database

Revision ID: 20261201_household_facts
Revises: 20261201_payment_lines
Create Date: 2026-12-01 10:00:00.000000

A payment cycle needs, per household, how many members it has, how many are severely disabled
(grade 1–2) or seriously ill (重病), and how many are elderly or minors on the period's first day.
Counting them from persons took half of a cycle over a million households. Now triggers on persons
keep them on the household row: the counts, and the five earliest birth dates in order (slots), from
which a cycle counts the elderly and minors of any period; a household of more than five members is
counted from persons.

SQLite: row triggers. PostgreSQL: statement triggers over transition tables, so that a bulk load
(COPY, an import) refreshes each touched household once, set-based.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '20261201_household_facts'
down_revision: str | None = '20261201_payment_lines'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOTS = 5


def _facts_set(h: str) -> str:
    """The SET clause recomputing the facts of household row `h` from its persons."""
    births = ", ".join(
        f"birth{i + 1} = (SELECT p.birth_date FROM persons p WHERE p.household_id = {h}.id "
        f"ORDER BY p.birth_date, p.id LIMIT 1 OFFSET {i})" for i in range(SLOTS))
    return (f"member_count = (SELECT COUNT(*) FROM persons p WHERE p.household_id = {h}.id), "
            f"severe_disabled = (SELECT COUNT(*) FROM persons p WHERE p.household_id = {h}.id "
            f"AND p.disability_grade IN (1, 2)), "
            f"seriously_ill = (SELECT COUNT(*) FROM persons p WHERE p.household_id = {h}.id "
            f"AND p.health_status = '重病'), {births}")


def _sqlite_triggers() -> list[str]:
    refresh = "UPDATE households SET {set} WHERE id = {who}.household_id;"
    s = _facts_set("households")
    return [
        f"CREATE TRIGGER persons_facts_insert AFTER INSERT ON persons WHEN NEW.household_id IS NOT NULL "
        f"BEGIN {refresh.format(set=s, who='NEW')} END",
        f"CREATE TRIGGER persons_facts_delete AFTER DELETE ON persons WHEN OLD.household_id IS NOT NULL "
        f"BEGIN {refresh.format(set=s, who='OLD')} END",
        f"CREATE TRIGGER persons_facts_update AFTER UPDATE OF household_id, birth_date, disability_grade, "
        f"health_status ON persons BEGIN {refresh.format(set=s, who='OLD')} {refresh.format(set=s, who='NEW')} END",
    ]


def _pg_triggers() -> list[str]:
    s = _facts_set("households")
    fn = """
CREATE FUNCTION minxin_household_facts_{kind}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE households SET {set} WHERE id IN ({ids});
  RETURN NULL;
END $$"""
    new_ids = "SELECT household_id FROM new_rows WHERE household_id IS NOT NULL"
    old_ids = "SELECT household_id FROM old_rows WHERE household_id IS NOT NULL"
    return [
        fn.format(kind="insert", set=s, ids=new_ids),
        fn.format(kind="delete", set=s, ids=old_ids),
        fn.format(kind="update", set=s, ids=f"{old_ids} UNION {new_ids}"),
        "CREATE TRIGGER persons_facts_insert AFTER INSERT ON persons REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION minxin_household_facts_insert()",
        "CREATE TRIGGER persons_facts_delete AFTER DELETE ON persons REFERENCING OLD TABLE AS old_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION minxin_household_facts_delete()",
        "CREATE TRIGGER persons_facts_update AFTER UPDATE ON persons REFERENCING OLD TABLE AS old_rows "
        "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION minxin_household_facts_update()",
    ]


def upgrade() -> None:
    # Plain ALTER TABLE (SQLite ≥ 3.35 adds and drops columns in place): a batch copy of households
    # would have to drop a table that persons reference.
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.add_column('households', sa.Column('member_count', sa.Integer(), server_default='0', nullable=False))
    op.add_column('households', sa.Column('severe_disabled', sa.Integer(), server_default='0', nullable=False))
    op.add_column('households', sa.Column('seriously_ill', sa.Integer(), server_default='0', nullable=False))
    for i in range(SLOTS):
        op.add_column('households', sa.Column(f'birth{i + 1}', sa.Date(), nullable=True))
    op.create_index('ix_households_large', 'households', ['id'], unique=False,
                    sqlite_where=sa.text('member_count > 5'), postgresql_where=sa.text('member_count > 5'))
    op.create_index('ix_persons_household_birth', 'persons', ['household_id', 'birth_date'], unique=False)
    op.drop_index('ix_persons_household_id', table_name='persons')
    op.execute(f"UPDATE households SET {_facts_set('households')}")
    for stmt in _sqlite_triggers() if sqlite else _pg_triggers():
        op.execute(stmt)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for name in ("persons_facts_insert", "persons_facts_delete", "persons_facts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else " ON persons"))
    if not sqlite:
        for kind in ("insert", "delete", "update"):
            op.execute(f"DROP FUNCTION IF EXISTS minxin_household_facts_{kind}()")
    op.create_index('ix_persons_household_id', 'persons', ['household_id'], unique=False)
    op.drop_index('ix_persons_household_birth', table_name='persons')
    op.drop_index('ix_households_large', table_name='households', sqlite_where=sa.text('member_count > 5'),
                  postgresql_where=sa.text('member_count > 5'))
    for i in reversed(range(SLOTS)):
        op.drop_column('households', f'birth{i + 1}')
    op.drop_column('households', 'seriously_ill')
    op.drop_column('households', 'severe_disabled')
    op.drop_column('households', 'member_count')
