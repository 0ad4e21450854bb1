"""Money as integer fen (分): parsing user and spreadsheet input, formatting output.

1 yuan (元) = 100 fen. Amounts never travel as floats inside minxin.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Final

from minxin.core._text import remove_whitespace, to_halfwidth
from minxin.core.errors import ValidationError

__all__ = [
    "MAX_FEN",
    "fen_to_yuan_compact",
    "format_yuan",
    "format_yuan_display",
    "parse_yuan",
]

# Anything above 10 billion yuan is a typo or a unit mix-up.
MAX_FEN: Final = 10**12
_MAX_YUAN: Final = Decimal(MAX_FEN) / 100
_CENT: Final = Decimal("0.01")
_MAX_TEXT_LENGTH: Final = 64

_CURRENCY_PREFIXES: Final = ("RMB", "CNY", "￥", "¥")
_CURRENCY_SUFFIXES: Final = ("元",)
_MINUS_SIGNS: Final = ("-", "\u2212")  # ASCII hyphen-minus and U+2212 minus
_PLAIN_NUMBER: Final = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
_GROUPED_NUMBER: Final = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?", re.ASCII)


def _strip_sign(text: str) -> tuple[bool, str, bool]:
    """Split a leading sign off ``text``: (negative, rest, had_sign)."""
    if text.startswith(_MINUS_SIGNS):
        return True, text[1:], True
    if text.startswith("+"):
        return False, text[1:], True
    return False, text, False


def _text_to_decimal(value: str, field: str) -> Decimal:
    text = remove_whitespace(to_halfwidth(value)).replace("，", ",")
    if not text:
        raise ValidationError("金额为空 (empty amount)", field=field)
    if len(text) > _MAX_TEXT_LENGTH:
        raise ValidationError("金额过长 (amount text too long)", field=field)
    negative, text, had_sign = _strip_sign(text)
    upper = text.upper()
    for prefix in _CURRENCY_PREFIXES:
        if upper.startswith(prefix):
            text = text[len(prefix) :]
            break
    for suffix in _CURRENCY_SUFFIXES:
        if text.endswith(suffix):
            text = text[: -len(suffix)]
            break
    if not had_sign:  # allow "￥-12" as well as "-￥12", but not both signs
        negative, text, _ = _strip_sign(text)
    if _PLAIN_NUMBER.fullmatch(text):
        digits = text
    elif _GROUPED_NUMBER.fullmatch(text):
        digits = text.replace(",", "")
    else:
        raise ValidationError(f"金额“{value.strip()[:20]}”不是有效数字 (not a number)", field=field)
    amount = Decimal(digits)
    return -amount if negative else amount


def _to_decimal(value: str | int | float | Decimal, field: str) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError("金额不能是布尔值 (boolean is not an amount)", field=field)
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError("金额不是有限数值 (NaN or infinity)", field=field)
        # repr gives the shortest decimal that round-trips, so 460.5 stays 460.5
        # while 0.1 + 0.2 shows its true 0.30000000000000004.
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError("金额不是有限数值 (NaN or infinity)", field=field)
        return value
    if isinstance(value, str):
        return _text_to_decimal(value, field)
    raise ValidationError(f"金额类型不受支持：{type(value).__name__} (unsupported type)", field=field)


def parse_yuan(
    value: str | int | float | Decimal,
    *,
    allow_negative: bool = False,
    field: str = "金额",
) -> int:
    """Parse an amount in yuan and return integer fen: "460.5" → 46050.

    Ints are yuan. Floats (as openpyxl returns them) go through ``repr``.
    At most two decimal places; negative only with ``allow_negative``;
    the magnitude must not exceed ``MAX_FEN``.
    """
    amount = _to_decimal(value, field)
    if amount.copy_abs() > _MAX_YUAN:
        raise ValidationError("金额过大，超过100亿元 (amount too large)", field=field)
    try:
        rounded = amount.quantize(_CENT)
    except InvalidOperation:  # pragma: no cover - guarded by the size check
        raise ValidationError("金额无法解析 (not a number)", field=field) from None
    if rounded != amount:
        raise ValidationError("金额最多保留两位小数 (more than 2 decimal places)", field=field)
    fen = int(rounded * 100)
    if fen < 0 and not allow_negative:
        raise ValidationError("金额不能为负数 (negative amount)", field=field)
    return fen


def _split(fen: int) -> tuple[str, int, int]:
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"fen must be int, not {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return sign, yuan, cents


def format_yuan(fen: int) -> str:
    """Plain yuan with two decimals and no separators, as bank files want: 46050 → "460.50"."""
    sign, yuan, cents = _split(fen)
    return f"{sign}{yuan}.{cents:02d}"


def format_yuan_display(fen: int) -> str:
    """Yuan with thousands separators for screens and print: 123456789 → "1,234,567.89"."""
    sign, yuan, cents = _split(fen)
    return f"{sign}{yuan:,}.{cents:02d}"


def fen_to_yuan_compact(fen: int) -> str:
    """Shortest yuan text for explanations: 46000 → "460", 46050 → "460.5"."""
    sign, yuan, cents = _split(fen)
    if cents == 0:
        return f"{sign}{yuan}"
    return f"{sign}{yuan}.{cents:02d}".rstrip("0")
