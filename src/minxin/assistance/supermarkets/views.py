"""Charity-supermarket pages: the list per county against the plan's target, one supermarket's balance,
stock and ledger with its forms (donation, distribution, reversal), and the ledger as xlsx.

Routes stay thin: parse the form, call the service, commit once; a refused write is shown in Chinese
next to its form with nothing stored. Out-of-scope supermarkets are 404 like missing ones.
"""

from __future__ import annotations

import io
from datetime import date
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from minxin.assistance.domain import AssistancePerm
from minxin.assistance.supermarkets import service
from minxin.assistance.supermarkets.rules import NEW_PER_COUNTY_TARGET
from minxin.auth.models import User
from minxin.auth.service import display_names
from minxin.core.errors import Forbidden, MinxinError, NotFound, ValidationError
from minxin.core.money import parse_yuan
from minxin.infra.settings import get_settings
from minxin.kit.tabular import write_xlsx
from minxin.registry.service import region_names
from minxin.web.deps import current_user, get_session
from minxin.web.errors import status_for
from minxin.web.forms import XLSX, error_message, see_other
from minxin.web.nav import NavItem
from minxin.web.templating import local_today, render

router = APIRouter()

NAV = [NavItem(label="nav.supermarkets", path="/supermarkets", perm=AssistancePerm.SUPERMARKETS_MANAGE)]


_ZH: dict[str, str] = {
    "nav.supermarkets": "慈善超市",
    "supermarkets.title": "慈善超市",
    "supermarkets.intro": "市民政工作计划：督促指导各县区新增 {low}–{high} 家慈善超市。下表按县区统计 {year} 年新增数、"
                          "捐赠、发放和受助户数；已冲销的记录不计入。",
    "supermarkets.year": "年度",
    "supermarkets.col_county": "县区",
    "supermarkets.col_total": "慈善超市（家）",
    "supermarkets.col_new": "本年新增",
    "supermarkets.col_target": "目标",
    "supermarkets.col_status": "完成情况",
    "supermarkets.col_donations": "本年捐赠（元）",
    "supermarkets.col_distributions": "本年发放（元）",
    "supermarkets.col_households": "受助户数",
    "supermarkets.target_band": "{low}–{high} 家",
    "supermarkets.status.below": "未达标",
    "supermarkets.status.met": "达标",
    "supermarkets.status.above": "超出目标",
    "supermarkets.list": "超市名录",
    "supermarkets.col_name": "名称",
    "supermarkets.col_opened": "开业日期",
    "supermarkets.col_money": "资金余额（元）",
    "supermarkets.col_goods": "物资价值（元）",
    "supermarkets.inactive": "已停用",
    "supermarkets.open": "查看",
    "supermarkets.empty": "辖区内还没有慈善超市。",
    "supermarkets.add": "新增慈善超市",
    "supermarkets.name": "名称",
    "supermarkets.county": "所在县区",
    "supermarkets.address": "地址（可空）",
    "supermarkets.opened": "开业日期",
    "supermarkets.add_submit": "新增",
    "supermarkets.added": "已新增慈善超市：{name}。",
    "supermarkets.detail.opened": "开业日期",
    "supermarkets.detail.county": "所在县区",
    "supermarkets.detail.address": "地址",
    "supermarkets.detail.money": "资金余额",
    "supermarkets.detail.goods_value": "物资价值",
    "supermarkets.detail.total_value": "合计价值",
    "supermarkets.detail.stock": "库存物资",
    "supermarkets.detail.col_item": "物品",
    "supermarkets.detail.col_quantity": "数量",
    "supermarkets.detail.col_value": "价值（元）",
    "supermarkets.detail.no_stock": "暂无库存物资。",
    "supermarkets.detail.ledger": "台账",
    "supermarkets.detail.ledger_note": "台账只增不改：录入有误时用冲销更正，原记录保留。金额正数为收入，负数为支出。",
    "supermarkets.detail.export": "导出 Excel",
    "supermarkets.detail.col_id": "记录号",
    "supermarkets.detail.col_date": "日期",
    "supermarkets.detail.col_kind": "类型",
    "supermarkets.detail.col_party": "捐赠人/受助户",
    "supermarkets.detail.col_item_qty": "物品 数量",
    "supermarkets.detail.col_amount": "金额/价值（元）",
    "supermarkets.detail.col_note": "备注",
    "supermarkets.detail.col_actor": "经办人",
    "supermarkets.detail.money_row": "资金",
    "supermarkets.detail.reversed_by": "已被记录 {id} 冲销",
    "supermarkets.detail.reverses": "冲销记录 {id}",
    "supermarkets.detail.reverse_link": "冲销",
    "supermarkets.detail.no_entries": "台账还没有记录。",
    "supermarkets.kind.donation_money": "捐款",
    "supermarkets.kind.donation_goods": "捐物",
    "supermarkets.kind.distribution": "发放",
    "supermarkets.kind.correction": "冲销",
    "supermarkets.donate": "登记捐赠",
    "supermarkets.donate_intro": "捐款填金额；捐物填物品名称、数量和估价。两者不能同时填写。",
    "supermarkets.donor": "捐赠人（个人或单位）",
    "supermarkets.money": "捐款金额（元）",
    "supermarkets.item": "物品名称",
    "supermarkets.quantity": "数量",
    "supermarkets.value": "物品价值（元）",
    "supermarkets.date": "日期（可空，默认今天）",
    "supermarkets.note": "备注（可空）",
    "supermarkets.donate_submit": "登记捐赠",
    "supermarkets.distribute": "发放",
    "supermarkets.distribute_intro": "向本县区的困难家庭发放物资和/或资金；超出库存或余额的发放不会登记。",
    "supermarkets.household_no": "户编号",
    "supermarkets.dist_money": "发放金额（元，可空）",
    "supermarkets.distribute_submit": "登记发放",
    "supermarkets.reverse": "冲销更正",
    "supermarkets.reverse_intro": "为录入有误的记录登记一笔方向相反的更正；每条记录只能冲销一次，"
                                  "冲销后库存和余额不能为负。",
    "supermarkets.entry_id": "要冲销的记录号",
    "supermarkets.reason": "冲销理由",
    "supermarkets.reverse_submit": "冲销",
    "supermarkets.done.donation": "捐赠已登记。",
    "supermarkets.done.distribution": "发放已登记。",
    "supermarkets.done.reversal": "冲销已登记。",
}

