"""The call API's contract: POST /api/v1/calls (201, 200 for a repeat, unknown callers), GET the timeline,
agent actions, refusals as 4xx with Chinese messages and never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import GANYU, make_user
from tests.factories import elderly_person

from minxin.auth.models import User
from minxin.auth.service import create_token
from minxin.eldercare.models import Call


@pytest.fixture
def app(session: Session):  # type: ignore[no-untyped-def]
    from sqlalchemy.orm import sessionmaker

    from minxin.web.app import create_app

    return create_app(sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint",
                                   expire_on_commit=False))


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


def bearer(session: Session, user: User) -> dict[str, str]:
    from minxin.auth.service import ensure_system_user

    return {"Authorization": f"Bearer {create_token(session, actor=ensure_system_user(session), user=user)}"}


def test_a_call_is_201_with_id_and_person_and_a_repeat_is_200_with_the_same_id(client, session, county_officer,
                                                                              call_agent):
    p = elderly_person(session, county_officer, phone="13812349999")
    h = bearer(session, call_agent)
    r = client.post("/api/v1/calls", json={"caller": "13812349999", "kind": "emergency", "event_id": "pbx-9",
                                           "at": "2026-12-01T08:00:00+08:00", "location": "家中"}, headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["person_id"] == p.id and body["status"] == "open" and body["kind"] == "emergency"
    again = client.post("/api/v1/calls", json={"caller": "13812349999", "event_id": "pbx-9"}, headers=h)
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert session.get(Call, body["id"]) is not None  # committed before the answer


def test_an_unknown_caller_is_a_call_with_a_null_person_never_an_error(client, session, call_agent):
    h = bearer(session, call_agent)
    for caller in ["02512345678", "UNKNOWN-DEVICE", 13900000000, "<b>?</b>"]:
        r = client.post("/api/v1/calls", json={"caller": caller}, headers=h)
        assert r.status_code == 201, (caller, r.text)
        assert r.json()["person_id"] is None


def test_get_returns_status_person_and_the_timeline(client, session, county_officer, call_agent):
    elderly_person(session, county_officer, terminal="API-1")
    h = bearer(session, call_agent)
    cid = client.post("/api/v1/calls", json={"caller": "API-1"}, headers=h).json()["id"]
    assert client.post(f"/api/v1/calls/{cid}/take", headers=h).status_code == 200
    assert client.post(f"/api/v1/calls/{cid}/classify", json={"kind": "service"}, headers=h).status_code == 200
    r = client.post(f"/api/v1/calls/{cid}/close", json={"outcome": "answered", "note": "已解答"}, headers=h)
    assert r.status_code == 200
    detail = client.get(f"/api/v1/calls/{cid}", headers=h).json()
    assert {"id", "status", "person_id", "timeline"} <= set(detail)
    assert detail["status"] == "closed" and detail["outcome"] == "answered"
    assert [s["action"] for s in detail["timeline"]] == ["received", "take", "classify", "close"]
    assert all({"at", "actor", "what"} <= set(s) for s in detail["timeline"])
    assert detail["timeline"][1]["actor"] == "t_agent"


@pytest.mark.parametrize(("body", "field"), [
    ({}, "caller"), ({"caller": ""}, "caller"), ({"caller": "1380", "kind": "fire"}, "kind"),
    ({"caller": "1380", "at": "yesterday"}, "at"), ({"caller": "1380", "at": "2999-01-01T00:00:00Z"}, "at"),
    ({"caller": ["1380"]}, "caller"), ({"caller": "1" * 500}, "caller"),
])
def test_bad_calls_are_422_naming_the_field(client, session, call_agent, body, field):
    r = client.post("/api/v1/calls", json=body, headers=bearer(session, call_agent))
    assert r.status_code == 422, r.text
    assert any(field in d["loc"] for d in r.json()["detail"]), r.json()


def test_not_json_and_no_token_are_refused(client, session, call_agent):
    h = bearer(session, call_agent)
    r = client.post("/api/v1/calls", content=b"\xff\x00not json", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 422
    assert client.post("/api/v1/calls", json={"caller": "1380"}).status_code == 401


def test_dispatch_by_a_non_agent_is_403_and_another_countys_agent_gets_404(client, session, county_officer,
                                                                           call_agent):
    elderly_person(session, county_officer, terminal="API-2")
    h = bearer(session, call_agent)
    cid = client.post("/api/v1/calls", json={"caller": "API-2", "kind": "emergency"}, headers=h).json()["id"]
    client.post(f"/api/v1/calls/{cid}/take", headers=h)
    r = client.post(f"/api/v1/calls/{cid}/dispatch", json={"target": "ambulance_120"},
                    headers=bearer(session, county_officer))
    assert r.status_code == 403 and "呼叫坐席" in r.json()["detail"]
    ganyu_agent = make_user(session, username="t_agent_gy_api", role="call_agent", scope=GANYU)
    r = client.post(f"/api/v1/calls/{cid}/dispatch", json={"target": "ambulance_120"},
                    headers=bearer(session, ganyu_agent))
    assert r.status_code == 404 and "不在您的辖区内" in r.json()["detail"]
    assert client.get(f"/api/v1/calls/{cid}", headers=bearer(session, ganyu_agent)).status_code == 404
    r = client.post(f"/api/v1/calls/{cid}/dispatch", json={"target": "helicopter"}, headers=h)
    assert r.status_code == 422
    r = client.post(f"/api/v1/calls/{cid}/close", json={"outcome": "whatever"}, headers=h)
    assert r.status_code == 422
    r = client.post(f"/api/v1/calls/{cid}/dispatch", json={"target": "ambulance_120"}, headers=h)
    assert r.status_code == 200 and r.json()["timeline"][-1]["action"] == "dispatch"
    for bad in ("0", "-1", "99999999999", "abc"):
        assert client.get(f"/api/v1/calls/{bad}", headers=h).status_code in (404, 422)


def test_a_service_order_through_the_api(client, session, county_officer, call_agent, provider):
    p = elderly_person(session, county_officer, terminal="API-3")
    h = bearer(session, call_agent)
    cid = client.post("/api/v1/calls", json={"caller": "API-3", "kind": "service"}, headers=h).json()["id"]
    r = client.post(f"/api/v1/calls/{cid}/service-orders", json={"provider_id": provider.id, "service_type": "助餐"},
                    headers=h)
    assert r.status_code == 409 and "请先接听" in r.json()["detail"]
    client.post(f"/api/v1/calls/{cid}/take", headers=h)
    r = client.post(f"/api/v1/calls/{cid}/service-orders", json={"provider_id": provider.id, "service_type": "助餐"},
                    headers=h)
    assert r.status_code == 201 and r.json()["person_id"] == p.id
    r = client.post(f"/api/v1/calls/{cid}/service-orders", json={"provider_id": 999999, "service_type": "助餐"},
                    headers=h)
    assert r.status_code == 404


def test_the_queue_lists_open_calls_in_scope(client, session, call_agent, county_officer):
    h = bearer(session, call_agent)
    cid = client.post("/api/v1/calls", json={"caller": "0518777", "kind": "emergency"}, headers=h).json()["id"]
    page = client.get("/api/v1/calls", headers=h).json()
    assert cid in [c["id"] for c in page["items"]] and page["total"] >= 1
    assert client.get("/api/v1/calls", headers=bearer(session, county_officer)).status_code == 403
    assert client.get("/api/v1/calls/stream", headers=bearer(session, county_officer)).status_code == 403
