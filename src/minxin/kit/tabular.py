"""Spreadsheets in and out: read .xlsx/.csv (UTF-8, UTF-8 with BOM, GBK), write .xlsx and error sheets.

Every importer (households, cases, settlement records) reads through `read_table` and reports
problems as `RowError`s, so a clerk always sees `row N, column X: reason` with N as the
spreadsheet shows it (the header is row 1).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from minxin.core._text import split_gloss
from minxin.core.errors import ValidationError
from minxin.kit.xlsx_guard import DAMAGED, MAX_IMPORT_COLUMNS, ImportRejected, SheetLimits, check_xlsx

MAX_IMPORT_ROWS = 500_000

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.reason}"


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Any]]  # data rows; rows[i] is spreadsheet row i + 2
    encoding: str | None = None

    def row_number(self, index: int) -> int:
        return index + 2


_NOT_TEXT = "文件不是文本 CSV（{what}），请用 Excel 另存为 .xlsx 或 UTF-8 编码的 CSV 后再导入 ({gloss}: not a text CSV)"
# Control characters no text CSV holds (tab, line feed and carriage return are fine).
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CJK = re.compile("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def _decode(data: bytes) -> tuple[str, str]:
    """The text and its encoding: UTF-8 (with or without BOM) or GBK, the same for every line.

    A file is refused, naming the line, when it holds NUL or other control bytes (a binary or a
    UTF-16 file) or mixes the two encodings (lines pasted from another file): decoding it whole in
    either one would store garbled names without a word.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportRejected(_NOT_TEXT.format(what="UTF-16 编码", gloss="UTF-16"))
    bad = _CONTROL.search(data)
    if bad:
        line = _line_of(data, bad.start())
        what = f"第 {line} 行含 NUL 字节" if data[bad.start()] == 0 else f"第 {line} 行含控制字符"
        raise ImportRejected(_NOT_TEXT.format(what=what, gloss=f"row {line}"))
    bom = data.startswith(b"\xef\xbb\xbf")
    if bom:
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = _line_of(data, exc.start)
    utf8_line = 0
    for n, line_bytes in enumerate(data.split(b"\n"), start=1):
        if line_bytes.isascii():
            continue
        try:
            line_text = line_bytes.decode("utf-8")
        except UnicodeDecodeError:
            continue
        # Chinese that is valid UTF-8; GBK bytes that happen to be valid UTF-8 read as Latin or Cyrillic.
        if _CJK.search(line_text):
            utf8_line = n
            break
    if bom or utf8_line:
        where = f"第 {utf8_line} 行是 UTF-8" if utf8_line else "文件以 UTF-8 标记开头"
        raise ImportRejected(f"第 {first_bad} 行的编码与其他行不同（{where}，第 {first_bad} 行不是，可能是 GBK）："
                             f"文件混用了两种编码，请统一另存为 UTF-8 后再导入 (row {first_bad}: mixed encodings)")
    try:
        return data.decode("gb18030"), "gbk"
    except UnicodeDecodeError as exc:
        line = _line_of(data, exc.start)
        raise ImportRejected(f"第 {line} 行无法识别编码，请另存为 UTF-8 或 GBK 编码的 CSV "
                             f"(row {line}: unknown encoding)") from exc


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def read_table(data: bytes, filename: str, *, max_bytes: int | None = None,
               max_rows: int = MAX_IMPORT_ROWS) -> Table:
    """Parse a CSV or XLSX upload into headers and rows (blank rows dropped, cells stripped)."""
    if max_bytes is None:
        from minxin.infra.settings import get_settings

        max_bytes = get_settings().max_upload_bytes
    name = filename.lower()
    if len(data) > max_bytes:
        raise ImportRejected(
            f"文件过大（{len(data) / 1024 / 1024:.1f} MB），单次导入上限 {max_bytes // 1024 // 1024} MB，"
            "请拆分后分批导入 (file too large)"
        )
    if not data.strip():
        raise ImportRejected("文件是空的 (the file is empty)")
    if name.endswith(".xlsx") or data[:2] == b"PK":
        check_xlsx(data, SheetLimits(max_rows=max_rows))  # zip bombs, far cells, too many rows: before parsing
        table = _read_xlsx(data)
    elif name.endswith((".csv", ".txt")):
        table = _read_csv(data, max_rows=max_rows)
    else:
        raise ImportRejected("只支持 .xlsx 和 .csv 文件 (only .xlsx and .csv files)")
    if not table.headers or not any(table.headers):
        raise ImportRejected("文件没有表头 (no header row)")
    if not table.rows:
        raise ImportRejected("文件只有表头，没有数据行 (no data rows)")
    if len(table.rows) > max_rows:
        raise ImportRejected(f"数据行过多（{len(table.rows)} 行），单次上限 {max_rows} 行 (too many rows)")
    return table


