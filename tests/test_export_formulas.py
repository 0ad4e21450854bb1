"""Formula injection: names a clerk imported or stored come out of every export as text, never a formula.

A person named `=HYPERLINK("http://x","y")` (imported) and one named `@SUM(1)` (stored) go through
the registry export, the premium roster, the bank file and the medical export, as xlsx and CSV:
each of their cells starts with OWASP's apostrophe and no xlsx cell is a formula.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from tests.factories import active_case, new_id

from minxin.assistance.medical import models as _medical_models  # noqa: F401 - registers the table
from minxin.assistance.medical.importer import HEADERS as SETTLEMENT_HEADERS
from minxin.assistance.medical.importer import import_settlements
from minxin.assistance.medical.service import export_results
from minxin.assistance.premiums.service import export_roster
from minxin.core.period import Period
from minxin.programs.cycles import approve_cycle, export_cycle, run_cycle
from minxin.registry.export import export_persons
from minxin.registry.importer import HEADERS, import_households
from minxin.registry.models import Household

IMPORTED = '=HYPERLINK("http://x","y")'
STORED = "@SUM(1)"


def _csv(headers: list[str], rows: list[list[object]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(headers)
    w.writerows(rows)
    return buf.getvalue().encode()


@pytest.fixture
def hostile(session, county_officer) -> Household:
    """A 低保 household whose head was imported as =HYPERLINK(…) and whose spouse was renamed @SUM(1)."""
    data = _csv(HEADERS, [["HX1", IMPORTED, new_id(), "户主", "320706006001", "城镇", "0", "", ""],
                          ["HX1", "李娜", new_id(female=True), "配偶", "320706006001", "城镇", "0", "", ""]])
    result = import_households(session, actor=county_officer, data=data, filename="hostile.csv")
    assert result.ok, result.errors
    household = session.execute(select(Household).where(Household.household_no == "HX1")).scalar_one()
    spouse = next(m for m in household.members if not m.is_head)
    spouse.name = STORED
    session.flush()
    active_case(session, household, start="2012-01", account="6228480000000000009")
    return household


def _xlsx_texts(data: bytes) -> list[str]:
    ws = load_workbook(io.BytesIO(data)).active
    cells = [c for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a cell was written as a formula"
    return [c.value for c in cells if isinstance(c.value, str)]


def _csv_texts(data: bytes, encoding: str = "utf-8") -> list[str]:
    return [v for row in csv.reader(io.StringIO(data.decode(encoding))) for v in row]


def _assert_quoted(texts: list[str], *names: str) -> None:
    for name in names:
        assert "'" + name in texts, f"{name!r} is not written as '{name!r}"
        assert name not in texts


def test_the_registry_export_writes_hostile_names_as_quoted_text(session, county_officer, hostile):
    """The unmasked export carries the names as stored (the masked one masks them, as the screen does)."""
    buf = io.BytesIO()
    export_persons(session, user=county_officer, target=buf, unmasked=True)
    _assert_quoted(_xlsx_texts(buf.getvalue()), IMPORTED, STORED)
    masked = io.BytesIO()
    export_persons(session, user=county_officer, target=masked)
    texts = _xlsx_texts(masked.getvalue())
    assert not any(name in texts or "'" + name in texts for name in (*IMPORTED, *STORED))
    assert not any(t.startswith(("=", "+", "-", "@")) for t in texts)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_premium_roster_writes_hostile_names_as_quoted_text(session, county_officer, hostile, fmt):
    buf = io.BytesIO()
    export_roster(session, user=county_officer, year=2012, target=buf, fmt=fmt)
    texts = _xlsx_texts(buf.getvalue()) if fmt == "xlsx" else _csv_texts(buf.getvalue())
    _assert_quoted(texts, IMPORTED, STORED)


@pytest.mark.parametrize(("fmt", "encoding"), [("xlsx", "utf-8"), ("csv", "utf-8"), ("csv", "gbk")])
def test_the_bank_file_writes_a_hostile_payee_name_as_quoted_text_and_amounts_unchanged(
        session, county_officer, city_admin, hostile, fmt, encoding):
    summary = run_cycle(session, actor=county_officer, program="dibao", period=Period(2012, 7))
    approve_cycle(session, actor=city_admin, cycle_id=summary.cycle_id)
    buf = io.BytesIO()
    export_cycle(session, actor=city_admin, cycle_id=summary.cycle_id, target=buf, fmt=fmt, encoding=encoding)
    texts = _xlsx_texts(buf.getvalue()) if fmt == "xlsx" else _csv_texts(buf.getvalue(), encoding)
    _assert_quoted(texts, IMPORTED)
    assert "6228480000000000009" in texts and "920.00" in texts  # (460−0)×2: digits and amounts stay as they are


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_the_medical_export_writes_a_hostile_patient_name_as_quoted_text(session, county_officer, hostile, fmt):
    spouse = next(m for m in hostile.members if not m.is_head)
    data = _csv(SETTLEMENT_HEADERS, [["M1", spouse.id_number, "2012-03-01", "门诊", "1000", "0", "0", "1000"]])
    assert import_settlements(session, actor=county_officer, data=data, filename="settlement.csv").ok
    buf = io.BytesIO()
    export_results(session, user=county_officer, start=date(2012, 1, 1), end=date(2012, 12, 31), target=buf, fmt=fmt)
    texts = _xlsx_texts(buf.getvalue()) if fmt == "xlsx" else _csv_texts(buf.getvalue())
    _assert_quoted(texts, STORED)
