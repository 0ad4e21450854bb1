"""Moving recipients in from a bureau's spreadsheet: all rows or none, errors by row and column."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select
from tests.factories import household, new_id

from minxin.programs.case_import import import_cases
from minxin.programs.models import Case


def _csv(rows, headers=("身份证号", "开始月份", "账号", "类别")) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _count(session):
    return session.execute(select(func.count()).select_from(Case)).scalar_one()


def test_heads_become_active_cases_in_their_hukou_category(session, county_officer):
    a = household(session, county_officer, members=2)
    b = household(session, county_officer, members=1, hukou="农村", community="320706100001")
    data = _csv([[a.members[0].id_number, "2012-01", "6228480000000000011", ""],
                 [b.members[0].id_number.lower(), "2012-3", "6228 4800 0000 0000 022", "农村"]])
    res = import_cases(session, actor=county_officer, program="dibao", data=data, filename="cases.csv")
    assert res.ok, res.errors
    assert res.cases == 2
    cases = session.execute(select(Case).order_by(Case.id.desc()).limit(2)).scalars().all()
    by_hh = {c.household_id: c for c in cases}
    assert (by_hh[a.id].status, by_hh[a.id].category, by_hh[a.id].start_period) == ("active", "城镇", "2012-01")
    assert by_hh[b.id].bank_account == "6228480000000000022" and by_hh[b.id].start_period == "2012-03"
    assert by_hh[a.id].events[0].action == "import"


def test_every_bad_row_is_named_and_nothing_is_stored(session, county_officer, other_county_officer):
    a = household(session, county_officer, members=2)
    ganyu = household(session, other_county_officer, members=1, community="320707100001")
    before = _count(session)
    data = _csv([
        [a.members[1].id_number, "2012-01", "6228480000000000011", ""],   # row 2: spouse, not the head
        [new_id(), "2012-01", "6228480000000000012", ""],                 # row 3: not in the registry
        ["12345", "2012-01", "6228480000000000013", ""],                  # row 4: bad ID number
        [a.members[0].id_number, "2012-13", "abc", "城市"],                # row 5: month, account, category
        [ganyu.members[0].id_number, "2012-01", "6228480000000000014", ""],  # row 6: outside the scope
    ])
    res = import_cases(session, actor=county_officer, program="dibao", data=data, filename="bad.csv")
    found = {(e.row, e.column) for e in res.errors}
    assert found == {(2, "身份证号"), (3, "身份证号"), (4, "身份证号"), (5, "开始月份"), (5, "账号"), (5, "类别"),
                     (6, "身份证号")}
    assert "户主" in next(e.reason for e in res.errors if e.row == 2)
    assert _count(session) == before


def test_a_household_already_in_the_program_is_refused(session, county_officer):
    a = household(session, county_officer, members=1)
    row = [[a.members[0].id_number, "2012-01", "6228480000000000011", ""]]
    assert import_cases(session, actor=county_officer, program="dibao", data=_csv(row), filename="a.csv").ok
    again = import_cases(session, actor=county_officer, program="dibao", data=_csv(row), filename="a.csv")
    assert [(e.row, e.column) for e in again.errors] == [(2, "身份证号")]


def test_missing_columns_and_unknown_programs_are_refused(session, county_officer):
    res = import_cases(session, actor=county_officer, program="dibao", data=_csv([["1"]], headers=("身份证号",)),
                       filename="a.csv")
    assert "缺少列" in res.errors[0].reason
    import pytest

    from minxin.core.errors import ValidationError

    with pytest.raises(ValidationError, match="未知项目"):
        import_cases(session, actor=county_officer, program="nope", data=b"", filename="a.csv")
