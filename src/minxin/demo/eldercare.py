"""The demo city's elderly care: care records for everyone aged 60+, emergency contacts, 一键呼叫
terminals for those living alone or as a couple, one contracted home-care provider per county with its
staff and a month of purchased-service orders (settled by a draft cycle), a month of calls
up to now (most handled, a few still waiting, so the console and the reports show real life) and the
care-call list of people living alone.

Profiles, contacts and devices are set-based INSERT … SELECT; the month of calls is generated in
Python from the seed and written with a few bulk inserts. Runs once: a second run adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from random import Random
from typing import Any

from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.demo.care_training import seed_care_training
from minxin.eldercare.models import (
    Bed,
    BedPlacement,
    Call,
    CallEvent,
    CareCallSchedule,
    InstitutionStatusEvent,
    ServiceOrder,
)
from minxin.eldercare.policy import call_policy
from minxin.eldercare.rules import elderly_cutoff
from minxin.infra.clock import today
from minxin.infra.db import utcnow, write_lock
from minxin.registry.models import Institution, Person

DAYS_OF_CALLS = 30
CALLS_PER_DEVICE_PER_MONTH = 0.6
UNKNOWN_SHARE = 0.05
KIND_WEIGHTS = (("consult", 50), ("service", 35), ("emergency", 15))
CONTACT_NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周丽", "吴军")
CONDITIONS = ("高血压", "糖尿病", "冠心病", "高血压、糖尿病", "慢阻肺", "脑梗后遗症")
AGENT = "agent"
WAITING = 4
# CASE branches built from the constants above (never from input).
_CONDITION_CASE = " ".join(f"WHEN {i} THEN '{c}'" for i, c in enumerate(CONDITIONS))
_CONTACT_CASE = " ".join(f"WHEN {i} THEN '{n}'" for i, n in enumerate(CONTACT_NAMES))


@dataclass(frozen=True)
class EldercareSummary:
    profiles: int
    devices: int
    calls: int

    def describe(self) -> str:
        return f"elderly people with care records: {self.profiles}; call devices: {self.devices}; calls: {self.calls}"


def seed_eldercare(engine: Engine, *, seed: int, actor: str = "system") -> EldercareSummary:
    """Add the demo's elderly care once (a rerun adds nothing); returns what was added."""
    with write_lock(), Session(engine) as session:
        if session.execute(text("SELECT 1 FROM elderly_profiles")).first():
            return EldercareSummary(0, 0, 0)
        summary = _seed(session, seed=seed, actor=actor)
        session.commit()
    return summary


