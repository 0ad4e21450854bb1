"""Children's pages (儿童福利): the list of the user's region (paged, xlsx), one child's page (guardian,
placement, case, payments with explanations) and the import page (upload, error table, error sheet).

Routes only parse, call the service, commit and render; every access rule is the service's
(`get_child_for`, `list_children`), the same the JSON API calls. Out-of-scope children are 404.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.auth.service import has_perm
from minxin.children import rules, service
from minxin.children.domain import ChildrenPerm
from minxin.core.errors import ValidationError
from minxin.core.masking import mask_account, mask_id, mask_name, mask_phone
from minxin.infra.settings import get_settings
from minxin.kit.tabular import write_xlsx
from minxin.regions import region_path
from minxin.registry.import_runs import record_refused_file
from minxin.web.deps import current_user, get_session
from minxin.web.forms import XLSX, handle_import, upload_limits
from minxin.web.i18n import gettext
from minxin.web.nav import NavItem
from minxin.web.templating import local_today, render, request_lang

router = APIRouter()

NAV = [NavItem(label="nav.children", path="/children", perm=ChildrenPerm.CHILDREN_READ)]

MAX_ERRORS_SHOWN = 200
STATUSES = ("active", "suspended", "terminated")

_ZH: dict[str, str] = {
    "nav.children": "儿童福利",
    "children.title": "孤儿和困境儿童",
    "children.intro": "孤儿和事实无人抚养儿童按月发放基本生活费（机构集中养育 / 社会散居各有标准），"
                      "发放至年满18周岁当月，次月起自动停发。",
    "children.placement": "安置方式",
    "children.status": "状态",
    "children.all": "全部",
    "children.filter": "筛选",
    "children.export": "导出 Excel",
    "children.import": "导入儿童",
    "children.col_name": "姓名",
    "children.col_id": "身份证号",
    "children.col_age": "年龄",
    "children.col_placement": "安置方式",
    "children.col_institution": "机构",
    "children.col_guardian": "监护人",
    "children.col_status": "状态",
    "children.col_until": "发放至",
    "children.empty": "辖区内还没有登记的儿童。",
    "children.open": "查看",
    "children.status.active": "在保",
    "children.status.suspended": "暂停",
    "children.status.terminated": "终止",
    "children.detail.title": "儿童档案：{name}",
    "children.detail.person": "基本信息",
    "children.detail.age": "年龄",
    "children.detail.age_value": "{n} 周岁",
    "children.detail.region": "所在社区",
    "children.detail.until": "发放至",
    "children.detail.until_note": "年满18周岁当月（{month}）仍发放，次月起停发。",
    "children.detail.guardian": "监护人",
    "children.detail.guardian_name": "姓名",
    "children.detail.guardian_relation": "关系",
    "children.detail.guardian_phone": "联系电话",
    "children.detail.guardian_id": "身份证号",
    "children.detail.no_guardian": "未登记监护人（通过“导入儿童”登记）。",
    "children.detail.placement": "安置和案件",
    "children.detail.institution": "养育机构",
    "children.detail.account": "发放账号",
    "children.detail.case": "案件",
    "children.detail.start": "开始月份",
    "children.detail.payments": "发放记录",
    "children.detail.no_payments": "还没有发放记录。",
    "children.detail.pay_cycle": "发放周期",
    "children.detail.pay_for": "所属月份",
    "children.detail.pay_amount": "金额（元）",
    "children.detail.pay_explain": "计算说明",
    "children.import.title": "导入孤儿和困境儿童",
    "children.import.intro": "每行一名儿童：已在户籍登记中的人员（按身份证号关联），"
                             "开立“孤儿基本生活费”在保案件并登记监护人。整个文件检查无误才会保存；有错误时一行都不保存。",
    "children.import.columns": "列：{columns}。类别为 集中养育 或 社会散居；集中养育须填写已登记的机构（本县区）；"
                               "开始月份时已满18周岁的儿童不能导入。",
    "children.import.file": "文件（.xlsx 或 .csv）",
    "children.import.dry_run": "只检查，不保存",
    "children.import.submit": "导入",
    "children.import.ok": "已导入 {n} 名儿童。",
    "children.import.checked_ok": "检查通过：{n} 名儿童可以导入。",
    "children.import.errors_heading": "{n} 处错误，未保存任何数据",
    "children.import.error_sheet": "下载错误表",
    "children.import.col_row": "行",
    "children.import.col_column": "列",
    "children.import.col_reason": "原因",
    "children.import.file_error": "文件无法导入",
}

_EN: dict[str, str] = {
    "nav.children": "Children",
    "children.title": "Orphans and children in hardship",
    "children.intro": "Orphans and children without de-facto care get a monthly allowance by placement "
                      "(institution / community), paid up to the month they turn 18 and stopped from the month after.",
    "children.placement": "Placement",
    "children.status": "Status",
    "children.all": "All",
    "children.filter": "Filter",
    "children.export": "Export to Excel",
    "children.import": "Import children",
    "children.col_name": "Name",
    "children.col_id": "ID number",
    "children.col_age": "Age",
    "children.col_placement": "Placement",
    "children.col_institution": "Institution",
    "children.col_guardian": "Guardian",
    "children.col_status": "Status",
    "children.col_until": "Paid until",
    "children.empty": "No children registered in your region yet.",
    "children.open": "Open",
    "children.status.active": "Active",
    "children.status.suspended": "Suspended",
    "children.status.terminated": "Terminated",
    "children.detail.title": "Child: {name}",
    "children.detail.person": "Person",
    "children.detail.age": "Age",
    "children.detail.age_value": "{n}",
    "children.detail.region": "Community",
    "children.detail.until": "Paid until",
    "children.detail.until_note": "Paid for the month of the 18th birthday ({month}), stopped from the month after.",
    "children.detail.guardian": "Guardian",
    "children.detail.guardian_name": "Name",
    "children.detail.guardian_relation": "Relation",
    "children.detail.guardian_phone": "Phone",
    "children.detail.guardian_id": "ID number",
    "children.detail.no_guardian": "No guardian recorded (use Import children).",
    "children.detail.placement": "Placement and case",
    "children.detail.institution": "Institution",
    "children.detail.account": "Account",
    "children.detail.case": "Case",
    "children.detail.start": "Start month",
    "children.detail.payments": "Payments",
    "children.detail.no_payments": "No payments yet.",
    "children.detail.pay_cycle": "Cycle",
    "children.detail.pay_for": "For",
    "children.detail.pay_amount": "Amount (yuan)",
    "children.detail.pay_explain": "Explanation",
    "children.import.title": "Import orphans and children in hardship",
    "children.import.intro": "One row per child already in the registry (by ID number): opens an active allowance "
                             "case and records the guardian. Nothing is stored unless every row is clean.",
    "children.import.columns": "Columns: {columns}. 类别 is 集中养育 or 社会散居; 集中养育 needs a registered "
                               "institution of the county; a child 18 or over at the start month is refused.",
    "children.import.file": "File (.xlsx or .csv)",
    "children.import.dry_run": "Check only, do not store",
    "children.import.submit": "Import",
    "children.import.ok": "Imported {n} children.",
    "children.import.checked_ok": "Checked: {n} children can be imported.",
    "children.import.errors_heading": "{n} errors, nothing stored",
    "children.import.error_sheet": "Download the error sheet",
    "children.import.col_row": "Row",
    "children.import.col_column": "Column",
    "children.import.col_reason": "Reason",
    "children.import.file_error": "The file cannot be imported",
}

MESSAGES = {"zh": _ZH, "en": _EN}


def _filters(placement: str, status: str) -> tuple[str | None, str | None]:
    if status and status not in STATUSES:
        raise ValidationError("状态必须是 active/suspended/terminated 之一 (unknown status)", field="status")
    return placement or None, status or None


@router.get("/children", name="children")
def children_list(request: Request, placement: str = Query("", max_length=8), status: str = Query("", max_length=16),
                  page: int = Query(1, ge=1, le=100000), user: User = Depends(current_user),
                  session: Session = Depends(get_session)) -> Response:
    """The children of the user's region, newest first, one page; filter by placement and status."""
    chosen, state = _filters(placement, status)
    found = service.list_children(session, user=user, placement=chosen, status=state, page=page,
                                  page_size=get_settings().page_size)
    return render(request, "children/list.html", {
        "page": found, "placement": placement, "status": status, "placements": rules.PLACEMENTS,
        "statuses": STATUSES, "can_import": has_perm(user, ChildrenPerm.CHILDREN_IMPORT),
        "mask_name": mask_name, "mask_id": mask_id})


