"""The audit trail keyed and append-only; login throttling instead of the account lock.

* `audit_events.hmac`: HMAC-SHA256 of each entry's hash under a key the database does not hold
  (MINXIN_AUDIT_KEY_FILE). Entries written before this revision keep `hmac` NULL and are checked by
  the plain hash chain alone; once a keyed entry exists, every later entry must carry one.
* Triggers refuse UPDATE and DELETE on `audit_events` (PostgreSQL also TRUNCATE): the trail only
  grows. Whoever owns the table can still drop a trigger; the HMAC and the anchor file catch that.
* `login_throttle`: failed-login counts per client address and per user name with the time the next
  attempt is allowed (increasing delays), replacing `users.failed_logins` / `users.locked_until`.

Revision ID: 20261203_audit_anchor
Revises: 20261203_rate_limits
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import minxin.infra.db

revision: str = '20261203_audit_anchor'
down_revision: str | None = '20261203_rate_limits'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END",
)
PG_UP = """
CREATE FUNCTION minxin_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION minxin_audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION minxin_audit_append_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events;
DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events;
DROP FUNCTION IF EXISTS minxin_audit_append_only();
"""


def upgrade() -> None:
    op.add_column('audit_events', sa.Column('hmac', sa.String(length=64), nullable=True))
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', minxin.infra.db.UTCDateTime(), nullable=False),
    sa.Column('next_allowed_at', minxin.infra.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )
    # SQLite ≥ 3.35 drops a plain column in place (no table copy, so the foreign keys onto users stay).
    op.drop_column('users', 'failed_logins')
    op.drop_column('users', 'locked_until')
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    else:
        op.execute(PG_UP)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    else:
        op.execute(PG_DOWN)
    op.add_column('users', sa.Column('locked_until', minxin.infra.db.UTCDateTime(), nullable=True))
    op.add_column('users', sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
    op.drop_table('login_throttle')
    op.drop_column('audit_events', 'hmac')