def _seed(session: Session, *, seed: int, actor: str) -> EldercareSummary:
    now = utcnow()
    naive_now = now.replace(tzinfo=None)
    day = today()
    params = {"cutoff": elderly_cutoff(day), "now": naive_now, "assessed": day - timedelta(days=200)}
    # Living arrangement from the household: alone; a couple of elderly only (空巢); else with family.
    session.execute(text(f"""
INSERT INTO elderly_profiles (person_id, region_code, living_arrangement, chronic_conditions, care_level,
                              assessed_on, phone, home_phone, address, created_at, updated_at)
SELECT p.id, p.region_code,
       CASE WHEN m.members = 1 THEN '独居' WHEN m.members = 2 AND m.elderly = 2 THEN '空巢' ELSE '与家人同住' END,
       CASE WHEN p.health_status IN ('慢性病', '重病', '失能')
            THEN CASE p.id % 6 {_CONDITION_CASE} END END,
       CASE WHEN p.health_status = '失能' THEN '重度失能' WHEN p.id % 25 = 0 THEN '中度失能'
            WHEN p.id % 6 = 0 THEN '轻度失能' WHEN p.id % 3 = 0 THEN '能力完好' END,
       CASE WHEN p.health_status = '失能' OR p.id % 3 = 0 OR p.id % 25 = 0 THEN :assessed END,
       CASE WHEN p.id % 4 <> 0 THEN CAST(13900000000 + p.id AS TEXT) END,
       CASE WHEN p.id % 4 = 0 THEN CAST(51880000000 + p.id AS TEXT) END,
       NULL, :now, :now
FROM persons p
JOIN (SELECT household_id, COUNT(*) AS members,
             SUM(CASE WHEN birth_date <= :cutoff THEN 1 ELSE 0 END) AS elderly
      FROM persons GROUP BY household_id) m ON m.household_id = p.household_id
WHERE p.birth_date <= :cutoff AND p.region_code IS NOT NULL
"""), params)  # noqa: S608 - CASE branches built from module constants
    session.execute(text(f"""
INSERT INTO emergency_contacts (person_id, name, relation, phone, priority)
SELECT e.person_id, CASE e.person_id % 10 {_CONTACT_CASE} END,
       CASE WHEN e.living_arrangement = '独居' AND e.person_id % 5 = 0 THEN '邻居' ELSE '子女' END,
       CAST(13700000000 + e.person_id AS TEXT), 1
FROM elderly_profiles e
"""))  # noqa: S608 - CASE branches built from module constants
    session.execute(text("""
INSERT INTO call_devices (terminal_id, person_id, installed_on, created_at)
SELECT 'LYG' || CAST(1000000 + e.person_id AS TEXT), e.person_id, :installed, :now
FROM elderly_profiles e
WHERE e.living_arrangement IN ('独居', '空巢') OR e.care_level IN ('中度失能', '重度失能')
"""), {"installed": day - timedelta(days=365), "now": naive_now})
    counties = session.execute(text(
        "SELECT code, name FROM regions WHERE level = 'county' AND alias_of IS NULL ORDER BY code")).all()
    providers = _providers(session, counties, day=day)
    profiles = session.execute(text("SELECT COUNT(*) FROM elderly_profiles")).scalar_one()
    holders = session.execute(text(
        "SELECT d.terminal_id, d.person_id, p.region_code FROM call_devices d JOIN persons p ON p.id = d.person_id "
        "ORDER BY d.id")).all()
    calls = _month_of_calls(session, Random(seed), holders, providers, now=now, seed=seed)
    _care_calls(session, Random(seed + 1), day=day, now=now)
    _homecare_orders(session, Random(seed + 2), providers, day=day)
    _institutions(session, day=day, actor=actor)
    seed_care_training(session, rng=Random(seed + 2), actor=actor)
    audit.record(session, actor=actor, action="demo.eldercare", entity="demo", entity_id=seed,
                 detail={"profiles": profiles, "devices": len(holders), "calls": calls})
    return EldercareSummary(int(profiles), len(holders), calls)


def _providers(session: Session, counties: Sequence[Any], *, day: date) -> dict[str, int]:
    """One contracted home-care provider per county (政府购买居家养老服务): its 负责人 a working-age resident of
    the county, a settlement account, three care workers; each with its `homecare` case (homecare.py)."""
    from minxin.auth.service import ensure_system_user
    from minxin.eldercare.homecare import service as homecare

    system = ensure_system_user(session)
    providers: dict[str, int] = {}
    young, old = day.replace(year=day.year - 30), day.replace(year=day.year - 55)
    for k, (code, name) in enumerate(counties):
        rep = session.execute(text(
            "SELECT id_number FROM persons WHERE region_code >= :lo AND region_code < :hi AND birth_date <= :young "
            "AND birth_date >= :old ORDER BY id LIMIT 1"),
            {"lo": code, "hi": code[:-1] + chr(ord(code[-1]) + 1), "young": young, "old": old}).scalar()
        if rep is None:
            continue
        p = homecare.register_provider(
            session, actor=system, name=f"{name}居家养老服务中心", county_code=code, contact_id_number=rep,
            phone=f"0518{int(code) % 10000:04d}8800", bank_account=f"6222081{int(code):06d}{k:06d}",
            credit_code=f"52{code}MJ{k:09d}"[:18].ljust(18, "0"), services="助餐、助洁、助浴、助医、代购")
        for i, (worker, qual) in enumerate((("孙桂兰", "养老护理员（四级）"), ("周建国", "养老护理员（三级）"),
                                            ("钱晓燕", "家政服务员"))):
            homecare.add_staff(session, actor=system, provider_id=p.id, name=worker,
                               phone=f"1395180{int(code) % 100:02d}{i:02d}", qualification=qual)
        providers[code] = p.id
    return providers


