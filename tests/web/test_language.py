"""Every page and every downloadable file reads in Chinese: no catalogue key, no English, no bare region code.

Each GET route of the app that answers a page or a file (the JSON API, whose keys are a contract, and a
few machine routes are listed apart) is rendered without query parameters, with the ids of seeded records
for its path parameters and every format it offers, by the city admin or, where the city admin may not
open it, by the first role that may. The visible text is taken out (HTML text nodes and the attributes a
user sees, xlsx sheet names and cells, CSV cells, the download's file name) and checked for
- an untranslated catalogue key (a dotted lower-case identifier, e.g. `household.source.demo`);
- an English word outside a short list of terms clerks use as they are (Excel, CSV, ID …);
- a region code (county, town or community) shown without its name beside it (a table row, a list item,
  a spreadsheet row).
Users are given Chinese display names, so a user name (ASCII) shown where a person belongs is English too.
A route with no seed for one of its path parameters fails the test; so does a page that does not open.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from tests.factories import active_case, household
from tests.web.conftest import csrf_from, household_rows, xlsx_bytes
from tests.web.test_route_permissions import IDENTITIES, World, _build_world, app_routes

from minxin.assistance.supermarkets.service import record_donation
from minxin.auth.models import User
from minxin.core.period import Period
from minxin.eldercare import stream as call_stream
from minxin.infra.clock import today
from minxin.infra.db import write_lock
from minxin.programs.cycles import RESULT_FAIL, RESULT_OK, approve_cycle, export_cycle, run_cycle
from minxin.programs.models import CaseEvent
from minxin.registry.models import IncomeDeclaration, Region

# The wording of pages and files does not depend on the database; the pages are tested on both.
ONE_DATABASE = "wording does not depend on the database"

# Routes that answer no page and no file a clerk reads: JSON (keys are the API's contract), a script, the
# liveness probe, the language switch (a redirect) and the call feed (a stream of JSON events).
NOT_PAGES = ("/api/", "/openapi.json", "/healthz", "/lang/", "/reports/low-income/chart.js")

# The formats each `{fmt}` route offers, each downloaded (bank CSV in both encodings).
FORMATS: dict[str, list[str]] = {
    "/cycles/{cycle_id:int}/bank.{fmt}": ["xlsx", "csv", "csv?encoding=gbk"],
    "/medical/export.{fmt}": ["xlsx", "csv"],
    "/imports/{run_id:int}/errors.{fmt}": ["xlsx", "csv"],
    "/premiums/{year}/roster.{fmt}": ["xlsx", "csv"],
}

# Words clerks use as they are. Everything else in Latin letters is English left in the Chinese UI.
ALLOWED_WORDS = {"api", "id", "xlsx", "csv", "pdf", "sse", "http", "https", "excel", "utf", "gbk", "bom",
                 "english", "wcag", "ip", "url", "json", "kb", "mb", "gb",
                 "rp"}  # the permission test's record markers (RP标记A超市), seeded data, not wording
# The words a bank's result file may carry in its 结果 column, named on the cycle page as values to type.
ALLOWED_WORDS |= {w.lower() for w in (*RESULT_OK, *RESULT_FAIL) if w.isascii() and w.isalpha()}

# A code beside which the name is not repeated on purpose: an import's error sheet gives the clerk's own rows
# back, as typed, to be corrected and imported again.
RAW_ROWS = ("/import/errors/",)
# Raw stored data a page or file shows on purpose (the audit trail's detail and keys, for the auditor):
# marked `translate="no"` in a page (the HTML attribute for text that is not wording) and headed
# `…（原始）` in a spreadsheet; both are left out of the wording checks.
RAW_MARK = "（原始）"

# What the city admin may not open, opened by the first of these roles that may.
FALLBACK_ROLES = ["county_officer", "call_agent", "town_officer", "community_worker", "auditor"]

# Display names of the test users: Chinese, as the bureau's users are named.
DISPLAY_NAMES = {"rp_worker": "社区专干王芳", "rp_town": "街道干部李强", "rp_county": "区民政局赵敏",
                 "rp_city": "市民政局陈刚", "rp_agent": "坐席员周琳", "rp_auditor": "审计员孙磊",
                 "rp_ganyu": "赣榆区吴涛"}

_KEY = re.compile(r"(?<![\w./@-])[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+(?![\w/@-])")
# Letters glued to digits are identifiers (户编号 RPMARKA001, a certificate number), not words.
_WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z_]+(?![A-Za-z0-9_])")
_CODE = re.compile(r"(?<![\d*])(\d{12}|\d{9}|\d{6})(?![\d*])")
HAIZHOU_RURAL_COMMUNITY = "320706006001"
_PARAM = re.compile(r"{([a-z_]+)(?::[a-z]+)?}")


# ---- visible text ---------------------------------------------------------------------------------

_VISIBLE_ATTRS = {"title", "placeholder", "alt", "aria-label", "data-confirm"}


class _Text(HTMLParser):
    """Text nodes and visible attributes, grouped by the row (tr, li, p …) they stand in."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = [[]]
        self._stack: list[tuple[str, int]] = []  # (tag, row index)
        self._skip = 0
        self._skipping: list[str] = []  # the tags whose content is skipped, innermost last

    def _row(self) -> list[str]:
        for tag, index in reversed(self._stack):
            if tag in ("tr", "li", "option", "p", "dt", "dd", "h1", "h2", "h3", "label", "summary", "legend"):
                return self.rows[index]
        return self.rows[0] if not self._stack else self.rows[self._stack[-1][1]]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template") or ("translate", "no") in attrs:
            self._skip += 1
            self._skipping.append(tag)
        if tag in ("br", "input", "img", "meta", "link", "hr", "col", "source", "wbr"):
            self._attrs(tag, attrs)
            return
        self.rows.append([])
        self._stack.append((tag, len(self.rows) - 1))
        self._attrs(tag, attrs)

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        texts = [v for k, v in attrs if k in _VISIBLE_ATTRS and v]
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            texts.append(values["value"] or "")
        if texts and not self._skip:
            self._row().extend(texts)

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()
            self._skip -= 1
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self._row().append(data.strip())


