"""优抚安置 pages: recipients (list, page, import), the on-time report, checkups and convalescence, resettlement.

* `/veterans` — recipients in scope (search, category, paging) and `/veterans.xlsx`;
* `/veterans/{id}` — documents, case, status events, payments with explanations, service events, and the
  forms that record documents, medical status, a status change or a service event;
* `/veterans/import` — the import with its error table and error sheet;
* `/veterans/ontime` — P21 及时、足额 per county with the exceptions (and `.xlsx`);
* `/veterans/services` — P23 checkups and convalescence per county against the targets (and `.xlsx`);
* `/veterans/resettlement` — P24 retired soldiers (awaiting placement and priority first, by placement status,
  paged, `.xlsx`) and the form that registers one; `/veterans/soldiers/{id}` — a soldier's page with the forms
  that enrol them, record a result and the placement; `/veterans/courses` — skills-training courses (paged,
  `.xlsx`) and the form that adds one.

Routes parse, call `veterans.service` (which decides access), commit, render.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.auth.service import display_names, has_perm
from minxin.core.errors import MinxinError, ValidationError
from minxin.core.masking import mask_id, mask_name
from minxin.core.money import format_yuan
from minxin.core.period import Period
from minxin.infra.clock import today
from minxin.kit.tabular import write_xlsx
from minxin.programs.service import STATUS_NAMES as CASE_STATUS_NAMES
from minxin.regions import region_labels, region_names
from minxin.registry.import_runs import record_refused_file
from minxin.registry.service import community_labels_for
from minxin.veterans import rules, service
from minxin.veterans.domain import VeteranPerm
from minxin.veterans.importer import TEMPLATE_HEADERS, import_veterans
from minxin.web.deps import current_user, get_session
from minxin.web.errors import status_for
from minxin.web.forms import XLSX, handle_import, upload_limits
from minxin.web.i18n import domain_message
from minxin.web.nav import NavItem
from minxin.web.templating import render, request_lang

router = APIRouter()

NAV = [
    NavItem(label="nav.veterans", path="/veterans", perm=VeteranPerm.READ, also=("/veterans/",)),
    NavItem(label="nav.veterans_ontime", path="/veterans/ontime", perm=VeteranPerm.READ),
    NavItem(label="nav.veterans_services", path="/veterans/services", perm=VeteranPerm.READ),
    NavItem(label="nav.veterans_resettlement", path="/veterans/resettlement", perm=VeteranPerm.READ),
]


_ZH: dict[str, str] = {
    "nav.group.veterans": "优抚安置",
    "nav.veterans": "优抚对象",
    "nav.veterans_ontime": "按时足额",
    "nav.veterans_services": "体检疗养",
    "nav.veterans_resettlement": "退役安置",
    "vet.list_title": "重点优抚对象",
    "vet.list_intro": "抚恤补助经统一发放平台按月发放（年标准÷12，12月补足全年），标准调整自动补发。",
    "vet.search": "姓名、身份证号或证件编号",
    "vet.all_categories": "全部类别",
    "vet.filter": "查询",
    "vet.export": "导出 Excel",
    "vet.import_link": "导入优抚对象",
    "vet.col_name": "姓名",
    "vet.col_id": "身份证号",
    "vet.col_region": "社区",
    "vet.col_category": "优抚类别",
    "vet.col_subkind": "子类",
    "vet.col_years": "服役年限",
    "vet.col_status": "状态",
    "vet.col_certificate": "证件编号",
    "vet.count": "共 {n} 人",
    "vet.empty": "没有符合条件的优抚对象",
    "vet.prev": "上一页",
    "vet.next": "下一页",
    "vet.page": "第 {page}/{pages} 页",
    "vet.detail_title": "优抚对象",
    "vet.documents": "证件",
    "vet.issued": "发证日期",
    "vet.medical": "医疗保障",
    "vet.insurance": "医保类型",
    "vet.subsidy": "享受优抚医疗补助",
    "vet.yes": "是",
    "vet.no": "否",
    "vet.case": "优抚案件",
    "vet.case_status": "案件状态",
    "vet.start": "开始月份",
    "vet.end": "结束月份",
    "vet.events": "状态变动",
    "vet.payments": "发放记录",
    "vet.col_period": "月份",
    "vet.col_kind": "类型",
    "vet.col_amount": "金额（元）",
    "vet.col_explanation": "计算说明",
    "vet.col_line_status": "发放状态",
    "vet.no_payments": "尚无发放记录",
    "vet.services": "体检与疗养",
    "vet.no_services": "尚无记录",
    "vet.col_date": "日期",
    "vet.col_hospital": "医院",
    "vet.col_days": "天数",
    "vet.col_note": "说明",
    "vet.save": "保存",
    "vet.record": "登记",
    "vet.status_form": "登记迁出或死亡",
    "vet.kind_moved_out": "迁出",
    "vet.kind_deceased": "死亡",
    "vet.cause": "死亡原因",
    "vet.cause_none": "（死亡原因）",
    "vet.cause_illness": "因病死亡",
    "vet.cause_other": "其他原因",
    "vet.death_benefit": "丧葬补助费",
    "vet.death_benefit_text": "增发 {months} 个月（{article}），{status}",
    "vet.death_benefit_pending": "待下一发放周期发放",
    "vet.death_benefit_paid": "已列入 {period} 发放周期",
    "vet.service_form": "登记体检或疗养",
    "vet.kind_checkup": "免费体检",
    "vet.kind_convalescence": "短期疗养",
    "vet.saved": "已保存",
    "vet.import_title": "导入优抚对象",
    "vet.import_intro": "整表检查：任一行有误则不导入任何数据，并列出每个错误（行号、列名、原因）。",
    "vet.import_file": "文件（.xlsx 或 .csv）",
    "vet.import_limit": "文件不超过 {limit}",
    "vet.import_dry_run": "只检查，不导入",
    "vet.import_submit": "上传并导入",
    "vet.import_columns": "列：{columns}；子类：残疾军人填“等级/原因”（如 一级/因战），"
                          "在乡复员军人填入伍时期，其他类别留空；60周岁以上农村籍退役士兵须填服役年限。",
    "vet.import_ok": "已导入 {n} 名优抚对象（新登记 {m} 人）",
    "vet.import_checked": "检查通过：{n} 名优抚对象可以导入",
    "vet.import_errors": "{n} 处错误，未导入任何数据",
    "vet.import_error_sheet": "下载错误表",
    "vet.import_file_error": "文件错误",
    "vet.col_row": "行",
    "vet.col_column": "列",
    "vet.col_reason": "原因",
    "vet.ontime_title": "优抚金按时足额发放",
    "vet.ontime_intro": "{period} 应发对象：银行在到账期限 {due} 前确认足额到账为按时足额；其余列为异常并注明原因。",
    "vet.month": "月份",
    "vet.month_placeholder": "如 2013-01",
    "vet.col_county": "县区",
    "vet.col_due": "应发（人）",
    "vet.col_paid": "已足额到账",
    "vet.col_on_time": "按时足额",
    "vet.col_late": "逾期到账",
    "vet.col_exceptions": "异常",
    "vet.col_due_fen": "应发金额（元）",
    "vet.col_paid_fen": "已发金额（元）",
    "vet.total": "合计",
    "vet.exceptions": "异常明细",
    "vet.exceptions_shown": "显示前 {shown} 条，共 {n} 条",
    "vet.no_exceptions": "没有异常",
    "vet.services_title": "优抚对象免费体检与短期疗养",
    "vet.services_intro": "{year} 年：免费体检目标 ≥ {checkup} 人次，短期疗养目标 ≥ {convalescence} 人次。",
    "vet.year": "年份",
    "vet.col_checkup": "免费体检（人次）",
    "vet.col_convalescence": "短期疗养（人次）",
    "vet.met": "达标",
    "vet.not_met": "未达标",
    "vet.resettlement_title": "退役士兵安置与技能培训",
    "vet.resettlement_intro": "待安置人员优先列出，优先安置对象居前。",
    "vet.col_discharged": "退役日期",
    "vet.col_priority": "优先安置",
    "vet.col_placement": "安置状态",
    "vet.courses": "技能培训课程",
    "vet.col_course": "课程",
    "vet.col_dates": "时间",
    "vet.col_enrolled": "报名",
    "vet.col_passed": "结业合格",
    "vet.no_soldiers": "没有退役士兵记录",
    "vet.no_courses": "没有培训课程",
    "vet.all_placements": "全部安置状态",
    "vet.soldier_title": "退役士兵",
    "vet.soldier_add": "登记待安置退役士兵",
    "vet.soldier_add_hint": "人员须已在户籍登记中（按身份证号查找）。",
    "vet.col_priority_reason": "优先原因",
    "vet.priority_check": "优先安置",
    "vet.placement_form": "登记安置状态",
    "vet.placed_on": "安置日期",
    "vet.enrolments": "技能培训",
    "vet.enrol": "报名",
    "vet.enrol_none": "没有可报名的课程",
    "vet.col_result": "培训结果",
    "vet.col_free": "费用",
    "vet.free": "免费（退役一年内开训）",
    "vet.not_free": "超出免费期",
    "vet.free_until": "免费培训须在 {day} 前（含）开训",
    "vet.certificate_no": "证书编号",
    "vet.courses_link": "培训课程",
    "vet.course_add": "新增培训课程",
    "vet.col_course_region": "组织地区",
    "vet.col_provider": "培训机构",
    "vet.starts_on": "开始日期",
    "vet.ends_on": "结束日期",
    "vet.add": "新增",
}

_EN: dict[str, str] = {
    "nav.group.veterans": "Veterans",
    "nav.veterans": "Recipients",
    "nav.veterans_ontime": "On time",
    "nav.veterans_services": "Checkups",
    "nav.veterans_resettlement": "Resettlement",
    "vet.list_title": "Key special-care recipients",
    "vet.list_intro": "Pensions are paid monthly through the payment engine (annual ÷ 12, December completes the "
                      "year); raises create arrears automatically.",
    "vet.search": "Name, ID number or certificate",
    "vet.all_categories": "All categories",
    "vet.filter": "Search",
    "vet.export": "Export to Excel",
    "vet.import_link": "Import recipients",
    "vet.col_name": "Name",
    "vet.col_id": "ID number",
    "vet.col_region": "Community",
    "vet.col_category": "Category",
    "vet.col_subkind": "Sub-kind",
    "vet.col_years": "Years of service",
    "vet.col_status": "Status",
    "vet.col_certificate": "Certificate",
    "vet.count": "{n} recipients",
    "vet.empty": "No recipients match",
    "vet.prev": "Previous",
    "vet.next": "Next",
    "vet.page": "Page {page}/{pages}",
    "vet.detail_title": "Recipient",
    "vet.documents": "Documents",
    "vet.issued": "Issued",
    "vet.medical": "Medical coverage",
    "vet.insurance": "Insurance scheme",
    "vet.subsidy": "Receives the medical subsidy",
    "vet.yes": "yes",
    "vet.no": "no",
    "vet.case": "Case",
    "vet.case_status": "Case status",
    "vet.start": "Start month",
    "vet.end": "End month",
    "vet.events": "Status changes",
    "vet.payments": "Payments",
    "vet.col_period": "Month",
    "vet.col_kind": "Kind",
    "vet.col_amount": "Amount (yuan)",
    "vet.col_explanation": "How it was computed",
    "vet.col_line_status": "Payment status",
    "vet.no_payments": "No payments yet",
    "vet.services": "Checkups and convalescence",
    "vet.no_services": "None recorded",
    "vet.col_date": "Date",
    "vet.col_hospital": "Hospital",
    "vet.col_days": "Days",
    "vet.col_note": "Note",
    "vet.save": "Save",
    "vet.record": "Record",
    "vet.status_form": "Record a move out or a death",
    "vet.kind_moved_out": "Moved out",
    "vet.kind_deceased": "Deceased",
    "vet.cause": "Cause of death",
    "vet.cause_none": "(cause of death)",
    "vet.cause_illness": "Illness",
    "vet.cause_other": "Other",
    "vet.death_benefit": "Funeral aid",
    "vet.death_benefit_text": "{months} extra months ({article}), {status}",
    "vet.death_benefit_pending": "to be paid by the next cycle",
    "vet.death_benefit_paid": "in the {period} cycle",
    "vet.service_form": "Record a checkup or a stay",
    "vet.kind_checkup": "Free checkup",
    "vet.kind_convalescence": "Convalescence stay",
    "vet.saved": "Saved",
    "vet.import_title": "Import recipients",
    "vet.import_intro": "The whole file is checked: if any row is wrong nothing is imported and every error is "
                        "listed (row, column, reason).",
    "vet.import_file": "File (.xlsx or .csv)",
    "vet.import_limit": "At most {limit}",
    "vet.import_dry_run": "Check only",
    "vet.import_submit": "Upload and import",
    "vet.import_columns": "Columns: {columns}.",
    "vet.import_ok": "Imported {n} recipients ({m} newly registered)",
    "vet.import_checked": "Checked: {n} recipients can be imported",
    "vet.import_errors": "{n} errors; nothing was imported",
    "vet.import_error_sheet": "Download the error sheet",
    "vet.import_file_error": "File error",
    "vet.col_row": "Row",
    "vet.col_column": "Column",
    "vet.col_reason": "Reason",
    "vet.ontime_title": "Pensions on time and in full",
    "vet.ontime_intro": "Recipients due for {period}: confirmed by the bank in full by {due} is on time; the rest "
                        "are exceptions with their reason.",
    "vet.month": "Month",
    "vet.month_placeholder": "e.g. 2013-01",
    "vet.col_county": "County",
    "vet.col_due": "Due",
    "vet.col_paid": "Paid in full",
    "vet.col_on_time": "On time",
    "vet.col_late": "Late",
    "vet.col_exceptions": "Exceptions",
    "vet.col_due_fen": "Due (yuan)",
    "vet.col_paid_fen": "Paid (yuan)",
    "vet.total": "Total",
    "vet.exceptions": "Exceptions",
    "vet.exceptions_shown": "First {shown} of {n}",
    "vet.no_exceptions": "No exceptions",
    "vet.services_title": "Free checkups and convalescence stays",
    "vet.services_intro": "{year}: targets ≥ {checkup} checkups and ≥ {convalescence} stays (person-times).",
    "vet.year": "Year",
    "vet.col_checkup": "Checkups",
    "vet.col_convalescence": "Convalescence stays",
    "vet.met": "met",
    "vet.not_met": "not met",
    "vet.resettlement_title": "Resettlement and skills training",
    "vet.resettlement_intro": "Soldiers awaiting placement first, priority cases first among them.",
    "vet.col_discharged": "Discharged",
    "vet.col_priority": "Priority",
    "vet.col_placement": "Placement",
    "vet.courses": "Skills-training courses",
    "vet.col_course": "Course",
    "vet.col_dates": "Dates",
    "vet.col_enrolled": "Enrolled",
    "vet.col_passed": "Passed",
    "vet.no_soldiers": "No retired soldiers",
    "vet.no_courses": "No courses",
    "vet.all_placements": "All placement statuses",
    "vet.soldier_title": "Retired soldier",
    "vet.soldier_add": "Register a soldier awaiting placement",
    "vet.soldier_add_hint": "The person must be in the registry (found by ID number).",
    "vet.col_priority_reason": "Priority reason",
    "vet.priority_check": "Priority placement",
    "vet.placement_form": "Record the placement",
    "vet.placed_on": "Placed on",
    "vet.enrolments": "Skills training",
    "vet.enrol": "Enrol",
    "vet.enrol_none": "No course open to enrol",
    "vet.col_result": "Result",
    "vet.col_free": "Fee",
    "vet.free": "Free (starts within a year of discharge)",
    "vet.not_free": "Outside the free year",
    "vet.free_until": "Free if the course starts by {day}",
    "vet.certificate_no": "Certificate",
    "vet.courses_link": "Courses",
    "vet.course_add": "Add a course",
    "vet.col_course_region": "Organised by",
    "vet.col_provider": "Provider",
    "vet.starts_on": "Starts",
    "vet.ends_on": "Ends",
    "vet.add": "Add",
}

MESSAGES = {"zh": _ZH, "en": _EN}


def _attachment(ascii_name: str, name: str) -> dict[str, str]:
    """The file saved under its Chinese name (an ASCII one for old clients)."""
    return {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"}


def _xlsx(headers: list[str], rows: list[list[Any]], ascii_name: str, name: str, sheet: str) -> Response:
    buf = io.BytesIO()
    write_xlsx(buf, headers, rows, sheet=sheet)
    return Response(buf.getvalue(), media_type=XLSX, headers=_attachment(ascii_name, name))


def _communities(session: Session, user: User) -> dict[str, str]:
    """The user's communities by code: 新海街道 · 朝阳社区."""
    return community_labels_for(session, user)


