"""优抚 (special care for veterans and military families): the pure rules, no database, no web.

* The categories of key recipients (重点优抚对象) and their sub-kinds (子类): the grade and cause of a
  disabled serviceman (`残疾军人/一级/因战`), the period of service of a demobilised serviceman living in
  the countryside (`在乡复员军人/抗日战争时期`); a case's category is `类别` or `类别/子类`.
* Standards are stated per YEAR, as the national notices of 民政部 and 财政部 state them. A month pays
  the annual standard ÷ 12 in whole fen and December pays what is left, so a calendar year pays exactly
  the annual standard: 年标准 4730 → 394.16 a month, December 4730 − 11 × 394.16 = 394.24.
* 60周岁以上农村籍退役士兵 are paid a rate per year of service: the standard is the yearly rate, the
  years are a fact of the case, the month pays (rate ÷ 12) × years (December: what is left × years).
* A city or county may add a supplement (地方补助) per month on top, from the policy file.
* On a recipient's death extra months are paid once as funeral aid (丧葬补助费, 军人抚恤优待条例): 6 months of
  the pension to 三属 (烈士遗属, 因公牺牲军人遗属, 病故军人遗属; Art.19), 12 months of the disability pension
  for a 残疾军人 who died of illness (Art.28). A month here is the ordinary month's share (annual ÷ 12 in
  whole fen, never December's remainder) and the local supplement is not part of it:
  `年标准 13001 ÷ 12 × 6 个月（丧葬补助费，条例第十九条） = 6500.46`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from minxin.core.divisions import scope_prefix
from minxin.core.errors import ValidationError
from minxin.core.money import fen_to_yuan_compact as y

GRADES = ("一级", "二级", "三级", "四级", "五级", "六级", "七级", "八级", "九级", "十级")
CAUSES = ("因战", "因公", "因病")
# 复员军人: enlisted before 1954-10-31 (军人抚恤优待条例 Art.53); the national standards of 在乡复员军人
# are stated by the period in which they enlisted.
SERVICE_PERIODS = ("红军时期", "抗日战争时期", "解放战争时期", "新中国成立后")

DISABLED = "残疾军人"
DEMOBILISED = "在乡复员军人"
PER_YEAR = "60周岁以上农村籍退役士兵"

# 重点优抚对象 (DOMAIN.md §4), in the order the pages list them.
CATEGORIES = (
    DISABLED, "烈士遗属", "因公牺牲军人遗属", "病故军人遗属", DEMOBILISED, "带病回乡退伍军人",
    "参战参试退役人员", PER_YEAR, "伤残民兵民工", "红军失散人员", "烈士子女",
)
# Categories paid per year of service (the case's 服役年限 is a fact of the rule).
PER_YEAR_CATEGORIES = frozenset({PER_YEAR})
MAX_SERVICE_YEARS = 60

# The rules a payment line names (Payment.rule, String(16)): December pays what is left of the year.
RULE_MONTH, RULE_DECEMBER = "youfu", "youfu_dec"
RULE_YEARS, RULE_YEARS_DECEMBER = "youfu_yr", "youfu_yr_dec"
# The one-off death benefits: rule → (months, article).
RULE_DEATH_SURVIVOR, RULE_DEATH_DISABLED = "youfu_d19", "youfu_d28"
DEATH_RULES = {RULE_DEATH_SURVIVOR: (6, "第十九条"), RULE_DEATH_DISABLED: (12, "第二十八条")}
SURVIVOR_CATEGORIES = frozenset({"烈士遗属", "因公牺牲军人遗属", "病故军人遗属"})  # 三属, 定期抚恤金
RULES = (RULE_MONTH, RULE_DECEMBER, RULE_YEARS, RULE_YEARS_DECEMBER, *DEATH_RULES)


def subkinds(category: str) -> tuple[str, ...]:
    """The 子类 a category takes ('' alone when it has none)."""
    if category == DISABLED:
        return tuple(f"{g}/{c}" for g in GRADES for c in CAUSES)
    if category == DEMOBILISED:
        return SERVICE_PERIODS
    return ()


def leaf_categories() -> list[str]:
    """Every case category of the program: `类别` or `类别/子类` (the policy file lists the same)."""
    out: list[str] = []
    for category in CATEGORIES:
        kinds = subkinds(category)
        out.extend(f"{category}/{k}" for k in kinds) if kinds else out.append(category)
    return out


@dataclass(frozen=True)
class Category:
    """A recipient's category: the top-level 类别, the 子类 ('' where none) and the case category."""

    category: str
    subkind: str

    @property
    def code(self) -> str:
        return f"{self.category}/{self.subkind}" if self.subkind else self.category

    @property
    def per_year(self) -> bool:
        return self.category in PER_YEAR_CATEGORIES


