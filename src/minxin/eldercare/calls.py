"""The home-call and emergency-rescue centre (呼叫救援中心, plan P19).

A call is stored (committed) before it is answered: `prepare_call` checks it and identifies the
caller by one indexed look-up; `write_calls` writes it with its first timeline step and audit entry,
and the API answers after the commit (through the intake's group commit, `minxin.eldercare.intake`,
which writes the calls that arrive together in one transaction). The same `event_id` twice is one
call, also when both arrive at the same moment: the stored event_ids are read under the audit chain
lock, which every intake holds to commit, and the UNIQUE key backs that up.

Every later step — take, classify, answer, order a service, dispatch a rescue, escalate — is a
named action that appends a `call_events` row and an audit entry in the same transaction. Consoles
follow `call_events` by increasing id, so any worker process can feed any console.

An emergency (or a call of unknown kind) gets a deadline `escalate_at` in the database; if no agent
takes it by then, `escalate_due` (run by the server's background task and by cron through
`minxin eldercare escalate`) flags it for the supervisor. The sweep claims rows with one
UPDATE … WHERE escalated_at IS NULL, so with several processes each call escalates exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Select, Table, bindparam, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session, make_transient_to_detached

from minxin.auth import audit
from minxin.auth.models import User
from minxin.auth.service import ROLE_NAMES, Perm, display_names, has_perm, require
from minxin.core.divisions import covers, scope_prefix
from minxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from minxin.eldercare.domain import EldercarePerm
from minxin.eldercare.models import (
    CALL_KINDS,
    DISPATCH_TARGETS,
    OUTCOMES,
    Call,
    CallDevice,
    CallEvent,
    CareCallLog,
    CareCallSchedule,
    ElderlyProfile,
    EmergencyContact,
    ServiceOrder,
    ServiceProvider,
)
from minxin.eldercare.policy import CallPolicy, call_policy
from minxin.eldercare.rules import normalize_device_id, normalize_phone_number
from minxin.eldercare.service import AnySelect, Elderly, elderly_of
from minxin.infra.clock import CHINA_TZ, today
from minxin.infra.db import utcnow
from minxin.infra.settings import get_settings
from minxin.kit.paging import Page, paginate
from minxin.registry.models import Person, Region

KIND_NAMES = {"consult": "咨询", "service": "服务", "emergency": "紧急"}
STATUS_NAMES = {"open": "待接听", "taken": "处理中", "closed": "已结束"}
OUTCOME_NAMES = {"answered": "已解答", "service_ordered": "已派服务", "rescued": "已救援",
                 "family_notified": "已通知家属", "false_alarm": "误呼", "unreachable": "无法联系"}
TARGET_NAMES = {"ambulance_120": "120 急救", "community": "社区救援员", "family": "家属"}
ACTION_NAMES = {"received": "来电", "take": "接听", "classify": "分类", "close": "结束", "service_order": "派服务单",
                "dispatch": "派遣救援", "escalate": "超时上报", "note": "备注"}

MAX_DB_ID = 2**31 - 1
# A call time from the phone system may be a little ahead of ours (clock skew), never far.
MAX_FUTURE = timedelta(minutes=5)


# ---- access --------------------------------------------------------------------------------------

def _city_wide(user: User) -> bool:
    return covers(user.scope_code, get_settings().city_code)


def can_see_call(user: User, call: Call) -> bool:
    """A call of an identified person is in the scope of their community; an unknown caller's call is
    seen by city-wide users only (the call centre)."""
    if call.region_code is None:
        return _city_wide(user)
    return covers(user.scope_code, call.region_code)


S = TypeVar("S", bound=AnySelect)


def scoped_calls(stmt: S, user: User) -> S:
    """The one place call lists are narrowed to the user's region."""
    prefix = scope_prefix(user.scope_code)
    in_scope: ColumnElement[bool] = Call.region_code.like(prefix + "%")
    if _city_wide(user):
        in_scope = or_(in_scope, Call.region_code.is_(None))
    return stmt.where(in_scope)


