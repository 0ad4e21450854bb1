"""Home-care service centres and care-worker training (plan P20): tables.

A service centre (居家养老服务中心) or demonstration point (示范点) belongs to a town or a community;
care workers (养老护理员) take courses at a national vocational level and pass or fail their exam,
a pass carrying a certificate number that is unique in the city.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from minxin.infra.db import Base, UTCDateTime, utcnow

CENTRE_KINDS = ("centre", "demo_point")
CENTRE_STATUSES = ("building", "in_use", "closed")
# 养老护理员 national vocational levels (国家职业技能标准), lowest first.
COURSE_LEVELS = ("初级", "中级", "高级", "技师", "高级技师")
ENROLMENT_RESULTS = ("enrolled", "passed", "failed", "withdrawn")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({','.join(repr(v) for v in values)})"


class CareCentre(Base):
    """A home-care service centre or demonstration point of a town (or one of its communities)."""

    __tablename__ = "care_centres"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    status: Mapped[str] = mapped_column(String(16), default="in_use")
    opened_on: Mapped[date | None] = mapped_column(Date)
    address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(_in("kind", CENTRE_KINDS), name="kind"),
        CheckConstraint(_in("status", CENTRE_STATUSES), name="status"),
        UniqueConstraint("region_code", "name"),
    )


class CareWorker(Base):
    """A care worker (养老护理员) working in a town or community, at a centre or not."""

    __tablename__ = "care_workers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("care_centres.id"), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("phone"),)


class CareCourse(Base):
    """A training course for care workers, organised by a county (or the city) at one level."""

    __tablename__ = "care_courses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    level: Mapped[str] = mapped_column(String(8))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    hours: Mapped[int] = mapped_column(Integer)
    organiser: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(_in("level", COURSE_LEVELS), name="level"),
        CheckConstraint("ends_on >= starts_on", name="dates"),
        CheckConstraint("hours > 0 AND hours <= 2000", name="hours"),
    )


class CareEnrolment(Base):
    """A worker's place on a course and the exam's result; a pass carries the certificate."""

    __tablename__ = "care_enrolments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("care_courses.id"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("care_workers.id"), index=True)
    result: Mapped[str] = mapped_column(String(16), default="enrolled")
    score: Mapped[int | None] = mapped_column(Integer)
    certificate_no: Mapped[str | None] = mapped_column(String(40))
    certified_on: Mapped[date | None] = mapped_column(Date)
    enrolled_by: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(_in("result", ENROLMENT_RESULTS), name="result"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score"),
        CheckConstraint("(result = 'passed') = (certificate_no IS NOT NULL)", name="certificate"),
        UniqueConstraint("course_id", "worker_id"),
        Index("uq_care_enrolments_certificate_no", "certificate_no", unique=True),
    )
