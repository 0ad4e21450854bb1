"""Payment cycles: hand-worked amounts, idempotence, approval, bank files, reconciliation, carry-over."""

from __future__ import annotations

import csv
import io
import random
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from tests.factories import active_case, household

from minxin.assistance.dibao.rules import HouseholdFacts, dibao_entitlement, params_from_policy
from minxin.core.errors import Conflict, Forbidden, NotFound, ValidationError
from minxin.core.period import Period
from minxin.programs.cycles import (
    RESULT_FAIL,
    RESULT_OK,
    approve_cycle,
    explain_payment,
    export_cycle,
    get_cycle,
    items_of_lines,
    reconcile_cycle,
    run_cycle,
)
from minxin.programs.models import Case, FailedPayment, Payment
from minxin.programs.policy import load_policy
from minxin.programs.service import proposed_amount
from minxin.registry.models import Person
from minxin.registry.service import declare_income

JUL = Period(2012, 7)
AUG = Period(2012, 8)


@pytest.fixture
def city(session, county_officer, other_county_officer):
    """Four households with hand-worked 低保 amounts (standards: 城镇 460, 农村 330; minors +5%)."""
    a = household(session, county_officer, members=3, income_yuan=300)            # (460−100)×3 + 23
    b = household(session, other_county_officer, community="320707100001", hukou="农村", members=2,
                  income_yuan=160)                                                 # (330−80)×2 = 500
    c = household(session, county_officer, members=1, income_yuan=600)             # over the standard
    d = household(session, county_officer, members=2, income_yuan=0)               # 三无: 460×2
    cases = {k: active_case(session, h, sanwu=(k == "d")) for k, h in zip("abcd", (a, b, c, d), strict=True)}
    return cases


def _payments(session, cycle_id):
    return {p.case_id: p for p in session.execute(select(Payment).where(Payment.cycle_id == cycle_id)).scalars()}


def test_a_cycle_pays_every_active_case_of_its_county_with_its_explanation(
        session, county_officer, other_county_officer, city):
    s = run_cycle(session, actor=county_officer, program="dibao", period=JUL)
    pays = _payments(session, s.cycle_id)
    assert pays[city["a"].id].amount_fen == 108000 + 2300
    assert explain_payment(pays[city["a"].id]) == "(460−100)×3 + 分类施保 23（1人次） = 1103"
    assert city["b"].id not in pays  # Ganyu's case: Ganyu's cycle
    assert city["c"].id not in pays
    assert pays[city["d"].id].amount_fen == 92000
    assert explain_payment(pays[city["d"].id]) == "三无人员全额 460×2 = 920"
    assert (s.status, s.county, s.cases, s.total_fen) == ("draft", "320706", 2, 110300 + 92000)
    g = run_cycle(session, actor=other_county_officer, program="dibao", period=JUL)
    assert g.cycle_id != s.cycle_id and g.county == "320707"
    ganyu = _payments(session, g.cycle_id)
    assert set(ganyu) == {city["b"].id}
    assert explain_payment(ganyu[city["b"].id]) == "(330−80)×2 = 500"


def test_a_city_run_computes_every_county_in_its_own_cycle_and_sums_them(session, city_admin, city):
    from minxin.infra.db import savepoint
    from minxin.programs.cycles import run_county_cycles

    run = run_county_cycles(lambda: savepoint(session), actor=city_admin.username, program="dibao", period=JUL)
    data = run.as_json()
    by = {c["county"]: c for c in data["cycles"]}
    assert len(by) == 6 and not data["failed"]
    assert (by["320706"]["cases"], by["320706"]["total_fen"]) == (2, 110300 + 92000)
    assert (by["320707"]["cases"], by["320707"]["total_fen"]) == (1, 50000)
    assert (data["cases"], data["total_fen"]) == (3, 110300 + 92000 + 50000)
    assert len({c["cycle_id"] for c in data["cycles"]}) == 6
    again = run_county_cycles(lambda: savepoint(session), actor=city_admin.username, program="dibao", period=JUL)
    assert [c.cycle_id for c in again.cycles] == [c["cycle_id"] for c in data["cycles"]]


def test_a_county_that_fails_leaves_the_other_counties_whole(session, city_admin, city):
    from minxin.infra.db import savepoint
    from minxin.programs.cycles import run_county_cycles

    run = run_county_cycles(lambda: savepoint(session), actor=city_admin.username, program="dibao", period=JUL,
                            counties=["320706", "999999", "320707"])
    assert [c.county for c in run.cycles] == ["320706", "320707"]
    assert [f["county"] for f in run.failed] == ["999999"]
    assert session.execute(select(func.count()).select_from(Payment)).scalar_one() == 3


