"""The same refusals on every face: the JSON API, the pages and the command line.

A 5,000-character 户编号, a name with a direction override, a person or 户编号 of another county, a
search for `%`: each is refused or answered alike whether it comes as JSON, a form or a file.
"""

from __future__ import annotations

import io
import re
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.factories import household, new_id
from tests.web.conftest import csv_bytes, household_rows, logged_in, xlsx_bytes
from tests.web.test_api import bearer, new_household

from minxin.auth.models import AuditEvent, User
from minxin.core.masking import mask_id
from minxin.registry.models import Household

OUTSIDE = "已在其他辖区登记"
LONG_NO = "H" * 5000


def _count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Household)).scalar_one()


def _upload(client: TestClient, token: str, data: bytes, name: str = "households.csv"):  # type: ignore[no-untyped-def]
    return client.post("/import", data={"csrf_token": token}, files={"file": (name, data, "text/csv")})


# ---- a 5,000-character 户编号 ------------------------------------------------------------------------

def test_the_api_refuses_a_five_thousand_character_household_number(client: TestClient, session: Session,
                                                                    city_admin: User, county_officer: User) -> None:
    before = _count(session)
    r = client.post("/api/v1/households", json=new_household(household_no=LONG_NO),
                    headers=bearer(session, city_admin, county_officer))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "household_no"
    rows = household_rows(1)
    for row in rows:
        row[0] = LONG_NO
    r = client.post("/api/v1/imports/households", headers=bearer(session, city_admin, county_officer),
                    files={"file": ("h.csv", csv_bytes(rows), "text/csv")})
    assert r.status_code == 422
    assert {(e["row"], e["column"]) for e in r.json()["errors"]} == {(2, "户编号"), (3, "户编号")}
    assert _count(session) == before


def test_the_import_page_refuses_a_five_thousand_character_household_number(client: TestClient, session: Session,
                                                                           county_officer: User) -> None:
    rows = household_rows(1)
    for row in rows:
        row[0] = LONG_NO
    token = logged_in(client, county_officer)
    before = _count(session)
    r = _upload(client, token, csv_bytes(rows))
    assert r.status_code == 422
    assert '<td class="num">2</td><td>户编号</td>' in r.text and "最多 32" in r.text
    assert LONG_NO not in r.text  # the page names the limit, it does not echo the 5,000 characters
    assert _count(session) == before


def test_the_application_page_refuses_a_five_thousand_character_household_number(
        client: TestClient, county_officer: User) -> None:
    token = logged_in(client, county_officer)
    r = client.post("/cases", data={"csrf_token": token, "program": "dibao", "household_no": LONG_NO})
    assert r.status_code == 422 and "户编号过长" in r.text


@pytest.mark.parametrize("name", ["王\u202e强", "王\u200d强", "王\x00强", "王\x07强"])
def test_the_api_refuses_control_direction_and_invisible_characters_in_names(
        client: TestClient, session: Session, city_admin: User, county_officer: User, name: str) -> None:
    body = new_household()
    body["members"][0]["name"] = name
    r = client.post("/api/v1/households", json=body, headers=bearer(session, city_admin, county_officer))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "name"


def test_the_api_refuses_a_direction_override_in_the_address(client: TestClient, session: Session,
                                                             city_admin: User, county_officer: User) -> None:
    r = client.post("/api/v1/households", json=new_household(address="新海路\u202e1号"),
                    headers=bearer(session, city_admin, county_officer))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "address"


# ---- out-of-scope existence -----------------------------------------------------------------------

def test_the_api_refuses_a_person_of_another_county_without_saying_where(
        client: TestClient, session: Session, city_admin: User, county_officer: User,
        other_county_officer: User) -> None:
    theirs = household(session, county_officer, members=1, no="HZAPI00001")
    head = theirs.members[0]
    body = new_household(region_code="320707100001")
    body["members"][1]["id_number"] = head.id_number
    r = client.post("/api/v1/households", json=body, headers=bearer(session, city_admin, other_county_officer))
    assert r.status_code == 409
    detail = str(r.json())
    assert OUTSIDE in detail
    for secret in ("HZAPI00001", theirs.region_code, mask_id(head.id_number), head.id_number[-4:]):
        assert secret not in detail
    r = client.post("/api/v1/households", json=new_household(household_no="HZAPI00001", region_code="320707100001"),
                    headers=bearer(session, city_admin, other_county_officer))
    assert r.status_code == 409 and OUTSIDE in str(r.json()) and theirs.region_code not in str(r.json())


def test_the_api_and_page_imports_refuse_a_person_of_another_county_without_saying_where(
        client: TestClient, session: Session, city_admin: User, county_officer: User,
        other_county_officer: User) -> None:
    theirs = household(session, county_officer, members=1, no="HZIMP00001")
    rows = household_rows(1, community="320707100001", prefix="G")
    rows[1][2] = theirs.members[0].id_number
    r = client.post("/api/v1/imports/households", headers=bearer(session, city_admin, other_county_officer),
                    files={"file": ("h.xlsx", xlsx_bytes(rows), "application/octet-stream")})
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert error["row"] == 3 and OUTSIDE in error["reason"] and "HZIMP00001" not in error["reason"]
    token = logged_in(client, other_county_officer)
    page = client.post("/import", data={"csrf_token": token},
                       files={"file": ("h.xlsx", xlsx_bytes(rows), "application/octet-stream")})
    assert page.status_code == 422 and OUTSIDE in page.text and "HZIMP00001" not in page.text