def html_rows(text: str) -> list[list[str]]:
    parser = _Text()
    parser.feed(text)
    rows = [row for row in parser.rows if row]
    # A row's text is what stands inside it, its nested rows included: a code and its name side by side in
    # one table row count as a code with its name.
    return rows


def xlsx_rows(data: bytes) -> list[list[str]]:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    # A sheet's name is wording (Sheet1 is English), whatever digits it carries.
    rows: list[list[str]] = [[re.sub(r"\d", " ", ws.title) for ws in wb.worksheets]]
    for ws in wb.worksheets:
        raw_columns: set[int] = set()
        for n, row in enumerate(ws.iter_rows(values_only=True)):
            if n == 0:  # a column headed …（原始） gives stored keys as they are, for tools and a second check
                raw_columns = {i for i, v in enumerate(row) if isinstance(v, str) and v.endswith(RAW_MARK)}
            rows.append([str(v) for i, v in enumerate(row)
                         if v is not None and str(v).strip() and (n == 0 or i not in raw_columns)])
    return rows


def csv_rows(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gbk")
    return [[c for c in row if c.strip()] for row in csv.reader(io.StringIO(text))]


def visible_rows(response: Any) -> list[list[str]]:
    kind = response.headers.get("content-type", "")
    rows: list[list[str]]
    if "html" in kind:
        rows = html_rows(response.text)
    elif "spreadsheetml" in kind:
        rows = xlsx_rows(response.content)
    elif "csv" in kind or "text/plain" in kind:
        rows = csv_rows(response.content)
    else:
        raise AssertionError(f"unexpected content type {kind!r}")
    disposition = response.headers.get("content-disposition", "")
    name = re.search(r"filename\*=UTF-8''([^;]+)", disposition) or re.search(r'filename="([^"]+)"', disposition)
    if name:
        # The name the browser saves the file under (the UTF-8 one); its extension is a format word.
        rows.append([unquote(name.group(1))])
    return rows


@dataclass
class Finding:
    url: str
    what: str
    text: str

    def __str__(self) -> str:
        return f"{self.url}: {self.what}: {self.text[:120]!r}"


def findings(url: str, rows: list[list[str]], regions: dict[str, str]) -> list[Finding]:
    found: list[Finding] = []
    raw = url.startswith(RAW_ROWS)
    for row in rows:
        joined = " ".join(row)
        for cell in row:
            for key in _KEY.findall(cell):
                if not re.fullmatch(r"[a-z0-9_]+\.(xlsx|csv)", key):  # a file name is caught below as English
                    found.append(Finding(url, f"catalogue key {key}", cell))
            for word in _WORD.findall(cell):
                if word.lower() not in ALLOWED_WORDS:
                    found.append(Finding(url, f"English word {word}", cell))
            for code in _CODE.findall(cell):
                name = regions.get(code)
                if name is not None and name not in joined and not raw:
                    found.append(Finding(url, f"region code {code} without its name {name}", joined))
    return found


# ---- the city ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[World]:
    saved, call_stream.MAX_STREAM_SECONDS = call_stream.MAX_STREAM_SECONDS, 0.3
    with write_lock():
        connection = engine.connect()
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            w = _build_world(session, connection)
            _seed_more(session, w)
            yield w
        finally:
            session.close()
            outer.rollback()
            connection.close()
            call_stream.MAX_STREAM_SECONDS = saved


def _seed_more(session: Session, w: World) -> None:
    """Display names, an exported cycle (its bank file), a veterans recipient and an import's error sheet."""
    from datetime import date

    from tests.factories import new_id

    from minxin.veterans.importer import import_veterans
    from minxin.veterans.models import VeteranRecipient

    for username, display in DISPLAY_NAMES.items():
        session.execute(update(User).where(User.username == username).values(display_name=display))
    users = {key: session.get(User, w.users[key].id) for key in w.users}
    city, county = users["city_admin"], users["county_officer"]
    assert city is not None and county is not None
    approve_cycle(session, actor=county, cycle_id=w.ids["cycle_id"])
    export_cycle(session, actor=city, cycle_id=w.ids["cycle_id"], target=io.BytesIO())
    head = "姓名,身份证号,社区代码,优抚类别,子类,开始月份,账号,服役年限"
    res = import_veterans(session, actor=county, filename="v.csv", data=(
        f"{head}\n张伤残,{new_id(date(1950, 2, 1))},320706006001,残疾军人,二级/因战,2013-01,622200000000000071,\n"
    ).encode())
    assert res.ok, res
    w.ids["recipient_id"] = session.execute(select(VeteranRecipient.id).order_by(VeteranRecipient.id.desc())
                                            ).scalars().first()
    # The case page's history as the demo and real imports write it: an imported case's first step, steps
    # by staff (shown by their display names), and a demo income declaration on the household page.
    town, worker = users["town_officer"], users["community_worker"]
    assert town is not None and worker is not None
    case_id = w.ids["case_id"]
    session.add_all([
        CaseEvent(case_id=case_id, action="import", from_status=None, to_status="active", actor="system"),
        CaseEvent(case_id=case_id, action="investigate", from_status="applied", to_status="investigated",
                  actor=worker.username, reason="入户调查属实"),
        CaseEvent(case_id=case_id, action="notice", from_status="reviewed", to_status="noticed",
                  actor=town.username),
        IncomeDeclaration(household_id=w.ids["household_id"], declared_on=today(), monthly_income_fen=50000,
                          source="demo"),
    ])
    # A donation booked by the county officer: the ledger (page and xlsx) names who booked it.
    record_donation(session, actor=county, supermarket_id=w.ids["supermarket_id"], donor="某公司", money_fen=10000)
    # A 五保 cycle: it pays persons.
    wubao = household(session, city, community=HAIZHOU_RURAL_COMMUNITY, hukou="农村", members=1, no="RPWUBAO01")
    wubao_case = active_case(session, wubao, program="wubao")
    wubao_case.category = "分散"
    session.flush()
    w.ids["wubao_cycle_id"] = run_cycle(session, actor=city, program="wubao", period=Period(2012, 7),
                                        county="320706").cycle_id
    session.commit()
    # An import with an error: its error sheet is one of the files a clerk downloads.
    client = w.clients["city_admin"]
    rows = household_rows(1)
    rows[0][2] = "123"  # a bad ID number
    page = client.get("/import")
    answer = client.post("/import", data={"csrf_token": csrf_from(page.text)},
                         files={"file": ("户籍.xlsx", xlsx_bytes(rows), "application/octet-stream")})
    token = re.search(r'href="/import/errors/([^"/]+)\.xlsx"', answer.text)
    assert token, answer.text[:500]
    w.ids["token"] = token.group(1)


def urls_for(path: str, ids: dict[str, Any]) -> list[str]:
    missing = [name for name in _PARAM.findall(path) if name not in ids and name != "fmt"]
    assert not missing, f"{path}: no seeded record for {missing}"
    filled = _PARAM.sub(lambda m: m.group(0) if m.group(1) == "fmt" else str(ids[m.group(1)]), path)
    if "{fmt}" in filled:
        assert path in FORMATS, f"{path}: list the formats it offers in FORMATS"
        out = []
        for fmt in FORMATS[path]:
            ext, _, query = fmt.partition("?")
            out.append(filled.replace("{fmt}", ext) + (f"?{query}" if query else ""))
        return out
    return [filled]


def pages(world: World) -> list[str]:
    return sorted(path for key, (method, path) in app_routes(world.app).items()
                  if method == "GET" and not path.startswith(NOT_PAGES))


def open_page(world: World, url: str) -> tuple[str, Any]:
    """(who opened it, the answer): the city admin, else the first role allowed, else anonymous."""
    tried = []
    for who in ["city_admin", *FALLBACK_ROLES]:
        savepoint = world.connection.begin_nested()
        try:
            response = world.clients[who].get(url)
        finally:
            savepoint.rollback()
        if response.status_code == 200:
            return who, response
        tried.append(f"{who}: {response.status_code}")
    anonymous = world.clients["anonymous"].get(url)
    if anonymous.status_code == 200:
        return "anonymous", anonymous
    raise AssertionError(f"{url} opens for nobody: {tried}, anonymous: {anonymous.status_code}")


def region_names(world: World) -> dict[str, str]:
    with Session(bind=world.connection) as s:
        return dict(s.execute(select(Region.code, Region.name)).tuples().all())


# ---- the tests ----------------------------------------------------------------------------------------

def test_every_page_and_file_opens_without_query_parameters_and_reads_in_chinese(world: World) -> None:
    regions = region_names(world)
    problems: list[str] = []
    for path in pages(world):
        for url in urls_for(path, world.ids):
            try:
                _who, response = open_page(world, url)
            except AssertionError as exc:
                problems.append(str(exc))
                continue
            problems += [str(f) for f in findings(url, visible_rows(response), regions)]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(dict.fromkeys(problems))


def test_the_checks_catch_what_they_are_for() -> None:
    regions = {"320706": "海州区", "320706006001": "胜利社区"}
    caught = {"household.source.demo": "catalogue key household.source.demo", "导入 import 完成": "English word import",
              "320706": "region code 320706 without its name 海州区", "rp_city": "English word rp_city"}
    for text, what in caught.items():
        assert what in [f.what for f in findings("/x", [[text]], regions)], text
    passed = [["海州区", "320706"], ["320706********1234"], ["导出 Excel、CSV（UTF-8）"], ["胜利社区（320706006001）"],
              ["1.5 倍"], ["户编号 RPMARKA001"], ["320706006001 李娜"]]
    assert [f.what for f in findings("/x", passed[:-1], regions)] == []
    assert findings("/import/errors/abc.xlsx", passed[-1:], regions) == []  # the clerk's own rows, as typed


def test_visible_text_is_taken_from_text_nodes_and_the_attributes_users_see() -> None:
    rows = html_rows('<html><head><title>标题</title><script>var lang="en";</script></head><body>'
                     '<table><tr><td>320706</td><td><a href="/x?county=320707">海州区</a></td></tr></table>'
                     '<input type="hidden" value="secret"><input type="submit" value="提交">'
                     '<input placeholder="如：海州区"><button title="删除">×</button></body></html>')
    flat = [t for row in rows for t in row]
    assert "secret" not in flat and 'var lang="en";' not in flat
    assert {"标题", "320706", "海州区", "提交", "如：海州区", "删除", "×"} <= set(flat)
    assert any("320706" in row and "海州区" in row for row in rows)


def test_the_display_name_is_shown_where_a_user_is_named(world: World) -> None:
    """The cycle page names who ran and approved it by their display names."""
    _, response = open_page(world, f"/cycles/{world.ids['cycle_id']}")
    assert DISPLAY_NAMES[IDENTITIES["county_officer"][0]] in response.text


def test_the_case_history_names_steps_and_staff_in_chinese(world: World) -> None:
    _, response = open_page(world, f"/cases/{world.ids['case_id']}")
    text = " ".join(t for row in html_rows(response.text) for t in row)
    assert "批量导入" in text and DISPLAY_NAMES["rp_worker"] in text and DISPLAY_NAMES["rp_town"] in text


def test_a_wubao_cycle_counts_persons_not_households(world: World) -> None:
    _, response = open_page(world, f"/cycles/{world.ids['wubao_cycle_id']}")
    text = " ".join(t for row in html_rows(response.text) for t in row)
    assert "发放人数" in text and "人数" in text and "户数" not in text and "户主" not in text
    _, dibao = open_page(world, f"/cycles/{world.ids['cycle_id']}")
    assert "发放户数" in dibao.text
    _, cycles = open_page(world, "/cycles")
    assert re.search(r"\d+ 人</td>", cycles.text) and re.search(r"\d+ 户</td>", cycles.text)