def test_the_database_refuses_a_second_cycle_for_the_same_program_month_and_county(session, county_officer, city):
    from sqlalchemy.exc import IntegrityError

    from minxin.programs.models import Cycle

    run_cycle(session, actor=county_officer, program="dibao", period=JUL)
    nested = session.begin_nested()
    session.add(Cycle(program_code="dibao", period="2012-07", county_code="320706", status="draft", run_by="x"))
    with pytest.raises(IntegrityError):
        session.flush()
    nested.rollback()


def test_a_county_user_runs_only_their_county_and_months_beyond_next_are_refused(
        session, county_officer, city_admin, city):
    with pytest.raises(Forbidden, match="辖区"):
        run_cycle(session, actor=county_officer, program="dibao", period=JUL, county="320707")
    with pytest.raises(ValidationError, match="--county"):
        run_cycle(session, actor=city_admin, program="dibao", period=JUL)
    with pytest.raises(ValidationError, match="以后月份"):
        run_cycle(session, actor=county_officer, program="dibao", period=Period(2199, 1))
    assert run_cycle(session, actor=city_admin, program="dibao", period=JUL, county="320707").cases == 1


def test_running_a_cycle_twice_returns_the_same_cycle_and_pays_nobody_twice(session, county_officer, city):
    first = run_cycle(session, actor=county_officer, program="dibao", period=JUL)
    second = run_cycle(session, actor=county_officer, program="dibao", period=JUL)
    assert first.cycle_id == second.cycle_id and first.total_fen == second.total_fen
    n = session.execute(select(func.count()).select_from(Payment).where(Payment.cycle_id == first.cycle_id))
    assert n.scalar_one() == 2


def test_a_draft_is_recomputed_from_current_data_and_an_approved_cycle_never_changes(
        session, county_officer, city_admin, city):
    s = run_cycle(session, actor=county_officer, program="dibao", period=JUL)
    declare_income(session, actor=county_officer, household_id=city["a"].household_id, monthly_income_fen=60000)
    s2 = run_cycle(session, actor=county_officer, program="dibao", period=JUL)
    assert _payments(session, s2.cycle_id)[city["a"].id].amount_fen == (46000 - 20000) * 3 + 2300
    approve_cycle(session, actor=city_admin, cycle_id=s.cycle_id)
    declare_income(session, actor=county_officer, household_id=city["a"].household_id, monthly_income_fen=0)
    s3 = run_cycle(session, actor=county_officer, program="dibao", period=JUL)
    assert s3.status == "approved" and s3.total_fen == s2.total_fen
    assert _payments(session, s3.cycle_id)[city["a"].id].amount_fen == (46000 - 20000) * 3 + 2300


def test_the_user_who_ran_a_cycle_cannot_approve_it(session, county_officer, city):
    s = run_cycle(session, actor=county_officer, program="dibao", period=JUL)
    with pytest.raises(Conflict, match="cannot approve"):
        approve_cycle(session, actor=county_officer, cycle_id=s.cycle_id)


def test_roles_without_cycle_rights_are_refused(session, community_worker, city):
    with pytest.raises(Forbidden):
        run_cycle(session, actor=community_worker, program="dibao", period=JUL)


def test_cases_not_started_suspended_or_ended_are_not_paid(session, county_officer, city):
    city["a"].start_period = "2012-08"
    city["b"].status = "suspended"
    city["d"].end_period = "2012-06"
    s = run_cycle(session, actor=county_officer, program="dibao", period=JUL)
    assert s.cases == 0


def test_totals_per_county_add_up_to_the_cycle(session, county_officer, city):
    s = run_cycle(session, actor=county_officer, program="dibao", period=JUL)
    by = {c["county"]: c for c in s.by_county}
    assert set(by) == {"320706"}
    assert sum(c["total_fen"] for c in s.by_county) == s.total_fen
    assert sum(c["cases"] for c in s.by_county) == s.cases


def _approved(session, county_officer, city_admin, period=JUL):
    s = run_cycle(session, actor=county_officer, program="dibao", period=period)
    approve_cycle(session, actor=city_admin, cycle_id=s.cycle_id)
    return s


