"""医疗救助 pages: import the insurance system's settlement file, list the assessed records with their
explanation, export the results for one-stop settlement.

Routes stay thin: parse, call the service, commit once. An import with errors stores nothing and
shows every error with a downloadable error sheet; one without lists who was not eligible.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from minxin.assistance.medical.importer import HEADERS, SettlementImport, import_settlements
from minxin.assistance.medical.rules import KINDS
from minxin.assistance.medical.service import STATUS_NAMES, explain_record, export_results, list_records
from minxin.auth.models import User
from minxin.auth.service import Perm, has_perm
from minxin.core.errors import ValidationError
from minxin.infra.settings import get_settings
from minxin.registry.import_runs import record_refused_file
from minxin.web.deps import current_user, get_session, writes
from minxin.web.errors import megabytes
from minxin.web.forms import MAX_ERRORS_SHOWN, XLSX, read_import_file, refused_import
from minxin.web.i18n import domain_message
from minxin.web.nav import NavItem
from minxin.web.templating import local_today, render, request_lang
from minxin.web.uploads import upload_limit

router = APIRouter()

# Everyone who reads the registry sees the records of their scope; importing needs CASES_APPROVE
# (the service checks it), since the assessment grants money to people who did not apply.
NAV = [NavItem(label="nav.medical", path="/medical", perm=Perm.REGISTRY_READ)]

MEDIA = {"xlsx": XLSX, "csv": "text/csv; charset=utf-8"}
MAX_NOT_ELIGIBLE_SHOWN = 200

_ZH = {
    "nav.medical": "医疗救助",
    "medical.title": "医疗救助",
    "medical.intro": "低保家庭成员和五保对象的医疗费用，在基本医保、大病保险报销后按政策比例救助，"
                     "门诊、住院分别计算年度封顶。低保、五保对象直接救助，无需申请；救助金通过“医疗救助”发放周期发放。",
    "medical.import_title": "导入医保结算记录",
    "medical.import_hint": "整个文件检查通过后才会导入；任何一行有误，都不会导入。"
                           "已导入过的记录号自动跳过，同一文件重复导入不会重复救助。",
    "medical.file": "选择文件（.xlsx 或 .csv）",
    "medical.limit": "单个文件不超过 {limit}。",
    "medical.columns": "文件列：{columns}（金额单位：元）",
    "medical.submit": "上传并核算",
    "medical.ok": "导入完成：新增 {new} 条，跳过已导入 {skipped} 条；救助 {assisted} 条，共 {total} 元；"
                  "新建医疗救助档案 {cases} 人。",
    "medical.file_error": "文件无法导入",
    "medical.errors_heading": "文件有 {n} 处错误，未导入任何记录",
    "medical.errors_shown": "仅显示前 {shown} 条，完整列表请下载错误明细表。",
    "medical.error_sheet": "下载错误明细表（Excel）",
    "medical.col_row": "行号",
    "medical.col_column": "列",
    "medical.col_reason": "错误原因",
    "medical.not_eligible_heading": "不符合救助条件 {n} 条（已记录，不予救助）",
    "medical.not_eligible_shown": "仅显示前 {shown} 条，完整名单请导出核算结果。",
    "medical.list_title": "核算记录",
    "medical.status": "状态",
    "medical.kind": "类别",
    "medical.start": "就诊日期自",
    "medical.end": "至",
    "medical.all": "全部",
    "medical.status.assisted": "已救助",
    "medical.status.not_eligible": "不符合条件",
    "medical.export_xlsx": "导出 Excel",
    "medical.export_csv": "导出 CSV",
    "medical.export_hint": "导出所选日期范围内的核算结果（含完整身份证号，供一站式结算使用；导出行为记入审计日志）。",
    "medical.col_record": "记录号",
    "medical.col_name": "姓名",
    "medical.col_id": "身份证号",
    "medical.col_date": "就诊日期",
    "medical.col_kind": "类别",
    "medical.col_category": "保障类别",
    "medical.col_in_scope": "政策范围内费用",
    "medical.col_assistance": "救助金额",
    "medical.col_status": "状态",
    "medical.col_paid": "发放周期",
    "medical.col_explanation": "说明",
    "medical.empty": "暂无核算记录。",
}

_EN = {
    "nav.medical": "Medical aid",
    "medical.title": "Medical assistance",
    "medical.intro": "Medical costs of 低保 household members and 五保 persons left after basic insurance and critical-"
                     "illness insurance are assisted at the policy's ratio, within separate annual caps for outpatient "
                     "and in-patient care. No application is needed; the assistance is paid by the \"medical\" "
                     "payment cycle.",
    "medical.import_title": "Import settlement records",
    "medical.import_hint": "The whole file is checked first; if any row is wrong nothing is imported. Record ids "
                           "already imported are skipped, so importing a file twice never assists twice.",
    "medical.file": "File (.xlsx or .csv)",
    "medical.limit": "At most {limit} per file.",
    "medical.columns": "Columns: {columns} (amounts in yuan)",
    "medical.submit": "Upload and assess",
    "medical.ok": "Imported: {new} new, {skipped} already imported and skipped; {assisted} assisted, {total} yuan in "
                  "total; {cases} new medical assistance cases.",
    "medical.file_error": "The file cannot be imported",
    "medical.errors_heading": "{n} errors in the file; nothing was imported",
    "medical.errors_shown": "Only the first {shown} are shown; download the error sheet for all of them.",
    "medical.error_sheet": "Download the error sheet (Excel)",
    "medical.col_row": "Row",
    "medical.col_column": "Column",
    "medical.col_reason": "Reason",
    "medical.not_eligible_heading": "{n} records not eligible (stored, not assisted)",
    "medical.not_eligible_shown": "Only the first {shown} are shown; export the results for the full list.",
    "medical.list_title": "Assessed records",
    "medical.status": "Status",
    "medical.kind": "Kind",
    "medical.start": "Visits from",
    "medical.end": "to",
    "medical.all": "All",
    "medical.status.assisted": "Assisted",
    "medical.status.not_eligible": "Not eligible",
    "medical.export_xlsx": "Export to Excel",
    "medical.export_csv": "Export to CSV",
    "medical.export_hint": "Exports the results of the chosen dates with full ID numbers, for one-stop settlement; the "
                           "export is recorded in the audit trail.",
    "medical.col_record": "Record",
    "medical.col_name": "Name",
    "medical.col_id": "ID number",
    "medical.col_date": "Visit date",
    "medical.col_kind": "Kind",
    "medical.col_category": "Category",
    "medical.col_in_scope": "In-scope cost",
    "medical.col_assistance": "Assistance",
    "medical.col_status": "Status",
    "medical.col_paid": "Cycle",
    "medical.col_explanation": "Explanation",
    "medical.empty": "No assessed records yet.",
}

MESSAGES = {"zh": _ZH, "en": _EN}


def _day(value: str, field: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError("日期格式应为 年-月-日，如 2012-03-01 (bad date)", field=field) from None


def _filters(status: str, kind: str, start: str, end: str) -> dict[str, Any]:
    return {"status": status if status in STATUS_NAMES else "", "kind": kind if kind in KINDS else "",
            "start": start.strip(), "end": end.strip()}


def _page(request: Request, session: Session, user: User, *, filters: dict[str, Any], page: int = 1,
          status_code: int = 200, **context: Any) -> Response:
    error = None
    try:
        start, end = _day(filters["start"], "start"), _day(filters["end"], "end")
        results = list_records(session, user=user, status=filters["status"] or None, kind=filters["kind"] or None,
                               start=start, end=end, page=page, page_size=get_settings().page_size)
    except ValidationError as exc:
        error = domain_message(exc.message, lang=request_lang(request))
        results = list_records(session, user=user, page=1, page_size=get_settings().page_size)
        status_code = 422
    rows = [{"r": r, "name": name, "id_number": number, "explanation": explain_record(r)}
            for r, name, number in results.items]
    year = local_today().year
    return render(request, "assistance/medical.html", {
        "filters": filters, "results": results, "rows": rows, "filter_error": error, "kinds": KINDS,
        "statuses": list(STATUS_NAMES), "headers": HEADERS, "limit": megabytes(upload_limit()),
        "limit_bytes": upload_limit(), "can_import": has_perm(user, Perm.CASES_APPROVE),
        "can_export": has_perm(user, Perm.PII_VIEW), "export_start": filters["start"] or f"{year}-01-01",
        "export_end": filters["end"] or f"{year}-12-31", "max_errors": MAX_ERRORS_SHOWN,
        "max_not_eligible": MAX_NOT_ELIGIBLE_SHOWN, **context,
    }, status_code=status_code)


@router.get("/medical", name="medical")
def medical_page(request: Request, status: str = Query("", max_length=16), kind: str = Query("", max_length=4),
                 start: str = Query("", max_length=10), end: str = Query("", max_length=10),
                 page: int = Query(1, ge=1, le=100_000), user: User = Depends(current_user),
                 session: Session = Depends(get_session)) -> Response:
    """The import form (for those who may import) and the assessed records of the user's scope."""
    return _page(request, session, user, filters=_filters(status, kind, start, end), page=page)


