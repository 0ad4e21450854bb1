"""Finding people: the registry search by each field (name/ID, 户编号, phone, address, community), scoped to
the user and paged, with hostile input refused by reason; community labels and the community code list."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tests.factories import new_id

from minxin.core.errors import ValidationError
from minxin.regions import region_label, region_labels
from minxin.registry.models import Region
from minxin.registry.service import (
    HouseholdIn,
    MemberIn,
    all_communities,
    create_household,
    search_communities,
    search_persons,
)

COMMUNITY = "320706006001"  # 新海街道
OTHER_TOWN_COMMUNITY = "320706001001"  # 朐阳街道, same county
GANYU_COMMUNITY = "320707100001"


def _register(session, actor, *, community: str, no: str, name: str, phone: str | None, address: str | None,
              member_phone: str | None = None):
    return create_household(session, actor=actor, data=HouseholdIn(
        household_no=no, region_code=community, hukou_type="城镇", address=address, phone=phone,
        members=[MemberIn(name=name, id_number=new_id(), relation="户主", phone=member_phone),
                 MemberIn(name=name[0] + "小妹", id_number=new_id(female=True), relation="子女")]))


@pytest.fixture
def city(session, city_admin):
    """Three households: two in Haizhou (two towns), one in Ganyu; each with a distinctive field."""
    a = _register(session, city_admin, community=COMMUNITY, no="HZ-2012-0042", name="蒋卫东",
                  phone="13905180042", address="新海街道人民路 18 号 3 单元", member_phone="15861230001")
    b = _register(session, city_admin, community=OTHER_TOWN_COMMUNITY, no="HZ-2012-0077", name="窦秀英",
                  phone="0518-85550077", address="朐阳街道解放中路 7 号")
    c = _register(session, city_admin, community=GANYU_COMMUNITY, no="GY-2012-0042", name="蒋卫国",
                  phone="13905180099", address="青口镇人民路 18 号")
    return a, b, c


def _names(page) -> set[str]:
    return {p.name for p in page.items}


def test_search_by_household_number_finds_the_household_s_members_head_first(session, county_officer, city):
    a, _, _ = city
    found = search_persons(session, user=county_officer, q="HZ-2012-0042", by="household_no")
    assert [p.name for p in found.items] == ["蒋卫东", "蒋小妹"]
    # Part of the number; the Ganyu household with the same tail stays out of a Haizhou officer's answer.
    assert {p.household_id for p in search_persons(session, user=county_officer, q="0042",
                                                   by="household_no").items} == {a.id}


def test_search_by_phone_finds_the_household_phone_and_a_member_s_own(session, county_officer, city):
    assert _names(search_persons(session, user=county_officer, q="139 0518 0042", by="phone")) == {"蒋卫东", "蒋小妹"}
    assert _names(search_persons(session, user=county_officer, q="1586123", by="phone")) == {"蒋卫东"}
    # The landline as written on a form, dashes and all.
    assert _names(search_persons(session, user=county_officer, q="0518-85550077", by="phone")) == {"窦秀英", "窦小妹"}
    # 13905180099 is Ganyu's: out of scope, nothing.
    assert search_persons(session, user=county_officer, q="13905180099", by="phone").total == 0


def test_search_by_address_and_its_scope(session, county_officer, town_officer, city):
    assert _names(search_persons(session, user=county_officer, q="人民路", by="address")) == {"蒋卫东", "蒋小妹"}
    assert _names(search_persons(session, user=county_officer, q="解放中路 7", by="address")) == {"窦秀英", "窦小妹"}
    # The town officer of 新海街道 does not find 朐阳街道's household.
    assert search_persons(session, user=town_officer, q="解放中路", by="address").total == 0


def test_search_by_community_name_and_by_town_and_community(session, county_officer, other_county_officer, city):
    community = session.get(Region, COMMUNITY)
    stem = community.name.removesuffix("社区")
    found = search_persons(session, user=county_officer, q=stem, by="community")
    assert {"蒋卫东", "蒋小妹"} <= _names(found)
    assert all(p.region_code.startswith("320706") for p in found.items)
    town = session.get(Region, community.parent_code)
    both = search_persons(session, user=county_officer, q=f"{town.name} {community.name}", by="community")
    assert _names(both) == {"蒋卫东", "蒋小妹"}
    assert _names(search_persons(session, user=county_officer, q=f"{town.name}·{stem}", by="community")) == \
        {"蒋卫东", "蒋小妹"}
    # Ganyu's officer searching Haizhou's community name finds none of its people.
    assert search_persons(session, user=other_county_officer, q=community.name, by="community").total == 0


def test_name_and_id_search_keeps_working_and_stays_the_default(session, county_officer, city):
    a, _, _ = city
    head = next(m for m in a.members if m.is_head)
    assert _names(search_persons(session, user=county_officer, q="卫东")) == {"蒋卫东"}
    assert _names(search_persons(session, user=county_officer, q=head.id_number)) == {"蒋卫东"}
    assert _names(search_persons(session, user=county_officer, q=head.id_number[-4:], by="name_id")) >= {"蒋卫东"}


@pytest.mark.parametrize("by", ["household_no", "address", "community", "name_id"])
def test_percent_and_underscore_are_literal_in_every_field(session, county_officer, city, by):
    assert search_persons(session, user=county_officer, q="%%", by=by).total == 0
    assert search_persons(session, user=county_officer, q="__", by=by).total == 0


def test_the_search_is_paged(session, county_officer, city):
    first = search_persons(session, user=county_officer, q="人民路", by="address", page=1, page_size=1)
    second = search_persons(session, user=county_officer, q="人民路", by="address", page=2, page_size=1)
    assert first.total == second.total == 2 and first.pages == 2
    assert {first.items[0].id, second.items[0].id} == {p.id for p in city[0].members}


@pytest.mark.parametrize(("q", "by", "reason"), [
    ("蒋\x00卫东", "name_id", "控制字符"),
    ("HZ\x1b[2J", "household_no", "控制字符"),
    ("人民路\u202e", "address", "文字方向"),
    ("x" * 65, "address", "过长"),
    ("1390518abcd", "phone", "只能输入数字"),
    ("139", "phone", "至少输入"),
    ("路", "address", "至少输入"),
    ("蒋卫东", "password", "查找方式"),
])
def test_hostile_or_malformed_queries_are_refused_with_a_reason(session, county_officer, city, q, by, reason):
    with pytest.raises(ValidationError) as exc:
        search_persons(session, user=county_officer, q=q, by=by)
    assert reason in exc.value.message


def test_a_community_is_labelled_with_its_town(session):
    community = session.get(Region, COMMUNITY)
    town = session.get(Region, community.parent_code)
    assert region_label(session, COMMUNITY) == f"{town.name} · {community.name}"
    labels = region_labels(session, {COMMUNITY, "320706", "320706006", "999999999999"})
    assert labels["320706"] == "海州区" and labels["320706006"] == town.name
    assert "999999999999" not in labels
    # Community names repeat across towns: the labels of two same-named communities differ.
    same = session.execute(select(Region.code).where(Region.level == "community", Region.name == community.name,
                                                     Region.code != COMMUNITY)).scalars().first()
    if same is not None:
        assert region_label(session, same) != region_label(session, COMMUNITY)


def test_the_community_list_is_scoped_searchable_and_paged(session, county_officer, community_worker,
                                                           other_county_officer):
    mine = search_communities(session, user=community_worker)
    assert [c.code for c in mine.items] == [COMMUNITY]
    county = all_communities(session, user=county_officer)
    assert county and all(c.code.startswith("320706") and len(c.code) == 12 for c in county)
    assert all(c.county == "海州区" for c in county)
    community = session.get(Region, COMMUNITY)
    found = search_communities(session, user=county_officer, q=community.name)
    assert COMMUNITY in {c.code for c in found.items}
    assert all(c.name == community.name or community.name in c.town for c in found.items) or found.total
    by_code = search_communities(session, user=county_officer, q="320706006")
    assert by_code.total and all(c.code.startswith("320706006") for c in by_code.items)
    assert search_communities(session, user=other_county_officer, q="320706006").total == 0
    assert search_communities(session, user=other_county_officer, q=community.name).total == 0 or all(
        c.code.startswith("320707") for c in search_communities(session, user=other_county_officer,
                                                                q=community.name).items)
    paged = search_communities(session, user=county_officer, page=2, page_size=5)
    assert len(paged.items) == 5 and paged.total == len(county)
    assert search_communities(session, user=county_officer, q="%").total == 0
    with pytest.raises(ValidationError):
        search_communities(session, user=county_officer, q="胜利\x00")