@router.get("/children.xlsx", name="children_xlsx")
def children_xlsx(placement: str = Query("", max_length=8), status: str = Query("", max_length=16),
                  user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """The whole list of the user's region as a spreadsheet (masked as on the page)."""
    chosen, state = _filters(placement, status)
    rows = service.all_children(session, user=user, placement=chosen, status=state)
    buffer = io.BytesIO()
    communities = {code: region_path(session, code) for code in {r.region_code for r in rows}}
    write_xlsx(buffer, service.EXPORT_HEADERS, service.export_rows(rows, communities), sheet="儿童")
    filename = f"孤儿和困境儿童-{local_today():%Y%m%d}.xlsx"
    return Response(buffer.getvalue(), media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"children.xlsx\"; filename*=UTF-8''{quote(filename)}"})


@router.get("/children/{child_id:int}", name="child")
def child_page(request: Request, child_id: int, user: User = Depends(current_user),
               session: Session = Depends(get_session)) -> Response:
    """One child: the person, the guardian, placement and case, and every payment with its explanation."""
    child = service.get_child_for(session, user, child_id)
    record = child.record
    return render(request, "children/child.html", {
        "child": child, "name": mask_name(child.person.name), "id_masked": mask_id(child.person.id_number),
        "guardian_phone": mask_phone(record.guardian_phone) if record and record.guardian_phone else None,
        "guardian_id": mask_id(record.guardian_id_number) if record and record.guardian_id_number else None,
        "account": mask_account(child.case.bank_account) if child.case.bank_account else None,
        "mask_name": mask_name, "community": region_path(session, child.case.region_code)})


def _import_page(**context: Any) -> dict[str, Any]:
    return {**upload_limits(), "headers": service.IMPORT_COLUMNS, **context}


@router.get("/children/import", name="children_import")
def children_import_form(request: Request, user: User = Depends(current_user)) -> Response:
    service.require_importer(user)
    return render(request, "children/import.html", _import_page())


@router.post("/children/import")
def children_import(request: Request, file: UploadFile | None = File(None), dry_run: bool = Form(False),
                    user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Check the whole file; store all of it or nothing; list the errors with a downloadable sheet."""
    lang = request_lang(request)
    return handle_import(
        request, session, user=user, file=file, dry_run=dry_run, shown=MAX_ERRORS_SHOWN,
        too_large=lambda filename, reason: record_refused_file(session, actor=user, kind="children",
                                                               filename=filename, reason=reason),
        check=lambda data, filename: service.import_children(session, actor=user, data=data, filename=filename,
                                                             dry_run=dry_run),
        done=lambda result: {"success": gettext("children.import.checked_ok" if dry_run else "children.import.ok",
                                                lang=lang, n=result.cases)},
        page=lambda status_code=200, **ctx: render(request, "children/import.html", _import_page(**ctx),
                                                   status_code=status_code))
