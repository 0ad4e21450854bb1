"""`minxin veteran import`: every bad row named with its reason, nothing stored; good rows link or add persons."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from tests.factories import household, new_id

from minxin.core.errors import Forbidden
from minxin.programs.models import Case
from minxin.programs.service import set_standard
from minxin.registry.models import Household, Person
from minxin.veterans.importer import import_veterans
from minxin.veterans.models import VeteranEvent, VeteranRecipient

HEAD = "姓名,身份证号,社区代码,优抚类别,子类,开始月份,账号,服役年限"
ACCT = "622200000000000099"


def _data(*rows: str) -> bytes:
    return ("\n".join([HEAD, *rows]) + "\n").encode("utf-8")


def _count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_every_bad_row_is_named_with_its_reason_and_nothing_is_stored(session, county_officer, city_admin):
    held = new_id(date(1950, 1, 1))
    assert import_veterans(session, actor=county_officer, filename="a.csv", data=_data(
        f"已有,{held},320706006001,烈士遗属,,2013-01,{ACCT},")).ok
    before = (_count(session, VeteranRecipient), _count(session, Case), _count(session, Person))
    rows = [
        f"等级错,{new_id(date(1950, 1, 1))},320706006001,残疾军人,十一级/因战,2013-01,{ACCT},",   # row 2
        f"原因错,{new_id(date(1950, 1, 1))},320706006001,残疾军人,一级/因伤,2013-01,{ACCT},",    # row 3
        f"多子类,{new_id(date(1950, 1, 1))},320706006001,烈士遗属,一级/因战,2013-01,{ACCT},",    # row 4
        f"无标准,{new_id(date(1950, 1, 1))},320706006001,残疾军人,八级/因病,2013-01,{ACCT},",    # row 5
        f"未生效,{new_id(date(1950, 1, 1))},320706006001,病故军人遗属,,2008-01,{ACCT},",        # row 6
        f"已有,{held},320706006001,烈士遗属,,2013-02,{ACCT},",                                 # row 7
        f"坏号码,320706195001011234,320706006001,烈士遗属,,2013-01,{ACCT},",                    # row 8
        f"外县,{new_id(date(1950, 1, 1), region='320707')},320707100001,烈士遗属,,2013-01,{ACCT},",  # row 9
        f"缺年限,{new_id(date(1940, 1, 1))},320706006001,60周岁以上农村籍退役士兵,,2013-01,{ACCT},",  # row 10
        f"未满六十,{new_id(date(1960, 1, 1))},320706006001,60周岁以上农村籍退役士兵,,2013-01,{ACCT},5",  # row 11
        f"无类别,{new_id(date(1950, 1, 1))},320706006001,现役军人家属,,2013-01,{ACCT},",       # row 12
        f"缺时期,{new_id(date(1930, 1, 1))},320706006001,在乡复员军人,,2013-01,{ACCT},",       # row 13
        f"好人,{new_id(date(1950, 1, 1))},320706006001,烈士遗属,,2013-01,{ACCT},",             # row 14 is fine
    ]
    res = import_veterans(session, actor=county_officer, filename="bad.csv", data=_data(*rows))
    got = [(e.row, e.column, e.reason) for e in res.errors]
    assert [(r, c) for r, c, _ in got] == [
        (2, "子类"), (3, "子类"), (4, "子类"), (5, "优抚类别"), (6, "优抚类别"), (7, "优抚类别"), (8, "身份证号"),
        (9, "社区代码"), (10, "服役年限"), (11, "身份证号"), (12, "优抚类别"), (13, "子类")]
    reasons = {r: reason for r, _, reason in got}
    assert "一级至十级" in reasons[2]
    assert "因战/因公/因病" in reasons[3]
    assert "不分子类" in reasons[4]
    assert "没有生效的抚恤补助标准" in reasons[5] and "2008-01" in reasons[6]
    assert "已是烈士遗属优抚对象" in reasons[7]
    assert "不在您的辖区内" in reasons[9]
    assert "60 周岁" in reasons[11]
    assert str(res.errors[0]).startswith("row 2, column 子类: ")
    assert (_count(session, VeteranRecipient), _count(session, Case), _count(session, Person)) == before


def test_a_registered_person_is_linked_and_a_new_one_gets_a_household_of_their_own(session, county_officer):
    hh = household(session, county_officer, members=2)
    spouse = next(m for m in hh.members if not m.is_head)
    newcomer = new_id(date(1928, 6, 1))
    res = import_veterans(session, actor=county_officer, filename="ok.csv", data=_data(
        f"{spouse.name},{spouse.id_number},{hh.region_code},残疾军人,一级／因战,2013-01,{ACCT},",
        f"老复员,{newcomer},320706006001,在乡复员军人,抗日战争时期,2013-01,{ACCT},"))
    assert res.ok and (res.recipients, res.new_persons) == (2, 1)
    linked = session.execute(select(Case).where(Case.person_id == spouse.id, Case.program_code == "youfu")
                             ).scalar_one()
    assert (linked.status, linked.category, linked.household_id) == ("active", "残疾军人/一级/因战", hh.id)
    person = session.execute(select(Person).where(Person.id_number == newcomer)).scalar_one()
    own = session.get(Household, person.household_id)
    assert person.is_head and own.region_code == "320706006001" and own.household_no == f"YF{newcomer}"
    recipient = session.execute(select(VeteranRecipient).where(VeteranRecipient.person_id == person.id)).scalar_one()
    assert (recipient.category, recipient.subkind) == ("在乡复员军人", "抗日战争时期")
    assert session.execute(select(VeteranEvent.kind).where(VeteranEvent.recipient_id == recipient.id)
                           ).scalar_one() == "new"


def test_a_wrong_name_or_community_for_a_registered_person_is_refused(session, county_officer):
    hh = household(session, county_officer, members=2)
    head, spouse = hh.members[0], hh.members[1]
    res = import_veterans(session, actor=county_officer, filename="x.csv", data=_data(
        f"别人,{head.id_number},{hh.region_code},烈士遗属,,2013-01,{ACCT},",
        f"{spouse.name},{spouse.id_number},320706006002,烈士遗属,,2013-01,{ACCT},"))
    assert [(e.row, e.column) for e in res.errors] == [(2, "姓名"), (3, "社区代码")]


def test_a_file_without_the_columns_or_a_user_without_the_right_is_refused(session, county_officer, town_officer):
    res = import_veterans(session, actor=county_officer, filename="x.csv", data="姓名,身份证号\n张三,1\n".encode())
    assert not res.ok and res.errors[0].row == 1 and "子类" in res.errors[0].reason
    with pytest.raises(Forbidden):
        import_veterans(session, actor=town_officer, filename="x.csv", data=_data())


def test_a_standard_dated_into_a_reconciled_month_is_refused(session, county_officer, city_admin):
    from minxin.core.errors import Conflict
    from minxin.core.period import Period
    from minxin.programs.cycles import approve_cycle, run_cycle
    from minxin.programs.models import Cycle

    n = new_id(date(1950, 1, 1))
    assert import_veterans(session, actor=county_officer, filename="a.csv", data=_data(
        f"烈属,{n},320706006001,烈士遗属,,2013-01,{ACCT},")).ok
    s = run_cycle(session, actor=county_officer, program="youfu", period=Period(2013, 1))
    approve_cycle(session, actor=city_admin, cycle_id=s.cycle_id)
    session.get(Cycle, s.cycle_id).status = "reconciled"
    session.flush()
    with pytest.raises(Conflict, match="已对账"):
        set_standard(session, actor=county_officer, program="youfu", region_code="320706", amount_fen=1300000,
                     effective=date(2013, 1, 1), category="烈士遗属")


def test_the_same_person_twice_in_a_file_or_a_control_character_is_named_and_nothing_is_stored(session, county_officer):
    twice = new_id(date(1950, 1, 1))
    before = (_count(session, VeteranRecipient), _count(session, Case), _count(session, Person))
    res = import_veterans(session, actor=county_officer, filename="dup.csv", data=_data(
        f"两次,{twice},320706006001,烈士遗属,,2013-01,{ACCT},",
        f"两次,{twice},320706006001,病故军人遗属,,2013-01,{ACCT},",                              # row 3: again
        f"零级,{new_id(date(1950, 1, 1))},320706006001,残疾军人,零级/因战,2013-01,{ACCT},",       # row 4
        f"无原因,{new_id(date(1950, 1, 1))},320706006001,残疾军人,一级,2013-01,{ACCT},"))          # row 5
    assert not res.ok
    assert [(e.row, e.column) for e in res.errors] == [(3, "身份证号"), (4, "子类"), (5, "子类")]
    assert "重复" in res.errors[0].reason
    assert (_count(session, VeteranRecipient), _count(session, Case), _count(session, Person)) == before
    control = import_veterans(session, actor=county_officer, filename="c.csv", data=_data(
        f"控\x07制,{new_id(date(1950, 1, 1))},320706006001,烈士遗属,,2013-01,{ACCT},"))
    assert not control.ok and control.errors
    assert (_count(session, VeteranRecipient), _count(session, Case), _count(session, Person)) == before


def test_a_bad_grade_in_an_xlsx_is_named_like_in_a_csv(session, county_officer):
    import io

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEAD.split(","))
    ws.append(["甲", new_id(date(1950, 1, 1)), "320706006001", "残疾军人", "十二级/因公", "2013-01", ACCT, None])
    buf = io.BytesIO()
    wb.save(buf)
    res = import_veterans(session, actor=county_officer, filename="g.xlsx", data=buf.getvalue())
    assert [(e.row, e.column) for e in res.errors] == [(2, "子类")] and "一级至十级" in res.errors[0].reason
    assert _count(session, VeteranRecipient) == 0
