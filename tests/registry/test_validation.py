"""Registry input on every path: out-of-scope existence, the text rule and length limits, literal search.

A person or 户编号 registered in another county is refused with 已在其他辖区登记 and nothing else
(not the household number, the community or a masked ID); within the user's scope the refusal still
names the household, as a clerk needs it.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import func, select
from tests.factories import household, new_id

from minxin.core.errors import Conflict, ValidationError
from minxin.core.masking import mask_id
from minxin.registry.importer import HEADERS, import_households
from minxin.registry.models import Household, IncomeDeclaration, Person
from minxin.registry.service import (
    HouseholdIn,
    MemberIn,
    add_institution,
    create_household,
    declare_income,
    search_persons,
)

HAIZHOU_C = "320706006001"
GANYU_C = "320707100001"
OUTSIDE = "已在其他辖区登记"


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADERS)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _row(no: str, number: str, *, name: str = "张伟", relation: str = "户主", community: str = GANYU_C) -> list[str]:
    return [no, name, number, relation, community, "城镇", "100", "", ""]


def _leaks(reason: str, h: Household) -> list[str]:
    head = h.members[0]
    secrets = [h.household_no, h.region_code, mask_id(head.id_number), head.id_number[-4:]]
    return [s for s in secrets if s in reason]


# ---- out-of-scope existence ------------------------------------------------------------------------

def test_an_import_naming_a_person_of_another_county_says_only_that(session, county_officer,
                                                                    other_county_officer):
    theirs = household(session, county_officer, members=1, no="HZSECRET01")
    res = import_households(session, actor=other_county_officer, filename="a.csv",
                            data=_csv([_row("GY0001", theirs.members[0].id_number)]))
    [error] = res.errors
    assert (error.row, error.column) == (2, "身份证号")
    assert OUTSIDE in error.reason and _leaks(error.reason, theirs) == []


def test_an_import_within_the_scope_still_names_the_household(session, county_officer):
    ours = household(session, county_officer, members=1, no="HZOWN0001")
    res = import_households(session, actor=county_officer, filename="a.csv",
                            data=_csv([_row("HZ0002", ours.members[0].id_number, community=HAIZHOU_C)]))
    assert ["HZOWN0001" in e.reason for e in res.errors] == [True]


def test_a_community_worker_learns_nothing_of_a_household_in_the_next_community(session, county_officer,
                                                                               community_worker):
    other = household(session, county_officer, members=1, community="320706006002", no="NEXTDOOR01")
    res = import_households(session, actor=community_worker, filename="a.csv",
                            data=_csv([_row("CW0001", other.members[0].id_number, community=HAIZHOU_C)]))
    assert [OUTSIDE in e.reason and not _leaks(e.reason, other) for e in res.errors] == [True]


def test_a_household_number_used_in_another_county_is_refused_without_saying_where(session, county_officer,
                                                                                   other_county_officer):
    theirs = household(session, county_officer, members=1, no="SHARED-NO-1")
    res = import_households(session, actor=other_county_officer, filename="a.csv",
                            data=_csv([_row("SHARED-NO-1", new_id(region="320707"))]))
    [error] = res.errors
    assert error.column == "户编号" and OUTSIDE in error.reason
    assert theirs.region_code not in error.reason
    with pytest.raises(Conflict) as exc:
        create_household(session, actor=other_county_officer, data=HouseholdIn(
            household_no="SHARED-NO-1", region_code=GANYU_C, hukou_type="城镇",
            members=[MemberIn(name="赵六", id_number=new_id(region="320707"), relation="户主")]))
    assert OUTSIDE in exc.value.message and theirs.region_code not in exc.value.message


def test_registering_a_person_of_another_county_says_only_that(session, county_officer, other_county_officer):
    theirs = household(session, county_officer, members=1, no="HZSECRET02")
    with pytest.raises(Conflict) as exc:
        create_household(session, actor=other_county_officer, data=HouseholdIn(
            household_no="GY0003", region_code=GANYU_C, hukou_type="城镇",
            members=[MemberIn(name="赵六", id_number=new_id(region="320707"), relation="户主"),
                     MemberIn(name="钱七", id_number=theirs.members[0].id_number, relation="配偶")]))
    assert OUTSIDE in exc.value.message and "第 2 名成员" in exc.value.message
    assert _leaks(exc.value.message, theirs) == [] and exc.value.field == "身份证号"


# ---- the text rule and the limits --------------------------------------------------------------------

def test_a_five_thousand_character_household_number_is_refused_on_import(session, county_officer):
    before = session.execute(select(func.count()).select_from(Household)).scalar_one()
    res = import_households(session, actor=county_officer, filename="long.csv",
                            data=_csv([_row("H" * 5000, new_id(), community=HAIZHOU_C)]))
    assert [(e.row, e.column) for e in res.errors] == [(2, "户编号")]
    assert "最多 32" in res.errors[0].reason
    assert session.execute(select(func.count()).select_from(Household)).scalar_one() == before


@pytest.mark.parametrize("name", ["张\u202e三", "张\u200d三", "张\x1b三", "张\x85三", "李" * 33])
def test_names_with_control_direction_or_invisible_characters_are_refused(session, county_officer,
                                                                         name: str):
    res = import_households(session, actor=county_officer, filename="n.csv",
                            data=_csv([_row("NAME0001", new_id(), name=name, community=HAIZHOU_C)]))
    if name == "张\x1b三":  # a C0 control byte makes the CSV no text file at all: refused whole, the line named
        assert [(e.row, e.column) for e in res.errors] == [(1, "文件")] and "第 2 行" in res.errors[0].reason
    else:
        assert [(e.row, e.column) for e in res.errors] == [(2, "姓名")]
    with pytest.raises(ValidationError) as exc:
        create_household(session, actor=county_officer, data=HouseholdIn(
            household_no="NAME0002", region_code=HAIZHOU_C, hukou_type="城镇",
            members=[MemberIn(name=name, id_number=new_id(), relation="户主")]))
    assert exc.value.field == "姓名"


def test_a_household_number_with_a_direction_override_is_refused(session, county_officer):
    res = import_households(session, actor=county_officer, filename="n.csv",
                            data=_csv([_row("HZ\u202e0001", new_id(), community=HAIZHOU_C)]))
    assert [(e.column, "文字方向" in e.reason) for e in res.errors] == [("户编号", True)]


def test_address_and_declaration_note_keep_their_limits(session, county_officer):
    with pytest.raises(ValidationError, match="住址过长"):
        create_household(session, actor=county_officer, data=HouseholdIn(
            household_no="ADDR0001", region_code=HAIZHOU_C, hukou_type="城镇", address="路" * 201,
            members=[MemberIn(name="孙八", id_number=new_id(), relation="户主")]))
    h = household(session, county_officer, members=1)
    with pytest.raises(ValidationError, match="备注过长"):
        declare_income(session, actor=county_officer, household_id=h.id, monthly_income_fen=0, note="注" * 2001)
    declare_income(session, actor=county_officer, household_id=h.id, monthly_income_fen=0,
                   declared_on=date(2012, 1, 1), note="第一行\n第二行")
    assert session.execute(select(IncomeDeclaration.note).where(IncomeDeclaration.household_id == h.id,
                                                                IncomeDeclaration.source == "manual")
                           ).scalar_one() == "第一行\n第二行"


def test_an_institution_name_with_a_control_character_is_refused(session, county_officer):
    with pytest.raises(ValidationError, match="控制字符"):
        add_institution(session, actor=county_officer, name="敬老院\x1b[31m", region_code="320706100")


# ---- search --------------------------------------------------------------------------------------

@pytest.mark.parametrize("q", ["%", "_", "%%", "_%", "\\"])
def test_a_search_for_a_wildcard_does_not_return_everyone(session, county_officer, q: str):
    for _ in range(3):
        household(session, county_officer, members=1)
    assert search_persons(session, user=county_officer, q=q).total == 0
    assert search_persons(session, user=county_officer, q="").total >= 3


def test_percent_and_underscore_in_a_name_match_themselves(session, county_officer):
    h = household(session, county_officer, members=1)
    person = session.get(Person, h.members[0].id)
    person.name = "王_%五"
    session.flush()
    found = search_persons(session, user=county_officer, q="_%五")
    assert [p.id for p in found.items] == [person.id]
    assert search_persons(session, user=county_officer, q="王%五").total == 0