def _read_csv(data: bytes, *, max_rows: int = MAX_IMPORT_ROWS) -> Table:
    """Rows counted while reading: a file of twenty million line breaks stops at the limit, not in memory."""
    text, encoding = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    all_rows: list[list[str]] = []
    try:
        for record in reader:
            if len(all_rows) > max_rows:
                raise ImportRejected(f"数据行过多（超过 {max_rows} 行），单次上限 {max_rows} 行 (too many rows)")
            if len(record) > MAX_IMPORT_COLUMNS:
                while record and not record[-1].strip():
                    record.pop()
                if len(record) > MAX_IMPORT_COLUMNS:
                    line = reader.line_num
                    raise ImportRejected(f"第 {line} 行有 {len(record)} 列，超过上限 {MAX_IMPORT_COLUMNS} 列 "
                                         f"(row {line}: too many columns)")
            all_rows.append(record)
    except csv.Error as exc:
        raise ImportRejected(f"CSV 格式错误：{exc} (malformed CSV)") from exc
    if not all_rows:
        raise ImportRejected("文件是空的 (the file is empty)")
    headers = [h.strip() for h in all_rows[0]]
    rows = [[_cell(c) for c in r] for r in all_rows[1:]]
    return Table(headers=headers, rows=_drop_blank(rows), encoding=encoding)


def _read_xlsx(data: bytes) -> Table:
    """The first sheet, read with calamine (Rust; ten times openpyxl's speed on a 100,000-row sheet).

    Only after `check_xlsx` has bounded the sheet: calamine aborts the process on a far cell.
    """
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not wb.sheet_names:
            raise ImportRejected("文件是空的 (the file is empty)")
        grid = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except ImportRejected:
        raise
    except BaseException as exc:  # calamine raises its own errors for damaged files, and pyo3 panics
        if isinstance(exc, KeyboardInterrupt | SystemExit | MemoryError):
            raise
        raise ImportRejected(DAMAGED) from exc
    if not grid:
        raise ImportRejected("文件是空的 (the file is empty)")
    headers = ["" if h is None else str(h).strip() for h in grid[0]]
    while headers and not headers[-1]:
        headers.pop()
    rows = [[_cell(c) for c in r[: len(headers)]] for r in grid[1:]]
    return Table(headers=headers, rows=_drop_blank(rows), encoding=None)


def _drop_blank(rows: list[list[Any]]) -> list[list[Any]]:
    # Keep positions (row numbers) but turn fully blank trailing rows into nothing.
    while rows and all(c is None for c in rows[-1]):
        rows.pop()
    return rows


def require_headers(table: Table, required: Sequence[str]) -> dict[str, int]:
    """Map each required header to its column index; refuse the file naming what is missing."""
    index = {h: i for i, h in enumerate(table.headers) if h}
    missing = [h for h in required if h not in index]
    if missing:
        raise ImportRejected(
            f"表头不正确：缺少列 {'、'.join(missing)}；应有列：{'、'.join(required)} (missing columns)"
        )
    return index


# An importer lists at most this many errors: a wholly wrong file is refused as clearly with the first ten
# thousand as with all of them, and the error sheet stays small enough to open.
MAX_ROW_ERRORS = 10_000
# How often (in rows) a long check reports its progress.
PROGRESS_EVERY = 5000