def test_the_bank_file_has_one_row_per_case_in_xlsx_and_gbk_csv(session, county_officer, city_admin, city):
    s = _approved(session, county_officer, city_admin)
    buf = io.BytesIO()
    assert export_cycle(session, actor=city_admin, cycle_id=s.cycle_id, target=buf, fmt="xlsx") == 2
    ws = load_workbook(io.BytesIO(buf.getvalue())).active
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0][:5]) == ["姓名", "身份证号", "账号", "金额(元)", "摘要"]
    assert sorted(r[3] for r in rows[1:]) == ["1103.00", "920.00"]
    assert all(r[4] == "2012-07低保" for r in rows[1:])
    raw = io.BytesIO()
    export_cycle(session, actor=city_admin, cycle_id=s.cycle_id, target=raw, fmt="csv", encoding="gbk")
    lines = list(csv.reader(io.StringIO(raw.getvalue().decode("gbk"))))
    assert lines[0][:5] == ["姓名", "身份证号", "账号", "金额(元)", "摘要"] and len(lines) == 3
    assert get_cycle(session, s.cycle_id).status == "exported"


def test_a_draft_cannot_be_exported(session, county_officer, city_admin, city):
    s = run_cycle(session, actor=county_officer, program="dibao", period=JUL)
    with pytest.raises(Conflict):
        export_cycle(session, actor=city_admin, cycle_id=s.cycle_id, target=io.BytesIO())


def _result_csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["姓名", "身份证号", "账号", "金额(元)", "摘要", "流水号", "结果", "原因"])
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _bank_rows(session, city_admin, cycle_id):
    buf = io.BytesIO()
    export_cycle(session, actor=city_admin, cycle_id=cycle_id, target=buf, fmt="csv")
    return list(csv.reader(io.StringIO(buf.getvalue().decode("utf-8"))))[1:]


def test_reconciling_marks_payments_and_failed_ones_carry_into_the_next_cycle(
        session, other_county_officer, city_admin, city):
    county_officer = other_county_officer  # Ganyu's cycle pays case b alone
    s = _approved(session, county_officer, city_admin)
    rows = _bank_rows(session, city_admin, s.cycle_id)
    failed_ref = next(r[5] for r in rows if r[3] == "500.00")
    result = _result_csv([[*r, "失败" if r[5] == failed_ref else "成功", "账户已销户" if r[5] == failed_ref else ""]
                          for r in rows])
    res = reconcile_cycle(session, actor=city_admin, cycle_id=s.cycle_id, data=result, filename="r.csv")
    assert res.ok, res.errors
    assert (res.paid_cases, res.failed_cases, res.failed_fen) == (0, 1, 50000)
    assert get_cycle(session, s.cycle_id).status == "reconciled"
    nxt = run_cycle(session, actor=county_officer, program="dibao", period=AUG)
    assert nxt.carryover_fen == 50000
    pays = session.execute(select(Payment).where(Payment.cycle_id == nxt.cycle_id, Payment.carryover_fen > 0))
    carry = list(pays.scalars())
    assert len(carry) == 1 and carry[0].case_id == city["b"].id and carry[0].seq == 0
    assert (carry[0].regular_fen, carry[0].carryover_fen, carry[0].amount_fen) == (50000, 50000, 100000)
    failed = session.get(Payment, (s.cycle_id, city["b"].id, 0))
    assert (failed.status, failed.bank_note) == ("failed", "账户已销户")
    record = session.get(FailedPayment, (s.cycle_id, city["b"].id, 0))
    assert (record.amount_fen, record.carried_into) == (50000, nxt.cycle_id)
    items = [(i.kind, i.for_period, i.amount_fen, i.explanation)
             for i, _ in items_of_lines(session, [(carry[0], "2012-08")])]
    assert items == [("regular", "2012-08", 50000, "(330−80)×2 = 500"),
                     ("carryover", "2012-07", 50000, "重发 2012-07 未成功发放的款项 500")]
    again = run_cycle(session, actor=county_officer, program="dibao", period=AUG)
    assert again.carryover_fen == 50000  # recomputing the draft does not carry twice
    approve_cycle(session, actor=city_admin, cycle_id=nxt.cycle_id)
    assert run_cycle(session, actor=county_officer, program="dibao", period=Period(2012, 9)).carryover_fen == 0


