"""医疗救助 pages: import with results and errors, the scoped list with explanations, exports, refusals."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.factories import active_case, household
from tests.web.conftest import csrf_from, logged_in

from minxin.assistance.medical import models as _medical_models  # noqa: F401 - registers the table
from minxin.assistance.medical.importer import HEADERS
from minxin.assistance.medical.models import MedicalRecord
from minxin.assistance.medical.service import EXPORT_HEADERS
from minxin.web import app as app_module


@pytest.fixture
def client(session: Session) -> Iterator[TestClient]:
    """The app over the test's transaction (the assistance domain serves the medical pages)."""
    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint",
                           expire_on_commit=False)
    app = app_module.create_app(factory)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


@pytest.fixture
def member(session, county_officer):
    hh = household(session, county_officer, members=2)
    active_case(session, hh, start="2012-01")
    return hh.members[1]


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADERS)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _upload(client: TestClient, csrf: str, data: bytes, name: str = "settlement.csv"):  # type: ignore[no-untyped-def]
    return client.post("/medical/import", data={"csrf_token": csrf}, files={"file": (name, data, "text/csv")})


def test_an_import_shows_its_outcome_and_the_not_eligible(client, session, county_officer, member):
    outsider = household(session, county_officer, members=1).members[0]
    csrf = logged_in(client, county_officer)
    page = client.get("/medical")
    assert page.status_code == 200 and 'action="/medical/import"' in page.text and 'href="/medical"' in page.text
    res = _upload(client, csrf, _csv([["W1", member.id_number, "2012-03-01", "门诊", "1500", "900", "0", "1500"],
                                      ["W2", outsider.id_number, "2012-03-02", "门诊", "100", "0", "0", "100"]]))
    assert res.status_code == 200, res.text
    assert "新增 2 条，跳过已导入 0 条；救助 1 条，共 300.00 元" in res.text
    assert 'id="medical-not-eligible"' in res.text and "W2" in res.text
    assert "(1500−900−0−0)×50% = 300，年度封顶 600 已用 0，救助 300" in res.text
    assert member.id_number not in res.text  # masked in lists
    again = _upload(client, csrf, _csv([["W1", member.id_number, "2012-03-01", "门诊", "1500", "900", "0", "1500"]]))
    assert "新增 0 条，跳过已导入 1 条" in again.text


def test_a_bad_file_lists_its_errors_with_a_sheet_and_stores_nothing(client, session, county_officer, member):
    csrf = logged_in(client, county_officer)
    res = _upload(client, csrf, _csv([["B1", member.id_number, "2012-03-01", "急诊", "10", "0", "0", "20"]]))
    assert res.status_code == 422
    assert "文件有 2 处错误，未导入任何记录" in res.text and "门诊 或 住院" in res.text
    token = res.text.split('href="/import/errors/')[1].split(".xlsx")[0]
    sheet = client.get(f"/import/errors/{token}.xlsx")
    assert sheet.status_code == 200
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert rows[0][-1] == "错误" and "记录号 B1" in rows[1][-1]
    assert session.execute(select(func.count()).select_from(MedicalRecord)).scalar_one() == 0
    empty = _upload(client, csrf, b"", name="x.csv")
    assert empty.status_code == 422 and 'id="medical-file-error"' in empty.text


def test_filters_and_the_export(client, session, county_officer, member):
    csrf = logged_in(client, county_officer)
    _upload(client, csrf, _csv([["F1", member.id_number, "2012-03-01", "门诊", "100", "0", "0", "100"],
                                ["F2", member.id_number, "2012-04-01", "住院", "1000", "0", "0", "1000"]]))
    assert "F2" in client.get("/medical?kind=住院").text and "F1" not in client.get("/medical?kind=住院").text
    assert "F1" not in client.get("/medical?start=2012-03-15").text
    bad = client.get("/medical?start=2012-99-01")
    assert bad.status_code == 422 and 'id="medical-filter-error"' in bad.text
    xlsx = client.get("/medical/export.xlsx?start=2012-01-01&end=2012-12-31")
    assert xlsx.status_code == 200
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert list(rows[0]) == EXPORT_HEADERS and [r[0] for r in rows[1:]] == ["F1", "F2"]
    assert rows[1][1] == member.id_number
    exported = client.get("/medical/export.csv?start=2012-04-01&end=2012-04-30").content
    assert exported.startswith(b"\xef\xbb\xbf")
    text = exported.decode("utf-8-sig")
    assert [r[0] for r in csv.reader(io.StringIO(text))][1:] == ["F2"]
    assert client.get("/medical/export.pdf").status_code == 422


def test_who_may_do_what(client, session, county_officer, other_county_officer, community_worker, auditor, member):
    csrf = logged_in(client, county_officer)
    _upload(client, csrf, _csv([["记录V1号", member.id_number, "2012-03-01", "门诊", "100", "0", "0", "100"]]))
    client.cookies.clear()
    logged_in(client, other_county_officer)
    assert "记录V1号" not in client.get("/medical").text  # another county's records are not listed
    client.cookies.clear()
    csrf = logged_in(client, community_worker)
    page = client.get("/medical")
    assert page.status_code == 200 and 'action="/medical/import"' not in page.text and "记录V1号" in page.text
    assert _upload(client, csrf, _csv([["V2", member.id_number, "2012-03-01", "门诊", "1", "0", "0", "1"]])
                   ).status_code == 403
    client.cookies.clear()
    logged_in(client, auditor)
    assert 'id="medical-export-xlsx"' not in client.get("/medical").text
    assert client.get("/medical/export.xlsx").status_code == 403


def test_posting_without_the_csrf_token_is_refused(client, county_officer, member):
    logged_in(client, county_officer)
    res = client.post("/medical/import", files={"file": ("s.csv", _csv([]), "text/csv")})
    assert res.status_code == 403


def test_the_page_reads_in_english(client, county_officer):
    logged_in(client, county_officer)
    client.cookies.set("minxin_lang", "en")
    page = client.get("/medical")
    assert "Medical assistance" in page.text and csrf_from(page.text)
