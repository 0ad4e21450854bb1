"""The demo city's home-care service centres and care-worker training (plan P20): a centre in most
towns (a few still being prepared), demonstration points in some communities, care workers at the
centres, and per county a course in each of the last two years plus a city course, with results and
certificates, so the P20 pages and counts show real life after `make run`."""

from __future__ import annotations

from datetime import date
from random import Random

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from minxin.eldercare.training.models import CareCentre, CareCourse, CareEnrolment, CareWorker
from minxin.infra.clock import today

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("秀英", "桂兰", "玉梅", "红霞", "海燕", "丽华", "春梅", "建军", "志强", "明")


def seed_care_training(session: Session, *, rng: Random, actor: str) -> int:
    """Centres, workers, courses and results; returns the number of care workers added."""
    towns = session.execute(text(
        "SELECT code, name FROM regions WHERE level = 'town' AND alias_of IS NULL ORDER BY code")).all()
    communities = session.execute(text(
        "SELECT code, name FROM regions WHERE level = 'community' AND alias_of IS NULL ORDER BY code")).all()
    centres: list[dict[str, object]] = []
    for k, (code, name) in enumerate(towns):
        status = "building" if k % 7 == 3 else "in_use"
        centres.append({"name": f"{name}居家养老服务中心", "kind": "centre", "region_code": code, "status": status,
                        "opened_on": date(2012, 1 + k % 12, 1 + k % 27) if status == "in_use" else None,
                        "created_by": actor})
    for k, (code, name) in enumerate(communities):
        if k % 5 == 0:
            centres.append({"name": f"{name}居家养老示范点", "kind": "demo_point", "region_code": code,
                            "status": "in_use", "opened_on": date(2012, 6 + k % 6, 1), "created_by": actor})
    if centres:
        session.execute(insert(CareCentre), centres)
    in_use = session.execute(text(
        "SELECT id, region_code FROM care_centres WHERE kind = 'centre' AND status = 'in_use' ORDER BY id")).all()
    workers: list[dict[str, object]] = []
    for centre_id, region in in_use:
        for _ in range(rng.randint(3, 6)):
            workers.append({"name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                            "phone": f"136{50000000 + len(workers):08d}", "region_code": region,
                            "centre_id": centre_id, "created_by": actor})
    if workers:
        session.execute(insert(CareWorker), workers)
    year = today().year
    counties = session.execute(text(
        "SELECT code, name FROM regions WHERE level = 'county' AND alias_of IS NULL ORDER BY code")).all()
    courses = [{"name": f"{name}{y}年养老护理员初级培训班", "region_code": code, "level": "初级",
                "starts_on": date(y, 4, 10), "ends_on": date(y, 5, 20), "hours": 120, "organiser": f"{name}民政局",
                "created_by": actor} for y in (year - 1, year) for code, name in counties]
    courses.append({"name": f"{year - 1}年养老护理员中级培训班", "region_code": "320700", "level": "中级",
                    "starts_on": date(year - 1, 9, 1), "ends_on": date(year - 1, 10, 31), "hours": 180,
                    "organiser": "连云港市民政局", "created_by": actor})
    session.execute(insert(CareCourse), courses)
    course_ids = session.execute(text("SELECT id, region_code, level, ends_on FROM care_courses ORDER BY id")).all()
    people = session.execute(text("SELECT id, region_code FROM care_workers ORDER BY id")).all()
    enrolments: list[dict[str, object]] = []
    serial = 0
    for course_id, region, level, ends_on in course_ids:
        ends = ends_on if isinstance(ends_on, date) else date.fromisoformat(str(ends_on))
        share = 0.15 if level == "中级" else 0.45
        for worker_id, worker_region in people:
            if not str(worker_region).startswith("3207" if region == "320700" else region[:6]):
                continue
            if rng.random() > share:
                continue
            done = ends <= today()
            roll = rng.random()
            result = ("passed" if roll < 0.82 else "failed" if roll < 0.95 else "withdrawn") if done else "enrolled"
            score = rng.randint(60, 98) if result == "passed" else rng.randint(30, 59) if result == "failed" else None
            cert = None
            if result == "passed":
                serial += 1
                cert = f"YL{ends.year}{serial:06d}"
            enrolments.append({"course_id": course_id, "worker_id": worker_id, "result": result, "score": score,
                               "certificate_no": cert, "certified_on": ends if cert else None, "enrolled_by": actor})
    seen: set[tuple[object, object]] = set()
    unique = [e for e in enrolments if (e["course_id"], e["worker_id"]) not in seen
              and not seen.add((e["course_id"], e["worker_id"]))]  # type: ignore[func-returns-value]
    if unique:
        session.execute(insert(CareEnrolment), unique)
    return len(workers)
