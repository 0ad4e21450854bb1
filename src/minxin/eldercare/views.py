"""Elderly-care pages: the elderly list and person page, the live call console (呼叫中心), care calls
(主动关怀) and the call reports.

Routes stay thin: parse, call the service, commit once, render. The console's queue and call pane
are HTMX partials; the browser learns of new steps from the SSE feed (`/api/v1/calls/stream`) and
reloads the partials it shows. A refused action answers with the error fragment, nothing stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.auth.service import Perm, has_perm
from minxin.core.errors import MinxinError, ValidationError
from minxin.core.period import Period
from minxin.eldercare import calls as svc
from minxin.eldercare.domain import EldercarePerm
from minxin.eldercare.institutions import STATUS_NAMES as INSTITUTION_STATUS_NAMES
from minxin.eldercare.institutions import free_beds_public, occupancy
from minxin.eldercare.models import CALL_KINDS, DISPATCH_TARGETS, LIVING_ARRANGEMENTS, OUTCOMES
from minxin.eldercare.reports import calls_report
from minxin.eldercare.service import get_elderly_for, list_elderly
from minxin.infra.clock import CHINA_TZ, today
from minxin.registry.service import region_labels
from minxin.web.deps import current_user, get_session
from minxin.web.errors import error_page, status_for
from minxin.web.i18n import domain_message
from minxin.web.nav import NavItem
from minxin.web.templating import render, request_lang

router = APIRouter()
public_router = APIRouter()

NAV = [
    NavItem(label="nav.eldercare.elderly", path="/eldercare/elderly", perm=Perm.REGISTRY_READ),
    NavItem(label="nav.eldercare.console", path="/eldercare/console", perm=EldercarePerm.CALLS_HANDLE),
    NavItem(label="nav.eldercare.reports", path="/eldercare/reports", perm=EldercarePerm.CALLS_HANDLE),
    NavItem(label="nav.eldercare.institutions", path="/eldercare/institutions", perm=Perm.REGISTRY_READ),
]

_M: dict[str, tuple[str, str]] = {
    "nav.group.eldercare": ("养老服务", "Elderly care"),
    "nav.eldercare.elderly": ("老年人", "Elderly people"),
    "nav.eldercare.console": ("呼叫中心", "Call centre"),
    "nav.eldercare.reports": ("呼叫报表", "Call reports"),
    "eldercare.elderly.title": ("老年人", "Elderly people"),
    "eldercare.elderly.intro": ("户籍登记中截至 {day} 年满 60 周岁的居民；"
                                "居住状况、能力评估、紧急联系人和呼叫终端由养老服务导入维护。",
                                "Registered residents aged 60 or over on {day}; living arrangement, assessment, "
                                "contacts and call devices come from the elderly import."),
    "eldercare.living": ("居住状况", "Living arrangement"),
    "eldercare.living.any": ("全部", "Any"),
    "eldercare.q": ("姓名或身份证号", "Name or ID number"),
    "eldercare.col.name": ("姓名", "Name"),
    "eldercare.col.id": ("身份证号", "ID number"),
    "eldercare.col.age": ("年龄", "Age"),
    "eldercare.col.region": ("社区", "Community"),
    "eldercare.col.care_level": ("能力等级", "Care level"),
    "eldercare.col.conditions": ("慢性病", "Chronic conditions"),
    "eldercare.no_profile": ("未建档", "no record"),
    "eldercare.person.profile": ("养老档案", "Care record"),
    "eldercare.person.assessed": ("评估日期", "Assessed on"),
    "eldercare.person.phones": ("电话", "Phones"),
    "eldercare.person.address": ("住址", "Address"),
    "eldercare.person.contacts": ("紧急联系人", "Emergency contacts"),
    "eldercare.person.devices": ("呼叫终端", "Call devices"),
    "eldercare.person.calls": ("近期呼叫", "Recent calls"),
    "eldercare.person.orders": ("服务单", "Service orders"),
    "eldercare.none": ("无", "none"),
    "eldercare.console.title": ("呼叫中心", "Call centre"),
    "eldercare.console.intro": ("新的呼叫和每一步处理实时推送到本页，无需刷新。紧急呼叫超时未接将自动上报值班主任。",
                                "New calls and every step appear here live. Emergencies not taken in time "
                                "escalate to the supervisor automatically."),
    "eldercare.console.live": ("实时连接", "Live"),
    "eldercare.console.offline": ("连接中断，正在重连…", "Disconnected, reconnecting…"),
    "eldercare.console.queue": ("呼叫队列", "Queue"),
    "eldercare.console.open": ("待接听", "Waiting"),
    "eldercare.console.taken": ("处理中", "In progress"),
    "eldercare.console.escalated": ("已上报", "Escalated"),
    "eldercare.console.escalated_only": ("只看已上报", "Escalated only"),
    "eldercare.console.pick": ("在呼叫队列中选择一个呼叫。", "Pick a call in the queue."),
    "eldercare.console.empty": ("当前没有待处理的呼叫。", "No open calls."),
    "eldercare.col.time": ("时间", "Time"),
    "eldercare.col.caller": ("来电", "Caller"),
    "eldercare.col.kind": ("类型", "Kind"),
    "eldercare.col.status": ("状态", "Status"),
    "eldercare.col.actor": ("经办", "By"),
    "eldercare.col.what": ("内容", "What"),
    "eldercare.unknown_caller": ("来电人未识别", "Unknown caller"),
    "eldercare.kind.none": ("未分类", "Unclassified"),
    "eldercare.call.title": ("呼叫 {id}", "Call {id}"),
    "eldercare.call.who": ("来电人", "Caller"),
    "eldercare.call.where": ("位置", "Location"),
    "eldercare.call.timeline": ("处理过程", "Timeline"),
    "eldercare.call.take": ("接听", "Take"),
    "eldercare.call.classify": ("分类", "Classify"),
    "eldercare.call.close": ("结束呼叫", "Close"),
    "eldercare.call.outcome": ("处理结果", "Outcome"),
    "eldercare.call.note": ("备注", "Note"),
    "eldercare.call.order": ("派服务单", "Order a service"),
    "eldercare.call.provider": ("服务商", "Provider"),
    "eldercare.call.service_type": ("服务项目", "Service"),
    "eldercare.call.dispatch": ("派遣救援", "Dispatch rescue"),
    "eldercare.call.target": ("救援对象", "Send"),
    "eldercare.call.closed": ("已结束：{outcome}", "Closed: {outcome}"),
    "eldercare.care.title": ("主动关怀", "Care calls"),
    "eldercare.care.intro": ("独居老人定期回访；逾期未联系上的标为「漏访」。",
                             "People living alone are called regularly; overdue ones are flagged missed."),
    "eldercare.care.due": ("应访日期", "Due"),
    "eldercare.care.missed": ("漏访", "Missed"),
    "eldercare.care.reached": ("已联系", "Reached"),
    "eldercare.care.no_answer": ("未接通", "No answer"),
    "eldercare.care.schedule": ("将独居老人加入回访", "Schedule everyone living alone"),
    "eldercare.care.empty": ("今天没有到期的关怀回访。", "No care calls due today."),
    "eldercare.reports.title": ("呼叫报表", "Call reports"),
    "eldercare.reports.intro": ("按县区统计 {month} 的呼叫：类型、接听和派遣用时、"
                                "超时（接听 {answer} 秒、派遣 {dispatch} 秒）。",
                                "Calls of {month} per county: kinds, time to answer and to dispatch, SLA breaches "
                                "(answer {answer} s, dispatch {dispatch} s)."),
    "eldercare.reports.month": ("月份", "Month"),
    "eldercare.reports.county": ("县区", "County"),
    "eldercare.reports.calls": ("呼叫数", "Calls"),
    "eldercare.reports.answer_avg": ("平均接听（秒）", "Avg. answer (s)"),
    "eldercare.reports.answer_p90": ("接听 P90（秒）", "Answer p90 (s)"),
    "eldercare.reports.dispatched": ("派遣数", "Dispatched"),
    "eldercare.reports.dispatch_avg": ("平均派遣（秒）", "Avg. dispatch (s)"),
    "eldercare.reports.answer_breaches": ("接听超时", "Answer SLA breaches"),
    "eldercare.reports.dispatch_breaches": ("派遣超时", "Dispatch SLA breaches"),
    "eldercare.reports.escalated": ("上报", "Escalated"),
    "eldercare.reports.chart": ("各县区呼叫类型", "Calls by kind per county"),
    "nav.eldercare.institutions": ("养老机构", "Care institutions"),
    "eldercare.inst.title": ("养老机构与床位", "Care institutions and beds"),
    "eldercare.inst.intro": ("各县区投入使用机构的床位、入住和空床；在建机构按建设进度统计。",
                             "Beds, residents and free beds of the institutions in use per county; institutions "
                             "being built by construction stage."),
    "eldercare.inst.county": ("县区", "County"),
    "eldercare.inst.name": ("机构", "Institution"),
    "eldercare.inst.kind": ("类型", "Type"),
    "eldercare.inst.ownership": ("性质", "Ownership"),
    "eldercare.inst.status": ("建设状态", "Construction"),
    "eldercare.inst.beds": ("床位", "Beds"),
    "eldercare.inst.occupied": ("入住", "Occupied"),
    "eldercare.inst.free": ("空床", "Free"),
    "eldercare.inst.rate": ("入住率", "Occupancy"),
    "eldercare.inst.public_link": ("公开的空床位查询", "Public free-bed page"),
    "eldercare.free.title": ("养老机构空床位", "Care homes with free beds"),
    "eldercare.free.intro": ("以下投入使用的养老机构目前有空床位，可向所在县区民政局咨询入住。",
                             "These care institutions in use have free beds; ask the county civil-affairs bureau "
                             "about admission."),
    "eldercare.free.empty": ("目前没有空床位信息。", "No free beds at the moment."),
}
for _k, _v in svc.KIND_NAMES.items():
    _M[f"eldercare.kind.{_k}"] = (_v, {"consult": "Consult", "service": "Service", "emergency": "Emergency"}[_k])
for _k, _v in svc.STATUS_NAMES.items():
    _M[f"eldercare.status.{_k}"] = (_v, {"open": "Waiting", "taken": "In progress", "closed": "Closed"}[_k])
_OUTCOME_EN = {"answered": "Answered", "service_ordered": "Service ordered", "rescued": "Rescued",
               "family_notified": "Family notified", "false_alarm": "False alarm", "unreachable": "Unreachable"}
for _k, _v in svc.OUTCOME_NAMES.items():
    _M[f"eldercare.outcome.{_k}"] = (_v, _OUTCOME_EN[_k])
_TARGET_EN = {"ambulance_120": "120 ambulance", "community": "Community responder", "family": "Family"}
for _k, _v in svc.TARGET_NAMES.items():
    _M[f"eldercare.target.{_k}"] = (_v, _TARGET_EN[_k])
_ACTION_EN = {"received": "Received", "take": "Taken", "classify": "Classified", "close": "Closed",
              "service_order": "Service ordered", "dispatch": "Rescue dispatched", "escalate": "Escalated",
              "note": "Note"}
for _k, _v in svc.ACTION_NAMES.items():
    _M[f"eldercare.action.{_k}"] = (_v, _ACTION_EN[_k])
for _k, _en in zip(LIVING_ARRANGEMENTS, ("Alone", "Couple only", "With family"), strict=True):
    _M[f"eldercare.living.{_k}"] = (_k, _en)

for _k, _en in (("planned", "Planned"), ("building", "Being built"), ("structure_done", "Structure complete"),
                ("in_use", "In use")):
    _M[f"eldercare.inst.status.{_k}"] = (INSTITUTION_STATUS_NAMES[_k], _en)

MESSAGES = {"zh": {k: v[0] for k, v in _M.items()}, "en": {k: v[1] for k, v in _M.items()}}


def _fail(request: Request, exc: MinxinError) -> Response:
    return error_page(request, status=status_for(exc), message=domain_message(exc.message, lang=request_lang(request)))


# ---- elderly people -------------------------------------------------------------------------------

@router.get("/eldercare/elderly")
def elderly_list(request: Request, living: str = Query(""), q: str = Query("", max_length=40),
                 page: int = Query(1, ge=1, le=100_000), session: Session = Depends(get_session),
                 user: User = Depends(current_user)) -> Response:
    day = today()
    try:
        result = list_elderly(session, user=user, on=day, living=living or None, q=q, page=page)
    except MinxinError as exc:
        return _fail(request, exc)
    names = region_labels(session, {p.region_code for p, _ in result.items if p.region_code})
    return render(request, "eldercare/elderly.html", {"result": result, "names": names, "living": living, "q": q,
                                                      "day": day, "livings": LIVING_ARRANGEMENTS})


@router.get("/eldercare/elderly/{elderly_id}")
def elderly_page(request: Request, elderly_id: int, session: Session = Depends(get_session),
                 user: User = Depends(current_user)) -> Response:
    """An elderly person's care record (the id is the registry person's)."""
    elderly = get_elderly_for(session, user, elderly_id)
    calls = svc.recent_calls_of(session, user=user, person_id=elderly.person.id)
    orders = svc.orders_of(session, person_id=elderly.person.id)
    region = region_labels(session, {elderly.person.region_code or ""})
    from minxin.eldercare.homecare import service as homecare

    standing = None
    if has_perm(user, EldercarePerm.HOMECARE_READ):  # 政府购买服务: eligibility, this month's entitlement
        standing = homecare.entitlement_of(session, elderly.person, period=Period.of(today()))
    return render(request, "eldercare/person.html", {"e": elderly, "calls": calls, "orders": orders,
                                                     "region": region.get(elderly.person.region_code or "", ""),
                                                     "hc": standing, "may_order": homecare.may_record(user)})


# ---- the console ------------------------------------------------------------------------------------

def _queue_context(session: Session, user: User, escalated: bool) -> dict[str, Any]:
    queue = svc.call_queue(session, user=user, escalated_only=escalated, page_size=100)
    return {"queue": queue, "names": svc.names_of(session, {c.person_id for c in queue.items if c.person_id}),
            "counts": svc.open_counts(session, user=user), "escalated": escalated}


@router.get("/eldercare/console")
def console(request: Request, escalated: bool = Query(False), session: Session = Depends(get_session),
            user: User = Depends(current_user)) -> Response:
    svc.require_agent(user)
    care = svc.care_calls_due(session, user=user, page_size=50)
    return render(request, "eldercare/console.html", {
        **_queue_context(session, user, escalated), "after": svc.latest_event_id(session), "care": care})


@router.get("/eldercare/console/queue")
def console_queue(request: Request, escalated: bool = Query(False), session: Session = Depends(get_session),
                  user: User = Depends(current_user)) -> Response:
    return render(request, "eldercare/_queue.html", _queue_context(session, user, escalated))


def _call_pane(request: Request, session: Session, user: User, call_id: int) -> Response:
    ctx = svc.call_context(session, user=user, call_id=call_id)
    return render(request, "eldercare/_call.html", {
        "c": ctx, "kinds": CALL_KINDS, "outcomes": OUTCOMES, "targets": DISPATCH_TARGETS,
        "providers": svc.list_providers(session, user=user)})


@router.get("/eldercare/console/calls/{call_id}")
def console_call(request: Request, call_id: int, session: Session = Depends(get_session),
                 user: User = Depends(current_user)) -> Response:
    svc.require_agent(user)
    return _call_pane(request, session, user, call_id)


def _scheduled(value: str) -> datetime | None:
    text = value.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError("预约时间格式不正确 (bad scheduled time)", field="scheduled_at") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA_TZ)


@router.post("/eldercare/console/calls/{call_id}/{action}")
def console_action(request: Request, call_id: int, action: str, kind: str = Form(""), outcome: str = Form(""),
                   note: str = Form("", max_length=400), provider_id: int = Form(0), service_type: str = Form(""),
                   scheduled_at: str = Form(""), target: str = Form(""), contact_id: int = Form(0),
                   session: Session = Depends(get_session), user: User = Depends(current_user)) -> Response:
    """One agent action on a call; answers with the refreshed call pane."""
    try:
        if action == "take":
            svc.take_call(session, actor=user, call_id=call_id)
        elif action == "classify":
            svc.classify_call(session, actor=user, call_id=call_id, kind=kind)
        elif action == "close":
            svc.close_call(session, actor=user, call_id=call_id, outcome=outcome, note=note)
        elif action == "order":
            svc.order_service(session, actor=user, call_id=call_id, provider_id=provider_id,
                              service_type=service_type, scheduled_at=_scheduled(scheduled_at), note=note)
        elif action == "dispatch":
            svc.dispatch_rescue(session, actor=user, call_id=call_id, target=target, contact_id=contact_id or None,
                                note=note)
        else:
            return error_page(request, status=404)
    except MinxinError as exc:
        session.rollback()
        return _fail(request, exc)
    session.commit()
    return _call_pane(request, session, user, call_id)


@router.post("/eldercare/care-calls/{schedule_id}")
def care_call(request: Request, schedule_id: int, reached: str = Form(""), note: str = Form("", max_length=400),
              session: Session = Depends(get_session), user: User = Depends(current_user)) -> Response:
    try:
        svc.record_care_call(session, actor=user, schedule_id=schedule_id, reached=reached == "1", note=note)
    except MinxinError as exc:
        session.rollback()
        return _fail(request, exc)
    session.commit()
    return render(request, "eldercare/_care.html", {"care": svc.care_calls_due(session, user=user, page_size=50)})


@router.post("/eldercare/care-calls")
def care_schedule(request: Request, session: Session = Depends(get_session),
                  user: User = Depends(current_user)) -> Response:
    try:
        svc.schedule_care_calls(session, actor=user)
    except MinxinError as exc:
        session.rollback()
        return _fail(request, exc)
    session.commit()
    return render(request, "eldercare/_care.html", {"care": svc.care_calls_due(session, user=user, page_size=50)})


# ---- reports ----------------------------------------------------------------------------------------

@router.get("/eldercare/reports")
def reports(request: Request, month: str = Query("", max_length=20), session: Session = Depends(get_session),
            user: User = Depends(current_user)) -> Response:
    svc.require_agent(user)
    try:
        period = Period.parse(month) if month.strip() else Period.of(today())
    except MinxinError as exc:
        return _fail(request, exc)
    data = calls_report(session, user=user, period=period)
    lang = request_lang(request)
    from minxin.web.i18n import gettext

    chart = {"names": [c["county"] for c in data["counties"]],
             "series": [{"name": gettext(f"eldercare.kind.{k}" if k != "unknown" else "eldercare.kind.none", lang=lang),
                         "data": [c["by_kind"][k] for c in data["counties"]]}
                        for k in (*CALL_KINDS, "unknown")]}
    return render(request, "eldercare/reports.html", {"data": data, "month": str(period), "chart": chart})


# ---- institutions ------------------------------------------------------------------------------------

@router.get("/eldercare/institutions")
def institutions(request: Request, session: Session = Depends(get_session),
                 user: User = Depends(current_user)) -> Response:
    return render(request, "eldercare/institutions.html", {"data": occupancy(session, user=user)})


@public_router.get("/institutions/free-beds")
def free_beds(request: Request, session: Session = Depends(get_session)) -> Response:
    """Public: institutions in use with free beds (names and counts, no personal data)."""
    return render(request, "eldercare/free_beds.html", {"rows": free_beds_public(session)})
