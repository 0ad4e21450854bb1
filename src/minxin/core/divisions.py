"""Administrative division codes (行政区划代码, GB/T 2260 and NBS statistical codes).

Codes have three lengths:

* 6 digits: province ``320000``, city (prefecture) ``320700``, county ``320706``;
* 9 digits: town / sub-district (乡镇街道) ``320706001``;
* 12 digits: community / village (社区居委会、村委会) ``320706001001``.

Scoping rule: a record with region code R is visible to a user scoped to S
iff ``R.startswith(scope_prefix(S))``.
"""

from __future__ import annotations

from typing import Final

from minxin.core._text import is_ascii_digits
from minxin.core.errors import ValidationError

__all__ = [
    "LEVELS",
    "PROVINCE_NAMES",
    "ancestors",
    "county_of",
    "covers",
    "level_of",
    "parent_of",
    "scope_prefix",
    "town_of",
    "validate_code",
]

FIELD: Final = "区划代码"

LEVELS: Final[tuple[str, ...]] = ("province", "city", "county", "town", "community")

# Province-level units by 2-digit code (GB/T 2260).
PROVINCE_NAMES: Final[dict[str, str]] = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}


def _invalid(reason: str) -> ValidationError:
    return ValidationError(reason, field=FIELD)


def _level_or_error(code: str) -> str:
    """Return the level of an already stripped code, or raise ValidationError."""
    if not code:
        raise _invalid("区划代码为空 (empty division code)")
    if not is_ascii_digits(code):
        raise _invalid("区划代码只能包含数字 (digits only)")
    if len(code) not in (6, 9, 12):
        raise _invalid(f"区划代码应为6、9或12位，实际为{len(code)}位 (wrong length)")
    if code[:2] not in PROVINCE_NAMES:
        raise _invalid(f"省级代码{code[:2]}不存在 (unknown province code)")
    city, county = code[2:4], code[4:6]
    if len(code) == 6:
        if city == "00":
            if county != "00":
                raise _invalid("县级代码的地级部分不能为00 (county code without city part)")
            return "province"
        return "city" if county == "00" else "county"
    # Towns may hang directly under a city without counties (e.g. 东莞 441900),
    # but never directly under a province.
    if city == "00":
        raise _invalid("乡镇街道代码缺少地级部分 (town code without city part)")
    if code[6:9] == "000":
        raise _invalid("乡镇街道代码第7至9位不能为000 (town part is 000)")
    if len(code) == 9:
        return "town"
    if code[9:12] == "000":
        raise _invalid("社区村代码末三位不能为000 (community part is 000)")
    return "community"


def _checked(code: str, level: str | None = None) -> tuple[str, str]:
    """Strip and validate ``code``; return it with its level."""
    if not isinstance(code, str):
        raise _invalid("区划代码必须是字符串 (code must be a string)")
    if level is not None and level not in LEVELS:
        raise _invalid(f"未知的区划级别{level!r} (unknown level)")
    stripped = code.strip()
    actual = _level_or_error(stripped)
    if level is not None and actual != level:
        raise _invalid(f"区划代码级别应为{level}，实际为{actual} (wrong level)")
    return stripped, actual


def validate_code(code: str, *, level: str | None = None) -> str:
    """Return the stripped division code, or raise ValidationError (field 区划代码).

    If ``level`` is given, the code must also be of that level.
    """
    return _checked(code, level)[0]


def level_of(code: str) -> str:
    """One of "province", "city", "county", "town", "community"."""
    return _checked(code)[1]


def scope_prefix(code: str) -> str:
    """The significant prefix used for scoping: 320000 → 32, 320700 → 3207."""
    stripped, level = _checked(code)
    if level == "province":
        return stripped[:2]
    if level == "city":
        return stripped[:4]
    return stripped


def covers(scope_code: str, record_code: str) -> bool:
    """True if a record coded ``record_code`` lies inside ``scope_code``.

    A malformed scope raises ValidationError; a malformed record code is
    simply not covered (deny by default).
    """
    prefix = scope_prefix(scope_code)
    try:
        record = validate_code(record_code)
    except ValidationError:
        return False
    return record.startswith(prefix)


def parent_of(code: str) -> str | None:
    """The next level up: 320706001001 → 320706001 → 320706 → 320700 → 320000 → None."""
    stripped, level = _checked(code)
    if level == "community":
        return stripped[:9]
    if level == "town":
        return stripped[:6]
    if level == "county":
        return stripped[:4] + "00"
    if level == "city":
        return stripped[:2] + "0000"
    return None


def county_of(code: str) -> str | None:
    """The 6-digit code for county level and below; None for province and city."""
    stripped, level = _checked(code)
    if level in ("province", "city"):
        return None
    return stripped[:6]


def town_of(code: str) -> str | None:
    """The 9-digit town code for town and community levels; None above."""
    stripped, level = _checked(code)
    if level in ("town", "community"):
        return stripped[:9]
    return None


def ancestors(code: str) -> list[str]:
    """All strictly higher levels, from the province down (the code itself excluded)."""
    chain: list[str] = []
    parent = parent_of(code)
    while parent is not None:
        chain.append(parent)
        parent = parent_of(parent)
    chain.reverse()
    return chain
