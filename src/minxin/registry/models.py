"""Registry tables: households (户), persons and income declarations (regions: `minxin.regions`)."""

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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from minxin.infra.db import Base, UTCDateTime, utcnow
from minxin.regions import Region as Region  # the division tree lives below every domain

HUKOU_TYPES = ("城镇", "农村")
RELATIONS = ("户主", "配偶", "子女", "父母", "孙子女", "兄弟姐妹", "其他")
HEALTH_STATUSES = ("健康", "慢性病", "重病", "残疾", "失能")
# 残疾等级: national disability grades 一级 (most severe) … 四级; 0 / NULL = none.
DISABILITY_GRADES = {"一级": 1, "二级": 2, "三级": 3, "四级": 4}


class Household(Base):
    """户: the unit of most benefits; its members are the persons whose household_id points here."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_no: Mapped[str] = mapped_column(String(32), unique=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    hukou_type: Mapped[str] = mapped_column(String(4))
    address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    # Latest declared monthly household income and assets, in fen (history in income_declarations).
    monthly_income_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    assets_fen: Mapped[int | None] = mapped_column(BigInteger)
    income_declared_on: Mapped[date | None] = mapped_column(Date)
    # Facts of the members that benefit cycles read, kept by database triggers on persons (revision
    # 20261201_household_facts; never written by the application): the number of members, those
    # severely disabled (grade 1–2) or seriously ill (重病), and the five earliest birth dates in order,
    # from which a cycle counts the elderly and minors of any month.
    member_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    severe_disabled: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    seriously_ill: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    birth1: Mapped[date | None] = mapped_column(Date)
    birth2: Mapped[date | None] = mapped_column(Date)
    birth3: Mapped[date | None] = mapped_column(Date)
    birth4: Mapped[date | None] = mapped_column(Date)
    birth5: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    members: Mapped[list[Person]] = relationship(
        back_populates="household", order_by="(Person.is_head.desc(), Person.id)"
    )
    region: Mapped[Region] = relationship()

    __table_args__ = (
        CheckConstraint("hukou_type in ('城镇','农村')", name="hukou_type"),
        CheckConstraint("monthly_income_fen >= 0", name="income_nonnegative"),
        CheckConstraint("assets_fen is null or assets_fen >= 0", name="assets_nonnegative"),
        # The few households whose elderly and minors are counted from persons (more than five members).
        Index("ix_households_large", "id", sqlite_where=text("member_count > 5"),
              postgresql_where=text("member_count > 5")),
    )


class Person(Base):
    """A resident, identified by the ID number (公民身份号码); belongs to at most one household."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    relation: Mapped[str | None] = mapped_column(String(8))
    is_head: Mapped[bool] = mapped_column(Boolean, default=False)
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    disability_grade: Mapped[int | None] = mapped_column(Integer)
    health_status: Mapped[str | None] = mapped_column(String(8))
    monthly_income_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    household: Mapped[Household | None] = relationship(back_populates="members")

    __table_args__ = (
        CheckConstraint("sex in ('M','F')", name="sex"),
        CheckConstraint("disability_grade is null or disability_grade between 1 and 4", name="disability"),
        CheckConstraint("monthly_income_fen >= 0", name="income_nonnegative"),
        # A household's members, oldest first: how the facts triggers read them.
        Index("ix_persons_household_birth", "household_id", "birth_date"),
        # One head per household, enforced by the database too.
        Index(
            "uq_persons_household_head",
            "household_id",
            unique=True,
            sqlite_where=text("is_head"),
            postgresql_where=text("is_head"),
        ),
    )


class Institution(Base):
    """A care institution (敬老院, 福利院, 民办养老机构): where 集中供养 五保 recipients live and are paid."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="敬老院")
    beds: Mapped[int] = mapped_column(Integer, default=0)
    # 统一社会信用代码 (GB 32100) where the institution has one.
    credit_code: Mapped[str | None] = mapped_column(String(18))
    bank_account: Mapped[str | None] = mapped_column(String(40))
    opened_on: Mapped[date | None] = mapped_column(Date)
    # 公办 public, 民办 private, 公建民营 built by the state and run privately (eldercare, plan P15–P17).
    ownership: Mapped[str | None] = mapped_column(String(8))
    # planned → building → structure_done (主体完工) → in_use (投入使用); the dated steps are in
    # institution_status_events (eldercare).
    construction_status: Mapped[str] = mapped_column(String(16), default="in_use", server_default="in_use")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("beds >= 0", name="beds_nonnegative"),
        CheckConstraint("construction_status in ('planned','building','structure_done','in_use')",
                        name="construction_status"),
        CheckConstraint("ownership is null or ownership in ('公办','民办','公建民营')", name="ownership"),
    )


class IncomeDeclaration(Base):
    """Every income/asset declaration of a household, kept with its date (低收入 tracking, 动态管理)."""

    __tablename__ = "income_declarations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    declared_on: Mapped[date] = mapped_column(Date)
    monthly_income_fen: Mapped[int] = mapped_column(BigInteger)
    assets_fen: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(32), default="manual")
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("monthly_income_fen >= 0", name="income_nonnegative"),)
