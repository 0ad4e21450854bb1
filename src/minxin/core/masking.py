"""Masking (脱敏) of personal data for lists, 公示 pages and logs.

The masked text keeps the original length so columns still line up, and
anything that does not look like the expected kind of value is masked
completely: when in doubt, show less.
"""

from __future__ import annotations

import re
from typing import Final

from minxin.core._text import remove_whitespace, to_halfwidth

__all__ = ["mask_account", "mask_id", "mask_name", "mask_phone"]

MASK: Final = "*"

_ID_18: Final = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_ID_15: Final = re.compile(r"[0-9]{15}", re.ASCII)
_MOBILE: Final = re.compile(r"1[0-9]{10}", re.ASCII)
_PHONE_SEPARATORS: Final = str.maketrans("", "", "-()（）")
_MIN_LANDLINE: Final = 6
_MIN_ACCOUNT: Final = 8


def _keep(text: str, head: int, tail: int) -> str:
    middle = len(text) - head - tail
    return text[:head] + MASK * middle + (text[-tail:] if tail else "")


def mask_name(name: str) -> str:
    """Keep the first character: "张三" → "张*", "欧阳娜娜" → "欧***", "张" → "*"."""
    name = name.strip()
    if len(name) <= 1:
        return MASK * len(name)
    return _keep(name, 1, 0)


def mask_id(number: str) -> str:
    """Keep the address code and the last 4: "320706199001011234" → "320706********1234".

    Strings that are not 15- or 18-character ID numbers become all "*".
    """
    text = remove_whitespace(to_halfwidth(number)).upper()
    if _ID_18.fullmatch(text) or _ID_15.fullmatch(text):
        return _keep(text, 6, 4)
    return MASK * len(text)


def mask_phone(phone: str) -> str:
    """Mobile "13812345678" → "138****5678"; landline keeps first 3 and last 2.

    Spaces, dashes and brackets are dropped; numbers shorter than 6 become all "*".
    """
    text = remove_whitespace(to_halfwidth(phone)).translate(_PHONE_SEPARATORS)
    if _MOBILE.fullmatch(text):
        return _keep(text, 3, 4)
    if len(text) < _MIN_LANDLINE:
        return MASK * len(text)
    return _keep(text, 3, 2)


def mask_account(account: str) -> str:
    """Keep the last 4 characters of a bank account; shorter than 8 becomes all "*"."""
    text = remove_whitespace(to_halfwidth(account))
    if len(text) < _MIN_ACCOUNT:
        return MASK * len(text)
    return _keep(text, 0, 4)
