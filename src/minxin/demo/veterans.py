"""优抚 for the demo city: key special-care recipients across categories and counties (each an active `youfu`
case from 2012-01, paid by the policy file's standards), their 2012 checkups and convalescence stays, and
retired soldiers awaiting placement with skills-training courses.

A few bulk statements; Python only builds the rows (several thousand), chosen reproducibly from the
demo's persons (older people for the pensions, young men for resettlement).
"""

from __future__ import annotations

from datetime import date, timedelta
from random import Random

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.infra.db import utcnow, write_lock
from minxin.programs.models import Case, CaseEvent
from minxin.veterans import rules
from minxin.veterans.models import (
    RetiredSoldier,
    TrainingCourse,
    TrainingEnrolment,
    VeteranEvent,
    VeteranRecipient,
    VeteranService,
)

DEMO_START = "2012-01"
# Recipients per household of the demo city (several thousand in the default 20,000-household city).
SHARE_PERMILLE = 150
# (category, weight); 残疾军人 sub-kinds are drawn below.
WEIGHTS = (
    (rules.DISABLED, 30), ("烈士遗属", 6), ("因公牺牲军人遗属", 3), ("病故军人遗属", 5), (rules.DEMOBILISED, 6),
    ("带病回乡退伍军人", 8), ("参战参试退役人员", 16), (rules.PER_YEAR, 20), ("伤残民兵民工", 2), ("红军失散人员", 1),
    ("烈士子女", 3),
)
GRADE_WEIGHTS = (1, 2, 3, 4, 6, 8, 12, 16, 20, 28)  # 一级 … 十级: most disabled servicemen are lightly graded


def seed_veterans(engine: Engine, *, actor: str = "system", seed: int = 2012) -> dict[str, int]:
    """Create the demo's 优抚 data once (nothing if any youfu case exists); returns the counts."""
    with write_lock(), Session(engine) as session:
        if session.execute(text("SELECT 1 FROM cases WHERE program_code = 'youfu'")).first():
            return {"recipients": 0}
        counts = _seed(session, actor=actor, rng=Random(seed))
        session.commit()
    return counts


def _category(rng: Random, *, rural: bool, born: date) -> tuple[str, str, int | None]:
    names = [c for c, _ in WEIGHTS]
    weights = [w if (c != rules.PER_YEAR or (rural and born.year <= 1952)) and (
        c != rules.DEMOBILISED or born.year <= 1940) else 0 for c, w in WEIGHTS]
    category = rng.choices(names, weights)[0]
    if category == rules.DISABLED:
        grade = rng.choices(range(10), GRADE_WEIGHTS)[0]
        causes = rules.CAUSES if grade < 6 else rules.CAUSES[:2]  # 因病 is graded 一级…六级 only
        return category, f"{rules.GRADES[grade]}/{rng.choice(causes)}", None
    if category == rules.DEMOBILISED:
        return category, rng.choice(rules.SERVICE_PERIODS[1:]), None
    if category == rules.PER_YEAR:
        return category, "", rng.randint(2, 16)
    return category, "", None