# ---- recipients ------------------------------------------------------------------------------------

@router.get("/veterans", name="veterans")
def recipients_page(request: Request, q: str = Query("", max_length=64), category: str = Query("", max_length=16),
                    page: int = Query(1, ge=1, le=100_000), user: User = Depends(current_user),
                    session: Session = Depends(get_session)) -> Response:
    result = service.list_recipients(session, user=user, q=q, category=category, page=page)
    rows = [{"r": r, "name": mask_name(p.name), "id_number": mask_id(p.id_number)} for r, p in result.items]
    return render(request, "veterans/list.html", {"communities": _communities(session, user),
        "rows": rows, "page": result, "q": q, "category": category, "categories": rules.CATEGORIES,
        "status_names": service.STATUS_NAMES, "query": urlencode({"q": q, "category": category}),
        "may_import": has_perm(user, VeteranPerm.MANAGE)})


@router.get("/veterans.xlsx", name="veterans_xlsx")
def recipients_xlsx(q: str = Query("", max_length=64), category: str = Query("", max_length=16),
                    user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    communities = _communities(session, user)
    rows = [[mask_name(p.name), mask_id(p.id_number), r.region_code, communities.get(r.region_code, ""), r.category,
             r.subkind, r.service_years, service.STATUS_NAMES.get(r.status, r.status), r.certificate_no]
            for r, p in service.recipient_rows(session, user=user, q=q, category=category)]
    return _xlsx(["姓名", "身份证号", "社区代码", "社区", "优抚类别", "子类", "服役年限", "状态", "证件编号"], rows,
                 "youfu-recipients.xlsx", f"优抚对象-{today():%Y%m%d}.xlsx", "优抚对象")


def _detail_page(request: Request, session: Session, user: User, recipient_id: int, *,
                 error: str | None = None, saved: bool = False, status_code: int = 200) -> Response:
    detail = service.recipient_detail(session, user=user, recipient_id=recipient_id)
    return render(request, "veterans/detail.html", {
        "d": detail, "case_status": CASE_STATUS_NAMES.get(detail["case"]["status"], detail["case"]["status"]),
        "actors": display_names(session, {e["actor"] for e in detail["events"]}),
        "error": error, "saved": saved, "schemes": service.MEDICAL_SCHEMES,
        "may_manage": has_perm(user, VeteranPerm.MANAGE), "may_services": has_perm(user, VeteranPerm.SERVICES),
        "today": today().isoformat()}, status_code=status_code)


@router.get("/veterans/import", name="veterans_import")
def import_form(request: Request, user: User = Depends(current_user)) -> Response:
    service.require_importer(user)
    return render(request, "veterans/import.html", _import_ctx())


def _import_ctx(**context: Any) -> dict[str, Any]:
    return {**upload_limits(), "headers": TEMPLATE_HEADERS, **context}


@router.post("/veterans/import")
def import_upload(request: Request, file: UploadFile | None = File(None), dry_run: bool = Form(False),
                  user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Check the whole file; store every row or none; list the errors with a downloadable error sheet."""
    return handle_import(
        request, session, user=user, file=file, dry_run=dry_run,
        too_large=lambda filename, reason: record_refused_file(session, actor=user, kind="veterans",
                                                               filename=filename, reason=reason),
        check=lambda data, filename: import_veterans(session, actor=user, data=data, filename=filename,
                                                     dry_run=dry_run),
        done=lambda result: {"imported": result.recipients, "new_persons": result.new_persons},
        page=lambda status_code=200, **ctx: render(request, "veterans/import.html", _import_ctx(**ctx),
                                                   status_code=status_code))


def _parse_date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError("日期格式应为 YYYY-MM-DD (bad date)", field=field) from None


def _after_post(request: Request, session: Session, user: User, recipient_id: int, action: Any) -> Response:
    """Run a service action; on success commit and go back to the page, on refusal show it with nothing stored."""
    try:
        action()
    except MinxinError as exc:
        if status_for(exc) == 404:
            raise  # not found alike for missing and out of scope; the session closes unchanged
        session.rollback()
        return _detail_page(request, session, user, recipient_id, status_code=status_for(exc),
                            error=domain_message(exc.message, lang=request_lang(request)))
    session.commit()
    return RedirectResponse(f"/veterans/{recipient_id}?saved=1", status_code=303)


@router.post("/veterans/{recipient_id}/status")
def post_status(request: Request, recipient_id: int, kind: str = Form("", max_length=16),
                on: str = Form("", max_length=10), note: str = Form("", max_length=200),
                cause: str = Form("", max_length=16), user: User = Depends(current_user),
                session: Session = Depends(get_session)) -> Response:
    return _after_post(request, session, user, recipient_id, lambda: service.record_status(
        session, actor=user, recipient_id=recipient_id, kind=kind, on=_parse_date(on, "日期"), note=note or None,
        cause=(cause or None) if kind == "deceased" else None))


@router.post("/veterans/{recipient_id}/documents")
def post_documents(request: Request, recipient_id: int, certificate_no: str = Form("", max_length=40),
                   issued: str = Form("", max_length=10), user: User = Depends(current_user),
                   session: Session = Depends(get_session)) -> Response:
    return _after_post(request, session, user, recipient_id, lambda: service.set_documents(
        session, actor=user, recipient_id=recipient_id, certificate_no=certificate_no,
        issued=_parse_date(issued, "发证日期") if issued.strip() else None))


@router.post("/veterans/{recipient_id}/medical")
def post_medical(request: Request, recipient_id: int, insurance: str = Form("", max_length=32),
                 subsidy: bool = Form(False), user: User = Depends(current_user),
                 session: Session = Depends(get_session)) -> Response:
    return _after_post(request, session, user, recipient_id, lambda: service.set_medical(
        session, actor=user, recipient_id=recipient_id, insurance=insurance, subsidy=subsidy))


@router.post("/veterans/{recipient_id}/services")
def post_service(request: Request, recipient_id: int, kind: str = Form("", max_length=16),
                 on: str = Form("", max_length=10), hospital: str = Form("", max_length=100),
                 days: str = Form("", max_length=4), user: User = Depends(current_user),
                 session: Session = Depends(get_session)) -> Response:
    def act() -> Any:
        n = None
        if days.strip():
            if not days.strip().isdigit():
                raise ValidationError("天数应为正整数 (days must be a whole number)", field="天数")
            n = int(days)
        return service.record_service(session, actor=user, recipient_id=recipient_id, kind=kind,
                                      on=_parse_date(on, "日期"), hospital=hospital, days=n)
    return _after_post(request, session, user, recipient_id, act)


# ---- reports ----------------------------------------------------------------------------------------

def _month(text: str) -> Period:
    return Period.parse(text) if text.strip() else Period.of(today())


@router.get("/veterans/ontime", name="veterans_ontime")
def ontime_page(request: Request, period: str = Query("", max_length=10), user: User = Depends(current_user),
                session: Session = Depends(get_session)) -> Response:
    month = _month(period)
    report = service.ontime_report(session, user=user, period=month, limit=500)
    return render(request, "veterans/ontime.html", {"report": report, "total": report.totals(),
                                                    "counties": region_names(session, {e["county"] for e in
                                                                                       report.exceptions}),
                                                    "reasons": service.REASONS})


@router.get("/veterans/ontime.xlsx", name="veterans_ontime_xlsx")
def ontime_xlsx(period: str = Query("", max_length=10), user: User = Depends(current_user),
                session: Session = Depends(get_session)) -> Response:
    report = service.ontime_report(session, user=user, period=_month(period), limit=None)
    counties = region_names(session, {e["county"] for e in report.exceptions})
    rows = [[counties.get(e["county"], e["county"]), e["name"], e["id_number"], e["category"], e["reason_text"],
             None if e["due_fen"] is None else format_yuan(e["due_fen"]), format_yuan(e["paid_fen"])]
            for e in report.exceptions]
    return _xlsx(["县区", "姓名", "身份证号", "优抚类别", "原因", "应发（元）", "已发（元）"], rows,
                 f"youfu-ontime-{report.period}.xlsx", f"优抚按时发放-{report.period}.xlsx", "按时发放")


def _year(text: str) -> int:
    if not text.strip():
        return today().year
    if not text.strip().isdigit() or not 2000 <= int(text) <= 2100:
        raise ValidationError("年份应为 2000–2100 (bad year)", field="year")
    return int(text)


@router.get("/veterans/services", name="veterans_services")
def services_page(request: Request, year: str = Query("", max_length=4), user: User = Depends(current_user),
                  session: Session = Depends(get_session)) -> Response:
    data = service.service_targets(session, user=user, year=_year(year))
    return render(request, "veterans/services.html", {"data": data})


@router.get("/veterans/services.xlsx", name="veterans_services_xlsx")
def services_xlsx(year: str = Query("", max_length=4), user: User = Depends(current_user),
                  session: Session = Depends(get_session)) -> Response:
    data = service.service_targets(session, user=user, year=_year(year))
    rows = [[r["county"], r["county_name"], r["checkup"], r["convalescence"]] for r in data["counties"]]
    return _xlsx(["县区代码", "县区", "免费体检（人次）", "短期疗养（人次）"], rows,
                 f"youfu-services-{data['year']}.xlsx", f"优抚服务-{data['year']}.xlsx", "体检疗养")


def _placement(status: str) -> str:
    if status and status not in service.PLACEMENT_NAMES:
        raise ValidationError("安置状态无效 (unknown placement status)", field="status")
    return status


def _resettlement_page(request: Request, session: Session, user: User, *, status: str = "", page: int = 1,
                       error: str | None = None, form: dict[str, str] | None = None,
                       status_code: int = 200) -> Response:
    soldiers = service.list_soldiers(session, user=user, status=_placement(status), page=page)
    rows = [{"s": s, "name": mask_name(p.name)} for s, p in soldiers.items]
    return render(request, "veterans/resettlement.html", {
        "rows": rows, "page": soldiers, "status": status, "placement_names": service.PLACEMENT_NAMES,
        "communities": _communities(session, user),
        "query": urlencode({"status": status}), "may_services": has_perm(user, VeteranPerm.SERVICES),
        "error": error, "form": form or {}, "today": today().isoformat()}, status_code=status_code)


@router.get("/veterans/resettlement", name="veterans_resettlement")
def resettlement_page(request: Request, status: str = Query("", max_length=16),
                      page: int = Query(1, ge=1, le=100_000), user: User = Depends(current_user),
                      session: Session = Depends(get_session)) -> Response:
    return _resettlement_page(request, session, user, status=status, page=page)


@router.get("/veterans/resettlement.xlsx", name="veterans_resettlement_xlsx")
def resettlement_xlsx(status: str = Query("", max_length=16), user: User = Depends(current_user),
                      session: Session = Depends(get_session)) -> Response:
    communities = _communities(session, user)
    rows = [[mask_name(p.name), mask_id(p.id_number), s.region_code, communities.get(s.region_code, ""),
             s.discharged_on.isoformat(), "是" if s.priority else "", s.priority_reason,
             service.PLACEMENT_NAMES[s.placement_status], s.placed_on.isoformat() if s.placed_on else None]
            for s, p in service.soldier_rows(session, user=user, status=_placement(status))]
    return _xlsx(["姓名", "身份证号", "社区代码", "社区", "退役日期", "优先安置", "优先原因", "安置状态", "安置日期"],
                 rows, "resettlement.xlsx", f"退役士兵安置-{today():%Y%m%d}.xlsx", "退役士兵安置")


@router.post("/veterans/soldiers")
def post_soldier(request: Request, id_number: str = Form("", max_length=24),
                 discharged_on: str = Form("", max_length=10), priority: bool = Form(False),
                 priority_reason: str = Form("", max_length=64),
                 user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Register a soldier awaiting placement; a refusal shows the list with the error and stores nothing."""
    try:
        soldier = service.add_soldier(session, actor=user, id_number=id_number,
                                      discharged_on=_parse_date(discharged_on, "退役日期"), priority=priority,
                                      priority_reason=priority_reason or None)
    except MinxinError as exc:
        session.rollback()
        form = {"id_number": id_number, "discharged_on": discharged_on, "priority_reason": priority_reason}
        return _resettlement_page(request, session, user, form=form, status_code=status_for(exc),
                                  error=domain_message(exc.message, lang=request_lang(request)))
    session.commit()
    return RedirectResponse(f"/veterans/soldiers/{soldier.id}?saved=1", status_code=303)


def _soldier_page(request: Request, session: Session, user: User, soldier_id: int, *, error: str | None = None,
                  saved: bool = False, status_code: int = 200) -> Response:
    detail = service.soldier_detail(session, user=user, soldier_id=soldier_id)
    may = has_perm(user, VeteranPerm.SERVICES)
    open_courses = service.courses_open_to(session, user=user, soldier=service.get_soldier_for(
        session, user, soldier_id)) if may else []
    return render(request, "veterans/soldier.html", {
        "d": detail, "error": error, "saved": saved, "may_services": may, "open_courses": open_courses,
        "region_label": region_labels(session, {detail["region_code"]}).get(detail["region_code"], ""),
        "placement_names": service.PLACEMENT_NAMES, "result_names": service.RESULT_NAMES,
        "today": today().isoformat()}, status_code=status_code)


@router.get("/veterans/soldiers/{soldier_id:int}", name="veteran_soldier")
def soldier_page(request: Request, soldier_id: int, saved: bool = False, user: User = Depends(current_user),
                 session: Session = Depends(get_session)) -> Response:
    return _soldier_page(request, session, user, soldier_id, saved=saved)


def _after_soldier_post(request: Request, session: Session, user: User, soldier_id: int, action: Any) -> Response:
    """Run a service action; on success commit and go back to the soldier's page, on refusal show it with the
    error and nothing stored (a record out of scope stays 404)."""
    try:
        action()
    except MinxinError as exc:
        if status_for(exc) == 404:
            raise  # not found alike for missing and out of scope; the session closes unchanged
        session.rollback()
        return _soldier_page(request, session, user, soldier_id, status_code=status_for(exc),
                             error=domain_message(exc.message, lang=request_lang(request)))
    session.commit()
    return RedirectResponse(f"/veterans/soldiers/{soldier_id}?saved=1", status_code=303)


def _int(text: str, field: str) -> int:
    text = text.strip()
    if not text.isdigit() or len(text) > 18:
        raise ValidationError(f"{field}无效 (bad id)", field=field)
    return int(text)


@router.post("/veterans/soldiers/{soldier_id:int}/placement")
def post_placement(request: Request, soldier_id: int, status: str = Form("", max_length=16),
                   on: str = Form("", max_length=10), note: str = Form("", max_length=200),
                   user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    return _after_soldier_post(request, session, user, soldier_id, lambda: service.set_placement(
        session, actor=user, soldier_id=soldier_id, status=status,
        on=_parse_date(on, "安置日期") if on.strip() else None, note=note or None))


@router.post("/veterans/soldiers/{soldier_id:int}/enrolments")
def post_enrolment(request: Request, soldier_id: int, course_id: str = Form("", max_length=20),
                   user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    return _after_soldier_post(request, session, user, soldier_id, lambda: service.enrol(
        session, actor=user, course_id=_int(course_id, "课程"), soldier_id=soldier_id))


@router.post("/veterans/soldiers/{soldier_id:int}/results")
def post_result(request: Request, soldier_id: int, enrolment_id: str = Form("", max_length=20),
                result: str = Form("", max_length=16), certificate_no: str = Form("", max_length=40),
                user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    return _after_soldier_post(request, session, user, soldier_id, lambda: service.set_result(
        session, actor=user, enrolment_id=_int(enrolment_id, "报名记录"), result=result,
        certificate_no=certificate_no or None, soldier_id=soldier_id))


def _courses_page(request: Request, session: Session, user: User, *, page: int = 1, error: str | None = None,
                  form: dict[str, str] | None = None, status_code: int = 200) -> Response:
    from minxin.registry.service import region_choices_for

    result = service.courses(session, user=user, page=page)
    may = has_perm(user, VeteranPerm.SERVICES)
    return render(request, "veterans/courses.html", {
        "page": result, "may_services": may, "regions": region_choices_for(session, user) if may else [],
        "region_names": region_names(session, {c.region_code for c, _, _ in result.items}),
        "error": error, "form": form or {}}, status_code=status_code)


@router.get("/veterans/courses", name="veterans_courses")
def courses_page(request: Request, page: int = Query(1, ge=1, le=100_000), user: User = Depends(current_user),
                 session: Session = Depends(get_session)) -> Response:
    return _courses_page(request, session, user, page=page)


@router.get("/veterans/courses.xlsx", name="veterans_courses_xlsx")
def courses_xlsx(user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    courses = service.course_rows(session, user=user)
    names = region_names(session, {c.region_code for c, _, _ in courses})
    rows = [[c.name, c.region_code, names.get(c.region_code, ""), c.starts_on.isoformat(), c.ends_on.isoformat(),
             c.provider, n, p] for c, n, p in courses]
    return _xlsx(["课程", "组织地区代码", "组织地区", "开始日期", "结束日期", "培训机构", "报名", "结业合格"], rows,
                 "courses.xlsx", f"退役士兵培训课程-{today():%Y%m%d}.xlsx", "培训课程")


@router.post("/veterans/courses")
def post_course(request: Request, name: str = Form("", max_length=100), region_code: str = Form("", max_length=12),
                starts_on: str = Form("", max_length=10), ends_on: str = Form("", max_length=10),
                provider: str = Form("", max_length=100), user: User = Depends(current_user),
                session: Session = Depends(get_session)) -> Response:
    """Add a course; a refusal shows the list with the error and stores nothing."""
    try:
        service.add_course(session, actor=user, name=name, region_code=region_code,
                           starts_on=_parse_date(starts_on, "开始日期"), ends_on=_parse_date(ends_on, "结束日期"),
                           provider=provider or None)
    except MinxinError as exc:
        session.rollback()
        form = {"name": name, "region_code": region_code, "starts_on": starts_on, "ends_on": ends_on,
                "provider": provider}
        code = status_for(exc)
        return _courses_page(request, session, user, form=form, status_code=422 if code == 404 else code,
                             error=domain_message(exc.message, lang=request_lang(request)))
    session.commit()
    return RedirectResponse("/veterans/courses?saved=1", status_code=303)


# Last: the recipient's page takes any /veterans/<segment> the routes above do not.
@router.get("/veterans/{recipient_id}", name="veteran")
def recipient_page(request: Request, recipient_id: int, saved: bool = False, user: User = Depends(current_user),
                   session: Session = Depends(get_session)) -> Response:
    return _detail_page(request, session, user, recipient_id, saved=saved)
