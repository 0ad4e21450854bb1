"""The faces of import runs: the web import page and the API record their runs; the run pages show, download
and resolve them, within the user's scope (another county: 404)."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.hostile_files import deflate_bomb
from tests.registry.test_import_runs import bad_household_file, households, runs
from tests.web.conftest import csv_bytes, household_rows, logged_in
from tests.web.test_api import bearer

from minxin.auth.models import AuditEvent, User
from minxin.infra.settings import get_settings
from minxin.registry.importer import import_households
from minxin.web.app import create_app


def test_the_web_pages_record_show_download_and_resolve(client: TestClient, session: Session,
                                                        county_officer: User) -> None:
    token = logged_in(client, county_officer)
    before = households(session)
    page = client.post("/import", data={"csrf_token": token},
                       files={"file": ("web.csv", bad_household_file(), "text/csv")})
    assert page.status_code == 422
    assert households(session) == before
    run = runs(session, filename="web.csv")[0]
    assert run.status == "failed"
    refused = client.post("/import", data={"csrf_token": token},
                          files={"file": ("bomb.xlsx", deflate_bomb(), "application/octet-stream")})
    assert refused.status_code == 422 and runs(session, filename="bomb.xlsx")[0].status == "refused"
    home = client.get("/")
    assert "待处理导入错误" in home.text and f"/imports/{run.id}" in home.text
    shown = client.get(f"/imports/{run.id}")
    assert shown.status_code == 200
    assert "web.csv" in shown.text and "标记为已处理" in shown.text and 'href="/import"' in shown.text
    assert "身份证号" in shown.text
    listed = client.get("/imports?status=open")
    assert listed.status_code == 200 and "web.csv" in listed.text and "bomb.xlsx" in listed.text
    assert "web.csv" not in client.get("/imports?status=stored").text
    sheet = client.get(f"/imports/{run.id}/errors.csv")
    assert sheet.status_code == 200 and sheet.content.startswith(b"\xef\xbb\xbf")
    assert "身份证号" in sheet.content.decode("utf-8-sig")
    xlsx = client.get(f"/imports/{run.id}/errors.xlsx")
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[0] == ("行号", "列", "原因") and rows[1][0] == 3
    assert client.get(f"/imports/{run.id}/errors.pdf").status_code in (404, 422)
    done = client.post(f"/imports/{run.id}/resolve", data={"csrf_token": token})
    assert done.status_code == 303
    assert "已处理" in client.get(f"/imports/{run.id}").text
    assert client.post(f"/imports/{run.id}/resolve", data={}).status_code == 403  # no CSRF token
    assert session.execute(select(func.count()).select_from(AuditEvent)
                           .where(AuditEvent.action == "import.resolve")).scalar_one() == 1


def test_another_county_gets_404_for_the_run_page(client: TestClient, session: Session, community_worker: User,
                                                  other_county_officer: User) -> None:
    import_households(session, actor=community_worker, data=bad_household_file(), filename="mine.csv")
    run = runs(session, filename="mine.csv")[0]
    session.commit()
    logged_in(client, other_county_officer)
    assert client.get(f"/imports/{run.id}").status_code == 404
    assert client.get(f"/imports/{run.id}/errors.csv").status_code == 404
    assert "mine.csv" not in client.get("/imports").text


def test_the_api_records_its_runs(client: TestClient, session: Session, city_admin: User,
                                  county_officer: User) -> None:
    headers = bearer(session, city_admin, county_officer)
    bad = client.post("/api/v1/imports/households", headers=headers,
                      files={"file": ("api.csv", bad_household_file(), "text/csv")})
    assert bad.status_code == 422 and "errors" in bad.json()
    good = client.post("/api/v1/imports/households", headers=headers,
                       files={"file": ("api2.csv", csv_bytes(household_rows(1)), "text/csv")})
    assert good.status_code == 200, good.text
    failed, stored = runs(session, filename="api.csv")[0], runs(session, filename="api2.csv")[0]
    assert (failed.status, stored.status, failed.resolved_by_run) == ("failed", "stored", stored.id)


def test_a_file_over_the_upload_limit_is_a_refused_run(session: Session, county_officer: User,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused by the upload before any importer reads it, and recorded all the same (not a 500)."""
    monkeypatch.setenv("MINXIN_MAX_UPLOAD_BYTES", str(64 * 1024))
    get_settings.cache_clear()
    try:
        app = create_app(sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint"))
        with TestClient(app, follow_redirects=False) as c:
            token = logged_in(c, county_officer)
            over = c.post("/import", data={"csrf_token": token},
                          files={"file": ("over.csv", b"x" * (100 * 1024), "text/csv")})
            assert over.status_code == 422 and "文件过大" in over.text
            headers = bearer(session, county_officer, county_officer)
            api = c.post("/api/v1/imports/households", headers=headers,
                         files={"file": ("over-api.csv", b"x" * (100 * 1024), "text/csv")})
            assert api.status_code == 422
    finally:
        get_settings.cache_clear()
    for name in ("over.csv", "over-api.csv"):
        run = runs(session, filename=name)[0]
        assert run.status == "refused" and "文件过大" in (run.reason or "")


def test_the_other_import_faces_record_their_runs(client: TestClient, session: Session, city_admin: User,
                                                  county_officer: User) -> None:
    """The veterans' import page, the children's API and the medical import page record their refusals."""
    token = logged_in(client, county_officer)
    vet = client.post("/veterans/import", data={"csrf_token": token},
                      files={"file": ("优抚.csv", "姓名,身份证号\n张三,1\n".encode(), "text/csv")})
    assert vet.status_code == 422
    med = client.post("/medical/import", data={"csrf_token": token},
                      files={"file": ("结算.csv", "记录号,身份证号\nA,B\n".encode(), "text/csv")})
    assert med.status_code == 422
    kids = client.post("/api/v1/children/import", headers=bearer(session, city_admin, county_officer),
                       files={"file": ("儿童.csv", "姓名\n张三\n".encode(), "text/csv")})
    assert kids.status_code == 422
    assert [(r.kind, r.status) for r in runs(session) if r.filename in ("优抚.csv", "结算.csv", "儿童.csv")] == [
        ("veterans", "refused"), ("medical", "refused"), ("children", "refused")]
