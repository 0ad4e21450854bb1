"""Household import: all-or-nothing, every failure listed as `row N, column X: reason`."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from tests.factories import household, new_id

from minxin.kit.tabular import write_error_sheet
from minxin.registry.importer import HEADERS, import_households, template_bytes
from minxin.registry.models import Household, Person

C = "320706006001"


def _rows(n_households: int = 2) -> list[list[str]]:
    rows = []
    for i in range(n_households):
        no = f"IMP{i:04d}"
        rows.append([no, "张伟", new_id(date(1970, 1, 1)), "户主", C, "城镇", "1200.50", "13812345678", ""])
        rows.append([no, "李娜", new_id(date(1972, 1, 1), female=True), "配偶", C, "城镇", "800", "", "二级"])
    return rows


def _csv(rows: list[list[str]], *, headers: list[str] = HEADERS, encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def _xlsx(rows: list[list[object]], headers: list[str] = HEADERS) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_a_clean_csv_imports_in_any_of_the_three_encodings(session, county_officer, encoding):
    before = _count(session, Household)
    result = import_households(session, actor=county_officer, data=_csv(_rows(3), encoding=encoding),
                               filename="a.csv")
    assert result.ok, result.errors
    assert (result.households, result.persons) == (3, 6)
    assert _count(session, Household) == before + 3
    hh = session.execute(select(Household).where(Household.household_no == "IMP0001")).scalar_one()
    assert hh.monthly_income_fen == 120050 + 80000
    assert [m.relation for m in hh.members] == ["户主", "配偶"]
    assert hh.members[1].disability_grade == 2


def test_an_xlsx_with_numeric_cells_imports(session, county_officer):
    rows: list[list[object]] = [["X1", "王强", new_id(), "户主", int(C), "农村", 460.5, 13812345678, "一级"]]
    result = import_households(session, actor=county_officer, data=_xlsx(rows), filename="a.xlsx")
    assert result.ok, result.errors
    p = session.execute(select(Person).where(Person.name == "王强")).scalars().first()
    assert p.monthly_income_fen == 46050 and p.phone == "13812345678" and p.disability_grade == 1


def test_every_mistake_is_listed_with_row_and_column_and_nothing_is_stored(session, county_officer):
    good = new_id()
    dup = new_id()
    rows = [
        ["A", "张三", good, "户主", C, "城镇", "100", "", ""],              # row 2 fine
        ["A", "李四", good, "配偶", C, "城镇", "100", "", ""],              # row 3 duplicate ID in file
        ["B", "王五", "320706199001011234", "户主", C, "城镇", "", "", ""],  # row 4 bad check digit
        ["C", "赵六", dup, "户主", "320706999999", "城镇", "", "", ""],     # row 5 unknown community
        ["D", "钱七", new_id(), "户主", C, "城市", "-5", "", ""],           # row 6 hukou + negative income
        ["E", "孙八", new_id(), "儿子", C, "城镇", "abc", "123", "五级"],   # row 7 relation, income, phone, grade
        ["F", "周九", new_id(), "配偶", C, "城镇", "", "", ""],             # row 8 household without head
        ["G", "吴十", new_id(), "户主", C, "城镇", "", "", ""],             # row 9
        ["G", "郑一", new_id(), "户主", C, "城镇", "", "", ""],             # row 10 second head
        ["H", "", new_id(), "户主", C, "城镇", "", "", ""],                 # row 11 empty name
        ["I", "冯二", "32070619900230123X", "户主", C, "城镇", "", "", ""],  # row 12 impossible date
    ]
    before = (_count(session, Household), _count(session, Person))
    result = import_households(session, actor=county_officer, data=_csv(rows), filename="bad.csv")
    assert not result.ok
    found = {(e.row, e.column) for e in result.errors}
    expected = {(3, "身份证号"), (4, "身份证号"), (5, "社区代码"), (6, "户籍类别"), (6, "月收入"),
                (7, "与户主关系"), (7, "月收入"), (7, "联系电话"), (7, "残疾等级"), (8, "与户主关系"),
                (10, "与户主关系"), (11, "姓名"), (12, "身份证号")}
    assert expected <= found, sorted(found)
    assert (2, "身份证号") not in found
    assert str(result.errors[0]).startswith("row 3, column 身份证号: ")
    assert (_count(session, Household), _count(session, Person)) == before


def test_a_person_already_registered_is_refused_naming_the_household(session, county_officer):
    existing = household(session, county_officer, members=1, no="OLD-1")
    rows = [["NEW1", "张三", existing.members[0].id_number, "户主", C, "城镇", "", "", ""]]
    result = import_households(session, actor=county_officer, data=_csv(rows), filename="a.csv")
    assert [(e.row, e.column) for e in result.errors] == [(2, "身份证号")]
    assert "OLD-1" in result.errors[0].reason


def test_an_existing_household_number_is_refused(session, county_officer):
    household(session, county_officer, members=1, no="DUP-NO")
    rows = [["DUP-NO", "张三", new_id(), "户主", C, "城镇", "", "", ""]]
    result = import_households(session, actor=county_officer, data=_csv(rows), filename="a.csv")
    assert [(e.row, e.column) for e in result.errors] == [(2, "户编号")]


def test_communities_outside_the_users_scope_are_refused(session, other_county_officer):
    result = import_households(session, actor=other_county_officer, data=_csv(_rows(1)), filename="a.csv")
    assert {e.column for e in result.errors} == {"社区代码"}
    assert "辖区" in result.errors[0].reason


@pytest.mark.parametrize(("data", "filename", "reason"), [
    (b"", "a.csv", "空"),
    ("户编号,姓名\nA,张三\n".encode(), "a.csv", "缺少列"),
    (",".join(HEADERS).encode(), "a.csv", "没有数据行"),
    (b"PK\x03\x04truncated-zip", "a.xlsx", "损坏"),
    (b"hello", "a.pdf", ".xlsx"),
])
def test_a_bad_file_gets_one_clear_message(session, county_officer, data, filename, reason):
    result = import_households(session, actor=county_officer, data=data, filename=filename)
    assert len(result.errors) == 1 and result.errors[0].row == 1
    assert reason in result.errors[0].reason


def test_a_truncated_real_xlsx_is_refused(session, county_officer):
    data = _xlsx(_rows(2))
    result = import_households(session, actor=county_officer, data=data[: len(data) // 2], filename="a.xlsx")
    assert not result.ok and "损坏" in result.errors[0].reason


def test_a_file_over_the_size_limit_is_refused_before_parsing(session, county_officer):
    big = _csv(_rows(1)) + b"#" * (33 * 1024 * 1024)
    result = import_households(session, actor=county_officer, data=big, filename="big.csv")
    assert "文件过大" in result.errors[0].reason


def test_the_error_sheet_keeps_the_rows_with_their_reasons(session, county_officer, tmp_path):
    rows = [*_rows(1), ["Z", "某某", "123", "户主", C, "城镇", "", "", ""]]
    result = import_households(session, actor=county_officer, data=_csv(rows), filename="a.csv")
    out = tmp_path / "errors.xlsx"
    write_error_sheet(out, result.table, result.errors)
    ws = load_workbook(out).active
    header = [c.value for c in ws[1]]
    assert header == [*HEADERS, "错误"]
    assert ws.cell(row=4, column=len(header)).value.startswith("身份证号")
    assert ws.cell(row=2, column=len(header)).value is None
    assert ws.cell(row=4, column=3).value == "123"


def test_the_template_has_exactly_the_import_headers(session):
    ws = load_workbook(io.BytesIO(template_bytes())).worksheets[0]
    assert [c.value for c in ws[1]] == HEADERS


def test_a_dry_run_checks_but_stores_nothing(session, county_officer):
    before = _count(session, Household)
    result = import_households(session, actor=county_officer, data=_csv(_rows(2)), filename="a.csv", dry_run=True)
    assert result.ok and _count(session, Household) == before