def _homecare_orders(session: Session, rng: Random, providers: dict[str, int], *, day: date) -> None:
    """A month of purchased home-care orders before this one (all finished, settled by a draft cycle of each
    county) and this month's so far (finished, one in service, some booked ahead), for eligible people only,
    each drawn on their entitlement until it is used up."""
    from datetime import time

    from minxin.auth.service import ensure_system_user
    from minxin.core.errors import Conflict
    from minxin.core.period import Period
    from minxin.eldercare.homecare import service as homecare
    from minxin.eldercare.models import ProviderStaff
    from minxin.infra.clock import CHINA_TZ
    from minxin.programs.cycles import run_cycle

    system = ensure_system_user(session)
    this = Period.of(day)
    last = this.prev()
    now = datetime.now(CHINA_TZ)
    for county, provider_id in providers.items():
        staff = list(session.execute(select(ProviderStaff.id).where(ProviderStaff.provider_id == provider_id))
                     .scalars())
        candidates = session.execute(text(
            "SELECT e.person_id FROM elderly_profiles e WHERE e.region_code >= :lo AND e.region_code < :hi "
            "AND (e.living_arrangement = '独居' OR e.care_level = '重度失能') ORDER BY e.person_id LIMIT 60"),
            {"lo": county, "hi": county[:-1] + chr(ord(county[-1]) + 1)}).scalars().all()
        served = 0
        for person_id in candidates:
            if served >= 6:
                break
            person = session.get(Person, person_id)
            if person is None or not homecare.entitlement_of(session, person, period=this).eligible:
                continue
            served += 1
            for period in (last, this):
                for _ in range(rng.randint(2, 4)):
                    d = rng.randint(1, period.last_day().day)
                    when = datetime.combine(period.first_day().replace(day=d), time(rng.randint(8, 16)),
                                            tzinfo=CHINA_TZ)
                    minutes = rng.choice((60, 60, 90, 120))
                    try:
                        o = homecare.create_order(session, actor=system, provider_id=provider_id,
                                                  person_id=person_id, minutes=minutes, scheduled_at=when,
                                                  service_type=rng.choice(homecare.SERVICE_TYPES[:4]),
                                                  staff_id=rng.choice(staff) if staff else None)
                    except Conflict:
                        break  # the month's entitlement is used up
                    if when + timedelta(minutes=minutes) <= now:
                        homecare.start_order(session, actor=system, order_id=o.id, at=when)
                        homecare.finish_order(session, actor=system, order_id=o.id,
                                              at=when + timedelta(minutes=minutes))
                    elif when <= now:
                        homecare.start_order(session, actor=system, order_id=o.id, at=when)
        session.flush()
        run_cycle(session, actor=system, program=homecare.PROGRAM, period=last, county=county)