def _result_context(request: Request, user: User, result: SettlementImport) -> dict[str, Any]:
    refused = refused_import(request, user, result)
    return {**refused, "result": result, "row_errors": refused.pop("errors"),
            "not_eligible": result.not_eligible[:MAX_NOT_ELIGIBLE_SHOWN]}


@router.post("/medical/import", name="medical_import")
def medical_import(request: Request, file: UploadFile | None = File(None), user: User = Depends(current_user),
                   session: Session = Depends(get_session)) -> Response:
    """Check the whole file, store and assess all new records or none; show the outcome."""
    filters = _filters("", "", "", "")
    try:
        data, filename = read_import_file(session, file, too_large=lambda name, reason: (
            record_refused_file(session, actor=user, kind="medical", filename=name, reason=reason)))
    except ValidationError as exc:
        return _page(request, session, user, filters=filters, status_code=422,
                     file_error=domain_message(exc.message, lang=request_lang(request)))
    result = import_settlements(session, actor=user, data=data, filename=filename)
    if not result.ok:
        session.commit()  # the recorded run only: the import undid its own writes
        return _page(request, session, user, filters=filters, status_code=422, filename=filename,
                     **_result_context(request, user, result))
    session.commit()
    return _page(request, session, user, filters=filters, filename=filename, **_result_context(request, user, result))


@router.get("/medical/export.{fmt}", name="medical_export")
@writes
def medical_export(fmt: str, start: str = Query("", max_length=10), end: str = Query("", max_length=10),
                   user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """The results of the chosen visit dates as xlsx or csv (written to a temp file, then streamed)."""
    if fmt not in MEDIA:
        raise ValidationError("格式必须是 xlsx 或 csv (format must be xlsx or csv)", field="format")
    first = _day(start, "start") or date(local_today().year, 1, 1)
    last = _day(end, "end") or date(local_today().year, 12, 31)
    handle = tempfile.NamedTemporaryFile(prefix="minxin-medical-", suffix=f".{fmt}", delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    try:
        export_results(session, user=user, start=first, end=last, target=path, fmt=fmt)
        session.commit()  # the export's audit entry
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    name = f"医疗救助结算结果-{first:%Y%m%d}-{last:%Y%m%d}.{fmt}"
    return FileResponse(path, media_type=MEDIA[fmt], background=BackgroundTask(path.unlink, missing_ok=True),
                        headers={"Content-Disposition": f"attachment; filename=\"medical-{first:%Y%m%d}-"
                                 f"{last:%Y%m%d}.{fmt}\"; filename*=UTF-8''{quote(name)}"})
