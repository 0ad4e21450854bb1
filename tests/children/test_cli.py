"""`minxin case import orphan`, `minxin child import | list | show` over a temporary SQLite file: output
and exit codes (0 done, 1 refused with one line on stderr)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from tests.children.helpers import csv_bytes
from tests.factories import child
from typer.testing import CliRunner


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    from tests.conftest import make_user

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
        make_user(s, username="gy_officer", role="county_officer", scope="320707")
        make_user(s, username="agent1", role="call_agent", scope="320700")
        for key, birth in (("young", date(2003, 3, 3)), ("young2", date(2004, 4, 4)), ("adult", date(1993, 1, 1))):
            person = child(s, officer, birth=birth)
            facts[key], facts[key + "_name"] = person.id_number, person.name
    yield facts
    engine.dispose()
    get_settings.cache_clear()
    db._engine_for.cache_clear()


def _file(tmp_path: Path, facts: dict[str, str], *keys: str) -> Path:
    path = tmp_path / "children.csv"
    path.write_bytes(csv_bytes([[facts[k + "_name"], facts[k], "社会散居", "", "2012-07", "6222020000000000001", "王五",
                                 "其他亲属", "", ""] for k in keys]))
    return path


def _invoke(*args: str):  # type: ignore[no-untyped-def]
    from minxin.cli import app
    return CliRunner().invoke(app, list(args))


def test_case_import_orphan_exits_0_and_a_bad_row_exits_1_naming_it(cli, tmp_path):
    bad = _invoke("case", "import", "orphan", str(_file(tmp_path, cli, "young", "adult")), "--as", "hz_officer")
    assert bad.exit_code == 1
    assert "row 3, column 身份证号" in bad.stdout and "已满 18 周岁" in bad.stdout
    assert "1 error(s); nothing was imported" in bad.stderr
    good = _invoke("case", "import", "orphan", str(_file(tmp_path, cli, "young")), "--as", "hz_officer")
    assert good.exit_code == 0, good.output
    assert "imported 1 cases" in good.stderr


def test_child_import_list_and_show(cli, tmp_path):
    res = _invoke("child", "import", str(_file(tmp_path, cli, "young", "young2")), "--as", "hz_officer")
    assert res.exit_code == 0, res.output
    assert "imported 2 children" in res.stderr
    listing = _invoke("child", "list", "--json", "--as", "hz_officer")
    assert listing.exit_code == 0
    items = json.loads(listing.stdout)["items"]
    assert sorted(i["paid_until"] for i in items) == ["2021-03", "2022-04"]
    shown = _invoke("child", "show", str(items[0]["case_id"]), "--json", "--as", "hz_officer")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["guardian"]["relation"] == "其他亲属"
    assert json.loads(_invoke("child", "list", "--json", "--as", "gy_officer").stdout)["total"] == 0


def test_child_commands_refuse_with_exit_1_and_one_line(cli, tmp_path):
    other = _invoke("child", "show", "1", "--as", "gy_officer")
    assert other.exit_code == 1 and other.stderr.count("\n") == 1 and "儿童档案不存在" in other.stderr
    agent = _invoke("child", "import", str(_file(tmp_path, cli, "young")), "--as", "agent1")
    assert agent.exit_code == 1 and "无此权限" in agent.stderr
    missing = _invoke("child", "import", str(tmp_path / "nope.csv"), "--as", "hz_officer")
    assert missing.exit_code == 1 and "no such file" in missing.stderr
    bad = _invoke("child", "list", "--placement", "寄养", "--as", "hz_officer")
    assert bad.exit_code == 1 and "安置方式" in bad.stderr
