"""The benefit engine's JSON API with bearer tokens: who may, who may not, and bad bodies."""

from __future__ import annotations

import pytest
from tests.factories import active_case, household

from minxin.auth.service import create_token


@pytest.fixture
def bearer(session, city_admin):
    def make(user):
        return {"Authorization": f"Bearer {create_token(session, actor=city_admin, user=user)}"}
    return make


def test_a_case_moves_through_the_api_and_lists_its_allowed_steps(client, session, bearer, community_worker,
                                                                  town_officer):
    hh = household(session, community_worker, members=2, income_yuan=200)
    r = client.post("/api/v1/cases", json={"household_id": hh.id, "bank_account": "6228480012345678901"},
                    headers=bearer(community_worker))
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "applied" and case["allowed_steps"] == ["investigate"]
    assert case["head_name"].endswith("*")
    r = client.post(f"/api/v1/cases/{case['id']}/steps", json={"action": "investigate", "income_yuan": "150"},
                    headers=bearer(community_worker))
    assert r.status_code == 200 and r.json()["status"] == "investigated"
    r = client.post(f"/api/v1/cases/{case['id']}/steps", json={"action": "approve", "spot_checked": True},
                    headers=bearer(town_officer))
    assert r.status_code == 403
    r = client.post(f"/api/v1/cases/{case['id']}/steps", json={"action": "notice"}, headers=bearer(town_officer))
    assert r.status_code == 409  # reviewed comes first
    events = client.get(f"/api/v1/cases/{case['id']}", headers=bearer(town_officer)).json()["events"]
    assert [e["to_status"] for e in events] == ["applied", "investigated"]


def test_cases_of_another_county_are_not_found(client, session, bearer, county_officer, other_county_officer):
    case = active_case(session, household(session, county_officer, members=1))
    assert client.get(f"/api/v1/cases/{case.id}", headers=bearer(county_officer)).status_code == 200
    assert client.get(f"/api/v1/cases/{case.id}", headers=bearer(other_county_officer)).status_code == 404
    listed = client.get("/api/v1/cases", headers=bearer(other_county_officer)).json()
    assert case.id not in [c["id"] for c in listed["items"]]


def test_a_bad_body_names_the_field(client, bearer, county_officer):
    r = client.post("/api/v1/cases/1/steps", json={"action": "fly"}, headers=bearer(county_officer))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "action"
    r = client.post("/api/v1/standards", json={"program": "dibao", "region_code": "320706", "category": "城镇",
                                                "amount_yuan": "-5", "effective": "2012-07-01"},
                    headers=bearer(county_officer))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "amount"
    r = client.post("/api/v1/cycles", json={"program": "dibao", "period": "2012-13"}, headers=bearer(county_officer))
    assert r.status_code == 422


def test_a_cycle_runs_and_is_approved_by_someone_else(client, session, bearer, county_officer, city_admin):
    active_case(session, household(session, county_officer, members=3, income_yuan=300))
    r = client.post("/api/v1/cycles", json={"program": "dibao", "period": "2012-07"}, headers=bearer(county_officer))
    assert r.status_code == 200, r.text
    cycle = r.json()
    assert cycle["cases"] == 1 and cycle["total_fen"] == 110300 and cycle["by_county"][0]["county"] == "320706"
    same = client.post(f"/api/v1/cycles/{cycle['cycle_id']}/approve", headers=bearer(county_officer))
    assert same.status_code == 409
    ok = client.post(f"/api/v1/cycles/{cycle['cycle_id']}/approve", headers=bearer(city_admin))
    assert ok.status_code == 200 and ok.json()["status"] == "approved"


def test_standards_are_read_by_staff_and_set_by_county_officers(client, bearer, county_officer, community_worker):
    r = client.get("/api/v1/standards/in-force", params={"program": "dibao", "region": "320706",
                                                          "period": "2012-07", "category": "城镇"},
                   headers=bearer(community_worker))
    assert r.status_code == 200 and r.json()["amount_fen"] == 46000
    body = {"program": "dibao", "region_code": "320706", "category": "城镇", "amount_yuan": "480",
            "effective": "2013-01-01"}
    assert client.post("/api/v1/standards", json=body, headers=bearer(community_worker)).status_code == 403
    r = client.post("/api/v1/standards", json=body, headers=bearer(county_officer))
    assert r.status_code == 201 and r.json()["amount_fen"] == 48000
    assert client.get("/api/v1/standards").status_code == 401
