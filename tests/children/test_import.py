"""Moving children in: `minxin case import orphan` (the engine's import) and the children's import with
guardians — 类别 集中养育/社会散居, 机构 for 集中养育, a child 18 or over at the start month refused; every
bad row named, nothing stored."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from tests.children.helpers import CASE_HEADERS, csv_bytes
from tests.factories import child, institution

from minxin.auth.models import AuditEvent
from minxin.children.models import ChildRecord
from minxin.children.service import import_children
from minxin.programs.case_import import import_cases
from minxin.programs.models import Case


def _orphan_cases(session) -> int:
    return session.execute(select(func.count()).select_from(Case).where(Case.program_code == "orphan")).scalar_one()


def _row(person, *, category="社会散居", inst="", start="2012-07", guardian="张大山", relation="祖父母",
         phone="13800000000", guardian_id=""):
    return [person.name, person.id_number, category, inst, start, "6222020000000000001", guardian, relation, phone,
            guardian_id]


def test_the_case_import_takes_both_placements_and_pays_the_institution_child_to_its_home(session, county_officer):
    home = institution(session)
    a = child(session, county_officer, birth=date(2001, 3, 1))
    b = child(session, county_officer, birth=date(2003, 9, 9))
    res = import_cases(session, actor=county_officer, program="orphan", filename="o.csv",
                       data=csv_bytes([_row(a), _row(b, category="集中养育", inst=home.name)]))
    assert res.ok, res.errors
    assert res.cases == 2
    cases = {c.person_id: c for c in session.execute(select(Case).where(Case.program_code == "orphan")).scalars()}
    assert cases[a.id].category == "社会散居" and cases[a.id].institution_id is None
    assert cases[b.id].category == "集中养育" and cases[b.id].institution_id == home.id


def test_bad_rows_are_named_and_nothing_is_stored(session, county_officer, other_county_officer):
    home = institution(session)
    far_home = institution(session, name="赣榆区儿童福利院", region="320707")
    adult = child(session, county_officer, birth=date(1994, 6, 15))  # 18 in 2012-06
    birthday_month = child(session, county_officer, birth=date(1994, 7, 31))  # 18 in 2012-07: still paid
    ok = child(session, county_officer, birth=date(2004, 1, 1))
    rows = [
        _row(adult),  # row 2: 18 or over at 2012-07
        _row(ok, category="集中供养"),  # row 3: not a category of the program
        _row(child(session, county_officer, birth=date(2005, 1, 1)), category="集中养育", inst="无名福利院"),  # 4
        _row(child(session, county_officer, birth=date(2005, 2, 1)), category="集中养育"),  # 5: no institution
        _row(child(session, county_officer, birth=date(2005, 3, 1)), category="集中养育", inst=far_home.name),  # 6
        _row(child(session, county_officer, birth=date(2005, 4, 1)), category=""),  # 7: category missing
        _row(birthday_month),  # 8: fine
        _row(child(session, county_officer, birth=date(2006, 1, 1)), category="集中养育", inst=home.name),  # 9: fine
    ]
    res = import_cases(session, actor=county_officer, program="orphan", filename="bad.csv", data=csv_bytes(rows))
    got = {(e.row, e.column): e.reason for e in res.errors}
    assert set(got) == {(2, "身份证号"), (3, "类别"), (4, "机构"), (5, "机构"), (6, "机构"), (7, "类别")}
    assert "开始月份 2012-07 时已满 18 周岁（2012-06 满 18 周岁）" in got[(2, "身份证号")]
    assert "集中养育/社会散居" in got[(3, "类别")]
    assert "未登记的供养机构：无名福利院" in got[(4, "机构")]
    assert "集中养育供养须填写供养机构" in got[(5, "机构")]
    assert "供养机构不在此人所在县区" in got[(6, "机构")]
    assert _orphan_cases(session) == 0


def test_the_children_import_records_guardians_with_the_cases(session, county_officer):
    a = child(session, county_officer, birth=date(2001, 3, 1))
    res = import_children(session, actor=county_officer, filename="c.csv",
                          data=csv_bytes([_row(a, guardian_id="")]))
    assert res.ok, res.errors
    assert res.cases == 1
    record = session.execute(select(ChildRecord).where(ChildRecord.person_id == a.id)).scalar_one()
    assert (record.guardian_name, record.guardian_relation) == ("张大山", "祖父母")
    assert record.guardian_phone == "13800000000"
    assert record.region_code == "320706006001"
    actions = set(session.execute(select(AuditEvent.action).where(AuditEvent.action.in_(
        ["case.import", "child.import"]))).scalars())
    assert actions == {"case.import", "child.import"}


def test_the_children_import_lists_guardian_and_case_errors_together_and_stores_nothing(session, county_officer):
    a = child(session, county_officer, birth=date(2001, 3, 1))
    b = child(session, county_officer, birth=date(1990, 3, 1))
    res = import_children(session, actor=county_officer, filename="c.csv", data=csv_bytes([
        _row(a, guardian="", relation="邻居", phone="abc", guardian_id="320706199001011234"),
        _row(b),
    ]))
    got = {(e.row, e.column) for e in res.errors}
    assert got == {(2, "监护人姓名"), (2, "监护人关系"), (2, "监护人电话"), (2, "监护人身份证号"), (3, "身份证号")}
    assert _orphan_cases(session) == 0
    assert session.execute(select(func.count()).select_from(ChildRecord)).scalar_one() == 0


def test_a_file_without_guardian_columns_is_refused_whole(session, county_officer):
    a = child(session, county_officer, birth=date(2001, 3, 1))
    res = import_children(session, actor=county_officer, filename="c.csv",
                          data=csv_bytes([_row(a)[:6]], headers=CASE_HEADERS[:6]))
    assert [(e.row, e.column) for e in res.errors] == [(1, "文件")]
    assert _orphan_cases(session) == 0
