"""Chinese names of the audit trail's actions and record kinds, for the audit-log page and its export.

The trail stores stable machine keys (`cycle.approve`, `household`); people read 审批发放 and 家庭户.
An action without a name of its own reads as its record kind and its verb (`care_worker.add` →
护理员 · 新增); one whose verb is unknown too, as the record kind and 操作, so a key never reaches
the page however a domain names its actions.
"""

from __future__ import annotations

ENTITY_NAMES = {
    "api_token": "接口令牌", "audit": "审计日志", "call": "呼叫", "care_call_schedule": "主动关怀",
    "care_centre": "服务中心", "care_course": "护理员培训课程", "care_enrolment": "护理员培训报名",
    "care_worker": "养老护理员", "case": "案件", "charity_ledger": "慈善超市台账", "charity_supermarket": "慈善超市",
    "cycle": "发放周期", "database": "数据库", "demo": "演示数据", "export": "导出", "household": "家庭户",
    "import": "导入", "import_errors": "导入错误表", "import_run": "导入记录", "institution": "养老机构",
    "person": "人员", "program": "救助项目",
    "retired_soldier": "退役士兵", "roster": "参保名单", "rural_income": "农民人均纯收入", "service_provider": "服务商",
    "standard": "保障标准", "training_course": "培训课程", "training_enrolment": "培训报名", "user": "用户",
    "veteran_recipient": "优抚对象", "veteran_service": "优抚服务", "bed": "床位", "elderly": "老年人",
    "supermarket": "慈善超市", "medical": "医疗救助", "premium": "参保资助", "registry": "户籍档案",
    "statistics": "统计数据", "veteran": "优抚", "child": "儿童", "token": "接口令牌", "care_call": "主动关怀",
    "care_centres": "服务中心", "provider": "服务商", "service_order": "服务单", "settlement": "结算",
    "homecare": "居家养老服务", "death_benefit": "丧葬补助", "provider_staff": "服务商人员",
}

ACTION_NAMES = {
    "audit.export": "导出审计日志", "audit.verify": "校验哈希链", "bed.discharge": "退住", "bed.place": "入住",
    "call.escalate": "呼叫上报", "call.receive": "接入呼叫", "call.take": "接听呼叫", "call.classify": "呼叫分类",
    "call.close": "结束呼叫", "call.dispatch": "派遣救援", "call.service_order": "派服务单",
    "care_call.record": "记录关怀回访", "care_call.schedule": "安排关怀回访", "case.apply": "申请",
    "case.bank_account": "登记银行账号", "case.import": "批量导入案件", "case.objection": "提出异议",
    "case.objection_resolved": "处理异议", "case.periodic_review": "定期复核", "case.suspend_overdue": "暂停逾期未复核",
    "case.investigate": "入户调查", "case.review": "乡镇审核", "case.notice": "开始公示", "case.approve": "县级审批",
    "case.activate": "开始发放", "case.suspend": "暂停", "case.resume": "恢复", "case.terminate": "终止",
    "case.reject": "不予批准", "child.import": "导入孤儿", "cycle.approve": "审批发放", "cycle.export": "导出银行文件",
    "cycle.reconcile": "银行回盘对账", "cycle.run": "计算发放", "database.backup": "备份数据库",
    "database.restore": "恢复数据库", "elderly.import": "导入老年人", "household.create": "登记家庭户",
    "household.declare_income": "申报收入", "household.import": "导入家庭户",
    "import.errors_download": "下载导入错误表", "import.resolve": "导入错误标记为已处理",
    "institution.add": "登记机构", "institution.beds": "增加床位", "institution.status": "建设进度",
    "medical.export": "导出医疗救助", "medical.import": "导入医疗救助", "person.view_id": "查看完整身份证号",
    "premium.roster": "导出参保名单", "provider.add": "登记服务商", "registry.export": "导出户籍档案",
    "standard.set": "设定标准", "statistics.rural_income": "录入农民人均纯收入", "supermarket.add": "登记慈善超市",
    "supermarket.donate": "受赠", "supermarket.distribute": "发放物资", "supermarket.reverse": "冲正",
    "token.create": "创建接口令牌", "token.revoke": "吊销接口令牌", "user.add": "新增用户", "user.login": "登录",
    "user.login_failed": "登录失败", "user.logout": "退出", "user.password": "修改密码", "user.unlock": "解锁用户",
    "veteran.course_add": "新增培训课程", "veteran.documents": "优抚证件", "veteran.enrol": "培训报名",
    "veteran.import": "导入优抚对象", "veteran.medical": "医疗保障", "veteran.placement": "安置",
    "veteran.soldier_add": "登记退役士兵", "veteran.training_result": "培训结果", "veteran.new": "新增优抚对象",
    "veteran.moved_in": "迁入", "veteran.moved_out": "迁出", "veteran.deceased": "去世",
    "care_centre.add": "登记服务中心", "care_centre.status": "服务中心状态", "care_worker.add": "登记护理员",
    "care_course.add": "新增护理员培训课程", "care_course.enrol": "护理员培训报名",
    "care_course.result": "培训考核结果",
    "demo.generate": "生成演示数据", "demo.dibao_cases": "演示低保案件", "demo.wubao_cases": "演示五保对象",
    "demo.orphan_cases": "演示孤儿", "demo.youfu": "演示优抚对象", "demo.eldercare": "演示养老数据",
    "homecare.order.create": "新建服务单", "homecare.order.start": "服务开始", "homecare.order.finish": "服务完成",
    "homecare.order.cancel": "取消服务单", "homecare.provider.register": "签约服务商",
    "homecare.provider.update": "修改服务商", "homecare.staff.add": "登记服务人员",
}

VERBS = {
    "add": "新增", "create": "新增", "set": "设定", "import": "导入", "export": "导出", "update": "修改",
    "edit": "修改",
    "delete": "删除", "remove": "删除", "approve": "审批", "run": "计算", "reconcile": "对账", "status": "状态变更",
    "start": "开始", "finish": "完成", "cancel": "取消", "record": "记录", "enrol": "报名", "result": "结果",
    "place": "安排", "view": "查看", "download": "下载", "settle": "结算", "order": "下单", "death": "去世",
}


def entity_label(entity: str) -> str:
    return ENTITY_NAMES.get(entity, "记录")


def action_label(action: str) -> str:
    if action in ACTION_NAMES:
        return ACTION_NAMES[action]
    kind, _, verb = action.partition(".")
    return f"{entity_label(kind)} · {VERBS.get(verb, '操作')}"
