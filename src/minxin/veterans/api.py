"""优抚 JSON API under /api/v1/veterans: recipients, status and service events, the on-time report, the
checkup and convalescence targets, retired soldiers. Access is decided in `veterans.service`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.core.errors import ValidationError
from minxin.core.masking import mask_id, mask_name
from minxin.core.period import Period
from minxin.veterans import service
from minxin.veterans.schemas import (
    RecipientPage,
    RecipientRow,
    ServiceIn,
    ServiceOut,
    SoldierPage,
    SoldierRow,
    StatusIn,
)
from minxin.web.deps import api_user, get_session

router = APIRouter(prefix="/veterans", tags=["veterans"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in, or the token is invalid or revoked"},
    403: {"description": "The role may not do this"},
    404: {"description": "Missing or outside the caller's scope"},
    409: {"description": "Not allowed in the current state"},
    422: {"description": "Invalid field"},
}


@router.get("/recipients", response_model=RecipientPage, summary="Recipients in scope (paged)", responses=ERRORS)
def recipients(q: str = Query("", max_length=64), category: str = Query("", max_length=16),
               page: int = Query(1, ge=1, le=100_000), page_size: int = Query(20, ge=1, le=200),
               user: User = Depends(api_user), session: Session = Depends(get_session)) -> RecipientPage:
    res = service.list_recipients(session, user=user, q=q, category=category, page=page, page_size=page_size)
    return RecipientPage(total=res.total, page=res.page, pages=res.pages, items=[
        RecipientRow(id=r.id, name=mask_name(p.name), id_number=mask_id(p.id_number), region_code=r.region_code,
                     category=r.category, subkind=r.subkind, service_years=r.service_years, status=r.status,
                     case_id=r.case_id) for r, p in res.items])


@router.get("/recipients/{recipient_id}", summary="A recipient: documents, case, events, payments, services",
            responses=ERRORS)
def recipient(recipient_id: int, user: User = Depends(api_user),
              session: Session = Depends(get_session)) -> dict[str, Any]:
    return service.recipient_detail(session, user=user, recipient_id=recipient_id)


@router.post("/recipients/{recipient_id}/events", summary="Record a move out or a death (may pay funeral aid)",
             responses=ERRORS)
def status_event(recipient_id: int, body: StatusIn, user: User = Depends(api_user),
                 session: Session = Depends(get_session)) -> dict[str, Any]:
    service.record_status(session, actor=user, recipient_id=recipient_id, kind=body.kind, on=body.on, note=body.note,
                          cause=body.cause)
    session.commit()
    return service.recipient_detail(session, user=user, recipient_id=recipient_id)


@router.post("/recipients/{recipient_id}/services", response_model=ServiceOut, status_code=201,
             summary="Record a free checkup or a convalescence stay", responses=ERRORS)
def service_event(recipient_id: int, body: ServiceIn, user: User = Depends(api_user),
                  session: Session = Depends(get_session)) -> ServiceOut:
    ev = service.record_service(session, actor=user, recipient_id=recipient_id, kind=body.kind, on=body.on,
                                hospital=body.hospital, days=body.days)
    session.commit()
    return ServiceOut(id=ev.id, recipient_id=ev.recipient_id, kind=ev.kind, on=ev.on, hospital=ev.hospital,
                      days=ev.days)


@router.get("/ontime/{period}", summary="P21 on time and in full, per county", responses=ERRORS)
def ontime(period: str, limit: int = Query(1000, ge=0, le=1_000_000), user: User = Depends(api_user),
           session: Session = Depends(get_session)) -> dict[str, Any]:
    try:
        month = Period.parse(period)
    except ValidationError as exc:
        raise ValidationError(exc.message, field="period") from None
    return service.ontime_report(session, user=user, period=month, limit=limit or None).as_json()


@router.get("/services/{year}", summary="P23 checkups and convalescence per county against the targets",
            responses=ERRORS)
def services(year: int, user: User = Depends(api_user), session: Session = Depends(get_session)) -> dict[str, Any]:
    if not 2000 <= year <= 2100:
        raise ValidationError("年份应为 2000–2100 (bad year)", field="year")
    return service.service_targets(session, user=user, year=year)


@router.get("/soldiers", response_model=SoldierPage, summary="P24 retired soldiers, awaiting and priority first",
            responses=ERRORS)
def soldiers(status: str = Query("", max_length=16), page: int = Query(1, ge=1, le=100_000),
             user: User = Depends(api_user), session: Session = Depends(get_session)) -> SoldierPage:
    res = service.list_soldiers(session, user=user, status=status, page=page)
    return SoldierPage(total=res.total, page=res.page, items=[
        SoldierRow(id=s.id, name=mask_name(p.name), region_code=s.region_code, discharged_on=s.discharged_on,
                   priority=s.priority, priority_reason=s.priority_reason, placement_status=s.placement_status)
        for s, p in res.items])
