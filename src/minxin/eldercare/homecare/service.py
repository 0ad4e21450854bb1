"""Government-purchased home care (政府购买居家养老服务, plan P18): eligibility, the monthly entitlement,
service providers and their staff, service orders drawn on the entitlement, and the providers' monthly
settlement through the benefit engine.

- Eligibility and the entitlement follow the county's rules in the policy file (`homecare.rules`).
- An order draws its value on the person's month (`homecare_balances`) with one conditional UPDATE, so
  an order beyond the entitlement is refused, also when two orders race (the row is the lock).
- A provider is contracted with a `homecare` case of the engine (its person: the provider's 负责人, a
  registry person; its bank account: the provider's). `minxin cycle run homecare YYYY-MM` pays each
  provider the value of its finished orders (eldercare/calculator.py); the bank file names the provider.

Access: `get_provider_for` / `get_order_for` answer NotFound alike for missing and out of scope; lists go
through `scoped_providers` / `scoped_orders`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.orm import Session

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import Perm, can_see, display_names, has_perm, require
from minxin.core.divisions import county_of, covers, scope_prefix
from minxin.core.errors import Conflict, NotFound, ValidationError
from minxin.core.period import Period
from minxin.eldercare.domain import EldercarePerm
from minxin.eldercare.homecare.rules import (
    MAX_MINUTES,
    Facts,
    HomecarePolicy,
    OrderFacts,
    birth_from_id,
    eligible_groups,
    homecare_policy,
    monthly_entitlement_fen,
    order_value_fen,
    refusal,
    settlement,
)
from minxin.eldercare.models import ElderlyProfile, HomecareBalance, ProviderStaff, ServiceOrder, ServiceProvider
from minxin.eldercare.rules import is_elderly
from minxin.infra.clock import local, today
from minxin.infra.db import is_sqlite, utcnow
from minxin.kit.paging import Page, paginate
from minxin.programs.models import Case, CaseEvent, Cycle
from minxin.programs.policy import load_policy
from minxin.registry.models import Person, Region

PROGRAM = "homecare"
MAX_DB_ID = 2**31 - 1
ORDER_STATUSES = ("ordered", "started", "finished", "cancelled")
STATUS_NAMES = {"ordered": "已派单", "started": "服务中", "finished": "已完成", "cancelled": "已取消"}
SERVICE_TYPES = ("助餐", "助浴", "助洁", "助医", "助急", "陪护", "精神慰藉")
# A provider's clock may run a little ahead of ours, never far.
MAX_FUTURE = timedelta(minutes=5)


# ---- policy and checks ----------------------------------------------------------------------------

def policy_for(county: str | None) -> HomecarePolicy:
    """The county's home-care rules from the policy file (the city default where it names none)."""
    return homecare_policy(load_policy().section("homecare"), county)


def clean_text(value: str | None, *, label: str, field: str, max_len: int, required: bool = False) -> str | None:
    """Trimmed text, refused when too long or holding control characters (a clear message, nothing stored)."""
    raw = value or ""
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") and ch not in " \t" for ch in raw):
        raise ValidationError(f"{label}含有控制字符 ({field}: control characters)", field=field)
    text = " ".join(raw.split())
    if len(text) > max_len:
        raise ValidationError(f"{label}过长，最多 {max_len} 字 ({field} too long)", field=field)
    if required and not text:
        raise ValidationError(f"请填写{label} ({field} is required)", field=field)
    return text or None


def _phone(value: str | None, *, field: str = "phone") -> str | None:
    text = clean_text(value, label="电话", field=field, max_len=20)
    if text is not None and not all(ch.isdigit() or ch in "+- " for ch in text):
        raise ValidationError("电话只能包含数字、+、- (bad phone)", field=field)
    return text


def _account(value: str | None) -> str | None:
    text = clean_text(value, label="银行账号", field="bank_account", max_len=40)
    if text is None:
        return None
    acct = text.replace(" ", "").replace("-", "")
    if not (acct.isascii() and acct.isdigit() and 12 <= len(acct) <= 30):
        raise ValidationError("银行账号应为 12–30 位数字 (bad bank account)", field="bank_account")
    return acct


