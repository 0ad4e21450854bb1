"""农村五保 (P6, P7): the pages.

* `/wubao` — the centralized support rate per county against the ≥ 70% target (table and bar chart),
  the 五保 standards in force per county with how each was derived, and the form that derives a
  year's standards from rural incomes: preview first (nothing stored), then confirm.
* `/wubao/rate.xlsx` — the rate table as a spreadsheet.

Routes stay thin: parse the form, call `assistance.wubao`, commit once; a refusal is shown in Chinese
next to its form with nothing stored. The strings are in `assistance.wubao.messages`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from minxin.assistance.statistics.service import rural_income_table
from minxin.assistance.wubao import (
    PROGRAM,
    DerivedStandard,
    centralized_rate,
    derive_standards,
    parse_ratio,
    ratio_band,
    standards_in_force_by_county,
)
from minxin.auth.models import User
from minxin.auth.service import Perm, has_perm
from minxin.core.errors import MinxinError, NotFound
from minxin.core.period import Period
from minxin.programs.service import list_standards, program_policy, standard_in_force
from minxin.web.deps import current_user, get_session
from minxin.web.errors import status_for
from minxin.web.forms import XLSX, attachment, error_message, parse_year, see_other
from minxin.web.i18n import gettext
from minxin.web.nav import NavItem
from minxin.web.templating import local_today, render, request_lang

router = APIRouter()

# After the engine's own sections (cases 30, standards 32, cycles 34); premiums and institutions follow
# (their own sub-packages). Every staff role may read the page.
NAV = [NavItem(label="nav.wubao", path="/wubao", perm=Perm.CASES_APPLY)]


def _percent(permille: int) -> str:
    return f"{permille / 10:g}"


# ---- /wubao -----------------------------------------------------------------------------------------

def _statistics(session: Session, user: User) -> tuple[int | None, bool]:
    """(latest year with a rural-income figure, whether that year's figures are all checked: entered in the
    web, or from a policy file marked verified)."""
    table = rural_income_table(session, user=user)
    latest = table.latest_year()
    if latest is None:
        return None, True
    figures = [f for (_, y), f in table.figures.items() if y == latest]
    return latest, table.policy_verified or all(f.entered for f in figures)


def _target_permille(rates: list[dict[str, Any]]) -> int:
    if rates:
        return int(rates[0]["target_permille"])
    return int(program_policy(PROGRAM).extra.get("centralized_target_permille", 700))


def _chart(request: Request, rates: list[dict[str, Any]], target: int) -> dict[str, Any] | None:
    counties = [r for r in rates if r["county"]]
    if not counties:
        return None
    lang = request_lang(request)
    return {"names": [r["name"] for r in counties], "rates": [r["rate_permille"] / 10 for r in counties],
            "meets": [r["meets_target"] for r in counties], "target": target / 10,
            "label": gettext("wubao.chart_label", lang=lang),
            "target_label": gettext("wubao.chart_target", lang=lang, target=_percent(target))}


def _shortfall(row: dict[str, Any]) -> int:
    """How many more centralized recipients would reach the target (0 when met)."""
    recipients, centralized, target = int(row["recipients"]), int(row["centralized"]), int(row["target_permille"])
    needed = -(-recipients * target // 1000)  # ceiling
    return max(0, needed - centralized)


@dataclass(frozen=True)
class Preview:
    year: int
    ratio_text: str
    proposals: list[DerivedStandard]
    before: dict[str, list[int]]  # county → its distinct standards (fen/year) in force before the new year
    existing: list[str]  # counties that already have a standard from 1 January of the year


def _preview(session: Session, user: User, *, year: int, ratio_text: str) -> Preview:
    proposals = derive_standards(session, actor=user, year=year, ratio_permille=parse_ratio(ratio_text), apply=False)
    codes = {p.county for p in proposals}
    existing = sorted({s.region_code for s in list_standards(session, program=PROGRAM)
                       if s.region_code in codes and s.effective_from == date(year, 1, 1)})
    before = {}
    for p in proposals:
        amounts = []
        for category in program_policy(PROGRAM).categories:
            try:
                amounts.append(standard_in_force(session, program=PROGRAM, region_code=p.county,
                                                 period=Period(year - 1, 12), category=category).amount_fen)
            except NotFound:
                continue
        before[p.county] = list(dict.fromkeys(amounts))
    names = {p.county: p.name for p in proposals}
    return Preview(year=year, ratio_text=ratio_text, proposals=proposals, before=before,
                   existing=[names[c] for c in existing])


def _wubao_page(request: Request, session: Session, user: User, *, form: dict[str, str] | None = None,
                error: str | None = None, preview: Preview | None = None, derived: tuple[int, int] | None = None,
                status_code: int = 200) -> Response:
    rates = centralized_rate(session, user=user)
    target = _target_permille(rates)
    today = local_today()
    low, high, default = ratio_band()
    stats_year, verified = _statistics(session, user)
    can_derive = has_perm(user, Perm.STANDARDS_SET)
    standards = standards_in_force_by_county(session, user=user, period=Period.of(today))
    return render(request, "assistance/wubao.html", {
        "rates": [(r, _shortfall(r)) for r in rates], "target": target, "chart": _chart(request, rates, target),
        "month": str(Period.of(today)),
        "standards": standards, "any_standard": any(s.annual_fen is not None for s in standards),
        "band": {"low": _percent(low), "high": _percent(high), "default": _percent(default)},
        "can_derive": can_derive, "verified": verified,
        "form": form or {"year": str((stats_year + 1) if stats_year else today.year), "ratio": f"{_percent(default)}%"},
        "error": error, "preview": preview,
        "backdated": preview is not None and date(preview.year, 1, 1) < today.replace(day=1),
        "derived": derived,
    }, status_code=status_code)


@router.get("/wubao", name="wubao")
def wubao_page(request: Request, derived: int | None = Query(None, ge=2000, le=2100),
               n: int | None = Query(None, ge=0, le=1000), user: User = Depends(current_user),
               session: Session = Depends(get_session)) -> Response:
    """Centralized support rate per county, the standards in force, and (for those who may) the derive form."""
    return _wubao_page(request, session, user, derived=(derived, n or 0) if derived else None)


@router.post("/wubao/standards", name="wubao_derive")
def wubao_derive(request: Request, year: str = Form("", max_length=10), ratio: str = Form("", max_length=20),
                 action: str = Form("preview", max_length=10), user: User = Depends(current_user),
                 session: Session = Depends(get_session)) -> Response:
    """Derive a year's standards: `preview` lists the proposals and stores nothing; `confirm` sets them."""
    form = {"year": year, "ratio": ratio}
    try:
        number = parse_year(year)
        if action != "confirm":
            preview = _preview(session, user, year=number, ratio_text=ratio)
            session.rollback()  # a preview stores nothing
            return _wubao_page(request, session, user, form=form, preview=preview)
        proposals = derive_standards(session, actor=user, year=number, ratio_permille=parse_ratio(ratio), apply=True)
    except MinxinError as exc:
        session.rollback()
        return _wubao_page(request, session, user, form=form, error=error_message(request, exc),
                           status_code=status_for(exc))
    session.commit()
    return see_other("/wubao", derived=number, n=len(proposals))


@router.get("/wubao/rate.xlsx", name="wubao_rate_xlsx")
def wubao_rate_xlsx(user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """The centralized support rate per county (P6) as xlsx."""
    from minxin.kit.tabular import write_xlsx

    rows = [[r["county"], r["name"], r["recipients"], r["centralized"], r["dispersed"],
             f"{r['rate_permille'] / 10:.1f}%", f"{r['target_permille'] / 10:g}%",
             "达标" if r["meets_target"] else "未达标"] for r in centralized_rate(session, user=user)]
    buffer = io.BytesIO()
    write_xlsx(buffer, ["县区代码", "县区", "五保对象", "集中供养", "分散供养", "集中供养率", "目标", "是否达标"], rows,
               sheet="五保集中供养率")
    return Response(buffer.getvalue(), media_type=XLSX,
                    headers=attachment(f"五保集中供养率-{local_today():%Y%m%d}.xlsx", "wubao-rate.xlsx"))