class RowCheck:
    """One data row under check: its spreadsheet number, its cells by header, and whether it is still clean.

    Every problem is recorded (not only the first), so the clerk fixes the whole row at once.
    """

    def __init__(self, checker: TableCheck, n: int, cells: dict[str, Any]) -> None:
        self._checker = checker
        self.n = n
        self.cells = cells
        self.ok = True

    def fail(self, column: str, reason: str) -> None:
        """Refuse the row, naming the column and the reason."""
        self.ok = False
        self._checker.add(self.n, column, reason)

    def check(self, column: str, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)`, or `fn(cell of column)` without args; a ValidationError refuses the row and gives None.

        The error names the column the ValidationError's `field` names when that is one of the table's
        columns (a rule that reads two cells knows which one is wrong), else `column`.
        """
        try:
            return fn(*args) if args else fn(self.cells[column])
        except ValidationError as exc:
            named = exc.field if exc.field in self._checker.columns else column
            self.fail(named, exc.message)
            return None

    def unique(self, seen: dict[str, int], value: str | None, column: str) -> None:
        """Refuse a value an earlier row of the file already has (`seen`: value → first row)."""
        if not value:
            return
        if value in seen:
            self.fail(column, f"与第 {seen[value]} 行的{column}重复 (duplicate in file)")
        else:
            seen[value] = self.n


class TableCheck:
    """Check every row of a table, collecting every error (up to MAX_ROW_ERRORS), so that the importer can
    store all rows or none: the importers of households, elderly people and veterans share it.

        check = TableCheck(table, HEADERS)          # ValidationError: a required column is missing
        for row in check.rows(progress):            # blank rows are skipped
            name = row.check("姓名", check_name)
            if row.ok: ...
        check.errors                                # every problem, one line each
    """

    def __init__(self, table: Table, required: Sequence[str], *, limit: int = MAX_ROW_ERRORS) -> None:
        self.table = table
        self.required = tuple(required)
        self.index = require_headers(table, required)
        self.columns = frozenset(self.index)
        self.errors: list[RowError] = []
        self.limit = limit

    def add(self, n: int, column: str, reason: str) -> None:
        """Record an error of row `n` (also a rule over several rows); past the limit they are dropped."""
        if len(self.errors) < self.limit:
            self.errors.append(RowError(n, column, reason))

    def rows(self, progress: Callable[[str, int, int], None] | None = None, *,
             stage: str = "检查") -> Iterator[RowCheck]:
        """Each non-blank data row (a row whose required cells are all empty is skipped)."""
        total = len(self.table.rows)
        for i, raw in enumerate(self.table.rows):
            if progress and i % PROGRESS_EVERY == 0:
                progress(stage, i, total)
            cells = {h: (raw[j] if j < len(raw) else None) for h, j in self.index.items()}
            if all(cells[h] is None for h in self.required):
                continue  # a blank row inside the sheet
            yield RowCheck(self, self.table.row_number(i), cells)


def cell_text(value: Any) -> str:
    """A cell as text: 320706001001.0 (Excel number) → '320706001001'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


# Formula injection (CSV injection): a spreadsheet evaluates a text cell that starts with one of these
# (=HYPERLINK(…), @SUM(…), +cmd|…, a tab or carriage return before them). Every writer here puts
# OWASP's leading apostrophe before such text, so the cell shows as typed and is never run.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def safe_text(value: str) -> str:
    """Text as a spreadsheet must show it: `=1+1` → `'=1+1`; a plain signed number such as `-12.50` stays."""
    if value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_cell(value: Any) -> Any:
    """A cell value for any writer: text made safe with `safe_text`, numbers and dates as they are."""
    return safe_text(value) if isinstance(value, str) else value


class SafeCsvWriter:
    """`csv.writer` whose every text cell goes through `safe_text`; use `csv_writer` to make one."""

    def __init__(self, handle: Any, **options: Any) -> None:
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(handle: Any, **options: Any) -> SafeCsvWriter:
    """The one CSV writer for exports (bank files, rosters, medical results): formula-safe text."""
    return SafeCsvWriter(handle, **options)


# The encodings of an exported CSV. UTF-8 starts with a byte-order mark: that is how Excel tells UTF-8
# from the system's ANSI code page (without it a Chinese Windows opens the file as GBK, garbled). GBK
# (for a bank that asks for it) has none.
CSV_ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gbk"}
UTF8_BOM = b"\xef\xbb\xbf"


def write_csv(target: Path | io.BytesIO, headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
              encoding: str = "utf-8") -> None:
    """Write an export as CSV (formula-safe cells, CRLF lines), streaming a line at a time into a file or
    a buffer: UTF-8 with a BOM so Excel opens it right, or GBK. A character GBK cannot spell (a rare
    name) is a ValidationError naming the row, never a silent '?', and a file is then removed, not left
    half-written."""
    codec = CSV_ENCODINGS.get(encoding.lower())
    if codec is None:
        raise ValidationError("编码必须是 utf-8 或 gbk", field="encoding")
    path = None if isinstance(target, io.BytesIO) else target
    out: Any = target if path is None else path.open("wb")
    line = io.StringIO(newline="")
    writer = csv_writer(line, lineterminator="\r\n")

    def put(n: int, row: Iterable[Any]) -> None:
        writer.writerow(row)
        text = line.getvalue()
        line.seek(0)
        line.truncate(0)
        try:
            out.write(text.encode(codec))
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start:exc.end]
            raise ValidationError(f"第 {n} 行的「{bad}」无法用 GBK 表示，请改用 UTF-8 导出", field="encoding") from None

    try:
        if codec == "utf-8":
            out.write(UTF8_BOM)
        put(1, headers)
        for n, row in enumerate(rows, start=2):
            put(n, row)
    except BaseException:
        if path is not None:
            out.close()
            path.unlink(missing_ok=True)
        raise
    if path is not None:
        out.close()


