"""The demo city's 优抚: recipients of many categories in every county, payable at once, with services."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from minxin.auth.service import ensure_system_user, get_user
from minxin.core.period import Period
from minxin.demo.generator import generate_demo
from minxin.demo.veterans import seed_veterans
from minxin.infra import migrate
from minxin.infra.db import make_engine, write_lock
from minxin.programs.cycles import run_county_cycles
from minxin.programs.service import init_programs
from minxin.registry.service import seed_regions
from minxin.veterans.models import VeteranRecipient
from minxin.veterans.service import ontime_report


def test_the_demo_recipients_are_paid_by_a_cycle_right_away_and_a_rerun_adds_none(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    migrate.upgrade(engine)
    with write_lock(), Session(engine) as s:
        seed_regions(s)
        ensure_system_user(s)
        init_programs(s)
        s.commit()
    generate_demo(engine, households=4000, seed=7)
    counts = seed_veterans(engine, seed=7)
    assert counts["recipients"] == 600 and counts["services"] > 0 and counts["soldiers"] > 0
    assert seed_veterans(engine, seed=7) == {"recipients": 0}
    with Session(engine) as s:
        categories = set(s.execute(select(VeteranRecipient.category).distinct()).scalars())
        counties = s.execute(select(func.count(func.distinct(func.substr(VeteranRecipient.region_code, 1, 6))))
                             ).scalar_one()
    assert len(categories) >= 8 and counties >= 5

    def open_work():  # type: ignore[no-untyped-def]
        from minxin.infra.db import unit_of_work

        return unit_of_work(engine)

    run = run_county_cycles(open_work, actor="system", program="youfu", period=Period(2012, 3))
    assert not run.failed and sum(c.cases for c in run.cycles) == 600  # every recipient has a standard
    with Session(engine) as s:
        report = ontime_report(s, user=get_user(s, "system"), period=Period(2012, 3))
    assert report.totals()["due"] == 600 and report.totals()["by_reason"] == {"not_exported": 600}
