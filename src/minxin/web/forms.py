"""Form helpers every domain's pages share, written once: a refusal's text in the reader's language, the
redirect after a successful post, a download's headers, the year field, the import page's flow (upload →
check → error table → error sheet) and the double-submit CSRF token of the forms shown without login.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlencode

from fastapi import Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.core.errors import MinxinError, ValidationError
from minxin.infra.settings import get_settings
from minxin.kit.tabular import RowError, Table, write_error_sheet
from minxin.web.errors import megabytes
from minxin.web.i18n import domain_message
from minxin.web.templating import request_lang
from minxin.web.uploads import UploadTooLarge, read_upload, store_error_sheet, upload_limit

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


# ---- import pages: upload, check, error table, error sheet ---------------------------------------

MAX_ERRORS_SHOWN = 500


class CheckedFile(Protocol):
    """What every importer returns: the rows' errors (row ≤ 1 for the file itself) and the table read."""

    @property
    def ok(self) -> bool: ...

    @property
    def errors(self) -> list[RowError]: ...

    @property
    def table(self) -> Table | None: ...


R = TypeVar("R", bound=CheckedFile)


def upload_limits() -> dict[str, Any]:
    """The upload size limit as the import pages show it (in MB) and as their script checks it (bytes)."""
    return {"limit": megabytes(upload_limit()), "limit_bytes": upload_limit()}


def refused_import(request: Request, user: User, result: CheckedFile, *,
                   shown: int = MAX_ERRORS_SHOWN) -> dict[str, Any]:
    """A refused file's page context: the file's own errors as one line, the first `shown` row errors, their
    count, and the token of the error sheet (the rows as uploaded, each with its reason) for this user."""
    lang = request_lang(request)
    file_errors = [e for e in result.errors if e.row <= 1]
    row_errors = [e for e in result.errors if e.row > 1]
    token = None
    if row_errors and result.table is not None:
        table, errors = result.table, result.errors
        token = store_error_sheet(user, lambda path: write_error_sheet(path, table, errors))
    return {"file_error": "；".join(domain_message(e.reason, lang=lang) for e in file_errors) or None,
            "errors": row_errors[:shown], "error_count": len(row_errors), "sheet_token": token}


def read_import_file(session: Session, file: UploadFile | None, *, dry_run: bool = False,
                     too_large: Callable[[str, str], object] | None = None) -> tuple[bytes, str]:
    """read_upload for an import (page or API): a file refused for its size, which no importer reads, is
    first recorded by `too_large(filename, reason)` (the domain's service) and committed, unless dry_run;
    the refusal (UploadTooLarge, a ValidationError) is then raised as read_upload raises it."""
    try:
        return read_upload(file)
    except UploadTooLarge as exc:
        if too_large is not None and file is not None and not dry_run:
            too_large(file.filename or "", exc.message)
            session.commit()
        raise


def handle_import(request: Request, session: Session, *, user: User, file: UploadFile | None, dry_run: bool,
                  check: Callable[[bytes, str], R], page: Callable[..., Response],
                  done: Callable[[R], dict[str, Any]], shown: int = MAX_ERRORS_SHOWN,
                  too_large: Callable[[str, str], object] | None = None) -> Response:
    """An import page's post, the same everywhere:

    1. read the upload (missing, empty or oversized: the page again with the reason, 422);
    2. `check(data, filename)` — the service checks the whole file and stores all of it or nothing;
    3. refused: commit the run the service recorded (its own writes it undid), show the errors and the
       error-sheet link (422);
    4. accepted: commit unless `dry_run`, and show the page with `done(result)`.

    `page(status_code=…, **context)` renders the domain's import page with `filename`, `dry_run` and the
    outcome in its context. `too_large(filename, reason)`: the domain's service records a file refused for
    its size (which no importer reads), then it is committed.
    """
    try:
        data, filename = read_import_file(session, file, dry_run=dry_run, too_large=too_large)
    except ValidationError as exc:
        return page(file_error=error_message(request, exc), dry_run=dry_run, status_code=422)
    result = check(data, filename)
    if not result.ok:
        session.commit()  # the recorded run only: the import undid its own writes
        return page(filename=filename, dry_run=dry_run, status_code=422,
                    **refused_import(request, user, result, shown=shown))
    if not dry_run:
        session.commit()
    return page(filename=filename, dry_run=dry_run, **done(result))


# ---- CSRF of the forms shown without login -------------------------------------------------------

@dataclass(frozen=True)
class PublicFormToken:
    """The CSRF token of a form shown without a session (login, the public objection form): a random value
    in a short-lived, strict, HTTP-only cookie scoped to the form's path, which the form must echo in its
    `csrf_token` field (double submit). Another site can neither read the cookie nor set the field.

    `reuse`: keep the browser's token while its cookie lives (a page with several forms, reloaded after a
    refusal); otherwise every rendering issues a new one.
    """

    cookie: str
    path: str
    max_age: int
    reuse: bool = False

    def issue(self, request: Request) -> str:
        """The token to put in the form (then `set` it on the response)."""
        return (self.reuse and request.cookies.get(self.cookie)) or secrets.token_urlsafe(32)

    def set(self, request: Request, response: Response, token: str) -> None:
        response.set_cookie(self.cookie, token, max_age=self.max_age, httponly=True, samesite="strict",
                            secure=secure_cookies(request), path=self.path)

    def clear(self, response: Response) -> None:
        response.delete_cookie(self.cookie, path=self.path)

    def accepts(self, request: Request, sent: str) -> bool:
        """Whether the posted `csrf_token` matches the cookie (compared in constant time)."""
        expected = request.cookies.get(self.cookie, "")
        return bool(expected) and secrets.compare_digest(expected.encode(), sent.encode())


def secure_cookies(request: Request) -> bool:
    """Cookies are `Secure` over HTTPS, or always when the settings say the site sits behind a TLS proxy."""
    return request.url.scheme == "https" or get_settings().cookie_secure