def require_agent(user: User) -> None:
    """Raise Forbidden unless the user may handle calls (呼叫坐席 or 市民政局)."""
    if not has_perm(user, EldercarePerm.CALLS_HANDLE):
        role = ROLE_NAMES.get(user.role, user.role)
        raise Forbidden(f"当前角色（{role}）不能处理呼叫，只有呼叫坐席可以 (not permitted: calls:handle)")


def get_call_for(session: Session, user: User, call_id: int, *, for_update: bool = False) -> Call:
    """The one way to read a call: missing and out-of-scope look alike (NotFound)."""
    if not (has_perm(user, EldercarePerm.CALLS_HANDLE) or has_perm(user, EldercarePerm.CALLS_INTAKE)):
        require_agent(user)
    call = None
    if 0 < call_id <= MAX_DB_ID:
        stmt = select(Call).where(Call.id == call_id)
        if for_update:
            stmt = stmt.with_for_update()
        call = session.execute(stmt).scalar_one_or_none()
    if call is None or not can_see_call(user, call):
        raise NotFound(f"呼叫不存在或不在您的辖区内：{call_id} (no such call in your scope)")
    return call


# ---- intake ----------------------------------------------------------------------------------------

def _identify_stmt(device: bool, phone: bool) -> Select[Any]:
    parts = []
    if device:
        parts.append(select(CallDevice.person_id.label("pid"), literal(0).label("pri"))
                     .where(CallDevice.terminal_id == bindparam("device")))
    if phone:
        parts.append(select(ElderlyProfile.person_id.label("pid"), literal(1).label("pri"))
                     .where(ElderlyProfile.phone == bindparam("phone")))
        parts.append(select(ElderlyProfile.person_id.label("pid"), literal(2).label("pri"))
                     .where(ElderlyProfile.home_phone == bindparam("phone")))
    union = parts[0].union_all(*parts[1:]).subquery() if len(parts) > 1 else parts[0].subquery()
    return (select(union.c.pid, Person.region_code).join(Person, Person.id == union.c.pid)
            .order_by(union.c.pri, union.c.pid).limit(1))


# Built once (with bound parameters): every call runs one of them, and building a statement costs
# more than running it.
_IDENTIFY = {(d, p): _identify_stmt(d, p) for d in (True, False) for p in (True, False) if d or p}


def identify_caller(session: Session, caller: str) -> tuple[int | None, str | None]:
    """(person id, community) of the caller: a device id or a normalised phone number, one indexed query.

    A terminal id wins over a phone number; a number shared by several people (a home phone of a
    couple) names the one registered first.
    """
    device = normalize_device_id(caller)
    phone = normalize_phone_number(caller)
    if device is None and phone is None:
        return None, None
    params = {"device": device} if phone is None else {"phone": phone} if device is None else \
        {"device": device, "phone": phone}
    row = session.execute(_IDENTIFY[device is not None, phone is not None], params).first()
    return (int(row[0]), row[1]) if row else (None, None)


def _clean_text(value: str | None, *, label: str, field: str, max_len: int) -> str | None:
    text = " ".join((value or "").split())
    if len(text) > max_len:
        raise ValidationError(f"{label}过长，最多 {max_len} 字 ({field} too long)", field=field)
    return text or None


def _check_kind(kind: str | None) -> str | None:
    if kind is None or kind == "":
        return None
    if kind not in CALL_KINDS:
        raise ValidationError(f"呼叫类型应为 {'、'.join(CALL_KINDS)} 之一 (bad kind)", field="kind")
    return kind


def escalation_deadline(received: datetime, kind: str | None, policy: CallPolicy) -> datetime | None:
    """When an unacknowledged call escalates: emergencies and calls of unknown kind only."""
    if kind == "emergency":
        return received + timedelta(seconds=policy.emergency_ack_seconds)
    if kind is None:
        return received + timedelta(seconds=policy.unclassified_ack_seconds)
    return None


def call_by_event(session: Session, event_id: str) -> Call | None:
    return session.execute(select(Call).where(Call.event_id == event_id)).scalar_one_or_none()


