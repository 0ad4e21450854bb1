"""农村五保 (P6, P7), premium subsidies 参保参合 (P3) and care institutions 供养机构: the pages.

* `/wubao` — the centralized support rate per county against the ≥ 70% target (table and bar chart),
  the 五保 standards in force per county with how each was derived, and the form that derives a
  year's standards from rural incomes: preview first (nothing stored), then confirm.
* `/premiums` — a year's premium roster summed per scheme, and the roster itself (xlsx or CSV) for
  the insurance agency; it carries full ID numbers, so it needs PII_VIEW and every download is audited.
* `/institutions` — care institutions in scope with the 集中 recipients living in each, and the add form.

Routes stay thin: parse the form, call `assistance.wubao`, `assistance.premiums` or
`registry.service`, commit once; a refusal is shown in Chinese next to its form with nothing stored.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from minxin.assistance.premiums import ROSTER_HEADERS, RosterSummary, export_roster, premium_policy, roster_rows
from minxin.assistance.wubao import (
    PROGRAM,
    DerivedStandard,
    centralized_rate,
    derive_standards,
    institutions_with_residents,
    parse_ratio,
    ratio_band,
    standards_in_force_by_county,
)
from minxin.auth.models import User
from minxin.auth.service import Perm, has_perm
from minxin.core.errors import MinxinError, NotFound, ValidationError
from minxin.core.period import Period
from minxin.programs.policy import load_policy
from minxin.programs.service import list_standards, program_policy, standard_in_force
from minxin.registry.models import Institution, Region
from minxin.registry.service import INSTITUTION_KINDS, add_institution, counties_for, region_choices_for, region_path
from minxin.web.deps import current_user, get_session, writes
from minxin.web.errors import status_for
from minxin.web.i18n import domain_message, gettext
from minxin.web.nav import NavItem
from minxin.web.templating import local_today, render, request_lang

router = APIRouter()

# After the engine's own sections (cases 30, standards 32, cycles 34). Every staff role may read these
# pages; call agents and auditors reach them by address but do not need them in their menu. The roster
# carries full ID numbers, hence PII_VIEW for its entry.
NAV = [
    NavItem(label="nav.wubao", path="/wubao", perm=Perm.CASES_APPLY),
    NavItem(label="nav.premiums", path="/premiums", perm=Perm.PII_VIEW),
    NavItem(label="nav.institutions", path="/institutions", perm=Perm.CASES_APPLY),
]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---- helpers ----------------------------------------------------------------------------------------

def _message(request: Request, exc: MinxinError) -> str:
    return domain_message(exc.message, lang=request_lang(request))


def _redirect(url: str, **params: Any) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return RedirectResponse(url + (f"?{query}" if query else ""), status_code=303)


def _attachment(filename: str, ascii_name: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"}


def _parse_year(text: str) -> int:
    value = text.strip()
    if not (value.isdigit() and len(value) == 4 and 2000 <= int(value) <= 2100):
        raise ValidationError(f"年份应为 2000–2100 之间的四位数字，而不是“{value[:10]}” (bad year)", field="year")
    return int(value)


def _percent(permille: int) -> str:
    return f"{permille / 10:g}"


# ---- /wubao -----------------------------------------------------------------------------------------

def _statistics() -> tuple[int | None, bool]:
    """(latest year of the rural-income table, whether the table is marked verified) from the policy file."""
    table: dict[str, Any] = load_policy().section("statistics").get("rural_net_income", {})
    years = [int(y) for by_year in table.values() if isinstance(by_year, dict) for y in by_year if str(y).isdigit()]
    return (max(years) if years else None), bool(table.get("verified", True))


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
    stats_year, verified = _statistics()
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
        number = _parse_year(year)
        if action != "confirm":
            preview = _preview(session, user, year=number, ratio_text=ratio)
            session.rollback()  # a preview stores nothing
            return _wubao_page(request, session, user, form=form, preview=preview)
        proposals = derive_standards(session, actor=user, year=number, ratio_permille=parse_ratio(ratio), apply=True)
    except MinxinError as exc:
        session.rollback()
        return _wubao_page(request, session, user, form=form, error=_message(request, exc),
                           status_code=status_for(exc))
    session.commit()
    return _redirect("/wubao", derived=number, n=len(proposals))


# ---- /premiums --------------------------------------------------------------------------------------

def _summary(session: Session, user: User, year: int) -> RosterSummary:
    """The roster's totals per scheme, read without writing the roster out (nothing personal is shown)."""
    proration, _ = premium_policy(year)
    summary = RosterSummary(year=year, proration=proration)
    for _row in roster_rows(session, user=user, year=year, summary=summary):
        pass
    return summary


