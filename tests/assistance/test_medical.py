"""医疗救助 (P4, P5): settlement import, assessment by hand, caps across a year, refusals, payment, export."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import delete, func, select
from tests.factories import active_case, household, new_id

from minxin.assistance.medical import models as _medical_models  # noqa: F401 - registers the table
from minxin.assistance.medical.calculator import CALCULATOR as MEDICAL
from minxin.assistance.medical.importer import HEADERS, import_settlements
from minxin.assistance.medical.models import MedicalRecord
from minxin.assistance.medical.service import (
    EXPORT_HEADERS,
    explain_record,
    export_results,
    list_records,
    person_records,
)
from minxin.auth.models import AuditEvent
from minxin.core.errors import Forbidden, NotFound
from minxin.core.period import Period
from minxin.programs.models import Case, CaseEvent, Cycle, Payment

GANYU_COMMUNITY = "320707100001"
RURAL = "320706100201"


def settlement(rows: list[list[object]], *, encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADERS)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    return buf.getvalue().encode(encoding)


def visit(rid: str, id_number: str, day: str, kind: str = "门诊", *, total: str = "1000", insurance: str = "0",
          serious: str = "0", in_scope: str | None = None) -> list[object]:
    return [rid, id_number, day, kind, total, insurance, serious, in_scope if in_scope is not None else total]


def run(session, actor, rows, *, filename="settlement.csv", **kw):
    return import_settlements(session, actor=actor, data=settlement(rows, **kw), filename=filename)


def records(session) -> dict[str, MedicalRecord]:
    return {r.record_id: r for r in session.execute(select(MedicalRecord)).scalars()}


def count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def dibao_member(session, county_officer):
    """A member (not the head) of a 低保 household covered from 2012-01."""
    hh = household(session, county_officer, members=3)
    active_case(session, hh, start="2012-01", account="6228480000000000001")
    return next(m for m in hh.members if not m.is_head)


# ---- assessment by hand --------------------------------------------------------------------------

def test_outpatient_cap_is_reached_within_the_year_and_the_raised_cap_gives_more_room(session, county_officer,
                                                                                        dibao_member):
    n = dibao_member.id_number
    # 低保 门诊: 50%, cap 600 until 2012-06-30, 1000 from 2012-07-01; each visit's raw amount is 300.
    res = run(session, county_officer, [visit("M1", n, "2012-03-05", total="600"),
                                        visit("M2", n, "2012-04-05", total="600"),
                                        visit("M3", n, "2012-05-05", total="600"),
                                        visit("M4", n, "2012-07-05", total="600"),
                                        visit("M5", n, "2012-08-05", total="600"),
                                        visit("M6", n, "2013-01-05", total="600")])
    assert res.ok, res.errors
    got = records(session)
    assert [got[f"M{i}"].assistance_fen for i in range(1, 7)] == [30000, 30000, 0, 30000, 10000, 30000]
    assert res.assisted == 6 and res.assisted_fen == 130000 and res.new == 6
    assert explain_record(got["M3"]) == "(600−0−0−0)×50% = 300，年度封顶 600 已用 600，救助 0"
    assert explain_record(got["M5"]) == "(600−0−0−0)×50% = 300，年度封顶 1000 已用 900，救助 100"
    assert explain_record(got["M6"]) == "(600−0−0−0)×50% = 300，年度封顶 1000 已用 0，救助 300"
    assert {r.category for r in got.values()} == {"低保"}


def test_inpatient_deductible_ratio_and_a_separate_counter(session, county_officer, dibao_member):
    n = dibao_member.id_number
    res = run(session, county_officer, [
        visit("O1", n, "2012-02-01", total="2000"),  # 门诊 raw 1000, capped at 600
        visit("I1", n, "2012-02-10", "住院", total="12000", insurance="6000", serious="1000", in_scope="10000"),
        visit("I2", n, "2012-03-10", "住院", total="1200", insurance="800", in_scope="1000"),
        visit("I3", n, "2012-04-10", "住院", total="100.01", in_scope="100.01"),
    ])
    assert res.ok, res.errors
    got = records(session)
    assert got["O1"].assistance_fen == 60000
    # (10000 − 6000 − 1000 − 300) × 70% = 1890; 门诊 spending does not count against 住院.
    assert (got["I1"].raw_fen, got["I1"].assistance_fen, got["I1"].used_before_fen) == (189000, 189000, 0)
    assert explain_record(got["I1"]) == "(10000−6000−1000−300)×70% = 1890，年度封顶 30000 已用 0，救助 1890"
    assert got["I2"].assistance_fen == 0
    assert explain_record(got["I2"]) == "(1000−800−0−300) ≤ 0，救助 0"
    # (100.01 − 300) ≤ 0 for 住院; the floor to the fen shows on 门诊 below.
    assert got["I3"].assistance_fen == 0
    res = run(session, county_officer, [visit("O2", n, "2012-08-01", total="100.01")])
    assert records(session)["O2"].assistance_fen == 5000  # 50.005 → 50.00, and 400 of the raised cap left


def test_records_are_assessed_in_date_order_whatever_the_file_order(session, county_officer, dibao_member):
    n = dibao_member.id_number
    run(session, county_officer, [visit("B", n, "2012-05-01", total="1000"), visit("A", n, "2012-03-01", total="1000"),
                                  visit("C", n, "2012-03-01", total="1000")])
    got = records(session)
    # Same day: record id order. A takes 500, C the remaining 100 of the 600 cap, B nothing.
    assert (got["A"].assistance_fen, got["C"].assistance_fen, got["B"].assistance_fen) == (50000, 10000, 0)


def test_wubao_is_preferred_over_dibao(session, county_officer):
    hh = household(session, county_officer, members=2, hukou="农村", community=RURAL)
    active_case(session, hh, start="2012-01")
    elder = hh.members[1]
    session.add(Case(program_code="wubao", household_id=hh.id, person_id=elder.id, region_code=hh.region_code,
                     category="分散", status="active", start_period="2012-03", bank_account="6228481000000000009"))
    session.flush()
    res = run(session, county_officer, [visit("W1", elder.id_number, "2012-02-15", total="100"),
                                        visit("W2", elder.id_number, "2012-03-15", total="100")])
    got = records(session)
    assert (got["W1"].category, got["W1"].assistance_fen) == ("低保", 5000)  # before the 五保 case: 50%
    assert (got["W2"].category, got["W2"].assistance_fen) == ("五保", 7000)  # 五保 门诊: 70%
    case = session.get(Case, got["W2"].case_id)
    assert case.bank_account == "6228481000000000009" and res.cases_created == 1


def test_a_mid_year_import_continues_from_the_years_totals(session, county_officer, dibao_member):
    n = dibao_member.id_number
    run(session, county_officer, [visit("J1", n, "2012-02-01", total="1000")])  # 500
    run(session, county_officer, [visit("J1", n, "2012-02-01", total="1000"),
                                  visit("J2", n, "2012-01-20", total="1000")])
    got = records(session)
    # J2 is earlier but assessed after what was already assessed: 100 left of 600.
    assert got["J2"].used_before_fen == 50000 and got["J2"].assistance_fen == 10000


def test_a_category_without_a_rule_in_force_is_not_eligible(session, county_officer, tmp_path, monkeypatch):
    from pathlib import Path

    from minxin.infra.settings import get_settings
    from minxin.programs.policy import _load

    src = Path("policies/lianyungang-2012.toml").read_text(encoding="utf-8")
    later = 'category = "五保"\nkind = "门诊"\neffective = "2012-07-01"'
    policy = tmp_path / "p.toml"
    policy.write_text(src.replace('category = "五保"\nkind = "门诊"\neffective = "2012-01-01"', later),
                      encoding="utf-8")
    monkeypatch.setenv("MINXIN_POLICY_FILE", str(policy))
    get_settings.cache_clear()
    _load.cache_clear()
    try:
        hh = household(session, county_officer, members=1, hukou="农村", community=RURAL)
        person = hh.members[0]
        session.add(Case(program_code="wubao", household_id=hh.id, person_id=person.id, region_code=hh.region_code,
                         category="分散", status="active", start_period="2012-01", bank_account="6228481000000000010"))
        session.flush()
        res = run(session, county_officer, [visit("U1", person.id_number, "2012-03-01"),
                                            visit("U2", person.id_number, "2012-07-01")])
        assert [(n.record_id, n.reason) for n in res.not_eligible] == [
            ("U1", "2012-03-01 没有适用于五保门诊的医疗救助规则 (no rule in force)")]
        assert records(session)["U2"].assistance_fen == 70000
    finally:
        monkeypatch.delenv("MINXIN_POLICY_FILE")
        get_settings.cache_clear()
        _load.cache_clear()


# ---- the same file twice, and who is not eligible ------------------------------------------------

def test_the_same_file_twice_changes_nothing(session, county_officer, dibao_member):
    rows = [visit("D1", dibao_member.id_number, "2012-03-01"), visit("D2", dibao_member.id_number, "2012-03-02")]
    first = run(session, county_officer, rows)
    before = (count(session, MedicalRecord), count(session, Case), count(session, CaseEvent))
    second = run(session, county_officer, rows)
    assert (first.new, first.skipped) == (2, 0)
    assert (second.ok, second.new, second.skipped, second.assisted, second.cases_created) == (True, 0, 2, 0, 0)
    assert (count(session, MedicalRecord), count(session, Case), count(session, CaseEvent)) == before


def test_people_not_covered_on_the_visit_date_are_stored_not_eligible_and_listed(session, county_officer,
                                                                                 dibao_member):
    outsider = household(session, county_officer, members=1).members[0]
    ended_hh = household(session, county_officer, members=1)
    ended = active_case(session, ended_hh, start="2012-01")
    ended.status, ended.end_period = "terminated", "2012-02"
    later_hh = household(session, county_officer, members=1)
    active_case(session, later_hh, start="2012-06")
    res = run(session, county_officer, [
        visit("N1", outsider.id_number, "2012-03-01"),
        visit("N2", ended_hh.members[0].id_number, "2012-02-20"),  # covered in its last month
        visit("N3", ended_hh.members[0].id_number, "2012-03-01"),
        visit("N4", later_hh.members[0].id_number, "2012-05-31"),
        visit("N5", dibao_member.id_number, "2012-03-01"),
    ])
    assert res.ok and res.new == 5 and res.assisted == 2
    assert [(n.row, n.record_id) for n in sorted(res.not_eligible, key=lambda n: n.row)] == [
        (2, "N1"), (4, "N3"), (5, "N4")]
    assert all("不是低保家庭成员或五保对象" in n.reason and "*" in n.id_number for n in res.not_eligible)
    got = records(session)
    assert (got["N1"].status, got["N1"].assistance_fen, got["N1"].case_id) == ("not_eligible", 0, None)
    assert explain_record(got["N1"]).startswith("就诊月份 2012-03 不是")
    assert got["N2"].status == "assisted"
    # Only eligible people get a 医疗救助 case.
    medical = session.execute(select(Case.person_id).where(Case.program_code == "medical")).scalars().all()
    assert sorted(medical) == sorted([ended_hh.members[0].id, dibao_member.id])


def test_each_assisted_person_gets_one_direct_case_paid_to_their_dibao_account(session, county_officer,
                                                                                dibao_member):
    run(session, county_officer, [visit("C1", dibao_member.id_number, "2012-03-01")])
    run(session, county_officer, [visit("C2", dibao_member.id_number, "2012-04-01")])
    cases = session.execute(select(Case).where(Case.program_code == "medical")).scalars().all()
    assert len(cases) == 1
    case = cases[0]
    assert (case.person_id, case.status, case.start_period, case.bank_account) == (
        dibao_member.id, "active", "2012-03", "6228480000000000001")
    assert [e.action for e in case.events] == ["direct"] and case.events[0].actor == county_officer.username
    assert case.created_at.tzinfo is not None and case.events[0].at == case.created_at  # written in bulk, read alike
    assert (case.sanwu, case.spot_checked, case.end_period) == (False, False, None)
    assert {r.case_id for r in records(session).values()} == {case.id}


# ---- refusals: nothing stored, every error listed --------------------------------------------------

BAD_ROWS = {
    "negative amount": (lambda n: visit("X", n, "2012-03-01", insurance="-5"), "基本医保支付", "负数"),
    "not a number": (lambda n: visit("X", n, "2012-03-01", total="一千", in_scope="100"), "总费用", "不是有效数字"),
    "insurance over total": (lambda n: visit("X", n, "2012-03-01", total="100", insurance="80", serious="30"),
                             "基本医保支付", "超过总费用"),
    "in-scope over total": (lambda n: visit("X", n, "2012-03-01", total="100", in_scope="120"), "政策范围内费用",
                            "超过总费用"),
    "unknown person": (lambda n: visit("X", new_id(), "2012-03-01"), "身份证号", "户籍登记中没有此人"),
    "invalid ID number": (lambda n: visit("X", n[:-1] + ("0" if n[-1] != "0" else "1"), "2012-03-01"), "身份证号",
                          "校验位"),
    "unknown kind": (lambda n: visit("X", n, "2012-03-01", "急诊"), "类别", "门诊 或 住院"),
    "bad date": (lambda n: visit("X", n, "2012-02-30"), "就诊日期", "无法识别"),
    "date outside any policy": (lambda n: visit("X", n, "2011-12-31"), "就诊日期", "a date outside any policy"),
    "future date": (lambda n: visit("X", n, "2099-01-01"), "就诊日期", "晚于今天"),
    "duplicate record id": (lambda n: visit("OK1", n, "2012-03-02"), "记录号", "与第 2 行重复"),
    "empty record id": (lambda n: visit("", n, "2012-03-02"), "记录号", "记录号为空"),
    "empty cost": (lambda n: visit("X", n, "2012-03-02", total="", in_scope="100"), "总费用", "金额为空"),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_a_bad_row_refuses_the_whole_file(session, county_officer, dibao_member, case):
    make, column, reason = BAD_ROWS[case]
    res = run(session, county_officer, [visit("OK1", dibao_member.id_number, "2012-03-01"),
                                        make(dibao_member.id_number)])
    assert not res.ok
    assert [(e.row, e.column) for e in res.errors] == [(3, column)], res.errors
    assert reason in res.errors[0].reason
    assert str(res.errors[0]).startswith(f"row 3, column {column}: ")
    if case not in ("empty record id",):
        assert ("记录号 X" in res.errors[0].reason) or ("OK1" in res.errors[0].reason)
    assert count(session, MedicalRecord) == 0
    medical = select(func.count()).select_from(Case).where(Case.program_code == "medical")
    assert session.execute(medical).scalar_one() == 0


def test_every_error_of_the_file_is_listed_in_row_order(session, county_officer, dibao_member):
    n = dibao_member.id_number
    res = run(session, county_officer, [visit("E1", n, "2012-13-01", "急诊"), visit("E2", n, "2012-03-01"),
                                        visit("E3", n, "2012-03-01", total="abc", insurance="-1", in_scope="1")])
    assert [(e.row, e.column) for e in res.errors] == [(2, "就诊日期"), (2, "类别"), (4, "基本医保支付"), (4, "总费用")]
    assert res.table is not None  # kept for the error sheet
    assert count(session, MedicalRecord) == 0


def test_wrong_headers_are_a_file_error(session, county_officer):
    res = import_settlements(session, actor=county_officer, data="记录号,身份证号\nA,B\n".encode(), filename="x.csv")
    assert [(e.row, e.column) for e in res.errors] == [(1, "文件")] and "缺少列" in res.errors[0].reason


def test_gbk_csv_and_xlsx_are_read_alike(session, county_officer, dibao_member):
    n = dibao_member.id_number
    res = run(session, county_officer, [visit("G1", n, "2012/3/1", total="￥1,000.00")], encoding="gbk")
    assert res.ok, res.errors
    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    ws.append(["X1", n, date(2012, 3, 2), "门诊", 300, 0, None, 200.5])
    buf = io.BytesIO()
    wb.save(buf)
    res = import_settlements(session, actor=county_officer, data=buf.getvalue(), filename="s.xlsx")
    assert res.ok, res.errors
    got = records(session)
    assert got["G1"].total_fen == 100000 and got["G1"].visit_date == date(2012, 3, 1)
    assert (got["X1"].serious_fen, got["X1"].in_scope_fen) == (0, 20050)  # a blank 大病 column is nothing paid


# ---- scope and permissions -----------------------------------------------------------------------

def test_people_outside_the_importers_county_are_refused(session, other_county_officer, dibao_member):
    res = run(session, other_county_officer, [visit("S1", dibao_member.id_number, "2012-03-01")])
    assert [(e.row, e.column) for e in res.errors] == [(2, "身份证号")]
    # Only that the person is registered elsewhere: never the community, the household or the number.
    assert res.errors[0].reason == "记录号 S1：此人已在其他辖区登记 (already registered outside your scope)"
    assert dibao_member.region_code not in res.errors[0].reason
    assert count(session, MedicalRecord) == 0


@pytest.mark.parametrize("who", ["community_worker", "town_officer", "auditor", "call_agent"])
def test_only_those_who_approve_cases_import(session, request, dibao_member, who):
    with pytest.raises(Forbidden):
        run(session, request.getfixturevalue(who), [visit("P1", dibao_member.id_number, "2012-03-01")])


def test_lists_and_a_persons_records_are_scoped(session, county_officer, other_county_officer, city_admin,
                                                dibao_member):
    ganyu = household(session, city_admin, members=1, community=GANYU_COMMUNITY)
    active_case(session, ganyu, start="2012-01")
    run(session, city_admin, [visit("L1", dibao_member.id_number, "2012-03-01"),
                              visit("L2", ganyu.members[0].id_number, "2012-03-01", "住院")])
    assert [r[0].record_id for r in list_records(session, user=county_officer).items] == ["L1"]
    assert [r[0].record_id for r in list_records(session, user=other_county_officer).items] == ["L2"]
    assert list_records(session, user=city_admin).total == 2
    assert list_records(session, user=city_admin, kind="住院").total == 1
    assert list_records(session, user=city_admin, status="not_eligible").total == 0
    assert list_records(session, user=city_admin, start=date(2012, 3, 2)).total == 0
    mine = person_records(session, user=county_officer, id_number=dibao_member.id_number)
    assert [r.record_id for r in mine.records] == ["L1"]
    assert [(u.year, u.kind, u.used_fen, u.cap_fen, u.left_fen) for u in mine.years] == [(2012, "门诊", 50000, 60000,
                                                                                         10000)]
    with pytest.raises(NotFound):
        person_records(session, user=other_county_officer, id_number=dibao_member.id_number)


# ---- paying through the engine -------------------------------------------------------------------

def insert_medical_payments(session, *, cycle, period):
    """What a run of the engine does with the medical calculator's statements (lines of the whole city)."""
    from sqlalchemy import text

    from minxin.programs.cycles.scratch import LINE_COLUMNS, NO_ARREARS, run_sql

    MEDICAL.before_regular(session, cycle=cycle, period=period)
    session.execute(text(f"INSERT INTO payments ({LINE_COLUMNS}) SELECT :c, r.case_id, 0, r.region_code, r.amount, "
                         "r.amount, r.category, r.rule, r.standard_fen, r.standard_id, r.income_fen, r.members, "
                         f"r.units, r.addon_fen, r.n_elderly, r.n_minor, r.n_disabled, r.n_ill, {NO_ARREARS}, 0, "
                         f"'pending' FROM ({MEDICAL.regular_select(run_sql(session))}) r"),
                    {"c": cycle.id, "p": "medical", "period": str(period), "lo": "3207", "hi": "3208"})
    MEDICAL.after_regular(session, cycle=cycle, period=period)


