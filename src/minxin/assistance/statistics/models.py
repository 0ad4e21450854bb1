"""Statistics that standards are derived from, one figure per county and year."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from minxin.infra.db import Base, UTCDateTime, utcnow

FIRST_YEAR = 1978  # the statistical yearbooks' series of rural income starts with the reform
LAST_YEAR = 2100


class RuralIncome(Base):
    """农民人均纯收入: a county's rural per-capita net income of one year, in fen, as the statistics bureau
    published it; corrected in place (each change audited with the figure before)."""

    __tablename__ = "rural_incomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str | None] = mapped_column(String(200))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("county_code", "year"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(f"year BETWEEN {FIRST_YEAR} AND {LAST_YEAR}", name="year_range"),
    )
