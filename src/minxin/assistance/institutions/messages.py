"""Care institutions (供养机构) pages' string catalogue (zh and en); merged into the one catalogue."""

from __future__ import annotations

_ZH: dict[str, str] = {
    "nav.institutions": "供养机构",
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
    "nav.institutions": "Institutions",
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
