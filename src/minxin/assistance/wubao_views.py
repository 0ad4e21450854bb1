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
from minxin.assistance.statistics.service import rural_income_table
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

_ZH: dict[str, str] = {
    "nav.wubao": "五保",
    "nav.premiums": "参保代缴",
    "nav.institutions": "供养机构",
    # /wubao
    "wubao.title": "农村五保供养",
    "wubao.intro": "市民政工作计划：农村五保集中供养率达到 {target}% 以上；五保供养标准按上年农民人均纯收入的 "
                   "{low}%–{high}% 确定。",
    "wubao.case_link": "五保案件",
    "wubao.institutions_link": "供养机构",
    "wubao.standards_link": "全部标准记录",
    "wubao.rate_title": "集中供养率",
    "wubao.rate_note": "在保五保对象按县区统计；集中供养指居住在敬老院等供养机构、供养金拨付机构的对象。",
    "wubao.col_county": "县区",
    "wubao.col_recipients": "五保对象（人）",
    "wubao.col_centralized": "集中供养",
    "wubao.col_dispersed": "分散供养",
    "wubao.col_rate": "集中供养率",
    "wubao.col_status": "目标 ≥ {target}%",
    "wubao.met": "达标",
    "wubao.below": "未达标",
    "wubao.short": "差 {n} 人",
    "wubao.no_recipients": "辖区内没有在保的五保对象。",
    "wubao.chart_label": "集中供养率（%）",
    "wubao.chart_target": "目标 {target}%",
    "wubao.std_title": "现行五保供养标准（{month}）",
    "wubao.std_note": "按年标准发放，每月发放年标准 ÷ 12（分以下舍去）；集中供养的拨付供养机构，分散供养的发给本人。",
    "wubao.col_category": "类别",
    "wubao.col_annual": "年标准（元）",
    "wubao.col_monthly": "月发放（元）",
    "wubao.col_effective": "生效日期",
    "wubao.col_source": "依据",
    "wubao.inherited": "沿用 {region}",
    "wubao.missing": "未设置",
    "wubao.none_set": "辖区内尚未设定五保供养标准。",
    "wubao.derive_title": "设定年度五保标准",
    "wubao.derive_intro": "各县区标准 = 上年农民人均纯收入 × 比例；集中、分散同一标准，当年 1 月 1 日起生效。"
                          "先预览，确认后才会设定。",
    "wubao.derive_band": "比例允许范围 {low}%–{high}%，默认 {default}%。",
    "wubao.unverified": "政策文件中的农民人均纯收入尚未与统计年鉴核对，设定前请先核实，"
                        "并在“统计数据”页录入或更正。",
    "wubao.statistics_link": "统计数据（农民人均纯收入）",
    "wubao.year": "标准年度",
    "wubao.ratio": "比例",
    "wubao.ratio_placeholder": "如 55% 或 0.55",
    "wubao.preview": "预览",
    "wubao.preview_title": "{year} 年五保供养标准（预览，尚未设定）",
    "wubao.col_income": "{year} 年农民人均纯收入（元）",
    "wubao.col_ratio": "比例",
    "wubao.col_new": "{year} 年标准（元/年）",
    "wubao.col_new_monthly": "月发放（元）",
    "wubao.col_before": "现行标准（元/年）",
    "wubao.col_explain": "计算说明",
    "wubao.exists": "{names} 已有 {year} 年 1 月 1 日生效的五保标准。标准只增不改，"
                    "如需调整请在“标准”页面另设生效日期。",
    "wubao.backdated": "生效日期早于本月：确认后，下一期发放将为已发放的月份补发差额。",
    "wubao.confirm": "确认设定",
    "wubao.confirm_note": "确认后为以上 {n} 个县区新增集中、分散两类标准，并记入审计日志。",
    "wubao.back": "修改",
    "wubao.derived": "已设定 {year} 年五保供养标准（{n} 个县区，集中、分散同一标准，{year}-01-01 起生效）。",
    # /premiums
    "premiums.title": "参保参合代缴",
    "premiums.intro": "自 2012 年起，市财政全额代缴所有低保家庭成员和农村五保供养对象"
                      "参加城镇居民医保或新农合的个人缴费。",
    "premiums.year": "年度",
    "premiums.people": "代缴人数",
    "premiums.total": "代缴总额（元）",
    "premiums.scheme_people": "{scheme}（人）",
    "premiums.columns": "名册列：{columns}",
    "premiums.by_scheme": "{year} 年分险种汇总",
    "premiums.col_scheme": "险种",
    "premiums.col_hukou": "户籍类别",
    "premiums.col_amount": "个人缴费标准（元/年）",
    "premiums.col_effective": "标准生效",
    "premiums.col_people": "人数",
    "premiums.col_total": "代缴金额（元）",
    "premiums.proration.monthly": "年内参保或退出的按覆盖月数折算：个人缴费标准 × 覆盖月数 ÷ 12（分以下舍去）。",
    "premiums.proration.whole_year": "年内任一月在保的，按全年个人缴费标准代缴。",
    "premiums.rule": "名册包括当年任一月在保（含暂停、终止前）的低保家庭全体成员和五保对象；同时属于两类的只计一次；"
                     "险种按户籍类别确定。",
    "premiums.download_title": "代缴名册",
    "premiums.download_note": "名册含完整身份证号，供医保经办机构使用；每次下载都记入审计日志。",
    "premiums.xlsx": "下载 Excel",
    "wubao.export_xlsx": "导出 Excel",
    "premiums.csv": "下载 CSV（UTF-8）",
    "premiums.no_pii": "代缴名册含完整身份证号，当前角色无权下载。",
    "premiums.empty": "{year} 年没有需要代缴的人员。",
    # /institutions
    "institutions.title": "供养机构",
    "institutions.intro": "敬老院、福利院等供养机构；集中供养的五保对象居住在机构内，供养金拨付机构账户。",
    "institutions.col_name": "名称",
    "institutions.col_kind": "类型",
    "institutions.col_region": "所在县区/乡镇",
    "institutions.col_beds": "床位",
    "institutions.col_residents": "集中供养五保对象",
    "institutions.col_occupancy": "床位占用",
    "institutions.col_opened": "开办日期",
    "institutions.col_account": "拨付账号",
    "institutions.account_tail": "尾号 {tail}",
    "institutions.no_account": "未登记",
    "institutions.over_capacity": "超出床位",
    "institutions.empty": "辖区内还没有登记供养机构。",
    "institutions.count": "共 {n} 家",
    "institutions.residents_note": "集中供养五保对象按在保案件统计。",
    "institutions.add": "登记供养机构",
    "institutions.name": "名称",
    "institutions.region": "所在县区或乡镇",
    "institutions.kind": "类型",
    "institutions.beds": "床位数",
    "institutions.account": "拨付银行账号（可空，12–30 位数字）",
    "institutions.opened_on": "开办日期（可空）",
    "institutions.submit": "登记",
    "institutions.added": "已登记供养机构：{name}。",
}

