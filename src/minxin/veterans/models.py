"""优抚 tables: key recipients (重点优抚对象) and their documents and status events, service events
(free checkups, convalescence stays), and the resettlement of retired soldiers (training, placement)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from minxin.infra.db import Base, UTCDateTime, utcnow

RECIPIENT_STATUSES = ("active", "moved_out", "deceased")
EVENT_KINDS = ("new", "moved_in", "moved_out", "deceased")
SERVICE_KINDS = ("checkup", "convalescence")
PLACEMENT_STATUSES = ("waiting", "placed", "self_employed")
ENROLMENT_RESULTS = ("enrolled", "passed", "failed", "withdrawn")
DEATH_CAUSES = ("illness", "other")


class VeteranRecipient(Base):
    """A key special-care recipient (重点优抚对象): a person, their category and the youfu case paying them."""

    __tablename__ = "veteran_recipients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    category: Mapped[str] = mapped_column(String(16))  # the top-level 优抚类别
    subkind: Mapped[str] = mapped_column(String(16), default="")  # 子类: 一级/因战, 抗日战争时期 …
    service_years: Mapped[int | None] = mapped_column(Integer)  # categories paid per year of service
    certificate_no: Mapped[str | None] = mapped_column(String(40))
    certificate_issued: Mapped[date | None] = mapped_column(Date)
    medical_insurance: Mapped[str | None] = mapped_column(String(32))  # the basic scheme they are in
    medical_subsidy: Mapped[bool] = mapped_column(Boolean, default=False)  # 优抚对象医疗补助
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("status in ('active','moved_out','deceased')", name="status"),
        CheckConstraint("service_years IS NULL OR (service_years >= 1 AND service_years <= 60)",
                        name="service_years"),
    )


class VeteranEvent(Base):
    """A status change of a recipient (new, moved in, moved out, deceased), with its date."""

    __tablename__ = "veteran_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("veteran_recipients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    on: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("kind in ('new','moved_in','moved_out','deceased')", name="kind"),)


class VeteranDeathBenefit(Base):
    """The extra months paid once on a recipient's death (丧葬补助费: 6 months for 三属, 条例 Art.19; 12 months
    for a disabled veteran who died of illness, Art.28), paid by the next youfu cycle of the county through
    the engine (the calculator's one-off part) and linked to that cycle."""

    __tablename__ = "veteran_death_benefits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("veteran_recipients.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    died_on: Mapped[date] = mapped_column(Date)
    cause: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str] = mapped_column(String(16))  # the payment line's rule (rules.DEATH_RULES)
    months: Mapped[int] = mapped_column(Integer)
    pay_from: Mapped[str] = mapped_column(String(7))  # the month of death: a cycle of a later month pays it
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"), index=True)  # the cycle that paid it
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("months > 0", name="months_positive"),
        CheckConstraint("cause in ('illness','other')", name="cause"),
    )


class VeteranService(Base):
    """One person-time of a free checkup (免费体检) or a convalescence stay (短期疗养) in a special-care hospital."""

    __tablename__ = "veteran_services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("veteran_recipients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    on: Mapped[date] = mapped_column(Date)
    region_code: Mapped[str] = mapped_column(String(12))
    hospital: Mapped[str] = mapped_column(String(100))
    days: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("kind in ('checkup','convalescence')", name="kind"),
        CheckConstraint("days IS NULL OR days > 0", name="days_positive"),
        Index("ix_veteran_services_region_on", "region_code", "on"),
    )


class RetiredSoldier(Base):
    """A retired soldier awaiting placement (退役士兵安置), with priority cases (优先安置) marked."""

    __tablename__ = "retired_soldiers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), unique=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    discharged_on: Mapped[date] = mapped_column(Date)
    priority: Mapped[bool] = mapped_column(Boolean, default=False)
    priority_reason: Mapped[str | None] = mapped_column(String(64))
    placement_status: Mapped[str] = mapped_column(String(16), default="waiting")
    placed_on: Mapped[date | None] = mapped_column(Date)
    placement_note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("placement_status in ('waiting','placed','self_employed')", name="placement_status"),
    )


class TrainingCourse(Base):
    """A skills-training course (职业技能培训) a county organises for retired soldiers."""

    __tablename__ = "training_courses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    provider: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="dates"),)


class TrainingEnrolment(Base):
    """A soldier's enrolment in a course and its result (结业 with a certificate, or not)."""

    __tablename__ = "training_enrolments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_courses.id"), index=True)
    soldier_id: Mapped[int] = mapped_column(ForeignKey("retired_soldiers.id"), index=True)
    result: Mapped[str] = mapped_column(String(16), default="enrolled")
    certificate_no: Mapped[str | None] = mapped_column(String(40))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("result in ('enrolled','passed','failed','withdrawn')", name="result"),
        Index("uq_training_enrolments_course_soldier", "course_id", "soldier_id", unique=True),
    )
