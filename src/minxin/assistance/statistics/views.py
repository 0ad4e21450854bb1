"""统计数据 page: the rural per-capita net income per county and year that 五保 standards are derived from,
read by staff, entered and corrected by county and city staff."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from minxin.assistance.statistics.models import FIRST_YEAR, LAST_YEAR
from minxin.assistance.statistics.service import rural_income_table, set_rural_income
from minxin.auth.models import User
from minxin.auth.service import Perm, has_perm
from minxin.core.errors import MinxinError, NotFound
from minxin.web.deps import current_user, get_session
from minxin.web.errors import status_for
from minxin.web.i18n import domain_message
from minxin.web.nav import NavItem
from minxin.web.templating import local_today, render, request_lang, yuan

router = APIRouter()

NAV = [NavItem(label="nav.statistics", path="/statistics/rural-income", perm=Perm.STANDARDS_SET)]

SHOWN_YEARS = 8  # the table's columns: the newest years with a figure

_ZH = {
    "nav.statistics": "统计数据",
    "statistics.title": "农民人均纯收入",
    "statistics.intro": "各县区上年农民人均纯收入是推算五保供养标准的依据（标准 = 上年农民人均纯收入 × 比例）。"
                        "请按统计部门公布的数字录入；录错的可以重新录入同一县区、同一年度的数字更正，每次录入都记入审计日志。",
    "statistics.col_county": "县区",
    "statistics.unit": "单位：元/人·年",
    "statistics.from_policy": "政策文件",
    "statistics.unverified": "政策文件中的数字尚未与统计年鉴核对；在本页录入后以录入的数字为准。",
    "statistics.entered_by": "{who} {at} 录入",
    "statistics.empty": "还没有任何县区的农民人均纯收入。",
    "statistics.form_title": "录入或更正",
    "statistics.county": "县区",
    "statistics.year": "年度",
    "statistics.amount": "农民人均纯收入（元）",
    "statistics.amount_placeholder": "如 9100 或 9100.50",
    "statistics.source": "数据来源（可空）",
    "statistics.source_placeholder": "如：连云港统计年鉴 2012 第 5 章",
    "statistics.submit": "保存",
    "statistics.saved": "已保存：{county} {year} 年农民人均纯收入 {amount} 元。",
    "statistics.derive_hint": "录入某年的数字后，即可在“五保”页推算下一年的五保供养标准。",
    "statistics.wubao_link": "五保供养标准",
}

_EN = {
    "nav.statistics": "Statistics",
    "statistics.title": "Rural per-capita net income",
    "statistics.intro": "Each county's previous-year rural per-capita net income is what the 五保 standard is derived "
                        "from (standard = income × ratio). Enter the statistics bureau's figures; enter a county and "
                        "year again to correct it. Every entry is audited.",
    "statistics.col_county": "County",
    "statistics.unit": "Yuan per person per year",
    "statistics.from_policy": "policy file",
    "statistics.unverified": "The policy file's figures are not checked against the yearbook; a figure entered here "
                             "takes their place.",
    "statistics.entered_by": "entered by {who} at {at}",
    "statistics.empty": "No county has a figure yet.",
    "statistics.form_title": "Enter or correct",
    "statistics.county": "County",
    "statistics.year": "Year",
    "statistics.amount": "Rural per-capita net income (yuan)",
    "statistics.amount_placeholder": "e.g. 9100 or 9100.50",
    "statistics.source": "Source (optional)",
    "statistics.source_placeholder": "e.g. Lianyungang Statistical Yearbook 2012, ch. 5",
    "statistics.submit": "Save",
    "statistics.saved": "Saved: {county} {year}, {amount} yuan.",
    "statistics.derive_hint": "Once a year's figures are in, the next year's 五保 standard can be derived on "
                              "the 五保 page.",
    "statistics.wubao_link": "五保 standards",
}

MESSAGES = {"zh": _ZH, "en": _EN}


def _page(request: Request, session: Session, user: User, *, form: dict[str, str] | None = None,
          error: str | None = None, saved: dict[str, str] | None = None, status_code: int = 200) -> Response:
    table = rural_income_table(session, user=user)
    this_year = local_today().year
    latest = table.latest_year()
    # The figure most likely to be entered next: the year after the newest one, up to last year.
    default_year = min(latest + 1, this_year - 1) if latest is not None else this_year - 1
    can_edit = has_perm(user, Perm.STANDARDS_SET)
    counties = table.counties
    return render(request, "assistance/statistics.html", {
        "table": table, "years": table.years[:SHOWN_YEARS], "can_edit": can_edit,
        "any_unverified": any(not f.entered for f in table.figures.values()) and not table.policy_verified,
        "form": form or {"county": counties[0].code if len(counties) == 1 else "", "year": str(default_year)},
        "error": error, "saved": saved, "first_year": FIRST_YEAR, "last_year": LAST_YEAR,
    }, status_code=status_code)


@router.get("/statistics/rural-income", name="rural_income")
def rural_income_page(request: Request, county: str = Query("", max_length=6), year: str = Query("", max_length=4),
                      user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Every county's figures in the user's scope, and the entry form for county and city staff; after a
    save (county and year in the query) the figure as stored."""
    saved = None
    table = rural_income_table(session, user=user)
    names = {c.code: c.name for c in table.counties}
    figure = table.figures.get((county, int(year))) if county in names and year.isdigit() else None
    if figure is not None:
        saved = {"county": names[county], "year": year, "amount": yuan(figure.amount_fen)}
    return _page(request, session, user, saved=saved)


@router.post("/statistics/rural-income", name="rural_income_set")
def rural_income_set(request: Request, county: str = Form("", max_length=12), year: str = Form("", max_length=10),
                     amount: str = Form("", max_length=30), source: str = Form("", max_length=400),
                     user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Enter or correct one figure; a refusal shows the form again with the reason, nothing stored."""
    form = {"county": county, "year": year, "amount": amount, "source": source}
    try:
        row = set_rural_income(session, actor=user, county=county, year=year, amount=amount, source=source)
    except MinxinError as exc:
        session.rollback()
        status = 422 if isinstance(exc, NotFound) else status_for(exc)  # a county out of scope is a form error
        if status == 403:
            raise
        return _page(request, session, user, form=form, status_code=status,
                     error=domain_message(exc.message, lang=request_lang(request)))
    session.commit()
    query: dict[str, Any] = {"county": row.county_code, "year": row.year}
    return RedirectResponse(f"/statistics/rural-income?{urlencode(query)}#form-card", status_code=303)
