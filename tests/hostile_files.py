"""Hostile uploads, built byte by byte: each one stopped the server (or ate its memory) before the guard.

Every builder returns the bytes of a small file; none of them is more than a couple of megabytes on
disk, whatever it claims to hold.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from minxin.kit.tabular import _CONTENT_TYPES, _RELS, _STYLES, _WORKBOOK, _WORKBOOK_RELS

SHEET = "xl/worksheets/sheet1.xml"
_NS = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
HEADER_ROW = '<row r="1"><c r="A1" t="inlineStr"><is><t>户编号</t></is></c></row>'


def sheet_xml(body: str, *, dimension: str | None = None) -> bytes:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f"{_NS}{dim}<sheetData>{body}</sheetData></worksheet>".encode()


def xlsx_with(sheet: bytes, *, extra: dict[str, bytes] | None = None, level: int = 6) -> bytes:
    """A minimal workbook around one sheet's XML (and any extra parts)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/workbook.xml", _WORKBOOK.format(sheet="Sheet1"))
        zf.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        zf.writestr("xl/styles.xml", _STYLES)
        zf.writestr(SHEET, sheet)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def far_cell() -> bytes:
    """The 1.7 KB file of the review: a header and one cell at XFD1048576 (17 billion cells to the reader)."""
    return xlsx_with(sheet_xml(HEADER_ROW + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'))


def far_cell_hidden() -> bytes:
    """The same far cell with no dimension, inside row 2, its r= after another attribute."""
    return xlsx_with(sheet_xml(HEADER_ROW + '<row r="2"><c t="n" r="XFD1048576"><v>1</v></c></row>'))


def wide_row_without_references(columns: int = 200) -> bytes:
    """Cells without r= take the next column: 200 of them reach column 200."""
    return xlsx_with(sheet_xml("<row>" + "<c><v>1</v></c>" * columns + "</row><row><c><v>2</v></c></row>"))


def declares_rows(rows: int = 20_000_000) -> bytes:
    """A sheet whose dimension declares twenty million rows (and holds two)."""
    body = HEADER_ROW + '<row r="2"><c r="A2"><v>1</v></c></row>'
    return xlsx_with(sheet_xml(body, dimension=f"A1:I{rows}"))


def many_rows(rows: int) -> bytes:
    """Real rows, no dimension: only counting while reading stops it."""
    body = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(1, rows + 1))
    return xlsx_with(sheet_xml(body), level=9)


def _bomb_entry(size: int) -> bytes:
    """`size` bytes of spaces (a whole number of MiB), deflated about a thousand to one.

    One mebibyte is deflated once and ended with a full flush, so the piece stands alone and
    can be repeated; a final empty block closes the stream.
    """
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = deflater.compress(b" " * (1 << 20)) + deflater.flush(zlib.Z_FULL_FLUSH)
    return piece * (size >> 20) + b"\x03\x00"


def deflate_bomb(size: int = 1 << 30) -> bytes:
    """A sheet entry that inflates to a gigabyte (honest headers), about a megabyte on disk."""
    return _workbook_with(SHEET, _bomb_entry(size), size, _crc_of_spaces(size))


def ratio_bomb(size: int = 64 << 20) -> bytes:
    """Within the size limits but compressed a thousand to one: no spreadsheet compresses like that."""
    return _workbook_with(SHEET, _bomb_entry(size), size, _crc_of_spaces(size))


def lying_bomb(real: int = 64 << 20, declared: int = 1000) -> bytes:
    """A sheet entry whose headers declare 1,000 bytes but inflate to 64 MB (readers that trust the header)."""
    return _workbook_with(SHEET, _bomb_entry(real), declared, 0)


def huge_shared_strings(size: int = 600 << 20) -> bytes:
    """A normal sheet beside a shared-strings part of 600 MB."""
    return _workbook_with("xl/sharedStrings.xml", _bomb_entry(size), size, _crc_of_spaces(size))


def _workbook_with(name: str, payload: bytes, size: int, crc: int) -> bytes:
    """The minimal workbook's parts, with `name` replaced or added as the given raw entry."""
    normal = zipfile.ZipFile(io.BytesIO(xlsx_with(sheet_xml(HEADER_ROW))))
    entries = [(i.filename, _deflated(normal.read(i)), i.file_size, i.CRC) for i in normal.infolist()
               if i.filename != name]
    return _raw_zip([*entries, (name, payload, size, crc)])


def not_a_zip() -> bytes:
    return b"<html><body>this is a web page saved as .xlsx</body></html>\n" * 20


def truncated() -> bytes:
    whole = xlsx_with(sheet_xml(HEADER_ROW + '<row r="2"><c r="A2"><v>1</v></c></row>'))
    return whole[: len(whole) * 2 // 3]


ALL_BOMBS = {
    "far_cell": far_cell, "far_cell_hidden": far_cell_hidden, "wide_row": wide_row_without_references,
    "declares_20m_rows": declares_rows, "deflate_bomb": deflate_bomb, "ratio_bomb": ratio_bomb,
    "lying_bomb": lying_bomb, "huge_shared_strings": huge_shared_strings, "not_a_zip": not_a_zip,
    "truncated": truncated,
}


def _deflated(data: bytes) -> bytes:
    deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
    return deflater.compress(data) + deflater.flush()


_CRC: dict[int, int] = {}


def _crc_of_spaces(size: int) -> int:
    if size not in _CRC:
        crc, block = 0, b" " * (1 << 20)
        for _ in range(size // len(block)):
            crc = zlib.crc32(block, crc)
        _CRC[size] = crc
    return _CRC[size]


def _raw_zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip written by hand, so its headers can say what we like: (name, deflated bytes, size, crc)."""
    out = io.BytesIO()
    central = []
    for name, payload, size, crc in entries:
        offset = out.tell()
        encoded = name.encode()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(payload), size,
                              len(encoded), 0))
        out.write(encoded)
        out.write(payload)
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(payload), size,
                                   len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    directory = b"".join(central)
    out.write(directory)
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory), start, 0))
    return out.getvalue()