def _seed(session: Session, *, actor: str, rng: Random) -> dict[str, int]:
    households = session.execute(text("SELECT COUNT(*) FROM households")).scalar_one()
    wanted = households * SHARE_PERMILLE // 1000
    people = session.execute(text("""
SELECT p.id, p.household_id, h.region_code, h.hukou_type, p.birth_date FROM persons p
JOIN households h ON h.id = p.household_id
WHERE p.birth_date <= :born AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.person_id = p.id AND c.program_code = 'youfu')
ORDER BY (CAST(p.id AS BIGINT) * 7907) % 100019, p.id
LIMIT :n
"""), {"born": date(1962, 12, 31), "n": wanted}).all()
    now = utcnow()
    review = (now + timedelta(days=365)).date()
    chosen = []
    for pid, hh, region, hukou, born in people:
        born = born if isinstance(born, date) else date.fromisoformat(str(born))
        category, sub, years = _category(rng, rural=hukou == "农村", born=born)
        chosen.append((pid, hh, region, hukou, category, sub, years))
    for k in range(0, len(chosen), 5000):
        part = chosen[k:k + 5000]
        session.execute(insert(Case), [
            {"program_code": "youfu", "household_id": hh, "person_id": pid, "region_code": region,
             "category": f"{category}/{sub}" if sub else category, "status": "active", "start_period": DEMO_START,
             "bank_account": f"6228482{pid:011d}", "sanwu": False, "staff_relative": False,
             "spot_check_required": False, "spot_checked": False, "review_class": "A", "next_review_due": review,
             "created_at": now, "updated_at": now} for pid, hh, region, hukou, category, sub, years in part])
    case_ids = dict(session.execute(select(Case.person_id, Case.id).where(Case.program_code == "youfu")).all())
    session.execute(insert(CaseEvent), [
        {"case_id": case_ids[c[0]], "action": "import", "from_status": None, "to_status": "active", "actor": actor,
         "at": now, "reason": "演示数据：原有优抚对象"} for c in chosen])
    session.execute(insert(VeteranRecipient), [
        {"person_id": pid, "case_id": case_ids[pid], "region_code": region, "category": category, "subkind": sub,
         "service_years": years, "certificate_no": f"苏优{case_ids[pid]:07d}", "certificate_issued": date(2008, 6, 1),
         "medical_insurance": "城镇居民基本医疗保险" if hukou == "城镇" else "新型农村合作医疗",
         "medical_subsidy": category == rules.DISABLED and sub[:2] in rules.GRADES[:6], "status": "active",
         "created_at": now} for pid, hh, region, hukou, category, sub, years in chosen])
    recipients = session.execute(select(VeteranRecipient.id, VeteranRecipient.region_code)).all()
    session.execute(insert(VeteranEvent), [
        {"recipient_id": rid, "kind": "new", "on": date(2012, 1, 1), "note": "演示数据", "actor": actor, "at": now}
        for rid, _ in recipients])
    # 2012 services: about 1,800 checkups and 250 convalescence stays in the default city (targets 1,500 / 200).
    services = []
    for rid, region in recipients:
        if rng.random() < 0.6:
            services.append({"recipient_id": rid, "kind": "checkup", "on": date(2012, rng.randint(3, 11),
                                                                                 rng.randint(1, 28)),
                             "region_code": region, "hospital": "连云港市优抚医院", "days": None, "actor": actor,
                             "created_at": now})
        if rng.random() < 0.08:
            services.append({"recipient_id": rid, "kind": "convalescence", "on": date(2012, rng.randint(4, 10), 1),
                             "region_code": region, "hospital": "江苏省荣军疗养院", "days": rng.choice([7, 10, 14]),
                             "actor": actor, "created_at": now})
    if services:
        session.execute(insert(VeteranService), services)
    soldiers, courses = _resettlement(session, rng=rng, now=now)
    audit.record(session, actor=actor, action="demo.youfu", entity="program", entity_id="youfu",
                 detail={"recipients": len(chosen), "services": len(services), "soldiers": soldiers,
                         "courses": courses})
    return {"recipients": len(chosen), "services": len(services), "soldiers": soldiers, "courses": courses}


def _resettlement(session: Session, *, rng: Random, now: object) -> tuple[int, int]:
    """Young men discharged in 2011–2012 awaiting placement, and one skills course per county."""
    young = session.execute(text("""
SELECT p.id, h.region_code FROM persons p JOIN households h ON h.id = p.household_id
WHERE p.sex = 'M' AND p.birth_date BETWEEN :lo AND :hi
ORDER BY (CAST(p.id AS BIGINT) * 7919) % 100003, p.id LIMIT :n
"""), {"lo": date(1988, 1, 1), "hi": date(1993, 12, 31),
       "n": max(20, session.execute(text("SELECT COUNT(*) FROM households")).scalar_one() // 100)}).all()
    if not young:
        return 0, 0
    reasons = ["烈士子女", "残疾军人", "二等功以上", None, None, None, None, None]
    rows = []
    for pid, region in young:
        reason = rng.choice(reasons)
        status = rng.choices(["waiting", "placed", "self_employed"], [6, 2, 2])[0]
        rows.append({"person_id": pid, "region_code": region, "discharged_on": date(rng.choice([2011, 2012]), 12, 1),
                     "priority": reason is not None, "priority_reason": reason, "placement_status": status,
                     "placed_on": None if status == "waiting" else date(2012, rng.randint(3, 11), 1),
                     "created_at": now})
    session.execute(insert(RetiredSoldier), rows)
    counties = sorted({r["region_code"][:6] for r in rows})
    session.execute(insert(TrainingCourse), [
        {"name": name, "region_code": county, "starts_on": date(2012, 3 + 3 * i, 1),
         "ends_on": date(2012, 5 + 3 * i, 28), "provider": "连云港市退役士兵职业技能培训中心", "created_at": now}
        for county in counties for i, name in enumerate(("汽车驾驶与维修", "电工", "烹饪"))])
    course_of: dict[str, list[int]] = {}
    for cid, county in session.execute(select(TrainingCourse.id, TrainingCourse.region_code)):
        course_of.setdefault(county, []).append(cid)
    soldiers = session.execute(select(RetiredSoldier.id, RetiredSoldier.region_code)).all()
    enrol = [{"course_id": rng.choice(course_of[region[:6]]), "soldier_id": sid,
              "result": rng.choices(["passed", "failed", "enrolled"], [7, 1, 2])[0], "enrolled_at": now}
             for sid, region in soldiers if rng.random() < 0.7]
    if enrol:
        session.execute(insert(TrainingEnrolment), enrol)
    return len(rows), len(counties) * 3
