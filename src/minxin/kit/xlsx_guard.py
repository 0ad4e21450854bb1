"""Check an uploaded .xlsx before the spreadsheet reader sees it: refuse zip bombs and sheets too large.

The xlsx reader (calamine) allocates one cell slot for every position between A1 and the farthest
cell, and a failed allocation aborts the whole process — no exception to catch. A 1.7 KB file
with one cell at XFD1048576 asks for 17 billion slots. So before parsing, this module:

1. opens the zip's central directory (a non-zip or truncated file is refused) and checks the
   number of entries, each entry's declared uncompressed size, the total and the compression
   ratio;
2. decompresses every entry itself, in bounded chunks straight from the raw bytes (declared
   sizes can lie), checking the real size and the CRC as it goes;
3. while decompressing the first sheet, reads its declared `<dimension ref=…>` and counts rows
   and cells and the farthest row and column any cell reaches, stopping at the first chunk that
   goes past a limit — so a missing or lying dimension still stops early.

Every refusal is an `ImportRejected` with a Chinese message; nothing here allocates more than a
chunk at a time.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat

from minxin.core.errors import ValidationError

MAX_IMPORT_COLUMNS = 100
MAX_IMPORT_CELLS = 15_000_000  # rows × columns of the first sheet's used area (the reader's grid)
MAX_XLSX_ENTRIES = 1_000
MAX_XLSX_ENTRY_BYTES = 512 * 1024 * 1024
MAX_XLSX_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_XLSX_RATIO = 250  # uncompressed ÷ compressed, for entries over RATIO_FLOOR bytes
RATIO_FLOOR = 1024 * 1024
MAX_XLSX_STYLES_BYTES = 64 * 1024 * 1024
_CHUNK = 1024 * 1024
# A zip entry's local file header (APPNOTE 4.3.7): signature, versions, flags, method, time, date,
# CRC, sizes, then the lengths of the file name and the extra field that come before the data.
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_TAIL = 1024 * 1024  # the most bytes without a `>` (a cell holds at most 32,767 characters)


class ImportRejected(ValidationError):
    """The file as a whole cannot be imported (empty, wrong headers, too large, unreadable)."""


NOT_XLSX = ("不是有效的 Excel 文件（.xlsx 应为 zip 压缩格式），请用 Excel 另存为 .xlsx 或 CSV 后再导入 "
            "(not an xlsx file)")
DAMAGED = "无法读取 Excel 文件，文件可能已损坏或被截断 (damaged or truncated xlsx)"


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB"


def column_number(letters: str) -> int:
    """'A' → 1, 'CV' → 100, 'XFD' → 16384."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


@dataclass
class SheetLimits:
    max_rows: int  # data rows (the header is one more)
    max_columns: int = MAX_IMPORT_COLUMNS
    max_cells: int = MAX_IMPORT_CELLS

    def refuse_counts(self, rows: int, cells: int) -> None:
        """Rows and cells counted so far (the header row is one of them)."""
        if rows > self.max_rows + 1:
            raise ImportRejected(f"数据行过多（超过 {self.max_rows} 行），单次上限 {self.max_rows} 行 (too many rows)")
        if cells > self.max_cells:
            raise ImportRejected(f"单元格过多（超过 {self.max_cells} 个），请拆分后导入 (too many cells)")

    def refuse_area(self, rows: int, columns: int, *, what: str) -> None:
        """The grid the reader would allocate: from A1 to the farthest row and column."""
        if rows > self.max_rows + 1:
            raise ImportRejected(f"{what}到第 {rows} 行，超过单次上限 {self.max_rows} 行数据，"
                                 "请拆分后分批导入 (too many rows)")
        if columns > self.max_columns:
            raise ImportRejected(f"{what}到第 {columns} 列，超过上限 {self.max_columns} 列 (too many columns)")
        if rows * columns > self.max_cells:
            raise ImportRejected(f"{what}为 {rows} 行 × {columns} 列，超过上限 {self.max_cells} 个单元格，"
                                 "请删除多余的行列或拆分后导入 (sheet too large)")