def _id(value: int) -> bool:
    return 0 < value <= MAX_DB_ID


def _county_user(user: User) -> str | None:
    """The county a user works in (None: the city)."""
    return county_of(user.scope_code)


# ---- providers -----------------------------------------------------------------------------------

def may_manage(user: User) -> bool:
    return has_perm(user, EldercarePerm.HOMECARE_MANAGE)


def provider_in_scope(user: User, provider: ServiceProvider) -> bool:
    """A provider is its county's: its users (county, towns, communities) and the city see it."""
    county = _county_user(user)
    return covers(user.scope_code, provider.county_code) if county is None else county == provider.county_code


def scoped_providers(user: User) -> Select[ServiceProvider]:
    """The one place provider lists are narrowed to the user's county."""
    stmt = select(ServiceProvider)
    county = _county_user(user)
    if county is None:
        return stmt.where(ServiceProvider.county_code.like(scope_prefix(user.scope_code) + "%"))
    return stmt.where(ServiceProvider.county_code == county)


def get_provider_for(session: Session, user: User, provider_id: int, *, for_update: bool = False) -> ServiceProvider:
    """The one way to read a provider: missing and out-of-scope look alike (NotFound)."""
    require(user, EldercarePerm.HOMECARE_READ)
    provider = None
    if _id(provider_id):
        stmt = select(ServiceProvider).where(ServiceProvider.id == provider_id)
        provider = session.execute(stmt.with_for_update() if for_update else stmt).scalar_one_or_none()
    if provider is None or not provider_in_scope(user, provider):
        raise NotFound(f"服务商不存在或不在您的辖区内：{provider_id} (no such provider in your scope)")
    return provider


def list_providers(session: Session, *, user: User, q: str = "", page: int = 1, page_size: int = 20
                   ) -> Page[ServiceProvider]:
    require(user, EldercarePerm.HOMECARE_READ)
    stmt = scoped_providers(user)
    name = clean_text(q, label="名称", field="q", max_len=100)
    if name:
        stmt = stmt.where(ServiceProvider.name.contains(name, autoescape=True))
    return paginate(session, stmt.order_by(ServiceProvider.county_code, ServiceProvider.name),
                    page=page, page_size=page_size)


def _representative(session: Session, id_number: str) -> Person:
    number = clean_text(id_number, label="负责人身份证号", field="contact_id_number", max_len=18, required=True)
    assert number is not None
    person = session.execute(select(Person).where(Person.id_number == number.upper())).scalar_one_or_none()
    if person is None:
        raise ValidationError("负责人不在户籍登记中，请先登记 (representative not in the registry)",
                              field="contact_id_number")
    return person


