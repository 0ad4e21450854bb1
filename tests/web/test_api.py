"""The JSON API: authentication, scope, masking, validation that names the field, imports."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import household, new_id
from tests.web.conftest import household_rows, xlsx_bytes

from minxin.auth.models import AuditEvent, User
from minxin.auth.service import create_token, revoke_token
from minxin.core.masking import mask_id, mask_name
from minxin.registry.models import Household


def bearer(session: Session, admin: User, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(session, actor=admin, user=user)}"}


def new_household(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "household_no": f"API{new_id()[-8:]}", "region_code": "320706006001", "hukou_type": "农村",
        "address": "新海街道 1 号", "phone": "13812345678",
        "members": [
            {"name": "王强", "id_number": new_id(), "relation": "户主", "monthly_income_yuan": "1200.50"},
            {"name": "赵敏", "id_number": new_id(female=True), "relation": "配偶", "monthly_income_yuan": 300,
             "disability_grade": 2, "health_status": "慢性病"},
        ],
    }
    body.update(overrides)
    return body


def test_me_answers_with_a_bearer_token(client: TestClient, session: Session, city_admin: User,
                                        county_officer: User) -> None:
    response = client.get("/api/v1/me", headers=bearer(session, city_admin, county_officer))
    assert response.status_code == 200
    me = response.json()
    assert me["username"] == "t_haizhou" and me["scope_code"] == "320706" and me["scope_name"] == "海州区"
    assert "pii:view" in me["permissions"]


def test_no_token_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "未登录或令牌无效"}


@pytest.mark.parametrize("header", ["Bearer mx_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer"])
def test_a_bad_token_is_401(client: TestClient, header: str) -> None:
    assert client.get("/api/v1/me", headers={"Authorization": header}).status_code == 401


def test_a_revoked_token_is_401(client: TestClient, session: Session, city_admin: User,
                                county_officer: User) -> None:
    plain = create_token(session, actor=city_admin, user=county_officer)
    headers = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    revoke_token(session, actor=city_admin, token_id_or_prefix=plain)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


@pytest.mark.parametrize("url", ["/api/v1/me", "/api/v1/regions", "/api/v1/stats", "/api/v1/persons",
                                 "/api/v1/households/1"])
def test_every_get_endpoint_needs_authentication(client: TestClient, url: str) -> None:
    assert client.get(url).status_code == 401


@pytest.mark.parametrize("url", ["/api/v1/households", "/api/v1/persons/1/reveal", "/api/v1/imports/households"])
def test_every_post_endpoint_needs_authentication(client: TestClient, url: str) -> None:
    assert client.post(url, json={}).status_code == 401


def test_regions_by_level(client: TestClient, session: Session, city_admin: User) -> None:
    headers = bearer(session, city_admin, city_admin)
    counties = client.get("/api/v1/regions", params={"level": "county"}, headers=headers).json()
    assert {"code": "320706", "name": "海州区"}.items() <= next(c for c in counties if c["code"] == "320706").items()
    bad = client.get("/api/v1/regions", params={"level": "planet"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "level"]


def test_stats_are_scoped(client: TestClient, session: Session, city_admin: User, county_officer: User,
                          other_county_officer: User) -> None:
    household(session, county_officer, members=3)
    body = client.get("/api/v1/stats", headers=bearer(session, city_admin, other_county_officer)).json()
    assert body["scope_code"] == "320707"
    assert all(c["code"] == "320707" for c in body["by_county"])
    mine = client.get("/api/v1/stats", headers=bearer(session, city_admin, county_officer)).json()
    assert mine["counts"]["persons"] >= 3


def test_persons_are_masked_paged_and_scoped(client: TestClient, session: Session, city_admin: User,
                                             county_officer: User, other_county_officer: User) -> None:
    h = household(session, county_officer, members=3)
    head = h.members[0]
    body = client.get("/api/v1/persons", params={"q": head.id_number, "page_size": 5},
                      headers=bearer(session, city_admin, county_officer)).json()
    assert body["total"] == 1 and body["page"] == 1 and body["page_size"] == 5 and body["pages"] == 1
    item = body["items"][0]
    assert item["id_number"] == mask_id(head.id_number) and item["name"] == mask_name(head.name)
    assert item["household_id"] == h.id and item["region_name"]
    other = client.get("/api/v1/persons", params={"q": head.id_number},
                       headers=bearer(session, city_admin, other_county_officer)).json()
    assert other["total"] == 0
    too_big = client.get("/api/v1/persons", params={"page_size": 1000},
                         headers=bearer(session, city_admin, county_officer))
    assert too_big.status_code == 422 and too_big.json()["detail"][0]["loc"] == ["query", "page_size"]


def test_a_household_is_masked_and_out_of_scope_is_404(client: TestClient, session: Session, city_admin: User,
                                                       county_officer: User, other_county_officer: User) -> None:
    h = household(session, county_officer, members=2, income_yuan=900)
    body = client.get(f"/api/v1/households/{h.id}", headers=bearer(session, city_admin, county_officer)).json()
    assert body["household_no"] == h.household_no and body["monthly_income_yuan"] == "900.00"
    assert body["per_capita_income_fen"] == 45000
    assert [m["id_number"] for m in body["members"]] == [mask_id(m.id_number) for m in h.members]
    foreign = client.get(f"/api/v1/households/{h.id}", headers=bearer(session, city_admin, other_county_officer))
    missing = client.get("/api/v1/households/999999999", headers=bearer(session, city_admin, county_officer))
    assert foreign.status_code == missing.status_code == 404


def test_creating_a_household_returns_201(client: TestClient, session: Session, city_admin: User,
                                          county_officer: User) -> None:
    body = new_household()
    response = client.post("/api/v1/households", json=body, headers=bearer(session, city_admin, county_officer))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["monthly_income_fen"] == 150050 and len(created["members"]) == 2
    assert created["phone"] == "138****5678"
    assert session.execute(select(Household).where(Household.household_no == body["household_no"])).scalar_one()


@pytest.mark.parametrize(("change", "loc"), [
    (lambda b: b["members"][0].update(id_number="320706197001011235"), ["body", "members", 0, "id_number"]),
    (lambda b: b.pop("hukou_type"), ["body", "hukou_type"]),
    (lambda b: b["members"][1].pop("name"), ["body", "members", 1, "name"]),
    (lambda b: b["members"][0].update(monthly_income_yuan="12.345"), ["body", "members", 0, "monthly_income_yuan"]),
    (lambda b: b["members"][0].update(relation="朋友"), ["body", "members", 0, "relation"]),
    (lambda b: b.update(region_code="32070600600X"), ["body", "region_code"]),
    (lambda b: b.update(members=[]), ["body", "members"]),
])
def test_a_bad_body_is_422_naming_the_field(client: TestClient, session: Session, city_admin: User,
                                            county_officer: User, change: Any, loc: list[Any]) -> None:
    body = new_household()
    change(body)
    response = client.post("/api/v1/households", json=body, headers=bearer(session, city_admin, county_officer))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_a_service_rule_is_422_naming_the_api_field(client: TestClient, session: Session, city_admin: User,
                                                    county_officer: User) -> None:
    body = new_household()
    body["members"][1]["relation"] = "户主"  # two heads
    response = client.post("/api/v1/households", json=body, headers=bearer(session, city_admin, county_officer))
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "relation"] and detail["type"] == "value_error" and "户主" in detail["msg"]


def test_a_duplicate_household_number_is_409(client: TestClient, session: Session, city_admin: User,
                                             county_officer: User) -> None:
    h = household(session, county_officer)
    response = client.post("/api/v1/households", json=new_household(household_no=h.household_no),
                           headers=bearer(session, city_admin, county_officer))
    assert response.status_code == 409 and "户编号已存在" in response.json()["detail"]


def test_a_household_outside_the_scope_cannot_be_created(client: TestClient, session: Session, city_admin: User,
                                                         other_county_officer: User) -> None:
    response = client.post("/api/v1/households", json=new_household(),
                           headers=bearer(session, city_admin, other_county_officer))
    assert response.status_code == 404


@pytest.mark.parametrize("role", ["call_agent", "auditor"])
def test_read_only_roles_cannot_create_reveal_or_import(client: TestClient, session: Session, city_admin: User,
                                                        county_officer: User, role: str,
                                                        request: pytest.FixtureRequest) -> None:
    h = household(session, county_officer)
    headers = bearer(session, city_admin, request.getfixturevalue(role))
    assert client.get(f"/api/v1/households/{h.id}", headers=headers).status_code == 200
    assert client.post("/api/v1/households", json=new_household(), headers=headers).status_code == 403
    assert client.post(f"/api/v1/persons/{h.members[0].id}/reveal", headers=headers).status_code == 403
    files = {"file": ("h.xlsx", xlsx_bytes(household_rows(1)), "application/octet-stream")}
    assert client.post("/api/v1/imports/households", files=files, headers=headers).status_code == 403


def test_reveal_returns_the_number_and_is_audited(client: TestClient, session: Session, city_admin: User,
                                                  county_officer: User, other_county_officer: User) -> None:
    h = household(session, county_officer)
    person = h.members[1]
    response = client.post(f"/api/v1/persons/{person.id}/reveal", json={"reason": "核对低保申请"},
                           headers=bearer(session, city_admin, county_officer))
    assert response.status_code == 200 and response.json() == {"id_number": person.id_number}
    entry = session.execute(select(AuditEvent).where(AuditEvent.action == "person.view_id")).scalar_one()
    assert entry.entity_id == str(person.id) and "核对低保申请" in entry.detail
    foreign = client.post(f"/api/v1/persons/{person.id}/reveal", headers=bearer(session, city_admin,
                                                                                 other_county_officer))
    assert foreign.status_code == 404


def test_an_import_reports_counts_or_every_error(client: TestClient, session: Session, city_admin: User,
                                                 county_officer: User) -> None:
    headers = bearer(session, city_admin, county_officer)
    good = client.post("/api/v1/imports/households", headers=headers, data={"dry_run": "true"},
                       files={"file": ("h.xlsx", xlsx_bytes(household_rows(2)), "application/octet-stream")})
    assert good.status_code == 200 and good.json() == {"households": 2, "persons": 4, "dry_run": True}
    stored = client.post("/api/v1/imports/households", headers=headers,
                         files={"file": ("h.xlsx", xlsx_bytes(household_rows(2)), "application/octet-stream")})
    assert stored.json() == {"households": 2, "persons": 4, "dry_run": False}
    rows = household_rows(1)
    rows[0][2] = "123"
    bad = client.post("/api/v1/imports/households", headers=headers,
                      files={"file": ("h.csv", xlsx_bytes(rows), "application/octet-stream")})
    assert bad.status_code == 422
    assert bad.json()["errors"][0] == {"row": 2, "column": "身份证号", "reason": bad.json()["errors"][0]["reason"]}
    empty = client.post("/api/v1/imports/households", headers=headers,
                        files={"file": ("h.csv", b"", "text/csv")})
    assert empty.status_code == 422 and empty.json()["detail"][0]["loc"] == ["body", "file"]
    missing = client.post("/api/v1/imports/households", headers=headers, data={"dry_run": "true"})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "file"]


def test_the_openapi_document_and_docs_page_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/persons" in spec["paths"] and "/registry" not in spec["paths"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text.lower()


def test_malformed_json_is_422_not_500(client: TestClient, session: Session, city_admin: User,
                                       county_officer: User) -> None:
    headers = {**bearer(session, city_admin, county_officer), "Content-Type": "application/json"}
    response = client.post("/api/v1/households", content=b"{not json", headers=headers)
    assert response.status_code == 422


def test_an_import_request_without_a_file_is_a_422_in_a_documented_shape(client: TestClient, session: Session,
                                                                         city_admin: User) -> None:
    """Found by schemathesis: the 422 named only the row errors' shape, not the unparsable request's."""
    from minxin.registry.schemas import FieldErrorsOut

    response = client.post("/api/v1/imports/households", headers=bearer(session, city_admin, city_admin),
                           files={"file": (None, "null"), "dry_run": (None, "{}")})
    assert response.status_code == 422
    body = FieldErrorsOut.model_validate(response.json())
    assert {tuple(e.loc) for e in body.detail} >= {("body", "file"), ("body", "dry_run")}
    documented = client.get("/openapi.json").json()["paths"]["/api/v1/imports/households"]["post"]["responses"]
    shapes = {s["$ref"].rsplit("/", 1)[-1] for s in documented["422"]["content"]["application/json"]["schema"]["anyOf"]}
    assert shapes == {"ImportErrorsOut", "FieldErrorsOut"}
