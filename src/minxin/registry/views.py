"""Registry pages: the home page (the scope's counts), search, household, income declarations, ID reveal,
export and import."""

from __future__ import annotations

import io
import tempfile
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from minxin.auth.models import User
from minxin.auth.service import Perm, has_perm
from minxin.core.errors import ValidationError
from minxin.core.money import parse_yuan
from minxin.infra.settings import get_settings
from minxin.kit.paging import Page
from minxin.kit.tabular import write_xlsx
from minxin.programs.households import household_cases_for, household_payments_for
from minxin.regions import LABEL_SEPARATOR
from minxin.registry.export import export_persons
from minxin.registry.import_runs import record_refused_file
from minxin.registry.importer import HEADERS, ImportResult, import_households, require_importer, template_for
from minxin.registry.models import Household
from minxin.registry.service import (
    SEARCH_FIELDS,
    all_communities,
    counts_by_county_for,
    declare_income,
    get_household_for,
    income_history,
    region_choices_for,
    region_label,
    region_labels,
    region_path,
    reveal_id_number,
    search_communities,
    search_persons,
)
from minxin.stats import stats_for
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

COMMUNITY_HEADERS = ["县区", "街道/乡镇", "社区/村", "社区代码", "城乡"]


# ---- search ---------------------------------------------------------------------------------------

def _region_filter(region: str) -> str | None:
    region = region.strip()
    if not region:
        return None
    if not region.isdigit() or len(region) not in (6, 9, 12):
        raise ValidationError("区域代码格式不正确 (malformed region code)", field="region")
    return region


@router.get("/registry", name="registry")
def registry_search(request: Request, q: str = Query("", max_length=64), by: str = Query("name_id", max_length=16),
                    region: str = Query("", max_length=12), page: int = Query(1, ge=1, le=100_000),
                    user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Search persons by name or ID number, 户编号, phone, address or community within the user's scope;
    names and numbers masked. A query the search cannot read is shown with its reason (422)."""
    error, status = None, 200
    try:
        region_code = _region_filter(region)
        results = search_persons(session, user=user, q=q, by=by, region_code=region_code, page=page,
                                 page_size=get_settings().page_size)
    except ValidationError as exc:
        error, status = domain_message(exc.message, lang=request_lang(request)), 422
        region_code, results = None, Page(items=[], total=0, page=1, page_size=get_settings().page_size)
    labels = region_labels(session, {p.region_code for p in results.items if p.region_code})
    return render(request, "registry/search.html", {
        "q": q, "by": by if by in SEARCH_FIELDS else "name_id", "fields": SEARCH_FIELDS,
        "region": region_code or "", "results": results,
        "picked_label": region_label(session, region_code) if region_code else "",
        "region_names": labels, "regions": region_choices_for(session, user), "error": error,
    }, status_code=status)


@router.get("/registry/export.xlsx", name="registry_export")
@writes
def registry_export(region: str = Query("", max_length=12), q: str = Query("", max_length=64),
                    by: str = Query("name_id", max_length=16), user: User = Depends(current_user),
                    session: Session = Depends(get_session)) -> Response:
    """The masked person list of the search as xlsx (written to a temp file, then streamed)."""
    region_code = _region_filter(region)
    handle = tempfile.NamedTemporaryFile(prefix="minxin-export-", suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    try:
        export_persons(session, user=user, target=path, region_code=region_code, q=q, by=by)
        session.commit()  # the export's audit entry
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    label = region_label(session, region_code or user.scope_code).replace(LABEL_SEPARATOR, "")
    filename = f"户籍成员-{label}-{local_today():%Y%m%d}.xlsx"
    return FileResponse(path, media_type=XLSX, filename=filename,
                        background=BackgroundTask(path.unlink, missing_ok=True))


# ---- communities: the code list and the picker ----------------------------------------------------

@router.get("/registry/communities", name="communities")
def communities_page(request: Request, q: str = Query("", max_length=64), page: int = Query(1, ge=1, le=100_000),
                     pick: str = Query("", max_length=16), user: User = Depends(current_user),
                     session: Session = Depends(get_session)) -> Response:
    """The community codes of the user's scope (社区代码表), searchable by name, town or code: the
    code list the import template points to, and the picker of the registry search (``pick=registry``
    links each community back to the search)."""
    error, status = None, 200
    try:
        found = search_communities(session, user=user, q=q, page=page, page_size=get_settings().page_size)
    except ValidationError as exc:
        error, status = domain_message(exc.message, lang=request_lang(request)), 422
        found = Page(items=[], total=0, page=1, page_size=get_settings().page_size)
    partial = is_htmx(request) and request.headers.get("HX-Target") == "community-results"
    return render(request, "registry/_communities.html" if partial else "registry/communities.html", {
        "q": q, "found": found, "error": error, "pick": "registry" if pick == "registry" else "",
    }, status_code=status)


@router.get("/registry/communities.xlsx", name="communities_xlsx")
def communities_xlsx(q: str = Query("", max_length=64), user: User = Depends(current_user),
                     session: Session = Depends(get_session)) -> Response:
    """The community code list of the user's scope as a spreadsheet (codes as text, so Excel keeps them)."""
    rows = [[c.county, c.town, c.name, c.code, "城镇" if c.urban else "农村"]
            for c in all_communities(session, user=user, q=q)]
    buffer = io.BytesIO()
    write_xlsx(buffer, COMMUNITY_HEADERS, rows, sheet="社区代码", text_columns=("社区代码",),
               widths={"县区": 12, "街道/乡镇": 14, "社区/村": 16, "社区代码": 16})
    filename = f"社区代码表-{local_today():%Y%m%d}.xlsx"
    return Response(buffer.getvalue(), media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"communities.xlsx\"; filename*=UTF-8''{quote(filename)}"})


