"""Charity supermarkets (慈善超市, plan P10): register them, keep their ledger, report against the target.

The ledger is append-only. Donations bring money or goods in, distributions hand them out to households
of the supermarket's county, and a mistake is undone by a correction that reverses one entry exactly
once. A supermarket's money balance and stock are the sums of its entries; no write may take either
below zero, and the checks run under a lock on the supermarket row so two clerks cannot both hand out
the last bag of rice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from minxin.assistance.domain import AssistancePerm
from minxin.assistance.supermarkets.models import CharityLedgerEntry, CharitySupermarket
from minxin.assistance.supermarkets.rules import NEW_PER_COUNTY_TARGET, target_status, value_out
from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import ROLE_NAMES, Perm, can_see, has_perm, require, scoped
from minxin.core._text import text_problem
from minxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from minxin.core.money import MAX_FEN, format_yuan
from minxin.infra.clock import today
from minxin.infra.db import is_db_id
from minxin.kit.paging import Page, paginate
from minxin.registry.models import Household, Region
from minxin.registry.service import counties_for, get_household_by_no_for, get_household_for

KIND_NAMES = {"donation_money": "捐款", "donation_goods": "捐物", "distribution": "发放", "correction": "冲销"}

# Supermarkets are run by the county bureaus and the city: the roles holding SUPERMARKETS_MANAGE
# (minxin.assistance.domain) write, anyone who may read the registry reads within their scope.

MAX_QUANTITY = 1_000_000


# ---- access ------------------------------------------------------------------------------------------

def can_manage(user: User) -> bool:
    return has_perm(user, AssistancePerm.SUPERMARKETS_MANAGE)


def require_manager(user: User) -> None:
    """Raise Forbidden unless the user runs supermarkets (county officer or city admin)."""
    if not can_manage(user):
        role = ROLE_NAMES.get(user.role, user.role)
        raise Forbidden(f"当前角色（{role}）不能管理慈善超市 (not permitted: supermarkets)")


def get_supermarket_for(session: Session, user: User, supermarket_id: int, *,
                        for_update: bool = False) -> CharitySupermarket:
    """The one way to read a supermarket: missing and out-of-scope look alike (NotFound).

    With `for_update` the row is locked (PostgreSQL) for the rest of the transaction, which serialises
    every ledger write of the supermarket; SQLite writers already hold the database write lock.
    """
    require(user, Perm.REGISTRY_READ)
    market = None
    if is_db_id(supermarket_id):
        stmt = select(CharitySupermarket).where(CharitySupermarket.id == supermarket_id)
        if for_update:
            stmt = stmt.with_for_update()
        market = session.execute(stmt).scalar_one_or_none()
    if market is None or not can_see(user, market.county_code):
        raise NotFound(f"慈善超市不存在：{supermarket_id} (no such supermarket)")
    return market


def list_supermarkets(session: Session, *, user: User, county_code: str | None = None) -> list[CharitySupermarket]:
    """The supermarkets in the user's scope, by county then name."""
    require(user, Perm.REGISTRY_READ)
    stmt = scoped(select(CharitySupermarket), user, CharitySupermarket.county_code)
    if county_code:
        stmt = stmt.where(CharitySupermarket.county_code == county_code.strip())
    stmt = stmt.order_by(CharitySupermarket.county_code, CharitySupermarket.name, CharitySupermarket.id)
    return list(session.execute(stmt).scalars())


def household_by_no(session: Session, *, user: User, household_no: str) -> Household:
    """A household by its number, within the user's scope (NotFound alike for missing and out of scope)."""
    try:
        return get_household_by_no_for(session, user, household_no)
    except NotFound:
        raise NotFound(f"户不存在：{household_no.strip()[:32]} (no such household)", field="户编号") from None


# ---- input checks ------------------------------------------------------------------------------------

