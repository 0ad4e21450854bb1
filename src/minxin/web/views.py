"""The web kit's own pages: the language switch, the API docs, an import's error sheet, 待办 (the work
waiting for the user's steps, gathered from every installed domain by `minxin.worklist`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.core.errors import NotFound
from minxin.web.deps import current_user, get_session, safe_next, writes
from minxin.web.forms import XLSX
from minxin.web.i18n import LANGS, gettext
from minxin.web.templating import LANG_COOKIE, local_today, render, request_lang
from minxin.web.uploads import download_error_sheet
from minxin.worklist import queue_page, waiting_count, worklist_for

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


MESSAGES = {
    "zh": {
        "worklist.title": "待办",
        "worklist.heading": "我的待办",
        "worklist.intro": "等待您这一步办理的事项，按类别列出，最早的在前。",
        "worklist.none": "目前没有等待您办理的事项。",
        "worklist.all": "全部",
        "worklist.count": "{n} 件",
        "worklist.since": "等待自",
        "worklist.due": "期限",
        "worklist.item": "事项",
        "worklist.note": "说明",
        "worklist.badge": "待办 {n} 件",
        "worklist.back": "返回全部待办",
        "worklist.empty_kind": "这一类目前没有待办。",
    },
    "en": {
        "worklist.title": "To do",
        "worklist.heading": "My work",
        "worklist.intro": "What waits for your step, by kind, oldest first.",
        "worklist.none": "Nothing waits for you now.",
        "worklist.all": "All",
        "worklist.count": "{n}",
        "worklist.since": "Waiting since",
        "worklist.due": "Due",
        "worklist.item": "Item",
        "worklist.note": "Note",
        "worklist.badge": "{n} to do",
        "worklist.back": "Back to all work",
        "worklist.empty_kind": "Nothing of this kind waits now.",
    },
}


@router.get("/worklist", name="worklist")
def worklist(request: Request, user: User = Depends(current_user),
             session: Session = Depends(get_session)) -> Response:
    """Every kind of work the user's steps take, with its count and oldest items (empty kinds too)."""
    kinds = worklist_for(session, user, today=local_today(), preview=5, keep_empty=True)
    return render(request, "worklist.html", {"kinds": kinds})


@router.get("/worklist/badge", name="worklist_badge")
def worklist_badge(request: Request, user: User = Depends(current_user),
                   session: Session = Depends(get_session)) -> Response:
    """The top bar's count (an HTMX partial loaded after the page, so no page waits for the counts)."""
    return render(request, "_worklist_badge.html", {"waiting": waiting_count(session, user, today=local_today())})


@router.get("/worklist/{key}", name="worklist_kind")
def worklist_kind(request: Request, key: str, page: int = Query(1, ge=1, le=100_000),
                  user: User = Depends(current_user), session: Session = Depends(get_session)) -> Response:
    """One kind of the user's work, paged, oldest first; another role's kind is 404."""
    queue, items = queue_page(session, user, key[:64], today=local_today(), page=page)
    return render(request, "worklist_kind.html", {"queue": queue, "page": items})


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
