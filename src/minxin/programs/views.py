"""Benefit-engine pages: cases and their workflow, standards, payment cycles (bank file, reconciliation),
and the public notice (公示) where anyone may raise an objection.

Routes stay thin: they parse the form, call `programs.service` / `programs.cycles`, commit once, and
show a refused action's reason in Chinese next to its form (never a 500). Out-of-scope records are
404 like missing ones (`get_case_for`). The public pages (`public_router`) need no login; their one
form carries a double-submit CSRF token, as the login page does.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from minxin import ratelimit
from minxin.auth.models import User
from minxin.auth.service import Perm, can_see, has_perm
from minxin.core.divisions import county_of, covers
from minxin.core.errors import Conflict, Forbidden, MinxinError, NotFound, ValidationError
from minxin.core.masking import mask_account
from minxin.core.money import parse_yuan
from minxin.core.period import Period
from minxin.db import savepoint, utcnow
from minxin.programs import cycle_access
from minxin.programs import cycles as cycle_service
from minxin.programs.models import CASE_STATUSES, Case, Cycle, Payment, Program
from minxin.programs.notices import case_problem, notice_rows, policy_or_none, safe_proposed_amount
from minxin.programs.service import (
    REASON_REQUIRED,
    STATUS_NAMES,
    STEP_NAMES,
    STEPS,
    allowed_steps,
    apply,
    cases_due_for_review,
    get_case_for,
    get_objection_for,
    get_program,
    list_cases,
    may_set_standard,
    notices_for_community,
    objections_of,
    overdue_preview,
    program_policy,
    raise_objection,
    record_review,
    resolve_objection,
    set_bank_account,
    set_standard,
    standard_in_force,
    standards_for,
    step,
    suspend_overdue,
)
from minxin.registry.models import Household, Person, Region
from minxin.registry.service import (
    get_household_by_no_for,
    list_institutions,
    list_regions,
    region_choices_for,
    region_names,
    region_path,
)
from minxin.settings import get_settings
from minxin.web.deps import current_user, ensure_city_name, get_session, writes
from minxin.web.errors import status_for
from minxin.web.i18n import domain_message, gettext
from minxin.web.nav import NavItem
from minxin.web.templating import local_today, render, request_lang, yuan
from minxin.web.uploads import read_upload

router = APIRouter()
public_router = APIRouter()

NAV = [
    NavItem(label="nav.cases", path="/cases", perm=Perm.CASES_APPLY),
    NavItem(label="nav.standards", path="/standards", perm=Perm.CASES_APPLY),
    NavItem(label="nav.cycles", path="/cycles", perm=Perm.CYCLES_RUN),
]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOTICE_CSRF_COOKIE = "minxin_notice_csrf"
STAGES = ("applied", "investigated", "reviewed", "noticed", "approved", "active")
FORWARD_STEPS = ("investigate", "review", "notice", "approve", "activate", "resume")
MONTH_STEPS = {"activate", "terminate"}
EVENT_NAMES = {"apply": "申请", "import": "批量导入（原有对象）", "periodic_review": "定期复核", **STEP_NAMES}
KINDS = {"regular": "正常", "arrears": "补发", "carryover": "重发"}
PAY_STATUSES = {"pending": "待发", "paid": "已发", "failed": "失败"}
CYCLE_STATUSES = {"draft": "草稿", "approved": "已审批", "exported": "已导出", "reconciled": "已对账"}

# ---- strings --------------------------------------------------------------------------------------

_ZH: dict[str, str] = {
    "nav.cases": "案件",
    "nav.standards": "标准",
    "nav.cycles": "发放",
    "programs.notice_link": "公示查询",
    "programs.program": "项目",
    "programs.all_programs": "全部项目",
    "programs.all_statuses": "全部状态",
    # case list
    "programs.cases.title": "案件",
    "programs.cases.note": "列表中的户主姓名已脱敏；打开案件可查看详情和办理流程。",
    "programs.cases.status": "状态",
    "programs.cases.region": "区域",
    "programs.cases.due": "仅显示到期待复核",
    "programs.cases.due_count": "{n} 件在保案件已到复核日期",
    "programs.cases.col_id": "案件号",
    "programs.cases.col_program": "项目",
    "programs.cases.col_head": "户主",
    "programs.cases.col_community": "社区",
    "programs.cases.col_category": "类别",
    "programs.cases.col_status": "状态",
    "programs.cases.col_start": "开始月份",
    "programs.cases.col_review": "下次复核",
    "programs.cases.open": "办理",
    "programs.cases.empty": "没有符合条件的案件。",
    # new application
    "programs.apply.title": "新申请",
    "programs.apply.intro": "按户申请：填写户编号（见户籍查询），系统以户主为申请人。",
    "programs.apply.household_no": "户编号",
    "programs.apply.bank_account": "银行账号（可空，开始发放前须补录）",
    "programs.apply.sanwu": "三无人员（无收入、无劳动能力、无法定赡养人）",
    "programs.apply.staff_relative": "工作人员或村居干部近亲属（须备案，县级逐户入户核查）",
    "programs.apply.review_class": "复核分类",
    "programs.apply.class.a": "A类：全户无劳动能力或重病，每年复核",
    "programs.apply.class.b": "B类：收入稳定，每半年复核",
    "programs.apply.class.c": "C类：收入不稳定、有劳动能力，每季度复核",
    "programs.apply.reason": "申请说明（可空）",
    "programs.apply.category": "类别（分集中/分散的项目必填；按户籍分类的项目可空）",
    "programs.apply.category_default": "按户籍类别",
    "programs.apply.institution": "供养机构（集中供养必填）",
    "programs.apply.no_institution": "无",
    "programs.apply.submit": "提交申请",
    "programs.apply.done": "申请已登记，案件号 {id}。",
    # suspend overdue
    "programs.overdue.title": "批量暂停逾期未复核",
    "programs.overdue.intro": "将辖区内复核日期早于所选日期、仍在保的案件一次性暂停发放，每件记录暂停理由。",
    "programs.overdue.before": "复核日期早于",
    "programs.overdue.reason": "暂停理由",
    "programs.overdue.default_reason": "逾期未复核",
    "programs.overdue.preview": "查看将暂停的案件",
    "programs.overdue.confirm_title": "确认批量暂停",
    "programs.overdue.confirm_text": "以下 {n} 件{program}在保案件的复核日期早于 {before}，"
                                     "确认后将全部暂停发放（理由：{reason}）。",
    "programs.overdue.confirm_more": "此处仅列出前 {shown} 件。",
    "programs.overdue.confirm": "确认暂停 {n} 件",
    "programs.overdue.nothing": "没有复核日期早于 {before} 的在保案件，无需暂停。",
    "programs.overdue.done": "已暂停 {n} 件逾期未复核的案件。",
    # case page
    "programs.case.title": "案件 {id}",
    "programs.case.facts": "案件信息",
    "programs.case.household": "户",
    "programs.case.head": "户主",
    "programs.case.community": "所属社区",
    "programs.case.category": "类别",
    "programs.case.status": "状态",
    "programs.case.bank_account": "银行账号",
    "programs.case.review_class": "复核分类",
    "programs.case.start": "开始月份",
    "programs.case.end": "结束月份",
    "programs.case.next_review": "下次复核",
    "programs.case.notice": "公示期",
    "programs.case.flags": "标记",
    "programs.case.flag_sanwu": "三无",
    "programs.case.flag_relative": "近亲属备案",
    "programs.case.flag_spot_required": "需入户抽查",
    "programs.case.flag_spot_done": "已入户抽查",
    "programs.case.created": "申请时间",
    "programs.case.monthly": "按本月标准测算（元/月）",
    "programs.case.not_set": "未登记",
    "programs.case.actions": "办理",
    "programs.case.no_actions": "当前状态下您没有可办理的环节。",
    "programs.case.more_actions": "其他操作（暂停、终止、不予批准）",
    "programs.case.reason": "理由",
    "programs.case.reason_optional": "意见（可空）",
    "programs.case.reason_required": "书面理由（必填）",
    "programs.case.income": "核定家庭月收入（元，可空）",
    "programs.case.spot_checked": "已入户抽查",
    "programs.case.spot_hint": "本案须县级入户抽查后才能审批。",
    "programs.case.start_month": "开始发放月份",
    "programs.case.end_month": "终止月份",
    "programs.case.step_done": "已办理「{step}」。",
    "programs.case.review_title": "定期复核",
    "programs.case.review_intro": "复核后按复核分类重新计算下次复核日期。",
    "programs.case.review_note": "复核情况",
    "programs.case.review_keep": "分类不变",
    "programs.case.review_submit": "记录定期复核",
    "programs.case.review_done": "定期复核已记录，下次复核：{date}。",
    "programs.case.bank_title": "银行账号",
    "programs.case.bank_new": "新账号",
    "programs.case.bank_submit": "保存账号",
    "programs.case.bank_done": "银行账号已更新。",
    "programs.case.objections": "公示异议",
    "programs.case.no_objections": "没有异议。",
    "programs.case.obj_by": "提出人",
    "programs.case.obj_state": "处理",
    "programs.case.obj_anonymous": "匿名",
    "programs.case.obj_open": "待处理",
    "programs.case.obj_resolution": "核查处理结果",
    "programs.case.obj_resolve": "记录处理结果",
    "programs.case.obj_resolved": "{who} 于 {at} 处理：",
    "programs.case.obj_done": "异议处理结果已记录。",
    "programs.case.events": "办理记录",
    "programs.case.no_events": "没有办理记录（批量导入的案件从导入时的状态开始）。",
    "programs.case.ev_at": "时间",
    "programs.case.ev_action": "环节",
    "programs.case.ev_change": "状态变化",
    "programs.case.ev_actor": "经办人",
    "programs.case.ev_reason": "理由",
    "programs.case.payments": "发放记录",
    "programs.case.no_payments": "尚无发放记录。",
    "programs.case.pay_cycle": "发放期",
    "programs.case.pay_kind": "类型",
    "programs.case.pay_for": "所属月份",
    "programs.case.pay_amount": "金额（元）",
    "programs.case.pay_status": "状态",
    "programs.case.pay_explain": "计算说明",
    # standards
    "programs.standards.title": "保障标准",
    "programs.standards.intro": "标准按区域、类别和生效日期管理：查找时先找最具体的区域（县区优先于全市），"
                                "再取生效日期最近的一条。",
    "programs.standards.rules": "标准只增不改：调整标准是新增一条记录，原记录永不修改。生效日期早于已发放月份时，"
                                "下一期发放会自动为这些月份计算补发。已对账月份不能再追溯。",
    "programs.standards.in_force": "{month} 现行标准（元/人·月）",
    "programs.standards.region": "区域",
    "programs.standards.from_here": "本级标准，{date} 起",
    "programs.standards.inherited": "沿用{region}标准，{date} 起",
    "programs.standards.missing": "未设置",
    "programs.standards.history": "标准记录（共 {n} 条）",
    "programs.standards.col_region": "区域",
    "programs.standards.col_category": "类别",
    "programs.standards.col_amount": "金额（元）",
    "programs.standards.col_effective": "生效日期",
    "programs.standards.col_source": "依据",
    "programs.standards.col_by": "录入人",
    "programs.standards.col_at": "录入时间",
    "programs.standards.add": "新增标准",
    "programs.standards.amount": "金额（元/人·月）",
    "programs.standards.effective": "生效日期",
    "programs.standards.category": "类别",
    "programs.standards.source": "文件依据（可空）",
    "programs.standards.source_placeholder": "如：连民发〔2013〕12号",
    "programs.standards.backdated": "生效日期早于本月时，下一期发放将为已发放的月份补发差额。",
    "programs.standards.submit": "新增标准",
    "programs.standards.done": "已新增标准：{region} {category} {amount} 元，{date} 起生效。",
    "programs.standards.no_category": "不分类别",
    "programs.standards.current": "现行",
    # cycles
    "programs.cycles.title": "发放周期",
    "programs.cycles.intro": "每个项目每月每个县区一期：县区计算 → 审批（运行人以外的县区或市级人员）→ 导出银行文件 → "
                             "上传银行结果对账；发放失败的款项在下一期重发。",
    "programs.cycles.all_counties": "全部县区（各县区分别计算）",
    "programs.cycles.col_program": "项目",
    "programs.cycles.col_period": "月份",
    "programs.cycles.col_status": "状态",
    "programs.cycles.col_cases": "户数/人数",
    "programs.unit.household": "户",
    "programs.unit.person": "人",
    "programs.cycles.col_total": "合计（元）",
    "programs.cycles.col_arrears": "其中补发",
    "programs.cycles.col_carry": "其中重发",
    "programs.cycles.empty": "还没有发放周期。",
    "programs.cycles.run": "计算发放",
    "programs.cycles.run_intro": "按当月在保案件和现行标准计算；草稿可重算，审批后不再改变。",
    "programs.cycles.period": "发放月份",
    "programs.cycles.run_submit": "计算",
    "programs.cycles.open": "查看",
    # one cycle
    "programs.cycle.title": "{county} {program} {period} 发放",
    "programs.cycle.cases": "发放{unit}数",
    "programs.cycle.total": "发放总额（元）",
    "programs.cycle.arrears": "其中补发（元）",
    "programs.cycle.carryover": "其中重发（元）",
    "programs.cycle.paid": "已发（元）",
    "programs.cycle.failed": "失败（元）",
    "programs.cycle.run_by": "由 {who} 于 {at} 计算",
    "programs.cycle.approved_by": "由 {who} 于 {at} 审批",
    "programs.cycle.exported_at": "{at} 导出银行文件",
    "programs.cycle.reconciled_at": "{at} 完成对账",
    "programs.cycle.by_county": "分县区汇总",
    "programs.cycle.col_county": "县区",
    "programs.cycle.col_cases": "{unit}数",
    "programs.cycle.col_regular": "正常（元）",
    "programs.cycle.col_arrears": "补发（元）",
    "programs.cycle.col_carry": "重发（元）",
    "programs.cycle.col_total": "合计（元）",
    "programs.cycle.col_paid": "已发（元）",
    "programs.cycle.col_failed": "失败（元）",
    "programs.cycle.mismatch": "分县区合计 {sum} 元与周期总额 {total} 元不一致，请重新计算本期。",
    "programs.cycle.actions": "办理",
    "programs.cycle.approve": "审批本期发放",
    "programs.cycle.approve_intro": "本期由 {who} 计算；审批须由其他人员办理。审批后金额不再改变。",
    "programs.cycle.approve_confirm": "确认审批 {period} 发放，共 {cases} {unit} {total} 元？",
    "programs.cycle.approved_done": "本期发放已审批。",
    "programs.cycle.rerun": "重新计算",
    "programs.cycle.rerun_intro": "草稿可按最新的户籍收入和标准重新计算。",
    "programs.cycle.download": "下载银行代发文件",
    "programs.cycle.download_intro": "文件含完整身份证号和账号，每次下载都记入审计日志；"
                                     "导出后本期状态变为“已导出”。旧版银行系统请选 GBK 编码的 CSV。",
    "programs.cycle.download_again": "再次下载银行代发文件",
    "programs.cycle.xlsx": "Excel",
    "programs.cycle.csv_utf8": "CSV（UTF-8）",
    "programs.cycle.csv_gbk": "CSV（GBK）",
    "programs.cycle.reconcile": "上传银行结果对账",
    "programs.cycle.reconcile_intro": "上传银行返回的结果文件（银行文件各列加“结果”列：成功/失败，"
                                      "可加“原因”列）。所有行检查通过才会入账。",
    "programs.cycle.file": "结果文件（.xlsx 或 .csv）",
    "programs.cycle.reconcile_submit": "上传并对账",
    "programs.cycle.reconciled_done": "对账完成：成功 {paid} 元，失败 {failed} 元；失败的款项将在下一期重发。",
    "programs.cycle.reconcile_errors": "结果文件有 {n} 处错误，未入账",
    "programs.cycle.col_row": "行号",
    "programs.cycle.col_column": "列",
    "programs.cycle.col_reason": "错误原因",
    "programs.cycle.no_actions": "本期没有需要您办理的事项。",
    "programs.cycle.done": "本期已完成对账。",
    "programs.cycle.payments": "发放明细",
    "programs.cycle.county": "县区",
    "programs.cycle.all_counties": "全部县区",
    "programs.cycle.pay_status": "状态",
    "programs.cycle.col_case": "案件号",
    "programs.cycle.col_head": "户主",
    "programs.cycle.col_person": "姓名",
    "programs.cycle.col_kind": "类型",
    "programs.cycle.col_for": "所属月份",
    "programs.cycle.col_amount": "金额（元）",
    "programs.cycle.col_status": "状态",
    "programs.cycle.col_explain": "计算说明",
    "programs.cycle.no_payments": "没有符合条件的发放明细。",
    # public notice
    "programs.notice.title": "救助公示",
    "programs.notice.heading": "最低生活保障公示",
    "programs.notice.intro": "拟纳入最低生活保障的家庭在所在社区（村）公示。公示期内，任何人对公示对象有异议的，"
                             "都可以在本页提出，民政部门将逐件核查。",
    "programs.notice.search": "社区（村）名称或代码",
    "programs.notice.search_placeholder": "如：朝阳社区 或 320706006001",
    "programs.notice.col_community": "社区（村）",
    "programs.notice.col_region": "所属街道（乡镇）",
    "programs.notice.col_count": "公示户数",
    "programs.notice.view": "查看公示",
    "programs.notice.none": "目前没有正在公示的社区。",
    "programs.notice.none_found": "没有找到正在公示的社区，请换一个名称或代码。",
    "programs.notice.community_title": "{community} 救助公示",
    "programs.notice.community_intro": "以下家庭拟纳入最低生活保障。公示期满且无异议（或异议经核查处理）后，"
                                       "由县区民政局审批。",
    "programs.notice.col_head": "户主",
    "programs.notice.col_members": "保障人口",
    "programs.notice.col_income": "家庭月收入（元）",
    "programs.notice.col_amount": "拟补助金额（元/月）",
    "programs.notice.col_end": "公示截止",
    "programs.notice.col_objection": "异议",
    "programs.notice.persons": "{n} 人",
    "programs.notice.no_standard": "待核定",
    "programs.notice.too_many": "提交过于频繁：同一网络地址 {minutes} 分钟内最多提交 {n} 次异议，请稍后再试。",
    "programs.notice.broken": "金额待核定",
    "programs.case.broken_amount": "金额待核定（本案数据不完整，请核对类别与标准）",
    "programs.notice.empty": "该社区（村）目前没有正在公示的家庭。",
    "programs.notice.object": "提出异议",
    "programs.notice.content": "异议内容（必填，请写明事实）",
    "programs.notice.name": "您的姓名（可空）",
    "programs.notice.contact": "联系方式（可空，便于核查时回访）",
    "programs.notice.submit": "提交异议",
    "programs.notice.thanks": "感谢您的监督！异议已登记，民政部门将在审批前核查处理。",
    "programs.notice.privacy": "为保护个人隐私，公示仅列出户主姓氏和保障人口、收入及拟补助金额，"
                               "不公开身份证号、电话、住址和健康状况。",
    "programs.notice.back": "返回公示查询",
    "programs.notice.expired": "页面已过期，请刷新后重新提交。",
}

_EN: dict[str, str] = {
    "nav.cases": "Cases",
    "nav.standards": "Standards",
    "nav.cycles": "Payments",
    "programs.notice_link": "Public notices",
    "programs.program": "Program",
    "programs.all_programs": "All programs",
    "programs.all_statuses": "All statuses",
    "programs.cases.title": "Cases",
    "programs.cases.note": "Head-of-household names are masked in lists; open a case for details and its workflow.",
    "programs.cases.status": "Status",
    "programs.cases.region": "Region",
    "programs.cases.due": "Only cases due for review",
    "programs.cases.due_count": "{n} active cases are due for review",
    "programs.cases.col_id": "Case",
    "programs.cases.col_program": "Program",
    "programs.cases.col_head": "Head",
    "programs.cases.col_community": "Community",
    "programs.cases.col_category": "Category",
    "programs.cases.col_status": "Status",
    "programs.cases.col_start": "Start",
    "programs.cases.col_review": "Next review",
    "programs.cases.open": "Open",
    "programs.cases.empty": "No case matches.",
    "programs.apply.title": "New application",
    "programs.apply.intro": "Households apply: enter the household number (see Registry); the head is the applicant.",
    "programs.apply.household_no": "Household no.",
    "programs.apply.bank_account": "Bank account (optional; required before payment starts)",
    "programs.apply.sanwu": "三无 (no income, no work capacity, no supporter)",
    "programs.apply.staff_relative": "Relative of staff or cadres (registered; always checked in person)",
    "programs.apply.review_class": "Review class",
    "programs.apply.class.a": "A: unable to work or seriously ill, yearly review",
    "programs.apply.class.b": "B: stable income, review every 6 months",
    "programs.apply.class.c": "C: unstable income, able-bodied, quarterly review",
    "programs.apply.reason": "Note (optional)",
    "programs.apply.category": "Category (required where a program has centralized/dispersed; else from hukou)",
    "programs.apply.category_default": "From the hukou",
    "programs.apply.institution": "Care institution (centralized support)",
    "programs.apply.no_institution": "None",
    "programs.apply.submit": "Submit application",
    "programs.apply.done": "Application registered as case {id}.",
    "programs.overdue.title": "Suspend overdue reviews",
    "programs.overdue.intro": "Suspend, in one go, every active case in your scope whose review date is before "
                              "the chosen date; each gets the reason in its record.",
    "programs.overdue.before": "Review due before",
    "programs.overdue.reason": "Reason",
    "programs.overdue.default_reason": "逾期未复核",
    "programs.overdue.preview": "Show the cases",
    "programs.overdue.confirm_title": "Confirm suspension",
    "programs.overdue.confirm_text": "{n} active {program} cases were due for review before {before}. "
                                     "Confirm to suspend them all (reason: {reason}).",
    "programs.overdue.confirm_more": "Only the first {shown} are listed.",
    "programs.overdue.confirm": "Suspend {n} cases",
    "programs.overdue.nothing": "No active case was due for review before {before}.",
    "programs.overdue.done": "{n} overdue cases suspended.",
    "programs.case.title": "Case {id}",
    "programs.case.facts": "Case",
    "programs.case.household": "Household",
    "programs.case.head": "Head",
    "programs.case.community": "Community",
    "programs.case.category": "Category",
    "programs.case.status": "Status",
    "programs.case.bank_account": "Bank account",
    "programs.case.review_class": "Review class",
    "programs.case.start": "Start",
    "programs.case.end": "End",
    "programs.case.next_review": "Next review",
    "programs.case.notice": "Public notice",
    "programs.case.flags": "Flags",
    "programs.case.flag_sanwu": "三无",
    "programs.case.flag_relative": "Staff relative",
    "programs.case.flag_spot_required": "In-person check required",
    "programs.case.flag_spot_done": "Checked in person",
    "programs.case.created": "Applied at",
    "programs.case.monthly": "At this month's standard (yuan/month)",
    "programs.case.not_set": "not registered",
    "programs.case.actions": "Actions",
    "programs.case.no_actions": "You have no step to take in the current status.",
    "programs.case.more_actions": "Other actions (suspend, terminate, reject)",
    "programs.case.reason": "Reason",
    "programs.case.reason_optional": "Comment (optional)",
    "programs.case.reason_required": "Written reason (required)",
    "programs.case.income": "Assessed monthly income (yuan, optional)",
    "programs.case.spot_checked": "Checked in person",
    "programs.case.spot_hint": "This case must be checked in person before approval.",
    "programs.case.start_month": "First month paid",
    "programs.case.end_month": "Last month",
    "programs.case.step_done": "Step “{step}” done.",
    "programs.case.review_title": "Periodic review",
    "programs.case.review_intro": "The next review date follows from the review class.",
    "programs.case.review_note": "Findings",
    "programs.case.review_keep": "Keep class",
    "programs.case.review_submit": "Record the review",
    "programs.case.review_done": "Review recorded; next review: {date}.",
    "programs.case.bank_title": "Bank account",
    "programs.case.bank_new": "New account",
    "programs.case.bank_submit": "Save account",
    "programs.case.bank_done": "Bank account updated.",
    "programs.case.objections": "Objections",
    "programs.case.no_objections": "No objections.",
    "programs.case.obj_by": "By",
    "programs.case.obj_state": "Handling",
    "programs.case.obj_anonymous": "anonymous",
    "programs.case.obj_open": "Open",
    "programs.case.obj_resolution": "Findings and decision",
    "programs.case.obj_resolve": "Record the resolution",
    "programs.case.obj_resolved": "Resolved by {who} at {at}:",
    "programs.case.obj_done": "Resolution recorded.",
    "programs.case.events": "History",
    "programs.case.no_events": "No history (imported cases start in the status they were imported with).",
    "programs.case.ev_at": "Time",
    "programs.case.ev_action": "Step",
    "programs.case.ev_change": "Status",
    "programs.case.ev_actor": "By",
    "programs.case.ev_reason": "Reason",
    "programs.case.payments": "Payments",
    "programs.case.no_payments": "No payments yet.",
    "programs.case.pay_cycle": "Cycle",
    "programs.case.pay_kind": "Kind",
    "programs.case.pay_for": "For month",
    "programs.case.pay_amount": "Amount (yuan)",
    "programs.case.pay_status": "Status",
    "programs.case.pay_explain": "Explanation",
    "programs.standards.title": "Standards",
    "programs.standards.intro": "Standards are kept per region, category and effective date: the most specific "
                                "region wins (a county over the city), then the latest date.",
    "programs.standards.rules": "Rows are added, never edited. A date before months already paid creates arrears "
                                "(补发) for those months in the next cycle. Reconciled months cannot be changed.",
    "programs.standards.in_force": "In force in {month} (yuan per person per month)",
    "programs.standards.region": "Region",
    "programs.standards.from_here": "own standard since {date}",
    "programs.standards.inherited": "from {region} since {date}",
    "programs.standards.missing": "not set",
    "programs.standards.history": "All standards ({n})",
    "programs.standards.col_region": "Region",
    "programs.standards.col_category": "Category",
    "programs.standards.col_amount": "Amount (yuan)",
    "programs.standards.col_effective": "Effective",
    "programs.standards.col_source": "Source",
    "programs.standards.col_by": "By",
    "programs.standards.col_at": "Recorded at",
    "programs.standards.add": "Add a standard",
    "programs.standards.amount": "Amount (yuan per person per month)",
    "programs.standards.effective": "Effective from",
    "programs.standards.category": "Category",
    "programs.standards.source": "Source document (optional)",
    "programs.standards.source_placeholder": "e.g. 连民发〔2013〕12号",
    "programs.standards.backdated": "A date before this month pays the difference for months already paid "
                                    "in the next cycle.",
    "programs.standards.submit": "Add standard",
    "programs.standards.done": "Standard added: {region} {category} {amount} yuan from {date}.",
    "programs.standards.no_category": "no category",
    "programs.standards.current": "in force",
    "programs.cycles.title": "Payment cycles",
    "programs.cycles.intro": "One cycle per program, month and county: compute → approve (by someone else of the "
                             "county or the city) → export the bank file → reconcile the bank's result; failed "
                             "payments are paid again next cycle.",
    "programs.cycles.all_counties": "Every county (each its own cycle)",
    "programs.cycles.col_program": "Program",
    "programs.cycles.col_period": "Month",
    "programs.cycles.col_status": "Status",
    "programs.cycles.col_cases": "Households/persons",
    "programs.unit.household": "households",
    "programs.unit.person": "persons",
    "programs.cycles.col_total": "Total (yuan)",
    "programs.cycles.col_arrears": "Arrears",
    "programs.cycles.col_carry": "Carried over",
    "programs.cycles.empty": "No payment cycle yet.",
    "programs.cycles.run": "Compute a cycle",
    "programs.cycles.run_intro": "Pays the month's active cases at the standards in force; a draft can be "
                                 "recomputed, an approved cycle never changes.",
    "programs.cycles.period": "Month",
    "programs.cycles.run_submit": "Compute",
    "programs.cycles.open": "Open",
    "programs.cycle.title": "{county}: {program} payments {period}",
    "programs.cycle.cases": "Paid {unit}",
    "programs.cycle.total": "Total (yuan)",
    "programs.cycle.arrears": "Arrears (yuan)",
    "programs.cycle.carryover": "Carried over (yuan)",
    "programs.cycle.paid": "Paid (yuan)",
    "programs.cycle.failed": "Failed (yuan)",
    "programs.cycle.run_by": "Computed by {who} at {at}",
    "programs.cycle.approved_by": "Approved by {who} at {at}",
    "programs.cycle.exported_at": "Bank file exported at {at}",
    "programs.cycle.reconciled_at": "Reconciled at {at}",
    "programs.cycle.by_county": "By county",
    "programs.cycle.col_county": "County",
    "programs.cycle.col_cases": "{unit}",
    "programs.cycle.col_regular": "Regular (yuan)",
    "programs.cycle.col_arrears": "Arrears (yuan)",
    "programs.cycle.col_carry": "Carried over (yuan)",
    "programs.cycle.col_total": "Total (yuan)",
    "programs.cycle.col_paid": "Paid (yuan)",
    "programs.cycle.col_failed": "Failed (yuan)",
    "programs.cycle.mismatch": "The county totals ({sum}) differ from the cycle total ({total}); recompute.",
    "programs.cycle.actions": "Actions",
    "programs.cycle.approve": "Approve the cycle",
    "programs.cycle.approve_intro": "Computed by {who}; someone else must approve. Approved amounts never change.",
    "programs.cycle.approve_confirm": "Approve the {period} payments: {cases} {unit}, {total} yuan?",
    "programs.cycle.approved_done": "Cycle approved.",
    "programs.cycle.rerun": "Recompute",
    "programs.cycle.rerun_intro": "A draft can be recomputed from the latest incomes and standards.",
    "programs.cycle.download": "Download the bank file",
    "programs.cycle.download_intro": "The file holds full ID numbers and accounts; each download is audited and "
                                     "exporting marks the cycle exported. Older bank systems need the GBK CSV.",
    "programs.cycle.download_again": "Download the bank file again",
    "programs.cycle.xlsx": "Excel",
    "programs.cycle.csv_utf8": "CSV (UTF-8)",
    "programs.cycle.csv_gbk": "CSV (GBK)",
    "programs.cycle.reconcile": "Reconcile the bank's result",
    "programs.cycle.reconcile_intro": "Upload the bank's result file (the bank file's columns plus 结果: 成功/失败, "
                                      "optionally 原因). Nothing is booked unless every row checks.",
    "programs.cycle.file": "Result file (.xlsx or .csv)",
    "programs.cycle.reconcile_submit": "Upload and reconcile",
    "programs.cycle.reconciled_done": "Reconciled: {paid} yuan paid, {failed} yuan failed; failures are paid "
                                      "again next cycle.",
    "programs.cycle.reconcile_errors": "The result file has {n} errors; nothing was booked",
    "programs.cycle.col_row": "Row",
    "programs.cycle.col_column": "Column",
    "programs.cycle.col_reason": "Reason",
    "programs.cycle.no_actions": "Nothing for you to do on this cycle.",
    "programs.cycle.done": "This cycle is reconciled.",
    "programs.cycle.payments": "Payments",
    "programs.cycle.county": "County",
    "programs.cycle.all_counties": "All counties",
    "programs.cycle.pay_status": "Status",
    "programs.cycle.col_case": "Case",
    "programs.cycle.col_head": "Head",
    "programs.cycle.col_person": "Name",
    "programs.cycle.col_kind": "Kind",
    "programs.cycle.col_for": "For month",
    "programs.cycle.col_amount": "Amount (yuan)",
    "programs.cycle.col_status": "Status",
    "programs.cycle.col_explain": "Explanation",
    "programs.cycle.no_payments": "No payment matches.",
    "programs.notice.title": "Public notices",
    "programs.notice.heading": "Minimum living guarantee: public notices",
    "programs.notice.intro": "Households proposed for the minimum living guarantee are listed in their community. "
                             "While a notice runs anyone may object here; every objection is investigated.",
    "programs.notice.search": "Community name or code",
    "programs.notice.search_placeholder": "e.g. 朝阳社区 or 320706006001",
    "programs.notice.col_community": "Community",
    "programs.notice.col_region": "Town",
    "programs.notice.col_count": "Households",
    "programs.notice.view": "View",
    "programs.notice.none": "No community has a notice running.",
    "programs.notice.none_found": "No community with a running notice matches.",
    "programs.notice.community_title": "{community}: public notice",
    "programs.notice.community_intro": "These households are proposed for the minimum living guarantee. After the "
                                       "notice period, and once objections are resolved, the county decides.",
    "programs.notice.col_head": "Head",
    "programs.notice.col_members": "Persons",
    "programs.notice.col_income": "Monthly income (yuan)",
    "programs.notice.col_amount": "Proposed (yuan/month)",
    "programs.notice.col_end": "Notice ends",
    "programs.notice.col_objection": "Objection",
    "programs.notice.persons": "{n}",
    "programs.notice.no_standard": "to be set",
    "programs.notice.too_many": "Too many submissions: at most {n} objections per {minutes} minutes from one address. "
                                "Please try again later.",
    "programs.notice.broken": "amount to be set",
    "programs.case.broken_amount": "Amount to be set (this case's data is incomplete: check its category and standard)",
    "programs.notice.empty": "No household of this community is under notice.",
    "programs.notice.object": "Object",
    "programs.notice.content": "Your objection (required; state the facts)",
    "programs.notice.name": "Your name (optional)",
    "programs.notice.contact": "Contact (optional, for follow-up)",
    "programs.notice.submit": "Submit objection",
    "programs.notice.thanks": "Thank you. Your objection is registered and will be investigated before approval.",
    "programs.notice.privacy": "To protect privacy the notice shows only the head's surname, persons, income and "
                               "the proposed amount: never ID numbers, phones, addresses or health.",
    "programs.notice.back": "Back to public notices",
    "programs.notice.expired": "The page expired; reload it and submit again.",
}

_EN_STATUS = {"applied": "Applied", "investigated": "Investigated", "reviewed": "Reviewed", "noticed": "On notice",
              "approved": "Approved", "active": "Active", "suspended": "Suspended", "terminated": "Terminated",
              "rejected": "Rejected"}
_EN_EVENTS = {"apply": "Application", "import": "Imported (existing recipient)",
              "periodic_review": "Periodic review", "investigate": "Investigate",
              "review": "Town review", "notice": "Start notice", "approve": "County approval",
              "activate": "Start payment", "suspend": "Suspend", "resume": "Resume", "terminate": "Terminate",
              "reject": "Reject"}
_EN_KINDS = {"regular": "Regular", "arrears": "Arrears", "carryover": "Carried over"}
_EN_PAY = {"pending": "Pending", "paid": "Paid", "failed": "Failed"}
_EN_CYCLE = {"draft": "Draft", "approved": "Approved", "exported": "Exported", "reconciled": "Reconciled"}


def _labelled(prefix: str, names: dict[str, str]) -> dict[str, str]:
    return {f"programs.{prefix}.{k}": v for k, v in names.items()}


MESSAGES = {
    "zh": {**_ZH, **_labelled("status", STATUS_NAMES), **_labelled("event", EVENT_NAMES),
           **_labelled("kind", KINDS), **_labelled("pay", PAY_STATUSES), **_labelled("cycle_status", CYCLE_STATUSES)},
    "en": {**_EN, **_labelled("status", _EN_STATUS), **_labelled("event", _EN_EVENTS),
           **_labelled("kind", _EN_KINDS), **_labelled("pay", _EN_PAY), **_labelled("cycle_status", _EN_CYCLE)},
}


# ---- small helpers --------------------------------------------------------------------------------

def _message(request: Request, exc: MinxinError) -> str:
    return domain_message(exc.message, lang=request_lang(request))


def _text(request: Request, key: str, **params: Any) -> str:
    return gettext(key, lang=request_lang(request), **params)


def _parse_period(value: str, *, field: str = "月份") -> Period:
    if not value.strip():
        raise ValidationError("请填写月份，格式为 年-月，如 2012-07 (month required)", field=field)
    return Period.parse(value)


def _parse_date(value: str, *, message: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(message, field=field) from None


def _programs(session: Session) -> list[Program]:
    return list(session.execute(select(Program).order_by(Program.code)).scalars())


def _short_names(programs: list[Program]) -> dict[str, str]:
    """A program's short name (its policy entry's `short`) where a table column is narrow."""
    names = {}
    for p in programs:
        try:
            names[p.code] = program_policy(p.code).short
        except MinxinError:  # a program the policy file no longer lists
            names[p.code] = p.name
    return names


def _default_program(session: Session) -> str:
    return session.execute(select(Program.code).order_by(Program.code).limit(1)).scalar() or ""


def _display_names(session: Session, usernames: set[str]) -> dict[str, str]:
    if not usernames:
        return {}
    rows = session.execute(select(User.username, User.display_name).where(User.username.in_(usernames)))
    return {u: d or u for u, d in rows}


def _heads(session: Session, person_ids: set[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    return dict(session.execute(select(Person.id, Person.name).where(Person.id.in_(person_ids))).all())


def _problem(request: Request, program: Program | None, case: Case) -> str | None:
    """What is missing from a stored case (shown beside it, so a broken record is marked, not fatal)."""
    if program is None:
        return None
    problem = case_problem(program, case, policy_or_none(case.program_code))
    return domain_message(problem, lang=request_lang(request)) if problem else None


def _redirect(url: str, **params: Any) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return RedirectResponse(url + (f"?{query}" if query else ""), status_code=303)


def _attachment(filename: str, ascii_name: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"}


# ---- cases ----------------------------------------------------------------------------------------

def _region_filter(user: User, region: str) -> str | None:
    region = region.strip()
    if not region:
        return None
    if not region.isdigit() or len(region) not in (6, 9, 12):
        raise ValidationError("区域代码格式不正确 (malformed region code)", field="region")
    if not covers(user.scope_code, region):
        raise NotFound("区域不在您的辖区内 (region outside your scope)")
    return region


def _cases_page(request: Request, session: Session, user: User, *, program: str = "", status: str = "",
                region: str = "", due: bool = False, page: int = 1, apply_form: dict[str, Any] | None = None,
                apply_error: str | None = None, overdue_form: dict[str, Any] | None = None,
                overdue_error: str | None = None, suspended: int | None = None, status_code: int = 200) -> Response:
    programs = _programs(session)
    program = program if program in {p.code for p in programs} else ""
    status = status if status in CASE_STATUSES else ""
    error = None
    try:
        region_code = _region_filter(user, region)
    except MinxinError as exc:
        region_code, error = None, _message(request, exc)
    size = get_settings().page_size
    today = local_today()
    if due:
        results = cases_due_for_review(session, user=user, program=program or None, region_code=region_code,
                                       on=today, page=page, page_size=size)
    else:
        results = list_cases(session, user=user, program=program or None, status=status or None,
                             region_code=region_code, page=page, page_size=size)
    due_total = cases_due_for_review(session, user=user, program=program or None, on=today, page_size=1).total
    by_code = {p.code: p for p in programs}
    return render(request, "programs/cases.html", {
        "programs": programs, "program_names": _short_names(programs),
        "program": program, "status": status, "region": region_code or "", "due": due, "error": error,
        "results": results, "statuses": CASE_STATUSES, "regions": region_choices_for(session, user),
        "heads": _heads(session, {c.person_id for c in results.items}),
        "problems": {c.id: _problem(request, by_code.get(c.program_code), c) for c in results.items},
        "community_names": region_names(session, {c.region_code for c in results.items}),
        "due_total": due_total, "today": today,
        "can_apply": has_perm(user, Perm.CASES_APPLY), "can_suspend": has_perm(user, Perm.CASES_APPROVE),
        "apply_form": apply_form or {"review_class": "B"}, "apply_error": apply_error,
        "categories": sorted({c for p in programs for c in p.category_list if c not in ("城镇", "农村")}),
        "institutions": list_institutions(session, user=user) if has_perm(user, Perm.CASES_APPLY) else [],
        "overdue_form": overdue_form or {}, "overdue_error": overdue_error, "suspended": suspended,
    }, status_code=status_code)


@router.get("/cases", name="cases")
def cases_list(request: Request, program: str = Query("", max_length=32), status: str = Query("", max_length=16),
               region: str = Query("", max_length=12), due: bool = False,
               page: int = Query(1, ge=1, le=100_000), suspended: int | None = Query(None, ge=0),
               user: User = Depends(current_user),
               session: Session = Depends(get_session)) -> Response:
    """Cases in the user's scope, filtered and paged; the application form for those who may apply."""
    return _cases_page(request, session, user, program=program, status=status, region=region, due=due, page=page,
                       suspended=suspended)


