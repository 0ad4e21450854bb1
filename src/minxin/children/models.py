"""A child in need's record: who looks after them (监护人). The placement and the allowance are the case's.

One record per person (the registry person, linked by ID number). The placement (机构集中养育 /
社会散居) is the category of the child's `orphan` case and the institution its `institution_id`, so the
payment and the record can never disagree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from minxin.infra.db import Base, UTCDateTime, utcnow


class ChildRecord(Base):
    """孤儿 / 事实无人抚养儿童: the guardian of one child (name, relation, phone, ID number optional)."""

    __tablename__ = "child_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), unique=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)  # the child's community (scope)
    guardian_name: Mapped[str] = mapped_column(String(64))
    guardian_relation: Mapped[str] = mapped_column(String(16))
    guardian_phone: Mapped[str | None] = mapped_column(String(20))
    guardian_id_number: Mapped[str | None] = mapped_column(String(18))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (CheckConstraint("guardian_name <> ''", name="guardian_named"),)
