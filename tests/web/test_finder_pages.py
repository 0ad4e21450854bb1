"""The finder's pages: the registry search by each field (and hostile input on the page and the API), the
community code list and picker (page, HTMX partial, spreadsheet, API), the import template and page
pointing there, and the household page's cases and payments."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from tests.conftest import make_user
from tests.factories import active_case, household, new_id
from tests.web.conftest import logged_in

from minxin.core.period import Period
from minxin.programs.cycles import run_cycle
from minxin.programs.models import Case
from minxin.regions import region_label
from minxin.registry.models import Region
from minxin.registry.service import HouseholdIn, MemberIn, create_household

COMMUNITY = "320706006001"
GANYU_COMMUNITY = "320707100001"


@pytest.fixture
def officer(session):
    return make_user(session, username="f_county", role="county_officer", scope="320706")


@pytest.fixture
def homes(session, officer, system_user):
    mine = create_household(session, actor=officer, data=HouseholdIn(
        household_no="FD-0001", region_code=COMMUNITY, hukou_type="城镇", address="新海街道海连路 9 号",
        phone="13905187777",
        members=[MemberIn(name="柏青松", id_number=new_id(), relation="户主"),
                 MemberIn(name="柏小雨", id_number=new_id(female=True), relation="子女")]))
    theirs = create_household(session, actor=system_user, data=HouseholdIn(
        household_no="FD-0002", region_code=GANYU_COMMUNITY, hukou_type="城镇", address="青口镇海连路 9 号",
        phone="13905188888", members=[MemberIn(name="柏青山", id_number=new_id(), relation="户主")]))
    session.commit()
    return mine, theirs


@pytest.mark.parametrize(("by", "q"), [
    ("name_id", "柏青"), ("household_no", "FD-000"), ("phone", "139051"), ("address", "海连路"),
])
def test_the_search_page_finds_by_each_field_and_only_in_scope(client, officer, homes, by, q):
    logged_in(client, officer)
    page = client.get("/registry", params={"q": q, "by": by})
    assert page.status_code == 200
    assert "柏*" in page.text and f'value="{by}" selected' in page.text
    assert "FD-0001" in page.text and "FD-0002" not in page.text  # Ganyu's household stays out


def test_the_search_page_shows_the_community_with_its_town(client, session, officer, homes):
    logged_in(client, officer)
    community = session.get(Region, COMMUNITY)
    page = client.get("/registry", params={"q": community.name, "by": "community"})
    assert page.status_code == 200
    assert region_label(session, COMMUNITY) in page.text and " · " in region_label(session, COMMUNITY)
    assert "FD-0001" in page.text


@pytest.mark.parametrize(("params", "reason"), [
    ({"q": "柏\x00青松"}, "控制字符"),
    ({"q": "柏\x07", "by": "household_no"}, "控制字符"),
    ({"q": "海连路\u202e", "by": "address"}, "文字方向"),
    ({"q": "12ab", "by": "phone"}, "只能输入数字"),
    ({"q": "柏", "by": "nonsense"}, "查找方式"),
])
def test_hostile_search_input_is_a_clear_error_not_a_500(client, officer, homes, params, reason):
    logged_in(client, officer)
    page = client.get("/registry", params=params)
    assert page.status_code == 422
    assert reason in page.text and 'role="alert"' in page.text
    api = client.get("/api/v1/persons", params=params)
    assert api.status_code == 422
    assert reason in api.text


@pytest.mark.parametrize("path", ["/registry", "/api/v1/persons", "/registry/communities", "/api/v1/communities",
                                  "/registry/export.xlsx", "/registry/communities.xlsx"])
def test_a_huge_query_is_refused_not_a_500(client, officer, homes, path):
    """Pages answer a malformed parameter with the kit's 400 page (in Chinese), the API with a 422."""
    logged_in(client, officer)
    answer = client.get(path, params={"q": "柏" * 5000})
    if path.startswith("/api/"):
        assert answer.status_code == 422 and "q" in answer.text
    else:
        assert answer.status_code == 400 and "请求中的参数格式不正确" in answer.text


