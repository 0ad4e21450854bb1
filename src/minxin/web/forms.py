"""Form helpers every domain's pages share, written once: a refusal's text in the reader's language, the
redirect after a successful post, a download's headers and the year field.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse

from minxin.core.errors import MinxinError, ValidationError
from minxin.web.i18n import domain_message
from minxin.web.templating import request_lang

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def error_message(request: Request, exc: MinxinError) -> str:
    """A refused action's reason in the request's language (the Chinese message, or its English gloss)."""
    return domain_message(exc.message, lang=request_lang(request))


def see_other(url: str, anchor: str = "", **params: Any) -> RedirectResponse:
    """303 to `url` with the non-empty `params` as its query and `anchor` ("#ledger") after it."""
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return RedirectResponse(url + (f"?{query}" if query else "") + anchor, status_code=303)


def attachment(filename: str, ascii_name: str) -> dict[str, str]:
    """Download headers: the Chinese file name for browsers that read RFC 5987, an ASCII one for the rest."""
    return {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"}


def parse_year(text: str) -> int:
    """A four-digit year between 2000 and 2100, else a ValidationError on the `year` field."""
    value = text.strip()
    if not (value.isdigit() and len(value) == 4 and 2000 <= int(value) <= 2100):
        raise ValidationError(f"年份应为 2000–2100 之间的四位数字，而不是“{value[:10]}” (bad year)", field="year")
    return int(value)
