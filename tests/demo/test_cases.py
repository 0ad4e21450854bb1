"""The demo city's 低保 cases: exactly the households below the standard, a few still in the workflow."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from minxin.auth.service import ensure_system_user
from minxin.demo.cases import seed_dibao_cases
from minxin.demo.generator import generate_demo
from minxin.infra import migrate
from minxin.infra.db import write_lock
from minxin.programs.service import init_programs
from minxin.registry.service import seed_regions


def test_every_eligible_household_gets_one_case_and_a_rerun_adds_none(tmp_path):
    from sqlalchemy.orm import Session

    from minxin.infra.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    migrate.upgrade(engine)
    with write_lock(), Session(engine) as s:
        seed_regions(s)
        ensure_system_user(s)
        init_programs(s)
        s.commit()
    generate_demo(engine, households=3000, seed=5)
    created = seed_dibao_cases(engine)
    assert created > 0
    assert seed_dibao_cases(engine) == 0
    raw = create_engine(engine.url)
    with raw.connect() as conn:
        eligible = conn.execute(text("""
            SELECT COUNT(*) FROM households h
            JOIN (SELECT household_id, COUNT(*) m FROM persons GROUP BY household_id) x ON x.household_id = h.id
            WHERE h.monthly_income_fen / x.m < CASE WHEN h.hukou_type = '城镇' THEN 46000 ELSE 33000 END
        """)).scalar_one()
        assert created == eligible
        statuses = dict(conn.execute(text("SELECT status, COUNT(*) FROM cases GROUP BY status")).all())
        assert statuses["active"] > 0.9 * created
        assert {"applied", "noticed"} <= set(statuses) or created < 100
        heads = conn.execute(text("SELECT COUNT(*) FROM cases c JOIN persons p ON p.id = c.person_id "
                                  "WHERE NOT p.is_head")).scalar_one()
        assert heads == 0
    raw.dispose()
