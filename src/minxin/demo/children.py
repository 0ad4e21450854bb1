"""Orphans for the demo city (孤儿基本生活费): a few hundred children across the counties, with guardians
and active `orphan` cases from the demo's start month, so an `orphan` cycle works after `make run`.

About one child in fifty households (a few hundred in the default city of 20,000); a fifth live in their
county's children's welfare home (集中养育, paid to it), the others with relatives (社会散居). Some were
born in late 1994, so the demo's 2012 cycles show children leaving at 18.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.children.models import ChildRecord
from minxin.demo.cases import DEMO_START
from minxin.infra.db import utcnow, write_lock
from minxin.programs.models import Case
from minxin.registry.models import Institution

HOUSEHOLDS_PER_CHILD = 50
CENTRALIZED_EVERY = 5  # one child in five lives in a children's welfare home


def seed_orphans(engine: Engine, *, actor: str = "system") -> int:
    """Children and their orphan cases, once (nothing if the demo has orphan cases already)."""
    with write_lock(), Session(engine) as session:
        n = _seed(session, actor=actor)
        session.commit()
    return n


def _seed(session: Session, *, actor: str) -> int:
    if session.execute(text("SELECT 1 FROM cases WHERE program_code = 'orphan'")).first():
        return 0
    households = session.execute(text("SELECT COUNT(*) FROM households")).scalar_one()
    wanted = max(1, households // HOUSEHOLDS_PER_CHILD)
    # One children's welfare home (儿童福利院) per county.
    existing = dict(session.execute(text("SELECT name, id FROM institutions")).all())
    homes: dict[str, int] = {}
    for code, name in session.execute(text(
            "SELECT code, name FROM regions WHERE level = 'county' AND alias_of IS NULL ORDER BY code")).all():
        inst_name = f"{name}儿童福利院"
        if inst_name not in existing:
            inst = Institution(name=inst_name, region_code=code, kind="儿童福利院", beds=120,
                               bank_account=f"3207{int(code):010d}88"[:20], opened_on=date(2008, 1, 1))
            session.add(inst)
            session.flush()
            existing[inst_name] = inst.id
        homes[code] = existing[inst_name]
    candidates = session.execute(text("""
SELECT p.id, p.household_id, h.region_code, hd.name FROM persons p
JOIN households h ON h.id = p.household_id
JOIN persons hd ON hd.household_id = h.id AND hd.is_head
WHERE NOT p.is_head AND p.birth_date >= :born_from AND p.birth_date <= :born_to
ORDER BY (CAST(p.id AS BIGINT) * 7919) % 100003, p.id
LIMIT :n
"""), {"born_from": date(1994, 9, 1), "born_to": date(2011, 6, 30), "n": wanted * 3}).all()
    now = utcnow()
    seen: set[int] = set()
    cases: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    for person_id, household_id, region, head_name in candidates:
        if household_id in seen or len(cases) >= wanted:
            continue
        seen.add(household_id)
        home = homes.get(region[:6]) if len(cases) % CENTRALIZED_EVERY == 0 else None
        cases.append({"program_code": "orphan", "household_id": household_id, "person_id": person_id,
                      "region_code": region, "category": "集中养育" if home else "社会散居", "status": "active",
                      "start_period": DEMO_START, "bank_account": f"6222020{person_id:011d}",
                      "institution_id": home, "sanwu": False, "staff_relative": False,
                      "spot_check_required": False, "spot_checked": False, "review_class": "A",
                      "next_review_due": date(2012, 12, 31), "created_at": now, "updated_at": now})
        records.append({"person_id": person_id, "region_code": region, "guardian_name": head_name,
                        "guardian_relation": "机构" if home else ("祖父母" if person_id % 3 else "其他亲属"),
                        "guardian_phone": None, "guardian_id_number": None, "created_by": actor,
                        "created_at": now, "updated_at": now})
    if not cases:
        return 0
    session.execute(insert(Case), cases)
    session.execute(insert(ChildRecord), records)
    session.execute(text("""
UPDATE cases SET bank_account = (SELECT i.bank_account FROM institutions i WHERE i.id = cases.institution_id)
WHERE program_code = 'orphan' AND institution_id IS NOT NULL
"""))
    session.execute(text("""
INSERT INTO case_events (case_id, action, from_status, to_status, actor, at, reason)
SELECT id, 'import', NULL, 'active', :actor, :now, '演示数据：原有孤儿基本生活费对象' FROM cases
WHERE program_code = 'orphan' AND NOT EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = cases.id)
"""), {"actor": actor, "now": now.replace(tzinfo=None)})
    audit.record(session, actor=actor, action="demo.orphan_cases", entity="program", entity_id="orphan",
                 detail={"children": len(cases)})
    return len(cases)
