"""Who may be a case of a program, as the policy file states it (pure, no database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from minxin.core.errors import ValidationError
from minxin.core.period import Period
from minxin.programs.policy import ProgramPolicy


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def ineligibility(policy: ProgramPolicy, *, birth: date, disability_grade: int | None, hukou: str | None,
                  on: date) -> str | None:
    """Why a person cannot be a case of this program, or None.

    A program whose policy entry sets `min_age` (the rural five-guarantees rule, 供养工作条例 Art.6)
    takes a rural resident who is elderly (≥ min_age), disabled, or a minor (< max_minor_age). The
    conditions no data can show (no work capacity, no supporter able to support) are for the household survey and
    the 民主评议, not for a spreadsheet check.
    """
    min_age = policy.extra.get("min_age")
    if min_age is None:
        return None
    if hukou != "农村":
        return f"{policy.short}只面向农村户籍人员 (rural residents only)"
    age = age_on(birth, on)
    minor = int(policy.extra.get("max_minor_age", 16))
    if age >= int(min_age) or age < minor or disability_grade:
        return None
    return (f"{age} 岁、无残疾，不符合{policy.short}条件（须年满 {min_age} 岁、残疾或未满 {minor} 岁） "
            "(not elderly, disabled or a minor)")


@dataclass(frozen=True)
class Beneficiary:
    """What the rules for a new case need to know about the person (or the household's head)."""

    birth_date: date
    disability_grade: int | None
    hukou: str | None  # the household's 户籍类别
    region_code: str  # the household's community


def needs_institution(policy: ProgramPolicy, category: str) -> bool:
    """集中供养: the person lives in a care institution, which is paid."""
    return category in tuple(policy.extra.get("institution_categories", ("集中",)))


def check_case_terms(policy: ProgramPolicy, *, category: str | None, institution_region: str | None,
                     beneficiary: Beneficiary | None, on: date) -> str:
    """The category a new case gets, or ValidationError naming the field (category, institution,
    eligibility). Every face that opens a case (the pages, the API, the imports) asks this.

    1. Who may be a case at all (`ineligibility`: the policy's age, disability and 户籍 conditions).
    2. The category: none for a program without categories; 城镇/农村 programs take the household's
       户籍类别, and a category given must be that one; other programs (e.g. 集中/分散) need one of
       theirs.
    3. The institution: required for 集中 and in the person's county; refused for any other category.

    ``institution_region`` is the region of the institution given (None: none given). With
    ``beneficiary`` None only the checks that need no person are made (an import's first pass).
    """
    cats = tuple(policy.categories)
    category = (category or "").strip()
    by_hukou = bool(cats) and set(cats) <= {"城镇", "农村"}
    if beneficiary is not None:
        why = ineligibility(policy, birth=beneficiary.birth_date, disability_grade=beneficiary.disability_grade,
                            hukou=beneficiary.hukou, on=on)
        if why:
            raise ValidationError(why, field="eligibility")
    if not cats:
        if category:
            raise ValidationError(f"{policy.short}不分类别 (program has no categories)", field="category")
    elif category and category not in cats:
        raise ValidationError(f"类别必须是 {'/'.join(cats)} 之一 (unknown category)", field="category")
    elif by_hukou:
        hukou = beneficiary.hukou if beneficiary is not None else None
        if beneficiary is not None and category and hukou and category != hukou:
            raise ValidationError(f"类别 {category} 与户籍类别 {hukou} 不符 (category must be the household's hukou)",
                                  field="category")
        if beneficiary is not None and not (category or hukou):
            raise ValidationError(f"请填写类别：{'/'.join(cats)} (category required)", field="category")
        category = category or hukou or ""
    elif not category:
        raise ValidationError(f"请填写类别：{'/'.join(cats)} (category required)", field="category")
    if needs_institution(policy, category):
        if institution_region is None:
            raise ValidationError(f"{category}供养须填写供养机构 (institution required)", field="institution")
        if beneficiary is not None and not beneficiary.region_code.startswith(institution_region[:6]):
            raise ValidationError("供养机构不在此人所在县区 (institution in another county)", field="institution")
    elif institution_region is not None:
        centralized = "/".join(c for c in cats if needs_institution(policy, c)) or "集中"
        raise ValidationError(f"只有{centralized}供养填写供养机构 (an institution only for centralized support)",
                              field="institution")
    return category


def last_month_under(birth: date, max_age: int) -> Period:
    """The last month a person is paid under an age limit: the month of their `max_age`th birthday."""
    return Period(birth.year + max_age, birth.month)


def age_limit_error(policy: ProgramPolicy, *, birth: date, start: Period) -> str | None:
    """Why a case cannot start in `start` under the program's age limit, or None.

    A program whose policy entry sets `max_age` (children's allowances: under 18) pays a person up to
    and including the month of that birthday, so a case may start at the latest in that month.
    """
    max_age = policy.extra.get("max_age")
    if max_age is None:
        return None
    last = last_month_under(birth, int(max_age))
    if start <= last:
        return None
    return (f"开始月份 {start} 时已满 {int(max_age)} 周岁（{last} 满 {int(max_age)} 周岁），"
            f"{policy.short}至满 {int(max_age)} 周岁当月止 (aged {int(max_age)} or over at the start month)")