@router.post("/cases", name="case_apply")
def case_apply(request: Request, program: str = Form(""), household_no: str = Form(""),
               bank_account: str = Form(""), sanwu: bool = Form(False), staff_relative: bool = Form(False),
               review_class: str = Form("B"), reason: str = Form(""), category: str = Form(""),
               institution: str = Form(""), user: User = Depends(current_user),
               session: Session = Depends(get_session)) -> Response:
    """申请: open a case for a household found by its number; the reason is shown next to the form."""
    form = {"program": program, "household_no": household_no[:32], "bank_account": bank_account[:40],
            "sanwu": sanwu, "staff_relative": staff_relative, "review_class": review_class[:1],
            "reason": reason[:500], "category": category[:16], "institution": institution[:12]}
    try:
        household = get_household_by_no_for(session, user, household_no, field="household_no")
        if institution.strip() and not institution.strip().isdigit():
            raise ValidationError("请选择供养机构 (choose an institution)", field="institution")
        case = apply(session, actor=user, program=program or _default_program(session),
                     household_id=household.id, bank_account=bank_account.strip() or None, sanwu=sanwu,
                     staff_relative=staff_relative, review_class=review_class.strip(),
                     reason=reason or None, category=category.strip() or None,
                     institution_id=int(institution) if institution.strip() else None)
    except MinxinError as exc:
        if isinstance(exc, NotFound):
            exc = ValidationError(exc.message, field="household_no")
        session.rollback()
        return _cases_page(request, session, user, apply_form=form, apply_error=_message(request, exc),
                           status_code=status_for(exc))
    session.commit()
    return _redirect(f"/cases/{case.id}", done="apply")


