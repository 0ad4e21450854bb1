"""The web kit's own pages: the language switch, the API docs, an import's error sheet."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.core.errors import NotFound
from minxin.web.deps import current_user, get_session, safe_next, writes
from minxin.web.forms import XLSX
from minxin.web.i18n import LANGS, gettext
from minxin.web.templating import LANG_COOKIE, render, request_lang
from minxin.web.uploads import download_error_sheet

router = APIRouter()
public_router = APIRouter()


@router.get("/import/errors/{token}.xlsx", name="import_error_sheet")
@writes
def import_error_sheet(request: Request, token: str, user: User = Depends(current_user),
                       session: Session = Depends(get_session)) -> Response:
    """An import's error sheet, for the user who uploaded the file only; each download is audited."""
    resumed = request.headers.get("range", "").replace(" ", "").lower() not in ("", "bytes=0-")
    path = download_error_sheet(session, user=user, token=token, partial=resumed)
    if path is None:
        raise NotFound(gettext("import.sheet_missing", lang=request_lang(request)))
    session.commit()
    return FileResponse(path, media_type=XLSX, filename="导入错误明细.xlsx")


@public_router.get("/lang/{code}", name="set_lang")
def set_lang(code: str, next: str = "/") -> Response:
    """Switch the UI language (a cookie; Chinese is the default)."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in LANGS:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, httponly=True, samesite="lax", path="/")
    return response


@public_router.get("/api/docs", name="api_docs")
def api_docs(request: Request) -> Response:
    """Swagger UI from the package's static files (no CDN, no inline script)."""
    return render(request, "api_docs.html")