_EN: dict[str, str] = {
    "nav.wubao": "Five guarantees",
    "nav.premiums": "Premiums",
    "nav.institutions": "Institutions",
    # /wubao
    "wubao.title": "Rural five-guarantee support",
    "wubao.intro": "The city plan: a centralized support rate of at least {target}%; each county's standard is "
                   "{low}%–{high}% of the previous year's rural per-capita net income.",
    "wubao.case_link": "Five-guarantee cases",
    "wubao.institutions_link": "Institutions",
    "wubao.standards_link": "All standard records",
    "wubao.rate_title": "Centralized support rate",
    "wubao.rate_note": "Active recipients per county; centralized recipients live in a care institution, which is "
                       "paid their support.",
    "wubao.col_county": "County",
    "wubao.col_recipients": "Recipients",
    "wubao.col_centralized": "Centralized",
    "wubao.col_dispersed": "Dispersed",
    "wubao.col_rate": "Centralized rate",
    "wubao.col_status": "Target ≥ {target}%",
    "wubao.met": "Met",
    "wubao.below": "Below",
    "wubao.short": "{n} short",
    "wubao.no_recipients": "No active five-guarantee recipients in your scope.",
    "wubao.chart_label": "Centralized rate (%)",
    "wubao.chart_target": "Target {target}%",
    "wubao.std_title": "Standards in force ({month})",
    "wubao.std_note": "Annual standards, paid monthly as the annual standard ÷ 12 (whole fen); centralized support "
                      "goes to the institution, dispersed support to the person.",
    "wubao.col_category": "Category",
    "wubao.col_annual": "Annual (yuan)",
    "wubao.col_monthly": "Monthly (yuan)",
    "wubao.col_effective": "Effective",
    "wubao.col_source": "Basis",
    "wubao.inherited": "from {region}",
    "wubao.missing": "not set",
    "wubao.none_set": "No five-guarantee standard has been set in your scope yet.",
    "wubao.derive_title": "Set a year's standards",
    "wubao.derive_intro": "Each county's standard = previous year's rural per-capita net income × ratio, the same "
                          "for centralized and dispersed, effective 1 January. Preview first; nothing is set until "
                          "you confirm.",
    "wubao.derive_band": "Allowed ratio {low}%–{high}%, default {default}%.",
    "wubao.unverified": "The rural incomes in the policy file are not yet checked against the statistical "
                        "yearbook; verify them before setting.",
    "wubao.year": "Year",
    "wubao.ratio": "Ratio",
    "wubao.ratio_placeholder": "e.g. 55% or 0.55",
    "wubao.preview": "Preview",
    "wubao.preview_title": "{year} standards (preview, not set yet)",
    "wubao.col_income": "{year} rural income (yuan)",
    "wubao.statistics_link": "Statistics (rural income)",
    "wubao.col_ratio": "Ratio",
    "wubao.col_new": "{year} standard (yuan/year)",
    "wubao.col_new_monthly": "Monthly (yuan)",
    "wubao.col_before": "In force now (yuan/year)",
    "wubao.col_explain": "Calculation",
    "wubao.exists": "{names} already have a standard effective 1 January {year}. Standards are never edited; "
                    "to change one, add a standard with another date on the Standards page.",
    "wubao.backdated": "Effective before this month: the next payment cycle pays the difference for months "
                       "already paid.",
    "wubao.confirm": "Confirm and set",
    "wubao.confirm_note": "Adds centralized and dispersed standards for the {n} counties above, audited.",
    "wubao.back": "Change",
    "wubao.derived": "{year} standards set ({n} counties, centralized and dispersed alike, from {year}-01-01).",
    # /premiums
    "premiums.title": "Medical-insurance premiums paid by the city",
    "premiums.intro": "From 2012 the city pays in full the individual premium of every minimum-living-guarantee "
                      "household member and every rural five-guarantee recipient (urban resident insurance or "
                      "the rural cooperative scheme).",
    "premiums.year": "Year",
    "premiums.people": "People",
    "premiums.total": "Total (yuan)",
    "premiums.scheme_people": "{scheme} (people)",
    "premiums.columns": "Columns: {columns}",
    "premiums.by_scheme": "{year} by scheme",
    "premiums.col_scheme": "Scheme",
    "premiums.col_hukou": "Hukou",
    "premiums.col_amount": "Individual premium (yuan/year)",
    "premiums.col_effective": "Effective",
    "premiums.col_people": "People",
    "premiums.col_total": "Paid (yuan)",
    "premiums.proration.monthly": "People who join or leave during the year are charged pro rata: premium × months "
                                  "covered ÷ 12 (whole fen).",
    "premiums.proration.whole_year": "Anyone covered in any month of the year is paid for the whole year.",
    "premiums.rule": "The roster lists every member of a 低保 household and every 五保 person covered in any month "
                     "of the year (suspended or terminated later included), each once; the scheme follows the "
                     "hukou.",
    "premiums.download_title": "Roster",
    "premiums.download_note": "The roster has full ID numbers, for the insurance agency; every download is audited.",
    "premiums.xlsx": "Download Excel",
    "wubao.export_xlsx": "Export Excel",
    "premiums.csv": "Download CSV (UTF-8)",
    "premiums.no_pii": "The roster has full ID numbers; your role may not download it.",
    "premiums.empty": "Nobody to pay for in {year}.",
    # /institutions
    "institutions.title": "Care institutions",
    "institutions.intro": "Homes for the elderly and welfare homes; centralized five-guarantee recipients live there "
                          "and their support is paid to the institution.",
    "institutions.col_name": "Name",
    "institutions.col_kind": "Kind",
    "institutions.col_region": "County / town",
    "institutions.col_beds": "Beds",
    "institutions.col_residents": "Centralized recipients",
    "institutions.col_occupancy": "Beds used",
    "institutions.col_opened": "Opened",
    "institutions.col_account": "Account",
    "institutions.account_tail": "ending {tail}",
    "institutions.no_account": "none",
    "institutions.over_capacity": "over capacity",
    "institutions.empty": "No care institution registered in your scope.",
    "institutions.count": "{n} institutions",
    "institutions.residents_note": "Centralized recipients are counted from active cases.",
    "institutions.add": "Register an institution",
    "institutions.name": "Name",
    "institutions.region": "County or town",
    "institutions.kind": "Kind",
    "institutions.beds": "Beds",
    "institutions.account": "Bank account (optional, 12–30 digits)",
    "institutions.opened_on": "Opened on (optional)",
    "institutions.submit": "Register",
    "institutions.added": "Institution registered: {name}.",
}

MESSAGES = {"zh": _ZH, "en": _EN}


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