# ---- search ----------------------------------------------------------------------------------------

def test_a_search_for_percent_returns_nobody_on_the_api_and_the_page(client: TestClient, session: Session,
                                                                    city_admin: User, county_officer: User) -> None:
    h = household(session, county_officer, members=2)
    r = client.get("/api/v1/persons", params={"q": "%"}, headers=bearer(session, city_admin, county_officer))
    assert r.status_code == 200 and r.json()["total"] == 0
    r = client.get("/api/v1/persons", params={"q": "_"}, headers=bearer(session, city_admin, county_officer))
    assert r.json()["total"] == 0
    logged_in(client, county_officer)
    page = client.get("/registry", params={"q": "%"})
    assert page.status_code == 200 and h.members[0].name[0] + "*" not in page.text


# ---- the import error sheet ----------------------------------------------------------------------------

@pytest.fixture
def sheet_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Error sheets under this test's own temporary directory (not the machine's shared one)."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path / "minxin-import-errors"


def _bad_rows() -> list[list[object]]:
    rows = household_rows(1)
    rows[0][3] = "朋友"
    return rows


def test_an_error_sheet_is_private_to_the_server_and_each_download_is_audited(
        client: TestClient, session: Session, county_officer: User, sheet_root: Path) -> None:
    token = logged_in(client, county_officer)
    page = _upload(client, token, xlsx_bytes(_bad_rows()), "h.xlsx")
    link = re.search(r'href="/import/errors/([^"]+)\.xlsx"', page.text)
    assert link
    sheet_token = link.group(1)
    path = sheet_root / str(county_officer.id) / f"{sheet_token}.xlsx"
    assert stat.S_IMODE(sheet_root.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    def downloads() -> list[AuditEvent]:
        return list(session.execute(select(AuditEvent).where(AuditEvent.action == "import.errors_download",
                                                             AuditEvent.actor == county_officer.username)
                                    ).scalars())

    assert downloads() == []
    r = client.get(f"/import/errors/{sheet_token}.xlsx")
    assert r.status_code == 200
    from openpyxl import load_workbook

    assert load_workbook(io.BytesIO(r.content)).active["A1"].value == "户编号"
    [entry] = downloads()
    assert entry.entity == "import_errors" and entry.entity_id == sheet_token[:16]
    # A download manager resuming the same download is not a second one.
    assert client.get(f"/import/errors/{sheet_token}.xlsx", headers={"Range": "bytes=100-"}).status_code == 206
    assert len(downloads()) == 1
    assert client.get(f"/import/errors/{sheet_token}.xlsx").status_code == 200
    assert len(downloads()) == 2


def test_an_error_sheet_directory_left_open_is_closed_again(client: TestClient, county_officer: User,
                                                            sheet_root: Path) -> None:
    sheet_root.mkdir(mode=0o755)
    sheet_root.chmod(0o755)
    token = logged_in(client, county_officer)
    assert _upload(client, token, xlsx_bytes(_bad_rows()), "h.xlsx").status_code == 422
    assert stat.S_IMODE(sheet_root.stat().st_mode) == 0o700


def test_a_linked_error_sheet_directory_is_not_used_and_the_errors_still_show(
        client: TestClient, county_officer: User, sheet_root: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    sheet_root.symlink_to(elsewhere)  # planted by someone before the server made its own
    token = logged_in(client, county_officer)
    page = _upload(client, token, xlsx_bytes(_bad_rows()), "h.xlsx")
    assert page.status_code == 422 and "与户主关系" in page.text
    assert 'id="error-sheet"' not in page.text
    assert list(elsewhere.iterdir()) == []


# ---- the command line ------------------------------------------------------------------------------

def test_the_cli_import_refuses_a_person_of_another_county_without_saying_where(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    db = tmp_path / "cli.db"
    env = {**os.environ, "MINXIN_DATABASE_URL": f"sqlite:///{db}"}

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "minxin.cli", *args], capture_output=True, text=True, env=env,
                              input=stdin, timeout=120, check=False)

    assert run("init").returncode == 0
    assert run("user", "add", "ganyu1", "--role", "county_officer", "--scope", "320707", "--password-stdin",
               stdin="Strong-pass1\n").returncode == 0
    number = new_id()
    haizhou = tmp_path / "hz.csv"
    haizhou.write_bytes(csv_bytes([["HZCLI0001", "张三", number, "户主", "320706006001", "城镇", "0", None, None]]))
    assert run("import", "households", str(haizhou)).returncode == 0
    ganyu = tmp_path / "gy.csv"
    ganyu.write_bytes(csv_bytes([["GYCLI0001", "张三", number, "户主", "320707100001", "城镇", "0", None, None],
                                 ["HZCLI0001", "李四", new_id(), "户主", "320707100001", "城镇", "0", None, None]]))
    r = run("import", "households", str(ganyu), "--as", "ganyu1")
    assert r.returncode == 1
    assert f"row 2, column 身份证号: 此人{OUTSIDE}" in r.stdout
    assert f"row 3, column 户编号: 户编号{OUTSIDE}" in r.stdout
    assert "320706006001" not in r.stdout and mask_id(number) not in r.stdout