_CALLS = cast(Table, Call.__table__)
_EVENTS = cast(Table, CallEvent.__table__)
_INSERT_CALLS = insert(_CALLS).returning(_CALLS.c.id, sort_by_parameter_order=True)
_INSERT_STEP = insert(_EVENTS).returning(_EVENTS.c.id)
_RECEIVED_COLUMNS = (_CALLS.c.id, _CALLS.c.person_id, _CALLS.c.status, _CALLS.c.kind, _CALLS.c.received_at,
                     _CALLS.c.event_id)


@dataclass(frozen=True)
class PreparedCall:
    """An incoming call checked and identified (reads only), ready to be written (`write_calls`)."""

    values: dict[str, Any]  # the calls row
    what: str  # the first timeline step
    audit_detail: dict[str, Any]
    actor: str


@dataclass(frozen=True)
class Received:
    """What the phone system is answered: the call as stored, and whether this request stored it."""

    id: int
    person_id: int | None
    status: str
    kind: str | None
    received_at: datetime
    created: bool


def prepare_call(session: Session, *, actor: User, caller: str, kind: str | None = None,
                 at: datetime | None = None, location: str | None = None, event_id: str | None = None,
                 now: datetime | None = None) -> PreparedCall:
    """Check an incoming call and identify the caller (one indexed query); nothing is written yet.
    An unknown caller is still a call (person_id None), never an error."""
    require(actor, EldercarePerm.CALLS_INTAKE)
    raw_caller = " ".join((caller or "").split())
    if not raw_caller:
        raise ValidationError("来电号码或终端号不能为空 (caller is required)", field="caller")
    if len(raw_caller) > 40:
        raise ValidationError("来电号码或终端号过长，最多 40 字符 (caller too long)", field="caller")
    clean_kind = _check_kind(kind)
    now = now or utcnow()
    if at is None:
        received = now
    else:
        received = at if at.tzinfo else at.replace(tzinfo=CHINA_TZ)
        if received > now + MAX_FUTURE:
            raise ValidationError("来电时间晚于当前时间 (call time in the future)", field="at")
    clean_location = _clean_text(location, label="位置", field="location", max_len=200)
    clean_event = _clean_text(event_id, label="事件编号", field="event_id", max_len=64)
    person_id, region = identify_caller(session, raw_caller)
    values: dict[str, Any] = {
        "event_id": clean_event, "caller": raw_caller, "person_id": person_id, "region_code": region,
        "kind": clean_kind, "status": "open", "location": clean_location, "received_at": received,
        "created_at": now, "escalate_at": escalation_deadline(received, clean_kind, call_policy())}
    who = "来电人未识别" if person_id is None else "已识别来电人"
    what = (f"来电 {raw_caller}（{who}）" + (f"，类型：{KIND_NAMES[clean_kind]}" if clean_kind else "")
            + (f"，位置：{clean_location}" if clean_location else ""))
    detail = {"caller": raw_caller, "kind": clean_kind, "event_id": clean_event, "person_id": person_id}
    return PreparedCall(values=values, what=what, audit_detail=detail, actor=actor.username)


