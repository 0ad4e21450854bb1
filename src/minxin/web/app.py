"""The application factory: `uvicorn --factory minxin.web.app:create_app` (or `minxin serve`).

Domains plug in through their descriptor (`minxin.domains`). For each module in an installed domain's
`web`, in the order of `minxin.domains.INSTALLED` and then the descriptor's order, the factory takes:

* `router` — HTML pages behind login (the factory adds `current_user`, which also checks CSRF);
* `public_router` (optional) — pages without login (the login page, public notices);
* `NAV` (optional) — `NavItem`s for the top bar, shown only to roles holding their permission, in
  that order (grouped into the domain's `menu_group` drop-down when it has one);
* `MESSAGES` (optional) — `{"zh": {...}, "en": {...}}` merged into the one string catalogue;
* the templates in the `templates/` folder next to the module (named `<domain>/<page>.html`).

For each module in a domain's `api` it includes `router` under /api/v1, behind `api_user`.
A domain's `background` coroutines run while a real server runs (not over a test's session factory).
A module that fails to import stops the factory with its error: nothing is skipped quietly.
The web kit's own pages (`minxin.web.views`: language switch, API docs) come first.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from minxin.domains import background_tasks, installed
from minxin.infra import db
from minxin.infra.settings import get_settings
from minxin.web.deps import api_user, current_user, ids_in_range
from minxin.web.errors import UnexpectedErrorMiddleware, install_handlers
from minxin.web.health import router as health_router
from minxin.web.i18n import add_messages
from minxin.web.logs import RequestLogMiddleware
from minxin.web.nav import NavRegistry
from minxin.web.security import BodyLimitMiddleware, SecurityHeadersMiddleware
from minxin.web.templating import STATIC_DIR, TEMPLATES_DIR, build_templates

log = logging.getLogger("minxin.web")

API_PREFIX = "/api/v1"

# The web kit's own pages, before any domain's.
KIT_MODULES: tuple[str, ...] = ("minxin.web.views",)

# Multipart framing and the other form fields ride on top of the file itself.
_BODY_OVERHEAD = 1024 * 1024


def _template_dir(module: ModuleType) -> Path | None:
    if not module.__file__:
        return None
    folder = Path(module.__file__).resolve().parent / "templates"
    return folder if folder.is_dir() and folder != TEMPLATES_DIR else None


# SQLite: a running server checkpoints the WAL this often in a thread of its own (infra.db.checkpoint_every),
# so a request's commit seldom has to.
WAL_CHECKPOINT_SECONDS = 1.0


def create_app(session_factory: sessionmaker[Session] | None = None, *,
               background: bool | None = None) -> FastAPI:
    """Build the web app; tests pass a session factory bound to their rolled-back connection.

    The domains' background tasks run when `background` is true; by default only in a real server (no
    session factory given), never over a test's rolled-back connection.
    """
    settings = get_settings()
    run_background = session_factory is None if background is None else background

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sqlite = db.sqlite_file_engine(app.state.session_factory) if run_background else None
        running = [asyncio.create_task(task(app)) for task in background_tasks()] if run_background else []
        try:
            with contextlib.ExitStack() as stack:
                if sqlite is not None:
                    stack.enter_context(db.checkpoint_every(sqlite, WAL_CHECKPOINT_SECONDS))
                yield
        finally:
            for t in running:
                t.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    app = FastAPI(
        lifespan=lifespan,
        title="minxin 民心 API",
        version="1",
        description="连云港市民政局 · 民心 — JSON API. Authenticate with `Authorization: Bearer <token>` "
                    "(`minxin token create USER`).",
        docs_url=None, redoc_url=None, openapi_url="/openapi.json",
        dependencies=[Depends(ids_in_range)],
    )
    app.state.session_factory = session_factory or db.session_factory()
    app.state.nav = NavRegistry()
    app.state.scope_labels = {}
    app.state.city_name = None

    # The API first: routes are matched in order, and the phone system's POST /api/v1/calls should
    # not be compared with every page's path before its own (no page lives under /api/).
    for domain in installed():
        for name in domain.api:
            router = importlib.import_module(name).router
            app.include_router(router, prefix=API_PREFIX, dependencies=[Depends(api_user)])

    template_dirs: list[Path] = []
    web_modules: list[tuple[str, str | None]] = [(name, None) for name in KIT_MODULES]
    web_modules += [(name, domain.menu_group) for domain in installed() for name in domain.web]
    for name, menu_group in web_modules:
        module = importlib.import_module(name)
        if (folder := _template_dir(module)) is not None and folder not in template_dirs:
            template_dirs.append(folder)
        if messages := getattr(module, "MESSAGES", None):
            add_messages(messages)
        nav = getattr(module, "NAV", ())
        app.state.nav.add(replace(item, group=item.group or menu_group) for item in nav)
        if (public := getattr(module, "public_router", None)) is not None:
            app.include_router(public, include_in_schema=False)
        if (router := getattr(module, "router", None)) is not None:
            app.include_router(router, include_in_schema=False, dependencies=[Depends(current_user)])
    app.include_router(health_router)  # /healthz: no login, no data
    app.state.templates = build_templates(template_dirs)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_handlers(app)
    # Outermost last: headers go on every answer, including the 413 and the 500.
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_upload_bytes + _BODY_OVERHEAD,
                       shown_limit=settings.max_upload_bytes)
    app.add_middleware(SecurityHeadersMiddleware, https_only=settings.cookie_secure)
    app.add_middleware(RequestLogMiddleware)  # outermost: request id and one log line for every answer
    return app