@pytest.mark.parametrize("mutate", ["other_cycle", "amount", "total", "missing", "result"])
def test_a_bad_result_file_is_refused_and_nothing_is_marked(session, county_officer, city_admin, city, mutate):
    s = _approved(session, county_officer, city_admin)
    rows = [[*r, "成功", ""] for r in _bank_rows(session, city_admin, s.cycle_id)]
    if mutate == "other_cycle":
        rows[0][5] = f"{s.cycle_id + 1}-{rows[0][5].split('-')[1]}"
    elif mutate == "amount":
        rows[0][3] = "1.00"
    elif mutate == "total":
        rows.append(["合计", "", "", "9999.00", "", "合计", "", ""])
    elif mutate == "missing":
        rows.pop()
    else:
        rows[0][6] = "maybe"
    res = reconcile_cycle(session, actor=city_admin, cycle_id=s.cycle_id, data=_result_csv(rows),
                          filename="r.csv")
    assert not res.ok
    assert get_cycle(session, s.cycle_id).status == "exported"
    statuses = set(session.execute(select(Payment.status).where(Payment.cycle_id == s.cycle_id)).scalars())
    assert statuses == {"pending"}


def test_a_utf8_bank_file_starts_with_a_bom_so_excel_reads_it_and_a_gbk_one_has_none(
        session, county_officer, city_admin, city):
    s = _approved(session, county_officer, city_admin)
    utf8, gbk = io.BytesIO(), io.BytesIO()
    export_cycle(session, actor=city_admin, cycle_id=s.cycle_id, target=utf8, fmt="csv", encoding="utf-8")
    export_cycle(session, actor=city_admin, cycle_id=s.cycle_id, target=gbk, fmt="csv", encoding="gbk")
    assert utf8.getvalue().startswith(b"\xef\xbb\xbf") and utf8.getvalue().count(b"\xef\xbb\xbf") == 1
    assert not gbk.getvalue().startswith(b"\xef\xbb\xbf")
    assert utf8.getvalue()[3:].decode("utf-8") == gbk.getvalue().decode("gbk")  # the same rows, CRLF lines
    assert utf8.getvalue().endswith(b"\r\n")


def test_a_name_gbk_cannot_spell_refuses_the_gbk_bank_file_naming_its_row_and_writes_nothing(
        session, county_officer, city_admin, city, tmp_path):
    s = _approved(session, county_officer, city_admin)
    head = session.get(Person, city["a"].person_id)
    head.name = "王𠮷"  # U+20BB7: in Unicode (CJK extension B), not in GBK
    session.flush()
    target = tmp_path / "bank.csv"
    with pytest.raises(ValidationError) as refused:
        export_cycle(session, actor=city_admin, cycle_id=s.cycle_id, target=target, fmt="csv", encoding="gbk")
    assert "𠮷" in refused.value.message and "UTF-8" in refused.value.message and "行" in refused.value.message
    assert not target.exists()
    utf8 = io.BytesIO()  # the same file in UTF-8 spells it
    export_cycle(session, actor=city_admin, cycle_id=s.cycle_id, target=utf8, fmt="csv", encoding="utf-8")
    assert "王𠮷" in utf8.getvalue().decode("utf-8-sig")


def test_a_result_file_is_checked_whole_and_every_problem_is_listed_with_its_row(
        session, county_officer, city_admin, city):
    s = _approved(session, county_officer, city_admin)
    first, second = _bank_rows(session, city_admin, s.cycle_id)
    other_cycle = f"{s.cycle_id + 1}-{second[5].split('-')[1]}"
    rows = [
        [*first[:3], "abc", first[4], first[5], "maybe", ""],     # row 2: a bad amount and an unknown word
        [*second[:5], other_cycle, "成功", ""],                     # row 3: another cycle's payment
        [*first, " 成功 ", ""],                                    # row 4: the first payment again
        ["某人", "", "", "1.00", "", "x-1", "", ""],                # row 5: a bad reference, no result
        ["合计", "", "", "9999.00", "", "合计", "", ""],            # row 6: a total that does not add up
    ]
    res = reconcile_cycle(session, actor=city_admin, cycle_id=s.cycle_id, data=_result_csv(rows), filename="r.csv")
    found = sorted((e.row, e.column) for e in res.errors)
    assert found == [(1, "流水号"), (2, "结果"), (2, "金额(元)"), (3, "流水号"), (4, "流水号"), (5, "流水号"),
                     (5, "结果"), (6, "金额(元)")], res.errors
    messages = {(e.row, e.column): e.reason for e in res.errors}
    assert "maybe" in messages[(2, "结果")] and "为空" in messages[(5, "结果")]
    for word in (*RESULT_OK, *RESULT_FAIL):  # the message names every word the file may use
        assert word in messages[(2, "结果")]
    assert "第 2 行" in messages[(4, "流水号")]
    assert second[5] in messages[(1, "流水号")]  # the payment the file leaves out
    assert get_cycle(session, s.cycle_id).status == "exported"
    assert set(session.execute(select(Payment.status).where(Payment.cycle_id == s.cycle_id)).scalars()) == {"pending"}


