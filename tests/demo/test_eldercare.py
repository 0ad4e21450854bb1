"""The demo city's elderly care: care records, devices, a month of calls that obey every rule, once."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from minxin.auth.service import ensure_system_user
from minxin.demo.eldercare import seed_eldercare
from minxin.demo.generator import generate_demo
from minxin.infra import migrate
from minxin.infra.db import make_engine, write_lock
from minxin.programs.service import init_programs
from minxin.registry.service import seed_regions


def test_the_demo_gets_elderly_people_devices_and_a_month_of_calls_quickly_and_once(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    migrate.upgrade(engine)
    with write_lock(), Session(engine) as s:
        seed_regions(s)
        ensure_system_user(s)
        init_programs(s)
        s.commit()
    generate_demo(engine, households=3000, seed=5)
    summary = seed_eldercare(engine, seed=5)  # its speed is bench/bench_demo.py's business, not a test's
    assert summary.profiles > 300 and summary.devices > 50 and summary.calls >= 20
    assert seed_eldercare(engine, seed=5).calls == 0
    with engine.connect() as conn:
        q = lambda sql: conn.execute(text(sql)).scalar_one()  # noqa: E731
        assert q("SELECT COUNT(*) FROM elderly_profiles e JOIN persons p ON p.id = e.person_id "
                 "WHERE p.birth_date > date('now', '-60 years')") == 0
        assert q("SELECT COUNT(*) FROM elderly_profiles WHERE person_id NOT IN "
                 "(SELECT person_id FROM emergency_contacts)") == 0
        assert q("SELECT COUNT(*) FROM calls") == summary.calls
        assert q("SELECT COUNT(*) FROM calls c WHERE NOT EXISTS (SELECT 1 FROM call_events e "
                 "WHERE e.call_id = c.id AND e.action = 'received')") == 0
        assert q("SELECT COUNT(*) FROM calls WHERE status = 'open'") >= 1  # the console shows a queue
        assert q("SELECT COUNT(*) FROM calls WHERE status = 'closed'") > summary.calls // 2
        assert q("SELECT COUNT(*) FROM calls WHERE person_id IS NULL") >= 1
        assert q("SELECT COUNT(*) FROM service_orders") >= 1
        assert q("SELECT COUNT(DISTINCT substr(region_code, 1, 6)) FROM calls WHERE region_code IS NOT NULL") >= 3
        assert q("SELECT COUNT(*) FROM care_call_schedules") == q(
            "SELECT COUNT(*) FROM elderly_profiles WHERE living_arrangement = '独居'")
        # purchased home care: contracted providers with staff, orders within each month's entitlement, and
        # last month's settlement drafted per county, paying exactly the finished orders it took
        assert q("SELECT COUNT(*) FROM service_providers WHERE case_id IS NULL") == 0
        assert q("SELECT COUNT(*) FROM provider_staff") >= 3 * q("SELECT COUNT(*) FROM service_providers")
        assert q("SELECT COUNT(*) FROM service_orders WHERE value_fen > 0 AND status = 'finished'") >= 10
        assert q("SELECT COUNT(*) FROM (SELECT person_id, period, SUM(value_fen) AS v FROM service_orders "
                 "WHERE status <> 'cancelled' AND value_fen > 0 GROUP BY person_id, period) o "
                 "JOIN homecare_balances b ON b.person_id = o.person_id AND b.period = o.period "
                 "WHERE o.v <> b.used_fen OR b.used_fen > b.limit_fen") == 0
        assert q("SELECT COUNT(*) FROM cycles WHERE program_code = 'homecare'") >= 1
        assert q("SELECT SUM(total_fen) FROM cycles WHERE program_code = 'homecare'") == q(
            "SELECT SUM(value_fen) FROM service_orders WHERE settled_cycle_id IS NOT NULL") > 0
    engine.dispose()


def test_the_demo_has_institutions_in_every_state_and_its_wubao_residents_in_beds(tmp_path):
    from minxin.demo.cases import seed_wubao

    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    migrate.upgrade(engine)
    with write_lock(), Session(engine) as s:
        seed_regions(s)
        ensure_system_user(s)
        init_programs(s)
        s.commit()
    generate_demo(engine, households=3000, seed=6)
    seed_wubao(engine)
    seed_eldercare(engine, seed=6)
    with engine.connect() as conn:
        q = lambda sql: conn.execute(text(sql)).scalar_one()  # noqa: E731
        states = dict(conn.execute(text("SELECT construction_status, COUNT(*) FROM institutions "
                                        "GROUP BY construction_status")).all())
        assert set(states) == {"planned", "building", "structure_done", "in_use"}
        assert q("SELECT COUNT(*) FROM institution_status_events") > 0
        central = q("SELECT COUNT(*) FROM cases WHERE program_code = 'wubao' AND institution_id IS NOT NULL")
        assert central > 0 and q("SELECT COUNT(*) FROM bed_placements WHERE to_date IS NULL") == central
        assert q("SELECT COUNT(*) FROM institution_beds b JOIN institutions i ON i.id = b.institution_id "
                 "WHERE i.construction_status <> 'in_use'") == 0
    engine.dispose()