def parse_category(category: str, subkind: str = "") -> Category:
    """Check a 类别 and its 子类 (ValidationError naming the field that is wrong).

    `残疾军人` + `一级/因战`; `在乡复员军人` + `抗日战争时期`; the others with no 子类. A 子类 written
    with a full-width slash or spaces is read the same (`一级／因战`, `一级 / 因战`)."""
    category = (category or "").strip()
    sub = (subkind or "").strip().replace("／", "/").replace(" ", "").replace("\u3000", "")
    if "/" in category and not sub:  # written as one: 残疾军人/一级/因战
        category, _, sub = category.partition("/")
    if category not in CATEGORIES:
        raise ValidationError(f"未知优抚类别：{category or '（空）'}；可选：{'、'.join(CATEGORIES)} (unknown category)",
                              field="优抚类别")
    kinds = subkinds(category)
    if not kinds:
        if sub:
            raise ValidationError(f"{category}不分子类，子类应为空 (this category has no 子类)", field="子类")
        return Category(category, "")
    if not sub:
        raise ValidationError(f"{category}须填写子类：{_kinds_hint(category)} (子类 required)", field="子类")
    if category == DISABLED:
        grade, _, cause = sub.partition("/")
        if grade not in GRADES:
            raise ValidationError(f"残疾等级“{grade}”不在一级至十级之内 (grade outside 一级…十级)", field="子类")
        if cause not in CAUSES:
            raise ValidationError(f"致残原因“{cause or '（空）'}”应为 因战/因公/因病 之一 (unknown cause)",
                                  field="子类")
        return Category(category, f"{grade}/{cause}")
    if sub not in kinds:
        raise ValidationError(f"{category}的子类应为 {_kinds_hint(category)} 之一 (unknown 子类)", field="子类")
    return Category(category, sub)


def _kinds_hint(category: str) -> str:
    return "等级/原因，如 一级/因战" if category == DISABLED else "、".join(subkinds(category))


def check_service_years(category: Category, value: int | None) -> int | None:
    """服役年限: required (1…60) for a category paid per year of service, ignored for the others."""
    if not category.per_year:
        return None
    if value is None:
        raise ValidationError(f"{category.category}按服役年限发放，须填写服役年限 (years of service required)",
                              field="服役年限")
    if not 1 <= value <= MAX_SERVICE_YEARS:
        raise ValidationError(f"服役年限应在 1 到 {MAX_SERVICE_YEARS} 之间 (years out of range)", field="服役年限")
    return value


# ---- amounts ---------------------------------------------------------------------------------------

