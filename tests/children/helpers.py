"""Helpers of the children's tests: the import file (the children themselves come from tests/factories.py)."""

from __future__ import annotations

import csv
import io

CASE_HEADERS = ["姓名", "身份证号", "类别", "机构", "开始月份", "账号", "监护人姓名", "监护人关系", "监护人电话",
                "监护人身份证号"]


def csv_bytes(rows: list[list[str]], headers: list[str] = CASE_HEADERS) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")