@router.get("/premiums", name="premiums")
def premiums_page(request: Request, year: str = Query("", max_length=10), user: User = Depends(current_user),
                  session: Session = Depends(get_session)) -> Response:
    """A year's premium subsidies per scheme, the proration rule, and the roster downloads."""
    chosen = year or str(local_today().year)
    summary, schemes, error = None, [], None
    try:
        number = _parse_year(chosen)
        summary = _summary(session, user, number)
        _, by_hukou = premium_policy(number)
        schemes = [(s, summary.by_scheme.get(s.scheme, {"people": 0, "total_fen": 0})) for s in by_hukou.values()]
    except MinxinError as exc:
        error = _message(request, exc)
    return render(request, "assistance/premiums.html", {
        "year": chosen, "summary": summary, "schemes": schemes, "error": error,
        "can_download": has_perm(user, Perm.PII_VIEW), "columns": "、".join(ROSTER_HEADERS),
    }, status_code=422 if error else 200)


@router.get("/premiums/{year}/roster.{fmt}", name="premiums_roster")
@writes
def premiums_roster(year: int, fmt: str, user: User = Depends(current_user),
                    session: Session = Depends(get_session)) -> Response:
    """The year's roster for the insurance agency (xlsx, or UTF-8 CSV), full ID numbers; audited."""
    if fmt not in ("xlsx", "csv"):
        raise NotFound("没有这种格式的名册 (no such format)")
    buffer = io.BytesIO()
    export_roster(session, user=user, year=year, target=buffer, fmt=fmt)
    session.commit()
    media = XLSX if fmt == "xlsx" else "text/csv; charset=utf-8"
    return Response(buffer.getvalue(), media_type=media,
                    headers=_attachment(f"{year}年参保参合代缴名册.{fmt}", f"premium-roster-{year}.{fmt}"))


# ---- /institutions ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InstitutionRow:
    institution: Institution
    region: str
    residents: int
    account: str  # the account's last four digits, as staff confirm it with the bank

    @property
    def occupancy_permille(self) -> int | None:
        beds = self.institution.beds
        return self.residents * 1000 // beds if beds else None


def _region_options(session: Session, user: User) -> list[tuple[Region, list[Region]]]:
    """Counties in scope, each with its towns (a town-scoped user gets just the town)."""
    counties = counties_for(session, user)
    towns = [r for r in region_choices_for(session, user) if r.level == "town"]
    return [(c, [t for t in towns if t.code.startswith(c.code)]) for c in counties]


def _institutions_page(request: Request, session: Session, user: User, *, form: dict[str, str] | None = None,
                       error: str | None = None, added: str | None = None, status_code: int = 200) -> Response:
    listed = institutions_with_residents(session, user=user)
    paths: dict[str, str] = {}
    rows = []
    for inst, residents in listed:
        if inst.region_code not in paths:
            paths[inst.region_code] = region_path(session, inst.region_code)
        rows.append(InstitutionRow(inst, paths[inst.region_code], residents,
                                   inst.bank_account[-4:] if inst.bank_account else ""))
    can_add = has_perm(user, Perm.STANDARDS_SET)
    return render(request, "assistance/institutions.html", {
        "rows": rows, "total_beds": sum(i.beds for i, _ in listed), "total_residents": sum(n for _, n in listed),
        "can_add": can_add, "regions": _region_options(session, user) if can_add else [],
        "kinds": INSTITUTION_KINDS, "form": form or {"kind": INSTITUTION_KINDS[0]}, "error": error, "added": added,
        "today": local_today().isoformat(),
    }, status_code=status_code)