def write_calls(session: Session, calls: Sequence[PreparedCall]) -> list[Received]:
    """Store prepared calls in the session's write transaction, each with its first timeline step and
    its audit entry; one Received per call, in order. The caller commits.

    Everything happens under the audit chain lock, taken first (on SQLite the write transaction's
    own lock): the calls already stored with these event_ids are read under it, so a repeated
    event_id, also one sent twice at the same moment, finds the first call (within this group too)
    and is answered with its id. The new calls, their steps and their audit entries are inserted in
    one multi-row statement each: the call centre's group commit (`minxin.eldercare.intake`) writes
    the calls that arrived together in one transaction."""
    audit.lock_chain(session)
    event_ids = {c.values["event_id"] for c in calls if c.values["event_id"] is not None}
    # event_id -> the call a repeat is answered with: stored before, or the first of this group.
    known: dict[str, Received] = {}
    if event_ids:
        for row in session.execute(select(*_RECEIVED_COLUMNS).where(_CALLS.c.event_id.in_(event_ids))):
            known[row.event_id] = Received(id=row.id, person_id=row.person_id, status=row.status, kind=row.kind,
                                           received_at=row.received_at, created=False)
    new: list[int] = []  # positions of the calls to insert
    firsts: set[str] = set()
    for n, c in enumerate(calls):
        event = c.values["event_id"]
        if event is None or (event not in known and event not in firsts):
            new.append(n)
            if event is not None:
                firsts.add(event)
    fresh: dict[int, Received] = {}  # position -> the call it stored
    if new:
        new_ids = session.execute(_INSERT_CALLS, [calls[n].values for n in new]).scalars().all()
        for n, call_id in zip(new, new_ids, strict=True):
            v = calls[n].values
            fresh[n] = Received(id=int(call_id), person_id=v["person_id"], status="open", kind=v["kind"],
                                received_at=v["received_at"], created=True)
            if v["event_id"] is not None:
                known[v["event_id"]] = replace(fresh[n], created=False)
        at = utcnow()
        session.execute(insert(_EVENTS), [{"call_id": fresh[n].id, "at": at, "actor": calls[n].actor,
                                           "action": "received", "what": calls[n].what} for n in new])
        by_actor: dict[str, list[int]] = {}
        for n in new:
            by_actor.setdefault(calls[n].actor, []).append(n)
        for actor, positions in by_actor.items():
            audit.record_many(session, actor=actor, entries=[
                audit.Entry("call.receive", "call", fresh[n].id, calls[n].values["region_code"],
                            calls[n].audit_detail)
                for n in positions])
    return [fresh[n] if n in fresh else known[c.values["event_id"]] for n, c in enumerate(calls)]


def receive_call(session: Session, *, actor: User, caller: str, kind: str | None = None,
                 at: datetime | None = None, location: str | None = None, event_id: str | None = None,
                 now: datetime | None = None) -> tuple[Call, bool]:
    """Store an incoming call in the session's transaction; returns (call, created). A repeated
    event_id gives the first call back. `prepare_call` then `write_calls`; the caller commits.
    (The API's intake goes through the group commit instead, `minxin.eldercare.intake`.)"""
    prepared = prepare_call(session, actor=actor, caller=caller, kind=kind, at=at, location=location,
                            event_id=event_id, now=now)
    received = write_calls(session, [prepared])[0]
    if not received.created:
        return session.get_one(Call, received.id), False
    # The row as written, without reading it back; attributes not listed would load on first use.
    call = Call(id=received.id, taken_at=None, taken_by=None, dispatched_at=None, closed_at=None, outcome=None,
                escalated_at=None, **prepared.values)
    make_transient_to_detached(call)
    session.add(call)
    return call, True


def _append_step(session: Session, call_id: int, actor: str, action: str, what: str, *,
                 at: datetime | None = None) -> int:
    """Insert one timeline step; its id is taken under the audit chain lock, held to commit, so on
    PostgreSQL step ids become visible in increasing order and a console reading by id skips none."""
    audit.lock_chain(session)
    return int(session.execute(_INSERT_STEP, {"call_id": call_id, "at": at or utcnow(), "actor": actor,
                                              "action": action, "what": what}).scalar_one())


def _step(session: Session, call: Call, actor: str, action: str, what: str, *, at: datetime | None = None) -> None:
    session.flush()  # the call's own changes first (its row lock is held already)
    _append_step(session, call.id, actor, action, what, at=at)


def _audit(session: Session, actor: User, call: Call, action: str, **detail: Any) -> None:
    audit.record(session, actor=actor.username, action=f"call.{action}", entity="call", entity_id=call.id,
                 region_code=call.region_code, detail=detail)


# ---- agent actions ---------------------------------------------------------------------------------

def _handling(session: Session, actor: User, call_id: int) -> Call:
    """An agent's write: permission, scope, row lock, and the call not yet closed."""
    require_agent(actor)
    call = get_call_for(session, actor, call_id, for_update=True)
    if call.status == "closed":
        raise Conflict(f"呼叫 {call.id} 已结束，不能再处理 (call is closed)")
    return call


