"""低收入居民倍增计划 (plan P1) page: per-county table, a bar chart, and the same table as xlsx."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from minxin.assistance.lowincome.rules import default_years
from minxin.assistance.lowincome.service import (
    IncomeGrowthReport,
    declaration_years,
    income_growth_report,
    report_table,
)
from minxin.auth.models import User
from minxin.auth.service import Perm
from minxin.core.errors import ValidationError
from minxin.core.money import parse_yuan
from minxin.kit.tabular import write_xlsx
from minxin.web.deps import current_user, get_session
from minxin.web.forms import XLSX
from minxin.web.i18n import domain_message, gettext
from minxin.web.nav import NavItem
from minxin.web.templating import local_today, render, request_lang

router = APIRouter()

NAV = [NavItem(label="nav.low_income", path="/reports/low-income", perm=Perm.CASES_APPLY)]



def _year() -> Any:
    """A fresh optional year query parameter (FastAPI binds a parameter object to one name)."""
    return Query(None, ge=1900, le=2200)


CHART_JS = Path(__file__).resolve().parent / "chart.js"

_ZH = {
    "nav.low_income": "低收入跟踪",
    "lowincome.title": "低收入居民倍增计划",
    "lowincome.intro": "以基准年底前最近一次申报的人均月收入低于低收入线的家庭为跟踪对象，比较其在基准年和统计年"
                       "（各取年底前最近一次申报）的人均月收入，目标是在目标年前翻一番。",
    "lowincome.line_default": "低收入线默认为所在县区、户籍类别在基准年12月执行的低保标准的 1.5 倍。",
    "lowincome.base_year": "基准年",
    "lowincome.year": "统计年",
    "lowincome.horizon": "目标年",
    "lowincome.line": "低收入线（元/人·月，可空）",
    "lowincome.export": "导出 Excel",
    "lowincome.col_county": "县区",
    "lowincome.col_households": "低收入户",
    "lowincome.col_persons": "人口",
    "lowincome.col_base": "{year}年人均月收入",
    "lowincome.col_year": "{year}年人均月收入",
    "lowincome.col_growth": "增长",
    "lowincome.col_target": "{year}年翻番目标",
    "lowincome.col_path": "计划路径",
    "lowincome.col_needed": "尚需年均增长",
    "lowincome.col_status": "状态",
    "lowincome.col_stale": "本年未申报",
    "lowincome.col_line": "低收入线（元）",
    "lowincome.status.doubled": "已翻番",
    "lowincome.status.on_track": "按计划推进",
    "lowincome.status.behind": "落后于计划",
    "lowincome.status.none": "无数据",
    "lowincome.chart_title": "人均月收入（元）",
    "lowincome.chart_path": "计划路径",
    "lowincome.chart_target": "翻番目标",
    "lowincome.stale_note": "“本年未申报”的家庭沿用此前的申报，请安排复核。",
    "lowincome.explicit_line": "按指定低收入线 {line} 元计算。",
}

_EN = {
    "nav.low_income": "Low income",
    "lowincome.title": "Low-income resident doubling plan",
    "lowincome.intro": "Households whose per-capita monthly income at their latest declaration by the end of the base "
                       "year was below the low-income line are followed: their per-capita income at the end of the "
                       "base year and of the report year, aiming to double by the horizon.",
    "lowincome.line_default": "By default the line is 1.5 × the 低保 standard of the county and hukou category in "
                              "force in December of the base year.",
    "lowincome.base_year": "Base year",
    "lowincome.year": "Report year",
    "lowincome.horizon": "Horizon",
    "lowincome.line": "Line (yuan per person per month, optional)",
    "lowincome.export": "Export to Excel",
    "lowincome.col_county": "County",
    "lowincome.col_households": "Households",
    "lowincome.col_persons": "Persons",
    "lowincome.col_base": "Per capita {year}",
    "lowincome.col_year": "Per capita {year}",
    "lowincome.col_growth": "Growth",
    "lowincome.col_target": "Target {year}",
    "lowincome.col_path": "Even path",
    "lowincome.col_needed": "Needed per year",
    "lowincome.col_status": "Status",
    "lowincome.col_stale": "No declaration this year",
    "lowincome.col_line": "Line (yuan)",
    "lowincome.status.doubled": "Doubled",
    "lowincome.status.on_track": "On track",
    "lowincome.status.behind": "Behind",
    "lowincome.status.none": "No data",
    "lowincome.chart_title": "Per-capita monthly income (yuan)",
    "lowincome.chart_path": "Even path",
    "lowincome.chart_target": "Doubling target",
    "lowincome.stale_note": "Households without a declaration this year carry an older one; schedule a review.",
    "lowincome.explicit_line": "Computed with the line {line} yuan.",
}

MESSAGES = {"zh": _ZH, "en": _EN}


def _params(session: Session, user: User, base_year: int | None, year: int | None, horizon: int | None,
            line: str) -> dict[str, Any]:
    """The form's values: what was given, the rest from the years that have declarations."""
    first, last = declaration_years(session, user=user)
    base, y, end = default_years(first, last, this_year=local_today().year, year=year, base_year=base_year,
                                 horizon=horizon)
    return {"base_year": base, "year": y, "horizon": end, "line": line.strip()}


