"""Calendar months (期间) as value objects: ``Period(2012, 7)`` prints as "2012-07"."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from minxin.core._text import remove_whitespace, to_halfwidth
from minxin.core.errors import ValidationError

__all__ = ["MAX_YEAR", "MIN_YEAR", "Period"]

FIELD: Final = "月份"
MIN_YEAR: Final = 1900
MAX_YEAR: Final = 2200

_PATTERNS: Final = (
    re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})", re.ASCII),  # 2012-07, 2012-7, 2012/07
    re.compile(r"([0-9]{4})([0-9]{2})", re.ASCII),  # 201207
    re.compile(r"([0-9]{4})年([0-9]{1,2})月?", re.ASCII),  # 2012年7月
)


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """One calendar month; ordered chronologically."""

    year: int
    month: int

    def __post_init__(self) -> None:
        for name, value in (("year", self.year), ("month", self.month)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(f"月份的{name}必须是整数 ({name} must be int)", field=FIELD)
        if not MIN_YEAR <= self.year <= MAX_YEAR:
            raise ValidationError(
                f"年份{self.year}超出范围{MIN_YEAR}–{MAX_YEAR} (year out of range)", field=FIELD
            )
        if not 1 <= self.month <= 12:
            raise ValidationError(f"月份{self.month}应在1到12之间 (month out of range)", field=FIELD)

    @classmethod
    def parse(cls, s: str) -> Period:
        """Parse "2012-07", "2012-7", "201207", "2012/07" (or "2012年7月")."""
        if not isinstance(s, str):
            raise ValidationError("月份必须是文本 (period must be text)", field=FIELD)
        text = remove_whitespace(to_halfwidth(s))
        for pattern in _PATTERNS:
            match = pattern.fullmatch(text)
            if match:
                return cls(int(match.group(1)), int(match.group(2)))
        raise ValidationError(f"月份“{s.strip()[:20]}”格式错误，应为YYYY-MM (bad period format)", field=FIELD)

    @classmethod
    def of(cls, d: date) -> Period:
        """The month containing day ``d``."""
        return cls(d.year, d.month)

    @classmethod
    def from_index(cls, i: int) -> Period:
        """Inverse of ``index``."""
        year, month0 = divmod(i, 12)
        return cls(year, month0 + 1)

    @classmethod
    def range(cls, start: Period, end_inclusive: Period) -> list[Period]:
        """Every month from ``start`` to ``end_inclusive``; empty if end < start."""
        # Inside a method body, ``range`` is still the builtin, not this classmethod.
        return [cls.from_index(i) for i in range(start.index, end_inclusive.index + 1)]

    @property
    def index(self) -> int:
        """Months since year 0: ``year * 12 + month - 1``."""
        return self.year * 12 + self.month - 1

    def add(self, months: int) -> Period:
        """The month ``months`` later (negative for earlier)."""
        return Period.from_index(self.index + months)

    def next(self) -> Period:
        """The following month."""
        return self.add(1)

    def prev(self) -> Period:
        """The preceding month."""
        return self.add(-1)

    def months_until(self, other: Period) -> int:
        """Signed number of months from ``self`` to ``other`` (2012-07 → 2012-09 is 2)."""
        return other.index - self.index

    def first_day(self) -> date:
        """The first day of the month."""
        return date(self.year, self.month, 1)

    def last_day(self) -> date:
        """The last day of the month."""
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
