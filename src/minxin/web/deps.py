"""Request dependencies: the database session, the logged-in user (HTML and API), CSRF.

* `get_session` gives one Session per request. Handlers commit once (`session.commit()`); whatever
  is not committed is rolled back when the request ends. Non-GET requests (and GET handlers marked
  `@writes`, e.g. an audited export) open their transaction with the SQLite write lock held
  (BEGIN IMMEDIATE), so two writers queue instead of failing halfway.
  A POST handler marked `@own_writes` (the login) gets a plain session and opens its short write
  transactions itself (`minxin.infra.db.begin_write`), so slow work between them (argon2) holds no lock.
* `current_user` is for HTML pages: no session → redirect to /login?next=…; on any non-GET request
  it also checks the CSRF token (form field `csrf_token` or header `X-CSRF-Token`). The app factory
  puts it on every domain's HTML router, so a new page cannot forget it.
* `api_user` is for /api/v1: `Authorization: Bearer <token>` (no CSRF, a token cannot be sent by a
  foreign page), else the session cookie (then CSRF applies as for pages), else 401.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from anyio import CancelScope
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.convertors import IntegerConvertor, register_url_convertor

from minxin.auth.models import ApiToken, User, WebSession
from minxin.auth.service import session_for_key, user_for_token
from minxin.core.divisions import level_of
from minxin.core.errors import NotFound
from minxin.infra.db import after_write_begins, begin_write, is_db_id
from minxin.infra.settings import get_settings
from minxin.regions import region_names, region_path
from minxin.web.errors import CsrfFailed, LoginRequired, NotAuthenticated

SESSION_COOKIE = "minxin_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
F = TypeVar("F", bound=Callable[..., Any])


# ---- database -------------------------------------------------------------------------------------

def writes(endpoint: F) -> F:
    """Mark a GET handler that writes (an export records an audit entry): it gets a write transaction."""
    endpoint.__minxin_writes__ = True  # type: ignore[attr-defined]
    return endpoint


def own_writes(endpoint: F) -> F:
    """Mark a handler that begins its own write transactions (`begin_write`) between slow steps, or
    around its one write only (call intake: the write lock is not held while the request waits for
    the event loop between its dependencies and the handler)."""
    endpoint.__minxin_writes__ = False  # type: ignore[attr-defined]
    return endpoint


def _writes_from_start(request: Request) -> bool:
    marked = getattr(request.scope.get("endpoint"), "__minxin_writes__", None)
    return marked if marked is not None else request.method not in SAFE_METHODS


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; write mode for every method but GET/HEAD/OPTIONS and for @writes GETs,
    except handlers marked @own_writes.

    `async`, so a request whose handler commits spends no worker-thread trip on opening or closing it
    (FastAPI runs a plain generator's two halves in worker threads); the blocking steps, BEGIN and a
    rollback, still run in one. One generator, not a loop over another: an exception thrown in here
    would not reach an inner async generator, which would then be closed later by the garbage
    collector, after the answer has gone."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()  # no I/O until the first statement
    try:
        if _writes_from_start(request):
            # Begin now (begin_write), so SQLite takes the write lock before the first read.
            # Shielded, as FastAPI shields a plain generator's steps: a cancelled request (the client
            # went away) must not leave a worker thread using the session after it is closed.
            with CancelScope(shield=True):
                await run_in_threadpool(begin_write, session)
        yield session
    finally:
        if session.in_transaction():
            with CancelScope(shield=True):
                await run_in_threadpool(session.close)  # rolls back whatever the handler did not commit
        else:
            session.close()  # nothing to roll back: no I/O, no trip to a worker thread


# ---- path ids ---------------------------------------------------------------------------------------

class _ShortIntConvertor(IntegerConvertor):
    """`{x:int}` in a path matches at most 18 digits: a longer number is simply no page (404), and
    int() never meets a 5,000-digit string (past Python's conversion limit, a ValueError and a 500).
    Registered here because every views module imports this one before it declares its routes."""

    regex = "[0-9]{1,18}"


register_url_convertor("int", _ShortIntConvertor())


async def ids_in_range(request: Request) -> None:
    """Every `…_id` path parameter beyond any record id (/cases/99999999999999999999999) is not found.

    The app puts this on every route, ahead of the handler, so no page or API route hands a 64-bit
    overflow to the database driver (a 500) and each answers 404 like any other missing record.
    `async`: it only looks at the path, so it runs on the event loop, not a worker thread.
    """
    for name, value in request.path_params.items():
        if not name.endswith("_id"):
            continue
        digits = str(value).lstrip("0")
        if digits.isascii() and digits.isdigit() and (len(digits) > 10 or not is_db_id(int(digits))):
            raise NotFound("记录不存在 (no such record)")


# ---- labels the layout shows ----------------------------------------------------------------------

def ensure_city_name(request: Request, session: Session) -> None:
    state = request.app.state
    if not getattr(state, "city_name", None):
        code = get_settings().city_code
        state.city_name = region_names(session, {code}).get(code, code)


def scope_label(request: Request, session: Session, code: str) -> str:
    """"连云港市" for the city, "海州区 新海街道" below it; cached per process (names rarely change)."""
    cache: dict[str, str] = request.app.state.scope_labels
    if code not in cache:
        if level_of(code) in ("province", "city"):
            cache[code] = region_names(session, {code}).get(code, code)
        else:
            cache[code] = region_path(session, code) or code
    return cache[code]


# ---- HTML pages ------------------------------------------------------------------------------------

def web_session(request: Request, session: Session = Depends(get_session)) -> WebSession | None:
    """The browser's login (cookie), or None; also fills the layout's labels."""
    ensure_city_name(request, session)
    key = request.cookies.get(SESSION_COOKIE)
    ws = session_for_key(session, key) if key else None
    if ws is not None:
        request.state.scope_label = scope_label(request, session, ws.user.scope_code)
    return ws


def safe_next(value: str | None, default: str = "/") -> str:
    """Only a local path may follow a login: "/registry?q=1" yes; "//evil.example", "https://…" no."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ch in value for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in value):
        return default
    return value


def _login_next(request: Request) -> str | None:
    if request.method != "GET":
        return None
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return path


async def check_csrf(request: Request, expected: str) -> None:
    """Refuse a state-changing request that does not carry this session's CSRF token."""
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # cached on the request; the handler sees the same form
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not sent or not secrets.compare_digest(sent.encode(), expected.encode()):
        raise CsrfFailed()


async def current_user(request: Request, ws: WebSession | None = Depends(web_session)) -> User:
    """The logged-in staff member of an HTML request; CSRF-checked on non-GET requests."""
    if ws is None:
        raise LoginRequired(next_path=_login_next(request))
    if request.method not in SAFE_METHODS:
        await check_csrf(request, ws.csrf_token)
    request.state.user = ws.user
    request.state.csrf_token = ws.csrf_token
    return ws.user


# ---- JSON API -------------------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="API token (`minxin token create USER`)")


@dataclass
class ApiIdentity:
    user: User | None
    csrf_token: str | None  # set when authenticated by the session cookie


def _api_identity(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
                  session: Session = Depends(get_session)) -> ApiIdentity:
    if credentials is not None:
        user = user_for_token(session, credentials.credentials)
        if user is not None and not _writes_from_start(request):
            _hold_back_token_stamp(request, session)
        return ApiIdentity(user=user, csrf_token=None)
    if request.headers.get("authorization"):
        return ApiIdentity(user=None, csrf_token=None)  # a malformed Authorization header
    key = request.cookies.get(SESSION_COOKIE)
    ws = session_for_key(session, key) if key else None
    if ws is None:
        return ApiIdentity(user=None, csrf_token=None)
    return ApiIdentity(user=ws.user, csrf_token=ws.csrf_token)


def _stamp(token: ApiToken, at: datetime | None, _session: Session) -> None:
    token.last_used_at = at


def _hold_back_token_stamp(request: Request, session: Session) -> None:
    """user_for_token stamps last_used_at (every few minutes) in what is here a read transaction.
    A read-only request does not commit: drop the stamp rather than turn every GET into a write. A
    handler that begins its own write transaction (@own_writes) gets the stamp made in it."""
    for obj in list(session.dirty):
        if isinstance(obj, ApiToken):
            stamp = obj.last_used_at
            session.expire(obj, ["last_used_at"])
            if request.method not in SAFE_METHODS:
                after_write_begins(session, partial(_stamp, obj, stamp))


async def api_user(request: Request, identity: ApiIdentity = Depends(_api_identity)) -> User:
    """The caller of an API request: bearer token, or session cookie plus CSRF header."""
    if identity.user is None:
        raise NotAuthenticated()
    if identity.csrf_token is not None and request.method not in SAFE_METHODS:
        await check_csrf(request, identity.csrf_token)
    request.state.user = identity.user
    return identity.user
