"""五保, premium-subsidy and care-institution pages: who may see and do what, preview before confirm,
refusals in Chinese, the roster file, scope, CSRF."""

from __future__ import annotations

import io
import re

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.conftest import HAIZHOU, HAIZHOU_TOWN
from tests.factories import active_case, household
from tests.web.conftest import logged_in

from minxin.auth.models import AuditEvent, User
from minxin.programs.models import Case, Standard
from minxin.registry.models import Institution
from minxin.registry.service import add_institution
from minxin.web.templating import LANG_COOKIE

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _wubao_standards(session: Session) -> list[tuple[str, str, int, str]]:
    return [tuple(r) for r in session.execute(  # type: ignore[misc]
        select(Standard.region_code, Standard.category, Standard.amount_fen, Standard.source)
        .where(Standard.program_code == "wubao").order_by(Standard.region_code, Standard.category))]


def _wubao_case(session: Session, user: User, *, institution: Institution | None = None,
                community: str = "320706006001") -> Case:
    """An active 五保 case of a one-person rural household, 集中 when it lives in an institution."""
    case = active_case(session, household(session, user, community=community, hukou="农村", members=1),
                       program="wubao")
    case.category = "集中" if institution else "分散"
    case.institution_id = institution.id if institution else None
    session.flush()
    return case


def _institution(session: Session, user: User, name: str = "新海街道敬老院", region: str = HAIZHOU_TOWN,
                 beds: int = 40) -> Institution:
    return add_institution(session, actor=user, name=name, region_code=region, beds=beds)


def _audits(session: Session, action: str) -> int:
    return session.execute(select(func.count()).select_from(AuditEvent)
                           .where(AuditEvent.action == action)).scalar_one()


# ---- /wubao -----------------------------------------------------------------------------------------

def test_the_wubao_page_shows_the_centralized_rate_per_county_against_the_target(
        client: TestClient, county_officer: User, session: Session) -> None:
    home = _institution(session, county_officer)
    for _ in range(3):
        _wubao_case(session, county_officer, institution=home)
    _wubao_case(session, county_officer)
    logged_in(client, county_officer)
    page = client.get("/wubao")
    assert page.status_code == 200
    assert 'href="/wubao" class="active" aria-current="page">五保</a>' in page.text
    row = re.search(r'<tr data-county="320706">(.*?)</tr>', page.text, re.S)
    assert row, page.text
    cells = re.findall(r"<td[^>]*>\s*([^<]*?)\s*<", row.group(1))
    assert cells[:4] == ["海州区", "4", "3", "1"]
    assert "75.0%" in row.group(1) and "达标" in row.group(1)
    assert 'id="rate-total"' in page.text and "合计" in page.text
    assert "目标 ≥ 70%" in page.text
    assert 'data-county="320707"' not in page.text  # another county's rate is not in scope
    assert 'href="/cases?program=wubao"' in page.text
    assert "data-wubao-chart=" in page.text and "js/wubao-chart.js" in page.text
    assert 'id="derive-form"' in page.text and "比例允许范围 50%–60%" in page.text


def test_a_county_below_the_target_shows_how_many_are_missing(client: TestClient, county_officer: User,
                                                             session: Session) -> None:
    home = _institution(session, county_officer)
    _wubao_case(session, county_officer, institution=home)
    _wubao_case(session, county_officer)
    logged_in(client, county_officer)
    row = re.search(r'<tr data-county="320706">(.*?)</tr>', client.get("/wubao").text, re.S)
    assert row and "50.0%" in row.group(1) and "未达标" in row.group(1) and "差 1 人" in row.group(1)


def test_derive_preview_lists_the_proposals_and_changes_nothing(client: TestClient, county_officer: User,
                                                                session: Session) -> None:
    csrf = logged_in(client, county_officer)
    before = _wubao_standards(session)
    audits = _audits(session, "standard.set")
    r = client.post("/wubao/standards", data={"year": "2012", "ratio": "55%", "action": "preview",
                                              "csrf_token": csrf})
    assert r.status_code == 200
    preview = re.search(r'<tr data-county="320706">(.*?)</tr>', r.text.split('id="proposals"')[1], re.S)
    assert preview, r.text
    assert "9,100.00" in preview.group(1) and "5,005.00" in preview.group(1) and "417.08" in preview.group(1)
    assert "2011 年农民人均纯收入 9100 × 55% = 5005 元/年" in preview.group(1)
    assert 'data-county="320707"' not in r.text.split('id="proposals"')[1]  # only the officer's county
    assert 'id="confirm-form"' in r.text and 'name="action" value="confirm"' in r.text
    assert _wubao_standards(session) == before and _audits(session, "standard.set") == audits