def write_xlsx(path_or_buffer: Path | io.BytesIO, headers: Sequence[str], rows: Iterable[Sequence[Any]],
               *, sheet: str = "Sheet1", text_columns: Iterable[str] = (), widths: dict[str, int] | None = None
               ) -> None:
    """Write one sheet, streaming rows straight into the xlsx's XML (constant memory).

    Strings are written as inline text, so ID numbers, accounts and codes stay text in Excel (the
    `text_columns` argument is kept for callers; every str is text already). About ten times the
    speed of openpyxl's write-only mode: a million-row roster in seconds, not minutes.
    """
    import zipfile

    target = path_or_buffer if isinstance(path_or_buffer, io.BytesIO) else str(path_or_buffer)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/workbook.xml", _WORKBOOK.format(sheet=_xml_attr(sheet[:31] or "Sheet1")))
        zf.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        zf.writestr("xl/styles.xml", _STYLES)
        with zf.open("xl/worksheets/sheet1.xml", "w") as raw:
            out = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            sizes = [(widths or {}).get(h) or max(10, min(40, len(str(h)) * 2 + 4)) for h in headers]
            cols = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>'
                           for i, w in enumerate(sizes))
            out.write('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                      '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                      '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
                      'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
                      f"<cols>{cols}</cols><sheetData>")
            out.write(_xml_row(1, headers, style=' s="1"'))
            buffer: list[str] = []
            for n, row in enumerate(rows, start=2):
                buffer.append(_xml_row(n, row))
                if len(buffer) >= 2000:
                    out.write("".join(buffer))
                    buffer.clear()
            out.write("".join(buffer))
            out.write("</sheetData></worksheet>")
            out.flush()
            out.detach()


def _xml_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


# One pass per string: escape XML's specials and drop the control characters XML cannot hold.
_XML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;",
                           **{chr(c): None for c in range(32) if c not in (9, 10, 13)}})


def _xml_row(n: int, values: Sequence[Any], *, style: str = "") -> str:
    cells = []
    for v in values:
        kind = type(v)
        if kind is str and v:
            text = safe_text(v).translate(_XML_TEXT)
            cells.append(f'<c t="inlineStr"{style}><is><t xml:space="preserve">{text}</t></is></c>')
        elif v is None or v == "":
            cells.append("<c/>")
        elif kind is bool:
            cells.append(f'<c t="b"{style}><v>{int(v)}</v></c>')
        elif isinstance(v, int | float | Decimal):
            cells.append(f"<c{style}><v>{v}</v></c>")
        else:
            text = safe_text(str(v.isoformat() if isinstance(v, date | datetime) else v)).translate(_XML_TEXT)
            cells.append(f'<c t="inlineStr"{style}><is><t xml:space="preserve">{text}</t></is></c>')
    return f'<row r="{n}">{"".join(cells)}</row>'


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>")
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>')
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFDDE7F3"/></patternFill></fill></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>")


def _col_letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(i + 1))


def write_error_sheet(path_or_buffer: Path | io.BytesIO, table: Table, errors: Sequence[RowError]) -> None:
    """The original rows with an 错误 column beside them; failing rows highlighted, for the clerk to fix.

    The sheet keeps the import's headers, so once fixed it can be imported as it is (the extra
    columns are ignored).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    by_row: dict[int, list[str]] = {}
    file_level: list[str] = []
    for e in errors:
        reason = f"{e.column}: {split_gloss(e.reason)[0]}"  # the clerk's sheet reads in Chinese
        if e.row <= 1:
            file_level.append(reason)
        else:
            by_row.setdefault(e.row, []).append(reason)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "导入错误"
    headers = [*table.headers, "错误"]
    _append_text(ws, headers)
    red = PatternFill("solid", fgColor="FDE2E1")
    for c in ws[1]:
        c.font = Font(bold=True)
    for i, r in enumerate(table.rows):
        n = table.row_number(i)
        reasons = by_row.get(n)
        _append_text(ws, [*[cell_text(v) if v is not None else None for v in r],
                          *([None] * (len(table.headers) - len(r))), "；".join(reasons) if reasons else None])
        if reasons:
            for c in ws[ws.max_row]:
                c.fill = red
    if file_level:
        ws.append([])
        _append_text(ws, ["整个文件：" + "；".join(file_level)])
    for i, h in enumerate(headers):
        ws.column_dimensions[_col_letter(i)].width = 60 if h == "错误" else max(12, len(h) * 3)
        if h in ("身份证号", "社区代码", "联系电话", "账号"):
            for row in ws.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
                for c in row:
                    c.number_format = "@"
    for row in ws.iter_rows(min_row=2, min_col=len(headers), max_col=len(headers)):
        for c in row:
            c.alignment = Alignment(wrap_text=True)
    ws.freeze_panes = "A2"
    wb.save(path_or_buffer)


def _append_text(ws: Any, values: Sequence[str | None]) -> None:
    """One row of an error sheet: every cell text (data type 's'), formula-safe, never a formula."""
    ws.append([None if v is None else safe_text(v) for v in values])
    for c in ws[ws.max_row]:
        if c.value is not None:
            c.data_type = "s"
