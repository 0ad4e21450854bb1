"""Web fixtures: the app over the test's rolled-back connection, a TestClient, and a login helper."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from tests.conftest import TEST_PASSWORD

from minxin.auth.models import User
from minxin.web.app import create_app

_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(session: Session):  # type: ignore[no-untyped-def]
    """The app with every request's session joined to the test's transaction (commits → savepoints)."""
    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint",
                           expire_on_commit=False)
    return create_app(factory)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


def csrf_from(html: str) -> str:
    match = _CSRF_INPUT.search(html)
    assert match, "page has no csrf_token field"
    return match.group(1)


def login(client: TestClient, user: User | str, password: str = TEST_PASSWORD, *, next_path: str = "/"):  # type: ignore[no-untyped-def]
    """Log in through the form (its own CSRF cookie included); returns the POST response."""
    username = user if isinstance(user, str) else user.username
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "next": next_path,
                                       "csrf_token": csrf_from(page.text)})


def logged_in(client: TestClient, user: User) -> str:
    """Log in and return the session's CSRF token (as the pages embed it)."""
    response = login(client, user)
    assert response.status_code == 303, response.text
    return csrf_from(client.get("/registry").text)


def household_rows(n_households: int = 2, *, community: str = "320706006001", prefix: str = "W") -> list[list[object]]:
    """Valid import rows: each household a head and a spouse."""
    from tests.factories import new_id

    rows: list[list[object]] = []
    for i in range(n_households):
        no = f"{prefix}{new_id()[-8:]}{i}"
        rows.append([no, "张伟", new_id(), "户主", community, "城镇", "1200.50", "13812345678", None])
        rows.append([no, "李娜", new_id(female=True), "配偶", community, "城镇", "800", None, "二级"])
    return rows


def xlsx_bytes(rows: list[list[object]], headers: list[str] | None = None) -> bytes:
    import io

    from openpyxl import Workbook

    from minxin.registry.importer import HEADERS

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(headers or HEADERS)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(rows: list[list[object]], *, encoding: str = "utf-8") -> bytes:
    import csv
    import io

    from minxin.registry.importer import HEADERS

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue().encode(encoding)
