"""CSRF on every state change, security headers on every answer, no CDN, no traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from tests.factories import household
from tests.web.conftest import logged_in, login

from minxin.auth.models import User
from minxin.auth.service import create_token
from minxin.web.app import create_app

SRC = Path(__file__).resolve().parents[2] / "src" / "minxin"


def test_a_form_post_without_the_csrf_token_is_refused(client: TestClient, county_officer: User,
                                                       session: Session) -> None:
    h = household(session, county_officer)
    login(client, county_officer)
    response = client.post(f"/households/{h.id}/income", data={"monthly_income": "100"})
    assert response.status_code == 403
    assert "页面已过期" in response.text


def test_a_wrong_csrf_token_is_refused(client: TestClient, county_officer: User, session: Session) -> None:
    h = household(session, county_officer)
    login(client, county_officer)
    response = client.post(f"/persons/{h.members[0].id}/reveal", headers={"X-CSRF-Token": "forged"})
    assert response.status_code == 403


def test_logout_needs_the_csrf_token(client: TestClient, county_officer: User) -> None:
    login(client, county_officer)
    assert client.post("/logout").status_code == 403
    assert client.get("/registry").status_code == 200  # still logged in


def test_the_csrf_header_works_for_htmx(client: TestClient, county_officer: User, session: Session) -> None:
    h = household(session, county_officer)
    token = logged_in(client, county_officer)
    response = client.post(f"/persons/{h.members[0].id}/reveal",
                           headers={"X-CSRF-Token": token, "HX-Request": "true"})
    assert response.status_code == 200


def test_pages_put_the_csrf_token_on_body_for_htmx(client: TestClient, county_officer: User) -> None:
    token = logged_in(client, county_officer)
    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in client.get("/").text


def test_an_api_post_with_a_session_cookie_needs_the_csrf_header(client: TestClient, county_officer: User,
                                                                 session: Session) -> None:
    h = household(session, county_officer)
    token = logged_in(client, county_officer)
    url = f"/api/v1/persons/{h.members[0].id}/reveal"
    assert client.post(url).status_code == 403
    assert client.post(url, headers={"X-CSRF-Token": token}).status_code == 200


def test_an_api_post_with_a_bearer_token_needs_no_csrf(client: TestClient, county_officer: User,
                                                       city_admin: User, session: Session) -> None:
    h = household(session, county_officer)
    bearer = create_token(session, actor=city_admin, user=county_officer)
    response = client.post(f"/api/v1/persons/{h.members[0].id}/reveal",
                           headers={"Authorization": f"Bearer {bearer}"})
    assert response.status_code == 200


@pytest.mark.parametrize("url", ["/login", "/", "/api/v1/me", "/static/css/app.css", "/no-such-page"])
def test_security_headers_are_on_every_answer(client: TestClient, url: str) -> None:
    headers = client.get(url).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_pages_are_not_cached_but_static_files_may_be(client: TestClient) -> None:
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    assert "Cache-Control" not in client.get("/static/js/app.js").headers


def test_templates_have_no_inline_script_no_inline_style_and_no_cdn() -> None:
    for path in SRC.rglob("templates/**/*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"inline script in {path}"
        assert "<style" not in text and " style=" not in text, f"inline style in {path}"
        assert not re.search(r"(src|href)=\"(https?:)?//", text), f"external resource in {path}"


def test_the_vendored_libraries_are_served_from_the_package(client: TestClient) -> None:
    for path in ("vendor/htmx.min.js", "vendor/echarts.min.js", "vendor/swagger-ui/swagger-ui-bundle.js"):
        response = client.get(f"/static/{path}")
        assert response.status_code == 200 and len(response.content) > 10_000


def test_an_unexpected_error_gives_a_chinese_500_without_traceback(session: Session) -> None:
    boom = APIRouter()

    @boom.get("/boom")
    def _boom() -> None:
        raise RuntimeError("secret internal detail")

    @boom.get("/api/v1/boom")
    def _api_boom() -> None:
        raise RuntimeError("secret internal detail")

    app = create_app(sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint"))
    app.include_router(boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        page = c.get("/boom")
        api = c.get("/api/v1/boom")
    assert page.status_code == 500 and "系统内部错误" in page.text
    assert "secret internal detail" not in page.text and "Traceback" not in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    assert api.status_code == 500 and api.json() == {"detail": "系统内部错误"}


def test_an_id_past_the_integer_range_is_a_plain_404(client, session, county_officer):  # type: ignore[no-untyped-def]
    from tests.web.conftest import logged_in

    logged_in(client, county_officer)
    assert client.get("/households/99999999999").status_code == 404
