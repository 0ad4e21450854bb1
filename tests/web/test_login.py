"""Login, throttling of failed logins, logout and the session cookie."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.web.conftest import csrf_from, login

from minxin.auth.models import AuditEvent, LoginThrottle, User, WebSession
from minxin.infra.db import utcnow
from minxin.web.deps import safe_next


def test_a_page_without_login_redirects_to_login_and_back(client: TestClient, county_officer: User) -> None:
    response = client.get("/registry?q=王")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/login?next=")
    next_path = parse_qs(urlsplit(location).query)["next"][0]
    assert next_path == "/registry?q=%E7%8E%8B"
    assert login(client, county_officer, next_path=next_path).headers["location"] == next_path


def test_an_htmx_request_without_login_is_told_to_redirect(client: TestClient) -> None:
    response = client.post("/persons/1/reveal", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login"


def test_the_login_page_is_chinese(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert "用户名" in page.text and "密码" in page.text and "连云港市民政局" in page.text


def test_login_succeeds_and_sets_a_strict_session_cookie(client: TestClient, county_officer: User) -> None:
    response = login(client, county_officer, next_path="/registry")
    assert response.status_code == 303
    assert response.headers["location"] == "/registry"
    cookie = next(v for k, v in response.headers.multi_items()
                  if k == "set-cookie" and v.startswith("minxin_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http in tests, cookie_secure off
    page = client.get("/registry")
    assert page.status_code == 200
    assert "t_haizhou" in page.text and "县区民政局" in page.text and "海州区" in page.text


def test_the_session_cookie_is_secure_over_https(app, county_officer: User) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        response = login(c, county_officer)
    cookie = next(v for k, v in response.headers.multi_items()
                  if k == "set-cookie" and v.startswith("minxin_session="))
    assert "Secure" in cookie


def test_login_only_follows_local_next_paths(client: TestClient, county_officer: User) -> None:
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)",
                 "/ok\r\nSet-Cookie: x=1", ""):
        assert safe_next(evil) == "/", evil
    assert safe_next("/registry?q=1") == "/registry?q=1"
    assert login(client, county_officer, next_path="//evil.example/x").headers["location"] == "/"


def test_a_wrong_password_is_refused_in_chinese(client: TestClient, county_officer: User) -> None:
    response = login(client, county_officer, password="wrong-password-1")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert "minxin_session" not in client.cookies


def test_an_unknown_user_gets_the_same_message(client: TestClient) -> None:
    response = login(client, "nobody_here", password="wrong-password-1")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text


def test_repeated_failures_make_the_next_try_wait_with_a_chinese_message(
    client: TestClient, county_officer: User, session: Session,
) -> None:
    for _ in range(5):
        assert "用户名或密码错误" in login(client, county_officer, password="wrong-password-1").text
    session.expire_all()
    rows = session.execute(select(LoginThrottle)).scalars().all()
    assert {r.key: r.failures for r in rows} == {"addr:testclient": 5, "name:t_haizhou": 5}
    # The service tests count the seconds (tests/auth/test_auth.py); here: while the wait lasts, even
    # the right password is refused, before any password is checked.
    for row in rows:
        row.next_allowed_at = utcnow() + timedelta(seconds=49.5)
    session.flush()
    waiting = login(client, county_officer)
    assert waiting.status_code == 429
    assert "登录尝试过于频繁，请 50 秒后再试" in waiting.text and waiting.headers["Retry-After"] == "50"
    assert "minxin_session" not in client.cookies
    for row in rows:  # the wait has passed
        row.next_allowed_at = utcnow() - timedelta(seconds=1)
    session.flush()
    assert login(client, county_officer).status_code == 303
    actions = session.execute(select(AuditEvent.action).where(AuditEvent.actor == "t_haizhou")).scalars().all()
    assert actions.count("user.login_failed") == 5 and "user.login" in actions


def test_an_unknown_name_gets_the_same_status_and_message_as_a_wrong_password(
    client: TestClient, county_officer: User,
) -> None:
    known = login(client, county_officer, password="wrong-password-1")
    unknown = login(client, "nobody_here", password="wrong-password-1")
    assert known.status_code == unknown.status_code == 401
    assert _error(known.text) == _error(unknown.text) == "用户名或密码错误"


def _error(html: str) -> str:
    match = re.search(r'id="login-error">([^<]*)<', html)
    assert match, "no error on the page"
    return match.group(1)


def test_login_without_the_form_token_is_refused(client: TestClient, county_officer: User) -> None:
    response = client.post("/login", data={"username": county_officer.username, "password": "x"})
    assert response.status_code == 403
    assert "已过期" in response.text


def test_logout_ends_the_session(client: TestClient, county_officer: User, session: Session) -> None:
    login(client, county_officer)
    token = csrf_from(client.get("/").text)
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    session.expire_all()
    assert session.execute(select(WebSession).where(WebSession.user_id == county_officer.id)).first() is None
    assert client.get("/registry").status_code == 303


def test_the_login_page_redirects_a_logged_in_user(client: TestClient, county_officer: User) -> None:
    login(client, county_officer)
    response = client.get("/login?next=/import")
    assert response.status_code == 303 and response.headers["location"] == "/import"
