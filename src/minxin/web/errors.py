"""Errors to responses: a Chinese page for HTML routes, JSON for /api, and never a traceback.

Domain errors map to status codes (NotFound 404, Forbidden 403, ValidationError 422, Conflict 409,
Unavailable 503).
On the API a ValidationError reads like FastAPI's own 422, naming the field:
`{"detail": [{"loc": ["body", field], "msg": message, "type": "value_error"}]}`.
Anything unexpected is logged with its traceback and answered with a plain 500.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from minxin.core.errors import Conflict, Forbidden, MinxinError, NotFound, Unavailable, ValidationError
from minxin.web.i18n import domain_message, gettext
from minxin.web.templating import render, request_lang

log = logging.getLogger("minxin.web")

STATUS_BY_ERROR: tuple[tuple[type[MinxinError], int], ...] = (
    (NotFound, 404), (Forbidden, 403), (ValidationError, 422), (Conflict, 409), (Unavailable, 503),
)


class LoginRequired(Exception):
    """An HTML request without a login: send the browser to /login?next=…"""

    def __init__(self, next_path: str | None = None) -> None:
        super().__init__("login required")
        self.next_path = next_path


class NotAuthenticated(Exception):
    """An API request without a valid token or session: 401."""


class CsrfFailed(Exception):
    """A state-changing request without this session's CSRF token: 403."""


class UploadTooLarge(StarletteHTTPException):
    """The request body exceeds settings.max_upload_bytes (413)."""

    def __init__(self, *, size: int | None, limit: int) -> None:
        super().__init__(status_code=413, detail="upload too large")
        self.size = size
        self.limit = limit


def login_url(next_path: str | None) -> str:
    return "/login" + (f"?next={quote(next_path, safe='/')}" if next_path and next_path != "/" else "")


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def status_for(exc: MinxinError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 400


def megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def error_page(request: Request, *, status: int, message: str | None = None,
               title: str | None = None) -> Response:
    """The Chinese error page (or, for an HTMX request, a small alert fragment to swap in)."""
    lang = request_lang(request)
    title = title or gettext(f"error.{status}", lang=lang)
    if title == f"error.{status}":
        title = gettext("error.title", lang=lang)
    template = "_error_fragment.html" if is_htmx(request) else "error.html"
    try:
        return render(request, template, {"status": status, "title": title, "message": message},
                      status_code=status)
    except Exception:  # the error page itself must never fail
        log.exception("rendering the error page failed")
        return Response(f"{status} {title}", status_code=status, media_type="text/plain; charset=utf-8")


def api_error(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=status, headers=headers)


def validation_detail(request: Request, exc: MinxinError) -> list[dict[str, Any]]:
    field = exc.field or "__root__"
    where = "query" if field in request.query_params or field in request.path_params else "body"
    return [{"loc": [where, field], "msg": exc.message, "type": "value_error"}]


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MinxinError)
    status = status_for(exc)
    if is_api(request):
        if status == 422:
            return api_error(422, validation_detail(request, exc))
        return api_error(status, exc.message)
    return error_page(request, status=status, message=domain_message(exc.message, lang=request_lang(request)))


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = login_url(exc.next_path)
    if is_htmx(request):  # an XHR would follow a redirect and swap the login page into the table
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def _not_authenticated(request: Request, exc: Exception) -> Response:
    return api_error(401, gettext("error.not_logged_in", lang=request_lang(request)),
                     headers={"WWW-Authenticate": "Bearer"})


async def _csrf_failed(request: Request, exc: Exception) -> Response:
    message = gettext("error.csrf", lang=request_lang(request))
    if is_api(request):
        return api_error(403, message)
    return error_page(request, status=403, message=message)


async def http_error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    lang = request_lang(request)
    if isinstance(exc, UploadTooLarge):
        message = gettext("error.upload_too_large", lang=lang,
                          size=megabytes(exc.size) if exc.size else "?", limit=megabytes(exc.limit))
    elif exc.status_code == 404:
        message = gettext("error.404_detail", lang=lang)
    else:
        message = None
    if is_api(request):
        detail = message or exc.detail
        return api_error(exc.status_code, detail, headers=dict(exc.headers or {}))
    return error_page(request, status=exc.status_code, message=message)


async def _request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if is_api(request):
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return api_error(422, errors)
    fields = "、".join(str(e["loc"][-1]) for e in exc.errors() if e.get("loc"))
    return error_page(request, status=400,
                      message=gettext("error.400_detail", lang=request_lang(request), fields=fields))


async def _data_error(request: Request, exc: Exception) -> Response:
    """A value the database cannot hold (an id past the integer range in a URL): nothing can match it."""
    from minxin.core.errors import NotFound

    log.info("data error treated as not found on %s: %s", request.url.path, exc)
    return await _domain_error(request, NotFound("记录不存在 (not found)"))


def install_handlers(app: FastAPI) -> None:
    from sqlalchemy.exc import DataError

    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(MinxinError, _domain_error)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(NotAuthenticated, _not_authenticated)
    app.add_exception_handler(CsrfFailed, _csrf_failed)
    app.add_exception_handler(StarletteHTTPException, http_error_response)
    app.add_exception_handler(RequestValidationError, _request_validation)


class UnexpectedErrorMiddleware:
    """Last line: log the traceback, answer 500 in Chinese (page or JSON), never show the traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            request = Request(scope)
            lang = request_lang(request)
            response: Response = (
                api_error(500, gettext("error.500", lang=lang)) if is_api(request)
                else error_page(request, status=500, message=gettext("error.500_detail", lang=lang))
            )
            await response(scope, receive, send)
