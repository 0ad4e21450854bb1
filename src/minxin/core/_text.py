"""Small text helpers shared by the core rules (not public API)."""

from __future__ import annotations

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
