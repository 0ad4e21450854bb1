"""Pages that belong to no single domain: the home page, the language switch, the API docs."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.core.errors import NotFound
from minxin.registry.service import counts_by_county
from minxin.stats import city_stats
from minxin.web.deps import current_user, get_session, safe_next
from minxin.web.i18n import LANGS, gettext
from minxin.web.nav import NavItem
from minxin.web.templating import LANG_COOKIE, render, request_lang
from minxin.web.uploads import error_sheet_path

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = APIRouter()
public_router = APIRouter()

NAV = [NavItem(label="nav.home", path="/", order=0)]


@router.get("/", name="home")
def home(request: Request, user: User = Depends(current_user),
         session: Session = Depends(get_session)) -> Response:
    """The key counts of the user's scope, a table per county and a bar chart."""
    counts = city_stats(session, scope_code=user.scope_code)
    counties = counts_by_county(session, scope_code=user.scope_code)
    lang = request_lang(request)
    chart = {
        "title": gettext("home.chart_title", lang=lang),
        "names": [c["name"] for c in counties],
        "series": [
            {"name": gettext("home.urban", lang=lang), "data": [c["urban"] for c in counties]},
            {"name": gettext("home.rural", lang=lang), "data": [c["rural"] for c in counties]},
        ],
    }
    totals = {k: sum(c[k] for c in counties) for k in ("households", "persons", "urban", "rural")}
    return render(request, "home.html", {"counts": counts, "counties": counties, "totals": totals,
                                         "chart": chart})


@router.get("/import/errors/{token}.xlsx", name="import_error_sheet")
def import_error_sheet(request: Request, token: str, user: User = Depends(current_user)) -> Response:
    """An import's error sheet, for the user who uploaded the file only."""
    path = error_sheet_path(user, token)
    if path is None:
        raise NotFound(gettext("import.sheet_missing", lang=request_lang(request)))
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