def _taken(session: Session, actor: User, call_id: int) -> Call:
    call = _handling(session, actor, call_id)
    if call.status == "open":
        raise Conflict(f"请先接听呼叫 {call.id} (take the call first)")
    return call


def take_call(session: Session, *, actor: User, call_id: int) -> Call:
    """接听: the agent acknowledges the call; stops its escalation. Two agents cannot both take it."""
    call = _handling(session, actor, call_id)
    if call.status != "open":
        raise Conflict(f"呼叫 {call.id} 已由 {call.taken_by} 接听 (already taken)")
    now = utcnow()
    call.status, call.taken_at, call.taken_by = "taken", now, actor.username
    _step(session, call, actor.username, "take", f"{actor.display_name} 接听", at=now)
    _audit(session, actor, call, "take")
    return call


def classify_call(session: Session, *, actor: User, call_id: int, kind: str) -> Call:
    """分类: consult, service or emergency."""
    call = _taken(session, actor, call_id)
    clean = _check_kind(kind)
    if clean is None:
        raise ValidationError("请选择呼叫类型 (kind is required)", field="kind")
    before = call.kind
    call.kind = clean
    _step(session, call, actor.username, "classify", f"分类为「{KIND_NAMES[clean]}」")
    _audit(session, actor, call, "classify", before=before, kind=clean)
    return call


def close_call(session: Session, *, actor: User, call_id: int, outcome: str, note: str | None = None) -> Call:
    """结束: a call is closed only with an outcome."""
    call = _taken(session, actor, call_id)
    if outcome not in OUTCOMES:
        raise ValidationError(f"请选择处理结果：{'、'.join(OUTCOME_NAMES.values())} (outcome is required)",
                              field="outcome")
    clean_note = _clean_text(note, label="备注", field="note", max_len=200)
    now = utcnow()
    call.status, call.outcome, call.closed_at = "closed", outcome, now
    _step(session, call, actor.username, "close",
          f"结束：{OUTCOME_NAMES[outcome]}" + (f"（{clean_note}）" if clean_note else ""), at=now)
    _audit(session, actor, call, "close", outcome=outcome, note=clean_note)
    return call


def order_service(session: Session, *, actor: User, call_id: int, provider_id: int, service_type: str,
                  scheduled_at: datetime | None = None, note: str | None = None) -> ServiceOrder:
    """派服务单: order a home-care service from a provider for the identified caller."""
    call = _taken(session, actor, call_id)
    if call.person_id is None:
        raise Conflict("来电人未识别，不能派服务单 (unknown caller: no service order)")
    provider = session.get(ServiceProvider, provider_id) if 0 < provider_id <= MAX_DB_ID else None
    if provider is None or not provider.is_active:
        raise NotFound(f"服务商不存在或已停用：{provider_id} (no such provider)", field="provider_id")
    kind = _clean_text(service_type, label="服务项目", field="service_type", max_len=32)
    if kind is None:
        raise ValidationError("请填写服务项目（如 助餐、助洁、助医） (service type is required)", field="service_type")
    order = ServiceOrder(person_id=call.person_id, provider_id=provider.id, call_id=call.id, service_type=kind,
                         status="ordered", scheduled_at=scheduled_at,
                         note=_clean_text(note, label="备注", field="note", max_len=200), created_by=actor.username)
    session.add(order)
    session.flush()
    _step(session, call, actor.username, "service_order", f"向「{provider.name}」派服务单 {order.id}：{kind}")
    _audit(session, actor, call, "service_order", order_id=order.id, provider_id=provider.id, service_type=kind)
    return order


