"""Import runs: every importer records its file (stored, failed, refused) through one helper; a failed run is
kept while none of its rows is; a later stored file resolves it; the queue 待处理导入错误 and the run pages."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from tests.assistance.test_medical import settlement, visit
from tests.children.helpers import csv_bytes as child_csv
from tests.eldercare.test_import import _csv as elderly_csv
from tests.eldercare.test_import import _old_household
from tests.eldercare.test_import import _row as elderly_row
from tests.factories import active_case, child, household, new_id
from tests.hostile_files import deflate_bomb, not_a_zip
from tests.web.conftest import csv_bytes, household_rows

from minxin.assistance.medical.importer import import_settlements
from minxin.auth.models import AuditEvent, User
from minxin.children.service import import_children
from minxin.core.errors import NotFound
from minxin.eldercare.importer import import_elderly
from minxin.infra.clock import today
from minxin.programs.case_import import import_cases
from minxin.registry.import_runs import (
    MAX_ERRORS_KEPT,
    ImportRun,
    clean_filename,
    get_import_run_for,
    mark_resolved,
    recorded_import,
)
from minxin.registry.importer import ImportResult, import_households
from minxin.registry.models import Household
from minxin.veterans.importer import import_veterans
from minxin.worklist import queue_page, worklist_for

HAIZHOU_COMMUNITY = "320706006001"


def runs(session: Session, **where: object) -> list[ImportRun]:
    stmt = select(ImportRun).order_by(ImportRun.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(ImportRun, key) == value)
    return list(session.execute(stmt).scalars())


def households(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(Household)).scalar_one())


def bad_household_file() -> bytes:
    rows = household_rows(2)
    rows[1][2] = "123"  # row 3: a bad ID number; the other rows are fine
    return csv_bytes(rows)


# ---- the helper ------------------------------------------------------------------------------------

def test_a_failed_import_keeps_its_run_and_none_of_its_writes(session: Session, county_officer: User) -> None:
    before = households(session)

    def half_stored() -> ImportResult:  # an importer that wrote, then found an error
        session.add(Household(household_no="HALF0001", region_code=HAIZHOU_COMMUNITY, hukou_type="城镇"))
        session.flush()
        from minxin.kit.tabular import RowError, Table
        return ImportResult(table=Table(headers=["户编号"], rows=[["HALF0001"]]),
                            errors=[RowError(2, "户编号", "不对 (bad)")])

    result = recorded_import(session, actor=county_officer, kind="households", filename="../x/half.csv",
                             stored=lambda r: r.persons, run=half_stored)
    assert not result.ok
    session.commit()  # as every face does after a refusal: the run only
    assert households(session) == before
    run = runs(session, filename="half.csv")[0]
    assert (run.status, run.rows, run.stored, run.error_count, run.actor, run.region_code) == (
        "failed", 1, 0, 1, county_officer.username, county_officer.scope_code)
    assert run.errors == [[2, "户编号", "不对 (bad)"]] and run.resolved_at is None


def test_file_names_are_cleaned_and_bounded() -> None:
    assert clean_filename("C:\\Users\\a\\家庭\x00\u202e.xlsx") == "家庭.xlsx"
    assert len(clean_filename("a" * 5000)) == 200
    assert clean_filename("") == "（无文件名）"


def test_a_dry_run_records_nothing(session: Session, county_officer: User) -> None:
    import_households(session, actor=county_officer, data=bad_household_file(), filename="d.csv", dry_run=True)
    import_households(session, actor=county_officer, data=csv_bytes(household_rows(1)), filename="d.csv",
                      dry_run=True)
    assert runs(session, filename="d.csv") == []


def test_only_the_first_thousand_errors_are_kept_with_their_count(session: Session, county_officer: User) -> None:
    rows = household_rows(600)
    for r in rows:
        r[2] = "1"
    import_households(session, actor=county_officer, data=csv_bytes(rows), filename="many.csv")
    run = runs(session, filename="many.csv")[0]
    assert run.error_count >= 1200 and len(run.errors) == MAX_ERRORS_KEPT


# ---- every importer records its runs ------------------------------------------------------------

def test_households_failed_then_stored_resolves_the_run(session: Session, community_worker: User,
                                                       county_officer: User, other_county_officer: User) -> None:
    before = households(session)
    assert not import_households(session, actor=community_worker, data=bad_household_file(), filename="h.csv").ok
    session.commit()
    ganyu = import_households(session, actor=other_county_officer, data=bad_household_file(), filename="g.csv")
    assert not ganyu.ok
    failed = runs(session, filename="h.csv")[0]
    assert (failed.status, failed.rows, failed.error_count) == ("failed", 4, 1) and households(session) == before
    good = import_households(session, actor=county_officer, data=csv_bytes(household_rows(1)), filename="h2.csv")
    assert good.ok
    stored = runs(session, filename="h2.csv")[0]
    assert (stored.status, stored.stored, stored.error_count) == ("stored", 2, 0)
    session.refresh(failed)
    assert failed.resolved_by_run == stored.id and failed.resolved_by == county_officer.username
    assert runs(session, filename="g.csv")[0].resolved_at is None  # another county's run stays open


def test_cases_and_children_record_their_runs(session: Session, county_officer: User) -> None:
    hh = household(session, county_officer)
    head = next(m for m in hh.members if m.is_head)
    head_csv = f"身份证号,开始月份,账号\n{head.id_number},2012-07,6222020000000000001\n".encode()
    assert not import_cases(session, actor=county_officer, program="dibao", filename="c.csv",
                            data="身份证号,开始月份,账号\n1,2012-07,6222\n".encode()).ok
    assert import_cases(session, actor=county_officer, program="dibao", filename="c2.csv", data=head_csv).ok
    failed, stored = runs(session, filename="c.csv")[0], runs(session, filename="c2.csv")[0]
    assert (failed.kind, failed.status, stored.status, stored.stored) == ("cases:dibao", "failed", "stored", 1)
    assert failed.label.endswith("案件") and failed.resolved_by_run == stored.id
    kid = child(session, county_officer, birth=date(2004, 1, 1))
    row = [kid.name, kid.id_number, "社会散居", "", "2012-07", "6222020000000000001", "张大山", "祖父母",
           "13800000000", ""]
    bad = [*row[:7], "?", *row[8:]]  # an unknown guardian relation
    assert not import_children(session, actor=county_officer, filename="k.csv", data=child_csv([bad])).ok
    assert import_children(session, actor=county_officer, filename="k2.csv", data=child_csv([row])).ok
    assert [r.status for r in runs(session, kind="children")] == ["failed", "stored"]
    assert runs(session, kind="cases:orphan") == []  # the children's import is one run, not two


def test_elderly_veterans_and_medical_record_their_runs(session: Session, county_officer: User) -> None:
    old = _old_household(session, county_officer)
    assert not import_elderly(session, actor=county_officer, filename="e.csv",
                              data=elderly_csv([elderly_row(old.id_number, 居住状况="?")])).ok
    good = elderly_csv([elderly_row(old.id_number)])
    assert import_elderly(session, actor=county_officer, filename="e.csv", data=good).ok
    assert [(r.status, r.stored) for r in runs(session, kind="elderly")] == [("failed", 0), ("stored", 1)]
    head = "姓名,身份证号,社区代码,优抚类别,子类,开始月份,账号,服役年限\n"
    line = (f"老复员,{new_id(date(1928, 6, 1))},{HAIZHOU_COMMUNITY},在乡复员军人,抗日战争时期,2013-01,"
            "622200000000000099,")
    assert not import_veterans(session, actor=county_officer, filename="v.csv",
                               data=(head + line.replace("2013-01", "2013-13")).encode()).ok
    assert import_veterans(session, actor=county_officer, filename="v.csv", data=(head + line).encode()).ok
    assert [r.status for r in runs(session, kind="veterans")] == ["failed", "stored"]
    hh = household(session, county_officer, members=2)
    active_case(session, hh, start="2012-01", account="6228480000000000001")
    member = next(m for m in hh.members if not m.is_head)
    assert not import_settlements(session, actor=county_officer, filename="m.csv",
                                  data=settlement([visit("R1", "1", "2012-03-05")])).ok
    assert import_settlements(session, actor=county_officer, filename="m.csv",
                              data=settlement([visit("R1", member.id_number, "2012-03-05")])).ok
    assert [r.status for r in runs(session, kind="medical")] == ["failed", "stored"]
    assert all(r.resolved_by_run for r in runs(session, status="failed"))


@pytest.mark.parametrize("data", [not_a_zip(), deflate_bomb(), b"\xff\xfe\x00garbage", "只有一列\n1\n".encode()],
                         ids=["not-a-zip", "bomb", "binary", "no-columns"])
def test_a_hostile_or_unreadable_file_is_a_refused_run_with_its_reason(session: Session, county_officer: User,
                                                                       data: bytes) -> None:
    name = "h.xlsx" if data[:2] == b"PK" else "h.csv"
    result = import_households(session, actor=county_officer, data=data, filename=name)
    assert not result.ok
    run = runs(session, filename=name)[0]
    assert run.status == "refused" and run.reason and run.stored == 0


def test_a_file_over_the_limit_is_refused(session: Session, county_officer: User, monkeypatch) -> None:
    from minxin.infra.settings import get_settings
    monkeypatch.setattr(get_settings(), "max_upload_bytes", 1000)
    import_households(session, actor=county_officer, data=csv_bytes(household_rows(40)), filename="big.csv")
    run = runs(session, filename="big.csv")[0]
    assert run.status == "refused" and "文件过大" in (run.reason or "")


# ---- the queue and the scope ----------------------------------------------------------------------

def test_the_queue_per_role_and_scope_oldest_first(session: Session, community_worker: User, town_officer: User,
                                                  county_officer: User, city_admin: User, auditor: User,
                                                  call_agent: User, other_county_officer: User) -> None:
    day = today()
    import_households(session, actor=community_worker, data=bad_household_file(), filename="first.csv")
    import_households(session, actor=county_officer, data=bad_household_file(), filename="second.csv")
    import_veterans(session, actor=city_admin, data=b"x,y\n1,2\n", filename="city.csv")

    def counted(user: User) -> int:
        kinds = {k.queue.key: k.count for k in worklist_for(session, user, today=day)}
        return kinds.get("imports.errors", 0)

    assert counted(community_worker) == 1 and counted(town_officer) == 1
    assert counted(county_officer) == 2 and counted(city_admin) == 3
    assert counted(other_county_officer) == 0
    for user in (auditor, call_agent):
        with pytest.raises(NotFound):
            queue_page(session, user, "imports.errors", today=day)
    queue, page = queue_page(session, county_officer, "imports.errors", today=day)
    assert queue.label == "待处理导入错误"
    assert [i.title.split(" · ")[1] for i in page.items] == ["first.csv", "second.csv"]
    assert page.items[0].href.startswith("/imports/")


def test_a_run_of_another_county_is_not_found_and_marking_it_handled_is_audited(
        session: Session, community_worker: User, county_officer: User, other_county_officer: User) -> None:
    import_households(session, actor=community_worker, data=bad_household_file(), filename="r.csv")
    run = runs(session, filename="r.csv")[0]
    with pytest.raises(NotFound):
        get_import_run_for(session, other_county_officer, run.id)
    with pytest.raises(NotFound):
        get_import_run_for(session, county_officer, 2**40)
    mark_resolved(session, user=county_officer, run_id=run.id)
    assert run.resolved_by == county_officer.username
    entry = session.execute(select(AuditEvent).where(AuditEvent.action == "import.resolve")).scalar_one()
    assert (entry.entity, entry.entity_id, entry.actor) == ("import_run", str(run.id), county_officer.username)


def test_each_kind_names_the_permission_its_importer_requires():
    """The registry cannot import the domains above it, so KINDS spells two permissions as strings: they
    must be the very permissions the veterans' and children's importers require, and every kind's
    permission must be one some role holds."""
    from minxin.auth.service import ROLE_NAMES, role_perms
    from minxin.children.domain import ChildrenPerm
    from minxin.registry.import_runs import KINDS
    from minxin.veterans.domain import VeteranPerm

    assert KINDS["veterans"].perm == VeteranPerm.MANAGE
    assert KINDS["children"].perm == ChildrenPerm.CHILDREN_IMPORT
    held = set().union(*(role_perms(role) for role in ROLE_NAMES))
    assert {kind.perm for kind in KINDS.values()} <= held
