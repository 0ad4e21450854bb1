"""The home-care API a provider's system records orders through, and the pages: contract, refusals as 4xx with
Chinese messages (never a 500), nothing half-stored."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.web.conftest import logged_in

from factories import elderly_person, household
from minxin.auth.models import User
from minxin.auth.service import create_token, ensure_system_user
from minxin.core.period import Period
from minxin.eldercare.homecare import service as svc
from minxin.eldercare.models import ServiceOrder
from minxin.infra.clock import CHINA_TZ

MONTH = Period.of(datetime.now(CHINA_TZ).date())
WHEN = f"{MONTH}-05T09:00:00+08:00"


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
    return {"Authorization": f"Bearer {create_token(session, actor=ensure_system_user(session), user=user)}"}


@pytest.fixture
def world(session: Session, county_officer: User) -> dict[str, int]:
    rep = household(session, county_officer, members=1).members[0]
    p = svc.register_provider(session, actor=county_officer, name="海州颐养服务社", county_code="320706",
                              contact_id_number=rep.id_number, phone="0518-1", bank_account="6222021234567890123")
    staff = svc.add_staff(session, actor=county_officer, provider_id=p.id, name="李护工", phone="13900001111",
                          qualification="养老护理员")
    person = elderly_person(session, county_officer)
    return {"provider_id": p.id, "staff_id": staff.id, "person_id": person.id}


def _orders(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(ServiceOrder)).scalar_one())


def test_a_provider_system_creates_starts_and_finishes_an_order(client, session, world, community_worker):  # type: ignore[no-untyped-def]
    h = bearer(session, community_worker)
    r = client.post("/api/v1/homecare/orders", headers=h, json={
        "provider_id": world["provider_id"], "person_id": world["person_id"], "service_type": "助餐",
        "scheduled_at": WHEN, "minutes": 90, "staff_id": world["staff_id"]})
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["value_fen"] == 3000 and order["period"] == str(MONTH) and order["status"] == "ordered"
    assert "*" in order["person_name"]  # masked
    oid = order["id"]
    early = client.post(f"/api/v1/homecare/orders/{oid}/finish", headers=h, json={})
    assert early.status_code == 409 and "须先开始服务" in early.json()["detail"]
    assert client.post(f"/api/v1/homecare/orders/{oid}/start", headers=h,
                       json={"at": "2026-11-05T09:00:00+08:00"}).json()["status"] == "started"
    before = client.post(f"/api/v1/homecare/orders/{oid}/finish", headers=h, json={"at": "2026-11-05T08:00:00+08:00"})
    assert before.status_code == 422 and "早于开始时间" in before.text
    done = client.post(f"/api/v1/homecare/orders/{oid}/finish", headers=h, json={"at": "2026-11-05T10:30:00+08:00"})
    assert done.status_code == 200 and done.json()["status"] == "finished"
    ent = client.get(f"/api/v1/homecare/entitlements/{world['person_id']}", headers=h, params={"period": str(MONTH)})
    assert ent.json() == {"person_id": world["person_id"], "period": str(MONTH), "eligible": True,
                          "reasons": ["70周岁以上独居老人"], "care_level": "轻度失能", "limit_fen": 20000,
                          "used_fen": 3000, "left_fen": 17000}
    listed = client.get("/api/v1/homecare/orders", headers=h, params={"provider_id": world["provider_id"]}).json()
    assert [o["id"] for o in listed["items"]] == [oid]
    prov = client.get(f"/api/v1/homecare/providers/{world['provider_id']}", headers=h).json()
    assert [s["name"] for s in prov["staff"]] == ["李护工"]


def test_an_order_beyond_the_entitlement_is_409_with_a_clear_message(client, session, world, county_officer):  # type: ignore[no-untyped-def]
    h = bearer(session, county_officer)
    body = {"provider_id": world["provider_id"], "person_id": world["person_id"], "service_type": "助洁",
            "scheduled_at": WHEN, "minutes": 480}
    assert client.post("/api/v1/homecare/orders", headers=h, json=body).status_code == 201
    r = client.post("/api/v1/homecare/orders", headers=h, json=body)
    assert r.status_code == 409 and "超出本月服务额度" in r.json()["detail"] and "剩余 40 元" in r.json()["detail"]
    assert _orders(session) == 1


@pytest.mark.parametrize("change", [
    {"minutes": -60}, {"minutes": 0}, {"minutes": 10**12}, {"minutes": "六十"},
    {"service_type": "x" * 5000}, {"service_type": "助洁\u0000"}, {"service_type": "\u202e助洁"},
    {"provider_id": 10**30}, {"person_id": -1}, {"scheduled_at": "明天"}, {"scheduled_at": "2026-11-05T09:00:00"},
    {"note": "注" * 201}, {"unknown": 1}, {"staff_id": 2**40},
])
def test_hostile_order_bodies_are_4xx_never_500_and_nothing_is_stored(client, session, world, county_officer,  # type: ignore[no-untyped-def]
                                                                      change):
    h = bearer(session, county_officer)
    body = {"provider_id": world["provider_id"], "person_id": world["person_id"], "service_type": "助洁",
            "scheduled_at": WHEN, "minutes": 60, **change}
    r = client.post("/api/v1/homecare/orders", headers=h, json=body)
    assert 400 <= r.status_code < 500, (change, r.status_code, r.text[:200])
    assert _orders(session) == 0


def test_another_countys_officer_sees_no_provider_order_or_entitlement(client, session, world, county_officer,  # type: ignore[no-untyped-def]
                                                                      other_county_officer):
    order = svc.create_order(session, actor=county_officer, provider_id=world["provider_id"],
                             person_id=world["person_id"], service_type="助洁",
                             scheduled_at=datetime.fromisoformat(WHEN), minutes=60)
    h = bearer(session, other_county_officer)
    for path in (f"/api/v1/homecare/providers/{world['provider_id']}", f"/api/v1/homecare/orders/{order.id}",
                 f"/api/v1/homecare/entitlements/{world['person_id']}"):
        assert client.get(path, headers=h).status_code == 404, path
    assert client.post(f"/api/v1/homecare/orders/{order.id}/start", headers=h, json={}).status_code == 404
    assert client.get("/api/v1/homecare/providers", headers=h).json()["total"] == 0
    assert client.get("/api/v1/homecare/orders", headers=h).json()["total"] == 0


# ---- pages -------------------------------------------------------------------------------------------

def test_the_pages_show_providers_staff_orders_entitlement_and_settlement(client, session, world, county_officer):  # type: ignore[no-untyped-def]
    token = logged_in(client, county_officer)
    page = client.post("/eldercare/orders", headers={"X-CSRF-Token": token}, data={
        "provider_id": str(world["provider_id"]), "person_id": str(world["person_id"]), "service_type": "助浴",
        "scheduled_at": f"{MONTH}-06T10:00", "minutes": "60"})
    assert page.status_code == 303, page.text[:300]
    oid = int(page.headers["location"].rsplit("/", 1)[1])
    now = datetime.now(CHINA_TZ)

    def ago(hours: int) -> str:
        return (now - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")

    assert client.post(f"/eldercare/orders/{oid}/start", headers={"X-CSRF-Token": token},
                       data={"staff_id": str(world["staff_id"]), "at": ago(2)}).status_code == 303
    bad = client.post(f"/eldercare/orders/{oid}/finish", headers={"X-CSRF-Token": token}, data={"at": ago(3)})
    assert bad.status_code == 422 and "早于开始时间" in bad.text and "服务中" in bad.text
    assert client.post(f"/eldercare/orders/{oid}/finish", headers={"X-CSRF-Token": token},
                       data={"at": ago(1)}).status_code == 303
    provider = client.get(f"/eldercare/providers/{world['provider_id']}")
    assert provider.status_code == 200 and "李护工" in provider.text and "助浴" in provider.text
    assert "已完成" in provider.text
    person = client.get(f"/eldercare/elderly/{world['person_id']}")
    assert "70周岁以上独居老人" in person.text and "180.00" in person.text  # 200 − 20 left
    settle = client.get("/eldercare/settlements", params={"month": str(MONTH)})
    assert settle.status_code == 200 and "海州颐养服务社" in settle.text
    assert client.get("/eldercare/providers").status_code == 200
    assert client.get(f"/eldercare/orders/new?person_id={world['person_id']}").status_code == 200


def test_a_refused_order_form_shows_the_message_beside_the_form_and_stores_nothing(client, session, world,  # type: ignore[no-untyped-def]
                                                                                  county_officer):
    token = logged_in(client, county_officer)
    for data, message in [({"minutes": "-5"}, "服务时长"), ({"minutes": "1e9"}, "服务时长"),
                          ({"scheduled_at": "昨天"}, "时间格式不正确"), ({"person_id": "9" * 12}, "老人编号"),
                          ({"minutes": "2000"}, "服务时长"), ({"service_type": "助\x1b洁"}, "控制字符")]:
        form = {"provider_id": str(world["provider_id"]), "person_id": str(world["person_id"]),
                "service_type": "助洁", "scheduled_at": f"{MONTH}-06T10:00", "minutes": "60", **data}
        r = client.post("/eldercare/orders", headers={"X-CSRF-Token": token}, data=form)
        assert r.status_code in (404, 409, 422) and message in r.text, (data, r.status_code, r.text[:300])
    assert _orders(session) == 0


def test_a_community_worker_may_record_but_not_contract_a_provider(client, session, world, community_worker):  # type: ignore[no-untyped-def]
    token = logged_in(client, community_worker)
    r = client.post("/eldercare/providers", headers={"X-CSRF-Token": token},
                    data={"name": "私自签约", "county_code": "320706", "contact_id_number": "x", "bank_account": "1"})
    assert r.status_code == 403
    assert client.get("/eldercare/orders/new").status_code == 200


def test_the_cycle_page_of_a_settlement_explains_each_providers_line(client, session, world, county_officer):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from minxin.programs.cycles import run_cycle

    month = Period.of(datetime.now(CHINA_TZ).date().replace(day=1) - timedelta(days=1))
    at = datetime(month.year, month.month, 3, 9, tzinfo=CHINA_TZ)
    o = svc.create_order(session, actor=county_officer, provider_id=world["provider_id"], person_id=world["person_id"],
                         service_type="助洁", scheduled_at=at, minutes=60)
    svc.start_order(session, actor=county_officer, order_id=o.id, at=at)
    svc.finish_order(session, actor=county_officer, order_id=o.id, at=at + timedelta(hours=1))
    summary = run_cycle(session, actor=county_officer, program="homecare", period=month)
    logged_in(client, county_officer)
    page = client.get(f"/cycles/{summary.cycle_id}")
    assert page.status_code == 200 and "完成服务单 1 单，合计 = 20" in page.text
    settle = client.get("/eldercare/settlements", params={"month": str(month)})
    assert f'href="/cycles/{summary.cycle_id}"' in settle.text and "20.00" in settle.text
