"""`minxin homecare …` and `minxin cycle run homecare YYYY-MM` over a temporary SQLite file: a provider is
contracted, orders recorded, and the month settled like every program (four eyes, bank file naming it)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from minxin.infra.clock import CHINA_TZ


@pytest.fixture
def hc_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[typer.Typer, dict[str, str]]]:
    from tests.conftest import make_user

    from factories import elderly_person, household
    from minxin.auth.service import ensure_system_user
    from minxin.eldercare.homecare import cli as homecare_cli
    from minxin.infra import db, migrate
    from minxin.infra.settings import get_settings
    from minxin.programs import cli as programs_cli
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
        make_user(s, username="hz_approver", role="county_officer", scope="320706")
        facts["rep"] = household(s, officer, members=1).members[0].id_number
        facts["person"] = str(elderly_person(s, officer).id)
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """minxin (test root)."""

    homecare_cli.register(app)
    programs_cli.register(app)
    yield app, facts
    engine.dispose()
    get_settings.cache_clear()
    db._engine_for.cache_clear()


def run(app: typer.Typer, args: list[str]):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, args)


def test_a_provider_is_contracted_orders_recorded_and_the_month_settled_through_the_cycle(hc_cli, tmp_path):  # type: ignore[no-untyped-def]
    app, facts = hc_cli
    r = run(app, ["homecare", "provider-add", "海州安康服务社", "--county", "320706", "--representative", facts["rep"],
                  "--account", "6222021234567890123", "--credit-code", "91320706MA1XXXXX0K", "--as", "hz_officer"])
    assert r.exit_code == 0, r.output
    assert json.loads(run(app, ["homecare", "providers", "--json", "--as", "hz_worker"]).stdout)["total"] == 1
    assert run(app, ["homecare", "staff-add", "1", "李护工", "--qualification", "养老护理员", "--as",
                     "hz_officer"]).exit_code == 0
    month = (datetime.now(CHINA_TZ).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    made = run(app, ["homecare", "order-add", "1", facts["person"], "--type", "助洁", "--at", f"{month}-10T09:00",
                     "--minutes", "90", "--staff", "1", "--json", "--as", "hz_worker"])
    assert made.exit_code == 0, made.output
    oid = str(json.loads(made.stdout)["id"])
    assert json.loads(made.stdout)["value_fen"] == 3000
    bad = run(app, ["homecare", "order-finish", oid, "--at", f"{month}-10T08:00", "--as", "hz_worker"])
    assert bad.exit_code == 1 and "须先开始服务" in bad.output
    assert run(app, ["homecare", "order-start", oid, "--at", f"{month}-10T09:00", "--as", "hz_worker"]).exit_code == 0
    early = run(app, ["homecare", "order-finish", oid, "--at", f"{month}-10T08:00", "--as", "hz_worker"])
    assert early.exit_code == 1 and "早于开始时间" in early.output and "Traceback" not in early.output
    assert run(app, ["homecare", "order-finish", oid, "--at", f"{month}-10T10:30", "--as", "hz_worker"]).exit_code == 0
    beyond = run(app, ["homecare", "order-add", "1", facts["person"], "--type", "助餐", "--at", f"{month}-11T09:00",
                       "--minutes", "600", "--as", "hz_worker"])
    assert beyond.exit_code == 1 and "超出本月服务额度" in beyond.output
    ent = json.loads(run(app, ["homecare", "entitlement", facts["person"], "--month", month, "--json",
                               "--as", "hz_worker"]).stdout)
    assert ent["used_fen"] == 3000 and ent["left_fen"] == 17000
    cycle = run(app, ["cycle", "run", "homecare", month, "--json", "--as", "hz_officer"])
    assert cycle.exit_code == 0, cycle.output
    summary = json.loads(cycle.stdout)
    assert summary["cases"] == 1 and summary["total_fen"] == 3000
    cid = str(summary["cycle_id"])
    refused = run(app, ["cycle", "approve", cid, "--as", "hz_officer"])
    assert refused.exit_code == 1 and "不能审批" in refused.output
    assert run(app, ["cycle", "approve", cid, "--as", "hz_approver"]).exit_code == 0
    bank = tmp_path / "bank.csv"
    assert run(app, ["cycle", "export", cid, str(bank), "--format", "csv", "--as", "hz_officer"]).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(bank.read_text(encoding="utf-8-sig"))))  # UTF-8 CSV has a BOM
    assert [(r["姓名"], r["身份证号"], r["账号"], r["金额(元)"]) for r in rows] == [
        ("海州安康服务社", "91320706MA1XXXXX0K", "6222021234567890123", "30.00")]


def test_cli_refusals_are_one_line_and_exit_1(hc_cli):  # type: ignore[no-untyped-def]
    app, facts = hc_cli
    for args, message in [
        (["homecare", "provider-add", "某服务社", "--county", "320706", "--representative", facts["rep"],
          "--account", "6222021234567890123", "--as", "hz_worker"], "无此权限"),
        (["homecare", "order-add", "99999999999", facts["person"], "--type", "助洁", "--at", "2026-11-01T09:00",
          "--minutes", "60"], "服务商不存在"),
        (["homecare", "order-add", "1", facts["person"], "--type", "助洁", "--at", "明天", "--minutes", "60"],
         "must be a time"),
        (["homecare", "entitlement", facts["person"], "--month", "2026-13"], "月份"),
        (["homecare", "orders", "--status", "lost"], "状态应为"),
    ]:
        r = run(app, args)
        assert r.exit_code == 1 and message in r.output and "Traceback" not in r.output, (args, r.output)
