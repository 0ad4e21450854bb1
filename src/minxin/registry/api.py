"""Registry JSON API under /api/v1: regions, counts, persons, households, ID reveal, imports."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.core.errors import MinxinError
from minxin.core.masking import mask_id, mask_name, mask_phone
from minxin.core.money import format_yuan
from minxin.registry.import_runs import record_refused_file
from minxin.registry.importer import import_households
from minxin.registry.models import Household
from minxin.registry.schemas import (
    API_FIELDS,
    CommunityOut,
    CommunityPage,
    CountyCount,
    FieldErrorsOut,
    HouseholdCreate,
    HouseholdOut,
    ImportErrorOut,
    ImportErrorsOut,
    ImportOut,
    MemberOut,
    PersonOut,
    PersonPage,
    RegionOut,
    RevealIn,
    RevealOut,
    StatsOut,
)
from minxin.registry.service import (
    counts_by_county_for,
    create_household,
    get_household_for,
    list_regions,
    region_labels,
    region_path,
    reveal_id_number,
    search_communities,
    search_persons,
)
from minxin.registry.views import import_counts
from minxin.stats import stats_for
from minxin.web.deps import api_user, get_session
from minxin.web.forms import read_import_file

router = APIRouter(tags=["registry"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in, or the token is invalid or revoked"},
    403: {"description": "The role may not do this"},
}


@contextmanager
def api_field_names() -> Iterator[None]:
    """Service errors name Chinese columns (身份证号); on the API they name the JSON field (id_number)."""
    try:
        yield
    except MinxinError as exc:
        if exc.field in API_FIELDS:
            exc.field = API_FIELDS[exc.field]
        raise


def household_out(session: Session, household: Household) -> HouseholdOut:
    members = list(household.members)
    n = len(members)
    return HouseholdOut(
        id=household.id, household_no=household.household_no, region_code=household.region_code,
        region_name=region_path(session, household.region_code), hukou_type=household.hukou_type,
        address=household.address, phone=mask_phone(household.phone) if household.phone else None,
        monthly_income_fen=household.monthly_income_fen,
        monthly_income_yuan=format_yuan(household.monthly_income_fen),
        per_capita_income_fen=(household.monthly_income_fen + n // 2) // n if n else 0,
        assets_fen=household.assets_fen, income_declared_on=household.income_declared_on,
        members=[
            MemberOut(
                id=p.id, name=p.name, id_number=mask_id(p.id_number), sex=p.sex,  # type: ignore[arg-type]
                birth_year=p.birth_date.year, relation=p.relation, is_head=p.is_head,
                phone=mask_phone(p.phone) if p.phone else None, disability_grade=p.disability_grade,
                health_status=p.health_status, monthly_income_fen=p.monthly_income_fen,
                monthly_income_yuan=format_yuan(p.monthly_income_fen),
            )
            for p in members
        ],
    )


@router.get("/regions", response_model=list[RegionOut], summary="Administrative divisions",
            responses=ERRORS)
def regions(level: Annotated[str | None, Query(description="county, town or community")] = None,
            parent: Annotated[str | None, Query(pattern=r"^[0-9]{6,12}$")] = None,
            session: Session = Depends(get_session)) -> list[RegionOut]:
    """Public division codes (not scoped); historical codes carry `alias_of`."""
    return [RegionOut.model_validate(r) for r in list_regions(session, level=level, parent=parent)]


@router.get("/stats", response_model=StatsOut, summary="Key counts of the caller's scope", responses=ERRORS)
def stats(user: User = Depends(api_user), session: Session = Depends(get_session)) -> StatsOut:
    return StatsOut(
        scope_code=user.scope_code,
        counts=stats_for(session, user),
        by_county=[CountyCount(**c) for c in counts_by_county_for(session, user)],
    )


@router.get("/persons", response_model=PersonPage, summary="Search persons (masked)", responses=ERRORS)
def persons(q: Annotated[str, Query(max_length=64, description="What to look for, read as `by` says")] = "",
            by: Annotated[str, Query(max_length=16, description="name_id (name, ID number or its first/last "
                                     "digits; the default), household_no, phone, address or community")] = "name_id",
            region: Annotated[str | None, Query(pattern=r"^[0-9]{6,12}$")] = None,
            page: Annotated[int, Query(ge=1, le=100_000)] = 1,
            page_size: Annotated[int, Query(ge=1, le=200)] = 20,
            user: User = Depends(api_user), session: Session = Depends(get_session)) -> PersonPage:
    """Persons in the caller's scope; names and ID numbers are masked."""
    result = search_persons(session, user=user, q=q, by=by, region_code=region, page=page, page_size=page_size)
    labels = region_labels(session, {p.region_code for p in result.items if p.region_code})
    return PersonPage(
        items=[PersonOut(id=p.id, name=mask_name(p.name), id_number=mask_id(p.id_number),
                         sex=p.sex, relation=p.relation, region_code=p.region_code,  # type: ignore[arg-type]
                         region_name=labels.get(p.region_code or ""), household_id=p.household_id,
                         household_no=p.household.household_no if p.household else None)
               for p in result.items],
        total=result.total, page=result.page, page_size=result.page_size, pages=result.pages,
    )