def check_xlsx(data: bytes, limits: SheetLimits) -> None:
    """Refuse an xlsx that is not a sound zip, would decompress too far, or whose first sheet is too large."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error) as exc:
        raise ImportRejected(NOT_XLSX if not data.startswith(b"PK") else DAMAGED) from exc
    if len(infos) > MAX_XLSX_ENTRIES:
        raise ImportRejected(f"Excel 文件内部条目过多（{len(infos)} 个，上限 {MAX_XLSX_ENTRIES}），不是正常的表格文件 "
                             "(too many entries in the xlsx)")
    total = 0
    for info in infos:
        _check_declared(info)
        total += info.file_size
        if total > MAX_XLSX_TOTAL_BYTES:
            raise ImportRejected(f"Excel 文件解压后超过 {_mb(MAX_XLSX_TOTAL_BYTES)}，请拆分后分批导入 "
                                 "(xlsx too large uncompressed)")
    styles = next((i for i in infos if i.filename == "xl/styles.xml"), None)
    if styles is not None and styles.file_size > MAX_XLSX_STYLES_BYTES:  # the reader parses it whole
        raise ImportRejected(f"Excel 文件中的 xl/styles.xml 解压后 {_mb(styles.file_size)}，格式定义异常庞大，"
                             "请另存为新文件后再导入 (xlsx styles too large)")
    first = _first_sheet(data, zf)
    # Where the workbook's own pointers cannot be followed here, every worksheet is held to the limits.
    sheets = {first} if first in {i.filename for i in infos} else {
        i.filename for i in infos if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")}
    if not sheets:
        raise ImportRejected(DAMAGED)
    for info in infos:
        if info.filename in sheets:
            _scan_sheet(data, info, limits)
        elif info.filename.endswith("sharedStrings.xml"):
            strings = sum(len(_SI.findall(chunk)) for chunk in _tagged_chunks(_inflate(data, info)))
            if strings > limits.max_cells:
                raise ImportRejected(f"Excel 文件的共享字符串过多（{strings} 个） (too many shared strings)")
        else:
            for _ in _inflate(data, info):
                pass


def _check_declared(info: zipfile.ZipInfo) -> None:
    name = info.filename
    if info.flag_bits & 0x1:
        raise ImportRejected("Excel 文件已加密，请去掉密码后再导入 (encrypted xlsx)")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ImportRejected(DAMAGED)
    if info.file_size > MAX_XLSX_ENTRY_BYTES:
        raise ImportRejected(f"Excel 文件中的 {name} 解压后 {_mb(info.file_size)}，"
                             f"超过上限 {_mb(MAX_XLSX_ENTRY_BYTES)}，请拆分后分批导入 (xlsx entry too large)")
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1):
        raise ImportRejected(f"Excel 文件压缩比异常（{name} 压缩了 {info.file_size // max(info.compress_size, 1)} 倍，"
                             f"上限 {MAX_XLSX_RATIO} 倍），疑为压缩炸弹，已拒绝 (suspicious compression ratio)")


def _inflate(data: bytes, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The entry's bytes, chunk by chunk, from the raw archive: never more than it declared, CRC checked."""
    start = info.header_offset
    header = data[start:start + _LOCAL_HEADER.size]
    if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise ImportRejected(DAMAGED)
    fields = _LOCAL_HEADER.unpack(header)
    name_length, extra_length = fields[10], fields[11]  # the local header's file name and extra field lengths
    begin = start + _LOCAL_HEADER.size + name_length + extra_length
    raw = data[begin:begin + info.compress_size]
    if len(raw) < info.compress_size:
        raise ImportRejected(DAMAGED)
    crc, size = 0, 0
    if info.compress_type == zipfile.ZIP_STORED:
        for k in range(0, len(raw), _CHUNK):
            chunk = raw[k:k + _CHUNK]
            crc, size = zlib.crc32(chunk, crc), size + len(chunk)
            yield chunk
    else:
        inflater = zlib.decompressobj(-15)
        pending = raw
        while pending and not inflater.eof:
            try:
                chunk = inflater.decompress(pending, _CHUNK)
            except zlib.error as exc:
                raise ImportRejected(DAMAGED) from exc
            pending = inflater.unconsumed_tail
            size += len(chunk)
            if size > info.file_size:  # more than it declared: a lying header, the classic bomb
                raise ImportRejected(f"Excel 文件中的 {info.filename} 实际解压大小超过其声明，疑为压缩炸弹，已拒绝 "
                                     "(xlsx entry larger than declared)")
            crc = zlib.crc32(chunk, crc)
            yield chunk
        if not inflater.eof:
            raise ImportRejected(DAMAGED)
    if size != info.file_size or crc != info.CRC:
        raise ImportRejected(DAMAGED)