def register_provider(session: Session, *, actor: User, name: str, county_code: str, contact_id_number: str,
                      phone: str | None, bank_account: str, credit_code: str | None = None,
                      services: str | None = None) -> ServiceProvider:
    """签约服务商: register a provider of a county with its 负责人 and bank account, and open its `homecare` case.

    1. A county officer of that county (or the city) registers it; the name is unique.
    2. The 负责人 is a registry person (the engine pays cases, a case is a person's); the case is active
       from registration (the contract is the approval), in the provider's county, paid to its account.
    """
    require(actor, EldercarePerm.HOMECARE_MANAGE)
    clean = clean_text(name, label="服务商名称", field="name", max_len=100, required=True)
    code = clean_text(county_code, label="县区代码", field="county_code", max_len=12, required=True) or ""
    region = session.get(Region, code)
    if region is None or region.level != "county" or (not covers(actor.scope_code, region.code) and \
            _county_user(actor) != region.code):
        raise ValidationError(f"未知县区代码或不在您的辖区内：{code} (unknown county)", field="county_code")
    if session.execute(select(ServiceProvider.id).where(ServiceProvider.name == clean)).first():
        raise Conflict(f"服务商名称已存在：{clean} (name taken)", field="name")
    account = _account(bank_account)
    if account is None:
        raise ValidationError("请填写银行账号（结算款付至该账号） (bank account is required)", field="bank_account")
    credit = clean_text(credit_code, label="统一社会信用代码", field="credit_code", max_len=18)
    if credit is not None and not (len(credit) == 18 and credit.isascii() and credit.isalnum()):
        raise ValidationError("统一社会信用代码应为 18 位字母或数字 (bad credit code)", field="credit_code")
    rep = _representative(session, contact_id_number)
    if session.execute(select(Case.id).where(Case.program_code == PROGRAM, Case.person_id == rep.id,
                                             Case.status.not_in(("terminated", "rejected")))).first():
        raise Conflict("该负责人已是另一服务商的负责人 (representative already answers for a provider)",
                       field="contact_id_number")
    provider = ServiceProvider(name=clean, county_code=region.code, is_active=True, phone=_phone(phone),
                               services=clean_text(services, label="服务项目", field="services", max_len=200),
                               contact_name=rep.name, credit_code=credit.upper() if credit else None,
                               bank_account=account)
    session.add(provider)
    session.flush()
    case = Case(program_code=PROGRAM, person_id=rep.id, region_code=region.code, category="", status="active",
                start_period=str(Period.of(today())), bank_account=account,
                note=f"服务商 {clean}（编号 {provider.id}）的结算案件")
    session.add(case)
    session.flush()
    session.add(CaseEvent(case_id=case.id, action="contract", from_status=None, to_status="active",
                          actor=actor.username, reason=f"签约居家养老服务商：{clean}"))
    provider.case_id = case.id
    session.flush()
    audit.record(session, actor=actor.username, action="homecare.provider.register", entity="service_provider",
                 entity_id=provider.id, region_code=region.code,
                 detail={"name": clean, "case_id": case.id, "representative": rep.id})
    return provider


def update_provider(session: Session, *, actor: User, provider_id: int, phone: str | None = None,
                    bank_account: str | None = None, is_active: bool | None = None) -> ServiceProvider:
    """Change a provider's phone, bank account (its case follows) or active state (a stopped one takes no
    new orders; its case is suspended, so no cycle pays it, until it is active again)."""
    require(actor, EldercarePerm.HOMECARE_MANAGE)
    provider = get_provider_for(session, actor, provider_id, for_update=True)
    changes: dict[str, Any] = {}
    if phone is not None:
        provider.phone = changes["phone"] = _phone(phone)
    if bank_account is not None:
        account = _account(bank_account)
        if account is None:
            raise ValidationError("银行账号不能为空 (bank account is required)", field="bank_account")
        provider.bank_account = changes["bank_account"] = account
    case = session.get(Case, provider.case_id) if provider.case_id else None
    if case is not None and "bank_account" in changes:
        case.bank_account = provider.bank_account
    if is_active is not None and is_active != provider.is_active:
        provider.is_active = changes["is_active"] = is_active
        if case is not None and case.status in ("active", "suspended"):
            to = "active" if is_active else "suspended"
            session.add(CaseEvent(case_id=case.id, action="resume" if is_active else "suspend",
                                  from_status=case.status, to_status=to, actor=actor.username,
                                  reason="服务商" + ("恢复" if is_active else "停用")))
            case.status = to
    session.flush()
    audit.record(session, actor=actor.username, action="homecare.provider.update", entity="service_provider",
                 entity_id=provider.id, region_code=provider.county_code, detail=changes)
    return provider


# ---- staff ---------------------------------------------------------------------------------------

