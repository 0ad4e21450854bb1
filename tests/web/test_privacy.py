"""Privacy of masked pages and files (PIPL Art.6, minimum necessary): an attacker's attempt to rebuild
full ID numbers and names from what every masked page, API answer and downloadable file shows.

Persons with distinctive names and birth dates are seeded into every kind of record that a masked face
lists (registry, 低保 case and cycle, public notice, orphan, elderly, 优抚). For each face the test:

* looks for any valid 18-digit ID number (GB 11643 check digit) and for each seeded person's number;
* rebuilds ID numbers from each masked one (320706********1234) and every date the document shows
  (2010-02-23, 2010/2/23, 2010年2月23日, 20100223, an Excel date cell): the region and the last four
  are visible, a date fills the eight hidden digits, and the check digit confirms a guess, so a birth
  date anywhere beside a masked number gives the number back;
* on faces that mask names, looks for each seeded person's full name and for its hidden part.

Detail pages for staff whose scope covers the household (the household page, the elderly person's
page) show names in full by design; they mask the ID number and must not give it back either. The
unmasked forms stay for the roles that may see them: the audited unmasked export and the reveal.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from tests.conftest import make_user
from tests.web.conftest import logged_in

from minxin.core.errors import Forbidden
from minxin.core.idnumber import check_char, is_valid_id, make_id
from minxin.core.masking import mask_id
from minxin.core.period import Period
from minxin.eldercare.models import ElderlyProfile
from minxin.infra.db import utcnow
from minxin.programs.cycles import run_cycle
from minxin.programs.models import Case
from minxin.registry.export import export_persons
from minxin.registry.service import HouseholdIn, MemberIn, create_household
from minxin.veterans.models import VeteranRecipient

COMMUNITY = "320706006001"

# Names no factory produces, birth dates no other record carries.
PEOPLE = {
    "诸葛孔明": (date(1951, 8, 17), 317),
    "欧阳娜娜": (date(1953, 11, 29), 428),
    "司马懿德": (date(2010, 2, 23), 519),
    "上官婉儿": (date(1962, 4, 9), 622),
    "东方既白": (date(1949, 12, 31), 735),
}
ID_OF = {name: make_id("320706", born, seq) for name, (born, seq) in PEOPLE.items()}

_VALID_18 = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9A-Z])")
_MASKED = re.compile(r"(?<![0-9])([0-9]{6})\*{8}([0-9]{3})([0-9X])")
_DATES = (
    re.compile(r"(?<![0-9])(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})(?![0-9])"),
    re.compile(r"(?<![0-9])(\d{4})(\d{2})(\d{2})(?![0-9])"),
)


@pytest.fixture
def seeded(session, system_user):
    """Every kind of masked record, for the seeded persons."""
    def member(name: str, relation: str, **kw):  # type: ignore[no-untyped-def]
        return MemberIn(name=name, id_number=ID_OF[name], relation=relation, **kw)

    home = create_household(session, actor=system_user, data=HouseholdIn(
        household_no="PRIV-0001", region_code=COMMUNITY, hukou_type="城镇", address="新海街道隐私路 1 号",
        phone="13905181234", members=[member("诸葛孔明", "户主", phone="13812340001"),
                                      member("欧阳娜娜", "配偶"), member("司马懿德", "子女")]))
    noticed_home = create_household(session, actor=system_user, data=HouseholdIn(
        household_no="PRIV-0002", region_code=COMMUNITY, hukou_type="城镇",
        members=[member("上官婉儿", "户主"), member("东方既白", "父母")]))
    head, _, child = home.members
    dibao = Case(program_code="dibao", household_id=home.id, person_id=head.id, region_code=COMMUNITY,
                 category="城镇", status="active", start_period="2012-01", bank_account="6228480000000000017")
    notice = Case(program_code="dibao", household_id=noticed_home.id, person_id=noticed_home.members[0].id,
                  region_code=COMMUNITY, category="城镇", status="noticed",
                  notice_start=utcnow() - timedelta(days=1), notice_end=utcnow() + timedelta(days=6))
    orphan = Case(program_code="orphan", person_id=child.id, region_code=COMMUNITY, category="社会散居",
                  status="active", start_period="2012-01", bank_account="6222020000000000018")
    youfu = Case(program_code="youfu", person_id=head.id, region_code=COMMUNITY, category="烈士遗属",
                 status="active", start_period="2012-01", bank_account="6222020000000000019")
    session.add_all([dibao, notice, orphan, youfu])
    session.flush()
    session.add(VeteranRecipient(person_id=head.id, case_id=youfu.id, region_code=COMMUNITY, category="烈士遗属"))
    session.add(ElderlyProfile(person_id=head.id, region_code=COMMUNITY, living_arrangement="独居",
                               phone="13811110001"))
    session.flush()
    cycle = run_cycle(session, actor=system_user, program="dibao", period=Period(2012, 7), county="320706")
    session.commit()
    return {"home": home, "head": head, "dibao": dibao, "orphan": orphan, "cycle": cycle.cycle_id,
            "veteran": session.query(VeteranRecipient).filter_by(case_id=youfu.id).one().id}


# ---- what a document shows, as text and as the dates in it ----------------------------------------

def _xlsx_text(content: bytes) -> str:
    wb = load_workbook(io.BytesIO(content), read_only=True)
    lines = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            cells = [v.date().isoformat() if isinstance(v, datetime) else v.isoformat() if isinstance(v, date)
                     else "" if v is None else str(v) for v in row]
            lines.append("\t".join(cells))
    return "\n".join(lines)


def _text_of(response) -> str:  # type: ignore[no-untyped-def]
    kind = response.headers.get("content-type", "")
    if "spreadsheetml" in kind:
        assert zipfile.is_zipfile(io.BytesIO(response.content))
        return _xlsx_text(response.content)
    if "json" in kind:
        return json.dumps(response.json(), ensure_ascii=False)
    return response.text


def _dates(text: str) -> set[str]:
    found = set()
    for pattern in _DATES:
        for y, m, d in pattern.findall(text):
            try:
                found.add(date(int(y), int(m), int(d)).strftime("%Y%m%d"))
            except ValueError:
                continue
    return found


def rebuilt_ids(text: str) -> set[str]:
    """Every seeded ID number rebuilt from a masked one and a date shown in the same document."""
    out = set()
    dates = _dates(text)
    for region, seq, check in _MASKED.findall(text):
        for day in dates:
            first17 = region + day + seq
            if check_char(first17) == check and first17 + check in ID_OF.values():
                out.add(first17 + check)
    return out


def assert_private(text: str, *, names_masked: bool, where: str) -> None:
    full = [n for n in _VALID_18.findall(text) if is_valid_id(n)]
    assert not full, f"{where}: full ID numbers shown: {full}"
    assert not [n for n in ID_OF.values() if n in text], f"{where}: a seeded ID number is shown"
    rebuilt = rebuilt_ids(text)
    assert not rebuilt, f"{where}: ID numbers rebuilt from a masked number and a date: {rebuilt}"
    if names_masked:
        shown = [n for n in PEOPLE if n in text or n[1:] in text]
        assert not shown, f"{where}: full names shown on a masked face: {shown}"


def test_the_check_itself_catches_a_birth_date_beside_a_masked_number():
    """The attack works: the old children list row (masked ID beside the birth date) gives the number back."""
    number = ID_OF["司马懿德"]
    row = f"<td>司*</td><td>{number[:6]}********{number[-4:]}</td><td>2010-02-23</td>"
    assert rebuilt_ids(row) == {number}
    assert rebuilt_ids(f"{number[:6]}********{number[-4:]} 出生 2010年2月23日") == {number}
    assert not rebuilt_ids(f"{number[:6]}********{number[-4:]} 13 岁")
    with pytest.raises(AssertionError):
        assert_private(row.replace("司*", "司马懿德"), names_masked=True, where="sample")


# ---- every masked face ------------------------------------------------------------------------------

def _masked_faces(s: dict) -> list[str]:  # type: ignore[type-arg]
    code = COMMUNITY
    return [
        "/registry", "/registry?q=诸葛", "/registry?q=PRIV&by=household_no", "/registry?q=隐私路&by=address",
        "/registry?q=1390518&by=phone", f"/registry?region={code}",
        "/registry/export.xlsx", "/registry/export.xlsx?q=PRIV&by=household_no", f"/registry/export.xlsx?region={code}",
        "/api/v1/persons?q=PRIV&by=household_no", "/api/v1/persons?q=诸葛",
        "/children", "/children.xlsx", f"/children/{s['orphan'].id}", "/api/v1/children",
        f"/api/v1/children/{s['orphan'].id}",
        "/cases", f"/cases?region={code}", f"/cases/{s['dibao'].id}", f"/cycles/{s['cycle']}",
        "/eldercare/elderly",
        "/veterans", "/veterans.xlsx", f"/veterans/{s['veteran']}", "/api/v1/veterans/recipients",
        f"/api/v1/veterans/recipients/{s['veteran']}",
    ]


# Faces that list a seeded person by their masked ID number.
EXPECTED = {
    "/registry?q=诸葛": ("诸葛孔明",), "/registry?q=PRIV&by=household_no": tuple(PEOPLE),
    "/registry/export.xlsx?q=PRIV&by=household_no": tuple(PEOPLE), "/api/v1/persons?q=诸葛": ("诸葛孔明",),
    "/children": ("司马懿德",), "/children.xlsx": ("司马懿德",), "/api/v1/children": ("司马懿德",),
    "/eldercare/elderly": ("诸葛孔明",), "/veterans": ("诸葛孔明",), "/veterans.xlsx": ("诸葛孔明",),
}


@pytest.mark.parametrize("role", ["county_officer", "community_worker", "auditor"])
def test_no_masked_page_or_file_gives_back_an_id_number_or_a_name(client, session, seeded, role):
    scope = {"county_officer": "320706", "community_worker": COMMUNITY, "auditor": "320700"}[role]
    logged_in(client, make_user(session, username=f"pv_{role}", role=role, scope=scope))
    refused = []
    for path in _masked_faces(seeded):
        answer = client.get(path)
        if answer.status_code in (403, 404):  # a face the role may not read
            refused.append(path)
            continue
        assert answer.status_code == 200, (path, answer.status_code)
        text = _text_of(answer)
        assert_private(text, names_masked=True, where=path)
        if path == "/cases":
            assert "诸***" in text  # the case list names the head, masked
        for name in EXPECTED.get(path, ()):
            # The list or file does hold the seeded person: the check looked at them, masked.
            assert mask_id(ID_OF[name]) in text, (path, name)
    # The officer of the county reads every face; the others what their role may.
    assert refused == [] if role == "county_officer" else len(refused) < len(_masked_faces(seeded)) // 2, refused


def test_the_public_notice_gives_back_nothing(client, seeded):
    answer = client.get(f"/notice/{COMMUNITY}")
    assert answer.status_code == 200 and "上*" in answer.text
    assert_private(answer.text, names_masked=True, where="notice")


@pytest.mark.parametrize("path", ["/households/{home}", "/api/v1/households/{home}", "/eldercare/elderly/{head}"])
def test_detail_pages_mask_the_id_number_and_never_give_it_back(client, session, seeded, path):
    logged_in(client, make_user(session, username="pv_detail", role="county_officer", scope="320706"))
    url = path.format(home=seeded["home"].id, head=seeded["head"].id)
    answer = client.get(url)
    assert answer.status_code == 200
    text = _text_of(answer)
    assert "诸葛孔明" in text  # names in full for staff whose scope covers the household, by design
    assert_private(text, names_masked=False, where=url)


def test_the_masked_export_masks_names_as_the_screen_and_leaves_out_the_birth_date(client, session, seeded):
    logged_in(client, make_user(session, username="pv_exp", role="county_officer", scope="320706"))
    rows = list(load_workbook(io.BytesIO(client.get("/registry/export.xlsx?q=PRIV&by=household_no").content))
                .active.iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    assert "出生日期" not in header
    names = [r[header.index("姓名")] for r in data]
    assert names == ["诸***", "欧***", "司***", "上***", "东***"]
    assert all(r[header.index("身份证号")].startswith("320706********") for r in data)
    assert data[0][header.index("社区")].count(" · ") == 1


# ---- the unmasked forms stay for the roles that may see them ---------------------------------------

def test_the_unmasked_export_stays_for_pii_roles_and_is_refused_to_others(session, seeded):
    officer = make_user(session, username="pv_pii", role="county_officer", scope="320706")
    auditor = make_user(session, username="pv_aud", role="auditor", scope="320700")
    buffer = io.BytesIO()
    export_persons(session, user=officer, target=buffer, q="PRIV", by="household_no", unmasked=True)
    text = _xlsx_text(buffer.getvalue())
    assert ID_OF["诸葛孔明"] in text and "诸葛孔明" in text and "1951-08-17" in text
    with pytest.raises(Forbidden):
        export_persons(session, user=auditor, target=io.BytesIO(), unmasked=True)


def test_the_reveal_is_offered_only_to_roles_that_may_see_full_numbers(client, session, seeded):
    home = seeded["home"].id
    logged_in(client, make_user(session, username="pv_rev", role="county_officer", scope="320706"))
    assert "/reveal" in client.get(f"/households/{home}").text
    client.cookies.clear()
    logged_in(client, make_user(session, username="pv_rev_aud", role="auditor", scope="320700"))
    assert "/reveal" not in client.get(f"/households/{home}").text
