"""Premium subsidies (参保参合) pages' string catalogue (zh and en); merged into the one catalogue."""

from __future__ import annotations

_ZH: dict[str, str] = {
    "nav.premiums": "参保代缴",
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
    "premiums.csv": "下载 CSV（UTF-8）",
    "premiums.no_pii": "代缴名册含完整身份证号，当前角色无权下载。",
    "premiums.empty": "{year} 年没有需要代缴的人员。",
}

_EN: dict[str, str] = {
    "nav.premiums": "Premiums",
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
    "premiums.csv": "Download CSV (UTF-8)",
    "premiums.no_pii": "The roster has full ID numbers; your role may not download it.",
    "premiums.empty": "Nobody to pay for in {year}.",
}

MESSAGES = {"zh": _ZH, "en": _EN}
