"""Charity supermarkets (慈善超市, plan P10) and their append-only ledger of goods and money."""

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
)
from sqlalchemy.orm import Mapped, mapped_column

from minxin.infra.db import Base, UTCDateTime, utcnow

LEDGER_KINDS = ("donation_money", "donation_goods", "distribution", "correction")


class CharitySupermarket(Base):
    """A 慈善超市: takes donations of money and goods and hands them out to households in need."""

    __tablename__ = "charity_supermarkets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    opened_on: Mapped[date] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CharityLedgerEntry(Base):
    """One line of a supermarket's ledger. Never edited: a mistake is undone by a reversing correction.

    Signs: quantity (units of `item`) and value_fen are + for what comes in and − for what goes out.
    A row without `item` is money (quantity 0); a row with `item` is goods, and its value_fen is the
    goods' value. Balances are sums of rows, so the schema holds every row's shape and sign.
    """

    __tablename__ = "charity_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(ForeignKey("charity_supermarkets.id"))
    entry_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    donor: Mapped[str | None] = mapped_column(String(100))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    item: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    value_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("charity_ledger.id"))
    note: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "kind in ('donation_money','donation_goods','distribution','correction')", name="kind"
        ),
        # Money rows carry no quantity; goods rows always move some units.
        CheckConstraint(
            "(item is null and quantity = 0 and value_fen <> 0) or (item is not null and quantity <> 0)",
            name="item_quantity",
        ),
        CheckConstraint(
            "kind <> 'donation_money' or (item is null and value_fen > 0 and donor is not null "
            "and household_id is null)",
            name="donation_money",
        ),
        CheckConstraint(
            "kind <> 'donation_goods' or (item is not null and quantity > 0 and value_fen >= 0 "
            "and donor is not null and household_id is null)",
            name="donation_goods",
        ),
        CheckConstraint(
            "kind <> 'distribution' or (household_id is not null and quantity <= 0 and value_fen <= 0)",
            name="distribution",
        ),
        # A correction, and only a correction, points at the entry it reverses; each entry once at most.
        CheckConstraint(
            "(kind = 'correction' and reverses_id is not null) or (kind <> 'correction' and reverses_id is null)",
            name="correction_reverses",
        ),
        UniqueConstraint("reverses_id"),
        Index("ix_charity_ledger_supermarket_item", "supermarket_id", "item"),
        Index("ix_charity_ledger_supermarket_date", "supermarket_id", "entry_date"),
    )