@pytest.mark.parametrize("ref", ["9" * 5000, "1-²", "１-２", "-", "1-2-3", "=1+1"])
def test_a_hostile_payment_reference_is_a_row_error_never_a_crash(session, county_officer, city_admin, city, ref):
    s = _approved(session, county_officer, city_admin)
    rows = [[*r, "成功", ""] for r in _bank_rows(session, city_admin, s.cycle_id)]
    rows[0][5] = ref
    res = reconcile_cycle(session, actor=city_admin, cycle_id=s.cycle_id, data=_result_csv(rows), filename="r.csv")
    assert (2, "流水号") in {(e.row, e.column) for e in res.errors}


def test_the_sql_cycle_agrees_with_the_python_rule_on_a_random_population(session, county_officer):
    rng = random.Random(7)
    policy = load_policy().program("dibao")
    cases = {}
    for _ in range(40):
        hh = household(session, county_officer, members=rng.randint(1, 8), income_yuan=rng.choice([0, 50, 300, 900]),
                       hukou=rng.choice(["城镇", "农村"]))
        for i, m in enumerate(hh.members):
            m.birth_date = date(rng.choice([1930, 1940, 1960, 1980, 2000, 2008]), 1 + i % 12, 1)
            m.disability_grade = rng.choice([None, None, 1, 3])
            m.health_status = rng.choice([None, "健康", "重病"])
        cases[active_case(session, hh, sanwu=rng.random() < 0.1).id] = hh
    session.flush()
    s = run_cycle(session, actor=county_officer, program="dibao", period=JUL)
    pays = _payments(session, s.cycle_id)
    first = JUL.first_day()
    elderly_cutoff = first.replace(year=first.year - 70)
    minor_cutoff = first.replace(year=first.year - 18)
    for case_id, hh in cases.items():
        std = 46000 if hh.hukou_type == "城镇" else 33000
        counts = {"elderly": sum(m.birth_date <= elderly_cutoff for m in hh.members),
                  "minor": sum(m.birth_date > minor_cutoff for m in hh.members),
                  "disabled": sum(m.disability_grade in (1, 2) for m in hh.members),
                  "ill": sum(m.health_status == "重病" for m in hh.members)}
        expected = dibao_entitlement(
            HouseholdFacts(members=len(hh.members), income_fen=hh.monthly_income_fen,
                           sanwu=session.get(Case, case_id).sanwu, addon_counts=counts),
            params_from_policy(policy.extra, std))
        got = pays[case_id].amount_fen if case_id in pays else 0
        assert got == expected.amount_fen, (case_id, expected, pays.get(case_id))
        # The amount shown on the public notice and the case page is the one the cycle pays.
        assert proposed_amount(session, session.get(Case, case_id), period=JUL) == got


def test_a_county_cycle_is_approved_by_another_user_of_its_county_and_paid_by_the_county(
        session, county_officer, other_county_officer, city_admin, city):
    s = run_cycle(session, actor=county_officer, program="dibao", period=JUL)
    boss = __import__("conftest").make_user(session, username="t_haizhou2", role="county_officer", scope="320706")
    with pytest.raises(NotFound):  # another county's cycle does not exist for Ganyu
        approve_cycle(session, actor=other_county_officer, cycle_id=s.cycle_id)
    # Nobody who ran any run of the cycle approves it, even when someone else ran it last.
    run_cycle(session, actor=boss, program="dibao", period=JUL)
    with pytest.raises(Conflict, match="cannot approve"):
        approve_cycle(session, actor=county_officer, cycle_id=s.cycle_id)
    approve_cycle(session, actor=city_admin, cycle_id=s.cycle_id)
    with pytest.raises(NotFound):
        export_cycle(session, actor=other_county_officer, cycle_id=s.cycle_id, target=io.BytesIO())
    buf = io.BytesIO()
    assert export_cycle(session, actor=county_officer, cycle_id=s.cycle_id, target=buf, fmt="csv") == 2
    assert get_cycle(session, s.cycle_id).status == "exported"
