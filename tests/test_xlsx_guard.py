"""Hostile spreadsheets are refused by the reader with a clear message, before the xlsx library sees them.

Each bomb is one that, unchecked, made calamine abort the process or fill the memory. The tests
call `read_table` in this process: if a guard missed one, the test run itself would die.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from hostile_files import (
    HEADER_ROW,
    SHEET,
    declares_rows,
    deflate_bomb,
    far_cell,
    far_cell_hidden,
    huge_shared_strings,
    lying_bomb,
    many_rows,
    not_a_zip,
    ratio_bomb,
    sheet_xml,
    truncated,
    wide_row_without_references,
    xlsx_with,
)
from minxin.core.errors import ValidationError
from minxin.kit.tabular import read_table, write_xlsx
from minxin.kit.xlsx_guard import MAX_IMPORT_COLUMNS, SheetLimits, check_xlsx, column_number


def _refusal(data: bytes, **kwargs: int) -> str:
    with pytest.raises(ValidationError) as caught:
        read_table(data, "bomb.xlsx", **kwargs)
    return caught.value.message


def test_a_single_cell_at_xfd1048576_is_refused_naming_the_row_limit():
    data = far_cell()
    assert len(data) < 4096
    message = _refusal(data)
    assert "1048576" in message and "500000" in message


def test_a_far_cell_is_found_without_a_dimension_and_with_its_reference_after_another_attribute():
    assert "1048576" in _refusal(far_cell_hidden())


def test_a_declared_dimension_of_twenty_million_rows_is_refused_before_reading_any_row():
    message = _refusal(declares_rows(20_000_000))
    assert "A1:I20000000" in message and "500000" in message


def test_rows_are_counted_while_reading_so_a_sheet_without_a_dimension_stops_at_the_limit():
    assert "数据行过多" in _refusal(many_rows(3_000), max_rows=1_000)


def test_a_sheet_of_exactly_the_row_limit_is_read():
    table = read_table(many_rows(1_001), "ok.xlsx", max_rows=1_000)
    assert len(table.rows) == 1_000


def test_cells_without_references_take_the_next_column_and_are_held_to_the_column_limit():
    message = _refusal(wide_row_without_references(MAX_IMPORT_COLUMNS + 1))
    assert f"第 {MAX_IMPORT_COLUMNS + 1} 列" in message
    assert len(read_table(wide_row_without_references(MAX_IMPORT_COLUMNS), "ok.xlsx").headers) == MAX_IMPORT_COLUMNS


def test_a_deflate_bomb_is_refused_on_its_declared_size():
    message = _refusal(deflate_bomb())
    assert "解压后 1024 MB" in message and SHEET in message


def test_an_entry_compressed_a_thousand_to_one_is_refused_as_a_bomb():
    assert "压缩比异常" in _refusal(ratio_bomb())


def test_an_entry_that_inflates_past_its_declared_size_is_refused_without_inflating_the_rest():
    assert "超过其声明" in _refusal(lying_bomb())


def test_a_huge_shared_strings_part_is_refused():
    assert "sharedStrings.xml" in _refusal(huge_shared_strings())


def test_a_file_named_xlsx_that_is_not_a_zip_is_refused_as_not_an_excel_file():
    assert "不是有效的 Excel 文件" in _refusal(not_a_zip())


def test_a_truncated_xlsx_is_refused_as_damaged():
    assert "损坏或被截断" in _refusal(truncated())


def test_an_entry_whose_crc_does_not_match_is_refused_as_damaged():
    data = bytearray(xlsx_with(sheet_xml(HEADER_ROW), level=0))
    at = bytes(data).index(b"<sheetData>")
    data[at + 1] = ord("S")  # stored, so the byte changes the content and not the compression
    assert "损坏" in _refusal(bytes(data))


def test_a_namespace_prefixed_sheet_is_checked_like_any_other():
    body = (b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
            b'<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>a</x:t></x:is></x:c></x:row>'
            b'<x:row r="2"><x:c r="XFD2"><x:v>1</x:v></x:c></x:row></x:sheetData></x:worksheet>')
    assert "16384 列" in _refusal(xlsx_with(body))


def test_the_guard_checks_the_first_sheet_named_by_the_workbook_or_else_every_sheet():
    data = xlsx_with(sheet_xml(HEADER_ROW), extra={"xl/worksheets/sheet2.xml": sheet_xml(
        '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')})
    check_xlsx(data, SheetLimits(max_rows=10))  # sheet2 is never read by the importers
    without_workbook = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(without_workbook, "w") as dst:
        for info in src.infolist():
            if info.filename != "xl/workbook.xml":
                dst.writestr(info, src.read(info))
    with pytest.raises(ValidationError, match="1048576"):  # no workbook part to follow: every sheet is checked
        check_xlsx(without_workbook.getvalue(), SheetLimits(max_rows=10))


def test_workbooks_written_by_minxin_and_by_openpyxl_still_read():
    from openpyxl import Workbook

    ours = io.BytesIO()
    write_xlsx(ours, ["户编号", "姓名"], [["H1", "张三"], ["H2", "李四"]])
    assert read_table(ours.getvalue(), "ours.xlsx").rows == [["H1", "张三"], ["H2", "李四"]]
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["户编号", "姓名"])
    ws.append(["H1", "王五"])
    theirs = io.BytesIO()
    wb.save(theirs)
    assert read_table(theirs.getvalue(), "theirs.xlsx").rows == [["H1", "王五"]]


@pytest.mark.parametrize(("letters", "number"), [("A", 1), ("Z", 26), ("AA", 27), ("CV", 100), ("XFD", 16384)])
def test_column_letters_count_like_excel(letters, number):
    assert column_number(letters) == number


def test_an_oversized_styles_part_is_refused_before_the_reader_parses_it(monkeypatch):
    from minxin.kit import xlsx_guard

    monkeypatch.setattr(xlsx_guard, "MAX_XLSX_STYLES_BYTES", 100)  # our minimal styles.xml is about 1 KB
    assert "styles.xml" in _refusal(xlsx_with(sheet_xml(HEADER_ROW)))
