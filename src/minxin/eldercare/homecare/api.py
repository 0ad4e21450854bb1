"""Home-care JSON API under /api/v1: a provider's system records its orders (create, start, finish, cancel)
and reads its providers, orders and a person's entitlement. The same service calls, and so the same access
rules and refusals, as the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.core.masking import mask_name
from minxin.core.period import Period
from minxin.eldercare.homecare import service as svc
from minxin.eldercare.models import ServiceOrder, ServiceProvider
from minxin.web.deps import api_user, get_session

router = APIRouter(tags=["eldercare home care"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in, or the token is invalid or revoked"},
    403: {"description": "The role may not do this"},
    404: {"description": "No such provider, order or person in the caller's scope"},
    409: {"description": "Refused: beyond the month's entitlement, not eligible, wrong state"},
    422: {"description": "Malformed input (a clear message names the field)"},
}
DbId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrderIn(_In):
    provider_id: int = Field(ge=1, le=2**31 - 1)
    person_id: int = Field(ge=1, le=2**31 - 1)
    service_type: str = Field(max_length=32, description="助餐、助浴、助洁、助医 …")
    scheduled_at: datetime = Field(description="ISO 8601 with a zone; its month's entitlement is drawn on")
    minutes: int = Field(ge=1, le=1440, description="service length; value = minutes × the county's hourly price")
    staff_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    note: str | None = Field(default=None, max_length=200)


class StartIn(_In):
    at: datetime | None = Field(default=None, description="when the worker started (default: now)")
    staff_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class FinishIn(_In):
    at: datetime | None = Field(default=None, description="when the service finished (default: now)")
    note: str | None = Field(default=None, max_length=200)


class CancelIn(_In):
    reason: str = Field(min_length=1, max_length=200)


class OrderOut(BaseModel):
    id: int
    provider_id: int
    person_id: int
    person_name: str
    service_type: str
    status: str
    period: str | None
    minutes: int | None
    value_fen: int
    staff_id: int | None
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    created_by: str
    settled_cycle_id: int | None


class OrderPage(BaseModel):
    items: list[OrderOut]
    total: int
    page: int
    page_size: int


class StaffOut(BaseModel):
    id: int
    name: str
    phone: str | None
    qualification: str | None
    is_active: bool


class ProviderOut(BaseModel):
    id: int
    name: str
    county_code: str
    contact_name: str | None
    phone: str | None
    services: str | None
    is_active: bool
    case_id: int | None
    staff: list[StaffOut] = []


class ProviderPage(BaseModel):
    items: list[ProviderOut]
    total: int
    page: int
    page_size: int


class EntitlementOut(BaseModel):
    person_id: int
    period: str
    eligible: bool
    reasons: list[str]
    care_level: str | None
    limit_fen: int
    used_fen: int
    left_fen: int


def order_out(order: ServiceOrder, person_name: str) -> OrderOut:
    return OrderOut(id=order.id, provider_id=order.provider_id, person_id=order.person_id,
                    person_name=mask_name(person_name), service_type=order.service_type, status=order.status,
                    period=order.period, minutes=order.minutes, value_fen=order.value_fen, staff_id=order.staff_id,
                    scheduled_at=order.scheduled_at, started_at=order.started_at, finished_at=order.finished_at,
                    created_by=order.created_by, settled_cycle_id=order.settled_cycle_id)


def _order(session: Session, order: ServiceOrder) -> OrderOut:
    return order_out(order, svc.order_person_name(session, order))


def provider_out(p: ServiceProvider, staff: list[Any] | None = None) -> ProviderOut:
    return ProviderOut(id=p.id, name=p.name, county_code=p.county_code, contact_name=p.contact_name,
                       phone=p.phone, services=p.services, is_active=p.is_active, case_id=p.case_id,
                       staff=[StaffOut(id=s.id, name=s.name, phone=s.phone, qualification=s.qualification,
                                       is_active=s.is_active) for s in staff or []])


@router.get("/homecare/providers", response_model=ProviderPage, responses=ERRORS)
def providers(q: Annotated[str, Query(max_length=100)] = "", page: Annotated[int, Query(ge=1, le=100_000)] = 1,
              page_size: Annotated[int, Query(ge=1, le=200)] = 20, session: Session = Depends(get_session),
              user: User = Depends(api_user)) -> ProviderPage:
    """The providers of the caller's county (the city: every county)."""
    found = svc.list_providers(session, user=user, q=q, page=page, page_size=page_size)
    return ProviderPage(items=[provider_out(p) for p in found.items], total=found.total, page=found.page,
                        page_size=found.page_size)


