"""Resident ID numbers (公民身份号码) per GB 11643-1999.

Layout of the 18 characters: 1-6 address code (GB/T 2260 county code),
7-14 birth date YYYYMMDD, 15-17 sequence (odd = male), 18 check character
(ISO 7064 MOD 11-2). Legacy 15-digit numbers (GB 11643-1989) lack the
century and the check character and are upgraded on input.

ID numbers are sensitive (居民身份证法 Art.13): error messages never echo them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Final

from minxin.core._text import is_ascii_digits, remove_whitespace, to_halfwidth
from minxin.core.divisions import PROVINCE_NAMES
from minxin.core.errors import ValidationError
from minxin.core.masking import mask_id

__all__ = [
    "CHECK_CHARS",
    "CHINA_TZ",
    "EARLIEST_BIRTH_DATE",
    "LIANYUNGANG_NAMES",
    "WEIGHTS",
    "IdInfo",
    "check_char",
    "full_years",
    "is_valid_id",
    "make_id",
    "normalize_id",
    "parse_id",
    "region_name_for",
]

FIELD: Final = "身份证号"

# W_i = 2^(18-i) mod 11 for i = 1..17.
WEIGHTS: Final[tuple[int, ...]] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS: Final = "10X98765432"
EARLIEST_BIRTH_DATE: Final = date(1880, 1, 1)
# China has used UTC+8 without daylight saving since 1991; "today" for a
# birth-date check is the date in China, whatever the server's clock zone.
CHINA_TZ: Final = timezone(timedelta(hours=8), "Asia/Shanghai")

_ALLOWED_CHARS: Final = frozenset("0123456789X")

# Jiangsu prefectures 3201 南京 .. 3213 宿迁.
_JIANGSU_PREFECTURES: Final = frozenset(f"32{n:02d}" for n in range(1, 14))

# Lianyungang county-level codes, including abolished ones: ID numbers keep
# the code they were issued with (新浦区 320705 and 赣榆县 320721 were
# abolished in 2014, 新海区 320702 in 1985, 云台区 320704 in 2000).
LIANYUNGANG_NAMES: Final[dict[str, str]] = {
    "320700": "连云港市",
    "320701": "市辖区",
    "320702": "新海区",
    "320703": "连云区",
    "320704": "云台区",
    "320705": "新浦区",
    "320706": "海州区",
    "320707": "赣榆区",
    "320721": "赣榆县",
    "320722": "东海县",
    "320723": "灌云县",
    "320724": "灌南县",
}


def _invalid(reason: str) -> ValidationError:
    return ValidationError(reason, field=FIELD)


def _weighted_sum(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True))


def check_char(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits."""
    if len(first17) != 17 or not is_ascii_digits(first17):
        raise _invalid("计算校验位需要17位数字 (need 17 digits)")
    return CHECK_CHARS[_weighted_sum(first17, WEIGHTS) % 11]


@lru_cache(maxsize=4096)
def _region_known(code6: str) -> bool:
    """True if the 6-digit address code is plausible for an ID number."""
    if len(code6) != 6 or not is_ascii_digits(code6):
        return False
    if code6[:2] not in PROVINCE_NAMES:
        return False
    if code6[:2] == "32" and code6[:4] not in _JIANGSU_PREFECTURES:
        return False
    return code6[:4] != "3207" or code6 in LIANYUNGANG_NAMES


def region_name_for(code6: str) -> str | None:
    """Chinese name of a Lianyungang county code, else of the province; None if unknown."""
    code6 = code6.strip()
    if code6 in LIANYUNGANG_NAMES:
        return LIANYUNGANG_NAMES[code6]
    return PROVINCE_NAMES.get(code6[:2]) if len(code6) >= 2 else None


def _china_today() -> date:
    return datetime.now(CHINA_TZ).date()


def _as_date(d: date) -> date:
    """Drop the time part: ``datetime`` is a ``date`` subclass but does not compare with one."""
    return d.date() if isinstance(d, datetime) else d


def _clean(raw: str) -> str:
    return remove_whitespace(to_halfwidth(raw)).upper()


def _birth_date(number: str, today: date) -> date:
    text = number[6:14]
    try:
        born = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise _invalid(f"出生日期{text}不存在 (impossible birth date)") from None
    if born < EARLIEST_BIRTH_DATE:
        raise _invalid(f"出生日期{text}早于1880年 (impossible birth date)")
    if born > today:
        raise _invalid(f"出生日期{text}晚于今天 (birth date in the future)")
    return born