@router.get("/institutions", name="institutions")
def institutions_page(request: Request, added: str = Query("", max_length=100), user: User = Depends(current_user),
                      session: Session = Depends(get_session)) -> Response:
    """Care institutions in scope with their 集中 recipients, and the add form for those who may."""
    return _institutions_page(request, session, user, added=added or None)


def _beds(text: str) -> int:
    value = text.strip()
    if not value:
        return 0
    if not value.isdigit() or len(value) > 6:
        raise ValidationError("床位数应为不超过 6 位的非负整数 (beds must be a whole number)", field="beds")
    return int(value)


def _opened_on(text: str) -> date | None:
    value = text.strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValidationError("开办日期格式应为 年-月-日，如 2012-05-01 (bad date)", field="opened_on") from None
    if day > local_today():
        raise ValidationError("开办日期不能晚于今天 (opening date in the future)", field="opened_on")
    return day


@router.post("/institutions", name="institution_add")
def institution_add(request: Request, name: str = Form("", max_length=200), region: str = Form("", max_length=12),
                    kind: str = Form("", max_length=16), beds: str = Form("", max_length=12),
                    bank_account: str = Form("", max_length=60), opened_on: str = Form("", max_length=20),
                    user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Register a care institution; a refusal redisplays the form with the reason and nothing stored."""
    form = {"name": name, "region": region, "kind": kind, "beds": beds, "bank_account": bank_account,
            "opened_on": opened_on}
    try:
        inst = add_institution(session, actor=user, name=name, region_code=region.strip(), kind=kind,
                               beds=_beds(beds), bank_account=bank_account.strip() or None,
                               opened_on=_opened_on(opened_on))
    except MinxinError as exc:
        session.rollback()
        status = 422 if isinstance(exc, NotFound) else status_for(exc)  # a region out of scope is a form error
        return _institutions_page(request, session, user, form=form, error=_message(request, exc),
                                  status_code=status)
    session.commit()
    return _redirect("/institutions", added=inst.name)


# ---- xlsx exports ---------------------------------------------------------------------------------

@router.get("/wubao/rate.xlsx", name="wubao_rate_xlsx")
def wubao_rate_xlsx(user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """The centralized support rate per county (P6) as xlsx."""
    from minxin.tabular import write_xlsx

    rows = [[r["county"], r["name"], r["recipients"], r["centralized"], r["dispersed"],
             f"{r['rate_permille'] / 10:.1f}%", f"{r['target_permille'] / 10:g}%",
             "达标" if r["meets_target"] else "未达标"] for r in centralized_rate(session, user=user)]
    buffer = io.BytesIO()
    write_xlsx(buffer, ["县区代码", "县区", "五保对象", "集中供养", "分散供养", "集中供养率", "目标", "是否达标"], rows,
               sheet="五保集中供养率")
    return Response(buffer.getvalue(), media_type=XLSX,
                    headers=_attachment(f"五保集中供养率-{local_today():%Y%m%d}.xlsx", "wubao-rate.xlsx"))


@router.get("/institutions.xlsx", name="institutions_xlsx")
def institutions_xlsx(user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """The care institutions in scope with their beds and 集中 五保 residents, as xlsx."""
    from minxin.tabular import write_xlsx

    rows = [[i.name, i.kind, region_path(session, i.region_code), i.beds, residents,
             i.opened_on.isoformat() if i.opened_on else None]
            for i, residents in institutions_with_residents(session, user=user)]
    buffer = io.BytesIO()
    write_xlsx(buffer, ["机构名称", "类型", "所在区域", "床位", "集中供养五保对象", "启用日期"], rows, sheet="供养机构",
               widths={"机构名称": 24, "所在区域": 28})
    return Response(buffer.getvalue(), media_type=XLSX,
                    headers=_attachment(f"供养机构-{local_today():%Y%m%d}.xlsx", "institutions.xlsx"))