@router.get("/communities", response_model=CommunityPage, summary="Communities of the caller's scope (picker)",
            responses=ERRORS)
def communities(q: Annotated[str, Query(max_length=64, description="Part of the community's or town's name "
                                        "(\"新海街道 胜利\" names both), or the first digits of the code")] = "",
                page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                page_size: Annotated[int, Query(ge=1, le=200)] = 20,
                user: User = Depends(api_user), session: Session = Depends(get_session)) -> CommunityPage:
    """The community codes a household import or a search may name, with town and county."""
    found = search_communities(session, user=user, q=q, page=page, page_size=page_size)
    return CommunityPage(
        items=[CommunityOut(code=c.code, name=c.name, label=c.label, town_code=c.town_code, town=c.town,
                            county_code=c.county_code, county=c.county, urban=c.urban) for c in found.items],
        total=found.total, page=found.page, page_size=found.page_size, pages=found.pages,
    )


@router.get("/households/{household_id}", response_model=HouseholdOut, summary="One household",
            responses={**ERRORS, 404: {"description": "Missing or outside the caller's scope"}})
def household(household_id: int, user: User = Depends(api_user),
              session: Session = Depends(get_session)) -> HouseholdOut:
    """Members carry masked ID numbers and phones; reveal one with POST /persons/{id}/reveal."""
    return household_out(session, get_household_for(session, user, household_id))


@router.post("/households", response_model=HouseholdOut, status_code=201, summary="Register a household",
             responses={**ERRORS, 409: {"description": "Household number or person already registered"},
                        422: {"description": "Invalid field (named in detail[].loc)"}})
def create(body: HouseholdCreate, user: User = Depends(api_user),
           session: Session = Depends(get_session)) -> HouseholdOut:
    with api_field_names():
        created = create_household(session, actor=user, data=body.to_domain())
    session.commit()
    session.expire_all()
    return household_out(session, get_household_for(session, user, created.id))


@router.post("/persons/{person_id}/reveal", response_model=RevealOut, summary="Full ID number (audited)",
             responses={**ERRORS, 404: {"description": "Missing or outside the caller's scope"}})
def reveal(person_id: int, body: RevealIn | None = None, user: User = Depends(api_user),
           session: Session = Depends(get_session)) -> RevealOut:
    number = reveal_id_number(session, user=user, person_id=person_id,
                              reason=(body.reason if body else None) or "api")
    session.commit()
    return RevealOut(id_number=number)


@router.post("/imports/households", response_model=ImportOut, summary="Import households from xlsx/csv",
             responses={**ERRORS, 422: {"model": ImportErrorsOut | FieldErrorsOut,
                                    "description": "Every error of the file (nothing stored), or a field the "
                                                   "request lacks"}})
def import_file(file: UploadFile | None = File(None, description="The .xlsx or .csv (see the template)"),
                dry_run: bool = Form(False), user: User = Depends(api_user),
                session: Session = Depends(get_session)) -> ImportOut | JSONResponse:
    """All rows are checked first; either the whole file is stored or nothing is."""
    data, filename = read_import_file(session, file, dry_run=dry_run, too_large=lambda name, reason: (
        record_refused_file(session, actor=user, kind="households", filename=name, reason=reason)))
    result = import_households(session, actor=user, data=data, filename=filename, dry_run=dry_run)
    if not result.ok:
        session.commit()  # the recorded run only: the import undid its own writes
        body = ImportErrorsOut(errors=[ImportErrorOut(row=e.row, column=e.column, reason=e.reason)
                                       for e in result.errors])
        return JSONResponse(body.model_dump(), status_code=422)
    if not dry_run:
        session.commit()
    households, persons_ = import_counts(result)
    return ImportOut(households=households, persons=persons_, dry_run=dry_run)
