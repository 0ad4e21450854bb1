"""Pure elderly-care rules: who is elderly, how a caller is recognised, the call centre's timings.

No database and no web here; services and reports call these, tests check them without either.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from minxin.core.errors import ValidationError

ELDERLY_AGE = 60  # 老年人权益保障法 Art. 2: citizens aged 60 and over

LIVING_ALIASES = {"独居": "独居", "空巢": "空巢", "与家人同住": "与家人同住", "与子女同住": "与家人同住",
                  "同住": "与家人同住", "家人同住": "与家人同住"}
CARE_LEVEL_ALIASES = {"能力完好": "能力完好", "完好": "能力完好", "轻度失能": "轻度失能", "轻度": "轻度失能",
                      "中度失能": "中度失能", "中度": "中度失能", "重度失能": "重度失能", "重度": "重度失能"}

_DEVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$")
_SEPARATORS = str.maketrans("", "", " -()（）")


def age_on(birth: date, day: date) -> int:
    """Full years (周岁) on `day`."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def is_elderly(birth: date, day: date) -> bool:
    """An elderly person is 60 or over on `day` (the 60th birthday counts)."""
    return age_on(birth, day) >= ELDERLY_AGE


def elderly_cutoff(day: date) -> date:
    """The latest birth date of someone aged 60 on `day` (29 Feb births turn 60 on 1 Mar)."""
    try:
        return day.replace(year=day.year - ELDERLY_AGE)
    except ValueError:  # 29 February of a leap year → 28 February sixty years before
        return day.replace(year=day.year - ELDERLY_AGE, day=28)


def normalize_living(value: str) -> str:
    v = value.strip()
    if v not in LIVING_ALIASES:
        raise ValidationError("居住状况应为 独居、空巢 或 与家人同住 (bad living arrangement)", field="居住状况")
    return LIVING_ALIASES[v]


def normalize_care_level(value: str) -> str:
    v = value.strip()
    if v not in CARE_LEVEL_ALIASES:
        raise ValidationError("能力等级应为 能力完好、轻度失能、中度失能 或 重度失能 (bad care level)",
                              field="能力等级")
    return CARE_LEVEL_ALIASES[v]


def normalize_phone_number(raw: str) -> str | None:
    """Digits of a phone number as the phone system may send it: "+86 138-1234-5678" → "13812345678".

    None when `raw` is not a phone number (then it may be a device id).
    """
    text = raw.strip().translate(_SEPARATORS)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    if not text.isdigit() or not 5 <= len(text) <= 12:
        return None
    return text


def normalize_device_id(raw: str) -> str | None:
    """A terminal id as stored (upper case), or None when `raw` cannot be one."""
    text = raw.strip()
    return text.upper() if _DEVICE.match(text) else None


def check_terminal_id(value: str) -> str:
    device = normalize_device_id(value)
    if device is None:
        raise ValidationError("呼叫终端号应为 3–32 位字母、数字、- 或 _ (bad terminal id)", field="呼叫终端号")
    return device


@dataclass(frozen=True)
class Timings:
    """Time to answer (taken − received) and to dispatch (first dispatch − received), in seconds."""

    answer_seconds: list[float]
    dispatch_seconds: list[float]


def seconds_between(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else max(0.0, (end - start).total_seconds())


def percentile(values: Sequence[float], pct: int) -> float | None:
    """Nearest-rank percentile (p50, p90, p99): the smallest value with pct % of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-pct * len(ordered) // 100))
    return ordered[rank - 1]


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def breaches_answer_sla(received: datetime, taken: datetime | None, *, sla_seconds: int, now: datetime) -> bool:
    """Answered later than the SLA, or still unanswered past it."""
    end = taken if taken is not None else now
    return (end - received).total_seconds() > sla_seconds