def _text(value: str | None, *, label: str, field: str, max_len: int, required: bool = True) -> str | None:
    text = " ".join((value or "").split())
    if not text:
        if required:
            raise ValidationError(f"请填写{label} ({field} is required)", field=label)
        return None
    if len(text) > max_len:
        raise ValidationError(f"{label}过长，最多 {max_len} 字 ({field} too long)", field=label)
    problem = text_problem(text, name=field in ("name", "donor"))  # the one rule (minxin.core._text)
    if problem:
        raise ValidationError(f"{label}{problem}", field=label)
    return text


def _entry_date(market: CharitySupermarket, when: date | None) -> date:
    day = when or today()
    if day > today():
        raise ValidationError("记账日期不能晚于今天 (entry date in the future)", field="日期")
    if day < market.opened_on:
        raise ValidationError(f"记账日期不能早于开业日期 {market.opened_on.isoformat()} (before the opening date)",
                              field="日期")
    return day


def _positive_fen(value: int, *, label: str) -> int:
    if value <= 0:
        raise ValidationError(f"{label}必须大于 0 (amount must be positive)", field=label)
    if value > MAX_FEN:
        raise ValidationError(f"{label}过大 (amount too large)", field=label)
    return value


def _quantity(value: int) -> int:
    if value <= 0:
        raise ValidationError("数量必须是正整数 (quantity must be positive)", field="数量")
    if value > MAX_QUANTITY:
        raise ValidationError(f"数量过大，单笔最多 {MAX_QUANTITY} (quantity too large)", field="数量")
    return value


def _writable(session: Session, actor: User, supermarket_id: int) -> CharitySupermarket:
    require_manager(actor)
    market = get_supermarket_for(session, actor, supermarket_id, for_update=True)
    if not market.is_active:
        raise Conflict(f"慈善超市「{market.name}」已停用，不能记账 (supermarket is inactive)")
    return market


# ---- supermarkets ------------------------------------------------------------------------------------

def add_supermarket(session: Session, *, actor: User, name: str, county_code: str, opened_on: date,
                    address: str | None = None) -> CharitySupermarket:
    """Register a supermarket of a county inside the actor's scope; names are unique in the city."""
    require_manager(actor)
    clean_name = _text(name, label="超市名称", field="name", max_len=100)
    assert clean_name is not None
    code = county_code.strip()
    region = session.get(Region, code) if code else None
    if region is None or region.level != "county":
        raise ValidationError(f"未知县区代码：{county_code} (unknown county code)", field="县区")
    if region.alias_of:
        raise ValidationError(f"{region.name}（{region.code}）已撤销，请使用 {region.alias_of} (abolished code)",
                              field="县区")
    if not can_see(actor, region.code):
        raise NotFound(f"未知县区代码：{county_code} (unknown county code)", field="县区")
    if opened_on > today():
        raise ValidationError("开业日期不能晚于今天 (opening date in the future)", field="开业日期")
    if session.execute(select(CharitySupermarket.id).where(CharitySupermarket.name == clean_name)).first():
        raise Conflict(f"慈善超市名称已存在：{clean_name} (name taken)", field="超市名称")
    market = CharitySupermarket(name=clean_name, county_code=region.code, opened_on=opened_on,
                                address=_text(address, label="地址", field="address", max_len=200, required=False),
                                is_active=True)
    session.add(market)
    session.flush()
    audit.record(session, actor=actor.username, action="supermarket.add", entity="charity_supermarket",
                 entity_id=market.id, region_code=market.county_code,
                 detail={"name": market.name, "opened_on": opened_on.isoformat()})
    return market


# ---- balances ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemStock:
    item: str
    quantity: int
    value_fen: int


@dataclass
class Balance:
    """What a supermarket holds: money, goods per item, and the value of both."""

    money_fen: int = 0
    goods: list[ItemStock] = field(default_factory=list)

    @property
    def goods_value_fen(self) -> int:
        return sum(g.value_fen for g in self.goods)

    @property
    def total_value_fen(self) -> int:
        return self.money_fen + self.goods_value_fen

    def stock_of(self, item: str) -> ItemStock:
        return next((g for g in self.goods if g.item == item), ItemStock(item, 0, 0))


