"""The Alembic migrations and the models agree, on every database the suite runs on; the migration
that turned payment rows into lines carries existing payments over, fen for fen."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from minxin.infra import migrate
from minxin.infra.db import make_engine


def test_migrations_match_the_models(engine):
    migrate.check(engine)  # raises if autogenerate would produce any operation


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_engine(request, tmp_path) -> Iterator[Engine]:
    """An empty database of its own (the suite's shared one stays at head)."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'migrate.db'}")
        yield eng
        eng.dispose()
        return
    url = os.environ.get("MINXIN_TEST_DATABASE_URL")
    if not url:
        pytest.skip("MINXIN_TEST_DATABASE_URL not set")
    name = f"{make_url(url).database}_migrate"
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = make_engine(make_url(url).set(database=name).render_as_string(hide_password=False))
    yield eng
    eng.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _alembic(engine: Engine, fn, revision: str) -> None:
    cfg = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with migrate.migrating(engine) as conn:
        cfg.attributes["connection"] = conn
        fn(cfg, revision)


_OLD_COLS = ("id, cycle_id, case_id, kind, for_period, region_code, amount_fen, rule, standard_fen, standard_id, "
             "income_fen, members, addon_fen, n_elderly, n_minor, n_disabled, n_ill, paid_before_fen, carried_from_id, "
             "status, bank_note")


def _old_world(conn) -> None:
    """A July cycle (case 1 paid 1103, case 2 failed 500) and an August one with July's arrears and carry-over,
    in the row-per-part layout of revision 20261128_medical."""
    conn.execute(text("INSERT INTO regions (code, name, level, parent_code, urban) VALUES "
                      "('320700', '连云港市', 'city', NULL, true), ('320706', '海州区', 'county', '320700', true)"))
    conn.execute(text("INSERT INTO programs (code, name, unit, calculator, frequency, categories, notice_days) "
                      "VALUES ('dibao', '低保', 'household', 'dibao', 'monthly', '城镇,农村', 7)"))
    conn.execute(text("INSERT INTO households (id, household_no, region_code, hukou_type, monthly_income_fen, "
                      "created_at, updated_at) VALUES (1, 'H1', '320706', '城镇', 0, '2012-01-01', '2012-01-01'), "
                      "(2, 'H2', '320706', '城镇', 0, '2012-01-01', '2012-01-01')"))
    conn.execute(text("INSERT INTO persons (id, id_number, name, sex, birth_date, household_id, relation, is_head, "
                      "monthly_income_fen, created_at, updated_at) VALUES "
                      "(1, '11010519491231002X', '张三', 'F', '1949-12-31', 1, '户主', true, 0, '2012-01-01', '2012-01-01'), "
                      "(2, '440524188001010014', '李四', 'M', '1880-01-01', 2, '户主', true, 0, '2012-01-01', '2012-01-01')"))
    for cid in (1, 2):
        conn.execute(text("INSERT INTO cases (id, program_code, household_id, person_id, region_code, category, status, "
                          "sanwu, staff_relative, spot_check_required, spot_checked, review_class, created_at, "
                          "updated_at) VALUES (:i, 'dibao', :i, :i, '320706', '城镇', 'active', false, false, false, "
                          "false, 'B', '2012-01-01', '2012-01-01')"), {"i": cid})
    conn.execute(text("INSERT INTO cycles (id, program_code, period, status, cases, total_fen, arrears_fen, "
                      "carryover_fen, run_by, paid_fen, failed_fen) VALUES "
                      "(1, 'dibao', '2012-07', 'reconciled', 2, 160300, 0, 0, 'a', 110300, 50000), "
                      "(2, 'dibao', '2012-08', 'draft', 2, 292500, 12200, 50000, 'a', 0, 0)"))
    rows = [
        (1, 1, 1, "regular", "2012-07", "320706", 110300, "gap", 46000, 1, 30000, 3, 2300, 0, 1, 0, 0, 0, 0, "paid", None),
        (2, 1, 2, "regular", "2012-07", "320706", 50000, "gap", 33000, 2, 16000, 2, 0, 0, 0, 0, 0, 0, 0, "failed", "已销户"),
        (3, 2, 1, "regular", "2012-08", "320706", 122500, "gap", 50000, 3, 30000, 3, 2500, 0, 1, 0, 0, 0, 0, "pending", None),
        (4, 2, 1, "arrears", "2012-07", "320706", 12200, "gap", 50000, 3, 30000, 3, 2500, 0, 1, 0, 0, 110300, 0, "pending", None),
        (5, 2, 2, "regular", "2012-08", "320706", 50000, "gap", 33000, 2, 16000, 2, 0, 0, 0, 0, 0, 0, 0, "pending", None),
        (6, 2, 2, "carryover", "2012-07", "320706", 50000, "gap", 33000, 2, 16000, 2, 0, 0, 0, 0, 0, 0, 2, "pending", None),
    ]
    names = [c.strip() for c in _OLD_COLS.split(",")]
    for r in rows:
        conn.execute(text(f"INSERT INTO payments ({_OLD_COLS}) VALUES ({', '.join(':' + n for n in names)})"),
                     dict(zip(names, r, strict=True)))


def test_old_payment_rows_become_lines_fen_for_fen_and_back(fresh_engine):
    _alembic(fresh_engine, command.upgrade, "20261128_medical")
    with fresh_engine.begin() as conn:
        _old_world(conn)
    _alembic(fresh_engine, command.upgrade, "head")
    with fresh_engine.connect() as conn:
        lines = conn.execute(text(
            "SELECT cycle_id, case_id, seq, amount_fen, regular_fen, arrears_fen, arrears_from, arrears_mask, "
            "arrears_months, arrears_paid_fen, carryover_fen, status, bank_note "
            "FROM payments ORDER BY cycle_id, case_id, seq")).all()
        failures = conn.execute(text("SELECT cycle_id, case_id, seq, amount_fen, carried_into FROM failed_payments"
                                     )).all()
    assert [tuple(r) for r in failures] == [(1, 2, 0, 50000, 2)]  # July's failed 500, carried into August
    with fresh_engine.connect() as conn:  # cycles of before county cycles are the city's, lines unchanged
        assert conn.execute(text("SELECT DISTINCT county_code FROM cycles")).scalars().all() == ["320700"]
    assert [tuple(r) for r in lines] == [
        (1, 1, 0, 110300, 110300, 0, None, None, None, None, 0, "paid", None),
        (1, 2, 0, 50000, 50000, 0, None, None, None, None, 0, "failed", "已销户"),
        (2, 1, 0, 122500, 122500, 0, None, None, None, None, 0, "pending", None),
        (2, 1, 1, 12200, 0, 12200, "2012-07", 1, 1, 110300, 0, "pending", None),
        (2, 2, 0, 50000, 50000, 0, None, None, None, None, 0, "pending", None),
        (2, 2, 1, 50000, 0, 0, None, None, None, None, 50000, "pending", None),
    ]
    _alembic(fresh_engine, command.downgrade, "20261128_medical")
    with fresh_engine.connect() as conn:
        back = conn.execute(text("SELECT cycle_id, case_id, kind, for_period, amount_fen FROM payments "
                                 "ORDER BY cycle_id, case_id, kind, for_period")).all()
    assert [tuple(r) for r in back] == [
        (1, 1, "regular", "2012-07", 110300), (1, 2, "regular", "2012-07", 50000),
        (2, 1, "arrears", "2012-07", 12200), (2, 1, "regular", "2012-08", 122500),
        (2, 2, "carryover", "2012-08", 50000), (2, 2, "regular", "2012-08", 50000),
    ]


_LINE = ("INSERT INTO payments (cycle_id, case_id, seq, region_code, amount_fen, regular_fen, rule, arrears_fen, "
         "carryover_fen, status) VALUES (:y, :c, 0, '320706006001', 100, 100, 'flat', 0, 0, 'pending')")


@pytest.mark.parametrize("bad", ["unknown case", "unknown cycle", "moved to an unknown case", "case deleted",
                                 "cycle deleted", "parts do not add up"])
def test_the_database_refuses_what_the_engine_must_never_write(session, county_officer, bad):
    """Payments' references are foreign keys on SQLite and set-based triggers on PostgreSQL: both refuse."""
    from tests.factories import active_case, household

    case = active_case(session, household(session, county_officer))
    session.execute(text("INSERT INTO cycles (program_code, period, county_code, status, cases, total_fen, arrears_fen, "
                         "carryover_fen, run_by, paid_fen, failed_fen) VALUES ('dibao', '2031-01', '320706', 'draft', 0, 0, 0, "
                         "0, 't', 0, 0)"))
    cycle_id = session.execute(text("SELECT id FROM cycles WHERE period = '2031-01'")).scalar_one()
    session.execute(text(_LINE), {"y": cycle_id, "c": case.id})
    statements = {
        "unknown case": (_LINE, {"y": cycle_id, "c": case.id + 10_000}),
        "unknown cycle": (_LINE, {"y": cycle_id + 10_000, "c": case.id}),
        "moved to an unknown case": ("UPDATE payments SET case_id = :c WHERE cycle_id = :y",
                                     {"y": cycle_id, "c": case.id + 10_000}),
        "case deleted": ("DELETE FROM cases WHERE id = :c", {"c": case.id}),
        "cycle deleted": ("DELETE FROM cycles WHERE id = :y", {"y": cycle_id}),
        "parts do not add up": ("UPDATE payments SET amount_fen = 99 WHERE cycle_id = :y", {"y": cycle_id}),
    }
    sql, params = statements[bad]
    nested = session.begin_nested()
    with pytest.raises(DBAPIError):
        session.execute(text(sql), params)
    nested.rollback()
    assert session.execute(text("SELECT amount_fen FROM payments WHERE cycle_id = :y AND case_id = :c"),
                           {"y": cycle_id, "c": case.id}).scalar_one() == 100


def _status_check_text(engine: Engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'payments'")).scalar_one()
        return conn.execute(text("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                 "WHERE conname = 'ck_payments_status'")).scalar_one()


def test_the_status_check_is_swapped_in_place_and_back(fresh_engine):
    """The line status check became comparisons (20261201_line_status_check): same rule, both ways."""
    _alembic(fresh_engine, command.upgrade, "head")
    assert "'pending'" in _status_check_text(fresh_engine) and " in (" not in _status_check_text(fresh_engine)
    _alembic(fresh_engine, command.downgrade, "20261201_unsettled_lines")
    assert "in ('pending','paid','failed')" in _status_check_text(fresh_engine) \
        or "ANY" in _status_check_text(fresh_engine)
    _alembic(fresh_engine, command.upgrade, "head")
    with fresh_engine.connect() as conn:  # the check fires before any reference is looked at
        bad = ("INSERT INTO payments (cycle_id, case_id, seq, region_code, amount_fen, regular_fen, rule, "
               "arrears_fen, carryover_fen, status) VALUES (1, 1, 0, '320706', 0, 0, NULL, 0, 0, 'lost')")
        with pytest.raises(DBAPIError, match=r"(?i)check|ck_payments_status"):
            conn.execute(text(bad))
