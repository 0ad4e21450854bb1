"""The application factory: `uvicorn --factory minxin.web.app:create_app` (or `minxin serve`).

Domains plug in by module name. For each name in WEB_MODULES that exists, the factory takes:

* `router` — HTML pages behind login (the factory adds `current_user`, which also checks CSRF);
* `public_router` (optional) — pages without login (the login page, public notices);
* `NAV` (optional) — `NavItem`s for the top bar, shown only to roles holding their permission;
* `MESSAGES` (optional) — `{"zh": {...}, "en": {...}}` merged into the one string catalogue;
* the templates in `<domain package>/templates/` (named `<domain>/<page>.html`).

For each name in API_MODULES that exists it includes `router` under /api/v1, behind `api_user`.
A module that is absent is skipped; a module that is present but fails to import is an error.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from types import ModuleType

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from minxin import db
from minxin.settings import get_settings
from minxin.web.deps import api_user, current_user
from minxin.web.errors import UnexpectedErrorMiddleware, install_handlers
from minxin.web.i18n import add_messages
from minxin.web.nav import NavRegistry
from minxin.web.security import BodyLimitMiddleware, SecurityHeadersMiddleware
from minxin.web.templating import STATIC_DIR, TEMPLATES_DIR, build_templates

log = logging.getLogger("minxin.web")

API_PREFIX = "/api/v1"

# Add a domain here (both lists) when it gets pages or API routes; absent modules are skipped.
DOMAINS = ("auth", "registry", "programs", "assistance", "eldercare", "community", "veterans", "services",
           "targets")
WEB_MODULES: tuple[str, ...] = ("minxin.web.views", *(f"minxin.{d}.views" for d in DOMAINS))
API_MODULES: tuple[str, ...] = tuple(f"minxin.{d}.api" for d in DOMAINS)

# Multipart framing and the other form fields ride on top of the file itself.
_BODY_OVERHEAD = 1024 * 1024


def optional_import(name: str) -> ModuleType | None:
    """Import a domain module if it exists; an import error inside an existing module propagates."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise


def _template_dir(module: ModuleType) -> Path | None:
    if not module.__file__:
        return None
    folder = Path(module.__file__).resolve().parent / "templates"
    return folder if folder.is_dir() and folder != TEMPLATES_DIR else None


def create_app(session_factory: sessionmaker[Session] | None = None) -> FastAPI:
    """Build the web app; tests pass a session factory bound to their rolled-back connection."""
    settings = get_settings()
    app = FastAPI(
        title="minxin 民心 API",
        version="1",
        description="连云港市民政局 · 民心 — JSON API. Authenticate with `Authorization: Bearer <token>` "
                    "(`minxin token create USER`).",
        docs_url=None, redoc_url=None, openapi_url="/openapi.json",
    )
    app.state.session_factory = session_factory or db.session_factory()
    app.state.nav = NavRegistry()
    app.state.scope_labels = {}
    app.state.city_name = None

    template_dirs: list[Path] = []
    for name in WEB_MODULES:
        module = optional_import(name)
        if module is None:
            continue
        if (folder := _template_dir(module)) is not None:
            template_dirs.append(folder)
        if messages := getattr(module, "MESSAGES", None):
            add_messages(messages)
        app.state.nav.add(getattr(module, "NAV", ()))
        if (public := getattr(module, "public_router", None)) is not None:
            app.include_router(public, include_in_schema=False)
        if (router := getattr(module, "router", None)) is not None:
            app.include_router(router, include_in_schema=False, dependencies=[Depends(current_user)])
    for name in API_MODULES:
        module = optional_import(name)
        if module is not None and (router := getattr(module, "router", None)) is not None:
            app.include_router(router, prefix=API_PREFIX, dependencies=[Depends(api_user)])

    app.state.templates = build_templates(template_dirs)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_handlers(app)
    # Outermost last: headers go on every answer, including the 413 and the 500.
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes + _BODY_OVERHEAD,
                       shown_limit=settings.max_upload_bytes)
    app.add_middleware(SecurityHeadersMiddleware, https_only=settings.cookie_secure)
    return app