def balance(session: Session, supermarket: CharitySupermarket) -> Balance:
    """Money balance, stock per item (items with nothing left are not listed) and total value."""
    money = session.execute(
        select(func.coalesce(func.sum(CharityLedgerEntry.value_fen), 0))
        .where(CharityLedgerEntry.supermarket_id == supermarket.id, CharityLedgerEntry.item.is_(None))
    ).scalar_one()
    rows = session.execute(
        select(CharityLedgerEntry.item, func.sum(CharityLedgerEntry.quantity), func.sum(CharityLedgerEntry.value_fen))
        .where(CharityLedgerEntry.supermarket_id == supermarket.id, CharityLedgerEntry.item.is_not(None))
        .group_by(CharityLedgerEntry.item).order_by(CharityLedgerEntry.item)
    ).all()
    goods = [ItemStock(str(item), int(q), int(v)) for item, q, v in rows if int(q) != 0 or int(v) != 0]
    return Balance(money_fen=int(money), goods=goods)


@dataclass(frozen=True)
class Totals:
    money_fen: int = 0
    goods_value_fen: int = 0

    @property
    def total_value_fen(self) -> int:
        return self.money_fen + self.goods_value_fen


def totals_of(session: Session, supermarket_ids: list[int]) -> dict[int, Totals]:
    """Money balance and goods value of many supermarkets in one statement (for lists)."""
    if not supermarket_ids:
        return {}
    e = CharityLedgerEntry
    rows = session.execute(
        select(e.supermarket_id,
               func.coalesce(func.sum(case((e.item.is_(None), e.value_fen), else_=0)), 0),
               func.coalesce(func.sum(case((e.item.is_not(None), e.value_fen), else_=0)), 0))
        .where(e.supermarket_id.in_(supermarket_ids)).group_by(e.supermarket_id)
    ).all()
    out = {sid: Totals() for sid in supermarket_ids}
    for sid, money, goods in rows:
        out[sid] = Totals(int(money), int(goods))
    return out


def _item_stock(session: Session, supermarket_id: int, item: str) -> ItemStock:
    q, v = session.execute(
        select(func.coalesce(func.sum(CharityLedgerEntry.quantity), 0),
               func.coalesce(func.sum(CharityLedgerEntry.value_fen), 0))
        .where(CharityLedgerEntry.supermarket_id == supermarket_id, CharityLedgerEntry.item == item)
    ).one()
    return ItemStock(item, int(q), int(v))


def _money_balance(session: Session, supermarket_id: int) -> int:
    return int(session.execute(
        select(func.coalesce(func.sum(CharityLedgerEntry.value_fen), 0))
        .where(CharityLedgerEntry.supermarket_id == supermarket_id, CharityLedgerEntry.item.is_(None))
    ).scalar_one())


# ---- ledger writes -----------------------------------------------------------------------------------

def _audit_entry(session: Session, actor: User, market: CharitySupermarket, entry: CharityLedgerEntry,
                 action: str, **extra: Any) -> None:
    detail: dict[str, Any] = {"supermarket_id": market.id, "kind": entry.kind, "item": entry.item,
                              "quantity": entry.quantity, "value_fen": entry.value_fen,
                              "entry_date": entry.entry_date.isoformat(), **extra}
    audit.record(session, actor=actor.username, action=action, entity="charity_ledger", entity_id=entry.id,
                 region_code=market.county_code, detail=detail)