def _validate(raw: str, today: date | None) -> tuple[str, date]:
    """Normalize and fully validate; return the canonical number and birth date."""
    if not isinstance(raw, str):
        raise _invalid("身份证号必须是文本 (ID number must be text)")
    number = _clean(raw)
    if not number:
        raise _invalid("身份证号为空 (empty ID number)")
    bad = next((ch for ch in number if ch not in _ALLOWED_CHARS), None)
    if bad is not None:
        raise _invalid(f"身份证号含非法字符「{bad}」 (illegal character)")
    if len(number) not in (15, 18):
        raise _invalid(f"身份证号应为18位（旧号15位），实际为{len(number)}位 (wrong length)")
    if "X" in number[:-1] or (len(number) == 15 and number.endswith("X")):
        raise _invalid("身份证号只有第18位可以是X (X only allowed as the check character)")
    legacy = len(number) == 15
    if legacy:
        first17 = number[:6] + "19" + number[6:]
        number = first17 + check_char(first17)
    # Birth date and region are checked before the check character: a typo
    # there gives a more specific message than "bad check digit".
    born = _birth_date(number, _as_date(today) if today is not None else _china_today())
    if not _region_known(number[:6]):
        raise _invalid(f"身份证号地址码{number[:6]}不存在 (unknown region code)")
    expected = check_char(number[:17])
    if number[17] != expected:
        raise _invalid(f"身份证号校验位错误，应为{expected} (bad check digit)")
    return number, born


def normalize_id(raw: str, *, today: date | None = None) -> str:
    """Return the canonical 18-character ID number, or raise ValidationError (field 身份证号).

    Full-width characters and all whitespace are cleaned up, "x" becomes "X",
    and 15-digit legacy numbers are upgraded to 18 digits.
    """
    return _validate(raw, today)[0]


@dataclass(frozen=True, slots=True, repr=False)
class IdInfo:
    """Facts derived from a valid ID number."""

    number: str
    birth_date: date
    sex: str  # "M" or "F"
    region_code: str

    def __repr__(self) -> str:
        # Keep full ID numbers out of logs and tracebacks.
        return (
            f"IdInfo(number={mask_id(self.number)!r}, birth_date={self.birth_date!r}, "
            f"sex={self.sex!r}, region_code={self.region_code!r})"
        )

    def age_on(self, d: date) -> int:
        """Age in full years (周岁) on day ``d``."""
        d = _as_date(d)
        if d < self.birth_date:
            raise ValidationError("日期早于出生日期 (date before birth)", field="日期")
        before_birthday = (d.month, d.day) < (self.birth_date.month, self.birth_date.day)
        return d.year - self.birth_date.year - int(before_birthday)


def full_years(birth: date, on: date) -> int:
    """Age in full years (周岁) on day ``on`` (0 before the first birthday)."""
    return max(0, on.year - birth.year - int((on.month, on.day) < (birth.month, birth.day)))


def parse_id(raw: str, *, today: date | None = None) -> IdInfo:
    """Normalize ``raw`` and derive birth date, sex and region code."""
    number, born = _validate(raw, today)
    return IdInfo(
        number=number,
        birth_date=born,
        sex="M" if int(number[16]) % 2 == 1 else "F",
        region_code=number[:6],
    )


def is_valid_id(raw: object, *, today: date | None = None) -> bool:
    """True if ``raw`` is a valid ID number (15 or 18 characters, any accepted spelling)."""
    if not isinstance(raw, str):
        return False
    try:
        _validate(raw, today)
    except ValidationError:
        return False
    return True


# --- fast generator -------------------------------------------------------

# Positions 15-17 (weights 8, 4, 2): text and weighted sum for every sequence.
_SEQ_PARTS: Final[tuple[tuple[str, int], ...]] = tuple(
    (f"{seq:03d}", _weighted_sum(f"{seq:03d}", WEIGHTS[14:17])) for seq in range(1000)
)


@lru_cache(maxsize=4096)
def _region_part(region6: str) -> int:
    if not _region_known(region6):
        raise _invalid(f"地址码{region6!r}不存在 (unknown region code)")
    return _weighted_sum(region6, WEIGHTS[:6])


@lru_cache(maxsize=65536)
def _birth_part(birth: date) -> tuple[str, int]:
    if birth < EARLIEST_BIRTH_DATE:
        raise _invalid("出生日期早于1880年 (impossible birth date)")
    text = f"{birth.year:04d}{birth.month:02d}{birth.day:02d}"
    return text, _weighted_sum(text, WEIGHTS[6:14])


def make_id(region6: str, birth: date, seq: int) -> str:
    """Build a valid 18-digit ID number; odd ``seq`` (0..999) gives a male.

    Used by the demo generator and tests, so the per-call work is a few
    cached look-ups.
    """
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= 999:
        raise _invalid(f"顺序码应在0到999之间，实际为{seq!r} (sequence out of range)")
    seq_text, seq_sum = _SEQ_PARTS[seq]
    birth_text, birth_sum = _birth_part(birth)
    total = _region_part(region6) + birth_sum + seq_sum
    return region6 + birth_text + seq_text + CHECK_CHARS[total % 11]
