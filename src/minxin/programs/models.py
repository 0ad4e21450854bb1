"""The benefit engine's tables: programs, effective-dated standards, cases and their events,
objections to public notices, payment cycles and payments."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from minxin.db import Base, UTCDateTime, utcnow

CASE_STATUSES = ("applied", "investigated", "reviewed", "noticed", "approved", "active", "suspended",
                 "terminated", "rejected")
OPEN_STATUSES = ("applied", "investigated", "reviewed", "noticed", "approved", "active", "suspended")
CYCLE_STATUSES = ("draft", "approved", "exported", "reconciled")
PAYMENT_KINDS = ("regular", "arrears", "carryover")


class Program(Base):
    """A benefit program: 低保, 五保, premium subsidies … one engine, different calculators."""

    __tablename__ = "programs"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(16))  # household | person
    calculator: Mapped[str] = mapped_column(String(32))
    frequency: Mapped[str] = mapped_column(String(16), default="monthly")
    categories: Mapped[str] = mapped_column(String(200), default="")  # comma-separated, '' = none
    notice_days: Mapped[int] = mapped_column(Integer, default=7)

    __table_args__ = (CheckConstraint("unit in ('household','person')", name="unit"),)

    @property
    def category_list(self) -> list[str]:
        return [c for c in self.categories.split(",") if c]


class Standard(Base):
    """An amount for (program, region, category) from a date on. Rows are added, never edited."""

    __tablename__ = "standards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_code: Mapped[str] = mapped_column(ForeignKey("programs.code"))
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    category: Mapped[str] = mapped_column(String(16), default="")
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    effective_from: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("program_code", "region_code", "category", "effective_from"),
        CheckConstraint("amount_fen >= 0", name="amount_nonnegative"),
        Index("ix_standards_lookup", "program_code", "category", "effective_from"),
    )


class Case(Base):
    """A beneficiary (household or person) in a program, moving only through the workflow."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_code: Mapped[str] = mapped_column(ForeignKey("programs.code"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    category: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(16))
    start_period: Mapped[str | None] = mapped_column(String(7))
    end_period: Mapped[str | None] = mapped_column(String(7))
    bank_account: Mapped[str | None] = mapped_column(String(40))
    # 三无: no income, no work capacity, no supporter → the full standard (条例 Art.8).
    sanwu: Mapped[bool] = mapped_column(Boolean, default=False)
    # Relatives of 低保 staff or community cadres: registered (备案) and always checked in person.
    staff_relative: Mapped[bool] = mapped_column(Boolean, default=False)
    spot_check_required: Mapped[bool] = mapped_column(Boolean, default=False)
    spot_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    review_class: Mapped[str] = mapped_column(String(4), default="B")
    next_review_due: Mapped[date | None] = mapped_column(Date, index=True)
    notice_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # 集中供养: the care institution the person lives in (and that is paid).
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id")

    __table_args__ = (
        CheckConstraint(
            "status in ('applied','investigated','reviewed','noticed','approved','active','suspended',"
            "'terminated','rejected')", name="status"),
        Index("ix_cases_program_status", "program_code", "status"),
        # One open case per beneficiary and program.
        Index("uq_cases_open_beneficiary", "program_code", "person_id", unique=True,
              sqlite_where=text("status NOT IN ('terminated','rejected')"),
              postgresql_where=text("status NOT IN ('terminated','rejected')")),
    )


class CaseEvent(Base):
    """One workflow step of a case: who, when, from which status to which, and why."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="events")


class Objection(Base):
    """An objection raised during public notice (公示); blocks approval until resolved."""

    __tablename__ = "objections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    content: Mapped[str] = mapped_column(Text)
    raised_by: Mapped[str | None] = mapped_column(String(64))
    contact: Mapped[str | None] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolution: Mapped[str | None] = mapped_column(Text)


class Cycle(Base):
    """One program's payments for one period: draft → approved → exported → reconciled."""

    __tablename__ = "cycles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_code: Mapped[str] = mapped_column(ForeignKey("programs.code"))
    period: Mapped[str] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    cases: Mapped[int] = mapped_column(Integer, default=0)
    total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    arrears_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    carryover_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    run_by: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    failed_fen: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        UniqueConstraint("program_code", "period"),
        CheckConstraint("status in ('draft','approved','exported','reconciled')", name="status"),
        CheckConstraint("total_fen >= 0", name="total_nonnegative"),
    )


class Payment(Base):
    """One amount owed to one case in one cycle, with the facts that explain it.

    kind: regular (this period), arrears (补发 for an earlier period after a back-dated raise),
    carryover (a failed bank payment paid again).
    """

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))  # indexed with for_period below
    kind: Mapped[str] = mapped_column(String(16))
    for_period: Mapped[str] = mapped_column(String(7))
    region_code: Mapped[str] = mapped_column(String(12))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # Facts behind the amount (the explanation is rendered from them by programs.rules.explain).
    rule: Mapped[str] = mapped_column(String(16))
    standard_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    standard_id: Mapped[int | None] = mapped_column(Integer)
    income_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    members: Mapped[int] = mapped_column(Integer, default=0)
    addon_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # Members qualifying for each 分类施保 add-on (elderly, minor, severely disabled, seriously ill).
    n_elderly: Mapped[int] = mapped_column(Integer, default=0)
    n_minor: Mapped[int] = mapped_column(Integer, default=0)
    n_disabled: Mapped[int] = mapped_column(Integer, default=0)
    n_ill: Mapped[int] = mapped_column(Integer, default=0)
    paid_before_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # arrears: what was paid already
    carried_from_id: Mapped[int] = mapped_column(BigInteger, default=0)  # carryover: the failed payment
    status: Mapped[str] = mapped_column(String(16), default="pending")
    bank_note: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        UniqueConstraint("cycle_id", "case_id", "kind", "for_period", "carried_from_id"),
        CheckConstraint("amount_fen >= 0", name="amount_nonnegative"),
        CheckConstraint("kind in ('regular','arrears','carryover')", name="kind"),
        CheckConstraint("status in ('pending','paid','failed')", name="status"),
        Index("ix_payments_case_period", "case_id", "for_period"),
        # A failed payment is carried into a later cycle once.
        Index("uq_payments_carried_from", "carried_from_id", unique=True,
              sqlite_where=text("carried_from_id <> 0"),
              postgresql_where=text("carried_from_id <> 0")),
    )