def record_donation(session: Session, *, actor: User, supermarket_id: int, donor: str,
                    money_fen: int | None = None, item: str | None = None, quantity: int | None = None,
                    value_fen: int | None = None, entry_date: date | None = None,
                    note: str | None = None) -> CharityLedgerEntry:
    """Book a donation: money (`money_fen`), or goods (`item`, `quantity` units worth `value_fen`)."""
    market = _writable(session, actor, supermarket_id)
    donor_name = _text(donor, label="捐赠人", field="donor", max_len=100)
    day = _entry_date(market, entry_date)
    clean_note = _text(note, label="备注", field="note", max_len=500, required=False)
    goods = item is not None and item.strip() != ""
    if goods and money_fen is not None:
        raise ValidationError("一笔捐赠只能是捐款或捐物之一 (money or goods, not both)", field="捐赠")
    if goods:
        name = _text(item, label="物品名称", field="item", max_len=64)
        if quantity is None:
            raise ValidationError("请填写捐赠物品的数量 (quantity is required)", field="数量")
        if value_fen is None:
            raise ValidationError("请填写捐赠物品的价值 (goods value is required)", field="价值")
        if value_fen < 0 or value_fen > MAX_FEN:
            raise ValidationError("物品价值不能为负数或过大 (bad goods value)", field="价值")
        entry = CharityLedgerEntry(supermarket_id=market.id, entry_date=day, kind="donation_goods",
                                   donor=donor_name, item=name, quantity=_quantity(quantity), value_fen=value_fen,
                                   note=clean_note, actor=actor.username)
    else:
        if money_fen is None:
            raise ValidationError("请填写捐款金额，或物品名称、数量和价值 (money or goods required)", field="捐赠")
        entry = CharityLedgerEntry(supermarket_id=market.id, entry_date=day, kind="donation_money",
                                   donor=donor_name, quantity=0, value_fen=_positive_fen(money_fen, label="捐款金额"),
                                   note=clean_note, actor=actor.username)
    session.add(entry)
    session.flush()
    _audit_entry(session, actor, market, entry, "supermarket.donate", donor=donor_name)
    return entry


def record_distribution(session: Session, *, actor: User, supermarket_id: int, household_id: int,
                        item: str | None = None, quantity: int | None = None, money_fen: int | None = None,
                        entry_date: date | None = None, note: str | None = None) -> list[CharityLedgerEntry]:
    """Hand goods and/or money to a household of the supermarket's county.

    1. Lock the supermarket (every ledger write of it queues behind this one).
    2. Check the household is in the actor's scope and the supermarket's county.
    3. Check every part against the stock of the item and the money balance, before writing anything.
    4. Write one entry per part (goods, money) and audit each.
    """
    market = _writable(session, actor, supermarket_id)
    household = get_household_for(session, actor, household_id)
    if household.region_code[:6] != market.county_code:
        raise ValidationError(
            f"户 {household.household_no} 不在该慈善超市所在县区，慈善超市只向本县区的家庭发放 "
            "(household outside the supermarket's county)", field="户编号")
    day = _entry_date(market, entry_date)
    clean_note = _text(note, label="备注", field="note", max_len=500, required=False)
    goods = item is not None and item.strip() != ""
    if not goods and quantity is not None:
        raise ValidationError("请填写发放物品的名称 (item is required)", field="物品名称")
    if not goods and money_fen is None:
        raise ValidationError("请填写发放的物品和数量，或发放金额 (goods or money required)", field="发放")
    entries: list[CharityLedgerEntry] = []
    if goods:
        name = _text(item, label="物品名称", field="item", max_len=64)
        assert name is not None
        if quantity is None:
            raise ValidationError("请填写发放数量 (quantity is required)", field="数量")
        q = _quantity(quantity)
        stock = _item_stock(session, market.id, name)
        if q > stock.quantity:
            raise Conflict(f"「{name}」库存不足：现有 {stock.quantity}，申请发放 {q} (not enough stock)", field="数量")
        worth = value_out(stock_quantity=stock.quantity, stock_value_fen=stock.value_fen, quantity=q)
        entries.append(CharityLedgerEntry(supermarket_id=market.id, entry_date=day, kind="distribution",
                                          household_id=household.id, item=name, quantity=-q, value_fen=-worth,
                                          note=clean_note, actor=actor.username))
    if money_fen is not None:
        amount = _positive_fen(money_fen, label="发放金额")
        money = _money_balance(session, market.id)
        if amount > money:
            raise Conflict(f"资金余额不足：现有 {format_yuan(money)} 元，申请发放 {format_yuan(amount)} 元 "
                           "(money balance too low)", field="发放金额")
        entries.append(CharityLedgerEntry(supermarket_id=market.id, entry_date=day, kind="distribution",
                                          household_id=household.id, quantity=0, value_fen=-amount,
                                          note=clean_note, actor=actor.username))
    session.add_all(entries)
    session.flush()
    for entry in entries:
        _audit_entry(session, actor, market, entry, "supermarket.distribute",
                     household_id=household.id, household_no=household.household_no)
    return entries


