"""The demo city's orphans: a few hundred across counties with guardians and cases, a fifth in homes; once."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from minxin.auth.service import ensure_system_user, get_user
from minxin.core.period import Period
from minxin.demo.children import seed_orphans
from minxin.demo.generator import generate_demo
from minxin.infra import migrate
from minxin.infra.db import make_engine, write_lock
from minxin.programs.cycles import run_cycle
from minxin.programs.service import init_programs
from minxin.registry.service import seed_regions


def test_the_demo_gets_orphans_in_every_county_and_an_orphan_cycle_pays_them(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    migrate.upgrade(engine)
    with write_lock(), Session(engine) as s:
        seed_regions(s)
        ensure_system_user(s)
        init_programs(s)
        s.commit()
    generate_demo(engine, households=5000, seed=7)
    created = seed_orphans(engine)
    assert created == 100
    assert seed_orphans(engine) == 0
    with engine.connect() as conn:
        by_placement = dict(conn.execute(text(
            "SELECT category, COUNT(*) FROM cases WHERE program_code = 'orphan' GROUP BY category")).all())
        counties = conn.execute(text(
            "SELECT COUNT(DISTINCT substr(region_code, 1, 6)) FROM cases WHERE program_code = 'orphan'")).scalar_one()
        records = conn.execute(text("SELECT COUNT(*) FROM child_records")).scalar_one()
        unpaid_homes = conn.execute(text("SELECT COUNT(*) FROM cases WHERE program_code = 'orphan' "
                                         "AND category = '集中养育' AND institution_id IS NULL")).scalar_one()
    assert by_placement["集中养育"] == 20 and by_placement["社会散居"] == 80
    assert counties >= 5 and records == created and unpaid_homes == 0
    with write_lock(), Session(engine) as s:
        county = run_cycle(s, actor=get_user(s, "system"), program="orphan", period=Period(2012, 7), county="320706")
        assert 0 < county.cases <= created
        assert county.total_fen > 0
    engine.dispose()