_EN: dict[str, str] = {
    "nav.supermarkets": "Charity shops",
    "supermarkets.title": "Charity supermarkets",
    "supermarkets.intro": "The city plan: each county opens {low}–{high} new charity supermarkets. Per county, "
                          "{year}: new ones, donations, distributions and households served; reversed entries "
                          "do not count.",
    "supermarkets.year": "Year",
    "supermarkets.col_county": "County",
    "supermarkets.col_total": "Supermarkets",
    "supermarkets.col_new": "New this year",
    "supermarkets.col_target": "Target",
    "supermarkets.col_status": "Status",
    "supermarkets.col_donations": "Donations (yuan)",
    "supermarkets.col_distributions": "Distributed (yuan)",
    "supermarkets.col_households": "Households served",
    "supermarkets.target_band": "{low}–{high}",
    "supermarkets.status.below": "Below target",
    "supermarkets.status.met": "Target met",
    "supermarkets.status.above": "Above target",
    "supermarkets.list": "Supermarkets",
    "supermarkets.col_name": "Name",
    "supermarkets.col_opened": "Opened",
    "supermarkets.col_money": "Money (yuan)",
    "supermarkets.col_goods": "Goods value (yuan)",
    "supermarkets.inactive": "inactive",
    "supermarkets.open": "Open",
    "supermarkets.empty": "No charity supermarket in your scope yet.",
    "supermarkets.add": "Add a charity supermarket",
    "supermarkets.name": "Name",
    "supermarkets.county": "County",
    "supermarkets.address": "Address (optional)",
    "supermarkets.opened": "Opened on",
    "supermarkets.add_submit": "Add",
    "supermarkets.added": "Charity supermarket added: {name}.",
    "supermarkets.detail.opened": "Opened on",
    "supermarkets.detail.county": "County",
    "supermarkets.detail.address": "Address",
    "supermarkets.detail.money": "Money balance",
    "supermarkets.detail.goods_value": "Goods value",
    "supermarkets.detail.total_value": "Total value",
    "supermarkets.detail.stock": "Goods in stock",
    "supermarkets.detail.col_item": "Item",
    "supermarkets.detail.col_quantity": "Quantity",
    "supermarkets.detail.col_value": "Value (yuan)",
    "supermarkets.detail.no_stock": "No goods in stock.",
    "supermarkets.detail.ledger": "Ledger",
    "supermarkets.detail.ledger_note": "The ledger is append-only: a wrong entry is reversed by a correction and "
                                       "stays visible. Positive amounts come in, negative ones go out.",
    "supermarkets.detail.export": "Export to Excel",
    "supermarkets.detail.col_id": "Entry",
    "supermarkets.detail.col_date": "Date",
    "supermarkets.detail.col_kind": "Kind",
    "supermarkets.detail.col_party": "Donor / household",
    "supermarkets.detail.col_item_qty": "Item, quantity",
    "supermarkets.detail.col_amount": "Amount / value (yuan)",
    "supermarkets.detail.col_note": "Note",
    "supermarkets.detail.col_actor": "By",
    "supermarkets.detail.money_row": "money",
    "supermarkets.detail.reversed_by": "reversed by entry {id}",
    "supermarkets.detail.reverses": "reverses entry {id}",
    "supermarkets.detail.reverse_link": "Reverse",
    "supermarkets.detail.no_entries": "No entries yet.",
    "supermarkets.kind.donation_money": "Money donation",
    "supermarkets.kind.donation_goods": "Goods donation",
    "supermarkets.kind.distribution": "Distribution",
    "supermarkets.kind.correction": "Correction",
    "supermarkets.donate": "Record a donation",
    "supermarkets.donate_intro": "Money: the amount. Goods: item, quantity and estimated value. Not both.",
    "supermarkets.donor": "Donor (person or organisation)",
    "supermarkets.money": "Amount (yuan)",
    "supermarkets.item": "Item",
    "supermarkets.quantity": "Quantity",
    "supermarkets.value": "Goods value (yuan)",
    "supermarkets.date": "Date (optional, default today)",
    "supermarkets.note": "Note (optional)",
    "supermarkets.donate_submit": "Record donation",
    "supermarkets.distribute": "Distribute",
    "supermarkets.distribute_intro": "Hand goods and/or money to a household of the county; nothing is recorded "
                                     "beyond the stock or the balance.",
    "supermarkets.household_no": "Household no.",
    "supermarkets.dist_money": "Money (yuan, optional)",
    "supermarkets.distribute_submit": "Record distribution",
    "supermarkets.reverse": "Reverse an entry",
    "supermarkets.reverse_intro": "Book the opposite of a wrong entry. Each entry can be reversed once, and never "
                                  "below zero stock or balance.",
    "supermarkets.entry_id": "Entry to reverse",
    "supermarkets.reason": "Reason",
    "supermarkets.reverse_submit": "Reverse",
    "supermarkets.done.donation": "Donation recorded.",
    "supermarkets.done.distribution": "Distribution recorded.",
    "supermarkets.done.reversal": "Reversal recorded.",
}

