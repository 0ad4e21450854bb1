"""Registry pages: the home page (the scope's counts), search, household, income declarations, ID reveal,
export and import."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from minxin.auth.models import User
from minxin.auth.service import Perm, has_perm
from minxin.core.errors import ValidationError
from minxin.core.money import parse_yuan
from minxin.registry.export import export_persons
from minxin.registry.importer import HEADERS, ImportResult, import_households, require_importer, template_for
from minxin.registry.models import Household
from minxin.registry.service import (
    counts_by_county,
    declare_income,
    get_household_for,
    income_history,
    region_choices_for,
    region_names,
    region_path,
    reveal_id_number,
    search_persons,
)
from minxin.settings import get_settings
from minxin.stats import city_stats
from minxin.web.deps import current_user, get_session, writes
from minxin.web.errors import is_htmx
from minxin.web.forms import MAX_ERRORS_SHOWN, XLSX, handle_import, upload_limits
from minxin.web.i18n import domain_message, gettext
from minxin.web.nav import NavItem
from minxin.web.templating import local_today, render, request_lang
from minxin.worklist import glance_for, worklist_for

router = APIRouter()

NAV = [
    NavItem(label="nav.home", path="/"),
    NavItem(label="nav.registry", path="/registry", perm=Perm.REGISTRY_READ,
            also=("/households", "/persons"), group="nav.group.registry"),
    NavItem(label="nav.import", path="/import", perm=Perm.REGISTRY_IMPORT, group="nav.group.registry"),
]


# ---- search ---------------------------------------------------------------------------------------

def _region_filter(region: str) -> str | None:
    region = region.strip()
    if not region:
        return None
    if not region.isdigit() or len(region) not in (6, 9, 12):
        raise ValidationError("区域代码格式不正确 (malformed region code)", field="region")
    return region


@router.get("/registry", name="registry")
def registry_search(request: Request, q: str = Query("", max_length=64), region: str = Query("", max_length=12),
                    page: int = Query(1, ge=1, le=100_000), user: User = Depends(current_user),
                    session: Session = Depends(get_session)) -> Response:
    """Search persons by ID number or name within the user's scope; names and numbers masked."""
    error = None
    try:
        region_code = _region_filter(region)
    except ValidationError as exc:
        region_code, error = None, domain_message(exc.message, lang=request_lang(request))
    results = search_persons(session, user=user, q=q, region_code=region_code, page=page,
                             page_size=get_settings().page_size)
    names = region_names(session, {p.region_code for p in results.items if p.region_code})
    return render(request, "registry/search.html", {
        "q": q, "region": region_code or "", "results": results, "region_names": names,
        "regions": region_choices_for(session, user), "error": error,
    })


