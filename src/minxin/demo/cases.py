"""低保 cases for the demo city: every eligible household is an active case, a few are in the workflow.

Set-based like the cycle itself: eligibility is decided in SQL over all households (per-capita
income below the standard of the household's 户籍类别), so a million-household demo takes seconds.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.core.period import Period
from minxin.db import utcnow, write_lock
from minxin.programs.service import standard_in_force

DEMO_START = "2012-01"
# One household in this many eligible ones is still in the workflow instead of already active.
IN_WORKFLOW_EVERY = 97
STAGES = ("applied", "investigated", "reviewed", "noticed")
STAGE_ACTORS = {"applied": "dongfeng", "investigated": "dongfeng", "reviewed": "xinhai", "noticed": "xinhai"}
STAGE_ACTIONS = {"applied": "apply", "investigated": "investigate", "reviewed": "review", "noticed": "notice"}


def seed_dibao_cases(engine: Engine, *, actor: str = "system") -> int:
    """Create 低保 cases for eligible demo households that have none; returns how many were created."""
    with write_lock(), Session(engine) as session:
        n = _seed(session, actor=actor)
        session.commit()
    return n


def _seed(session: Session, *, actor: str) -> int:
    period = Period.parse(DEMO_START)
    std = {cat: standard_in_force(session, program="dibao", region_code="320700", period=period,
                                  category=cat).amount_fen for cat in ("城镇", "农村")}
    now = utcnow()
    before = session.execute(text("SELECT COALESCE(MAX(id), 0) FROM cases")).scalar_one()
    params = {"urban": std["城镇"], "rural": std["农村"], "now": now.replace(tzinfo=None), "start": DEMO_START,
              "every": IN_WORKFLOW_EVERY, "review": (now + timedelta(days=90)).date()}
    session.execute(text("""
INSERT INTO cases (program_code, household_id, person_id, region_code, category, status, start_period,
                   bank_account, sanwu, staff_relative, spot_check_required, spot_checked, review_class,
                   next_review_due, created_at, updated_at)
SELECT 'dibao', h.id, p.id, h.region_code, h.hukou_type,
       CASE WHEN h.id % :every = 0 THEN 'applied' ELSE 'active' END,
       CASE WHEN h.id % :every = 0 THEN NULL ELSE :start END,
       '6228480' || (10000000000 + p.id),
       CASE WHEN h.monthly_income_fen = 0 AND m.members = 1 THEN TRUE ELSE FALSE END,
       FALSE, FALSE, FALSE,
       CASE WHEN h.monthly_income_fen = 0 THEN 'A' WHEN m.members >= 4 THEN 'C' ELSE 'B' END,
       :review, :now, :now
FROM households h
JOIN persons p ON p.household_id = h.id AND p.is_head
JOIN (SELECT household_id, COUNT(*) AS members FROM persons GROUP BY household_id) m ON m.household_id = h.id
WHERE h.monthly_income_fen / m.members < CASE WHEN h.hukou_type = '城镇' THEN :urban ELSE :rural END
  AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.program_code = 'dibao' AND c.person_id = p.id)
"""), params)
    created = session.execute(text("SELECT COUNT(*) FROM cases WHERE id > :b"), {"b": before}).scalar_one()
    session.execute(text("""
INSERT INTO case_events (case_id, action, from_status, to_status, actor, at, reason)
SELECT id, 'import', NULL, 'active', :actor, :now, '演示数据：原有在保对象'
FROM cases WHERE id > :b AND status = 'active'
"""), {"b": before, "actor": actor, "now": now.replace(tzinfo=None)})
    # Spread the in-workflow cases over the four stages; those under notice get a notice period.
    pending = session.execute(text("SELECT id FROM cases WHERE id > :b AND status = 'applied' ORDER BY id"),
                              {"b": before}).scalars().all()
    for i, case_id in enumerate(pending):
        stage = STAGES[i % len(STAGES)]
        for s in STAGES[: STAGES.index(stage) + 1]:
            session.execute(text(
                "INSERT INTO case_events (case_id, action, from_status, to_status, actor, at, reason) "
                "VALUES (:c, :a, :f, :t, :u, :at, NULL)"),
                {"c": case_id, "a": STAGE_ACTIONS[s], "f": None if s == "applied" else STAGES[STAGES.index(s) - 1],
                 "t": s, "u": STAGE_ACTORS[s], "at": now.replace(tzinfo=None)})
        if stage == "noticed":
            session.execute(text(
                "UPDATE cases SET status = 'noticed', notice_start = :s, notice_end = :e WHERE id = :c"),
                {"s": now.replace(tzinfo=None), "e": (now + timedelta(days=7)).replace(tzinfo=None), "c": case_id})
        else:
            session.execute(text("UPDATE cases SET status = :st WHERE id = :c"), {"st": stage, "c": case_id})
    audit.record(session, actor=actor, action="demo.dibao_cases", entity="program", entity_id="dibao",
                 detail={"cases": created, "in_workflow": len(pending)})
    return int(created)
