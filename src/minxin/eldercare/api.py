"""The call-centre JSON API under /api/v1: intake from the phone system, the timeline, agent actions,
and the console's live feed (Server-Sent Events).

Routes parse, call the service, commit, answer. `POST /calls` answers after the transaction holding
the call has committed (the intake's group commit, minxin.eldercare.intake), so a call acknowledged
with 201 (or 200 for a repeated event_id) is stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.eldercare import calls as svc
from minxin.eldercare.intake import store_call
from minxin.eldercare.models import Call
from minxin.eldercare.schemas import (
    CallDetailOut,
    CallIn,
    CallOut,
    CallPage,
    ClassifyIn,
    CloseIn,
    DispatchIn,
    ServiceOrderIn,
    ServiceOrderOut,
    StepOut,
)
from minxin.eldercare.stream import call_events_stream, start_position
from minxin.web.deps import api_user, get_session, own_writes

router = APIRouter(tags=["eldercare calls"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in, or the token is invalid or revoked"},
    403: {"description": "The role may not handle calls"},
    404: {"description": "No such call in the caller's scope"},
}


def call_out(call: Call) -> CallOut:
    return CallOut(id=call.id, person_id=call.person_id, status=call.status, kind=call.kind,
                   received_at=call.received_at)


def call_detail(session: Session, call: Call) -> CallDetailOut:
    steps = [StepOut(id=e.id, at=e.at, actor=e.actor, action=e.action, what=e.what)
             for e in svc.timeline(session, call)]
    return CallDetailOut(id=call.id, status=call.status, person_id=call.person_id, kind=call.kind, caller=call.caller,
                         location=call.location, received_at=call.received_at, taken_at=call.taken_at,
                         taken_by=call.taken_by, dispatched_at=call.dispatched_at, closed_at=call.closed_at,
                         outcome=call.outcome, escalated=call.escalated_at is not None, timeline=steps)


@router.post("/calls", response_model=CallOut, status_code=201, responses={
    200: {"model": CallOut, "description": "A repeated event_id: the call stored the first time"}, **ERRORS})
@own_writes
def receive(body: CallIn, session: Session = Depends(get_session), user: User = Depends(api_user)) -> Any:
    """Take a call from the phone system or a device: 201 stored, 200 for a repeated `event_id`."""
    # The request only reads (who is calling); the call is written by the process's group commit
    # with the others that arrive meanwhile, and committed before this answers (@own_writes: no write
    # transaction is opened for the request itself).
    prepared = svc.prepare_call(session, actor=user, caller=body.caller, kind=body.kind, at=body.at,
                                location=body.location, event_id=body.event_id)
    got = store_call(session, prepared)
    out = CallOut(id=got.id, person_id=got.person_id, status=got.status, kind=got.kind, received_at=got.received_at)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if got.created else 200)


@router.get("/calls", response_model=CallPage, responses=ERRORS)
def queue(page: int = Query(1, ge=1, le=100_000), page_size: int = Query(50, ge=1, le=200),
          escalated: bool = Query(False), session: Session = Depends(get_session),
          user: User = Depends(api_user)) -> CallPage:
    """The open and taken calls in scope, escalated and emergencies first."""
    result = svc.call_queue(session, user=user, escalated_only=escalated, page=page, page_size=page_size)
    return CallPage(items=[call_out(c) for c in result.items], total=result.total, page=result.page,
                    page_size=result.page_size)


@router.get("/calls/stream", responses={200: {"content": {"text/event-stream": {}}}, **ERRORS})
def stream(request: Request, after: Annotated[int | None, Query(ge=0)] = None,
           last_event_id: Annotated[str | None, Header()] = None, session: Session = Depends(get_session),
           user: User = Depends(api_user)) -> StreamingResponse:
    """Server-Sent Events: one `call` event per new timeline step in scope; id = the step's id.

    A reconnecting client sends `Last-Event-ID` and receives every step after it; a new one starts
    at `after`, or at the latest step.
    """
    svc.require_agent(user)
    # Hold no database transaction for the stream's lifetime: each poll opens its own short one.
    session.close()
    factory = request.app.state.session_factory
    position = start_position(last_event_id, after, factory)
    return StreamingResponse(call_events_stream(request, user=user, factory=factory, after=position),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/calls/{call_id}", response_model=CallDetailOut, responses=ERRORS)
def get_call(call_id: int, session: Session = Depends(get_session), user: User = Depends(api_user)) -> CallDetailOut:
    """A call with its timeline (every step: time, actor, what happened)."""
    return call_detail(session, svc.get_call_for(session, user, call_id))


@router.post("/calls/{call_id}/take", response_model=CallDetailOut, responses=ERRORS)
def take(call_id: int, session: Session = Depends(get_session), user: User = Depends(api_user)) -> CallDetailOut:
    """接听: acknowledge the call (stops its escalation)."""
    call = svc.take_call(session, actor=user, call_id=call_id)
    session.commit()
    return call_detail(session, call)


@router.post("/calls/{call_id}/classify", response_model=CallDetailOut, responses=ERRORS)
def classify(call_id: int, body: ClassifyIn, session: Session = Depends(get_session),
             user: User = Depends(api_user)) -> CallDetailOut:
    call = svc.classify_call(session, actor=user, call_id=call_id, kind=body.kind)
    session.commit()
    return call_detail(session, call)


@router.post("/calls/{call_id}/close", response_model=CallDetailOut, responses=ERRORS)
def close(call_id: int, body: CloseIn, session: Session = Depends(get_session),
          user: User = Depends(api_user)) -> CallDetailOut:
    """结束: close the call with an outcome (answered, service_ordered, rescued, …)."""
    call = svc.close_call(session, actor=user, call_id=call_id, outcome=body.outcome, note=body.note)
    session.commit()
    return call_detail(session, call)


@router.post("/calls/{call_id}/service-orders", response_model=ServiceOrderOut, status_code=201, responses=ERRORS)
def service_order(call_id: int, body: ServiceOrderIn, session: Session = Depends(get_session),
                  user: User = Depends(api_user)) -> ServiceOrderOut:
    order = svc.order_service(session, actor=user, call_id=call_id, provider_id=body.provider_id,
                              service_type=body.service_type, scheduled_at=body.scheduled_at, note=body.note)
    session.commit()
    return ServiceOrderOut(id=order.id, call_id=order.call_id, person_id=order.person_id,
                           provider_id=order.provider_id, service_type=order.service_type, status=order.status)


@router.post("/calls/{call_id}/dispatch", response_model=CallDetailOut, responses=ERRORS)
def dispatch(call_id: int, body: DispatchIn, session: Session = Depends(get_session),
             user: User = Depends(api_user)) -> CallDetailOut:
    """派遣救援: ambulance_120, community (responder) or family (an emergency contact)."""
    call = svc.dispatch_rescue(session, actor=user, call_id=call_id, target=body.target, contact_id=body.contact_id,
                               note=body.note)
    session.commit()
    return call_detail(session, call)
