"""Care institutions: construction steps with dates, beds, one person per bed, occupancy, the public page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from tests.factories import elderly_person, household

from minxin.auth.models import AuditEvent
from minxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from minxin.eldercare import institutions as svc
from minxin.registry.service import add_institution


def _home(session, actor, *, status="in_use", beds=0, name="新海敬老院", region="320706006"):
    return add_institution(session, actor=actor, name=name, region_code=region, kind="公办示范", beds=beds,
                           ownership="公办", construction_status=status)


def test_construction_moves_forward_with_dates_and_never_back(session, county_officer):
    inst = _home(session, county_officer, status="planned")
    svc.set_construction_status(session, actor=county_officer, institution_id=inst.id, status="planned",
                                on=date(2012, 1, 10))
    svc.set_construction_status(session, actor=county_officer, institution_id=inst.id, status="building",
                                on=date(2012, 3, 1))
    with pytest.raises(ValidationError, match="早于上一步"):
        svc.set_construction_status(session, actor=county_officer, institution_id=inst.id, status="structure_done",
                                    on=date(2012, 2, 1))
    svc.set_construction_status(session, actor=county_officer, institution_id=inst.id, status="structure_done",
                                on=date(2012, 9, 1))
    with pytest.raises(Conflict, match="只能向前"):
        svc.set_construction_status(session, actor=county_officer, institution_id=inst.id, status="building")
    with pytest.raises(ValidationError, match="建设状态"):
        svc.set_construction_status(session, actor=county_officer, institution_id=inst.id, status="demolished")
    with pytest.raises(ValidationError, match="晚于今天"):
        svc.set_construction_status(session, actor=county_officer, institution_id=inst.id, status="in_use",
                                    on=date.today() + timedelta(days=30))
    history = svc.status_history(session, inst)
    assert [(e.status, e.on_date) for e in history] == [("planned", date(2012, 1, 10)), ("building", date(2012, 3, 1)),
                                                        ("structure_done", date(2012, 9, 1))]
    assert inst.construction_status == "structure_done"
    assert session.execute(select(AuditEvent).where(AuditEvent.action == "institution.status")).all()


def test_a_bed_holds_one_person_and_a_person_one_bed(session, county_officer):
    inst = _home(session, county_officer)
    assert svc.add_beds(session, actor=county_officer, institution_id=inst.id, count=2) == 2
    a, b, c = (elderly_person(session, county_officer) for _ in range(3))
    first = svc.place_resident(session, actor=county_officer, institution_id=inst.id, id_number=a.id_number,
                               bed_label="1")
    with pytest.raises(Conflict, match="已有人入住"):
        svc.place_resident(session, actor=county_officer, institution_id=inst.id, id_number=b.id_number,
                           bed_label="1")
    with pytest.raises(Conflict, match="已入住"):
        svc.place_resident(session, actor=county_officer, institution_id=inst.id, id_number=a.id_number)
    second = svc.place_resident(session, actor=county_officer, institution_id=inst.id, id_number=b.id_number)
    assert second.bed_id != first.bed_id
    with pytest.raises(Conflict, match="没有空床位"):
        svc.place_resident(session, actor=county_officer, institution_id=inst.id, id_number=c.id_number)
    svc.discharge(session, actor=county_officer, id_number=a.id_number)
    again = svc.place_resident(session, actor=county_officer, institution_id=inst.id, id_number=c.id_number)
    assert again.bed_id == first.bed_id


def test_the_database_refuses_a_second_open_placement_of_a_bed(session, county_officer):
    from sqlalchemy.exc import IntegrityError

    from minxin.eldercare.models import BedPlacement

    inst = _home(session, county_officer)
    svc.add_beds(session, actor=county_officer, institution_id=inst.id, count=1)
    a, b = elderly_person(session, county_officer), elderly_person(session, county_officer)
    p = svc.place_resident(session, actor=county_officer, institution_id=inst.id, id_number=a.id_number)
    session.add(BedPlacement(bed_id=p.bed_id, person_id=b.id, from_date=date(2012, 1, 1), actor="x"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_nobody_moves_into_an_institution_being_built_or_out_of_scope(session, county_officer, other_county_officer,
                                                                     call_agent):
    building = _home(session, county_officer, status="building", name="在建中心")
    svc.add_beds(session, actor=county_officer, institution_id=building.id, count=5)
    p = elderly_person(session, county_officer)
    with pytest.raises(Conflict, match="尚未投入使用"):
        svc.place_resident(session, actor=county_officer, institution_id=building.id, id_number=p.id_number)
    with pytest.raises(NotFound):
        svc.add_beds(session, actor=other_county_officer, institution_id=building.id, count=1)
    with pytest.raises(Forbidden):
        svc.add_beds(session, actor=call_agent, institution_id=building.id, count=1)
    with pytest.raises(ValidationError):
        svc.add_beds(session, actor=county_officer, institution_id=building.id, count=0)
    home = _home(session, county_officer)
    with pytest.raises(NotFound, match="未在本辖区登记"):
        svc.place_resident(session, actor=county_officer, institution_id=home.id, id_number="nonsense")
    with pytest.raises(NotFound, match="机构不存在"):
        svc.place_resident(session, actor=other_county_officer, institution_id=home.id, id_number=p.id_number)


def test_occupancy_per_county_counts_only_institutions_in_use(session, county_officer, city_admin):
    home = _home(session, county_officer)
    svc.add_beds(session, actor=county_officer, institution_id=home.id, count=4)
    planned = _home(session, county_officer, status="planned", name="规划中心", beds=100)
    person = household(session, county_officer).members[0]
    svc.place_resident(session, actor=county_officer, institution_id=home.id, id_number=person.id_number)
    data = svc.occupancy(session, user=county_officer)
    hz = next(c for c in data["counties"] if c["county_code"] == "320706")
    assert (hz["beds"], hz["occupied"], hz["free"], hz["rate_permille"]) == (4, 1, 3, 250)
    assert hz["construction"]["planned"] == 1 and hz["construction"]["in_use"] == 1
    assert {i["institution_id"] for i in data["institutions"]} == {home.id, planned.id}
    public = svc.free_beds_public(session)
    mine = next(r for r in public if r["name"] == "新海敬老院")
    assert mine == {"name": "新海敬老院", "county": "海州区", "kind": "公办示范", "ownership": "公办", "beds": 4,
                    "free": 3}
    assert all(r["name"] != "规划中心" for r in public)


def test_the_cli_records_steps_beds_and_residents_and_reports_occupancy(tmp_path, monkeypatch):
    import json

    from tests.conftest import make_user
    from typer.testing import CliRunner

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
        old = elderly_person(s, officer).id_number
    run = CliRunner().invoke
    try:
        r = run(app, ["institution", "add", "新海示范中心", "--region", "320706006", "--kind", "公办示范",
                      "--ownership", "公办", "--status", "building", "--as", "hz"])
        assert r.exit_code == 0, r.output
        iid = str(json.loads(run(app, ["institution", "list", "--json", "--as", "hz"]).stdout)[0]["id"])
        assert run(app, ["eldercare", "place", old, "--institution", iid, "--as", "hz"]).exit_code == 1
        r = run(app, ["eldercare", "institution-status", iid, "in_use", "--on", "2012-10-01", "--as", "hz"])
        assert r.exit_code == 0 and "投入使用" in r.stderr
        r = run(app, ["eldercare", "institution-status", iid, "building", "--as", "hz"])
        assert r.exit_code == 1 and "只能向前" in r.stderr and "Traceback" not in r.output
        assert run(app, ["eldercare", "beds", iid, "--add", "10", "--as", "hz"]).exit_code == 0
        assert run(app, ["eldercare", "place", old, "--institution", iid, "--as", "hz"]).exit_code == 0
        r = run(app, ["eldercare", "place", old, "--institution", iid, "--as", "hz"])
        assert r.exit_code == 1 and "已入住" in r.stderr
        data = json.loads(run(app, ["report", "occupancy", "--json", "--as", "hz"]).stdout)
        assert (data["counties"][0]["beds"], data["counties"][0]["occupied"]) == (10, 1)
        assert run(app, ["eldercare", "discharge", old, "--as", "hz"]).exit_code == 0
        r = run(app, ["eldercare", "beds", iid, "--add", "x"])
        assert r.exit_code == 2
    finally:
        engine.dispose()
        get_settings.cache_clear()
