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
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from minxin.infra.db import Base, UTCDateTime, utcnow

CASE_STATUSES = ("applied", "investigated", "reviewed", "noticed", "approved", "active", "suspended",
                 "terminated", "rejected")
OPEN_STATUSES = ("applied", "investigated", "reviewed", "noticed", "approved", "active", "suspended")
CYCLE_STATUSES = ("draft", "approved", "exported", "reconciled")
PAYMENT_KINDS = ("regular", "arrears", "carryover")  # the parts a payment line may hold


class Program(Base):
    """A benefit program: one engine, different calculators (named in the policy file)."""

    __tablename__ = "programs"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(16))  # household | person
    calculator: Mapped[str] = mapped_column(String(32))
    frequency: Mapped[str] = mapped_column(String(16), default="monthly")
    # Comma-separated, '' = none; 1000 wide: 优抚 lists every grade and cause of 残疾军人 (~480 characters).
    categories: Mapped[str] = mapped_column(String(1000), default="")
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
    # Relatives of the assistance staff or community cadres: registered (备案) and always checked in person.
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
        # A county's run reads its active cases as one key range: program, status, region code.
        Index("ix_cases_program_status", "program_code", "status", "region_code"),
        # An arrears run looks up the cases changed or ended since the months it reaches.
        Index("ix_cases_program_updated", "program_code", "updated_at"),
        Index("ix_cases_program_end", "program_code", "end_period"),
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
    """One program's payments for one month in one county: draft → approved → exported → reconciled.

    The county civil-affairs bureau approves and the county's finance pays (县级民政部门审批, 社会化发放);
    the city oversees and may run every county at once, each its own cycle. Cycles computed before
    county cycles existed cover the whole city: their county_code is the city's code (320700)."""

    __tablename__ = "cycles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_code: Mapped[str] = mapped_column(ForeignKey("programs.code"))
    period: Mapped[str] = mapped_column(String(7))
    county_code: Mapped[str] = mapped_column(String(6))
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
        UniqueConstraint("program_code", "period", "county_code"),
        CheckConstraint("status in ('draft','approved','exported','reconciled')", name="status"),
        CheckConstraint("total_fen >= 0", name="total_nonnegative"),
    )