def add_staff(session: Session, *, actor: User, provider_id: int, name: str, phone: str | None = None,
              qualification: str | None = None) -> ProviderStaff:
    """登记服务人员: a care worker of the provider."""
    require(actor, EldercarePerm.HOMECARE_MANAGE)
    provider = get_provider_for(session, actor, provider_id)
    staff = ProviderStaff(provider_id=provider.id, is_active=True,
                          name=clean_text(name, label="姓名", field="name", max_len=64, required=True),
                          phone=_phone(phone),
                          qualification=clean_text(qualification, label="资质", field="qualification", max_len=64))
    session.add(staff)
    session.flush()
    audit.record(session, actor=actor.username, action="homecare.staff.add", entity="provider_staff",
                 entity_id=staff.id, region_code=provider.county_code,
                 detail={"provider_id": provider.id, "name": staff.name})
    return staff


def staff_of(session: Session, provider: ServiceProvider) -> list[ProviderStaff]:
    """A provider's staff (the provider already read in scope)."""
    return list(session.execute(select(ProviderStaff).where(ProviderStaff.provider_id == provider.id)
                                .order_by(ProviderStaff.is_active.desc(), ProviderStaff.name)).scalars())


# ---- eligibility and entitlement -------------------------------------------------------------------

def _facts(session: Session, person: Person) -> Facts:
    profile = session.execute(select(ElderlyProfile).where(ElderlyProfile.person_id == person.id)).scalar()
    own = Case.person_id == person.id
    cover = own if person.household_id is None else (own | (Case.household_id == person.household_id))
    programs = session.execute(select(Case.program_code).where(Case.status == "active", cover).distinct()).scalars()
    return Facts(birth=birth_from_id(person.id_number, person.birth_date),
                 living=profile.living_arrangement if profile else None,
                 care_level=profile.care_level if profile else None,
                 programs=frozenset(programs) - {PROGRAM})


@dataclass
class Entitlement:
    """A person's purchased-service standing for a month: eligible or not and why, the month's voucher value,
    what orders have drawn on it."""

    person: Person
    period: Period
    on: date
    county: str
    eligible: bool
    reasons: list[str]
    care_level: str | None
    limit_fen: int
    used_fen: int

    @property
    def left_fen(self) -> int:
        return max(0, self.limit_fen - self.used_fen)


def _county_of_person(person: Person) -> str:
    county = county_of(person.region_code or "")
    if county is None:
        raise Conflict("该老人没有所属社区，无法确定县区 (person has no region)")
    return county


def entitlement_of(session: Session, person: Person, *, period: Period, on: date | None = None) -> Entitlement:
    """The standing of a person already read in scope; eligibility as of `on` (default: the month's last day,
    or today within the current month)."""
    day = on or min(period.last_day(), max(period.first_day(), today()))
    county = _county_of_person(person)
    policy = policy_for(county)
    facts = _facts(session, person)
    groups = eligible_groups(policy, facts, day) if is_elderly(facts.birth, day) else []
    limit = monthly_entitlement_fen(policy, facts.care_level) if groups else 0
    used = session.execute(select(HomecareBalance.used_fen).where(
        HomecareBalance.person_id == person.id, HomecareBalance.period == str(period))).scalar() or 0
    return Entitlement(person=person, period=period, on=day, county=county, eligible=bool(groups),
                       reasons=[g.name for g in groups], care_level=facts.care_level, limit_fen=limit,
                       used_fen=int(used))


def _person_for(session: Session, user: User, person_id: int) -> Person:
    require(user, Perm.REGISTRY_READ)
    person = session.get(Person, person_id) if _id(person_id) else None
    if person is None or not can_see(user, person.region_code):
        raise NotFound(f"老年人不存在或不在您的辖区内：{person_id} (no such person in your scope)",
                       field="person_id")
    return person


def entitlement_for(session: Session, user: User, person_id: int, *, period: Period | None = None) -> Entitlement:
    """A person's entitlement for a month, read through the user's scope."""
    return entitlement_of(session, _person_for(session, user, person_id), period=period or Period.of(today()))


# ---- orders --------------------------------------------------------------------------------------

def may_record(user: User) -> bool:
    return has_perm(user, EldercarePerm.HOMECARE_RECORD)