def dispatch_rescue(session: Session, *, actor: User, call_id: int, target: str, contact_id: int | None = None,
                    note: str | None = None) -> Call:
    """派遣救援: 120 ambulance, the community responder, or a family member (an emergency contact)."""
    call = _taken(session, actor, call_id)
    if target not in DISPATCH_TARGETS:
        raise ValidationError(f"救援对象应为 {'、'.join(TARGET_NAMES.values())} 之一 (bad target)", field="target")
    clean_note = _clean_text(note, label="备注", field="note", max_len=200)
    what = f"派遣{TARGET_NAMES[target]}"
    if target == "family":
        if call.person_id is None:
            raise Conflict("来电人未识别，没有登记的家属 (unknown caller: no family on record)")
        stmt = select(EmergencyContact).where(EmergencyContact.person_id == call.person_id)
        if contact_id is not None:
            stmt = stmt.where(EmergencyContact.id == contact_id)
        contact = session.execute(stmt.order_by(EmergencyContact.priority, EmergencyContact.id).limit(1)).scalar()
        if contact is None:
            raise NotFound("没有此紧急联系人 (no such emergency contact)", field="contact_id")
        what += f"：{contact.name}（{contact.relation}）{contact.phone}"
    if clean_note:
        what += f"；{clean_note}"
    now = utcnow()
    if call.dispatched_at is None:
        call.dispatched_at = now
    if call.kind is None:
        call.kind = "emergency"
    _step(session, call, actor.username, "dispatch", what, at=now)
    _audit(session, actor, call, "dispatch", target=target, contact_id=contact_id, note=clean_note)
    return call


# ---- escalation ------------------------------------------------------------------------------------

def escalate_due(session: Session, *, now: datetime | None = None, actor: str = "system") -> list[int]:
    """超时上报: flag every open call past its deadline for the supervisor, each exactly once.

    1. One UPDATE claims the due rows (escalated_at still NULL, status still open) and returns their
       ids; a concurrent sweep in another process waits on the row locks (PostgreSQL) or the write
       lock (SQLite) and then finds them claimed.
    2. Each claimed call gets its timeline step and audit entry in the same transaction.
    """
    now = now or utcnow()
    claimed = list(session.execute(
        update(Call).where(Call.escalate_at <= now, Call.escalated_at.is_(None), Call.status == "open")
        .values(escalated_at=now).returning(Call.id, Call.region_code, Call.received_at)
        .execution_options(synchronize_session=False)
    ).all())
    for call_id, region, received in sorted(claimed):
        waited = int((now - received).total_seconds())
        _append_step(session, call_id, actor, "escalate", f"{waited} 秒无人接听，已上报值班主任", at=now)
        audit.record(session, actor=actor, action="call.escalate", entity="call", entity_id=call_id,
                     region_code=region, detail={"waited_seconds": waited})
    session.flush()
    return [c[0] for c in sorted(claimed)]


# ---- reading -----------------------------------------------------------------------------------------

def timeline(session: Session, call: Call) -> list[CallEvent]:
    return list(session.execute(select(CallEvent).where(CallEvent.call_id == call.id)
                                .order_by(CallEvent.id)).scalars())


def call_queue(session: Session, *, user: User, escalated_only: bool = False, page: int = 1,
               page_size: int = 50) -> Page[Any]:
    """The open and taken calls in scope: escalated first, then emergencies, then oldest first."""
    require_agent(user)
    stmt = scoped_calls(select(Call).where(Call.status != "closed"), user)
    if escalated_only:
        stmt = stmt.where(Call.escalated_at.is_not(None))
    stmt = stmt.order_by(Call.escalated_at.is_(None), (Call.kind == "emergency").is_not(True),
                         Call.status != "open", Call.received_at, Call.id)
    return paginate(session, stmt, page=page, page_size=page_size)


