"""Elderly import: all or nothing, every failure as `row N, column X: reason`, like the household import."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from tests.factories import household, new_id
from typer.testing import CliRunner

from minxin.eldercare.importer import HEADERS, import_elderly
from minxin.eldercare.models import CallDevice, ElderlyProfile, EmergencyContact
from minxin.eldercare.service import get_elderly_for, list_elderly
from minxin.registry.service import HouseholdIn, MemberIn, create_household

C = "320706006001"


def _old_household(session, actor, *, birth=date(1945, 5, 1), community=C):
    number = new_id(birth, region=community[:6])
    hh = create_household(session, actor=actor, data=HouseholdIn(
        household_no=f"OLD{number[-8:]}", region_code=community, hukou_type="城镇",
        members=[MemberIn(name="张桂英", id_number=number, relation="户主")]))
    return hh.members[0]


def _row(id_number: str, **over: str) -> list[str]:
    base = {"身份证号": id_number, "居住状况": "独居", "慢性病": "高血压、糖尿病", "能力等级": "轻度失能",
            "评估日期": "2012-03-01", "手机": "13812340001", "固定电话": "", "住址": "新海路 8 号",
            "呼叫终端号": "", "紧急联系人1": "张强", "关系1": "子女", "联系电话1": "13900001111",
            "紧急联系人2": "", "关系2": "", "联系电话2": ""}
    base.update(over)
    return [base[h] for h in HEADERS]


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADERS)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_a_clean_file_stores_profiles_contacts_and_devices(session, county_officer):
    a, b = _old_household(session, county_officer), _old_household(session, county_officer)
    rows = [_row(a.id_number, 呼叫终端号="lyg-0001"),
            _row(b.id_number, 居住状况="空巢", 能力等级="", 评估日期="", 紧急联系人2="李四", 关系2="邻居",
                 联系电话2="13900002222")]
    result = import_elderly(session, actor=county_officer, data=_csv(rows), filename="e.csv")
    assert result.ok, result.errors
    assert (result.created, result.updated) == (2, 0)
    ea = get_elderly_for(session, county_officer, a.id)
    assert ea.profile is not None and ea.profile.living_arrangement == "独居"
    assert (ea.profile.care_level, ea.profile.assessed_on) == ("轻度失能", date(2012, 3, 1))
    assert [d.terminal_id for d in ea.devices] == ["LYG-0001"]
    eb = get_elderly_for(session, county_officer, b.id)
    assert [(c.name, c.relation, c.priority) for c in eb.contacts] == [("张强", "子女", 1), ("李四", "邻居", 2)]
    assert eb.profile is not None and eb.profile.care_level is None


def test_importing_a_person_again_updates_and_replaces_the_contacts(session, county_officer):
    a = _old_household(session, county_officer)
    assert import_elderly(session, actor=county_officer, data=_csv([_row(a.id_number)]), filename="e.csv").ok
    again = import_elderly(session, actor=county_officer, filename="e.csv",
                           data=_csv([_row(a.id_number, 居住状况="与家人同住", 紧急联系人1="赵六")]))
    assert again.ok and (again.created, again.updated) == (0, 1)
    e = get_elderly_for(session, county_officer, a.id)
    assert e.profile is not None and e.profile.living_arrangement == "与家人同住"
    assert [c.name for c in e.contacts] == ["赵六"]


def test_one_bad_row_stores_nothing_and_every_error_names_row_and_column(session, county_officer):
    a, b = _old_household(session, county_officer), _old_household(session, county_officer)
    young = household(session, county_officer).members[0]  # born 1975
    other = new_id(date(1940, 1, 1))  # valid but not registered
    rows = [
        _row(a.id_number, 呼叫终端号="T-1"),
        _row(b.id_number, 居住状况="养老院", 能力等级="", 评估日期="2012-01-01", 手机="12345"),
        _row(young.id_number),
        _row(other),
        _row("320706194001011234"),
        _row(a.id_number, 呼叫终端号="T-1"),
        _row(b.id_number, 紧急联系人1="", 关系1="子女"),
    ]
    before = _count(session, ElderlyProfile)
    result = import_elderly(session, actor=county_officer, data=_csv(rows), filename="e.csv", as_of=date(2012, 7, 1))
    assert not result.ok
    got = {(e.row, e.column) for e in result.errors}
    assert {(3, "居住状况"), (3, "能力等级"), (3, "手机"), (4, "身份证号"), (5, "身份证号"), (6, "身份证号"),
            (7, "身份证号"), (7, "呼叫终端号"), (8, "紧急联系人1")} <= got
    assert any("未满 60 周岁" in e.reason for e in result.errors if e.row == 4)
    assert any("未在本辖区登记" in e.reason for e in result.errors if e.row == 5)
    assert _count(session, ElderlyProfile) == before
    assert _count(session, EmergencyContact) == 0


def test_a_terminal_of_another_person_and_a_person_out_of_scope_are_refused(session, county_officer,
                                                                           other_county_officer):
    a, b = _old_household(session, county_officer), _old_household(session, county_officer)
    assert import_elderly(session, actor=county_officer, data=_csv([_row(a.id_number, 呼叫终端号="T-9")]),
                          filename="e.csv").ok
    r = import_elderly(session, actor=county_officer, data=_csv([_row(b.id_number, 呼叫终端号="t-9")]),
                       filename="e.csv")
    assert [(e.row, e.column) for e in r.errors] == [(2, "呼叫终端号")]
    r = import_elderly(session, actor=other_county_officer, data=_csv([_row(b.id_number)]), filename="e.csv")
    assert [(e.row, e.column) for e in r.errors] == [(2, "身份证号")]
    assert _count(session, CallDevice) == 1


def test_wrong_headers_and_a_call_agent_are_refused(session, county_officer, call_agent):
    from minxin.core.errors import Forbidden

    r = import_elderly(session, actor=county_officer, data=b"a,b\n1,2\n", filename="e.csv")
    assert not r.ok and r.errors[0].column == "表头" and "缺少列" in r.errors[0].reason
    with pytest.raises(Forbidden):
        import_elderly(session, actor=call_agent, data=_csv([]), filename="e.csv")


def test_the_elderly_list_is_everyone_aged_60_in_scope_profile_or_not(session, county_officer,
                                                                     other_county_officer):
    a = _old_household(session, county_officer)
    b = _old_household(session, county_officer, birth=date(1952, 7, 2))
    household(session, county_officer)
    import_elderly(session, actor=county_officer, data=_csv([_row(a.id_number)]), filename="e.csv")
    birthday = b.birth_date.replace(year=b.birth_date.year + 60)
    on = date.fromordinal(birthday.toordinal() - 1)
    ids = {p.id for p, _ in list_elderly(session, user=county_officer, on=on, page_size=200).items}
    assert a.id in ids and b.id not in ids
    assert b.id in {p.id for p, _ in list_elderly(session, user=county_officer, on=birthday,
                                                  page_size=200).items}
    alone = list_elderly(session, user=county_officer, on=on, living="独居", page_size=200).items
    assert a.id in {p.id for p, _ in alone}
    assert a.id not in {p.id for p, _ in list_elderly(session, user=other_county_officer, on=on).items}


def test_the_cli_imports_or_writes_the_error_sheet_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from tests.conftest import make_user

    from minxin.auth.service import ensure_system_user
    from minxin.cli import app
    from minxin.infra import db, migrate
    from minxin.infra.settings import get_settings
    from minxin.programs.service import init_programs
    from minxin.registry.service import seed_regions

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("MINXIN_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = db.get_engine(url)
    migrate.upgrade(engine)
    with db.unit_of_work(engine) as s:
        seed_regions(s)
        ensure_system_user(s)
        init_programs(s)
        officer = make_user(s, username="hz", role="county_officer", scope="320706")
        old = _old_household(s, officer).id_number
    good = tmp_path / "good.csv"
    good.write_bytes(_csv([_row(old, 呼叫终端号="D-77")]))
    bad = tmp_path / "bad.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    ws.append(_row(old, 居住状况="?"))
    wb.save(bad)
    run = CliRunner().invoke
    try:
        r = run(app, ["eldercare", "import", str(bad), "--errors", str(tmp_path / "err.xlsx"), "--as", "hz"])
        assert r.exit_code == 1 and "nothing was imported" in r.stderr and "Traceback" not in r.output
        assert "row 2, column 居住状况" in r.stdout
        sheet = load_workbook(tmp_path / "err.xlsx").active
        assert any("居住状况" in str(c.value) for row in sheet.iter_rows() for c in row if c.value)
        r = run(app, ["eldercare", "import", str(good), "--as", "hz"])
        assert r.exit_code == 0, r.output
        assert "1 new" in r.stderr
        r = run(app, ["eldercare", "import", str(tmp_path / "missing.csv")])
        assert r.exit_code == 1 and "no such file" in r.stderr
        r = run(app, ["report", "calls", "2012-13", "--json"])
        assert r.exit_code == 1 and "month out of range" in r.stderr
        r = run(app, ["report", "calls", "2012-07", "--json"])
        assert r.exit_code == 0 and json.loads(r.stdout)["total"]["calls"] == 0
    finally:
        engine.dispose()
        get_settings.cache_clear()