def _cycle(session, period: str, actor) -> Cycle:
    cycle = Cycle(program_code="medical", period=period, county_code="320700", status="draft", run_by=actor.username)
    session.add(cycle)
    session.flush()
    return cycle


def test_a_cycle_pays_each_case_the_unpaid_assistance_up_to_its_month(session, county_officer, city_admin,
                                                                       dibao_member):
    n = dibao_member.id_number
    other = household(session, county_officer, members=1)
    active_case(session, other, start="2012-01")
    run(session, county_officer, [visit("P1", n, "2012-01-10", total="200"), visit("P2", n, "2012-02-10", total="300"),
                                  visit("P3", n, "2012-03-10", total="400"),
                                  visit("Q1", other.members[0].id_number, "2012-02-01", "住院", total="1300")])
    feb = _cycle(session, "2012-02", county_officer)
    insert_medical_payments(session, cycle=feb, period=Period(2012, 2))
    # A draft recomputed (the engine deletes its payments first): the same result.
    session.execute(delete(Payment).where(Payment.cycle_id == feb.id))
    insert_medical_payments(session, cycle=feb, period=Period(2012, 2))
    pays = {p.case_id: p for p in session.execute(select(Payment).where(Payment.cycle_id == feb.id)).scalars()}
    got = records(session)
    assert {(p.amount_fen, p.regular_fen, p.units, p.rule, p.seq) for p in pays.values()} == {
        (25000, 25000, 2, "medical", 0), (70000, 70000, 1, "medical", 0)}
    assert [got[k].cycle_id for k in ("P1", "P2", "P3", "Q1")] == [feb.id, feb.id, None, feb.id]
    feb.status = "approved"
    # A record imported later for an already paid month is paid by the next cycle, once.
    run(session, county_officer, [visit("P0", n, "2012-02-20", total="100")])
    mar = _cycle(session, "2012-03", county_officer)
    insert_medical_payments(session, cycle=mar, period=Period(2012, 3))
    pay = session.execute(select(Payment).where(Payment.cycle_id == mar.id)).scalar_one()
    assert (pay.amount_fen, pay.units, pay.case_id) == (20000 + 5000, 2, got["P1"].case_id)
    assert session.execute(select(func.sum(Payment.amount_fen)).where(Payment.case_id == pay.case_id)).scalar_one() \
        == sum(r.assistance_fen for r in records(session).values() if r.case_id == pay.case_id)