def get_entry_for(session: Session, user: User, entry_id: int) -> tuple[CharityLedgerEntry, CharitySupermarket]:
    """A ledger entry with its supermarket; NotFound alike for missing and out-of-scope entries."""
    entry = session.get(CharityLedgerEntry, entry_id) if is_db_id(entry_id) else None
    if entry is None:
        raise NotFound(f"台账记录不存在：{entry_id} (no such ledger entry)")
    try:
        market = get_supermarket_for(session, user, entry.supermarket_id)
    except NotFound:
        raise NotFound(f"台账记录不存在：{entry_id} (no such ledger entry)") from None
    return entry, market


def reverse_entry(session: Session, *, actor: User, entry_id: int, reason: str,
                  entry_date: date | None = None, supermarket_id: int | None = None) -> CharityLedgerEntry:
    """Undo an entry with a correction of the opposite sign (the entry itself is never changed).

    0. Only a manager may; with `supermarket_id` (the page of one supermarket) the entry must be of its
       ledger, and an unknown number is a field error (记录号), not a missing page.
    1. Lock the entry's supermarket.
    2. Refuse corrections (a reversal is not reversed again), entries already reversed, and reversals
       that would leave the money balance or the item's stock (units or value) below zero.
    3. Write the correction (it points at the entry; the schema allows one per entry) and audit it.
    """
    require_manager(actor)
    if supermarket_id is not None:
        get_supermarket_for(session, actor, supermarket_id)
        try:
            entry, _ = get_entry_for(session, actor, entry_id)
        except NotFound as exc:
            raise ValidationError(exc.message, field="记录号") from None
        if entry.supermarket_id != supermarket_id:
            raise ValidationError(f"记录 {entry_id} 不属于本超市的台账 (entry of another supermarket)", field="记录号")
    else:
        entry, _ = get_entry_for(session, actor, entry_id)
    market = _writable(session, actor, entry.supermarket_id)
    why = _text(reason, label="冲销理由", field="reason", max_len=500)
    if entry.kind == "correction":
        raise Conflict(f"记录 {entry.id} 本身是冲销记录，不能再冲销；如需恢复请重新录入 "
                       "(a correction cannot be reversed)")
    done = session.execute(
        select(CharityLedgerEntry.id).where(CharityLedgerEntry.reverses_id == entry.id)
    ).scalar()
    if done is not None:
        raise Conflict(f"记录 {entry.id} 已被冲销（冲销记录 {done}），不能重复冲销 (already reversed)")
    if entry.item is None:
        money = _money_balance(session, market.id)
        if money - entry.value_fen < 0:
            raise Conflict(f"冲销后资金余额将为 {format_yuan(money - entry.value_fen)} 元：这笔捐款已有部分发放，"
                           f"现有余额 {format_yuan(money)} 元 (reversal would make the money balance negative)")
    else:
        stock = _item_stock(session, market.id, entry.item)
        if stock.quantity - entry.quantity < 0:
            raise Conflict(f"冲销后「{entry.item}」库存将为 {stock.quantity - entry.quantity}：现有 {stock.quantity}，"
                           f"这笔捐赠的物品已部分发放 (reversal would make the stock negative)")
        if stock.value_fen - entry.value_fen < 0:
            raise Conflict(f"冲销后「{entry.item}」库存价值将为负数 (reversal would make the stock value negative)")
    day = entry_date or today()
    if day > today():
        raise ValidationError("记账日期不能晚于今天 (entry date in the future)", field="日期")
    if day < entry.entry_date:
        raise ValidationError(f"冲销日期不能早于原记录日期 {entry.entry_date.isoformat()} (before the entry)",
                              field="日期")
    correction = CharityLedgerEntry(supermarket_id=market.id, entry_date=day, kind="correction",
                                    donor=entry.donor, household_id=entry.household_id, item=entry.item,
                                    quantity=-entry.quantity, value_fen=-entry.value_fen, reverses_id=entry.id,
                                    note=why, actor=actor.username)
    session.add(correction)
    session.flush()
    _audit_entry(session, actor, market, correction, "supermarket.reverse", reverses_id=entry.id,
                 reversed_kind=entry.kind, reason=why)
    return correction