@router.get("/registry/export.xlsx", name="registry_export")
@writes
def registry_export(region: str = Query("", max_length=12), q: str = Query("", max_length=64),
                    user: User = Depends(current_user),
                    session: Session = Depends(get_session)) -> Response:
    """The masked person list of the chosen region as xlsx (written to a temp file, then streamed)."""
    region_code = _region_filter(region)
    handle = tempfile.NamedTemporaryFile(prefix="minxin-export-", suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    try:
        export_persons(session, user=user, target=path, region_code=region_code, q=q)
        session.commit()  # the export's audit entry
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    filename = f"户籍成员-{region_code or user.scope_code}-{local_today():%Y%m%d}.xlsx"
    return FileResponse(path, media_type=XLSX, filename=filename,
                        background=BackgroundTask(path.unlink, missing_ok=True))


# ---- household ------------------------------------------------------------------------------------

def _household_page(request: Request, session: Session, user: User, household: Household, *,
                    form: dict[str, str] | None = None, form_error: str | None = None,
                    saved: bool = False, status_code: int = 200) -> Response:
    members = list(household.members)
    n = len(members)
    per_capita = (household.monthly_income_fen + n // 2) // n if n else 0
    return render(request, "registry/household.html", {
        "household": household, "members": members, "per_capita": per_capita,
        "region": region_path(session, household.region_code),
        "history": income_history(session, user=user, household_id=household.id),
        "can_reveal": has_perm(user, Perm.PII_VIEW), "can_declare": has_perm(user, Perm.REGISTRY_WRITE),
        "form": form or {}, "form_error": form_error, "saved": saved, "today": local_today().isoformat(),
    }, status_code=status_code)


@router.get("/households/{household_id}", name="household")
def household_page(request: Request, household_id: int, saved: bool = False,
                   user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """One household: facts, members (ID numbers masked, revealable), income history."""
    household = get_household_for(session, user, household_id)
    return _household_page(request, session, user, household, saved=saved)


def _optional_yuan(value: str, *, field: str) -> int | None:
    return parse_yuan(value, field=field) if value.strip() else None


def _optional_date(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError("申报日期格式应为 年-月-日，如 2026-03-01 (bad date)", field="申报日期") from None


@router.post("/households/{household_id}/income", name="household_declare_income")
def household_declare_income(
    request: Request, household_id: int, monthly_income: str = Form(""), assets: str = Form(""),
    declared_on: str = Form(""), note: str = Form(""), user: User = Depends(current_user),
    session: Session = Depends(get_session),
) -> Response:
    """Record a new income declaration (申报); redisplay the form with the reason if it is refused."""
    household = get_household_for(session, user, household_id)
    form = {"monthly_income": monthly_income, "assets": assets, "declared_on": declared_on, "note": note}
    try:
        if not monthly_income.strip():
            raise ValidationError("请填写家庭月收入 (monthly income is required)", field="月收入")
        declare_income(session, actor=user, household_id=household.id,
                       monthly_income_fen=parse_yuan(monthly_income, field="月收入"),
                       assets_fen=_optional_yuan(assets, field="资产"),
                       declared_on=_optional_date(declared_on), note=note.strip() or None)
    except ValidationError as exc:
        session.rollback()
        household = get_household_for(session, user, household_id)
        message = domain_message(exc.message, lang=request_lang(request))
        return _household_page(request, session, user, household, form=form, form_error=message,
                               status_code=422)
    session.commit()
    return RedirectResponse(f"/households/{household.id}?saved=1#income", status_code=303)


@router.post("/persons/{person_id}/reveal", name="person_reveal")
def person_reveal(request: Request, person_id: int, user: User = Depends(current_user),
                  session: Session = Depends(get_session)) -> Response:
    """Show one full ID number (HTMX swaps it in); the view is written to the audit trail."""
    number = reveal_id_number(session, user=user, person_id=person_id, reason="web:household")
    session.commit()
    template = "registry/_id_revealed.html" if is_htmx(request) else "registry/reveal.html"
    return render(request, template, {"id_number": number, "person_id": person_id})


# ---- import ---------------------------------------------------------------------------------------

def import_counts(result: ImportResult) -> tuple[int, int]:
    """Households and persons stored, or for a dry run those that would be."""
    return result.households, result.persons


def _import_page(request: Request, **context: Any) -> dict[str, Any]:
    return {**upload_limits(), "headers": HEADERS, "max_shown": MAX_ERRORS_SHOWN, **context}


@router.get("/import", name="import")
def import_form(request: Request, user: User = Depends(current_user)) -> Response:
    require_importer(user)
    return render(request, "registry/import.html", _import_page(request))


@router.get("/import/template.xlsx", name="import_template")
def import_template(user: User = Depends(current_user)) -> Response:
    return Response(template_for(user), media_type=XLSX, headers={
        "Content-Disposition": "attachment; filename=\"household-template.xlsx\"; "
                               "filename*=UTF-8''%E6%88%B7%E7%B1%8D%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx",
    })


@router.post("/import")
def import_upload(request: Request, file: UploadFile | None = File(None), dry_run: bool = Form(False),
                  user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Check the whole file; store all of it or nothing; list the errors with a downloadable sheet."""
    lang = request_lang(request)

    def done(result: ImportResult) -> dict[str, Any]:
        households, persons = import_counts(result)
        return {"households": households, "persons": persons,
                "success": gettext("import.checked_ok" if dry_run else "import.ok", lang=lang,
                                   households=households, persons=persons)}

    return handle_import(
        request, session, user=user, file=file, dry_run=dry_run, done=done,
        check=lambda data, filename: import_households(session, actor=user, data=data, filename=filename,
                                                       dry_run=dry_run),
        page=lambda status_code=200, **ctx: render(request, "registry/import.html", _import_page(request, **ctx),
                                                   status_code=status_code))


# ---- home ----------------------------------------------------------------------------------------

@router.get("/", name="home")
def home(request: Request, user: User = Depends(current_user),
         session: Session = Depends(get_session)) -> Response:
    """What waits for the user (待办), their programs at a glance (county and city), the key counts of the
    user's scope, a table per county and a bar chart."""
    counts = city_stats(session, scope_code=user.scope_code)
    counties = counts_by_county(session, scope_code=user.scope_code)
    lang = request_lang(request)
    chart = {
        "title": gettext("home.chart_title", lang=lang),
        "names": [c["name"] for c in counties],
        "series": [
            {"name": gettext("home.urban", lang=lang), "data": [c["urban"] for c in counties]},
            {"name": gettext("home.rural", lang=lang), "data": [c["rural"] for c in counties]},
        ],
    }
    totals = {k: sum(c[k] for c in counties) for k in ("households", "persons", "urban", "rural")}
    today = local_today()
    return render(request, "registry/home.html", {
        "counts": counts, "counties": counties, "totals": totals, "chart": chart,
        "kinds": worklist_for(session, user, today=today), "glance": glance_for(session, user, today=today)})