def test_the_export_follows_the_search_field(client, officer, homes):
    logged_in(client, officer)
    answer = client.get("/registry/export.xlsx", params={"q": "海连路", "by": "address"})
    assert answer.status_code == 200
    ws = load_workbook(io.BytesIO(answer.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["FD-0001", "FD-0001"]
    assert "出生日期" not in rows[0]


def test_the_community_code_list_is_scoped_searchable_and_exportable(client, session, officer, homes):
    logged_in(client, officer)
    community = session.get(Region, COMMUNITY)
    page = client.get("/registry/communities", params={"q": community.name})
    assert page.status_code == 200
    assert f'data-code="{COMMUNITY}"' in page.text and region_label(session, COMMUNITY) in page.text
    assert "320707" not in page.text
    partial = client.get("/registry/communities", params={"q": community.name},
                         headers={"HX-Request": "true", "HX-Target": "community-results"})
    assert partial.status_code == 200 and "<html" not in partial.text and COMMUNITY in partial.text
    picker = client.get("/registry/communities", params={"q": "320706006", "pick": "registry"})
    assert f'href="/registry?region={COMMUNITY}"' in picker.text
    # Picked: the search filters by the community and names it with its town.
    filtered = client.get("/registry", params={"region": COMMUNITY})
    assert "FD-0001" in filtered.text and region_label(session, COMMUNITY) in filtered.text
    sheet = client.get("/registry/communities.xlsx", params={"q": "320706006"})
    assert sheet.status_code == 200
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert rows[0] == ("县区", "街道/乡镇", "社区/村", "社区代码", "城乡")
    assert COMMUNITY in [r[3] for r in rows[1:]] and all(str(r[3]).startswith("320706006") for r in rows[1:])
    api = client.get("/api/v1/communities", params={"q": community.name}).json()
    assert any(i["code"] == COMMUNITY and i["label"] == region_label(session, COMMUNITY) for i in api["items"])
    assert all(i["county_code"] == "320706" for i in api["items"])
    assert client.get("/registry/communities", params={"q": "胜利\x00"}).status_code == 422


def test_the_import_template_and_page_point_to_the_code_list_never_to_a_command(client, session, officer):
    logged_in(client, officer)
    page = client.get("/import")
    assert 'href="/registry/communities"' in page.text and "minxin regions" not in page.text
    wb = load_workbook(io.BytesIO(client.get("/import/template.xlsx").content))
    assert wb.sheetnames[0] == "家庭成员" and "社区代码" in wb.sheetnames
    notes = " ".join(str(c) for row in wb["填写说明"].iter_rows(values_only=True) for c in row if c)
    assert "minxin" not in notes and "社区代码表" in notes
    codes = list(wb["社区代码"].iter_rows(values_only=True))
    assert codes[0] == ("县区", "街道/乡镇", "社区/村", "社区代码")
    assert COMMUNITY in [r[3] for r in codes[1:]] and all(str(r[3]).startswith("320706") for r in codes[1:])


def test_the_household_page_lists_its_cases_and_payments_newest_first_paged(client, session, officer, homes,
                                                                           system_user, monkeypatch):
    mine, _ = homes
    case = active_case(session, mine, start="2012-01")
    kid = next(m for m in mine.members if not m.is_head)
    orphan = Case(program_code="orphan", household_id=None, person_id=kid.id, region_code=mine.region_code,
                  category="社会散居", status="applied")
    session.add(orphan)
    session.flush()
    for month in (5, 6, 7):
        run_cycle(session, actor=system_user, program="dibao", period=Period(2012, month), county="320706")
    other = household(session, system_user, community=COMMUNITY)
    active_case(session, other)
    session.commit()
    monkeypatch.setenv("MINXIN_PAGE_SIZE", "2")
    from minxin.infra.settings import get_settings
    get_settings.cache_clear()
    try:
        logged_in(client, officer)
        page = client.get(f"/households/{mine.id}")
        assert page.status_code == 200
        cases = page.text.split('id="household-cases"')[1].split("</table>")[0]
        assert f'data-case="{case.id}"' in cases and f'data-case="{orphan.id}"' in cases
        assert "柏小雨" in cases  # the orphan case is the child's
        payments = page.text.split('id="household-payments"')[1].split("</table>")[0]
        assert payments.index("2012-07") < payments.index("2012-06") and "2012-05" not in payments
        second = client.get(f"/households/{mine.id}", params={"page": 2}).text
        assert "2012-05" in second.split('id="household-payments"')[1].split("</table>")[0]
        assert f"/cases/{other.id}" not in page.text
    finally:
        get_settings.cache_clear()