# ---- household ------------------------------------------------------------------------------------

def _household_page(request: Request, session: Session, user: User, household: Household, *,
                    form: dict[str, str] | None = None, form_error: str | None = None,
                    saved: bool = False, status_code: int = 200, page: int = 1) -> Response:
    members = list(household.members)
    n = len(members)
    per_capita = (household.monthly_income_fen + n // 2) // n if n else 0
    names = {p.id: p.name for p in members}
    return render(request, "registry/household.html", {
        "household": household, "members": members, "per_capita": per_capita,
        "region": region_path(session, household.region_code),
        "region_label": region_label(session, household.region_code),
        "history": income_history(session, user=user, household_id=household.id),
        "cases": household_cases_for(session, user, household.id),
        "payments": household_payments_for(session, user, household.id, page=page,
                                           page_size=get_settings().page_size),
        "member_names": names,
        "can_reveal": has_perm(user, Perm.PII_VIEW), "can_declare": has_perm(user, Perm.REGISTRY_WRITE),
        "form": form or {}, "form_error": form_error, "saved": saved, "today": local_today().isoformat(),
    }, status_code=status_code)


@router.get("/households/{household_id}", name="household")
def household_page(request: Request, household_id: int, saved: bool = False,
                   page: int = Query(1, ge=1, le=100_000),
                   user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """One household: facts, members (ID numbers masked, revealable), income history, its cases in every
    program with their status, and its payments (newest first, paged)."""
    household = get_household_for(session, user, household_id)
    return _household_page(request, session, user, household, saved=saved, page=page)


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
def import_template(user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """The import template, with the community codes of the user's scope on a sheet of their own."""
    require_importer(user)
    codes = [(c.county, c.town, c.name, c.code) for c in all_communities(session, user=user)]
    return Response(template_for(user, codes), media_type=XLSX, headers={
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
        too_large=lambda filename, reason: record_refused_file(session, actor=user, kind="households",
                                                               filename=filename, reason=reason),
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
    counts = stats_for(session, user)
    counties = counts_by_county_for(session, user)
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


# ---- strings of the finder: search fields, community code list, a household's cases and payments ----

_ZH = {
    "finder.by_label": "查找方式",
    "finder.by.name_id": "姓名或身份证号",
    "finder.by.household_no": "户编号",
    "finder.by.phone": "联系电话",
    "finder.by.address": "家庭住址",
    "finder.by.community": "所属社区",
    "finder.q_label": "查询内容",
    "finder.q_placeholder": "姓名、身份证号（或后几位）、户编号、电话、住址或社区名",
    "finder.pick_community": "选择社区",
    "finder.communities_title": "社区代码表",
    "finder.communities_intro": "辖区内的社区（村）及其 12 位代码，导入户籍时“社区代码”一列按此填写；可导出为 Excel。",
    "finder.communities_intro_pick": "按名称、街道或代码查找社区，点“选择”回到户籍查询并按该社区筛选。",
    "finder.community_q": "社区名称、街道或代码",
    "finder.community_q_placeholder": "如 胜利、新海街道 胜利，或社区代码的前几位",
    "finder.communities_export": "导出 Excel",
    "finder.col_community": "街道 · 社区",
    "finder.col_code": "社区代码",
    "finder.col_county": "县区",
    "finder.col_urban": "城乡",
    "finder.urban": "城镇",
    "finder.rural": "农村",
    "finder.pick": "选择",
    "finder.find_persons": "查看人员",
    "finder.no_communities": "没有找到符合条件的社区。",
    "finder.cases": "救助与保障项目（{n} 件）",
    "finder.col_program": "项目",
    "finder.col_beneficiary": "对象",
    "finder.col_category": "类别",
    "finder.col_status": "状态",
    "finder.col_period": "起止月份",
    "finder.open_case": "查看案件",
    "finder.no_cases": "本户没有救助或保障案件。",
    "finder.payments": "发放记录（按月份从新到旧）",
    "finder.col_month": "月份",
    "finder.col_amount": "金额（元）",
    "finder.col_pay_status": "发放结果",
    "finder.no_payments": "本户还没有发放记录。",
    "finder.template_codes": "社区代码请在 社区代码表 中查找（可按名称搜索、可导出）；"
                             "下载的模板也附有您辖区的社区代码。",
    "finder.template_codes_link": "打开社区代码表",
}

_EN = {
    "finder.by_label": "Search by",
    "finder.by.name_id": "Name or ID number",
    "finder.by.household_no": "Household no.",
    "finder.by.phone": "Phone",
    "finder.by.address": "Address",
    "finder.by.community": "Community",
    "finder.q_label": "Search for",
    "finder.q_placeholder": "Name, ID number (or its last digits), household no., phone, address or community",
    "finder.pick_community": "Pick a community",
    "finder.communities_title": "Community codes",
    "finder.communities_intro": "The communities (villages) of your scope and their 12-digit codes, for the "
                                "import's community code column; exportable to Excel.",
    "finder.communities_intro_pick": "Find a community by name, town or code; Pick returns to the registry search "
                                     "filtered by it.",
    "finder.community_q": "Community, town or code",
    "finder.community_q_placeholder": "e.g. 胜利, 新海街道 胜利 or 320706",
    "finder.communities_export": "Export to Excel",
    "finder.col_community": "Town · community",
    "finder.col_code": "Community code",
    "finder.col_county": "County",
    "finder.col_urban": "Urban/rural",
    "finder.urban": "Urban",
    "finder.rural": "Rural",
    "finder.pick": "Pick",
    "finder.find_persons": "Persons",
    "finder.no_communities": "No community matches.",
    "finder.cases": "Cases ({n})",
    "finder.col_program": "Program",
    "finder.col_beneficiary": "For",
    "finder.col_category": "Category",
    "finder.col_status": "Status",
    "finder.col_period": "Months",
    "finder.open_case": "Open case",
    "finder.no_cases": "The household has no case.",
    "finder.payments": "Payments (newest first)",
    "finder.col_month": "Month",
    "finder.col_amount": "Amount (yuan)",
    "finder.col_pay_status": "Result",
    "finder.no_payments": "No payment yet.",
    "finder.template_codes": "Look community codes up in the community code list (searchable, exportable); the "
                             "template you download also lists your scope's codes.",
    "finder.template_codes_link": "Open the community code list",
}

MESSAGES = {"zh": _ZH, "en": _EN}