def test_a_suspended_case_waits_and_zero_amounts_make_no_payment(session, county_officer, dibao_member):
    n = dibao_member.id_number
    run(session, county_officer, [visit("Z1", n, "2012-01-10", total="1200"), visit("Z2", n, "2012-01-11")])
    case = session.get(Case, records(session)["Z1"].case_id)
    case.status = "suspended"
    jan = _cycle(session, "2012-01", county_officer)
    insert_medical_payments(session, cycle=jan, period=Period(2012, 1))
    assert count(session, Payment) == 0 and records(session)["Z1"].cycle_id is None
    case.status = "active"
    insert_medical_payments(session, cycle=jan, period=Period(2012, 1))
    assert session.execute(select(Payment.amount_fen)).scalar_one() == 60000  # Z2 is 0: capped
    assert records(session)["Z2"].cycle_id == jan.id


def test_run_cycle_pays_medical_assistance_through_the_engine(session, county_officer, city_admin, dibao_member):
    from minxin.programs import cycles

    run(session, county_officer, [visit("R1", dibao_member.id_number, "2012-03-10", total="300")])
    summary = cycles.run_cycle(session, actor=county_officer, program="medical", period=Period(2012, 3))
    assert (summary.cases, summary.total_fen) == (1, 15000)
    cycles.approve_cycle(session, actor=city_admin, cycle_id=summary.cycle_id)
    buf = io.BytesIO()
    assert cycles.export_cycle(session, actor=city_admin, cycle_id=summary.cycle_id, target=buf, fmt="csv") == 1
    line = buf.getvalue().decode().splitlines()[1].split(",")
    assert line[1:4] == [dibao_member.id_number, "6228480000000000001", "150.00"]
    again = cycles.run_cycle(session, actor=county_officer, program="medical", period=Period(2012, 4))
    assert again.total_fen == 0  # paid once


