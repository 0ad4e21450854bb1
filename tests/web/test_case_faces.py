"""Cases on every face: the API and the apply page check what the import checks; a broken case stored
before (or by hand) is marked on the notice, list and case pages instead of failing them; the public
objection form is rate-limited per client address."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.conftest import HAIZHOU_COMMUNITY
from tests.factories import active_case, household
from tests.web.conftest import csrf_from, logged_in

from minxin.auth.models import User
from minxin.auth.service import create_token
from minxin.infra.clock import today
from minxin.infra.db import utcnow
from minxin.programs.models import Case, Objection
from minxin.programs.views import OBJECTIONS_PER_WINDOW
from minxin.registry.models import Household
from minxin.registry.service import add_institution

RURAL = "320706100201"


def _bearer(session: Session, admin: User, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(session, actor=admin, user=user)}"}


def _urban_64(session: Session, actor: User) -> Household:
    h = household(session, actor, members=1, hukou="城镇")
    h.members[0].birth_date = today().replace(year=today().year - 64, day=1)
    session.flush()
    return h


def _rural_70(session: Session, actor: User) -> Household:
    h = household(session, actor, members=1, hukou="农村", community=RURAL)
    h.members[0].birth_date = date(today().year - 70, 1, 1)
    session.flush()
    return h


def _wubao_cases(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Case).where(Case.program_code == "wubao")).scalar_one()


# ---- one check for every face ----------------------------------------------------------------------

def test_the_api_refuses_wubao_for_an_urban_64_year_old(client: TestClient, session: Session, city_admin: User,
                                                        county_officer: User) -> None:
    h = _urban_64(session, county_officer)
    before = _wubao_cases(session)
    for body in ({"program": "wubao", "household_id": h.id},
                 {"program": "wubao", "household_id": h.id, "category": "分散"}):
        r = client.post("/api/v1/cases", json=body, headers=_bearer(session, city_admin, county_officer))
        assert r.status_code == 422
        [detail] = r.json()["detail"]
        assert detail["loc"][-1] == "household_id" and "农村" in detail["msg"]
    assert _wubao_cases(session) == before


def test_the_api_needs_a_wubao_category_and_for_centralized_support_an_institution(
        client: TestClient, session: Session, city_admin: User, county_officer: User) -> None:
    h = _rural_70(session, county_officer)
    headers = _bearer(session, city_admin, county_officer)
    r = client.post("/api/v1/cases", json={"program": "wubao", "household_id": h.id}, headers=headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "category"
    r = client.post("/api/v1/cases", json={"program": "wubao", "household_id": h.id, "category": "集中"},
                    headers=headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "institution_id"
    home = add_institution(session, actor=county_officer, name="锦屏镇敬老院", region_code="320706100",
                           bank_account="320706100000000001")
    r = client.post("/api/v1/cases", json={"program": "wubao", "household_id": h.id, "category": "集中",
                                           "institution_id": home.id}, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["category"] == "集中"


def test_the_apply_page_refuses_wubao_for_an_urban_64_year_old(client: TestClient, session: Session,
                                                               county_officer: User) -> None:
    h = _urban_64(session, county_officer)
    token = logged_in(client, county_officer)
    before = _wubao_cases(session)
    r = client.post("/cases", data={"csrf_token": token, "program": "wubao", "household_no": h.household_no,
                                    "category": "分散"})
    assert r.status_code == 422 and "只面向农村户籍人员" in r.text
    assert _wubao_cases(session) == before


def test_the_apply_page_opens_a_dispersed_wubao_case(client: TestClient, session: Session,
                                                     county_officer: User) -> None:
    h = _rural_70(session, county_officer)
    token = logged_in(client, county_officer)
    assert 'name="category"' in client.get("/cases").text
    r = client.post("/cases", data={"csrf_token": token, "program": "wubao", "household_no": h.household_no})
    assert r.status_code == 422 and "请填写类别" in r.text
    r = client.post("/cases", data={"csrf_token": token, "program": "wubao", "household_no": h.household_no,
                                    "category": "分散"})
    assert r.status_code == 303
    case = session.execute(select(Case).where(Case.household_id == h.id)).scalar_one()
    assert (case.program_code, case.category) == ("wubao", "分散")


# ---- a broken record is marked, never fatal ---------------------------------------------------------------

def _noticed(session: Session, case: Case) -> Case:
    case.status = "noticed"
    case.notice_start = utcnow()
    case.notice_end = utcnow() + timedelta(days=7)
    session.flush()
    return case


def _broken_wubao(session: Session, actor: User) -> Case:
    """What the API once stored: a 五保 case with no category, for an urban household (inserted directly)."""
    h = _urban_64(session, actor)
    head = h.members[0]
    case = Case(program_code="wubao", household_id=h.id, person_id=head.id, region_code=h.region_code,
                category="", status="applied")
    session.add(case)
    session.flush()
    return case


def test_one_broken_case_does_not_break_the_public_notice_of_its_community(client: TestClient, session: Session,
                                                                          county_officer: User) -> None:
    good = _noticed(session, active_case(session, household(session, county_officer, members=3, income_yuan=300)))
    broken = _noticed(session, _broken_wubao(session, county_officer))
    page = client.get(f"/notice/{HAIZHOU_COMMUNITY}")
    assert page.status_code == 200
    assert f'id="case-{good.id}"' in page.text and f'id="case-{broken.id}"' in page.text
    assert "1,080.00" in page.text  # the good case's amount: (460 − 100) × 3
    row = page.text[page.text.index(f'id="case-{broken.id}"'):]
    assert "金额待核定" in row[:row.index("</tr>")]
    token = csrf_from(page.text)
    objected = client.post(f"/notice/{HAIZHOU_COMMUNITY}/objections",
                           data={"csrf_token": token, "case_id": str(good.id), "content": "有车"})
    assert objected.status_code == 303  # and the page still takes objections


def test_one_broken_case_does_not_break_the_case_list_or_its_own_page(client: TestClient, session: Session,
                                                                      county_officer: User) -> None:
    active_case(session, household(session, county_officer, members=2))
    broken = _noticed(session, _broken_wubao(session, county_officer))
    logged_in(client, county_officer)
    listing = client.get("/cases")
    assert listing.status_code == 200 and f'href="/cases/{broken.id}"' in listing.text
    assert "类别待补" in listing.text
    page = client.get(f"/cases/{broken.id}")
    assert page.status_code == 200
    assert "金额待核定" in page.text and 'id="case-problem"' in page.text


# ---- the public objection form is rate-limited -----------------------------------------------------------

def test_objections_from_one_address_are_limited_and_others_still_get_through(
        app, client: TestClient, session: Session, county_officer: User) -> None:  # type: ignore[no-untyped-def]
    case = _noticed(session, active_case(session, household(session, county_officer, members=1)))
    token = csrf_from(client.get(f"/notice/{HAIZHOU_COMMUNITY}").text)

    def post(c: TestClient, content: str):  # type: ignore[no-untyped-def]
        return c.post(f"/notice/{HAIZHOU_COMMUNITY}/objections",
                      data={"csrf_token": token, "case_id": str(case.id), "content": content})

    assert post(client, " ").status_code == 422  # a refused attempt counts too
    for i in range(OBJECTIONS_PER_WINDOW - 1):
        assert post(client, f"异议 {i}").status_code == 303
    refused = post(client, "再来一条")
    assert refused.status_code == 429
    assert "提交过于频繁" in refused.text and refused.headers["Retry-After"] == "600"
    assert session.execute(select(func.count()).select_from(Objection)).scalar_one() == OBJECTIONS_PER_WINDOW - 1
    with TestClient(app, follow_redirects=False, client=("203.0.113.9", 40000)) as other:
        other.cookies.set("minxin_notice_csrf", client.cookies.get("minxin_notice_csrf") or "", path="/notice")
        assert post(other, "另一位居民").status_code == 303