# ---- ledger reads ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerRow:
    entry: CharityLedgerEntry
    household_no: str | None
    reversed_by: int | None  # the correction that reversed this entry, if any

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.entry.kind, self.entry.kind)


def _ledger_stmt(supermarket_id: int, *, newest_first: bool) -> Select[Any]:
    corr = aliased(CharityLedgerEntry)
    order = ((CharityLedgerEntry.entry_date.desc(), CharityLedgerEntry.id.desc()) if newest_first
             else (CharityLedgerEntry.entry_date, CharityLedgerEntry.id))
    stmt = (select(CharityLedgerEntry, Household.household_no, corr.id)
            .outerjoin(Household, Household.id == CharityLedgerEntry.household_id)
            .outerjoin(corr, corr.reverses_id == CharityLedgerEntry.id)
            .where(CharityLedgerEntry.supermarket_id == supermarket_id)
            .order_by(*order))
    return cast("Select[Any]", stmt)


def ledger_page(session: Session, *, user: User, supermarket_id: int, page: int = 1,
                page_size: int = 20) -> Page[LedgerRow]:
    """The supermarket's ledger, newest first, paged."""
    market = get_supermarket_for(session, user, supermarket_id)
    raw = paginate(session, _ledger_stmt(market.id, newest_first=True), page=page, page_size=page_size,
                   scalars=False)
    return Page(items=[LedgerRow(e, no, rev) for e, no, rev in raw.items], total=raw.total, page=raw.page,
                page_size=raw.page_size)


def ledger_all(session: Session, *, user: User, supermarket_id: int) -> list[LedgerRow]:
    """The whole ledger, oldest first (CLI and export)."""
    market = get_supermarket_for(session, user, supermarket_id)
    rows = session.execute(_ledger_stmt(market.id, newest_first=False)).all()
    return [LedgerRow(e, no, rev) for e, no, rev in rows]


LEDGER_HEADERS = ["记录号", "日期", "类型", "捐赠人", "户编号", "物品", "数量", "金额/价值(元)", "冲销记录号",
                  "被冲销记录号", "备注", "经办人"]


def ledger_table(rows: list[LedgerRow], actors: dict[str, str] | None = None) -> list[list[Any]]:
    """Ledger rows as spreadsheet rows (LEDGER_HEADERS); amounts in yuan, signed; the 经办人 by the name
    people know them by (`actors`: username → display name)."""
    names = actors or {}
    out: list[list[Any]] = []
    for r in rows:
        e = r.entry
        out.append([e.id, e.entry_date.isoformat(), r.kind_name, e.donor or "", r.household_no or "",
                    e.item or "", e.quantity if e.item else None, Decimal(format_yuan(e.value_fen)),
                    e.reverses_id, r.reversed_by, e.note or "", names.get(e.actor, e.actor)])
    return out


# ---- report ------------------------------------------------------------------------------------------