# ---- export for one-stop settlement --------------------------------------------------------------

def test_the_export_lists_the_assessed_records_with_their_explanation(session, county_officer, dibao_member):
    outsider = household(session, county_officer, members=1).members[0]
    run(session, county_officer, [visit("X1", dibao_member.id_number, "2012-03-01", total="1500", insurance="900"),
                                  visit("X2", outsider.id_number, "2012-03-02"),
                                  visit("X3", dibao_member.id_number, "2012-05-01")])
    buf = io.BytesIO()
    assert export_results(session, user=county_officer, start=date(2012, 3, 1), end=date(2012, 3, 31),
                          target=buf) == 2
    rows = list(load_workbook(io.BytesIO(buf.getvalue())).active.iter_rows(values_only=True))
    assert list(rows[0]) == EXPORT_HEADERS
    assert list(rows[1]) == ["X1", dibao_member.id_number, dibao_member.name, "2012-03-01", "门诊", "低保", "1500.00",
                             "900.00", "0.00", "0.00", "50%", "300.00", "0.00", "600.00", "已救助",
                             "(1500−900−0−0)×50% = 300，年度封顶 600 已用 0，救助 300"]
    assert rows[2][14] == "不符合条件" and not rows[2][5]
    buf = io.BytesIO()
    export_results(session, user=county_officer, start=date(2012, 1, 1), end=date(2012, 12, 31), target=buf,
                   fmt="csv")
    assert buf.getvalue().startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel opens it as UTF-8
    lines = list(csv.reader(io.StringIO(buf.getvalue().decode("utf-8-sig"))))
    assert lines[0] == EXPORT_HEADERS and [r[0] for r in lines[1:]] == ["X1", "X2", "X3"]
    assert lines[3][11:14] == ["300.00", "300.00", "600.00"]
    audits = session.execute(select(AuditEvent).where(AuditEvent.action == "medical.export")).scalars().all()
    assert len(audits) == 2


def test_the_export_is_scoped_and_needs_the_right_to_see_id_numbers(session, county_officer, other_county_officer,
                                                                   auditor, dibao_member):
    run(session, county_officer, [visit("Y1", dibao_member.id_number, "2012-03-01")])
    buf = io.BytesIO()
    assert export_results(session, user=other_county_officer, start=date(2012, 1, 1), end=date(2012, 12, 31),
                          target=buf) == 0
    with pytest.raises(Forbidden):
        export_results(session, user=auditor, start=date(2012, 1, 1), end=date(2012, 12, 31), target=io.BytesIO())


def test_the_import_is_audited_once(session, county_officer, dibao_member):
    run(session, county_officer, [visit("A1", dibao_member.id_number, "2012-03-01")])
    audit = session.execute(select(AuditEvent).where(AuditEvent.action == "medical.import")).scalar_one()
    assert '"new": 1' in audit.detail and '"assisted_fen": 50000' in audit.detail