def month_base_fen(annual_fen: int, month: int) -> int:
    """One month's share of an annual standard: ÷ 12 in whole fen; December pays what is left."""
    if month == 12:
        return annual_fen - 11 * (annual_fen // 12)
    return annual_fen // 12


def monthly_fen(annual_fen: int, month: int, *, years: int | None = None, supplement_fen: int = 0) -> int:
    """What a recipient is paid for a month: the month's share of the annual standard (× years of service
    where the category pays by them) plus the local supplement (地方补助), never negative."""
    base = month_base_fen(annual_fen, month) * (years if years is not None else 1)
    return max(0, base) + max(0, supplement_fen) if base > 0 else 0


def rule_for(*, per_year: bool, month: int) -> str:
    if per_year:
        return RULE_YEARS_DECEMBER if month == 12 else RULE_YEARS
    return RULE_DECEMBER if month == 12 else RULE_MONTH


def explain(*, rule: str, annual_fen: int, years: int, supplement_fen: int, amount_fen: int | None = None) -> str:
    """The formula of a month's amount, as a caseworker checks it by hand:

    `年标准 4730 ÷ 12`; December `年标准 4730 − 11×394.16（12月）`; per year of service
    `年标准 120 ÷ 12 × 服役 10 年`; the supplement as its own part `+ 地方补助 30`.
    With `amount_fen`, the whole line `… = 424.16`."""
    share = annual_fen // 12
    if rule in (RULE_DECEMBER, RULE_YEARS_DECEMBER):
        core = f"年标准 {y(annual_fen)} − 11×{y(share)}（12月）"
    else:
        core = f"年标准 {y(annual_fen)} ÷ 12"
    if rule in (RULE_YEARS, RULE_YEARS_DECEMBER):
        core = f"({core}) × 服役 {years} 年" if rule == RULE_YEARS_DECEMBER else f"{core} × 服役 {years} 年"
    if supplement_fen:
        core = f"{core} + 地方补助 {y(supplement_fen)}"
    return core if amount_fen is None else f"{core} = {y(amount_fen)}"


# ---- the death benefit (丧葬补助费) ---------------------------------------------------------------------

def death_rule(category: str, cause: str) -> str | None:
    """The one-off a death pays (its rule), or None: 三属 on any death (Art.19); a 残疾军人 on death from
    illness (`cause` 'illness', Art.28); other categories, and a 残疾军人 who died otherwise, none here."""
    top = category.partition("/")[0]
    if top in SURVIVOR_CATEGORIES:
        return RULE_DEATH_SURVIVOR
    if top == DISABLED and cause == "illness":
        return RULE_DEATH_DISABLED
    return None


def death_benefit_fen(annual_fen: int, months: int) -> int:
    """The extra months: the ordinary month's share of the annual standard (÷ 12 in whole fen) × months."""
    return max(0, annual_fen // 12) * months


def explain_death(*, rule: str, annual_fen: int, months: int, amount_fen: int | None = None) -> str:
    """`年标准 13001 ÷ 12 × 6 个月（丧葬补助费，条例第十九条）`, with `amount_fen` the whole line `… = 6500.46`."""
    article = DEATH_RULES[rule][1] if rule in DEATH_RULES else ""
    core = f"年标准 {y(annual_fen)} ÷ 12 × {months} 个月（丧葬补助费，条例{article}）"
    return core if amount_fen is None else f"{core} = {y(amount_fen)}"


# ---- resettlement training (P24) ----------------------------------------------------------------------

def free_training_until(discharged_on: date) -> date:
    """The last day a course may start and still be free: one year after discharge (退役士兵安置条例 Art.21);
    discharged on 29 February → 28 February of the next year."""
    try:
        return discharged_on.replace(year=discharged_on.year + 1)
    except ValueError:
        return discharged_on.replace(year=discharged_on.year + 1, day=28)


def training_free(discharged_on: date, starts_on: date) -> bool:
    """Skills training is free when the course starts within one year of discharge (the anniversary included)."""
    return starts_on <= free_training_until(discharged_on)


# ---- the local supplement (地方补助) ----------------------------------------------------------------

@dataclass(frozen=True)
class Supplement:
    """A monthly supplement a city, county or town adds for a category (or all categories: '')."""

    region: str
    category: str  # '' = every category; a top-level 类别 = all its 子类; or a full `类别/子类`
    monthly_fen: int
    effective: date

    @property
    def prefix(self) -> str:
        return scope_prefix(self.region)

    def matches(self, region_code: str, case_category: str) -> bool:
        return region_code.startswith(self.prefix) and (
            not self.category or case_category == self.category or case_category.startswith(self.category + "/"))

    @property
    def specificity(self) -> tuple[int, int]:
        """Most specific region first, then the most specific category (as standards are looked up)."""
        return len(self.prefix), (2 if "/" in self.category else 1 if self.category else 0)


def ordered_supplements(supplements: Iterable[Supplement]) -> list[Supplement]:
    """In the order they are tried: most specific region and category first, then the latest date."""
    return sorted(supplements, key=lambda s: (s.specificity, s.effective), reverse=True)


def supplement_fen(supplements: Sequence[Supplement], *, region_code: str, category: str, on: date) -> int:
    """The supplement in force on a day for a recipient: the first rule that matches (most specific region,
    then category, then the latest date in force)."""
    for s in ordered_supplements(supplements):
        if s.effective <= on and s.matches(region_code, category):
            return s.monthly_fen
    return 0