class Payment(Base):
    """One line of what a cycle pays one case, with the facts that prove every fen of it.

    A case has one line per cycle (seq 0), holding up to three parts that add up to its amount:

    * regular: the period's own amount and the facts it was computed from — the engine's fact slots,
      one meaning each whatever the program (programs/calculator.py lists them);
    * arrears (补发): what a back-dated standard adds to earlier months already paid, for a set of
      months that share the same facts, standard and amount already paid — stored once with the
      months as a bit mask (bit i = arrears_from + i months), so a raise reaching back three months
      costs no extra rows;
    * carry-over: failed bank payments of reconciled cycles paid again (FailedPayment names the
      cycle that carried each).

    Further lines (seq 1, 2 …) exist only for arrears months whose facts differ from the first group
    (an income change between the months a raise reaches). Bank files, totals and reconciliation
    treat a case's lines as one payment.
    """

    __tablename__ = "payments"

    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), primary_key=True)
    # No index of its own: a case's history is a key look-up per cycle of its program (a few hundred
    # over years), and every cycle is spared writing one more index entry per line.
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=0)
    region_code: Mapped[str] = mapped_column(String(12))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # The regular part: this period's amount and its facts (NULL facts when the line has none).
    regular_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    category: Mapped[str | None] = mapped_column(String(16))  # the case's category the standard was for
    rule: Mapped[str | None] = mapped_column(String(16))
    standard_fen: Mapped[int | None] = mapped_column(BigInteger)
    standard_id: Mapped[int | None] = mapped_column(Integer)
    income_fen: Mapped[int | None] = mapped_column(BigInteger)
    members: Mapped[int | None] = mapped_column(Integer)
    units: Mapped[int | None] = mapped_column(BigInteger)  # the rule's units counted: records, years of service
    addon_fen: Mapped[int | None] = mapped_column(BigInteger)
    # Members qualifying for each 分类施保 add-on (elderly, minor, severely disabled, seriously ill).
    n_elderly: Mapped[int | None] = mapped_column(Integer)
    n_minor: Mapped[int | None] = mapped_column(Integer)
    n_disabled: Mapped[int | None] = mapped_column(Integer)
    n_ill: Mapped[int | None] = mapped_column(Integer)
    # The arrears part: months × (entitled now − paid before), per month alike. Its facts (rule,
    # standard, income, members, counts) are the regular part's when arrears_rule is NULL — the
    # common case of months with today's facts — and its own otherwise.
    arrears_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    arrears_from: Mapped[str | None] = mapped_column(String(7))
    arrears_mask: Mapped[int | None] = mapped_column(BigInteger)
    arrears_months: Mapped[int | None] = mapped_column(Integer)
    arrears_rule: Mapped[str | None] = mapped_column(String(16))
    arrears_standard_fen: Mapped[int | None] = mapped_column(BigInteger)
    arrears_standard_id: Mapped[int | None] = mapped_column(Integer)
    arrears_income_fen: Mapped[int | None] = mapped_column(BigInteger)
    arrears_members: Mapped[int | None] = mapped_column(Integer)
    arrears_units: Mapped[int | None] = mapped_column(BigInteger)
    arrears_addon_fen: Mapped[int | None] = mapped_column(BigInteger)  # per month, at the new standard
    arrears_n_elderly: Mapped[int | None] = mapped_column(Integer)
    arrears_n_minor: Mapped[int | None] = mapped_column(Integer)
    arrears_n_disabled: Mapped[int | None] = mapped_column(Integer)
    arrears_n_ill: Mapped[int | None] = mapped_column(Integer)
    arrears_paid_fen: Mapped[int | None] = mapped_column(BigInteger)  # per month, paid before
    # The carry-over part: failed payments of earlier cycles paid again (see FailedPayment).
    carryover_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    bank_note: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        CheckConstraint("amount_fen >= 0 AND regular_fen >= 0 AND arrears_fen >= 0 AND carryover_fen >= 0",
                        name="amounts_nonnegative"),
        CheckConstraint("amount_fen = regular_fen + arrears_fen + carryover_fen", name="parts_add_up"),
        CheckConstraint("regular_fen = 0 OR rule IS NOT NULL", name="regular_explained"),
        CheckConstraint("arrears_fen = 0 OR (arrears_from IS NOT NULL AND arrears_months > 0 AND arrears_mask > 0 "
                        "AND arrears_paid_fen IS NOT NULL)", name="arrears_explained"),
        CheckConstraint("arrears_fen = 0 OR arrears_rule IS NOT NULL OR regular_fen > 0", name="arrears_facts"),
        # Compared, not an IN list: SQLite answers IN through a temporary table, a look-up per line written.
        CheckConstraint("status = 'pending' OR status = 'paid' OR status = 'failed'", name="status"),
        # The lines an arrears run marks for the month-by-month computation (arrears_months = 0, only
        # while the run lasts): found without walking the cycle's million lines. Empty at rest, so
        # a line written costs it one test of the condition.
        Index("ix_payments_unsettled", "cycle_id", "case_id", sqlite_where=text("arrears_months = 0"),
              postgresql_where=text("arrears_months = 0")),
        # SQLite: the lines are stored in their primary key's order (a cycle's lines side by side), one
        # B-tree fewer to write and one search per look-up.
        {"sqlite_with_rowid": False},
    )


class FailedPayment(Base):
    """A payment line the bank could not pay (from its result file), and the cycle that paid it again.

    Kept apart from the lines, which are millions: the few failures are found without an index over
    every line, and each is carried into exactly one later cycle (carried_into, set once).
    """

    __tablename__ = "failed_payments"

    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    carried_into: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"), index=True)

    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)