def _month_of_calls(session: Session, rng: Random, holders: Sequence[Any], providers: dict[str, int], *,
                    now: datetime, seed: int) -> int:
    """Calls over the last month: taken within seconds to a couple of minutes, emergencies dispatched,
    all closed with an outcome except those of the last half hour."""
    if not holders:
        return 0
    policy = call_policy()
    n = max(20, int(len(holders) * CALLS_PER_DEVICE_PER_MONTH))
    kinds = [k for k, w in KIND_WEIGHTS for _ in range(w)]
    start = now - timedelta(days=DAYS_OF_CALLS)
    span = (now - start).total_seconds()
    plan: list[dict[str, Any]] = []
    for i in range(n):
        received = start + timedelta(seconds=span * (i + rng.random()) / n)
        if i >= n - WAITING:  # the last few calls came in minutes ago and wait in the queue
            received = now - timedelta(seconds=60 * (n - i) + rng.randrange(30))
        unknown = rng.random() < UNKNOWN_SHARE
        holder = None if unknown else holders[rng.randrange(len(holders))]
        kind = "emergency" if i == n - 1 else rng.choice(kinds)  # one waiting emergency: it will escalate
        plan.append({"i": i, "received": received, "holder": holder, "kind": kind,
                     "caller": f"0518{rng.randrange(10**7):07d}" if holder is None else holder[0]})
    rows = []
    for c in plan:
        h = c["holder"]
        recent = (now - c["received"]).total_seconds() < 1800
        waiting = c["i"] >= n - WAITING
        taken = None if waiting else c["received"] + timedelta(seconds=rng.choice((5, 10, 15, 20, 30, 45, 70, 130)))
        dispatched = None
        if taken is not None and c["kind"] == "emergency":
            dispatched = taken + timedelta(seconds=rng.randrange(30, 900))
        closed = None if waiting or recent else (dispatched or taken or c["received"]) + timedelta(
            seconds=rng.randrange(60, 1200))
        outcome = None
        if closed is not None:
            outcome = {"consult": "answered", "service": "service_ordered" if h else "answered",
                       "emergency": rng.choice(("rescued", "family_notified", "false_alarm")) if h else "rescued"}[
                           c["kind"]]
        deadline = escalated = None
        if c["kind"] == "emergency":
            deadline = c["received"] + timedelta(seconds=policy.emergency_ack_seconds)
            if taken is not None and taken > deadline:
                escalated = deadline  # taken late: the sweep had flagged it for the supervisor
        c.update(taken=taken, dispatched=dispatched, closed=closed, outcome=outcome, escalated=escalated)
        rows.append({"event_id": f"demo-{seed}-{c['i']}", "caller": c["caller"], "person_id": h[1] if h else None,
                     "region_code": h[2] if h else None, "kind": c["kind"],
                     "status": "closed" if closed else ("taken" if taken else "open"), "location": None,
                     "received_at": c["received"], "created_at": c["received"], "taken_at": taken,
                     "taken_by": AGENT if taken else None, "dispatched_at": dispatched, "closed_at": closed,
                     "outcome": outcome, "escalate_at": deadline, "escalated_at": escalated})
    for k in range(0, len(rows), 5000):
        session.execute(insert(Call), rows[k:k + 5000])
    ids = dict(session.execute(select(Call.event_id, Call.id).where(Call.event_id.like(f"demo-{seed}-%"))).all())
    events: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    for c, row in zip(plan, rows, strict=True):
        cid = ids[row["event_id"]]

        def step(at: datetime, actor: str, action: str, what: str, cid: int = cid) -> None:
            events.append({"call_id": cid, "at": at, "actor": actor, "action": action, "what": what})

        step(c["received"], "phone", "received", f"来电 {c['caller']}" + ("" if c["holder"] else "（来电人未识别）"))
        if c["escalated"]:
            step(c["escalated"], "system", "escalate", f"{policy.emergency_ack_seconds} 秒无人接听，已上报值班主任")
        if c["taken"]:
            step(c["taken"], AGENT, "take", "呼叫中心坐席 接听")
            step(c["taken"] + timedelta(seconds=20), AGENT, "classify", f"分类为「{_KIND[c['kind']]}」")
        if c["dispatched"]:
            step(c["dispatched"], AGENT, "dispatch", rng.choice(("派遣120 急救", "派遣社区救援员", "派遣家属")))
        if c["outcome"] == "service_ordered" and c["holder"] is not None:
            county = c["holder"][2][:6]
            if county in providers:
                orders.append({"person_id": c["holder"][1], "provider_id": providers[county], "call_id": cid,
                               "service_type": rng.choice(("助餐", "助洁", "助浴", "助医")), "status": "finished",
                               "scheduled_at": c["taken"] + timedelta(hours=4), "note": None, "created_by": AGENT,
                               "created_at": c["taken"] + timedelta(seconds=60),
                               "started_at": c["taken"] + timedelta(hours=4),
                               "finished_at": c["taken"] + timedelta(hours=5)})
                step(c["taken"] + timedelta(seconds=60), AGENT, "service_order", "派服务单")
        if c["closed"]:
            step(c["closed"], AGENT, "close", f"结束：{_OUTCOME[c['outcome']]}")
    events.sort(key=lambda e: (e["at"], e["call_id"]))
    for k in range(0, len(events), 10000):
        session.execute(insert(CallEvent), events[k:k + 10000])
    for k in range(0, len(orders), 5000):
        session.execute(insert(ServiceOrder), orders[k:k + 5000])
    return len(rows)


