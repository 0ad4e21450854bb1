"""Medical assistance 医疗救助: one row per settlement record of the medical insurance system.

A record is stored once (its insurance record id is unique) with the facts it was assessed on:
the amounts of the settlement, the rule in force (起付线, 比例, 年度封顶线), what the person had already
received that year for the same kind of visit, and the result. The explanation is rendered from
these facts (rules.explain), so it never drifts from the amount. `cycle_id` names the payment
cycle that paid the record; NULL until a cycle does.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from minxin.infra.db import Base, UTCDateTime, utcnow

RECORD_STATUSES = ("assisted", "not_eligible")


class MedicalRecord(Base):
    """A settlement (结算) record: a visit's costs, what insurance paid, and the assistance assessed."""

    __tablename__ = "medical_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String(40), unique=True)  # the insurance system's 记录号
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))  # indexed with visit_date below
    # The person's community at import: lists and exports are scoped by it, like payments.
    region_code: Mapped[str] = mapped_column(String(12))
    visit_date: Mapped[date] = mapped_column(Date, index=True)
    visit_period: Mapped[str] = mapped_column(String(7))  # YYYY-MM of visit_date
    kind: Mapped[str] = mapped_column(String(4))  # 门诊 | 住院
    total_fen: Mapped[int] = mapped_column(BigInteger)
    insurance_fen: Mapped[int] = mapped_column(BigInteger)  # 基本医保支付
    serious_fen: Mapped[int] = mapped_column(BigInteger)  # 大病保险支付
    in_scope_fen: Mapped[int] = mapped_column(BigInteger)  # 政策范围内费用
    category: Mapped[str | None] = mapped_column(String(4))  # 低保 | 五保 on the visit date; NULL if neither
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)  # why not eligible
    # The rule in force on the visit date, and the person's year so far for this kind.
    deductible_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    ratio_permille: Mapped[int] = mapped_column(Integer, default=0)
    cap_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    used_before_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    raw_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # residual × ratio, before the cap
    assistance_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # The person's 医疗救助 case (直接救助), which payment cycles pay; NULL when not eligible.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"))  # partial index below
    batch: Mapped[str] = mapped_column(String(16))  # the import: first 16 hex digits of the file's SHA-256
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("status in ('assisted','not_eligible')", name="status"),
        CheckConstraint("kind in ('门诊','住院')", name="kind"),
        CheckConstraint("category is null or category in ('低保','五保')", name="category"),
        CheckConstraint(
            "total_fen >= 0 and insurance_fen >= 0 and serious_fen >= 0 and in_scope_fen >= 0 "
            "and deductible_fen >= 0 and cap_fen >= 0 and used_before_fen >= 0 and raw_fen >= 0 "
            "and assistance_fen >= 0", name="amounts_nonnegative"),
        CheckConstraint("insurance_fen + serious_fen <= total_fen", name="insurance_within_total"),
        CheckConstraint("in_scope_fen <= total_fen", name="in_scope_within_total"),
        CheckConstraint("assistance_fen <= raw_fen", name="assistance_within_raw"),
        CheckConstraint("ratio_permille between 0 and 1000", name="ratio"),
        # Only an eligible record is assisted, belongs to a case and can be paid.
        CheckConstraint(
            "(status = 'assisted' and category is not null and case_id is not null) or "
            "(status = 'not_eligible' and assistance_fen = 0 and cycle_id is null and case_id is null)",
            name="eligible_or_not"),
        # The year so far per person and kind (caps), and a person's records (minxin medical show).
        Index("ix_medical_records_person_visit", "person_id", "visit_date"),
        # The records a cycle paid. Partial: an import adds only unpaid records, which stay out of it.
        Index("ix_medical_records_cycle_id", "cycle_id", sqlite_where=text("cycle_id IS NOT NULL"),
              postgresql_where=text("cycle_id IS NOT NULL")),
    )