def scoped_orders(user: User) -> Select[ServiceOrder, str, str]:
    """Orders with the person's and provider's names, narrowed to the persons in the user's region."""
    return (select(ServiceOrder, Person.name, ServiceProvider.name)
            .join(Person, Person.id == ServiceOrder.person_id)
            .join(ServiceProvider, ServiceProvider.id == ServiceOrder.provider_id)
            .where(Person.region_code.like(scope_prefix(user.scope_code) + "%")))


def get_order_for(session: Session, user: User, order_id: int, *, for_update: bool = False) -> ServiceOrder:
    """The one way to read an order: missing and out-of-scope look alike (NotFound)."""
    require(user, EldercarePerm.HOMECARE_READ)
    order = None
    if _id(order_id):
        stmt = select(ServiceOrder).where(ServiceOrder.id == order_id)
        order = session.execute(stmt.with_for_update() if for_update else stmt).scalar_one_or_none()
    person = session.get(Person, order.person_id) if order is not None else None
    if order is None or person is None or not can_see(user, person.region_code):
        raise NotFound(f"服务单不存在或不在您的辖区内：{order_id} (no such order in your scope)")
    return order


def list_orders(session: Session, *, user: User, provider_id: int | None = None, person_id: int | None = None,
                period: str | None = None, status: str | None = None, page: int = 1, page_size: int = 20
                ) -> Page[Any]:
    """A page of (order, person name, provider name), newest first."""
    require(user, EldercarePerm.HOMECARE_READ)
    stmt = scoped_orders(user)
    if provider_id is not None:
        stmt = stmt.where(ServiceOrder.provider_id == get_provider_for(session, user, provider_id).id)
    if person_id is not None:
        stmt = stmt.where(ServiceOrder.person_id == person_id)
    if period:
        stmt = stmt.where(ServiceOrder.period == str(Period.parse(period)))
    if status:
        if status not in ORDER_STATUSES:
            raise ValidationError(f"状态应为 {'、'.join(ORDER_STATUSES)} 之一 (bad status)", field="status")
        stmt = stmt.where(ServiceOrder.status == status)
    ordered: Any = stmt.order_by(ServiceOrder.scheduled_at.desc(), ServiceOrder.id.desc())
    return paginate(session, ordered, page=page, page_size=page_size, scalars=False)


def _aware(at: datetime, field: str) -> datetime:
    if at.tzinfo is None:
        raise ValidationError("时间须带时区（如 2026-11-05T09:00:00+08:00） (time without zone)", field=field)
    return at