@router.get("/homecare/providers/{provider_id}", response_model=ProviderOut, responses=ERRORS)
def provider(provider_id: DbId, session: Session = Depends(get_session),
             user: User = Depends(api_user)) -> ProviderOut:
    p = svc.get_provider_for(session, user, provider_id)
    return provider_out(p, svc.staff_of(session, p))


@router.get("/homecare/orders", response_model=OrderPage, responses=ERRORS)
def orders(provider_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
           person_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
           period: Annotated[str, Query(pattern=r"^(\d{4}-\d{2})?$")] = "",
           status: Annotated[str, Query(pattern=r"^(ordered|started|finished|cancelled)?$")] = "",
           page: Annotated[int, Query(ge=1, le=100_000)] = 1, page_size: Annotated[int, Query(ge=1, le=200)] = 20,
           session: Session = Depends(get_session), user: User = Depends(api_user)) -> OrderPage:
    """Orders of the persons in the caller's region, newest first."""
    found = svc.list_orders(session, user=user, provider_id=provider_id, person_id=person_id, period=period or None,
                            status=status or None, page=page, page_size=page_size)
    return OrderPage(items=[order_out(o, name) for o, name, _ in found.items], total=found.total, page=found.page,
                     page_size=found.page_size)


@router.post("/homecare/orders", response_model=OrderOut, status_code=201, responses=ERRORS)
def create(body: OrderIn, session: Session = Depends(get_session), user: User = Depends(api_user)) -> OrderOut:
    """派单: drawn on the month's entitlement; beyond it, 409 with what is left."""
    order = svc.create_order(session, actor=user, provider_id=body.provider_id, person_id=body.person_id,
                             service_type=body.service_type, scheduled_at=body.scheduled_at, minutes=body.minutes,
                             staff_id=body.staff_id, note=body.note)
    session.commit()
    return _order(session, order)


@router.get("/homecare/orders/{order_id}", response_model=OrderOut, responses=ERRORS)
def order(order_id: DbId, session: Session = Depends(get_session), user: User = Depends(api_user)) -> OrderOut:
    return _order(session, svc.get_order_for(session, user, order_id))


@router.post("/homecare/orders/{order_id}/start", response_model=OrderOut, responses=ERRORS)
def start(order_id: DbId, body: StartIn, session: Session = Depends(get_session),
          user: User = Depends(api_user)) -> OrderOut:
    o = svc.start_order(session, actor=user, order_id=order_id, at=body.at, staff_id=body.staff_id)
    session.commit()
    return _order(session, o)


@router.post("/homecare/orders/{order_id}/finish", response_model=OrderOut, responses=ERRORS)
def finish(order_id: DbId, body: FinishIn, session: Session = Depends(get_session),
           user: User = Depends(api_user)) -> OrderOut:
    """完成: refused when it would finish before it started."""
    o = svc.finish_order(session, actor=user, order_id=order_id, at=body.at, note=body.note)
    session.commit()
    return _order(session, o)


@router.post("/homecare/orders/{order_id}/cancel", response_model=OrderOut, responses=ERRORS)
def cancel(order_id: DbId, body: CancelIn, session: Session = Depends(get_session),
           user: User = Depends(api_user)) -> OrderOut:
    o = svc.cancel_order(session, actor=user, order_id=order_id, reason=body.reason)
    session.commit()
    return _order(session, o)


@router.get("/homecare/entitlements/{person_id}", response_model=EntitlementOut, responses=ERRORS)
def entitlement(person_id: DbId, period: Annotated[str, Query(pattern=r"^(\d{4}-\d{2})?$")] = "",
                session: Session = Depends(get_session), user: User = Depends(api_user)) -> EntitlementOut:
    """A person's standing for a month: eligible and why, the voucher value, what is used and left."""
    e = svc.entitlement_for(session, user, person_id, period=Period.parse(period) if period else None)
    return EntitlementOut(person_id=e.person.id, period=str(e.period), eligible=e.eligible, reasons=e.reasons,
                          care_level=e.care_level, limit_fen=e.limit_fen, used_fen=e.used_fen, left_fen=e.left_fen)
