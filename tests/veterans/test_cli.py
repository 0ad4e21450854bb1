"""`minxin veteran …` and `minxin report youfu-ontime` over a temporary SQLite file: output and exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import typer
from openpyxl import load_workbook
from tests.factories import new_id
from typer.testing import CliRunner

HEAD = "姓名,身份证号,社区代码,优抚类别,子类,开始月份,账号,服役年限"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[typer.Typer]:
    from tests.conftest import make_user

    from minxin.auth.service import ensure_system_user
    from minxin.infra import db, migrate
    from minxin.infra.settings import get_settings
    from minxin.kit.clikit import report_app
    from minxin.programs import cli as programs_cli
    from minxin.programs.service import init_programs
    from minxin.registry.service import seed_regions
    from minxin.veterans import cli as veterans_cli

    monkeypatch.setenv("MINXIN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    db._engine_for.cache_clear()
    engine = db.get_engine()
    migrate.upgrade(engine)
    with db.unit_of_work(engine) as s:
        seed_regions(s)
        ensure_system_user(s)
        init_programs(s)
        make_user(s, username="hz_officer", role="county_officer", scope="320706")
        make_user(s, username="gy_officer", role="county_officer", scope="320707")
        make_user(s, username="auditor1", role="auditor", scope="320700")
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """minxin (test root)."""

    veterans_cli.register(app)
    programs_cli.register(app)
    app.add_typer(report_app, name="report")
    yield app
    engine.dispose()
    get_settings.cache_clear()
    db._engine_for.cache_clear()


def _file(tmp_path: Path, name: str, *rows: str) -> str:
    path = tmp_path / name
    path.write_text("\n".join([HEAD, *rows]) + "\n", encoding="utf-8")
    return str(path)


def test_an_import_stores_recipients_and_a_cycle_pays_them(cli, tmp_path):
    runner = CliRunner()
    good = _file(tmp_path, "ok.csv", f"张三,{new_id(date(1950, 1, 1))},320706006001,残疾军人,一级/因战,2012-01,"
                                     "622200000000000001,",
                 f"王五,{new_id(date(1945, 1, 1))},320706006001,60周岁以上农村籍退役士兵,,2012-01,"
                 "622200000000000003,10")
    r = runner.invoke(cli, ["veteran", "import", good, "--as", "hz_officer"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["cycle", "run", "youfu", "2012-02", "--as", "hz_officer", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout[r.stdout.index("{"):])
    # Seeded national standards: 48000 a year ÷ 12 = 4000; 120 a year ÷ 12 × 10 years = 100.
    assert (data["cases"], data["total_fen"], data["arrears_fen"]) == (2, 410000, 0)
    assert {"cycle_id", "program", "period", "county", "status", "carryover_fen"} <= set(data)
    r = runner.invoke(cli, ["report", "youfu-ontime", "2012-02", "--json", "--as", "hz_officer"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["total"]["due"] == 2 and report["total"]["by_reason"] == {"not_exported": 2}
    assert {"county", "county_name", "due", "paid", "on_time", "late", "exceptions", "by_reason", "due_fen",
            "paid_fen"} <= set(report["counties"][0])
    r = runner.invoke(cli, ["veteran", "list", "--json", "--as", "gy_officer"])
    assert r.exit_code == 0 and json.loads(r.stdout)["total"] == 0  # another county sees none
    r = runner.invoke(cli, ["veteran", "show", "1", "--json", "--as", "hz_officer"])
    assert r.exit_code == 0 and json.loads(r.stdout)["payments"][0]["explanation"] == "年标准 48000 ÷ 12 = 4000"
    assert runner.invoke(cli, ["veteran", "show", "1", "--as", "gy_officer"]).exit_code == 1


def test_a_bad_file_exits_1_with_each_row_and_an_error_sheet(cli, tmp_path):
    runner = CliRunner()
    bad = _file(tmp_path, "bad.csv", f"甲,{new_id(date(1950, 1, 1))},320706006001,残疾军人,十一级/因战,2012-01,"
                                     "622200000000000001,",
                f"乙,{new_id(date(1950, 1, 1))},320706006001,烈士遗属,一级,2012-01,622200000000000002,")
    sheet = tmp_path / "errors.xlsx"
    r = runner.invoke(cli, ["veteran", "import", bad, "--errors", str(sheet), "--as", "hz_officer"])
    assert r.exit_code == 1
    assert "row 2, column 子类: " in r.stdout and "row 3, column 子类: " in r.stdout
    assert "nothing was imported" in r.stderr
    header = [c.value for c in next(load_workbook(sheet).active.iter_rows(max_row=1))]
    assert header[-1] == "错误"
    assert runner.invoke(cli, ["veteran", "import", str(tmp_path / "missing.csv")]).exit_code == 1
    assert runner.invoke(cli, ["veteran", "import", bad, "--as", "auditor1"]).exit_code == 1


@pytest.mark.parametrize("args", [["report", "youfu-ontime", "2012-13"], ["report", "youfu-ontime", "x"],
                                  ["veteran", "event", "999", "deceased", "--on", "2012-01-01"],
                                  ["veteran", "event", "1", "deceased", "--on", "yesterday"],
                                  ["veteran", "targets", "2012", "--as", "auditor1"]])
def test_bad_arguments_exit_1_with_one_line(cli, args):
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 1 and r.stderr.count("\n") == 1, (r.stdout, r.stderr)


def test_resettlement_on_the_command_line_and_a_death_with_its_cause(cli, tmp_path):
    runner = CliRunner()
    number = new_id(date(1990, 1, 1))
    r = runner.invoke(cli, ["veteran", "import", _file(tmp_path, "s.csv", f"李兵,{number},320706006001,烈士遗属,,"
                                                                           "2012-01,622200000000000009,"),
                            "--as", "hz_officer"])
    assert r.exit_code == 0, r.output

    def ok(*args: str) -> str:
        res = runner.invoke(cli, [*args, "--as", "hz_officer"])
        assert res.exit_code == 0, (args, res.output)
        return res.stdout

    ok("veteran", "soldier-add", number, "--discharged", "2011-12-01", "--priority", "烈士子女")
    assert runner.invoke(cli, ["veteran", "soldier-add", number, "--discharged", "2011-12-01", "--as",
                               "hz_officer"]).exit_code == 1  # registered once
    ok("veteran", "course-add", "电工", "--region", "320706", "--starts", "2012-11-01", "--ends", "2012-12-31")
    ok("veteran", "course-add", "厨师", "--region", "320706", "--starts", "2013-03-01", "--ends", "2013-04-30")
    assert runner.invoke(cli, ["veteran", "course-add", "x", "--region", "320707", "--starts", "2012-11-01",
                               "--ends", "2012-12-31", "--as", "hz_officer"]).exit_code == 1
    courses = json.loads(ok("veteran", "courses", "--json"))
    assert courses["total"] == 2
    by_name = {c["name"]: c["id"] for c in courses["items"]}
    ok("veteran", "enrol", "1", str(by_name["电工"]))
    ok("veteran", "enrol", "1", str(by_name["厨师"]))
    ok("veteran", "result", "1", "passed", "--certificate", "电工证001")
    ok("veteran", "placement", "1", "placed", "--on", "2013-06-01", "--note", "县供电公司")
    assert runner.invoke(cli, ["veteran", "placement", "1", "placed", "--as", "hz_officer"]).exit_code == 1  # no day
    detail = json.loads(ok("veteran", "soldier", "1", "--json"))
    assert (detail["placement_status"], detail["priority_reason"], detail["free_until"]) == \
        ("placed", "烈士子女", "2012-12-01")
    # Discharged 2011-12-01: a course starting 2012-11-01 is free, one starting 2013-03-01 is not.
    assert [(e["course"], e["free"], e["result"]) for e in detail["enrolments"]] == \
        [("电工", True, "passed"), ("厨师", False, "enrolled")]
    assert runner.invoke(cli, ["veteran", "soldier", "1", "--as", "gy_officer"]).exit_code == 1
    assert json.loads(ok("veteran", "soldiers", "--json"))["items"][0]["placement_status"] == "placed"

    ok("veteran", "event", "1", "deceased", "--on", "2012-03-02", "--cause", "other")
    benefit = json.loads(ok("veteran", "show", "1", "--json"))["death_benefit"]
    assert (benefit["months"], benefit["article"], benefit["pay_from"]) == (6, "军人抚恤优待条例第十九条", "2012-03")