def _overdue_date(value: str) -> date:
    if not value.strip():
        raise ValidationError("请填写日期，格式为 年-月-日 (date required)", field="before")
    return _parse_date(value, message="日期格式应为 年-月-日，如 2013-01-01 (bad date)", field="before")


@router.get("/cases/suspend-overdue", name="cases_suspend_overdue_preview")
def suspend_overdue_preview(request: Request, program: str = Query("", max_length=32),
                            before: str = Query("", max_length=20), reason: str = Query("", max_length=200),
                            user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """The confirm step of 批量暂停: which active cases in scope would be suspended."""
    form = {"program": program, "before": before, "reason": reason}
    try:
        prog = get_program(session, program or _default_program(session))
        day = _overdue_date(before) if before.strip() else local_today()  # overdue today, by default
        form["before"] = day.isoformat()
        preview = overdue_preview(session, user=user, program=prog.code, overdue_before=day)
    except MinxinError as exc:
        if isinstance(exc, Forbidden):
            raise
        return _cases_page(request, session, user, overdue_form=form, overdue_error=_message(request, exc),
                           status_code=status_for(exc))
    reason = reason.strip() or _text(request, "programs.overdue.default_reason")
    return render(request, "programs/suspend_confirm.html", {
        "program": prog, "program_short": _short_names([prog])[prog.code], "before": day, "reason": reason,
        "preview": preview,
        "heads": _heads(session, {c.person_id for c in preview.items}),
        "community_names": region_names(session, {c.region_code for c in preview.items}),
    })


@router.post("/cases/suspend-overdue", name="cases_suspend_overdue")
def suspend_overdue_confirm(request: Request, program: str = Form(""), before: str = Form(""),
                            reason: str = Form(""), user: User = Depends(current_user),
                            session: Session = Depends(get_session)) -> Response:
    """Suspend every overdue active case in scope in one statement (each gets its event)."""
    form = {"program": program, "before": before, "reason": reason}
    try:
        day = _overdue_date(before)
        n = suspend_overdue(session, actor=user, program=program, overdue_before=day,
                            reason=reason.strip() or _text(request, "programs.overdue.default_reason"))
    except MinxinError as exc:
        session.rollback()
        return _cases_page(request, session, user, overdue_form=form, overdue_error=_message(request, exc),
                           status_code=status_for(exc))
    session.commit()
    return _redirect("/cases", suspended=n)


# ---- one case -------------------------------------------------------------------------------------

@dataclass
class Stage:
    status: str
    state: str  # done | current | todo


def _stages(case: Case) -> list[Stage]:
    """The stepper: stages before the current one are done (the workflow only moves forward; an imported
    case has no events for them). A rejected case shows the stages its events reached."""
    if case.status == "rejected":
        reached = {e.to_status for e in case.events}
        return [Stage(s, "done" if s in reached else "todo") for s in STAGES]
    current = {"suspended": "active", "terminated": None}.get(case.status, case.status)
    at = STAGES.index(current) if current in STAGES else len(STAGES)
    return [Stage(s, "done" if i < at else "current" if i == at else "todo") for i, s in enumerate(STAGES)]


def _case_page(request: Request, session: Session, user: User, case: Case, *, errors: dict[str, str] | None = None,
               forms: dict[str, dict[str, Any]] | None = None, done: str | None = None,
               status_code: int = 200) -> Response:
    program = get_program(session, case.program_code)
    household = session.get(Household, case.household_id) if case.household_id else None
    head = session.get(Person, case.person_id)
    steps = allowed_steps(user, case)
    objections = objections_of(session, user, case.id)
    payments = cycle_service.case_payment_items(session, case.id)
    events = list(case.events)
    names = _display_names(session, {e.actor for e in events} | {o.resolved_by for o in objections if o.resolved_by})
    lang = request_lang(request)
    flash = None
    if done == "apply":
        flash = gettext("programs.apply.done", lang=lang, id=case.id)
    elif done in STEPS:
        flash = gettext("programs.case.step_done", lang=lang, step=gettext(f"programs.event.{done}", lang=lang))
    elif done == "periodic":
        flash = gettext("programs.case.review_done", lang=lang, date=case.next_review_due or "—")
    elif done in ("bank", "objection"):
        flash = gettext("programs.case.bank_done" if done == "bank" else "programs.case.obj_done", lang=lang)
    errors = dict(errors or {})
    for key in [k for k in errors if k.startswith("step:") and k[5:] not in steps]:
        errors["general"] = errors.pop(key)  # its form is not on the page (any more)
    active_like = case.status not in ("terminated", "rejected")
    proposed, proposed_broken = safe_proposed_amount(session, case) if active_like else (None, False)
    problem = _problem(request, program, case)
    if problem and active_like:
        proposed, proposed_broken = None, True
    forward = [s for s in steps if s in FORWARD_STEPS]
    other = [s for s in steps if s not in FORWARD_STEPS]
    return render(request, "programs/case.html", {
        "case": case, "program": program, "household": household, "head_name": head.name if head else "",
        "members": len(household.members) if household else 0,
        "community": region_path(session, case.region_code), "stages": _stages(case),
        "account": mask_account(case.bank_account) if case.bank_account else None,
        "forward_steps": forward, "other_steps": other,
        "open_other": not forward or any(f"step:{s}" in errors for s in other),
        "event_names": EVENT_NAMES,
        "can_see_cycles": cycle_service.may_read_cycles(user),
        "reason_required": REASON_REQUIRED, "month_steps": MONTH_STEPS,
        "objections": objections, "events": events, "names": names,
        "payments": payments,
        "proposed": proposed, "proposed_broken": proposed_broken,
        "problem": problem,
        "spot_needed": case.spot_check_required or case.staff_relative,
        "can_resolve": has_perm(user, Perm.CASES_REVIEW),
        "can_review": has_perm(user, Perm.CASES_INVESTIGATE) and case.status == "active",
        "can_bank": has_perm(user, Perm.CASES_APPLY) and active_like,
        "this_month": str(Period.of(local_today())), "today": local_today(),
        "errors": errors, "forms": forms or {}, "flash": flash,
    }, status_code=status_code)


_DONE = {*STEPS, "apply", "periodic", "bank", "objection"}


@router.get("/cases/{case_id:int}", name="case")
def case_page(request: Request, case_id: int, done: str = Query("", max_length=20),
              user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """One case: facts, workflow stepper and the buttons this user may press, objections, history, payments."""
    case = get_case_for(session, user, case_id)
    return _case_page(request, session, user, case, done=done if done in _DONE else None)


def _refused(request: Request, session: Session, user: User, case_id: int, key: str, exc: MinxinError,
             form: dict[str, Any]) -> Response:
    """Redisplay the case page with the service's reason next to the form that was refused."""
    if isinstance(exc, NotFound):
        raise exc
    session.rollback()
    case = get_case_for(session, user, case_id)
    return _case_page(request, session, user, case, errors={key: _message(request, exc)}, forms={key: form},
                      status_code=status_for(exc))


@router.post("/cases/{case_id:int}/step", name="case_step")
def case_step(request: Request, case_id: int, action: str = Form(""), reason: str = Form(""),
              spot_checked: bool = Form(False), month: str = Form(""), income: str = Form(""),
              user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """One workflow step (the service refuses out-of-order steps, wrong roles and self-approval)."""
    case = get_case_for(session, user, case_id)
    action = action.strip()[:20]
    form = {"reason": reason[:2000], "spot_checked": spot_checked, "month": month[:20], "income": income[:20]}
    try:
        period = _parse_period(month) if action in MONTH_STEPS and month.strip() else None
        income_fen = parse_yuan(income, field="核定收入") if action == "investigate" and income.strip() else None
        step(session, actor=user, case_id=case.id, action=action, reason=reason or None,
             spot_checked=spot_checked, start_period=period, income_fen=income_fen)
    except MinxinError as exc:
        return _refused(request, session, user, case.id, f"step:{action}", exc, form)
    session.commit()
    return _redirect(f"/cases/{case.id}", done=action)


@router.post("/cases/{case_id:int}/objections/{objection_id:int}/resolve", name="case_resolve_objection")
def case_resolve_objection(request: Request, case_id: int, objection_id: int, resolution: str = Form(""),
                           user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Record how an objection was investigated (县/乡镇 reviewers); approval waits until all are resolved."""
    objection = get_objection_for(session, user, case_id, objection_id)
    case = get_case_for(session, user, case_id)
    try:
        resolve_objection(session, actor=user, objection_id=objection.id, resolution=resolution[:2000])
    except MinxinError as exc:
        return _refused(request, session, user, case.id, f"objection:{objection.id}", exc,
                        {"resolution": resolution[:2000]})
    session.commit()
    return _redirect(f"/cases/{case.id}", done="objection")


@router.post("/cases/{case_id:int}/review", name="case_periodic_review")
def case_periodic_review(request: Request, case_id: int, note: str = Form(""), review_class: str = Form(""),
                         user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """定期复核 of an active case: the next review date moves on by the class's interval."""
    case = get_case_for(session, user, case_id)
    try:
        record_review(session, actor=user, case_id=case.id, note=note or None,
                      review_class=review_class.strip()[:1] or None)
    except MinxinError as exc:
        return _refused(request, session, user, case.id, "review", exc,
                        {"note": note[:2000], "review_class": review_class[:1]})
    session.commit()
    return _redirect(f"/cases/{case.id}", done="periodic")


@router.post("/cases/{case_id:int}/bank-account", name="case_bank_account")
def case_bank_account(request: Request, case_id: int, account: str = Form(""), user: User = Depends(current_user),
                      session: Session = Depends(get_session)) -> Response:
    """Register or change the bank account payments go to (audited)."""
    case = get_case_for(session, user, case_id)
    try:
        if not account.strip():
            raise ValidationError("请填写银行账号 (account required)", field="账号")
        set_bank_account(session, actor=user, case_id=case.id, account=account[:40])
    except MinxinError as exc:
        return _refused(request, session, user, case.id, "bank", exc, {"account": account[:40]})
    session.commit()
    return _redirect(f"/cases/{case.id}", done="bank")


# ---- standards ------------------------------------------------------------------------------------

@dataclass
class InForce:
    id: int
    amount_fen: int
    effective_from: date
    region_code: str
    own: bool  # set on this region itself, not inherited from the city


def _standards_page(request: Request, session: Session, user: User, *, program: str = "",
                    form: dict[str, Any] | None = None, form_error: str | None = None, added: int | None = None,
                    status_code: int = 200) -> Response:
    programs = _programs(session)
    prog = get_program(session, program) if program in {p.code for p in programs} else (
        programs[0] if programs else None)
    if prog is None:
        raise NotFound("还没有配置任何项目 (no program)")
    history = standards_for(session, user, program=prog.code)
    month = Period.of(local_today())
    city_code = get_settings().city_code
    regions = [r for r in (session.get(Region, city_code),) if r is not None]
    regions += list_regions(session, level="county", include_historical=False)
    categories = prog.category_list or [""]
    table: list[tuple[Region, list[InForce | None]]] = []
    for region in regions:
        row: list[InForce | None] = []
        for category in categories:
            try:
                s = standard_in_force(session, program=prog.code, region_code=region.code, period=month,
                                      category=category)
                row.append(InForce(s.id, s.amount_fen, s.effective_from, s.region_code, s.region_code == region.code))
            except NotFound:
                row.append(None)
        table.append((region, row))
    in_force_ids = {cell.id for _, row in table for cell in row if cell is not None}
    settable = [r for r in regions if may_set_standard(user, r.code)]
    added_row = next((s for s in history if s.id == added), None) if added else None
    return render(request, "programs/standards.html", {
        "programs": programs, "program": prog, "month": str(month), "categories": categories, "table": table,
        "history": list(reversed(history)), "in_force_ids": in_force_ids,
        "names": region_names(session, {s.region_code for s in history} | {r.code for r in regions}),
        "users": _display_names(session, {s.created_by for s in history}),
        "settable": settable, "form": form or {}, "form_error": form_error, "added": added_row,
        "today": local_today().isoformat(),
    }, status_code=status_code)


@router.get("/standards", name="standards")
def standards_page(request: Request, program: str = Query("", max_length=32), added: int | None = Query(None, ge=1),
                   user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """The standard in force this month for the city and each county, the full history, and the form to add one."""
    return _standards_page(request, session, user, program=program, added=added)


@router.post("/standards", name="standards_add")
def standards_add(request: Request, program: str = Form(""), region: str = Form(""), category: str = Form(""),
                  amount: str = Form(""), effective: str = Form(""), source: str = Form(""),
                  user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Add a standard row (never an edit); a back-dated one pays arrears in the next cycle."""
    form = {"region": region[:12], "category": category[:16], "amount": amount[:30], "effective": effective[:20],
            "source": source[:200]}
    try:
        if not amount.strip():
            raise ValidationError("请填写金额 (amount required)", field="amount")
        amount_fen = parse_yuan(amount, field="金额")
        if not effective.strip():
            raise ValidationError("请填写生效日期 (effective date required)", field="effective")
        day = _parse_date(effective, field="effective",
                          message="生效日期格式应为 年-月-日，如 2013-01-01 (bad date)")
        std = set_standard(session, actor=user, program=program, region_code=region.strip(), amount_fen=amount_fen,
                           effective=day, category=category, source=source)
    except MinxinError as exc:
        session.rollback()
        return _standards_page(request, session, user, program=program, form=form,
                               form_error=_message(request, exc), status_code=status_for(exc))
    session.commit()
    return _redirect("/standards", program=std.program_code, added=std.id)


# ---- payment cycles -------------------------------------------------------------------------------

def _cycles_page(request: Request, session: Session, user: User, *, page: int = 1,
                 form: dict[str, Any] | None = None, run_error: str | None = None,
                 status_code: int = 200) -> Response:
    cycles = cycle_service.list_cycles_for(session, user, page=page, page_size=get_settings().page_size)
    programs = _programs(session)
    can_run = has_perm(user, Perm.CYCLES_RUN)
    run_counties = [r for r in cycle_service.city_counties(session) if can_see(user, r.code)] if can_run else []
    return render(request, "programs/cycles.html", {
        "programs": programs, "program_names": _short_names(programs), "cycles": cycles,
        "program_units": {p.code: p.unit for p in programs},
        "county_names": cycle_service.county_names(session), "can_run": can_run, "run_counties": run_counties,
        "form": form or {"period": str(Period.of(local_today()))}, "run_error": run_error,
    }, status_code=status_code)


@router.get("/cycles", name="cycles")
def cycles_page(request: Request, page: int = Query(1, ge=1, le=100_000), user: User = Depends(current_user),
                session: Session = Depends(get_session)) -> Response:
    """The payment cycles in the user's scope (a county's, or every county's for the city), newest month
    first, and the form to compute one."""
    return _cycles_page(request, session, user, page=page)


@router.post("/cycles", name="cycles_run")
def cycles_run(request: Request, program: str = Form(""), period: str = Form(""), county: str = Form(""),
               user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Compute (or recompute a draft of) the cycle of a program and month for a county (or, for a city user
    who names none, every county), then show it."""
    form = {"program": program[:32], "period": period[:20], "county": county[:6]}
    try:
        program = program or _default_program(session)
        month = _parse_period(period)
        if county or county_of(user.scope_code):
            summary = cycle_service.run_cycle(session, actor=user, program=program, period=month,
                                              county=county or None)
            target = f"/cycles/{summary.cycle_id}"
        else:
            city = cycle_service.run_county_cycles(lambda: savepoint(session), actor=user.username,
                                                   program=program, period=month)
            if city.failed:
                raise Conflict("；".join(f"{f['county']}：{f['error']}" for f in city.failed))
            target = "/cycles"
    except MinxinError as exc:
        session.rollback()
        return _cycles_page(request, session, user, form=form, run_error=_message(request, exc),
                            status_code=status_for(exc))
    session.commit()
    return _redirect(target, done="run")


def _cycle_payment_rows(session: Session, cycle: Cycle, rows: list[Any]) -> list[tuple[Any, Payment, str]]:
    """A page of lines as display rows: one per part, with its line and the head's name."""
    names = {(p.case_id, p.seq): name for p, name in rows}
    items = cycle_service.items_of_lines(session, [(p, cycle.period) for p, _ in rows])
    return [(item, p, names[(p.case_id, p.seq)]) for item, p in items]


_CYCLE_DONE = {"run", "approved", "reconciled"}


def _cycle_page(request: Request, session: Session, user: User, cycle: Cycle, *, county: str = "",
                pay_status: str = "", page: int = 1, done: str | None = None,
                errors: dict[str, str] | None = None, row_errors: list[Any] | None = None,
                status_code: int = 200) -> Response:
    program = get_program(session, cycle.program_code)
    counties = cycle_service.county_totals(session, cycle.id)
    totals = {k: sum(c[k] for c in counties) for k in ("cases", "regular_fen", "arrears_fen", "carryover_fen",
                                                        "total_fen", "paid_fen", "failed_fen")}
    county = county if county in {c["county"] for c in counties} else ""
    pay_status = pay_status if pay_status in PAY_STATUSES else ""
    payments = cycle_access.cycle_payments_for(session, user, cycle, county=county or None,
                                               status=pay_status or None, page=page,
                                               page_size=get_settings().page_size)
    lang = request_lang(request)
    flash = None
    if done == "approved":
        flash = gettext("programs.cycle.approved_done", lang=lang)
    elif done == "reconciled":
        flash = gettext("programs.cycle.reconciled_done", lang=lang, paid=yuan(cycle.paid_fen),
                        failed=yuan(cycle.failed_fen))
    return render(request, "programs/cycle.html", {
        "cycle": cycle, "program": program, "counties": counties, "totals": totals,
        "unit": gettext(f"programs.unit.{program.unit}", lang=lang),
        "county_name": cycle_service.county_names(session).get(cycle.county_code, cycle.county_code),
        "payments": _cycle_payment_rows(session, cycle, payments.items),
        "page": payments, "county": county, "pay_status": pay_status, "pay_statuses": PAY_STATUSES,
        "users": _display_names(session, {u for u in (cycle.run_by, cycle.approved_by) if u}),
        "can_run": has_perm(user, Perm.CYCLES_RUN) and can_see(user, cycle.county_code),
        "can_pay": has_perm(user, Perm.CYCLES_RUN) and can_see(user, cycle.county_code),
        "can_approve": has_perm(user, Perm.CYCLES_APPROVE) and can_see(user, cycle.county_code),
        "flash": flash, "errors": errors or {}, "row_errors": row_errors or [],
    }, status_code=status_code)


@router.get("/cycles/{cycle_id:int}", name="cycle")
def cycle_page(request: Request, cycle_id: int, county: str = Query("", max_length=6),
               status: str = Query("", max_length=10), page: int = Query(1, ge=1, le=100_000),
               done: str = Query("", max_length=20), user: User = Depends(current_user),
               session: Session = Depends(get_session)) -> Response:
    """One cycle: totals, the table per county, what may be done next, and its payments."""
    cycle = cycle_service.get_cycle_for(session, user, cycle_id)
    return _cycle_page(request, session, user, cycle, county=county, pay_status=status, page=page,
                       done=done if done in _CYCLE_DONE else None)


@router.post("/cycles/{cycle_id:int}/approve", name="cycle_approve")
def cycle_approve(request: Request, cycle_id: int, user: User = Depends(current_user),
                  session: Session = Depends(get_session)) -> Response:
    """draft → approved, by someone other than whoever computed it (the service says why not)."""
    cycle = cycle_service.get_cycle_for(session, user, cycle_id)
    try:
        cycle_service.approve_cycle(session, actor=user, cycle_id=cycle.id)
    except MinxinError as exc:
        if isinstance(exc, NotFound):
            raise
        session.rollback()
        cycle = cycle_service.get_cycle_for(session, user, cycle.id)
        return _cycle_page(request, session, user, cycle, errors={"approve": _message(request, exc)},
                           status_code=status_for(exc))
    session.commit()
    return _redirect(f"/cycles/{cycle.id}", done="approved")


def _bank_response(session: Session, cycle: Cycle, buffer: io.BytesIO, fmt: str, encoding: str) -> Response:
    short = program_policy(cycle.program_code).short
    suffix = "" if fmt == "xlsx" else f"-{encoding.upper().replace('UTF8', 'UTF-8')}"
    county = region_names(session, {cycle.county_code}).get(cycle.county_code, cycle.county_code)
    filename = f"{short}-{county}-{cycle.period}-银行代发{suffix}.{fmt}"
    ascii_name = cycle_service.bank_file_name(cycle, fmt).replace(f".{fmt}", f"{suffix}.{fmt}")
    media = XLSX if fmt == "xlsx" else f"text/csv; charset={'gbk' if encoding.lower() == 'gbk' else 'utf-8'}"
    return Response(buffer.getvalue(), media_type=media, headers=_attachment(filename, ascii_name))


@router.post("/cycles/{cycle_id:int}/export", name="cycle_export")
def cycle_export(request: Request, cycle_id: int, fmt: str = Form("xlsx", max_length=16),
                 user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Export the bank file of an approved cycle (approved → exported): a state change, so by POST with the
    CSRF token only. The file is the answer."""
    cycle = cycle_service.get_cycle_for(session, user, cycle_id)
    kind, _, encoding = fmt.partition("-")
    kind, encoding = (kind, encoding or "utf-8") if kind in ("xlsx", "csv") else ("xlsx", "utf-8")
    buffer = io.BytesIO()
    try:
        cycle_service.export_cycle(session, actor=user, cycle_id=cycle.id, target=buffer, fmt=kind, encoding=encoding)
    except MinxinError as exc:
        if isinstance(exc, NotFound):
            raise
        session.rollback()
        cycle = cycle_service.get_cycle_for(session, user, cycle.id)
        return _cycle_page(request, session, user, cycle, errors={"export": _message(request, exc)},
                           status_code=status_for(exc))
    session.commit()
    return _bank_response(session, cycle, buffer, kind, encoding)


@router.get("/cycles/{cycle_id:int}/bank.{fmt}", name="cycle_bank_file")
@writes
def cycle_bank_file(cycle_id: int, fmt: str, encoding: str = Query("utf-8", max_length=10),
                    user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """The bank file of a cycle already exported, again (xlsx, or CSV in UTF-8 or GBK): reading only, each
    download audited. Exporting (the state change) is the POST above."""
    cycle = cycle_service.get_cycle_for(session, user, cycle_id)
    if fmt not in ("xlsx", "csv"):
        raise NotFound("没有这种格式的银行文件 (no such format)")
    buffer = io.BytesIO()
    cycle_service.download_bank_file(session, actor=user, cycle_id=cycle.id, target=buffer, fmt=fmt,
                                     encoding=encoding)
    session.commit()
    return _bank_response(session, cycle, buffer, fmt, encoding)


@router.post("/cycles/{cycle_id:int}/reconcile", name="cycle_reconcile")
def cycle_reconcile(request: Request, cycle_id: int, file: UploadFile | None = File(None),
                    user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """Book the bank's result file: every row must check, or nothing is booked and each error is listed."""
    cycle = cycle_service.get_cycle_for(session, user, cycle_id)
    try:
        data, filename = read_upload(file)
        result = cycle_service.reconcile_cycle(session, actor=user, cycle_id=cycle.id, data=data, filename=filename)
    except MinxinError as exc:
        if isinstance(exc, NotFound):
            raise
        session.rollback()
        cycle = cycle_service.get_cycle_for(session, user, cycle.id)
        return _cycle_page(request, session, user, cycle, errors={"reconcile": _message(request, exc)},
                           status_code=status_for(exc))
    if not result.ok:
        session.rollback()
        cycle = cycle_service.get_cycle_for(session, user, cycle.id)
        return _cycle_page(request, session, user, cycle, row_errors=result.errors, status_code=422)
    session.commit()
    return _redirect(f"/cycles/{cycle.id}", done="reconciled")


# ---- public notice (公示) -------------------------------------------------------------------------

# The public objection form: at most this many posts per client address in the window, counted in the
# database (minxin.ratelimit) so that every worker process shares the count.
OBJECTIONS_PER_WINDOW = 5
OBJECTION_WINDOW = timedelta(minutes=10)

def _communities_under_notice(session: Session, *, q: str, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
    """Communities with a notice running now, matched by code prefix or by name."""
    counts = dict(session.execute(
        select(Case.region_code, func.count()).where(Case.status == "noticed", Case.notice_end >= now)
        .group_by(Case.region_code)).all())
    if not counts:
        return []
    q = q.strip()
    regions = list(session.execute(select(Region).where(Region.code.in_(counts)).order_by(Region.code)).scalars())
    if q.isdigit():
        regions = [r for r in regions if r.code.startswith(q)]
    elif q:
        regions = [r for r in regions if q in r.name]
    return [{"code": r.code, "name": r.name, "parent": region_path(session, r.parent_code or ""),
             "count": counts[r.code]} for r in regions[:limit]]


def _public(request: Request, session: Session) -> None:
    ensure_city_name(request, session)


@public_router.get("/notice", name="notice_index")
def notice_index(request: Request, q: str = Query("", max_length=40),
                 session: Session = Depends(get_session)) -> Response:
    """The public notice index: find a community with households under notice (no login)."""
    _public(request, session)
    communities = _communities_under_notice(session, q=q, now=utcnow())
    return render(request, "programs/notice_index.html", {"q": q, "communities": communities})


def _community(session: Session, code: str) -> Region:
    region = session.get(Region, code) if code.isdigit() and len(code) == 12 else None
    if region is None or region.level != "community":
        raise NotFound("社区（村）不存在 (no such community)")
    return region


def _notice_page(request: Request, session: Session, community: Region, *, thanks: bool = False,
                 errors: dict[int, str] | None = None, forms: dict[int, dict[str, str]] | None = None,
                 status_code: int = 200) -> Response:
    rows = notice_rows(session, community_code=community.code)
    errors = dict(errors or {})
    for key in [k for k in errors if k not in {r.case_id for r in rows}]:
        errors[0] = errors.pop(key)  # not a row on the page: shown above the table
    token = request.cookies.get(NOTICE_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, "programs/notice.html", {
        "community": community, "region_label": region_path(session, community.code), "rows": rows, "thanks": thanks,
        "errors": errors, "forms": forms or {}, "notice_csrf": token,
    }, status_code=status_code)
    response.set_cookie(NOTICE_CSRF_COOKIE, token, max_age=3600 * 12, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https" or get_settings().cookie_secure, path="/notice")
    return response


@public_router.get("/notice/{community_code}", name="notice")
def notice_page(request: Request, community_code: str, thanks: bool = False,
                session: Session = Depends(get_session)) -> Response:
    """One community's households under notice: masked head, persons, income, proposed amount, end date."""
    _public(request, session)
    return _notice_page(request, session, _community(session, community_code), thanks=thanks)


@public_router.post("/notice/{community_code}/objections", name="notice_objection")
def notice_objection(request: Request, community_code: str, case_id: int = Form(0), content: str = Form(""),
                     name: str = Form(""), contact: str = Form(""), csrf_token: str = Form(""),
                     session: Session = Depends(get_session)) -> Response:
    """Anyone may object to a household under notice; the county cannot approve until it is resolved."""
    _public(request, session)
    community = _community(session, community_code)
    form = {"content": content[:2000], "name": name[:64], "contact": contact[:64]}
    client = request.client.host if request.client else "unknown"
    allowed = ratelimit.hit(session, key=f"objection:{client}", limit=OBJECTIONS_PER_WINDOW, window=OBJECTION_WINDOW)
    session.commit()  # the attempt counts even when it is refused below
    if not allowed:
        response = _notice_page(request, session, community, forms={case_id: form}, status_code=429, errors={
            case_id: _text(request, "programs.notice.too_many", n=OBJECTIONS_PER_WINDOW,
                           minutes=int(OBJECTION_WINDOW.total_seconds()) // 60)})
        response.headers["Retry-After"] = str(int(OBJECTION_WINDOW.total_seconds()))
        return response
    expected = request.cookies.get(NOTICE_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), csrf_token.encode()):
        return _notice_page(request, session, community, errors={case_id: _text(request, "programs.notice.expired")},
                            forms={case_id: form}, status_code=403)
    shown = {c.id for c in notices_for_community(session, community_code=community.code)}
    try:
        if case_id not in shown:
            raise NotFound("该公示不存在或已结束 (no such notice)")
        raise_objection(session, case_id=case_id, content=content, raised_by=name, contact=contact)
    except MinxinError as exc:
        session.rollback()
        return _notice_page(request, session, community, errors={case_id: _message(request, exc)},
                            forms={case_id: form}, status_code=status_for(exc))
    session.commit()
    return RedirectResponse(f"/notice/{community.code}?thanks=1", status_code=303)
