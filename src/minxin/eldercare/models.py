"""Elderly-care tables: elderly profiles, emergency contacts, call devices; the call and rescue centre
(calls, their timeline, providers, service orders) and scheduled care calls (主动关怀).

An elderly person is a registry person aged 60 or over; `elderly_profiles` holds what the care side
adds to them. Every step of a call is a row of `call_events`: the call's timeline, and, read by
increasing id, the feed the live console follows (so any worker process can serve it).
"""

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
from sqlalchemy.orm import Mapped, mapped_column

from minxin.infra.db import Base, UTCDateTime, utcnow

LIVING_ARRANGEMENTS = ("独居", "空巢", "与家人同住")
CARE_LEVELS = ("能力完好", "轻度失能", "中度失能", "重度失能")
CALL_KINDS = ("consult", "service", "emergency")
CALL_STATUSES = ("open", "taken", "closed")
OUTCOMES = ("answered", "service_ordered", "rescued", "family_notified", "false_alarm", "unreachable")
DISPATCH_TARGETS = ("ambulance_120", "community", "family")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({','.join(repr(v) for v in values)})"


class ElderlyProfile(Base):
    """What the care side knows of an elderly person (aged 60+): living arrangement, health, phones."""

    __tablename__ = "elderly_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), unique=True)
    # The person's community, copied so calls and lists are scoped without a join.
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    living_arrangement: Mapped[str] = mapped_column(String(8))
    chronic_conditions: Mapped[str | None] = mapped_column(String(200))
    care_level: Mapped[str | None] = mapped_column(String(8))
    assessed_on: Mapped[date | None] = mapped_column(Date)
    # Normalised numbers (digits only): how a caller is recognised (indexed, exact).
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    home_phone: Mapped[str | None] = mapped_column(String(20), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(_in("living_arrangement", LIVING_ARRANGEMENTS), name="living_arrangement"),
        CheckConstraint(f"care_level is null or {_in('care_level', CARE_LEVELS)}", name="care_level"),
        # A level is only meaningful with the date of the assessment that gave it.
        CheckConstraint("(care_level is null) = (assessed_on is null)", name="level_dated"),
    )


class EmergencyContact(Base):
    """Someone to call for an elderly person (child, neighbour, community worker)."""

    __tablename__ = "emergency_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    relation: Mapped[str] = mapped_column(String(16))
    phone: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(Integer, default=1)


class CallDevice(Base):
    """A 一键呼叫 terminal installed at an elderly person's home; its id identifies the caller."""

    __tablename__ = "call_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[str] = mapped_column(String(32), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    installed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Call(Base):
    """One call to the centre, stored before it is answered. open → taken → closed (with an outcome)."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The phone system's id of the call event: the same event sent twice is one call.
    event_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    caller: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    # The identified person's community; NULL for an unknown caller (then only city-wide users see it).
    region_code: Mapped[str | None] = mapped_column(String(12), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8), default="open")
    location: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    taken_by: Mapped[str | None] = mapped_column(String(64))
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))
    # Unacknowledged by this time → escalated to the supervisor (the deadline lives here, not in a
    # browser or a process, so it survives restarts); escalated_at marks that it happened, once.
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(f"kind is null or {_in('kind', CALL_KINDS)}", name="kind"),
        CheckConstraint(_in("status", CALL_STATUSES), name="status"),
        CheckConstraint(f"outcome is null or {_in('outcome', OUTCOMES)}", name="outcome"),
        # Closed only with an outcome, and an outcome only on a closed call.
        CheckConstraint("(status = 'closed') = (outcome is not null and closed_at is not null)", name="closed"),
        CheckConstraint("status = 'open' or taken_at is not null", name="taken"),
        Index("ix_calls_status", "status"),
        # The escalation sweep reads only the calls still waiting for it.
        Index("ix_calls_escalate_due", "escalate_at", sqlite_where=text("escalated_at is null"),
              postgresql_where=text("escalated_at is null")),
    )


class CallEvent(Base):
    """One step on a call's timeline; ids increase, so consoles follow the table by id."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(24))
    what: Mapped[str] = mapped_column(Text)


