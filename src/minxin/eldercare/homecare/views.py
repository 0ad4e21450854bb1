"""Home-care pages (政府购买居家养老服务): providers with their staff and orders, the order forms (create,
start, finish, cancel) and the month's settlement per provider. Routes parse, call the service, commit
once and render; a refusal shows the page again with the message, nothing stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.core.errors import MinxinError, ValidationError
from minxin.core.period import Period
from minxin.eldercare.domain import EldercarePerm
from minxin.eldercare.homecare import service as svc
from minxin.infra.clock import CHINA_TZ, today
from minxin.programs.cycles.approval import list_cycles_for, may_read_cycles
from minxin.registry.service import region_names
from minxin.web.deps import current_user, get_session
from minxin.web.errors import error_page, status_for
from minxin.web.i18n import domain_message
from minxin.web.nav import NavItem
from minxin.web.templating import render, request_lang

router = APIRouter()

NAV = [
    NavItem(label="nav.eldercare.providers", path="/eldercare/providers", perm=EldercarePerm.HOMECARE_READ),
    NavItem(label="nav.eldercare.settlements", path="/eldercare/settlements", perm=EldercarePerm.HOMECARE_READ),
]

_M: dict[str, tuple[str, str]] = {
    "nav.eldercare.providers": ("居家服务商", "Home-care providers"),
    "nav.eldercare.settlements": ("服务结算", "Provider settlements"),
    "hc.providers.title": ("居家养老服务商", "Home-care service providers"),
    "hc.providers.intro": ("政府购买居家养老服务的签约服务商。服务单按老人当月额度派单，"
                           "完成的服务单按月经发放周期结算给服务商。",
                           "Providers contracted for government-purchased home care. Orders draw on the person's "
                           "monthly entitlement; finished orders are paid to the provider monthly through the "
                           "payment cycles."),
    "hc.name": ("名称", "Name"), "hc.county": ("县区", "County"), "hc.contact": ("负责人", "Representative"),
    "hc.phone": ("电话", "Phone"), "hc.services": ("服务项目", "Services"), "hc.status": ("状态", "Status"),
    "hc.active": ("在约", "Contracted"), "hc.inactive": ("已停用", "Stopped"),
    "hc.account": ("结算账号", "Bank account"), "hc.credit": ("统一社会信用代码", "Credit code"),
    "hc.case": ("结算案件", "Settlement case"), "hc.rep_id": ("负责人身份证号", "Representative's ID number"),
    "hc.register": ("签约服务商", "Contract a provider"), "hc.save": ("保存", "Save"),
    "hc.staff": ("服务人员", "Staff"), "hc.qualification": ("资质", "Qualification"),
    "hc.add_staff": ("登记服务人员", "Add a worker"),
    "hc.orders": ("服务单", "Service orders"), "hc.new_order": ("派服务单", "New order"),
    "hc.person": ("服务对象", "Person"), "hc.person_id": ("老人编号", "Person id"),
    "hc.type": ("服务项目", "Service"), "hc.scheduled": ("预约时间", "Scheduled"),
    "hc.minutes": ("时长（分钟）", "Minutes"), "hc.value": ("金额（元）", "Value (yuan)"),
    "hc.started": ("开始", "Started"), "hc.finished": ("完成", "Finished"), "hc.worker": ("服务人员", "Worker"),
    "hc.recorded_by": ("录入", "Recorded by"), "hc.note": ("备注", "Note"),
    "hc.start": ("开始服务", "Start"), "hc.finish": ("完成服务", "Finish"), "hc.cancel": ("取消", "Cancel"),
    "hc.reason": ("取消原因", "Reason"), "hc.at": ("时间（空为现在）", "Time (empty: now)"),
    "hc.period": ("月份", "Month"), "hc.settled": ("结算周期", "Paid by cycle"),
    "hc.order.title": ("服务单 {id}", "Service order {id}"),
    "hc.entitlement": ("政府购买服务", "Purchased home care"),
    "hc.eligible": ("服务对象", "Eligible"), "hc.not_eligible": ("不属于政府购买服务对象", "Not eligible"),
    "hc.limit": ("本月额度", "Monthly entitlement"), "hc.used": ("已用", "Used"), "hc.left": ("剩余", "Left"),
    "hc.settle.title": ("居家养老服务结算", "Home-care settlements"),
    "hc.settle.intro": ("{month} 各服务商完成的服务单，以及发放周期（居家养老服务项目）结算的金额。"
                        "运行、审批和导出银行文件在发放周期页面进行。",
                        "Finished orders of {month} per provider and what the payment cycle (program homecare) "
                        "pays. Run, approve and export the bank file on the payment cycles page."),
    "hc.settle.finished": ("完成单数", "Finished orders"),
    "hc.settle.finished_fen": ("完成金额（元）", "Finished value"),
    "hc.settle.paid": ("周期结算（元）", "Cycle pays"), "hc.settle.cycle": ("周期", "Cycle"),
    "hc.settle.cycles": ("发放周期", "Payment cycles"),
    "hc.filter": ("筛选", "Filter"), "hc.all": ("全部", "All"),
}
for _k, _v in svc.STATUS_NAMES.items():
    _M[f"hc.status.{_k}"] = (_v, {"ordered": "Ordered", "started": "In service", "finished": "Finished",
                                 "cancelled": "Cancelled"}[_k])
MESSAGES = {"zh": {k: v[0] for k, v in _M.items()}, "en": {k: v[1] for k, v in _M.items()}}


def _msg(request: Request, exc: MinxinError) -> str:
    return domain_message(exc.message, lang=request_lang(request))


def _int(value: str, label: str, field: str, *, required: bool = True) -> int | None:
    text = value.strip()
    if not text:
        if required:
            raise ValidationError(f"请填写{label} ({field} is required)", field=field)
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or not 0 < int(text) <= svc.MAX_DB_ID:
        raise ValidationError(f"{label}应为正整数 (bad {field})", field=field)
    return int(text)


def _time(value: str, field: str) -> datetime | None:
    text = value.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError("时间格式不正确，应为 2026-11-05T09:00 (bad time)", field=field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA_TZ)


def _period(month: str) -> Period:
    return Period.parse(month.strip()) if month.strip() else Period.of(today())


# ---- providers ---------------------------------------------------------------------------------------

def _providers_page(request: Request, session: Session, user: User, *, q: str = "", page: int = 1,
                    error: str | None = None, form: dict[str, str] | None = None, status_code: int = 200) -> Response:
    result = svc.list_providers(session, user=user, q=q, page=page)
    names = region_names(session, {p.county_code for p in result.items})
    return render(request, "eldercare/providers.html", {
        "result": result, "names": names, "q": q, "error": error, "form": form or {},
        "may_manage": svc.may_manage(user)}, status_code=status_code)


@router.get("/eldercare/providers")
def providers(request: Request, q: str = Query("", max_length=100), page: int = Query(1, ge=1, le=100_000),
              session: Session = Depends(get_session), user: User = Depends(current_user)) -> Response:
    try:
        return _providers_page(request, session, user, q=q, page=page)
    except MinxinError as exc:
        return error_page(request, status=status_for(exc), message=_msg(request, exc))


@router.post("/eldercare/providers")
def register(request: Request, name: str = Form("", max_length=200), county_code: str = Form("", max_length=12),
             contact_id_number: str = Form("", max_length=40), phone: str = Form("", max_length=40),
             bank_account: str = Form("", max_length=60), credit_code: str = Form("", max_length=40),
             services: str = Form("", max_length=400), session: Session = Depends(get_session),
             user: User = Depends(current_user)) -> Response:
    form = {"name": name, "county_code": county_code, "contact_id_number": contact_id_number, "phone": phone,
            "bank_account": bank_account, "credit_code": credit_code, "services": services}
    try:
        p = svc.register_provider(session, actor=user, name=name, county_code=county_code,
                                  contact_id_number=contact_id_number, phone=phone, bank_account=bank_account,
                                  credit_code=credit_code or None, services=services or None)
    except MinxinError as exc:
        session.rollback()
        if status_for(exc) == 403:
            raise
        return _providers_page(request, session, user, error=_msg(request, exc), form=form,
                               status_code=status_for(exc))
    session.commit()
    return RedirectResponse(f"/eldercare/providers/{p.id}", status_code=303)


def _provider_page(request: Request, session: Session, user: User, provider_id: int, *, month: str = "",
                   page: int = 1, error: str | None = None, status_code: int = 200) -> Response:
    provider = svc.get_provider_for(session, user, provider_id)
    period = _period(month)
    orders = svc.list_orders(session, user=user, provider_id=provider.id, period=str(period), page=page)
    count, fen = svc.provider_settlement(session, provider, period=period)
    return render(request, "eldercare/provider.html", {
        "p": provider, "staff": svc.staff_of(session, provider), "orders": orders, "month": str(period),
        "county": region_names(session, {provider.county_code}).get(provider.county_code, provider.county_code),
        "due": (count, fen), "error": error, "may_manage": svc.may_manage(user), "may_record": svc.may_record(user),
        "types": svc.SERVICE_TYPES}, status_code=status_code)


@router.get("/eldercare/providers/{provider_id}")
def provider(request: Request, provider_id: int, month: str = Query("", max_length=7),
             page: int = Query(1, ge=1, le=100_000), session: Session = Depends(get_session),
             user: User = Depends(current_user)) -> Response:
    try:
        return _provider_page(request, session, user, provider_id, month=month, page=page)
    except MinxinError as exc:
        return error_page(request, status=status_for(exc), message=_msg(request, exc))


def _provider_post(request: Request, session: Session, user: User, provider_id: int,
                   action: Callable[[], Any]) -> Response:
    try:
        action()
    except MinxinError as exc:
        session.rollback()
        if status_for(exc) in (403, 404):
            return error_page(request, status=status_for(exc), message=_msg(request, exc))
        return _provider_page(request, session, user, provider_id, error=_msg(request, exc),
                              status_code=status_for(exc))
    session.commit()
    return RedirectResponse(f"/eldercare/providers/{provider_id}", status_code=303)


@router.post("/eldercare/providers/{provider_id}/staff")
def add_staff(request: Request, provider_id: int, name: str = Form("", max_length=100),
              phone: str = Form("", max_length=40), qualification: str = Form("", max_length=100),
              session: Session = Depends(get_session), user: User = Depends(current_user)) -> Response:
    return _provider_post(request, session, user, provider_id, lambda: svc.add_staff(
        session, actor=user, provider_id=provider_id, name=name, phone=phone or None,
        qualification=qualification or None))


@router.post("/eldercare/providers/{provider_id}/update")
def update(request: Request, provider_id: int, phone: str = Form("", max_length=40),
           bank_account: str = Form("", max_length=60), active: str = Form("", max_length=5),
           session: Session = Depends(get_session), user: User = Depends(current_user)) -> Response:
    return _provider_post(request, session, user, provider_id, lambda: svc.update_provider(
        session, actor=user, provider_id=provider_id, phone=phone if phone.strip() else None,
        bank_account=bank_account if bank_account.strip() else None,
        is_active={"1": True, "0": False}.get(active.strip())))


# ---- orders --------------------------------------------------------------------------------------

def _new_order_page(request: Request, session: Session, user: User, form: dict[str, str], *,
                    error: str | None = None, status_code: int = 200) -> Response:
    providers = svc.list_providers(session, user=user, page_size=200).items
    entitlement = None
    pid = form.get("person_id", "").strip()
    if pid.isdigit() and len(pid) <= 10:
        try:
            entitlement = svc.entitlement_for(session, user, int(pid))
        except MinxinError:
            entitlement = None
    return render(request, "eldercare/order_new.html", {
        "providers": [p for p in providers if p.is_active], "form": form, "error": error, "types": svc.SERVICE_TYPES,
        "ent": entitlement}, status_code=status_code)


@router.get("/eldercare/orders/new")
def new_order(request: Request, person_id: str = Query("", max_length=12), provider_id: str = Query("", max_length=12),
              session: Session = Depends(get_session), user: User = Depends(current_user)) -> Response:
    if not svc.may_record(user):
        return error_page(request, status=403)
    return _new_order_page(request, session, user, {"person_id": person_id, "provider_id": provider_id})


@router.post("/eldercare/orders")
def create_order(request: Request, provider_id: str = Form("", max_length=12), person_id: str = Form("", max_length=12),
                 service_type: str = Form("", max_length=64), scheduled_at: str = Form("", max_length=40),
                 minutes: str = Form("", max_length=6), staff_id: str = Form("", max_length=12),
                 note: str = Form("", max_length=400), session: Session = Depends(get_session),
                 user: User = Depends(current_user)) -> Response:
    form = {"provider_id": provider_id, "person_id": person_id, "service_type": service_type,
            "scheduled_at": scheduled_at, "minutes": minutes, "staff_id": staff_id, "note": note}
    try:
        when = _time(scheduled_at, "scheduled_at")
        if when is None:
            raise ValidationError("请填写预约时间 (scheduled time is required)", field="scheduled_at")
        mins = _int(minutes, "服务时长", "minutes")
        assert mins is not None
        order = svc.create_order(session, actor=user, provider_id=_int(provider_id, "服务商", "provider_id") or 0,
                                 person_id=_int(person_id, "老人编号", "person_id") or 0, service_type=service_type,
                                 scheduled_at=when, minutes=mins,
                                 staff_id=_int(staff_id, "服务人员", "staff_id", required=False), note=note or None)
    except MinxinError as exc:
        session.rollback()
        if status_for(exc) == 403:
            return error_page(request, status=403, message=_msg(request, exc))
        return _new_order_page(request, session, user, form, error=_msg(request, exc), status_code=status_for(exc))
    session.commit()
    return RedirectResponse(f"/eldercare/orders/{order.id}", status_code=303)


def _order_page(request: Request, session: Session, user: User, order_id: int, *, error: str | None = None,
                status_code: int = 200) -> Response:
    order = svc.get_order_for(session, user, order_id)
    ctx = svc.order_context(session, order)
    provider = ctx.provider
    workers = svc.staff_of(session, provider) if provider else []
    return render(request, "eldercare/order.html", {
        "o": order, "provider": provider, "person": ctx.person, "staff": ctx.staff, "actors": ctx.actors,
        "workers": [w for w in workers if w.is_active], "error": error, "may_record": svc.may_record(user)},
        status_code=status_code)


@router.get("/eldercare/orders/{order_id}")
def order(request: Request, order_id: int, session: Session = Depends(get_session),
          user: User = Depends(current_user)) -> Response:
    try:
        return _order_page(request, session, user, order_id)
    except MinxinError as exc:
        return error_page(request, status=status_for(exc), message=_msg(request, exc))


def _order_post(request: Request, session: Session, user: User, order_id: int, action: Callable[[], Any]) -> Response:
    """Run one step of an order; a refused step shows the order again with the message, nothing stored."""
    try:
        action()
    except MinxinError as exc:
        session.rollback()
        if status_for(exc) in (403, 404):
            return error_page(request, status=status_for(exc), message=_msg(request, exc))
        return _order_page(request, session, user, order_id, error=_msg(request, exc), status_code=status_for(exc))
    session.commit()
    return RedirectResponse(f"/eldercare/orders/{order_id}", status_code=303)


@router.post("/eldercare/orders/{order_id}/start")
def start_order(request: Request, order_id: int, at: str = Form("", max_length=40),
                staff_id: str = Form("", max_length=12), session: Session = Depends(get_session),
                user: User = Depends(current_user)) -> Response:
    """开始服务."""
    return _order_post(request, session, user, order_id, lambda: svc.start_order(
        session, actor=user, order_id=order_id, at=_time(at, "at"),
        staff_id=_int(staff_id, "服务人员", "staff_id", required=False)))


@router.post("/eldercare/orders/{order_id}/finish")
def finish_order(request: Request, order_id: int, at: str = Form("", max_length=40),
                 note: str = Form("", max_length=400), session: Session = Depends(get_session),
                 user: User = Depends(current_user)) -> Response:
    """完成服务: refused when it would finish before it started."""
    return _order_post(request, session, user, order_id, lambda: svc.finish_order(
        session, actor=user, order_id=order_id, at=_time(at, "at"), note=note or None))


@router.post("/eldercare/orders/{order_id}/cancel")
def cancel_order(request: Request, order_id: int, reason: str = Form("", max_length=400),
                 session: Session = Depends(get_session), user: User = Depends(current_user)) -> Response:
    """取消: the value returns to the month's entitlement."""
    return _order_post(request, session, user, order_id, lambda: svc.cancel_order(
        session, actor=user, order_id=order_id, reason=reason))


# ---- settlements ------------------------------------------------------------------------------------

@router.get("/eldercare/settlements")
def settlements(request: Request, month: str = Query("", max_length=7), session: Session = Depends(get_session),
                user: User = Depends(current_user)) -> Response:
    try:
        period = _period(month)
        rows = svc.settlements(session, user=user, period=period)
    except MinxinError as exc:
        return error_page(request, status=status_for(exc), message=_msg(request, exc))
    cycles = list_cycles_for(session, user, program=svc.PROGRAM, period=str(period)).items \
        if may_read_cycles(user) else []
    names = region_names(session, {r.provider.county_code for r in rows})
    return render(request, "eldercare/settlements.html", {"rows": rows, "month": str(period), "names": names,
                                                          "cycles": cycles})
