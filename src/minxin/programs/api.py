"""Benefit engine JSON API under /api/v1: standards, cases and their workflow, cycles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.core.masking import mask_name
from minxin.core.money import parse_yuan
from minxin.core.period import Period
from minxin.infra.db import savepoint
from minxin.programs import cycles as cycle_ops
from minxin.programs import service
from minxin.programs.models import Case
from minxin.programs.schemas import (
    ApplyIn,
    CaseEventOut,
    CaseOut,
    CasePage,
    CityRunIn,
    CityRunOut,
    CountyTotal,
    CycleOut,
    CycleRunIn,
    PaymentOut,
    StandardIn,
    StandardOut,
    StepIn,
)
from minxin.web.deps import api_user, get_session

router = APIRouter(tags=["programs"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in, or the token is invalid or revoked"},
    403: {"description": "The role may not do this"},
    404: {"description": "Missing or outside the caller's scope"},
    409: {"description": "Not allowed in the current state"},
    422: {"description": "Invalid field (named in detail[].loc)"},
}


def _case_out(session: Session, user: User, case: Case, *, full: bool = False) -> CaseOut:
    head = service.case_head_for(session, user, case)
    out = CaseOut(
        id=case.id, program=case.program_code, status=case.status, status_name=service.STATUS_NAMES[case.status],
        household_id=case.household_id, head_name=mask_name(head.name) if head else "",
        region_code=case.region_code, category=case.category, start_period=case.start_period,
        end_period=case.end_period, next_review_due=case.next_review_due, sanwu=case.sanwu,
        staff_relative=case.staff_relative, spot_check_required=case.spot_check_required,
        allowed_steps=service.actions_for(session, user, case)[0],
    )
    if full:
        out.events = [CaseEventOut(action=e.action, from_status=e.from_status, to_status=e.to_status, actor=e.actor,
                                   at=e.at, reason=e.reason) for e in case.events]
        out.payments = [PaymentOut(cycle_id=c.id, period=c.period, kind=item.kind,  # type: ignore[arg-type]
                                   for_period=item.for_period, amount_fen=item.amount_fen, status=p.status,
                                   explanation=item.explanation)
                        for item, p, c in cycle_ops.case_payment_items(session, case.id)]
    return out


def _cycle_out(summary: cycle_ops.CycleSummary) -> CycleOut:
    return CycleOut(cycle_id=summary.cycle_id, program=summary.program, period=summary.period,
                    county=summary.county, county_name=summary.county_name, status=summary.status,
                    cases=summary.cases, total_fen=summary.total_fen,
                    arrears_fen=summary.arrears_fen, carryover_fen=summary.carryover_fen,
                    by_county=[CountyTotal(**c) for c in summary.by_county])


@router.get("/standards", response_model=list[StandardOut], summary="Every standard row (the history)",
            responses=ERRORS)
def standards(program: Annotated[str | None, Query(max_length=32)] = None, user: User = Depends(api_user),
              session: Session = Depends(get_session)) -> list[StandardOut]:
    return [StandardOut(id=s.id, program=s.program_code, region_code=s.region_code, category=s.category,
                        amount_fen=s.amount_fen, effective_from=s.effective_from)
            for s in service.standards_for(session, user, program=program)]


@router.get("/standards/in-force", response_model=StandardOut, summary="The standard in force", responses=ERRORS)
def standard_in_force(program: Annotated[str, Query(max_length=32)],
                      region: Annotated[str, Query(pattern=r"^[0-9]{6,12}$")],
                      period: Annotated[str, Query(pattern=r"^[0-9]{4}-[0-9]{1,2}$")],
                      category: Annotated[str, Query(max_length=16)] = "",
                      user: User = Depends(api_user), session: Session = Depends(get_session)) -> StandardOut:
    s = service.standard_in_force_for(session, user, program=program, region_code=region,
                                      period=Period.parse(period), category=category)
    return StandardOut(id=s.id, program=s.program, region_code=s.region_code, category=s.category,
                       amount_fen=s.amount_fen, effective_from=s.effective_from)


@router.post("/standards", response_model=StandardOut, status_code=201, summary="Add a standard row",
             responses=ERRORS)
def add_standard(body: StandardIn, user: User = Depends(api_user),
                 session: Session = Depends(get_session)) -> StandardOut:
    s = service.set_standard(session, actor=user, program=body.program or service.default_program(),
                            region_code=body.region_code,
                             amount_fen=parse_yuan(body.amount_yuan, field="amount_yuan", allow_negative=True),
                             effective=body.effective, category=body.category, source=body.source)
    session.commit()
    return StandardOut(id=s.id, program=s.program_code, region_code=s.region_code, category=s.category,
                       amount_fen=s.amount_fen, effective_from=s.effective_from)


@router.get("/cases", response_model=CasePage, summary="Cases in the caller's scope", responses=ERRORS)
def cases(program: Annotated[str | None, Query(max_length=32)] = None,
          status: Annotated[str | None, Query(max_length=16)] = None,
          region: Annotated[str | None, Query(pattern=r"^[0-9]{6,12}$")] = None,
          page: Annotated[int, Query(ge=1, le=100_000)] = 1,
          page_size: Annotated[int, Query(ge=1, le=200)] = 20,
          user: User = Depends(api_user), session: Session = Depends(get_session)) -> CasePage:
    result = service.list_cases(session, user=user, program=program, status=status, region_code=region, page=page,
                                page_size=page_size)
    return CasePage(items=[_case_out(session, user, c) for c in result.items], total=result.total,
                    page=result.page, page_size=result.page_size, pages=result.pages)


@router.get("/cases/{case_id}", response_model=CaseOut, summary="One case with events and payments",
            responses=ERRORS)
def case(case_id: int, user: User = Depends(api_user), session: Session = Depends(get_session)) -> CaseOut:
    return _case_out(session, user, service.get_case_for(session, user, case_id), full=True)


@router.post("/cases", response_model=CaseOut, status_code=201, summary="Apply (申请) for a household",
             responses=ERRORS)
def apply(body: ApplyIn, user: User = Depends(api_user), session: Session = Depends(get_session)) -> CaseOut:
    created = service.apply(session, actor=user, program=body.program or service.default_program(),
                            household_id=body.household_id,
                            bank_account=body.bank_account, sanwu=body.sanwu, staff_relative=body.staff_relative,
                            review_class=body.review_class, reason=body.reason, category=body.category,
                            institution_id=body.institution_id)
    session.commit()
    return _case_out(session, user, created, full=True)


@router.post("/cases/{case_id}/steps", response_model=CaseOut, summary="Move a case one workflow step",
             responses=ERRORS)
def step(case_id: int, body: StepIn, user: User = Depends(api_user),
         session: Session = Depends(get_session)) -> CaseOut:
    income = parse_yuan(body.income_yuan, field="income_yuan") if body.income_yuan is not None else None
    moved = service.step(session, actor=user, case_id=case_id, action=body.action, reason=body.reason,
                         spot_checked=body.spot_checked,
                         start_period=Period.parse(body.period) if body.period else None, income_fen=income)
    session.commit()
    return _case_out(session, user, moved, full=True)


@router.get("/cycles", response_model=list[CycleOut], summary="Payment cycles in your scope", responses=ERRORS)
def cycles(program: Annotated[str | None, Query(max_length=32)] = None,
           period: Annotated[str | None, Query(max_length=7)] = None,
           page: Annotated[int, Query(ge=1, le=100_000)] = 1, user: User = Depends(api_user),
           session: Session = Depends(get_session)) -> list[CycleOut]:
    found = cycle_ops.list_cycles_for(session, user, program=program, period=period, page=page, page_size=200)
    return [_cycle_out(cycle_ops.summarize(session, c)) for c in found.items]


@router.post("/cycles", response_model=CycleOut, summary="Run (or return) a program's cycle for a month and county",
             responses=ERRORS)
def run(body: CycleRunIn, user: User = Depends(api_user), session: Session = Depends(get_session)) -> CycleOut:
    summary = cycle_ops.run_cycle(session, actor=user, program=body.program or service.default_program(),
                                  period=Period.parse(body.period),
                                  county=body.county)
    session.commit()
    return _cycle_out(summary)


@router.post("/cycles/city", response_model=CityRunOut, summary="Run a program's month for every county",
             responses=ERRORS)
def run_city(body: CityRunIn, user: User = Depends(api_user), session: Session = Depends(get_session)) -> CityRunOut:
    """Each county its own cycle; a county that fails is listed in `failed` and the others are kept."""
    city = cycle_ops.run_county_cycles(lambda: savepoint(session), actor=user.username,
                                       program=body.program or service.default_program(),
                                       period=Period.parse(body.period))
    session.commit()
    data = city.as_json()
    return CityRunOut(**{**data, "cycles": [_cycle_out(c) for c in city.cycles]})


@router.get("/cycles/{cycle_id}", response_model=CycleOut, summary="One cycle with totals per county",
            responses=ERRORS)
def cycle(cycle_id: int, user: User = Depends(api_user), session: Session = Depends(get_session)) -> CycleOut:
    return _cycle_out(cycle_ops.summarize(session, cycle_ops.get_cycle_for(session, user, cycle_id)))


@router.post("/cycles/{cycle_id}/approve", response_model=CycleOut, summary="Approve a draft cycle",
             responses=ERRORS)
def approve(cycle_id: int, user: User = Depends(api_user), session: Session = Depends(get_session)) -> CycleOut:
    approved = cycle_ops.approve_cycle(session, actor=user, cycle_id=cycle_id)
    session.commit()
    return _cycle_out(cycle_ops.summarize(session, approved))
