"""Login and logout pages.

The login form has no session yet, so it carries its own CSRF token: a random value in a short-lived
cookie that the form must echo (double submit). That stops another site from logging a browser in
under an account of its choosing.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from minxin.auth.models import User, WebSession
from minxin.auth.service import LoginFailed, authenticate, end_session, start_session
from minxin.settings import get_settings
from minxin.web.deps import SESSION_COOKIE, current_user, ensure_city_name, get_session, safe_next, web_session
from minxin.web.i18n import gettext
from minxin.web.templating import render, request_lang

router = APIRouter()
public_router = APIRouter()

LOGIN_CSRF_COOKIE = "minxin_login_csrf"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or get_settings().cookie_secure


def _login_page(request: Request, *, next_path: str, username: str = "", error: str | None = None,
                status_code: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    settings = get_settings()
    response = render(request, "auth/login.html", {
        "login_csrf": token, "next": next_path, "username": username, "error": error,
        "max_failures": settings.login_max_failures, "lockout_minutes": settings.login_lockout_minutes,
    }, status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=_secure(request), path="/login")
    return response


@public_router.get("/login", name="login")
def login_form(request: Request, next: str = "/",
               ws: WebSession | None = Depends(web_session)) -> Response:
    if ws is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_path=safe_next(next))


@public_router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""),
          next: str = Form("/"),
          csrf_token: str = Form(""), session: Session = Depends(get_session)) -> Response:
    """Check the password (counting failures, locking after too many) and start a session."""
    ensure_city_name(request, session)
    lang = request_lang(request)
    next_path = safe_next(next)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), csrf_token.encode()):
        return _login_page(request, next_path=next_path, username=username,
                           error=gettext("login.expired", lang=lang), status_code=403)
    if not username.strip() or not password:
        return _login_page(request, next_path=next_path, username=username,
                           error=gettext("login.required", lang=lang), status_code=422)
    try:
        user = authenticate(session, username=username, password=password)
    except LoginFailed as exc:
        session.commit()  # keep the failure count and the lock
        return _login_page(request, next_path=next_path, username=username, error=exc.message,
                           status_code=401)
    key, _ws = start_session(session, user=user)
    session.commit()
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(SESSION_COOKIE, key, max_age=get_settings().session_hours * 3600, httponly=True,
                        samesite="lax", secure=_secure(request), path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", name="logout")
def logout(request: Request, user: User = Depends(current_user),
           session: Session = Depends(get_session)) -> Response:
    key = request.cookies.get(SESSION_COOKIE)
    if key:
        end_session(session, key)
        session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))
    return response
