"""The app factory, the plug-in points for domains, the string catalogue."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from tests.web.conftest import login

from minxin import domains
from minxin.auth.models import User
from minxin.registry.models import HEALTH_STATUSES
from minxin.registry.schemas import HealthStatus
from minxin.web import app as app_module
from minxin.web.i18n import EN, ZH, domain_message, gettext

SRC = Path(__file__).resolve().parents[2] / "src" / "minxin"
_KEY = re.compile(r"""_\(\s*["']([a-z_.0-9]+)["']""")


@pytest.fixture(autouse=True)
def _forget_fake_domains() -> Iterator[None]:
    yield
    for name in [n for n in sys.modules if n.startswith("mx_fake_domain")]:
        del sys.modules[name]


def _fake_domain(tmp_path: Path, *, domain_py: str, views_py: str = "") -> str:
    """A domain package `mx_fake_domain` on disk (descriptor, views, a template), importable by name."""
    package = tmp_path / "mx_fake_domain"
    (package / "templates" / "fake").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "domain.py").write_text(domain_py, encoding="utf-8")
    (package / "views.py").write_text(views_py, encoding="utf-8")
    (package / "templates" / "fake" / "page.html").write_text(
        '{% extends "base.html" %}{% block content %}<p id="fake">{{ _("fake.hello") }}</p>{% endblock %}',
        encoding="utf-8")
    return "mx_fake_domain"


FAKE_DOMAIN = """
from minxin.domains import Domain, Permission

DOMAIN = Domain(name="fake", label="测试", web=("mx_fake_domain.views",),
                permissions=(Permission("fake:read", roles=("county_officer", "city_admin")),))
"""

FAKE_VIEWS = """
from fastapi import APIRouter, Request
from fastapi.responses import Response

from minxin.web.nav import NavItem
from minxin.web.templating import render

router = APIRouter()
NAV = [NavItem(label="fake.nav", path="/fake", perm="fake:read")]
MESSAGES = {"zh": {"fake.nav": "测试模块", "fake.hello": "你好"}, "en": {"fake.nav": "Fake", "fake.hello": "Hello"}}


@router.get("/fake")
def page(request: Request) -> Response:
    return render(request, "fake/page.html")
"""


def test_a_domain_that_fails_to_import_stops_the_app_with_its_error(session: Session, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    name = _fake_domain(tmp_path, domain_py=FAKE_DOMAIN, views_py="import mx_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(domains, "INSTALLED", (*domains.INSTALLED, name))
    with pytest.raises(ModuleNotFoundError, match="mx_no_such_dependency"):
        app_module.create_app(sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint"))


def test_a_new_domain_plugs_in_routes_nav_strings_and_permissions(
        session: Session, county_officer: User, call_agent: User, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    name = _fake_domain(tmp_path, domain_py=FAKE_DOMAIN, views_py=FAKE_VIEWS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(domains, "INSTALLED", (*domains.INSTALLED, name))
    app = app_module.create_app(sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint"))
    assert [item.label for item in app.state.nav][-1] == "fake.nav"  # the last domain's entry comes last
    with TestClient(app, follow_redirects=False) as c:
        assert c.get("/fake").status_code == 303  # behind login like every page
        login(c, county_officer)
        page = c.get("/fake").text
        assert '<p id="fake">你好</p>' in page
        assert '<a href="/fake" class="active" aria-current="page">测试模块</a>' in page
    with TestClient(app, follow_redirects=False) as c:
        login(c, call_agent)  # the domain grants fake:read to no call agent → no menu entry
        assert 'href="/fake"' not in c.get("/").text


def test_every_key_the_templates_use_is_in_both_catalogues(app) -> None:  # type: ignore[no-untyped-def]
    used: set[str] = {item.label for item in app.state.nav}  # the app merged every domain's MESSAGES
    for path in SRC.rglob("templates/**/*.html"):
        used |= {k for k in _KEY.findall(path.read_text(encoding="utf-8")) if not k.endswith(".")}
    for path in SRC.rglob("*.py"):
        used |= set(re.findall(r"""gettext\(\s*["']([a-z_.0-9]+)["']""", path.read_text(encoding="utf-8")))
    dynamic = {k for k in ZH if k.startswith(("role.", "household.source.", "error."))}
    missing_zh = sorted(k for k in used if k not in ZH)
    missing_en = sorted(k for k in used | dynamic if k not in EN)
    assert not missing_zh, missing_zh
    assert not missing_en, missing_en
    assert set(ZH) == set(EN)


def test_service_messages_show_the_part_in_the_ui_language() -> None:
    message = "户不存在：5 (no such household)"
    assert domain_message(message) == "户不存在：5"
    assert domain_message(message, lang="en") == "no such household"
    assert domain_message("用户名或密码错误") == "用户名或密码错误"
    assert gettext("import.ok", households=2, persons=5) == "导入成功：2 户，5 人。"
    assert gettext("no.such.key") == "no.such.key"


def test_the_api_health_statuses_match_the_model() -> None:
    assert set(HealthStatus.__args__) == set(HEALTH_STATUSES)  # type: ignore[attr-defined]


def test_the_english_ui_is_a_cookie_away(client: TestClient, county_officer: User) -> None:
    login(client, county_officer)
    switched = client.get("/lang/en?next=/registry")
    assert switched.status_code == 303 and switched.headers["location"] == "/registry"
    page = client.get("/registry").text
    assert "Registry search" in page and 'lang="en"' in page
    assert client.get("/lang/en?next=//evil.example").headers["location"] == "/"