def names_of(session: Session, person_ids: set[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    rows = session.execute(select(Person.id, Person.name).where(Person.id.in_(person_ids))).all()
    return {int(pid): str(name) for pid, name in rows}


def latest_event_id(session: Session) -> int:
    return int(session.execute(select(func.coalesce(func.max(CallEvent.id), 0))).scalar_one())


def events_after(session: Session, *, user: User, after_id: int, limit: int = 500) -> list[tuple[CallEvent, Call]]:
    """Timeline steps with an id above `after_id` of calls in the user's scope, in id order (the feed)."""
    require_agent(user)
    stmt: AnySelect = select(CallEvent, Call).join(Call, Call.id == CallEvent.call_id)
    stmt = stmt.where(CallEvent.id > after_id)
    stmt = scoped_calls(stmt, user).order_by(CallEvent.id).limit(limit)
    return [(row[0], row[1]) for row in session.execute(stmt).all()]


def recent_calls_of(session: Session, *, user: User, person_id: int, limit: int = 10) -> list[Call]:
    """A person's latest calls, as far as the user's scope shows them."""
    require(user, Perm.REGISTRY_READ)
    stmt = scoped_calls(select(Call).where(Call.person_id == person_id), user)
    return list(session.execute(stmt.order_by(Call.received_at.desc(), Call.id.desc()).limit(limit)).scalars())


def orders_of(session: Session, *, person_id: int, limit: int = 10) -> list[tuple[ServiceOrder, str]]:
    """A person's latest service orders with the provider's name (the person already read in scope)."""
    rows = session.execute(select(ServiceOrder, ServiceProvider.name).join(ServiceProvider)
                           .where(ServiceOrder.person_id == person_id)
                           .order_by(ServiceOrder.id.desc()).limit(limit)).all()
    return [(o, name) for o, name in rows]


@dataclass
class CallContext:
    """What the agent sees at once: who, where, conditions, contacts, recent calls and services."""

    call: Call
    elderly: Elderly | None
    region_name: str | None
    recent_calls: list[Call]
    orders: list[tuple[ServiceOrder, str]]
    timeline: list[CallEvent]
    actor_names: dict[str, str]  # the timeline's actors (usernames) → the names people are shown by


def call_context(session: Session, *, user: User, call_id: int) -> CallContext:
    call = get_call_for(session, user, call_id)
    elderly = recent = None
    orders: list[tuple[ServiceOrder, str]] = []
    if call.person_id is not None:
        person = session.get(Person, call.person_id)
        assert person is not None
        elderly = elderly_of(session, person)
        recent = [c for c in recent_calls_of(session, user=user, person_id=call.person_id, limit=11)
                  if c.id != call.id][:10]
        orders = orders_of(session, person_id=call.person_id)
    region_name = None
    if call.region_code:
        from minxin.registry.service import region_path

        region_name = region_path(session, call.region_code)
    steps = timeline(session, call)
    return CallContext(call, elderly, region_name, recent or [], orders, steps,
                       display_names(session, {e.actor for e in steps}))


def list_providers(session: Session, *, user: User) -> list[ServiceProvider]:
    """Active providers in the user's scope (the call centre sees the whole city's)."""
    stmt = select(ServiceProvider).where(ServiceProvider.is_active.is_(True))
    stmt = stmt.where(ServiceProvider.county_code.like(scope_prefix(user.scope_code) + "%"))
    return list(session.execute(stmt.order_by(ServiceProvider.county_code, ServiceProvider.name)).scalars())


def add_provider(session: Session, *, actor: User, name: str, county_code: str, phone: str | None = None,
                 services: str | None = None) -> ServiceProvider:
    """Register a home-care service provider of a county (county officer or city admin)."""
    require(actor, Perm.STANDARDS_SET)
    clean = _clean_text(name, label="服务商名称", field="name", max_len=100)
    if clean is None:
        raise ValidationError("请填写服务商名称 (name is required)", field="name")
    region = session.get(Region, county_code.strip())
    if region is None or region.level != "county" or not covers(actor.scope_code, region.code):
        raise ValidationError(f"未知县区代码：{county_code} (unknown county code)", field="county")
    if session.execute(select(ServiceProvider.id).where(ServiceProvider.name == clean)).first():
        raise Conflict(f"服务商名称已存在：{clean} (name taken)", field="name")
    provider = ServiceProvider(name=clean, county_code=region.code, is_active=True,
                               phone=_clean_text(phone, label="电话", field="phone", max_len=20),
                               services=_clean_text(services, label="服务项目", field="services", max_len=200))
    session.add(provider)
    session.flush()
    audit.record(session, actor=actor.username, action="provider.add", entity="service_provider",
                 entity_id=provider.id, region_code=region.code, detail={"name": clean})
    return provider


# ---- scheduled care calls (主动关怀) ----------------------------------------------------------------------

def schedule_care_calls(session: Session, *, actor: User, start: date | None = None) -> int:
    """Put every person living alone (独居) in scope without a schedule on the care-call list."""
    require_agent(actor)
    policy = call_policy()
    day = start or today()
    existing = select(CareCallSchedule.person_id)
    stmt = select(ElderlyProfile.person_id, ElderlyProfile.region_code).where(
        ElderlyProfile.living_arrangement == "独居", ElderlyProfile.person_id.not_in(existing),
        ElderlyProfile.region_code.like(scope_prefix(actor.scope_code) + "%"))
    now = utcnow()
    rows = [{"person_id": pid, "region_code": region, "interval_days": policy.care_call_interval_days,
             "next_due_on": day, "is_active": True, "created_at": now} for pid, region in session.execute(stmt).all()]
    for k in range(0, len(rows), 5000):
        session.execute(insert(CareCallSchedule), rows[k:k + 5000])
    if rows:
        audit.record(session, actor=actor.username, action="care_call.schedule", entity="care_call_schedule",
                     region_code=actor.scope_code, detail={"added": len(rows), "start": day.isoformat()})
    return len(rows)


@dataclass(frozen=True)
class DueCareCall:
    schedule: CareCallSchedule
    name: str
    phone: str | None
    missed: bool  # overdue by more than the grace days


def care_calls_due(session: Session, *, user: User, on: date | None = None, missed_only: bool = False,
                   page: int = 1, page_size: int = 50) -> Page[DueCareCall]:
    """The care calls due by `on` in scope, most overdue first; missed ones flagged."""
    require_agent(user)
    day = on or today()
    grace = call_policy().care_call_grace_days
    missed_before = day - timedelta(days=grace)
    s = CareCallSchedule
    stmt: AnySelect = (select(s, Person.name, ElderlyProfile.phone, ElderlyProfile.home_phone)
            .join(Person, Person.id == s.person_id)
            .outerjoin(ElderlyProfile, ElderlyProfile.person_id == s.person_id)
            .where(s.is_active.is_(True), s.next_due_on <= (missed_before - timedelta(days=1) if missed_only else day),
                   s.region_code.like(scope_prefix(user.scope_code) + "%"))
            .order_by(s.next_due_on, s.id))
    result = paginate(session, stmt, page=page, page_size=page_size, scalars=False)
    items = [DueCareCall(sc, name, phone or home, sc.next_due_on < missed_before)
             for sc, name, phone, home in result.items]
    return Page(items=items, total=result.total, page=result.page, page_size=result.page_size)


def record_care_call(session: Session, *, actor: User, schedule_id: int, reached: bool,
                     note: str | None = None) -> CareCallLog:
    """Log a care call; when the person was reached the next one is due `interval_days` later."""
    require_agent(actor)
    sched = session.get(CareCallSchedule, schedule_id) if 0 < schedule_id <= MAX_DB_ID else None
    if sched is None or not covers(actor.scope_code, sched.region_code):
        raise NotFound(f"关怀计划不存在：{schedule_id} (no such care-call schedule)")
    log = CareCallLog(schedule_id=sched.id, actor=actor.username, reached=reached,
                      note=_clean_text(note, label="备注", field="note", max_len=200))
    session.add(log)
    if reached:
        sched.last_reached_on = today()
        sched.next_due_on = today() + timedelta(days=sched.interval_days)
    session.flush()
    audit.record(session, actor=actor.username, action="care_call.record", entity="care_call_schedule",
                 entity_id=sched.id, region_code=sched.region_code, detail={"reached": reached})
    return log


def open_counts(session: Session, *, user: User) -> dict[str, int]:
    """Open, taken and escalated calls in scope (the console's header)."""
    require_agent(user)
    columns: AnySelect = select(Call.status, Call.escalated_at.is_not(None), func.count())
    base = scoped_calls(columns, user)
    rows = session.execute(base.where(Call.status != "closed").group_by(Call.status, Call.escalated_at.is_not(None)))
    counts = {"open": 0, "taken": 0, "escalated": 0}
    for status, escalated, n in rows:
        counts[status] += int(n)
        if escalated:
            counts["escalated"] += int(n)
    return counts


