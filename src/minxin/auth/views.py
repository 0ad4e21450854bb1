"""Login and logout pages.

The login form has no session yet, so it carries its own CSRF token: a random value in a short-lived
cookie that the form must echo (double submit). That stops another site from logging a browser in
under an account of its choosing.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from minxin.auth.models import User, WebSession
from minxin.auth.service import (
    LoginFailed,
    begin_login,
    check_password,
    end_session,
    finish_login,
    start_session,
)
from minxin.db import begin_write
from minxin.settings import get_settings
from minxin.web.deps import (
    SESSION_COOKIE,
    current_user,
    ensure_city_name,
    get_session,
    own_writes,
    safe_next,
    web_session,
)
from minxin.web.forms import PublicFormToken, secure_cookies
from minxin.web.i18n import gettext
from minxin.web.templating import render, request_lang

router = APIRouter()
public_router = APIRouter()

LOGIN_FORM = PublicFormToken(cookie="minxin_login_csrf", path="/login", max_age=3600)


def _login_page(request: Request, *, next_path: str, username: str = "", error: str | None = None,
                status_code: int = 200) -> Response:
    token = LOGIN_FORM.issue(request)
    settings = get_settings()
    response = render(request, "auth/login.html", {
        "login_csrf": token, "next": next_path, "username": username, "error": error,
        "max_failures": settings.login_max_failures, "lockout_minutes": settings.login_lockout_minutes,
    }, status_code=status_code)
    LOGIN_FORM.set(request, response, token)
    return response


@public_router.get("/login", name="login")
def login_form(request: Request, next: str = "/",
               ws: WebSession | None = Depends(web_session)) -> Response:
    if ws is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_path=safe_next(next))


@public_router.post("/login")
@own_writes
def login(request: Request, username: str = Form(""), password: str = Form(""),
          next: str = Form("/"),
          csrf_token: str = Form(""), session: Session = Depends(get_session)) -> Response:
    """Log in: a short write to pass the throttle, argon2 with no transaction open, a short write for
    the outcome (and the session). Throttled: 429; wrong name or password: 401, the same for both."""
    ensure_city_name(request, session)
    lang = request_lang(request)
    next_path = safe_next(next)
    if not LOGIN_FORM.accepts(request, csrf_token):
        return _login_page(request, next_path=next_path, username=username,
                           error=gettext("login.expired", lang=lang), status_code=403)
    if not username.strip() or not password:
        return _login_page(request, next_path=next_path, username=username,
                           error=gettext("login.required", lang=lang), status_code=422)
    address = request.client.host if request.client else None
    try:
        begin_write(session)
        attempt = begin_login(session, username=username, address=address)
    except LoginFailed as exc:
        session.commit()
        response = _login_page(request, next_path=next_path, username=username, error=exc.message,
                               status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after or 1)
        return response
    session.commit()  # the attempt is counted before the slow part
    check = check_password(attempt, password)  # no transaction open: other writers go on meanwhile
    begin_write(session)
    try:
        user = finish_login(session, attempt=attempt, check=check)
    except LoginFailed as exc:
        session.commit()
        return _login_page(request, next_path=next_path, username=username, error=exc.message,
                           status_code=401)
    key, _ws = start_session(session, user=user)
    session.commit()
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(SESSION_COOKIE, key, max_age=get_settings().session_hours * 3600, httponly=True,
                        samesite="lax", secure=secure_cookies(request), path="/")
    LOGIN_FORM.clear(response)
    return response


@router.post("/logout", name="logout")
def logout(request: Request, user: User = Depends(current_user),
           session: Session = Depends(get_session)) -> Response:
    key = request.cookies.get(SESSION_COOKIE)
    if key:
        end_session(session, key)
        session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookies(request))
    return response
