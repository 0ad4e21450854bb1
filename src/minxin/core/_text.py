"""Text rules shared by core and by every input path: full-width forms, invisible and control
characters, length limits. Imported as `minxin.core._text` (the one place these rules live)."""

from __future__ import annotations

import re

from minxin.core.errors import ValidationError

# Full-width ASCII variants (U+FF01..U+FF5E) map to ASCII by a fixed offset.
_FULLWIDTH_OFFSET = 0xFEE0
_HALFWIDTH_TABLE: dict[int, str] = {code: chr(code - _FULLWIDTH_OFFSET) for code in range(0xFF01, 0xFF5F)}
_HALFWIDTH_TABLE[0x3000] = " "  # ideographic space
# Invisible characters that survive copy-paste from Word, web pages and Excel.
for _invisible in ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"):
    _HALFWIDTH_TABLE[ord(_invisible)] = ""
del _invisible

ASCII_DIGITS = frozenset("0123456789")


def to_halfwidth(text: str) -> str:
    """Map full-width ASCII forms and the ideographic space to plain ASCII."""
    return text.translate(_HALFWIDTH_TABLE)


def remove_whitespace(text: str) -> str:
    """Drop every whitespace character, including Unicode spaces."""
    return "".join(text.split())


def is_ascii_digits(text: str) -> bool:
    """True if ``text`` is non-empty and only ASCII 0-9 (``str.isdigit`` is too lax)."""
    return bool(text) and all(ch in ASCII_DIGITS for ch in text)


# ---- text that people type: one rule for every face (pages, API, imports, CLI) --------------------

# Longest text each kind of field takes: the database column's length where it has one (households
# .household_no VARCHAR(32) …), and 2,000 characters for free text stored as TEXT. Person names stay
# at 32 although the column holds 64: no name on a 户口簿 is longer.
MAX_LENGTH = {
    "household_no": 32,
    "person_name": 32,
    "address": 200,
    "phone": 20,
    "bank_account": 40,
    "institution_name": 100,
    "credit_code": 18,
    "short_name": 64,  # objector's name, contact, donor item, display names
    "long_name": 100,  # supermarket, donor
    "source": 200,  # a standard's source, a bank note
    "note": 2000,  # reasons, notes, resolutions, objections (TEXT columns)
    "search": 64,  # what a clerk types into a search box
}

# C0 controls, DEL and C1 controls. A multi-line field keeps line breaks and tabs.
_CONTROL = "\x00-\x1f\x7f-\x9f"
_CONTROL_MULTILINE = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the invisible
# direction marks: they make "张三\u202e" display as something else than what is stored.
_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
# Zero-width characters and the soft hyphen: two names that look the same must be the same name.
_ZERO_WIDTH = "\u200b-\u200d\u2060\ufeff\u00ad"
# One compiled class per kind of field, so that a million-row import checks each cell at C speed.
_REFUSED = {
    (False, False): re.compile(f"[{_CONTROL}{_BIDI}]"),
    (True, False): re.compile(f"[{_CONTROL_MULTILINE}{_BIDI}]"),
    (False, True): re.compile(f"[{_CONTROL}{_BIDI}{_ZERO_WIDTH}]"),
    (True, True): re.compile(f"[{_CONTROL_MULTILINE}{_BIDI}{_ZERO_WIDTH}]"),
}
_BIDI_RE = re.compile(f"[{_BIDI}]")
_ZERO_WIDTH_RE = re.compile(f"[{_ZERO_WIDTH}]")


def text_problem(text: str, *, multiline: bool = False, name: bool = False) -> str | None:
    """Why ``text`` may not be stored (a Chinese reason with an English gloss), or None.

    Refused everywhere: C0/C1 control characters (a multi-line field keeps line breaks and tabs) and
    bidirectional overrides; in names and identifiers also zero-width characters.
    """
    found = _REFUSED[(multiline, name)].search(text)
    if found is None:
        return None
    ch = found.group()
    if _BIDI_RE.match(ch):
        return f"含有文字方向控制字符 U+{ord(ch):04X} (bidirectional override)"
    if _ZERO_WIDTH_RE.match(ch):
        return f"含有不可见字符 U+{ord(ch):04X} (zero-width character)"
    return f"含有控制字符 U+{ord(ch):04X} (control character)"


def clean_text(value: object, *, label: str, max_length: int, field: str | None = None, required: bool = False,
               multiline: bool = False, name: bool = False) -> str:
    """The stripped text of ``value`` ('' if blank and not required), or ValidationError naming ``field``.

    ``label`` is the field's Chinese name in the message (户编号过长（最多 32 个字符）).
    """
    field = field or label
    if value is None:
        text = ""
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))  # a spreadsheet's number cell: 1001.0 → 1001
    else:
        text = str(value)
    if multiline:
        text = text.replace("\r\n", "\n")
    text = text.strip()
    if not text:
        if required:
            raise ValidationError(f"{label}不能为空 (empty)", field=field)
        return ""
    if len(text) > max_length:
        raise ValidationError(f"{label}过长：{len(text)} 个字符，最多 {max_length} 个 (too long)", field=field)
    problem = text_problem(text, multiline=multiline, name=name)
    if problem:
        raise ValidationError(f"{label}{problem}", field=field)
    return text


def optional_text(value: object, *, label: str, max_length: int, field: str | None = None,
                  multiline: bool = False, name: bool = False) -> str | None:
    """`clean_text`, with None for a blank value."""
    return clean_text(value, label=label, max_length=max_length, field=field, multiline=multiline,
                      name=name) or None


LIKE_ESCAPE = "\\"


def escape_like(text: str) -> str:
    """``text`` for a SQL LIKE pattern (with ``ESCAPE '\\'``): % and _ match themselves, not anything."""
    return text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")


_GLOSS = re.compile(r"\s*\(([A-Za-z][^()]*)\)\s*$")


def split_gloss(message: str) -> tuple[str, str | None]:
    """Service messages read "中文说明 (english gloss)": (the Chinese part, the gloss or None)."""
    match = _GLOSS.search(message)
    if not match:
        return message, None
    return message[: match.start()], match.group(1)