MESSAGES = {"zh": _ZH, "en": _EN}
_DONE = {"donation", "distribution", "reversal"}


# ---- helpers ----------------------------------------------------------------------------------------

def _optional_date(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError("日期格式应为 年-月-日，如 2012-05-01 (bad date)", field="日期") from None


def _optional_yuan(value: str, *, field: str) -> int | None:
    return parse_yuan(value, field=field) if value.strip() else None


def _optional_int(value: str, *, field: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise ValidationError(f"{field}应为正整数 ({field} must be a positive whole number)", field=field)
    return int(text)


def _year(value: int | None) -> int:
    return value or local_today().year


# ---- list -------------------------------------------------------------------------------------------

def _list_page(request: Request, session: Session, user: User, *, year: int, form: dict[str, str] | None = None,
               form_error: str | None = None, added: str | None = None, status_code: int = 200) -> Response:
    report = service.county_report(session, user=user, year=year)
    markets = service.list_supermarkets(session, user=user)
    return render(request, "assistance/supermarkets.html", {
        "year": year, "report": report, "totals": report.totals, "markets": markets,
        "money": service.totals_of(session, [m.id for m in markets]),
        "county_names": region_names(session, {m.county_code for m in markets}),
        "counties": [(c.county_code, c.name) for c in report.counties],
        "band": NEW_PER_COUNTY_TARGET, "can_manage": service.can_manage(user),
        "form": form or {}, "form_error": form_error, "added": added, "today": local_today().isoformat(),
    }, status_code=status_code)


@router.get("/supermarkets", name="supermarkets")
def supermarkets_page(request: Request, year: int | None = Query(None, ge=1900, le=2200),
                      added: str = Query("", max_length=100), user: User = Depends(current_user),
                      session: Session = Depends(get_session)) -> Response:
    """Supermarkets per county against the 10–20 new-per-county target, the list, and the add form."""
    return _list_page(request, session, user, year=_year(year), added=added or None)


@router.post("/supermarkets", name="supermarket_add")
def supermarket_add(request: Request, name: str = Form("", max_length=200), county: str = Form("", max_length=12),
                    opened_on: str = Form("", max_length=20), address: str = Form("", max_length=400),
                    user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Register a supermarket; a refusal redisplays the form with the reason."""
    service.require_manager(user)
    form = {"name": name, "county": county, "opened_on": opened_on, "address": address}
    try:
        day = _optional_date(opened_on)
        if day is None:
            raise ValidationError("请填写开业日期 (opening date is required)", field="开业日期")
        market = service.add_supermarket(session, actor=user, name=name, county_code=county, opened_on=day,
                                         address=address)
    except MinxinError as exc:
        session.rollback()
        return _list_page(request, session, user, year=_year(None), form=form, form_error=error_message(request, exc),
                          status_code=status_for(exc))
    session.commit()
    return see_other("/supermarkets", added=market.name)


# ---- one supermarket --------------------------------------------------------------------------------

def _detail_page(request: Request, session: Session, user: User, supermarket_id: int, *, page: int = 1,
                 done: str | None = None, reverse: int | None = None, errors: dict[str, str] | None = None,
                 forms: dict[str, dict[str, str]] | None = None, status_code: int = 200) -> Response:
    market = service.get_supermarket_for(session, user, supermarket_id)
    bal = service.balance(session, market)
    ledger = service.ledger_page(session, user=user, supermarket_id=market.id, page=page,
                                 page_size=get_settings().page_size)
    forms = forms or {}
    if reverse and "reverse" not in forms:
        forms["reverse"] = {"entry_id": str(reverse)}
    return render(request, "assistance/supermarkets_detail.html", {
        "market": market, "balance": bal, "ledger": ledger,
        "actors": display_names(session, {r.entry.actor for r in ledger.items}),
        "county": region_names(session, {market.county_code}).get(market.county_code, market.county_code),
        "can_manage": service.can_manage(user) and market.is_active, "done": done if done in _DONE else None,
        "errors": errors or {}, "forms": forms, "today": local_today().isoformat(),
    }, status_code=status_code)


@router.get("/supermarkets/{supermarket_id:int}", name="supermarket")
def supermarket_page(request: Request, supermarket_id: int, page: int = Query(1, ge=1, le=100_000),
                     done: str = Query("", max_length=20), reverse: int | None = Query(None, ge=1, le=2**31 - 1),
                     user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """One supermarket: balance, stock per item, the ledger (paged) and the forms to write to it."""
    return _detail_page(request, session, user, supermarket_id, page=page, done=done or None, reverse=reverse)


def _refused(request: Request, session: Session, user: User, supermarket_id: int, exc: MinxinError, which: str,
             form: dict[str, str]) -> Response:
    """Show a refused write next to its form (nothing stored); a refusal of the page itself stays an error page."""
    if isinstance(exc, Forbidden) or (isinstance(exc, NotFound) and exc.field is None):
        raise exc
    session.rollback()
    status = 422 if isinstance(exc, NotFound) else status_for(exc)
    return _detail_page(request, session, user, supermarket_id, errors={which: error_message(request, exc)},
                        forms={which: form}, status_code=status)


@router.post("/supermarkets/{supermarket_id:int}/donations", name="supermarket_donate")
def supermarket_donate(request: Request, supermarket_id: int, donor: str = Form("", max_length=200),
                       money: str = Form("", max_length=30), item: str = Form("", max_length=100),
                       quantity: str = Form("", max_length=12), value: str = Form("", max_length=30),
                       entry_date: str = Form("", max_length=20), note: str = Form("", max_length=1000),
                       user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Book a money or goods donation."""
    market = service.get_supermarket_for(session, user, supermarket_id)
    form = {"donor": donor, "money": money, "item": item, "quantity": quantity, "value": value,
            "entry_date": entry_date, "note": note}
    try:
        goods = bool(item.strip())
        if goods and money.strip():
            raise ValidationError("一笔捐赠只能是捐款或捐物之一 (money or goods, not both)", field="捐赠")
        service.record_donation(
            session, actor=user, supermarket_id=market.id, donor=donor,
            money_fen=None if goods else _optional_yuan(money, field="捐款金额"),
            item=item if goods else None, quantity=_optional_int(quantity, field="数量") if goods else None,
            value_fen=_optional_yuan(value, field="物品价值") if goods else None,
            entry_date=_optional_date(entry_date), note=note)
    except MinxinError as exc:
        return _refused(request, session, user, market.id, exc, "donate", form)
    session.commit()
    return see_other(f"/supermarkets/{market.id}", "#ledger", done="donation")


@router.post("/supermarkets/{supermarket_id:int}/distributions", name="supermarket_distribute")
def supermarket_distribute(request: Request, supermarket_id: int, household_no: str = Form("", max_length=64),
                           item: str = Form("", max_length=100), quantity: str = Form("", max_length=12),
                           money: str = Form("", max_length=30), entry_date: str = Form("", max_length=20),
                           note: str = Form("", max_length=1000), user: User = Depends(current_user),
                           session: Session = Depends(get_session)) -> Response:
    """Hand goods and/or money to a household; refused beyond stock or balance, with nothing stored."""
    market = service.get_supermarket_for(session, user, supermarket_id)
    form = {"household_no": household_no, "item": item, "quantity": quantity, "money": money,
            "entry_date": entry_date, "note": note}
    try:
        service.require_manager(user)
        household = service.household_by_no(session, user=user, household_no=household_no)
        service.record_distribution(
            session, actor=user, supermarket_id=market.id, household_id=household.id, item=item or None,
            quantity=_optional_int(quantity, field="数量"), money_fen=_optional_yuan(money, field="发放金额"),
            entry_date=_optional_date(entry_date), note=note)
    except MinxinError as exc:
        return _refused(request, session, user, market.id, exc, "distribute", form)
    session.commit()
    return see_other(f"/supermarkets/{market.id}", "#ledger", done="distribution")


@router.post("/supermarkets/{supermarket_id:int}/reversals", name="supermarket_reverse")
def supermarket_reverse(request: Request, supermarket_id: int, entry_id: str = Form("", max_length=12),
                        reason: str = Form("", max_length=1000), user: User = Depends(current_user),
                        session: Session = Depends(get_session)) -> Response:
    """Reverse one entry of this supermarket's ledger with an opposite correction."""
    market = service.get_supermarket_for(session, user, supermarket_id)
    form = {"entry_id": entry_id, "reason": reason}
    try:
        number = _optional_int(entry_id, field="记录号")
        if number is None:
            raise ValidationError("请填写要冲销的记录号 (entry number is required)", field="记录号")
        service.reverse_entry(session, actor=user, entry_id=number, reason=reason, supermarket_id=market.id)
    except MinxinError as exc:
        return _refused(request, session, user, market.id, exc, "reverse", form)
    session.commit()
    return see_other(f"/supermarkets/{market.id}", "#ledger", done="reversal")


@router.get("/supermarkets/{supermarket_id:int}/ledger.xlsx", name="supermarket_ledger_xlsx")
def supermarket_ledger_xlsx(supermarket_id: int, user: User = Depends(current_user),
                            session: Session = Depends(get_session)) -> Response:
    """The whole ledger as a spreadsheet, oldest first, amounts in yuan (signed)."""
    market = service.get_supermarket_for(session, user, supermarket_id)
    rows = service.ledger_all(session, user=user, supermarket_id=market.id)
    buffer = io.BytesIO()
    actors = display_names(session, {r.entry.actor for r in rows})
    write_xlsx(buffer, service.LEDGER_HEADERS, service.ledger_table(rows, actors), sheet="台账",
               text_columns=("户编号",), widths={"备注": 30, "捐赠人": 20})
    filename = f"慈善超市台账-{market.name}-{local_today():%Y%m%d}.xlsx"
    ascii_name = f"supermarket-{market.id}-ledger.xlsx"
    return Response(buffer.getvalue(), media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"})