def _report(session: Session, user: User, p: dict[str, Any]) -> IncomeGrowthReport:
    line_fen = parse_yuan(p["line"], field="低收入线") if p["line"] else None
    return income_growth_report(session, user=user, base_year=p["base_year"], year=p["year"],
                                low_income_line_fen=line_fen, horizon=p["horizon"])


def _chart(request: Request, report: IncomeGrowthReport) -> dict[str, Any]:
    lang = request_lang(request)
    rows = [c for c in report.counties if c.households]
    return {
        "names": [c.name for c in rows], "unit": gettext("common.yuan", lang=lang),
        "base_label": str(report.base_year), "year_label": str(report.year),
        "path_label": gettext("lowincome.chart_path", lang=lang),
        "target_label": gettext("lowincome.chart_target", lang=lang) + f" {report.horizon}",
        # chart values only; every figure shown as text comes from integer fen
        "base": [c.base_per_capita_fen / 100 for c in rows], "year": [c.year_per_capita_fen / 100 for c in rows],
        "path": [c.on_path_fen / 100 for c in rows], "target": [c.target_fen / 100 for c in rows],
    }


@router.get("/reports/low-income", name="low_income")
def low_income_page(request: Request, base_year: int | None = _year(), year: int | None = _year(),
                    horizon: int | None = _year(), line: str = Query("", max_length=20),
                    user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """The doubling plan per county: table, chart, export link; a bad parameter is shown above the table."""
    p = _params(session, user, base_year, year, horizon, line)
    error = None
    try:
        report = _report(session, user, p)
    except ValidationError as exc:
        error = domain_message(exc.message, lang=request_lang(request))
        report = None
    status = 422 if error else 200
    return render(request, "assistance/lowincome.html", {
        "p": p, "report": report, "error": error, "chart": _chart(request, report) if report else None,
        "total": report.total if report else None,
    }, status_code=status)


@router.get("/reports/low-income.xlsx", name="low_income_xlsx")
def low_income_xlsx(base_year: int | None = _year(), year: int | None = _year(), horizon: int | None = _year(),
                    line: str = Query("", max_length=20), user: User = Depends(current_user),
                    session: Session = Depends(get_session)) -> Response:
    """The same table as a spreadsheet (one row per county and a total row)."""
    p = _params(session, user, base_year, year, horizon, line)
    report = _report(session, user, p)
    headers, rows = report_table(report)
    buffer = io.BytesIO()
    write_xlsx(buffer, headers, rows, sheet="低收入倍增", text_columns=("县区代码",), widths={"低收入线": 30})
    filename = f"低收入居民倍增计划-{report.base_year}-{report.year}.xlsx"
    ascii_name = f"low-income-{report.base_year}-{report.year}.xlsx"
    return Response(buffer.getvalue(), media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"})


@router.get("/reports/low-income/chart.js", name="low_income_chart_js")
def low_income_chart_js(user: User = Depends(current_user)) -> Response:
    """The page's chart script, from this package (a file of our own origin, as the CSP requires)."""
    return Response(CHART_JS.read_bytes(), media_type="text/javascript; charset=utf-8")

