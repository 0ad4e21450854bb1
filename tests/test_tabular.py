"""The spreadsheet reader's CSV side and the formula-safe writers every export goes through."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from minxin.core.errors import ValidationError
from minxin.kit.tabular import RowError, Table, csv_writer, read_table, safe_text, write_error_sheet, write_xlsx

HOSTILE = ['=HYPERLINK("http://x","y")', "@SUM(1)", "+cmd|' /C calc'!A0", "-2+3", "\t=1+1", "\r=1+1"]


def _refusal(data: bytes, name: str = "f.csv") -> str:
    with pytest.raises(ValidationError) as caught:
        read_table(data, name)
    return caught.value.message


# ---- CSV encodings -----------------------------------------------------------------------------

def test_a_gbk_csv_and_a_utf8_csv_read_alike():
    text = "户编号,姓名\nH1,张三\nH2,李四\n"
    for encoding, label in (("gbk", "gbk"), ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig")):
        table = read_table(text.encode(encoding), "f.csv")
        assert table.rows == [["H1", "张三"], ["H2", "李四"]] and table.encoding == label


def test_a_csv_mixing_utf8_and_gbk_lines_is_refused_naming_the_first_gbk_row():
    data = "户编号,姓名\nH1,张三\n".encode() + "H2,李四\n".encode("gbk") + "H3,王五\n".encode()
    message = _refusal(data)
    assert message.startswith("第 3 行") and "混用" in message and "第 1 行是 UTF-8" in message


def test_a_gbk_file_with_a_utf8_line_is_refused_too_whichever_comes_first():
    data = "户编号,姓名\n".encode("gbk") + "H1,张三\n".encode("gbk") + "H2,李四\n".encode()
    message = _refusal(data)
    assert message.startswith("第 1 行") and "混用" in message and "第 3 行是 UTF-8" in message


def test_a_gbk_line_whose_bytes_happen_to_be_valid_utf8_is_still_read_as_gbk():
    assert b"\xc4\xa3".decode("utf-8") == "\u0123" and b"\xc4\xa3".decode("gbk") == "模"
    data = "户编号,姓名\n".encode("gbk") + b"H1,\xc4\xa3\n"
    table = read_table(data, "f.csv")
    assert table.encoding == "gbk" and table.rows == [["H1", "模"]]


def test_a_utf8_bom_file_with_a_gbk_line_is_refused():
    data = "\ufeffname,city\nH1,Lianyungang\n".encode() + "H2,李四\n".encode("gbk")
    message = _refusal(data)
    assert message.startswith("第 3 行") and "UTF-8 标记" in message


def test_a_csv_with_a_nul_byte_is_refused_naming_its_row():
    message = _refusal(b"a,b\n1,2\n3,\x004\n")
    assert "第 3 行含 NUL 字节" in message and "不是文本 CSV" in message


def test_a_binary_file_named_csv_is_refused_as_not_text():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    assert "不是文本 CSV" in _refusal(png)


def test_a_utf16_csv_is_refused_with_what_to_do_instead():
    assert "UTF-16" in _refusal("户编号,姓名\n".encode("utf-16"))


def test_a_csv_of_twenty_million_blank_rows_stops_at_the_row_limit():
    data = b"a\n" + b"\n" * 20_000_000
    assert "数据行过多" in _refusal(data)


def test_a_csv_row_wider_than_the_column_limit_is_refused_naming_it():
    data = b"a,b\n1,2\n" + b"x," * 150 + b"\n"
    assert "第 3 行有 150 列" in _refusal(data)


def test_trailing_empty_csv_columns_do_not_count_toward_the_limit():
    data = b"a,b" + b"," * 300 + b"\n1,2\n"
    assert read_table(data, "f.csv").rows == [["1", "2"]]


# ---- formula injection ----------------------------------------------------------------------------

@pytest.mark.parametrize("text", HOSTILE)
def test_text_that_a_spreadsheet_would_evaluate_gets_a_leading_apostrophe(text):
    assert safe_text(text) == "'" + text


@pytest.mark.parametrize("text", ["张三", "-12.50", "+5", "-3", "320706198001011234", "6228480012345678901", ""])
def test_names_ids_accounts_and_plain_signed_numbers_are_left_alone(text):
    assert safe_text(text) == text


def test_write_xlsx_writes_hostile_text_quoted_and_numbers_as_numbers():
    buf = io.BytesIO()
    write_xlsx(buf, ["姓名", "金额"], [[t, -12.5] for t in HOSTILE])
    ws = load_workbook(io.BytesIO(buf.getvalue())).active
    cells = [c for row in ws.iter_rows(min_row=2) for c in row]
    assert all(c.data_type != "f" for c in cells)
    # XML reads a carriage return back as a line feed; the apostrophe is what matters.
    assert [c.value for c in cells[::2]] == ["'" + t.replace("\r", "\n") for t in HOSTILE]
    assert all(c.value == -12.5 and c.data_type == "n" for c in cells[1::2])


def test_the_csv_writer_quotes_hostile_text_and_keeps_numbers():
    buf = io.StringIO()
    csv_writer(buf).writerows([[t, -12, "-12.50"] for t in HOSTILE])
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert [r[0] for r in rows] == ["'" + t for t in HOSTILE]
    assert all(r[1:] == ["-12", "-12.50"] for r in rows)


def test_an_import_error_sheet_writes_every_cell_as_text_never_a_formula():
    table = Table(headers=["户编号", "姓名", "月收入"], rows=[[t, t, 100.5] for t in HOSTILE])
    errors = [RowError(2, "姓名", "=1+1 不是姓名"), RowError(1, "文件", "@整个文件")]
    buf = io.BytesIO()
    write_error_sheet(buf, table, errors)
    ws = load_workbook(io.BytesIO(buf.getvalue())).active
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert cells and all(c.data_type == "s" for c in cells)
    # Cells are stripped on reading, so "\t=1+1" arrives as "=1+1".
    assert [ws.cell(row=i + 2, column=2).value for i in range(len(HOSTILE))] == ["'" + t.strip() for t in HOSTILE]
    assert ws.cell(row=2, column=4).value == "姓名: =1+1 不是姓名"