_KIND = {"consult": "咨询", "service": "服务", "emergency": "紧急"}
_OUTCOME = {"answered": "已解答", "service_ordered": "已派服务", "rescued": "已救援", "family_notified": "已通知家属",
            "false_alarm": "误呼", "unreachable": "无法联系"}


def _care_calls(session: Session, rng: Random, *, day: date, now: datetime) -> None:
    """Everyone living alone on the care-call list, due over the coming week; a few already missed."""
    policy = call_policy()
    people = session.execute(text(
        "SELECT person_id, region_code FROM elderly_profiles WHERE living_arrangement = '独居' ORDER BY person_id"
    )).all()
    rows = [{"person_id": pid, "region_code": region, "interval_days": policy.care_call_interval_days,
             "next_due_on": day + timedelta(days=rng.randrange(-5, 7)), "is_active": True, "created_at": now}
            for pid, region in people]
    for k in range(0, len(rows), 5000):
        session.execute(insert(CareCallSchedule), rows[k:k + 5000])


# Per county, institutions at every construction stage: (kind, ownership, status, beds, the stages' dates).
_NEW_INSTITUTIONS = (
    ("公办示范", "公办", "planned", 200, ("2012-03-01",)),
    ("医养结合", "公建民营", "building", 150, ("2011-09-01", "2012-02-15")),
    ("民办养老机构", "民办", "structure_done", 120, ("2011-05-01", "2011-08-01", "2012-06-30")),
    ("公办示范", "公办", "in_use", 100, ("2010-04-01", "2010-07-01", "2011-03-01", "2011-10-01")),
)
_NEW_NAMES = {"planned": "老年公寓", "building": "医养结合中心", "structure_done": "颐养院", "in_use": "社会福利中心"}


def _institutions(session: Session, *, day: date, actor: str) -> None:
    """Beds for every institution in use (五保 集中 recipients placed in them); per county one new
    institution in each construction stage, with its dated steps."""
    from minxin.eldercare.models import CONSTRUCTION_STATUSES

    counties = session.execute(text(
        "SELECT code, name FROM regions WHERE level = 'county' AND alias_of IS NULL ORDER BY code")).all()
    existing = set(session.execute(select(Institution.name)).scalars())
    for code, county in counties:
        for kind, ownership, status, capacity, dates in _NEW_INSTITUTIONS:
            name = f"{county}{_NEW_NAMES[status]}"
            if name in existing:
                continue
            inst = Institution(name=name, region_code=code, kind=kind, ownership=ownership, construction_status=status,
                               beds=capacity, opened_on=date.fromisoformat(dates[-1]) if status == "in_use" else None)
            session.add(inst)
            session.flush()
            for step, on in zip(CONSTRUCTION_STATUSES, dates, strict=False):
                session.add(InstitutionStatusEvent(institution_id=inst.id, status=step, on_date=date.fromisoformat(on),
                                                   actor=actor, note="演示数据"))
    session.flush()
    homes = session.execute(select(Institution.id, Institution.beds).where(Institution.construction_status == "in_use")
                            ).all()
    bed_rows = [{"institution_id": iid, "label": str(n)} for iid, count in homes for n in range(1, count + 1)]
    for k in range(0, len(bed_rows), 5000):
        session.execute(insert(Bed), bed_rows[k:k + 5000])
    free: dict[int, list[int]] = {}
    for bid, iid in session.execute(select(Bed.id, Bed.institution_id).order_by(Bed.id)).all():
        free.setdefault(iid, []).append(bid)
    residents = session.execute(text(
        "SELECT person_id, institution_id FROM cases WHERE program_code = 'wubao' AND status = 'active' "
        "AND institution_id IS NOT NULL ORDER BY id")).all()
    placements = []
    for pid, iid in residents:
        if free.get(iid):
            placements.append({"bed_id": free[iid].pop(0), "person_id": pid, "from_date": date(2012, 1, 1),
                               "actor": actor})
    for k in range(0, len(placements), 5000):
        session.execute(insert(BedPlacement), placements[k:k + 5000])
