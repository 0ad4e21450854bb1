"""低保 cases for the demo city: every eligible household is an active case, a few are in the workflow.

Set-based like the cycle itself: eligibility is decided in SQL over all households (per-capita
income below the standard of the household's 户籍类别), so a million-household demo takes seconds.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.core.period import Period
from minxin.infra.db import utcnow, write_lock
from minxin.programs.service import standard_in_force

DEMO_START = "2012-01"
# One household in this many eligible ones is still in the workflow instead of already active.
IN_WORKFLOW_EVERY = 23
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


# 五保 in mid-2012 Lianyungang (DOMAIN §8): 8,439 recipients, 6,188 of them in care institutions, in a
# city of about 1.6 million registered households (户籍 5.3 million people ÷ ~3.3 per household).
WUBAO_RECIPIENTS_2012 = 8439
WUBAO_CENTRALIZED_2012 = 6188
CITY_HOUSEHOLDS_2012 = 1_600_000


def seed_wubao(engine: Engine, *, actor: str = "system") -> tuple[int, int]:
    """五保 for the demo city, scaled to its size: 2012 standards derived from the statistics table,
    one 敬老院 per rural town, and elderly rural residents living alone or in pairs as recipients,
    73% of them in institutions as in the city in 2012. Returns (recipients, centralized)."""
    with write_lock(), Session(engine) as session:
        result = _seed_wubao(session, actor=actor)
        session.commit()
    return result


def _seed_wubao(session: Session, *, actor: str) -> tuple[int, int]:
    from minxin.assistance.wubao import derive_standards
    from minxin.auth.service import get_user
    from minxin.registry.models import Institution

    system = get_user(session, actor)
    if not session.execute(text("SELECT 1 FROM standards WHERE program_code = 'wubao'")).first():
        derive_standards(session, actor=system, year=2012)
    households = session.execute(text("SELECT COUNT(*) FROM households")).scalar_one()
    if session.execute(text("SELECT 1 FROM cases WHERE program_code = 'wubao'")).first():
        return 0, 0
    # One 敬老院 per rural town, as the demo's care institutions.
    existing = set(session.execute(text("SELECT name FROM institutions")).scalars())
    towns = session.execute(
        text("SELECT code, name FROM regions WHERE level = 'town' AND alias_of IS NULL AND name NOT LIKE '%街道'")
    ).all()
    for i, (code, name) in enumerate(towns):
        inst_name = f"{name}敬老院"
        if inst_name not in existing:
            session.add(Institution(name=inst_name, region_code=code, kind="敬老院", beds=60 + (i * 7) % 90,
                                    bank_account=f"3207{int(code):014d}"[:20], opened_on=date(2005, 1, 1)))
    session.flush()
    homes = {r[0][:9]: r[1] for r in session.execute(
        text("SELECT region_code, id FROM institutions WHERE kind = '敬老院'"))}
    wanted = round(households * WUBAO_RECIPIENTS_2012 / CITY_HOUSEHOLDS_2012)
    cutoff = date(1952, 1, 1)  # aged 60 or more in 2012
    candidates = session.execute(text("""
SELECT p.id, p.household_id, h.region_code FROM persons p
JOIN households h ON h.id = p.household_id
JOIN (SELECT household_id, COUNT(*) AS members FROM persons GROUP BY household_id) m ON m.household_id = h.id
WHERE h.hukou_type = '农村' AND p.birth_date <= :cutoff AND m.members <= 2
  AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.person_id = p.id AND c.program_code = 'wubao')
ORDER BY (CAST(p.id AS BIGINT) * 7919) % 100003, p.id
LIMIT :n
""").bindparams(), {"cutoff": cutoff, "n": wanted}).all()
    n_central = round(len(candidates) * WUBAO_CENTRALIZED_2012 / WUBAO_RECIPIENTS_2012)
    # Those with a 敬老院 in their town move in first, so the city's rate matches 2012's.
    candidates = sorted(candidates, key=lambda c: c[2][:9] not in homes)
    now = utcnow()
    rows = []
    centralized = 0
    for i, (person_id, household_id, region) in enumerate(candidates):
        home = homes.get(region[:9])
        central = i < n_central and home is not None
        centralized += central
        rows.append({"program_code": "wubao", "household_id": household_id, "person_id": person_id,
                     "region_code": region, "category": "集中" if central else "分散", "status": "active",
                     "start_period": DEMO_START, "bank_account": None if central else f"6228481{person_id:011d}",
                     "institution_id": home if central else None, "sanwu": False, "staff_relative": False,
                     "spot_check_required": False, "spot_checked": False, "review_class": "A",
                     "next_review_due": (now + timedelta(days=180)).date(), "created_at": now, "updated_at": now})
    if rows:
        from sqlalchemy import insert

        from minxin.programs.models import Case

        session.execute(insert(Case), rows)
        session.execute(text("""
UPDATE cases SET bank_account = (SELECT i.bank_account FROM institutions i WHERE i.id = cases.institution_id)
WHERE program_code = 'wubao' AND institution_id IS NOT NULL
"""))
        session.execute(text("""
INSERT INTO case_events (case_id, action, from_status, to_status, actor, at, reason)
SELECT id, 'import', NULL, 'active', :actor, :now, '演示数据：原有五保对象' FROM cases
WHERE program_code = 'wubao' AND NOT EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = cases.id)
"""), {"actor": actor, "now": now.replace(tzinfo=None)})
    audit.record(session, actor=actor, action="demo.wubao_cases", entity="program", entity_id="wubao",
                 detail={"recipients": len(rows), "centralized": centralized, "institutions": len(homes)})
    return len(rows), centralized


def seed_income_history(engine: Engine) -> int:
    """Income declarations of the demo's households at the end of 2011 and of 2012 (P1 tracking needs a
    history): 2012 at today's declared income, 2011 between 80% and 100% of it. Set-based, once."""
    with write_lock(), Session(engine) as session:
        if session.execute(text("SELECT 1 FROM income_declarations WHERE source = 'demo-history'")).first():
            return 0
        now = utcnow().replace(tzinfo=None)
        for declared_on, share in (("2011-12-20", "(80 + h.id % 21)"), ("2012-12-20", "100")):
            session.execute(text(f"""
INSERT INTO income_declarations (household_id, declared_on, monthly_income_fen, assets_fen, source, note, created_at)
SELECT h.id, :d, h.monthly_income_fen * {share} / 100, NULL, 'demo-history', '演示数据：年度收入核查', :now
FROM households h
"""), {"d": date.fromisoformat(declared_on), "now": now})
        n = session.execute(text("SELECT COUNT(*) FROM income_declarations WHERE source = 'demo-history'")
                            ).scalar_one()
        session.commit()
    return int(n)