@dataclass
class CountyReport:
    """One county's year against the plan: supermarkets, new ones vs the 10–20 band, flows, households."""

    county_code: str
    name: str
    supermarkets: int = 0
    opened_in_year: int = 0
    target_low: int = NEW_PER_COUNTY_TARGET[0]
    target_high: int = NEW_PER_COUNTY_TARGET[1]
    donations_money_fen: int = 0
    donations_goods_fen: int = 0
    distributions_money_fen: int = 0
    distributions_goods_fen: int = 0
    households_served: int = 0

    @property
    def status(self) -> str:
        return target_status(self.opened_in_year, (self.target_low, self.target_high))

    @property
    def donations_fen(self) -> int:
        return self.donations_money_fen + self.donations_goods_fen

    @property
    def distributions_fen(self) -> int:
        return self.distributions_money_fen + self.distributions_goods_fen

    def as_json(self) -> dict[str, Any]:
        return {"county_code": self.county_code, "name": self.name, "supermarkets": self.supermarkets,
                "opened_in_year": self.opened_in_year, "target": [self.target_low, self.target_high],
                "status": self.status, "donations_money_fen": self.donations_money_fen,
                "donations_goods_fen": self.donations_goods_fen,
                "distributions_money_fen": self.distributions_money_fen,
                "distributions_goods_fen": self.distributions_goods_fen,
                "households_served": self.households_served}


@dataclass
class SupermarketReport:
    year: int
    counties: list[CountyReport]

    @property
    def totals(self) -> dict[str, int]:
        keys = ("supermarkets", "opened_in_year", "donations_money_fen", "donations_goods_fen",
                "distributions_money_fen", "distributions_goods_fen", "households_served")
        return {k: sum(getattr(c, k) for c in self.counties) for k in keys}

    def as_json(self) -> dict[str, Any]:
        return {"year": self.year, "target_per_county": list(NEW_PER_COUNTY_TARGET),
                "counties": [c.as_json() for c in self.counties], "totals": self.totals}


def county_report(session: Session, *, user: User, year: int | None = None) -> SupermarketReport:
    """Per county in scope: supermarkets, opened in the year vs the target band, money and goods in and
    out in the year, households served. Reversed entries and their corrections count as never booked."""
    require(user, Perm.REGISTRY_READ)
    year = year or today().year
    if not 1900 <= year <= 2200:
        raise ValidationError(f"年份 {year} 超出范围 (year out of range)", field="年份")
    start, end = date(year, 1, 1), date(year, 12, 31)
    rows = {r.code: CountyReport(county_code=r.code, name=r.name) for r in counties_for(session, user)}

    sm = CharitySupermarket
    # Whole-county figures (no one is named): a town officer sees the row of the county they work in.
    counts = (
        select(sm.county_code, func.count(),
               func.sum(case((and_(sm.opened_on >= start, sm.opened_on <= end), 1), else_=0)))
        .where(sm.is_active.is_(True), sm.county_code.in_(list(rows))).group_by(sm.county_code))
    for code, total, opened in session.execute(counts):
        if code in rows:
            rows[code].supermarkets, rows[code].opened_in_year = int(total), int(opened or 0)

    e = CharityLedgerEntry
    corr = aliased(CharityLedgerEntry)
    zero = literal(0)

    def flow(kind: str, *, money: bool | None = None, sign: int = 1) -> Any:
        cond = [e.kind == kind]
        if money is not None:
            cond.append(e.item.is_(None) if money else e.item.is_not(None))
        return func.coalesce(func.sum(case((and_(*cond), e.value_fen * sign), else_=zero)), 0)

    flows = (
        select(sm.county_code, flow("donation_money"), flow("donation_goods"),
               flow("distribution", money=True, sign=-1), flow("distribution", money=False, sign=-1),
               func.count(func.distinct(case((e.kind == "distribution", e.household_id), else_=None))))
        .join(sm, sm.id == e.supermarket_id)
        .outerjoin(corr, corr.reverses_id == e.id)
        .where(e.entry_date >= start, e.entry_date <= end, e.kind != "correction", corr.id.is_(None),
               sm.county_code.in_(list(rows)))
        .group_by(sm.county_code))
    for code, dm, dg, om, og, served in session.execute(flows):
        if code in rows:
            r = rows[code]
            r.donations_money_fen, r.donations_goods_fen = int(dm), int(dg)
            r.distributions_money_fen, r.distributions_goods_fen = int(om), int(og)
            r.households_served = int(served)
    return SupermarketReport(year=year, counties=list(rows.values()))