def _draw(session: Session, *, person_id: int, period: Period, value_fen: int, limit_fen: int) -> None:
    """Draw `value_fen` on the person's month, never beyond `limit_fen`.

    1. Make sure the month's row exists (insert, or nothing when it does: a racing insert waits on the key).
    2. One UPDATE adds the value only while the total stays within the limit: the row lock serialises two
       orders of the same person and month (SQLite: the write lock, taken up front), and the second
       re-reads the first's total. No row updated → refused with what is left.
    """
    now = utcnow()
    values = {"person_id": person_id, "period": str(period), "limit_fen": limit_fen, "used_fen": 0,
              "updated_at": now}
    dialect = sqlite_dialect if is_sqlite(session) else pg_dialect
    session.execute(dialect.insert(HomecareBalance).values(**values)
                    .on_conflict_do_nothing(index_elements=["person_id", "period"]))
    b = HomecareBalance
    done = session.execute(update(b).where(b.person_id == person_id, b.period == str(period),
                                           b.used_fen + value_fen <= limit_fen)
                           .values(used_fen=b.used_fen + value_fen, limit_fen=limit_fen, updated_at=now)
                           .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        used = session.execute(select(b.used_fen).where(b.person_id == person_id, b.period == str(period))).scalar()
        raise Conflict(refusal(used_fen=int(used or 0), value_fen=value_fen, limit_fen=limit_fen) or "超出额度",
                       field="minutes")


def _release(session: Session, order: ServiceOrder) -> None:
    if order.value_fen and order.period:
        b = HomecareBalance
        session.execute(update(b).where(b.person_id == order.person_id, b.period == order.period)
                        .values(used_fen=b.used_fen - order.value_fen, updated_at=utcnow())
                        .execution_options(synchronize_session=False))


def create_order(session: Session, *, actor: User, provider_id: int, person_id: int, service_type: str,
                 scheduled_at: datetime, minutes: int, staff_id: int | None = None, note: str | None = None
                 ) -> ServiceOrder:
    """派单: a service order of a provider for an eligible elderly person, drawn on the month's entitlement.

    1. The actor may record orders; the provider (active) and the person are in the actor's scope, the
       person lives in the provider's county; the worker, if named, is the provider's.
    2. The person is eligible on the scheduled day (the county's groups); the value is minutes × the
       county's hourly price.
    3. The value is drawn on the scheduled month's entitlement (`_draw`): beyond it, refused.
    """
    if not may_record(actor):
        require(actor, EldercarePerm.HOMECARE_RECORD)
    kind = clean_text(service_type, label="服务项目", field="service_type", max_len=32, required=True)
    clean_note = clean_text(note, label="备注", field="note", max_len=200)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 < minutes <= MAX_MINUTES:
        raise ValidationError(f"服务时长应为 1–{MAX_MINUTES} 分钟 (minutes out of range)", field="minutes")
    at = _aware(scheduled_at, "scheduled_at")
    provider = get_provider_for(session, actor, provider_id)
    if not provider.is_active or provider.case_id is None:
        raise Conflict(f"服务商「{provider.name}」未签约或已停用，不能派单 (provider not contracted)",
                       field="provider_id")
    person = _person_for(session, actor, person_id)
    if not (person.region_code or "").startswith(provider.county_code):
        raise Conflict(f"服务商「{provider.name}」只服务本县区的老人 (person outside the provider's county)",
                       field="person_id")
    staff = None
    if staff_id is not None:
        staff = session.get(ProviderStaff, staff_id) if _id(staff_id) else None
        if staff is None or staff.provider_id != provider.id or not staff.is_active:
            raise ValidationError(f"服务人员不属于该服务商：{staff_id} (no such staff)", field="staff_id")
    day = local(at).date()
    if day > today() + timedelta(days=366) or day.year < 2000:
        raise ValidationError("预约时间应在今后一年内 (scheduled time out of range)", field="scheduled_at")
    period = Period.of(day)
    standing = entitlement_of(session, person, period=period, on=day)
    if not standing.eligible:
        groups = "、".join(g.name for g in policy_for(standing.county).groups)
        raise Conflict(f"{person.name} 在 {day} 不属于政府购买服务对象（{groups}），"
                       "不能派政府购买服务单 (not eligible)", field="person_id")
    value = order_value_fen(minutes, policy_for(standing.county).hour_price_fen)
    _draw(session, person_id=person.id, period=period, value_fen=value, limit_fen=standing.limit_fen)
    order = ServiceOrder(person_id=person.id, provider_id=provider.id, service_type=kind, status="ordered",
                         scheduled_at=at, note=clean_note, created_by=actor.username, period=str(period),
                         minutes=minutes, value_fen=value, staff_id=staff.id if staff else None)
    session.add(order)
    session.flush()
    audit.record(session, actor=actor.username, action="homecare.order.create", entity="service_order",
                 entity_id=order.id, region_code=person.region_code,
                 detail={"provider_id": provider.id, "person_id": person.id, "period": str(period),
                         "minutes": minutes, "value_fen": value, "service_type": kind})
    return order


def _when(at: datetime | None, field: str) -> datetime:
    now = utcnow()
    if at is None:
        return now
    at = _aware(at, field)
    if at > now + MAX_FUTURE:
        raise ValidationError("时间不能晚于当前时间 (time in the future)", field=field)
    return at


def _recordable(session: Session, actor: User, order_id: int) -> ServiceOrder:
    if not may_record(actor):
        require(actor, EldercarePerm.HOMECARE_RECORD)
    order = get_order_for(session, actor, order_id, for_update=True)
    provider = session.get(ServiceProvider, order.provider_id)
    if provider is None or not provider_in_scope(actor, provider):
        raise NotFound(f"服务单不存在或不在您的辖区内：{order_id} (no such order in your scope)")
    return order


def start_order(session: Session, *, actor: User, order_id: int, at: datetime | None = None,
                staff_id: int | None = None) -> ServiceOrder:
    """开始服务: the worker arrives (the time the provider's system sends, or now)."""
    order = _recordable(session, actor, order_id)
    if order.status != "ordered":
        raise Conflict(f"服务单 {order.id} 状态为{STATUS_NAMES[order.status]}，不能开始 (not ordered)")
    when = _when(at, "at")
    if staff_id is not None:
        staff = session.get(ProviderStaff, staff_id) if _id(staff_id) else None
        if staff is None or staff.provider_id != order.provider_id or not staff.is_active:
            raise ValidationError(f"服务人员不属于该服务商：{staff_id} (no such staff)", field="staff_id")
        order.staff_id = staff.id
    order.status, order.started_at = "started", when
    session.flush()
    audit.record(session, actor=actor.username, action="homecare.order.start", entity="service_order",
                 entity_id=order.id, detail={"at": when.isoformat(), "staff_id": order.staff_id})
    return order


def finish_order(session: Session, *, actor: User, order_id: int, at: datetime | None = None,
                 note: str | None = None) -> ServiceOrder:
    """完成服务: finished, never before it started; a finished order is paid to the provider in its month's
    settlement."""
    order = _recordable(session, actor, order_id)
    if order.status != "started" or order.started_at is None:
        raise Conflict(f"服务单 {order.id} 状态为{STATUS_NAMES[order.status]}，须先开始服务 (not started)")
    when = _when(at, "at")
    if when < order.started_at:
        raise ValidationError(f"完成时间 {local(when):%Y-%m-%d %H:%M} 早于开始时间 "
                              f"{local(order.started_at):%Y-%m-%d %H:%M} (finished before it started)", field="at")
    clean_note = clean_text(note, label="备注", field="note", max_len=200)
    order.status, order.finished_at, order.finished_by = "finished", when, actor.username
    if clean_note:
        order.note = clean_note
    session.flush()
    audit.record(session, actor=actor.username, action="homecare.order.finish", entity="service_order",
                 entity_id=order.id, detail={"at": when.isoformat(), "value_fen": order.value_fen})
    return order


def cancel_order(session: Session, *, actor: User, order_id: int, reason: str) -> ServiceOrder:
    """取消: an order not yet started is cancelled and its value returns to the month's entitlement."""
    order = _recordable(session, actor, order_id)
    why = clean_text(reason, label="取消原因", field="reason", max_len=200, required=True)
    if order.status != "ordered":
        raise Conflict(f"服务单 {order.id} 状态为{STATUS_NAMES[order.status]}，只有未开始的服务单可以取消 "
                       "(only an order not started can be cancelled)")
    _release(session, order)
    order.status = "cancelled"
    order.note = why
    session.flush()
    audit.record(session, actor=actor.username, action="homecare.order.cancel", entity="service_order",
                 entity_id=order.id, detail={"reason": why, "value_fen": order.value_fen})
    return order


# ---- settlement ----------------------------------------------------------------------------------

def draft_cycle_id(session: Session, *, county: str, period: Period) -> int | None:
    """The draft cycle of the month for the county, if one is being computed (its orders count again)."""
    return session.execute(select(Cycle.id).where(Cycle.program_code == PROGRAM, Cycle.period == str(period),
                                                  Cycle.county_code == county, Cycle.status == "draft")).scalar()


def provider_settlement(session: Session, provider: ServiceProvider, *, period: Period) -> tuple[int, int]:
    """(orders, fen) the provider's month would pay: the pure rule over its orders (the calculator's SQL is
    held to it)."""
    rows = session.execute(select(ServiceOrder.period, ServiceOrder.status, ServiceOrder.value_fen,
                                  ServiceOrder.settled_cycle_id)
                           .where(ServiceOrder.provider_id == provider.id, ServiceOrder.status == "finished")).all()
    draft = draft_cycle_id(session, county=provider.county_code, period=period)
    status = session.execute(select(Case.status).where(Case.id == provider.case_id)).scalar()
    return settlement((OrderFacts(p, s, int(v), c) for p, s, v, c in rows), str(period), draft,
                      contracted=status == "active")


@dataclass
class SettlementRow:
    provider: ServiceProvider
    finished: int
    finished_fen: int
    paid_cycle_id: int | None
    paid_fen: int | None
    cycle_status: str | None


def settlements(session: Session, *, user: User, period: Period) -> list[SettlementRow]:
    """Per provider in scope: the month's finished orders and what its cycle pays (结算一览)."""
    require(user, EldercarePerm.HOMECARE_READ)
    providers = list(session.execute(scoped_providers(user).order_by(ServiceProvider.county_code,
                                                                      ServiceProvider.name).limit(500)).scalars())
    ids = [p.id for p in providers]
    done: dict[int, tuple[int, int]] = {}
    if ids:
        for pid, n, total in session.execute(
                select(ServiceOrder.provider_id, func.count(), func.coalesce(func.sum(ServiceOrder.value_fen), 0))
                .where(ServiceOrder.provider_id.in_(ids), ServiceOrder.status == "finished",
                       ServiceOrder.period == str(period)).group_by(ServiceOrder.provider_id)):
            done[int(pid)] = (int(n), int(total))
    from minxin.programs.models import Payment

    paid: dict[int, tuple[int, int, str]] = {}
    case_ids = [p.case_id for p in providers if p.case_id]
    if case_ids:
        for case_id, cycle_id, amount, status in session.execute(
                select(Payment.case_id, Cycle.id, func.sum(Payment.amount_fen), Cycle.status)
                .join(Cycle, Cycle.id == Payment.cycle_id)
                .where(Cycle.program_code == PROGRAM, Cycle.period == str(period), Payment.case_id.in_(case_ids))
                .group_by(Payment.case_id, Cycle.id, Cycle.status)):
            paid[int(case_id)] = (int(cycle_id), int(amount), str(status))
    rows = []
    for p in providers:
        n, total = done.get(p.id, (0, 0))
        cycle = paid.get(p.case_id or 0)
        rows.append(SettlementRow(p, n, total, cycle[0] if cycle else None, cycle[1] if cycle else None,
                                  cycle[2] if cycle else None))
    return rows


def homecare_counts(session: Session, *, scope_code: str | None = None) -> dict[str, int]:
    """`minxin stats`: providers and this month's orders."""
    prefix = scope_prefix(scope_code) if scope_code else ""
    providers = session.execute(select(func.count()).select_from(ServiceProvider).where(
        ServiceProvider.county_code.like(prefix[:6] + "%"))).scalar_one()
    orders = session.execute(select(func.count()).select_from(ServiceOrder).join(
        Person, Person.id == ServiceOrder.person_id).where(
        ServiceOrder.period == str(Period.of(today())), Person.region_code.like(prefix + "%"))).scalar_one()
    return {"homecare_providers": int(providers), "homecare_orders_this_month": int(orders)}


@dataclass
class OrderContext:
    """What an order's page shows beside the order (read after `get_order_for` allowed it)."""

    provider: ServiceProvider | None
    staff: ProviderStaff | None
    person: Person | None
    actors: dict[str, str]  # user name → display name of whoever recorded the order's steps


def order_context(session: Session, order: ServiceOrder) -> OrderContext:
    return OrderContext(provider=session.get(ServiceProvider, order.provider_id),
                        staff=session.get(ProviderStaff, order.staff_id) if order.staff_id else None,
                        person=session.get(Person, order.person_id),
                        actors=display_names(session, {u for u in (order.created_by, order.finished_by) if u}))


def order_person_name(session: Session, order: ServiceOrder) -> str:
    person = session.get(Person, order.person_id)
    return person.name if person else ""
