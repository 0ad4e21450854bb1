"""The import page: template, upload, errors with a downloadable sheet, refusals, bad files."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.web.conftest import csv_bytes, household_rows, logged_in, login, xlsx_bytes

from minxin.auth.models import User
from minxin.infra.settings import get_settings
from minxin.registry.importer import HEADERS
from minxin.registry.models import Household
from minxin.web.app import create_app

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(client: TestClient, token: str, data: bytes, name: str = "households.xlsx", *,
           dry_run: bool = False):  # type: ignore[no-untyped-def]
    form = {"csrf_token": token, **({"dry_run": "true"} if dry_run else {})}
    return client.post("/import", data=form, files={"file": (name, data, "application/octet-stream")})


def households_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Household)).scalar_one()


def test_the_import_page_offers_the_form_and_the_template(client: TestClient, county_officer: User) -> None:
    login(client, county_officer)
    page = client.get("/import")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text and "仅检查" in page.text
    template = client.get("/import/template.xlsx")
    assert template.status_code == 200 and template.headers["content-type"] == XLSX
    headers = next(load_workbook(io.BytesIO(template.content)).active.iter_rows(values_only=True))
    assert list(headers) == HEADERS


@pytest.mark.parametrize("role", ["call_agent", "auditor"])
def test_roles_without_import_permission_are_refused(client: TestClient, role: str,
                                                     request: pytest.FixtureRequest, session: Session) -> None:
    user: User = request.getfixturevalue(role)
    token = logged_in(client, user)
    assert client.get("/import").status_code == 403
    assert client.get("/import/template.xlsx").status_code == 403
    refused = upload(client, token, xlsx_bytes(household_rows(1)))
    assert refused.status_code == 403 and "无此权限" in refused.text
    assert households_count(session) == 0


def test_a_good_file_stores_the_households(client: TestClient, county_officer: User, session: Session) -> None:
    token = logged_in(client, county_officer)
    before = households_count(session)
    response = upload(client, token, xlsx_bytes(household_rows(3)))
    assert response.status_code == 200
    assert "导入成功：3 户，6 人" in response.text
    assert households_count(session) == before + 3


def test_check_only_reports_the_counts_and_stores_nothing(client: TestClient, county_officer: User,
                                                          session: Session) -> None:
    token = logged_in(client, county_officer)
    before = households_count(session)
    response = upload(client, token, xlsx_bytes(household_rows(2)), dry_run=True)
    assert response.status_code == 200
    assert "检查通过：共 2 户，4 人" in response.text
    assert households_count(session) == before


def test_a_file_with_mistakes_shows_the_errors_and_an_error_sheet(client: TestClient, county_officer: User,
                                                                  session: Session) -> None:
    rows = household_rows(2)
    rows[1][2] = "320706197001011235"  # bad check digit
    rows[2][4] = "320707100001"  # Ganyu: outside a Haizhou officer's scope
    token = logged_in(client, county_officer)
    before = households_count(session)
    response = upload(client, token, xlsx_bytes(rows))
    assert response.status_code == 422
    assert "未导入任何数据" in response.text
    table = response.text[response.text.index('id="import-errors"'):]
    assert "行号" in table and "列" in table and "错误原因" in table
    assert "<td class=\"num\">3</td><td>身份证号</td>" in table
    assert "<td class=\"num\">4</td><td>社区代码</td>" in table
    assert households_count(session) == before
    link = re.search(r'href="(/import/errors/[^"]+\.xlsx)"', response.text)
    assert link
    sheet = client.get(link.group(1))
    assert sheet.status_code == 200 and sheet.headers["content-type"] == XLSX
    ws = load_workbook(io.BytesIO(sheet.content)).active
    header = [c.value for c in ws[1]]
    assert header[-1] == "错误"
    reasons = [row[-1] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert reasons[1] and "身份证号" in reasons[1]
    assert reasons[0] is None


def test_only_the_uploader_may_download_the_error_sheet(app, client: TestClient, county_officer: User,  # type: ignore[no-untyped-def]
                                                        town_officer: User) -> None:
    rows = household_rows(1)
    rows[0][3] = "朋友"
    token = logged_in(client, county_officer)
    link = re.search(r'href="(/import/errors/[^"]+\.xlsx)"', upload(client, token, xlsx_bytes(rows)).text)
    assert link
    with TestClient(app, follow_redirects=False) as other:
        login(other, town_officer)
        assert other.get(link.group(1)).status_code == 404
        assert other.get("/import/errors/..%2F..%2Fetc%2Fpasswd.xlsx").status_code == 404


def test_many_errors_are_capped_at_500_on_the_page(client: TestClient, county_officer: User) -> None:
    rows = household_rows(300)
    for row in rows:
        row[5] = "外星"  # every row: bad 户籍类别
    token = logged_in(client, county_officer)
    response = upload(client, token, xlsx_bytes(rows))
    assert "文件有 600 处错误" in response.text
    assert "仅显示前 500 条" in response.text
    assert response.text.count("户籍类别必须是") == 500


@pytest.mark.parametrize(("name", "data", "message"), [
    ("empty.xlsx", b"", "文件是空的"),
    ("blank.csv", b"   \n", "文件是空的"),
    ("headers.csv", "姓名,电话\n张三,1\n".encode(), "表头不正确"),
    ("broken.xlsx", xlsx_bytes([["A1", "张三"]])[:900], "文件可能已损坏或被截断"),
    ("notes.txt.doc", b"hello", "只支持 .xlsx 和 .csv"),
    ("only-header.csv", ",".join(HEADERS).encode(), "没有数据行"),
])
def test_a_bad_file_gets_a_clear_chinese_message(client: TestClient, county_officer: User, name: str,
                                                 data: bytes, message: str) -> None:
    token = logged_in(client, county_officer)
    response = upload(client, token, data, name)
    assert response.status_code == 422
    assert message in response.text
    assert "文件无法导入" in response.text or "请选择" in response.text


def test_a_gbk_csv_is_read(client: TestClient, county_officer: User, session: Session) -> None:
    token = logged_in(client, county_officer)
    response = upload(client, token, csv_bytes(household_rows(1), encoding="gbk"), "gbk.csv")
    assert response.status_code == 200 and "导入成功：1 户，2 人" in response.text


def test_a_file_larger_than_the_importer_accepts_is_refused_in_chinese(client: TestClient,
                                                                       county_officer: User) -> None:
    token = logged_in(client, county_officer)
    just_over = b"x" * (32 * 1024 * 1024 + 100 * 1024)  # past the importer, within the request framing
    response = upload(client, token, just_over, "big.csv")
    assert response.status_code == 422
    assert "文件过大" in response.text and "请拆分后分批导入" in response.text
    fifty = upload(client, token, b"x" * (50 * 1024 * 1024), "big.csv")  # refused before it is read
    assert fifty.status_code == 413
    assert "文件过大" in fifty.text


def test_a_request_over_the_upload_limit_is_refused_with_a_chinese_413(
    session: Session, county_officer: User, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MINXIN_MAX_UPLOAD_BYTES", str(64 * 1024))
    get_settings.cache_clear()
    try:
        app = create_app(sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint"))
        with TestClient(app, follow_redirects=False) as c:
            token = logged_in(c, county_officer)
            page = c.get("/import").text
            assert "64 KB" in page
            over_body = upload(c, token, b"x" * (2 * 1024 * 1024), "big.csv")
            assert over_body.status_code == 413
            assert "上传的文件过大" in over_body.text and "64 KB" in over_body.text
            over_file = upload(c, token, b"x" * (100 * 1024), "big.csv")
            assert over_file.status_code == 422 and "文件过大" in over_file.text
    finally:
        get_settings.cache_clear()


def test_uploading_without_a_file_is_explained(client: TestClient, county_officer: User) -> None:
    token = logged_in(client, county_officer)
    response = client.post("/import", data={"csrf_token": token})
    assert response.status_code == 422 and "请选择要上传的文件" in response.text