class ServiceProvider(Base):
    """A home-care service provider (家政、助餐、助医 …) a call can order a service from."""

    __tablename__ = "service_providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    services: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # 政府购买居家养老服务 (homecare.py): who answers for the provider, where its settlement is paid, and the
    # engine case (program `homecare`) its monthly settlements are paid through.
    contact_name: Mapped[str | None] = mapped_column(String(64))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    bank_account: Mapped[str | None] = mapped_column(String(40))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProviderStaff(Base):
    """A care worker of a service provider (服务人员): who performs and records the orders."""

    __tablename__ = "provider_staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("service_providers.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20))
    qualification: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceOrder(Base):
    """A service ordered from a provider for an elderly person (from a call, or planned)."""

    __tablename__ = "service_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("service_providers.id"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), index=True)
    service_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12), default="ordered")
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Government-purchased home care (homecare.py): the month whose entitlement the order draws on, its
    # length and value (0: not drawn on any entitlement, e.g. a call's order not yet priced), the worker,
    # when it started and finished, and the settlement cycle that paid it to the provider.
    period: Mapped[str | None] = mapped_column(String(7))
    minutes: Mapped[int | None] = mapped_column(Integer)
    value_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("provider_staff.id"), index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_by: Mapped[str | None] = mapped_column(String(64))
    settled_cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"), index=True)

    __table_args__ = (
        CheckConstraint("status in ('ordered','started','finished','cancelled')", name="status"),
        CheckConstraint("value_fen >= 0", name="value_nonnegative"),
        CheckConstraint("minutes is null or minutes > 0", name="minutes_positive"),
        CheckConstraint("value_fen = 0 or period is not null", name="value_dated"),
        # Finished only after it started, and never before.
        CheckConstraint("finished_at is null or (started_at is not null and finished_at >= started_at)",
                        name="finished_after_start"),
        CheckConstraint("status <> 'finished' or finished_at is not null", name="finished_dated"),
        # A provider's settlement reads its finished, unpaid orders by provider and month.
        Index("ix_service_orders_settle", "provider_id", "status", "period"),
        Index("ix_service_orders_person_period", "person_id", "period"),
    )


class HomecareBalance(Base):
    """What an elderly person has drawn on a month's entitlement (政府购买服务额度), one row per person and month.

    Orders draw with one conditional UPDATE (`used_fen + value <= limit_fen`), so two orders racing can never
    together exceed the entitlement; the check constraint holds it even if the code were wrong."""

    __tablename__ = "homecare_balances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    period: Mapped[str] = mapped_column(String(7))
    limit_fen: Mapped[int] = mapped_column(BigInteger)
    used_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("person_id", "period"),
        CheckConstraint("limit_fen >= 0 AND used_fen >= 0", name="nonnegative"),
        CheckConstraint("used_fen <= limit_fen", name="within_entitlement"),
    )


class CareCallSchedule(Base):
    """主动关怀: the centre calls a person living alone every `interval_days`; overdue ones are missed."""

    __tablename__ = "care_call_schedules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), unique=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    interval_days: Mapped[int] = mapped_column(Integer)
    next_due_on: Mapped[date] = mapped_column(Date, index=True)
    last_reached_on: Mapped[date | None] = mapped_column(Date)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("interval_days between 1 and 366", name="interval"),)


class CareCallLog(Base):
    """One attempt of a scheduled care call: reached or not, by whom."""

    __tablename__ = "care_call_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("care_call_schedules.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    reached: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(200))


CONSTRUCTION_STATUSES = ("planned", "building", "structure_done", "in_use")


class InstitutionStatusEvent(Base):
    """A dated step of an institution's construction: planned → building → 主体完工 → 投入使用."""

    __tablename__ = "institution_status_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    on_date: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint(_in("status", CONSTRUCTION_STATUSES), name="status"),)


class Bed(Base):
    """A bed of a care institution; labelled within it (房间-床号 or a number)."""

    __tablename__ = "institution_beds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    label: Mapped[str] = mapped_column(String(16))

    __table_args__ = (UniqueConstraint("institution_id", "label"),)


class BedPlacement(Base):
    """A resident in a bed from a date until discharged. The database holds one open placement per bed and
    per person (partial unique indexes), so a bed is never given twice."""

    __tablename__ = "bed_placements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bed_id: Mapped[int] = mapped_column(ForeignKey("institution_beds.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    from_date: Mapped[date] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("to_date is null or to_date >= from_date", name="dates"),
        Index("uq_bed_placements_open_bed", "bed_id", unique=True, sqlite_where=text("to_date is null"),
              postgresql_where=text("to_date is null")),
        Index("uq_bed_placements_open_person", "person_id", unique=True, sqlite_where=text("to_date is null"),
              postgresql_where=text("to_date is null")),
        Index("ix_bed_placements_bed", "bed_id"),
    )
