"""Jinja2 set-up: one environment over the base templates and every installed domain's templates.

Templates live in `<domain>/templates/<domain>/…` and are found through one ChoiceLoader, so
`registry/search.html` and `programs/cases.html` never collide and a domain brings its own pages.
`render()` fills in what the base layout needs (user, navigation, CSRF token, language).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from minxin.auth.service import ROLE_NAMES, has_perm
from minxin.core.masking import mask_id, mask_name, mask_phone
from minxin.core.money import format_yuan_display
from minxin.infra.settings import get_settings
from minxin.web.i18n import domain_message, gettext, pick_lang

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
LANG_COOKIE = "minxin_lang"


@lru_cache(maxsize=4)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as the bureau reads it (Asia/Shanghai by default)."""
    if value is None:
        return ""
    return value.astimezone(_zone(get_settings().timezone)).strftime(fmt)


def local_today() -> date:
    """Today's date at the bureau (Asia/Shanghai by default), whatever the server's own zone."""
    return datetime.now(_zone(get_settings().timezone)).date()


def iso_date(value: date | None) -> str:
    return value.isoformat() if value else ""


def yuan(fen: int | None) -> str:
    """Integer fen as yuan for the screen: 123456 → 1,234.56."""
    return "" if fen is None else format_yuan_display(fen)


def age_on(birth: date | None, today: date | None = None) -> int | None:
    if birth is None:
        return None
    today = today or local_today()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def request_lang(request: Request) -> str:
    return pick_lang(request.cookies.get(LANG_COOKIE))


@jinja2.pass_context
def _translate(ctx: jinja2.runtime.Context, key: str, **params: Any) -> str:
    return gettext(key, lang=ctx.get("lang") or "zh", **params)


@jinja2.pass_context
def _domain_message(ctx: jinja2.runtime.Context, message: str) -> str:
    return domain_message(message, lang=ctx.get("lang") or "zh")


@jinja2.pass_context
def _page_href(ctx: jinja2.runtime.Context, page: int) -> str:
    """The current list URL with another page number, keeping the other filters."""
    request: Request = ctx["request"]
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    params.append(("page", str(page)))
    return f"{request.url.path}?{urlencode(params)}"


def _static_versions() -> dict[str, str]:
    """A short content hash per static file, appended as ?v= so browsers never run stale JS/CSS."""
    versions = {}
    for path in STATIC_DIR.rglob("*"):
        if path.is_file() and path.suffix in (".js", ".css", ".svg"):
            versions[path.relative_to(STATIC_DIR).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return versions


def build_templates(template_dirs: Sequence[Path]) -> Jinja2Templates:
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(TEMPLATES_DIR),
                                  *(jinja2.FileSystemLoader(d) for d in template_dirs)])
    env = jinja2.Environment(loader=loader, autoescape=True, trim_blocks=True, lstrip_blocks=True)
    versions = _static_versions()

    def static(path: str) -> str:
        v = versions.get(path)
        return f"/static/{path}" + (f"?v={v}" if v else "")

    env.globals.update(_=_translate, page_href=_page_href, static=static, has_perm=has_perm,
                       domain_message=_domain_message)
    env.filters.update(yuan=yuan, local_time=local_time, iso_date=iso_date, mask_id=mask_id,
                       mask_name=mask_name, mask_phone=mask_phone, age=age_on)
    return Jinja2Templates(env=env)


def city_name(request: Request) -> str:
    name: str | None = getattr(request.app.state, "city_name", None)
    return name or get_settings().city_code


def layout_context(request: Request) -> dict[str, Any]:
    """What base.html needs on every page."""
    user = getattr(request.state, "user", None)
    lang = request_lang(request)
    city = city_name(request)
    return {
        "request": request,
        "lang": lang,
        "user": user,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "nav": request.app.state.nav.for_user(user),
        "path": request.url.path,
        "city": city,
        "brand": gettext("app.brand", lang=lang, city=city),
        "scope_label": getattr(request.state, "scope_label", ""),
        "role_label": gettext(f"role.{user.role}", lang=lang) if user else "",
        "role_names": ROLE_NAMES,
    }


def render(request: Request, name: str, context: Mapping[str, Any] | None = None, *,
           status_code: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """Render a page (or an HTMX partial) with the layout context filled in."""
    templates: Jinja2Templates = request.app.state.templates
    ctx = layout_context(request)
    if context:
        ctx.update(context)
    html = templates.get_template(name).render(ctx)
    return HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
