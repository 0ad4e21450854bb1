"""`minxin medical import | export | show` over a temporary SQLite file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from minxin.assistance.medical import models as _medical_models  # noqa: F401 - registers the table
from minxin.assistance.medical.importer import HEADERS
from minxin.assistance.medical.service import EXPORT_HEADERS


@pytest.fixture
def medical_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[typer.Typer, dict[str, str]]]:
    from tests.conftest import make_user
    from tests.factories import active_case, household

    from minxin.assistance.medical import cli as medical_cli_module
    from minxin.auth.service import ensure_system_user
    from minxin.infra import db, migrate
    from minxin.infra.settings import get_settings
    from minxin.programs.service import init_programs
    from minxin.registry.service import seed_regions

    monkeypatch.setenv("MINXIN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    db._engine_for.cache_clear()
    engine = db.get_engine()
    migrate.upgrade(engine)
    facts: dict[str, str] = {}
    with db.unit_of_work(engine) as s:
        seed_regions(s)
        ensure_system_user(s)
        init_programs(s)
        officer = make_user(s, username="hz_officer", role="county_officer", scope="320706")
        make_user(s, username="hz_worker", role="community_worker", scope="320706006001")
        make_user(s, username="auditor1", role="auditor", scope="320700")
        hh = household(s, officer, members=2)
        active_case(s, hh, start="2012-01")
        facts["member"] = hh.members[1].id_number
        facts["outsider"] = household(s, officer, members=1).members[0].id_number
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """minxin (test root)."""

    medical_cli_module.register(app)
    yield app, facts
    engine.dispose()
    get_settings.cache_clear()
    db._engine_for.cache_clear()


def _file(tmp_path: Path, rows: list[list[str]], name: str = "s.csv") -> Path:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADERS)
    w.writerows(rows)
    path = tmp_path / name
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_import_prints_what_it_did_and_a_second_import_skips_everything(medical_cli, tmp_path):
    app, facts = medical_cli
    path = _file(tmp_path, [["K1", facts["member"], "2012-03-01", "门诊", "1500", "900", "0", "1500"],
                            ["K2", facts["outsider"], "2012-03-02", "住院", "100", "0", "0", "100"]])
    runner = CliRunner()
    res = runner.invoke(app, ["medical", "import", str(path), "--as", "hz_officer"])
    assert res.exit_code == 0, res.output
    assert "new records: 2, skipped (already imported): 0" in res.stdout
    assert "assisted: 1 records, 300.00 元; new 医疗救助 cases: 1" in res.stdout
    assert "row 3 K2" in res.stdout and "不是低保家庭成员或五保对象" in res.stdout
    res = runner.invoke(app, ["medical", "import", str(path), "--as", "hz_officer", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert (data["new"], data["skipped"], data["assisted_fen"]) == (0, 2, 0)


def test_a_bad_file_exits_1_with_every_error_and_an_error_sheet(medical_cli, tmp_path):
    app, facts = medical_cli
    path = _file(tmp_path, [["B1", facts["member"], "2012-03-01", "门诊", "-1", "0", "0", "0"],
                            ["B1", facts["member"], "2012-03-01", "急诊", "10", "0", "0", "10"]])
    sheet = tmp_path / "errors.xlsx"
    res = CliRunner().invoke(app, ["medical", "import", str(path), "--as", "hz_officer", "--errors", str(sheet)])
    assert res.exit_code == 1
    assert "row 2, column 总费用: 记录号 B1：金额不能为负数" in res.stdout
    assert "row 3, column 记录号: 记录号 B1 与第 2 行重复" in res.stdout
    assert "3 error(s); nothing was imported" in res.output
    rows = list(load_workbook(sheet).active.iter_rows(values_only=True))
    assert rows[0][-1] == "错误" and "金额不能为负数" in rows[1][-1]


def test_export_and_show(medical_cli, tmp_path):
    app, facts = medical_cli
    runner = CliRunner()
    path = _file(tmp_path, [["S1", facts["member"], "2012-03-01", "门诊", "1500", "900", "0", "1500"]])
    assert runner.invoke(app, ["medical", "import", str(path), "--as", "hz_officer"]).exit_code == 0
    target = tmp_path / "out.csv"
    res = runner.invoke(app, ["medical", "export", "2012-01-01", "2012-12-31", str(target), "--format", "csv",
                              "--as", "hz_officer"])
    assert res.exit_code == 0, res.output
    lines = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert lines[0] == EXPORT_HEADERS and lines[1][0] == "S1" and lines[1][11] == "300.00"
    res = runner.invoke(app, ["medical", "show", facts["member"], "--as", "hz_officer", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["years"] == [{"year": 2012, "kind": "门诊", "records": 1, "used_fen": 30000, "cap_fen": 60000,
                              "left_fen": 30000}]
    assert data["records"][0]["explanation"] == "(1500−900−0−0)×50% = 300，年度封顶 600 已用 0，救助 300"
    res = runner.invoke(app, ["medical", "show", facts["member"], "--as", "hz_officer"])
    assert "2012 门诊: 1 笔，已用 300.00，封顶 600.00，剩余 300.00" in res.stdout


def test_refusals_are_one_line_messages(medical_cli, tmp_path):
    app, facts = medical_cli
    runner = CliRunner()
    path = _file(tmp_path, [["R1", facts["member"], "2012-03-01", "门诊", "10", "0", "0", "10"]])
    res = runner.invoke(app, ["medical", "import", str(path), "--as", "hz_worker"])
    assert res.exit_code == 1 and "无此权限" in res.output
    res = runner.invoke(app, ["medical", "export", "2012-01-01", "2012-12-31", str(tmp_path / "x.xlsx"),
                              "--as", "auditor1"])
    assert res.exit_code == 1 and "无此权限" in res.output
    res = runner.invoke(app, ["medical", "export", "2012-13-01", "2012-12-31", str(tmp_path / "x.xlsx")])
    assert res.exit_code == 1 and "START must be YYYY-MM-DD" in res.output
    res = runner.invoke(app, ["medical", "show", "110101199003070000", "--as", "hz_officer"])
    assert res.exit_code == 1