def _tagged_chunks(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Re-cut a byte stream after its last `>` so no XML tag is split between two pieces."""
    carry = b""
    for chunk in chunks:
        piece = carry + chunk
        cut = piece.rfind(b">") + 1
        carry = piece[cut:]
        if len(carry) > _TAIL:  # a megabyte without a tag's end: no spreadsheet writes that
            raise ImportRejected(DAMAGED)
        if cut:
            yield piece[:cut]
    if carry:
        yield carry


_P = rb"<(?:[A-Za-z_][\w.-]*:)?"  # an element with or without a namespace prefix
_SI = re.compile(_P + rb"si[\s>/]")
_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*:)?worksheet[\s>]")
_DIMENSION = re.compile(_P + rb'dimension\b[^>]*?\sref="([^"]*)"')
_ELEMENT = re.compile(_P + rb"(row|c)([\s/][^>]*)?>")
_ATTR_R = re.compile(rb'(?<=\s)r="([A-Z]*)(\d+)"')
_REF = re.compile(r"\$?([A-Z]+)\$?(\d+)")


def _scan_sheet(data: bytes, info: zipfile.ZipInfo, limits: SheetLimits) -> None:
    """Stop at the first chunk whose rows, cells or farthest cell go past the limits.

    The fast path counts with `bytes.count` and reads the `r="…"` written first in each row and
    cell (as Excel, WPS and openpyxl write them); rows and cells without one take the next
    position, so they are bounded by counting them. A reference anywhere else sends the sheet to
    the exact walk (`_scan_positions`).
    """
    tag = b""
    rows = cells = max_ref_row = max_ref_col = max_col = refless_rows = 0
    row_r = cell_r = None
    for chunk in _tagged_chunks(_inflate(data, info)):
        if row_r is None:
            root = _ROOT.search(chunk)
            if root is None:
                raise ImportRejected(DAMAGED)
            tag = b"<" + (root.group(1) or b"")
            row_r = re.compile(re.escape(tag + b'row r="') + rb'(\d+)"')
            cell_r = re.compile(re.escape(tag + b'c r="') + rb'([A-Z]+)(\d+)"')
            dimension = _DIMENSION.search(chunk)
            if dimension:
                _check_dimension(dimension.group(1).decode("ascii", "replace").upper(), limits)
        assert cell_r is not None
        # Counts may include a few neighbours (<rowBreaks>, <cols>): an upper bound is all a limit needs.
        n_rows, n_cells, n_refs = chunk.count(tag + b"row"), chunk.count(tag + b"c"), chunk.count(b' r="')
        row_refs = row_r.findall(chunk)
        cell_refs = cell_r.findall(chunk) if n_refs > len(row_refs) else []
        if n_refs != len(row_refs) + len(cell_refs):
            _scan_positions(data, info, limits)
            return
        rows, cells = rows + n_rows, cells + n_cells
        limits.refuse_counts(rows, cells)
        if row_refs:
            max_ref_row = max(max_ref_row, max(map(int, set(row_refs))))
        refless_rows += n_rows - len(row_refs)
        if cell_refs:
            max_ref_col = max(max_ref_col, max(column_number(c.decode()) for c in {c for c, _ in cell_refs}))
            max_col = max(max_col, max_ref_col)
            max_ref_row = max(max_ref_row, max(map(int, {r for _, r in cell_refs})))
        if n_cells > len(cell_refs):
            # A cell without r="…" sits one past the cell before it: at most the row's cell count
            # past the farthest referenced column.
            per_row = max(map(bytes.count, chunk.split(tag + b"row"), repeat(tag + b"c")))
            max_col = max(max_col, max_ref_col + per_row)
        limits.refuse_area(max_ref_row + refless_rows, max_col, what="工作表有单元格")


def _scan_positions(data: bytes, info: zipfile.ZipInfo, limits: SheetLimits) -> None:
    """The slow, exact walk: each row and cell at the position the reader will give it."""
    row = col = rows = cells = max_row = max_col = 0
    for chunk in _tagged_chunks(_inflate(data, info)):
        for element in _ELEMENT.finditer(chunk):
            ref = _ATTR_R.search(element.group(2) or b"")
            if element.group(1) == b"row":
                rows += 1
                row, col = (int(ref.group(2)) if ref else row + 1), 0
            else:
                cells += 1
                if ref and ref.group(1):
                    col, row_here = column_number(ref.group(1).decode()), int(ref.group(2))
                else:
                    col, row_here = col + 1, row
                max_row, max_col = max(max_row, row_here), max(max_col, col)
            max_row = max(max_row, row)
        limits.refuse_counts(rows, cells)
        limits.refuse_area(max_row, max_col, what="工作表有单元格")


def _check_dimension(ref: str, limits: SheetLimits) -> None:
    corners = _REF.findall(ref)
    if not corners:
        return
    letters, digits = corners[-1]
    limits.refuse_area(int(digits), column_number(letters), what=f"工作表声明的范围（{ref}）")


def _first_sheet(data: bytes, zf: zipfile.ZipFile) -> str | None:
    """The part name of the workbook's first sheet (the one the importers read), via workbook.xml and its rels."""
    names = {i.filename: i for i in zf.infolist()}
    workbook = _small_part(data, names, "xl/workbook.xml")
    rels = _small_part(data, names, "xl/_rels/workbook.xml.rels")
    if workbook is None or rels is None:
        return None
    sheet = re.search(rb"<(?:\w+:)?sheet\s[^>]*?(?<=[\s:])id=\"([^\"]+)\"", workbook)
    if not sheet:
        return None
    for rel in re.finditer(rb"<(?:\w+:)?Relationship\s[^>]*>", rels):
        rel_id = re.search(rb'(?<=\s)Id="([^"]+)"', rel.group(0))
        target = re.search(rb'(?<=\s)Target="([^"]+)"', rel.group(0))
        if rel_id and target and rel_id.group(1) == sheet.group(1):
            path = target.group(1).decode("utf-8", "replace")
            return path.lstrip("/") if path.startswith("/") else "xl/" + path.removeprefix("./")
    return None


def _small_part(data: bytes, names: dict[str, zipfile.ZipInfo], name: str) -> bytes | None:
    info = names.get(name)
    if info is None:
        return None
    if info.file_size > 16 * 1024 * 1024:
        raise ImportRejected(f"Excel 文件中的 {name} 异常庞大，不是正常的表格文件 (xlsx part too large)")
    return b"".join(_inflate(data, info))