def test_confirm_sets_the_standards_for_both_categories_and_shows_them(client: TestClient, county_officer: User,
                                                                      session: Session) -> None:
    csrf = logged_in(client, county_officer)
    r = client.post("/wubao/standards", data={"year": "2012", "ratio": "0.55", "action": "confirm",
                                              "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/wubao?derived=2012&n=1"
    explanation = "2011 年农民人均纯收入 9100 × 55% = 5005 元/年"
    assert _wubao_standards(session) == [(HAIZHOU, "分散", 500500, explanation), (HAIZHOU, "集中", 500500, explanation)]
    page = client.get(r.headers["location"]).text
    assert "已设定 2012 年五保供养标准（1 个县区" in page
    row = re.search(r'<tr data-county="320706" data-category="集中">(.*?)</tr>', page, re.S)
    assert row and "5,005.00" in row.group(1) and "417.08" in row.group(1) and explanation in row.group(1)
    # the same year again is refused as a whole, in Chinese, next to the form
    again = client.post("/wubao/standards", data={"year": "2012", "ratio": "55%", "action": "preview",
                                                  "csrf_token": csrf})
    assert again.status_code == 200 and 'id="preview-exists"' in again.text and 'id="confirm-form"' not in again.text
    refused = client.post("/wubao/standards", data={"year": "2012", "ratio": "55%", "action": "confirm",
                                                    "csrf_token": csrf})
    assert refused.status_code == 409 and "已有标准" in refused.text
    assert len(_wubao_standards(session)) == 2


def test_a_ratio_outside_the_band_is_refused_in_chinese(client: TestClient, county_officer: User,
                                                       session: Session) -> None:
    csrf = logged_in(client, county_officer)
    for action in ("preview", "confirm"):
        r = client.post("/wubao/standards", data={"year": "2012", "ratio": "0.7", "action": action,
                                                  "csrf_token": csrf})
        assert r.status_code == 422
        error = re.search(r'id="derive-error">(.*?)</div>', r.text)
        assert error and error.group(1) == "五保标准比例必须在 50%–60% 之间，不能是 70%"
        assert 'value="0.7"' in r.text  # the form keeps what was typed
    assert _wubao_standards(session) == []


def test_missing_statistics_and_a_bad_year_are_refused_in_chinese(client: TestClient, county_officer: User,
                                                                 session: Session) -> None:
    csrf = logged_in(client, county_officer)
    r = client.post("/wubao/standards", data={"year": "2030", "ratio": "55%", "action": "confirm", "csrf_token": csrf})
    assert r.status_code == 422 and "缺少海州区（320706）2029 年的农民人均纯收入" in r.text and "统计数据" in r.text
    r = client.post("/wubao/standards", data={"year": "明年", "ratio": "55%", "csrf_token": csrf})
    assert r.status_code == 422 and "年份应为 2000–2100 之间的四位数字" in r.text
    r = client.post("/wubao/standards", data={"year": "2012", "ratio": "一半", "csrf_token": csrf})
    assert r.status_code == 422 and "比例格式不正确" in r.text
    assert _wubao_standards(session) == []


def test_a_community_worker_sees_the_page_but_may_not_derive(client: TestClient, community_worker: User,
                                                             session: Session) -> None:
    csrf = logged_in(client, community_worker)
    page = client.get("/wubao")
    assert page.status_code == 200 and 'id="derive-form"' not in page.text
    for action in ("preview", "confirm"):
        r = client.post("/wubao/standards", data={"year": "2012", "ratio": "55%", "action": action,
                                                  "csrf_token": csrf})
        assert r.status_code == 403
    assert _wubao_standards(session) == []


def test_deriving_without_the_csrf_token_is_refused(client: TestClient, county_officer: User,
                                                   session: Session) -> None:
    logged_in(client, county_officer)
    r = client.post("/wubao/standards", data={"year": "2012", "ratio": "55%", "action": "confirm"})
    assert r.status_code == 403
    assert _wubao_standards(session) == []


def test_the_city_admin_derives_every_county(client: TestClient, city_admin: User, session: Session) -> None:
    csrf = logged_in(client, city_admin)
    r = client.post("/wubao/standards", data={"year": "2012", "ratio": "60%", "csrf_token": csrf})
    assert r.status_code == 200
    table = r.text.split('id="proposals"')[1]
    assert len(re.findall(r'<tr data-county="\d{6}">', table)) == 6
    assert "2011 年农民人均纯收入 9100 × 60% = 5460 元/年" in table


# ---- /premiums --------------------------------------------------------------------------------------

def test_the_premium_page_sums_the_roster_per_scheme(client: TestClient, county_officer: User,
                                                     session: Session) -> None:
    active_case(session, household(session, county_officer, hukou="城镇", members=3), start="2012-01")
    _wubao_case(session, county_officer)  # 农村, from 2012-01
    logged_in(client, county_officer)
    page = client.get("/premiums", params={"year": "2012"})
    assert page.status_code == 200
    assert 'href="/premiums" class="active" aria-current="page">参保代缴</a>' in page.text
    assert "市财政全额代缴所有低保家庭成员和农村五保供养对象" in page.text
    assert re.search(r'id="people">4<', page.text)
    urban = re.search(r'<tr data-scheme="城镇居民基本医疗保险">(.*?)</tr>', page.text, re.S)
    rural = re.search(r'<tr data-scheme="新型农村合作医疗">(.*?)</tr>', page.text, re.S)
    assert urban and ">3<" in urban.group(1) and "300.00" in urban.group(1)
    assert rural and ">1<" in rural.group(1) and "60.00" in rural.group(1)
    assert "个人缴费标准 × 覆盖月数 ÷ 12" in page.text
    assert 'href="/premiums/2012/roster.xlsx"' in page.text and 'href="/premiums/2012/roster.csv"' in page.text
    assert _audits(session, "premium.roster") == 0  # reading the totals is not an export


def test_the_roster_downloads_as_xlsx_with_the_agency_columns_and_is_audited(
        client: TestClient, county_officer: User, session: Session) -> None:
    h = household(session, county_officer, hukou="城镇", members=2)
    active_case(session, h, start="2012-07")
    logged_in(client, county_officer)
    r = client.get("/premiums/2012/roster.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    assert "premium-roster-2012.xlsx" in r.headers["content-disposition"]
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert list(rows[0]) == ["姓名", "身份证号", "险种", "户籍类别", "保障类别", "社区代码", "社区", "覆盖月数",
                             "代缴金额(元)"]
    ids = {m.id_number for m in h.members}
    assert {row[1] for row in rows[1:]} == ids  # full ID numbers, for the insurance agency
    assert all(row[2] == "城镇居民基本医疗保险" and int(row[7]) == 6 for row in rows[1:])
    assert _audits(session, "premium.roster") == 1
    csv = client.get("/premiums/2012/roster.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel opens it as UTF-8
    header = csv.content.decode("utf-8-sig").splitlines()[0]
    assert header == "姓名,身份证号,险种,户籍类别,保障类别,社区代码,社区,覆盖月数,代缴金额(元)"
    assert client.get("/premiums/2012/roster.pdf").status_code == 404


def test_a_call_agent_sees_the_totals_but_may_not_download_the_roster(client: TestClient, call_agent: User,
                                                                      county_officer: User, session: Session) -> None:
    active_case(session, household(session, county_officer), start="2012-01")
    logged_in(client, call_agent)
    page = client.get("/premiums", params={"year": "2012"})
    assert page.status_code == 200 and 'id="no-pii"' in page.text and "roster.xlsx" not in page.text
    assert 'href="/premiums"' not in page.text.split("</nav>")[0]  # not in the call agent's menu
    assert client.get("/premiums/2012/roster.xlsx").status_code == 403
    assert client.get("/premiums/2012/roster.csv").status_code == 403
    assert _audits(session, "premium.roster") == 0


def test_a_year_without_premium_rules_is_explained(client: TestClient, county_officer: User) -> None:
    logged_in(client, county_officer)
    r = client.get("/premiums", params={"year": "2010"})
    assert r.status_code == 422 and "政策文件没有 2010 年适用的" in r.text
    r = client.get("/premiums", params={"year": "abcd"})
    assert r.status_code == 422 and "年份应为" in r.text


# ---- /institutions ----------------------------------------------------------------------------------

def test_an_institution_is_added_then_listed_with_its_centralized_recipients(
        client: TestClient, county_officer: User, session: Session) -> None:
    csrf = logged_in(client, county_officer)
    page = client.get("/institutions")
    assert page.status_code == 200 and 'id="add-form"' in page.text
    assert '<option value="320706006">海州区 新海街道</option>' in page.text
    r = client.post("/institutions", data={"name": "新海街道敬老院", "region": HAIZHOU_TOWN, "kind": "敬老院",
                                           "beds": "40", "bank_account": "6228 4800 1234 5678 901",
                                           "opened_on": "2008-03-01", "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"].startswith("/institutions?added=")
    inst = session.execute(select(Institution).where(Institution.name == "新海街道敬老院")).scalar_one()
    for _ in range(2):
        _wubao_case(session, county_officer, institution=inst)
    _wubao_case(session, county_officer)  # 分散: lives at home
    page = client.get(r.headers["location"]).text
    assert "已登记供养机构：新海街道敬老院" in page
    row = re.search(rf'<tr data-institution="{inst.id}">(.*?)</tr>', page, re.S)
    assert row, page
    assert "海州区 新海街道" in row.group(1) and ">40<" in row.group(1)
    assert 'data-residents="2"' in row.group(1) and "5%" in row.group(1)
    assert "尾号 8901" in row.group(1) and "62284800" not in row.group(1)


def test_a_refused_institution_is_shown_next_to_the_form(client: TestClient, county_officer: User,
                                                        session: Session) -> None:
    _institution(session, county_officer)
    csrf = logged_in(client, county_officer)
    cases = [({"name": "新海街道敬老院", "region": HAIZHOU_TOWN}, 409, "机构已存在"),
             ({"name": "赣榆敬老院", "region": "320707100"}, 422, "未知区划代码"),  # another county
             ({"name": "X敬老院", "region": HAIZHOU, "beds": "-3"}, 422, "床位数应为"),
             ({"name": "Y敬老院", "region": HAIZHOU, "bank_account": "12ab"}, 422, "银行账号应为"),
             ({"name": "Z敬老院", "region": HAIZHOU, "kind": "宾馆"}, 422, "机构类型必须是"),
             ({"name": "", "region": HAIZHOU}, 422, "机构名称不能为空")]
    for data, status, message in cases:
        r = client.post("/institutions", data={"kind": "敬老院", **data, "csrf_token": csrf})
        assert r.status_code == status, (data, r.status_code)
        error = re.search(r'id="add-error">(.*?)</div>', r.text)
        assert error and message in error.group(1), (data, r.text)
    assert session.execute(select(func.count()).select_from(Institution)).scalar_one() == 1


def test_a_community_worker_lists_institutions_but_may_not_add_one(client: TestClient, community_worker: User,
                                                                   county_officer: User, session: Session) -> None:
    _institution(session, county_officer, name="新海街道敬老院")
    csrf = logged_in(client, community_worker)
    page = client.get("/institutions")
    assert page.status_code == 200 and 'id="add-form"' not in page.text
    r = client.post("/institutions", data={"name": "东风社区养老院", "region": "320706006001", "kind": "敬老院",
                                           "csrf_token": csrf})
    assert r.status_code == 403
    assert session.execute(select(func.count()).select_from(Institution)).scalar_one() == 1


def test_institutions_of_another_county_are_not_listed(client: TestClient, county_officer: User,
                                                       other_county_officer: User, session: Session) -> None:
    _institution(session, county_officer, name="新海街道敬老院")
    _institution(session, other_county_officer, name="赣榆区中心敬老院", region="320707")
    logged_in(client, other_county_officer)
    page = client.get("/institutions").text
    assert "赣榆区中心敬老院" in page and "新海街道敬老院" not in page
    assert 'value="320706' not in page  # nor can one be added there


def test_adding_an_institution_without_the_csrf_token_is_refused(client: TestClient, county_officer: User,
                                                                session: Session) -> None:
    logged_in(client, county_officer)
    r = client.post("/institutions", data={"name": "新海街道敬老院", "region": HAIZHOU_TOWN, "kind": "敬老院"})
    assert r.status_code == 403
    assert session.execute(select(func.count()).select_from(Institution)).scalar_one() == 0


# ---- all three ----------------------------------------------------------------------------------------

def test_the_pages_render_in_english_and_need_a_login(client: TestClient, city_admin: User,
                                                      session: Session) -> None:
    for path in ("/wubao", "/premiums", "/institutions"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    _wubao_case(session, city_admin, institution=_institution(session, city_admin))
    logged_in(client, city_admin)
    client.cookies.set(LANG_COOKIE, "en")
    for path, text in (("/wubao", "Centralized support rate"), ("/premiums?year=2012", "Download Excel"),
                       ("/institutions", "Register an institution")):
        r = client.get(path)
        assert r.status_code == 200 and text in r.text, path
        assert not re.search(r">\s*(wubao|premiums|institutions)\.[a-z_.]+\s*<", r.text), path  # no raw keys


def test_the_rate_and_the_institutions_export_to_xlsx(client, session, county_officer):  # type: ignore[no-untyped-def]
    import io as _io

    from openpyxl import load_workbook as _load
    from tests.web.conftest import logged_in as _logged_in

    from minxin.registry.service import add_institution

    add_institution(session, actor=county_officer, name="锦屏镇敬老院", region_code="320706100", beds=80)
    _logged_in(client, county_officer)
    rate = client.get("/wubao/rate.xlsx")
    assert rate.status_code == 200
    assert [c.value for c in _load(_io.BytesIO(rate.content)).active[1]][:3] == ["县区代码", "县区", "五保对象"]
    inst = client.get("/institutions.xlsx")
    rows = list(_load(_io.BytesIO(inst.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "机构名称" and rows[1][0] == "锦屏镇敬老院" and rows[1][3] == 80
