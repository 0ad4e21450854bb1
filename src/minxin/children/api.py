"""Children's JSON API under /api/v1: the scoped list, one child, the import. The same service calls
(and so the same access rules) as the pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.children import service
from minxin.children.schemas import (
    ChildImportOut,
    ChildOut,
    ChildPage,
    ChildPaymentOut,
    ChildSummaryOut,
    GuardianOut,
    ImportErrorOut,
)
from minxin.core.idnumber import full_years
from minxin.core.masking import mask_id, mask_name, mask_phone
from minxin.infra.clock import today
from minxin.registry.import_runs import record_refused_file
from minxin.web.deps import api_user, get_session
from minxin.web.forms import read_import_file

router = APIRouter(tags=["children"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in, or the token is invalid or revoked"},
    403: {"description": "The role may not do this"},
    404: {"description": "No such child in the caller's region"},
}


def summary_out(r: service.ChildRow) -> ChildSummaryOut:
    return ChildSummaryOut(case_id=r.case_id, name=mask_name(r.name), id_number=mask_id(r.id_number),
                           age=r.age, region_code=r.region_code, placement=r.placement,
                           institution=r.institution, status=r.status, start_period=r.start_period,
                           paid_until=r.last_month,
                           guardian_name=mask_name(r.guardian_name) if r.guardian_name else None,
                           guardian_relation=r.guardian_relation)


def child_out(child: service.ChildView) -> ChildOut:
    record = child.record
    guardian = GuardianOut(
        name=mask_name(record.guardian_name), relation=record.guardian_relation,
        phone=mask_phone(record.guardian_phone) if record.guardian_phone else None,
        id_number=mask_id(record.guardian_id_number) if record.guardian_id_number else None,
    ) if record else None
    return ChildOut(
        case_id=child.case.id, name=mask_name(child.person.name), id_number=mask_id(child.person.id_number),
        age=full_years(child.person.birth_date, today()), region_code=child.case.region_code,
        placement=child.case.category,
        institution=child.institution.name if child.institution else None, status=child.case.status,
        start_period=child.case.start_period, paid_until=child.last_month, guardian=guardian,
        payments=[ChildPaymentOut(cycle_id=c.id, cycle_period=c.period, kind=it.kind, for_period=it.for_period,
                                  amount_fen=it.amount_fen, status=p.status, explanation=it.explanation)
                  for it, p, c in child.payments])


@router.get("/children", response_model=ChildPage, summary="Children of the caller's region (masked)",
            responses=ERRORS)
def children(placement: Annotated[str, Query(max_length=8, description="集中养育 or 社会散居")] = "",
             status: Annotated[str, Query(pattern=r"^(active|suspended|terminated)?$")] = "",
             page: Annotated[int, Query(ge=1, le=100_000)] = 1,
             page_size: Annotated[int, Query(ge=1, le=200)] = 20,
             user: User = Depends(api_user), session: Session = Depends(get_session)) -> ChildPage:
    found = service.list_children(session, user=user, placement=placement or None, status=status or None,
                                  page=page, page_size=page_size)
    return ChildPage(items=[summary_out(r) for r in found.items], total=found.total, page=found.page,
                     page_size=found.page_size)


@router.get("/children/{child_id}", response_model=ChildOut, summary="One child with guardian and payments",
            responses=ERRORS)
def child(child_id: Annotated[int, Path(ge=1, le=2**31 - 1)], user: User = Depends(api_user),
          session: Session = Depends(get_session)) -> ChildOut:
    return child_out(service.get_child_for(session, user, child_id))


@router.post("/children/import", response_model=ChildImportOut, summary="Import children (all or nothing)",
             responses={**ERRORS, 422: {"description": "Row errors: nothing stored"}})
def children_import(file: UploadFile | None = File(None), dry_run: bool = Form(False),
                    user: User = Depends(api_user), session: Session = Depends(get_session)) -> Any:
    data, filename = read_import_file(session, file, dry_run=dry_run, too_large=lambda name, reason: (
        record_refused_file(session, actor=user, kind="children", filename=name, reason=reason)))
    result = service.import_children(session, actor=user, data=data, filename=filename, dry_run=dry_run)
    body = ChildImportOut(ok=result.ok, dry_run=dry_run, children=result.cases,
                          errors=[ImportErrorOut(row=e.row, column=e.column, reason=e.reason) for e in result.errors])
    if not result.ok:
        session.commit()  # the recorded run only: the import undid its own writes
        return JSONResponse(body.model_dump(), status_code=422)
    if not dry_run:
        session.commit()
    return body
