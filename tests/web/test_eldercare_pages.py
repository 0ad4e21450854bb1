"""Eldercare pages: the elderly list and person page, the call console and its HTMX actions, care calls,
the reports; refusals for roles and scopes that may not."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import GANYU, make_user
from tests.factories import elderly_person
from tests.web.conftest import logged_in, login

from minxin.auth.models import User
from minxin.eldercare import calls as svc
from minxin.eldercare.models import ServiceProvider


def _htmx(csrf: str) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": csrf}


def test_the_elderly_list_masks_names_and_the_person_page_shows_the_care_record(client: TestClient, session: Session,
                                                                             county_officer: User,
                                                                             call_agent: User) -> None:
    p = elderly_person(session, county_officer, terminal="PAGE-1", phone="13812340000")
    svc.receive_call(session, actor=call_agent, caller="PAGE-1", kind="consult")
    logged_in(client, county_officer)
    page = client.get("/eldercare/elderly?living=独居")
    assert page.status_code == 200
    assert f'data-person="{p.id}"' in page.text and "王**" in page.text
    assert "王秀英" not in page.text and p.id_number not in page.text
    person = client.get(f"/eldercare/elderly/{p.id}")
    assert person.status_code == 200
    assert "王强（子女）13900000001" in person.text and "PAGE-1" in person.text and "高血压" in person.text
    assert "咨询" in person.text  # the recent call
    assert client.get("/eldercare/elderly?living=养老院").status_code == 422
    assert client.get("/eldercare/elderly/999999").status_code == 404


def test_the_person_page_of_another_county_is_404(client: TestClient, session: Session, county_officer: User,
                                                  other_county_officer: User) -> None:
    p = elderly_person(session, county_officer)
    logged_in(client, other_county_officer)
    assert client.get(f"/eldercare/elderly/{p.id}").status_code == 404


def test_an_agent_works_a_call_from_the_console(client: TestClient, session: Session, county_officer: User,
                                                call_agent: User) -> None:
    p = elderly_person(session, county_officer, terminal="CON-1")
    session.add(ServiceProvider(name="新海助餐点", county_code="320706", is_active=True))
    session.flush()
    call, _ = svc.receive_call(session, actor=call_agent, caller="CON-1", kind="emergency")
    csrf = logged_in(client, call_agent)
    page = client.get("/eldercare/console")
    assert page.status_code == 200
    assert f'data-call="{call.id}"' in page.text and "js/eldercare-console.js" in page.text
    assert 'data-after="' in page.text
    pane = client.get(f"/eldercare/console/calls/{call.id}", headers={"HX-Request": "true"})
    assert "王秀英" in pane.text and "高血压" in pane.text and "王强（子女）" in pane.text and 'id="take"' in pane.text
    r = client.post(f"/eldercare/console/calls/{call.id}/take", headers=_htmx(csrf))
    assert r.status_code == 200 and 'id="dispatch-form"' in r.text
    r = client.post(f"/eldercare/console/calls/{call.id}/dispatch", data={"target": "community", "note": "上门"},
                    headers=_htmx(csrf))
    assert r.status_code == 200 and "派遣社区救援员" in r.text
    r = client.post(f"/eldercare/console/calls/{call.id}/close", data={"outcome": ""}, headers=_htmx(csrf))
    assert r.status_code == 422 and "处理结果" in r.text
    r = client.post(f"/eldercare/console/calls/{call.id}/close", data={"outcome": "rescued"}, headers=_htmx(csrf))
    assert r.status_code == 200 and "已结束：已救援" in r.text
    assert [e.action for e in svc.timeline(session, call)] == ["received", "take", "dispatch", "close"]
    assert p.id == call.person_id
    queue = client.get("/eldercare/console/queue", headers={"HX-Request": "true"})
    assert f'data-call="{call.id}"' not in queue.text  # closed calls leave the queue


def test_console_actions_need_the_csrf_token_and_the_agent_role(client: TestClient, session: Session,
                                                                call_agent: User, county_officer: User) -> None:
    call, _ = svc.receive_call(session, actor=call_agent, caller="0518000111")
    logged_in(client, call_agent)
    assert client.post(f"/eldercare/console/calls/{call.id}/take", headers={"HX-Request": "true"}).status_code == 403
    client.cookies.clear()
    csrf = logged_in(client, county_officer)
    assert client.get("/eldercare/console").status_code == 403
    r = client.post(f"/eldercare/console/calls/{call.id}/take", headers=_htmx(csrf))
    assert r.status_code == 403 and "呼叫坐席" in r.text
    assert 'href="/eldercare/console"' not in client.get("/").text


def test_an_agent_of_another_county_cannot_open_the_call(client: TestClient, session: Session, county_officer: User,
                                                         call_agent: User) -> None:
    elderly_person(session, county_officer, terminal="CON-2")
    call, _ = svc.receive_call(session, actor=call_agent, caller="CON-2")
    other = make_user(session, username="t_agent_gy_web", role="call_agent", scope=GANYU)
    csrf = logged_in(client, other)
    assert client.get(f"/eldercare/console/calls/{call.id}").status_code == 404
    assert client.post(f"/eldercare/console/calls/{call.id}/take", headers=_htmx(csrf)).status_code == 404
    assert client.post(f"/eldercare/console/calls/{call.id}/fly", headers=_htmx(csrf)).status_code == 404


def test_care_calls_are_scheduled_and_recorded_from_the_console(client: TestClient, session: Session,
                                                                county_officer: User, call_agent: User) -> None:
    p = elderly_person(session, county_officer, living="独居")
    csrf = logged_in(client, call_agent)
    r = client.post("/eldercare/care-calls", headers=_htmx(csrf))
    assert r.status_code == 200 and f'href="/eldercare/elderly/{p.id}"' in r.text
    due = svc.care_calls_due(session, user=call_agent, page_size=200).items
    sid = next(d.schedule.id for d in due if d.schedule.person_id == p.id)
    r = client.post(f"/eldercare/care-calls/{sid}", data={"reached": "1"}, headers=_htmx(csrf))
    assert r.status_code == 200 and f'data-schedule="{sid}"' not in r.text
    assert client.post("/eldercare/care-calls/999999", data={"reached": "1"}, headers=_htmx(csrf)).status_code == 404


def test_the_reports_page_shows_the_month_per_county_with_a_chart(client: TestClient, session: Session,
                                                                  county_officer: User, call_agent: User) -> None:
    elderly_person(session, county_officer, terminal="REPW-1")
    svc.receive_call(session, actor=call_agent, caller="REPW-1", kind="emergency")
    logged_in(client, call_agent)
    page = client.get("/eldercare/reports")
    assert page.status_code == 200
    assert 'data-county="320706"' in page.text and 'data-chart="' in page.text and "echarts.min.js" in page.text
    assert client.get("/eldercare/reports?month=2012-13").status_code == 422
    assert client.get("/eldercare/reports?month=2012-07").status_code == 200


def test_pages_need_a_login(client: TestClient) -> None:
    for path in ("/eldercare/elderly", "/eldercare/console", "/eldercare/reports"):
        assert client.get(path).status_code == 303
    assert login(client, "nobody").status_code != 303


def test_the_elderly_list_pages_through_many(client: TestClient, session: Session, county_officer: User) -> None:
    people = [elderly_person(session, county_officer, contact=False) for _ in range(21)]
    logged_in(client, county_officer)
    first = client.get("/eldercare/elderly")
    assert first.status_code == 200 and "page=2" in first.text
    second = client.get("/eldercare/elderly?page=2")
    assert second.status_code == 200 and f'data-person="{people[-1].id}"' in second.text


def test_the_institutions_page_and_the_public_free_bed_page(client: TestClient, session: Session,
                                                            county_officer: User) -> None:
    from minxin.eldercare.institutions import add_beds, place_resident
    from minxin.registry.service import add_institution

    home = add_institution(session, actor=county_officer, name="海州医养结合中心", region_code="320706006",
                           kind="医养结合", ownership="公建民营")
    add_beds(session, actor=county_officer, institution_id=home.id, count=3)
    resident = elderly_person(session, county_officer)
    place_resident(session, actor=county_officer, institution_id=home.id, id_number=resident.id_number)
    public = client.get("/institutions/free-beds")  # no login
    assert public.status_code == 200
    assert "海州医养结合中心" in public.text and "公建民营" in public.text
    assert resident.name not in public.text and resident.id_number not in public.text
    logged_in(client, county_officer)
    page = client.get("/eldercare/institutions")
    assert page.status_code == 200
    assert f'data-institution="{home.id}"' in page.text and 'data-county="320706"' in page.text
    assert "投入使用" in page.text
