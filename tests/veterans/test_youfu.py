"""优抚 pensions on the engine: imported recipients paid annual ÷ 12 with December paying the rest, per year of
service, with a local supplement, and a back-dated national raise paid as arrears — all checked to the fen."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from sqlalchemy import select
from tests.conftest import make_user
from tests.factories import new_id

from minxin.core.period import Period
from minxin.programs.cycles import approve_cycle, explain_payment, export_cycle, reconcile_cycle, run_cycle
from minxin.programs.models import Case, Cycle, Payment
from minxin.programs.service import set_standard
from minxin.registry.models import Person
from minxin.veterans.importer import import_veterans
from minxin.veterans.models import VeteranEvent, VeteranRecipient
from minxin.veterans.service import ontime_report, record_status

HEAD = "姓名,身份证号,社区代码,优抚类别,子类,开始月份,账号,服役年限"


def _csv(*rows: str) -> bytes:
    return ("\n".join([HEAD, *rows]) + "\n").encode("utf-8")


def _import(session, actor, *rows: str):
    res = import_veterans(session, actor=actor, data=_csv(*rows), filename="yf.csv")
    assert res.ok, [str(e) for e in res.errors]
    return res


def _case_of(session, id_number: str) -> Case:
    return session.execute(select(Case).join(Person, Person.id == Case.person_id)
                           .where(Person.id_number == id_number, Case.program_code == "youfu")).scalar_one()


def _line(session, cycle_id: int, case_id: int) -> Payment:
    return session.execute(select(Payment).where(Payment.cycle_id == cycle_id, Payment.case_id == case_id,
                                                 Payment.seq == 0)).scalar_one()


def test_a_year_of_pensions_pays_each_annual_standard_to_the_fen_with_a_back_dated_raise(
        session, county_officer, city_admin, supplement_policy):
    # Standards in yuan per year, in force for 2013 (set 2012-12-01 so a raise can be dated 2013-01-01).
    set_standard(session, actor=city_admin, program="youfu", region_code="320700", amount_fen=3515500,
                 effective=date(2012, 12, 1), category="残疾军人/三级/因公")
    set_standard(session, actor=county_officer, program="youfu", region_code="320706", amount_fen=1300100,
                 effective=date(2012, 12, 1), category="烈士遗属")
    set_standard(session, actor=city_admin, program="youfu", region_code="320700", amount_fen=12500,
                 effective=date(2012, 12, 1), category="60周岁以上农村籍退役士兵")
    a, b, c = new_id(date(1950, 3, 1)), new_id(date(1960, 4, 1)), new_id(date(1948, 5, 1))
    _import(session, county_officer,
            f"张伤残,{a},320706006001,残疾军人,三级/因公,2013-01,622200000000000011,",
            f"李烈属,{b},320706006001,烈士遗属,,2013-01,622200000000000012,",
            f"王老兵,{c},320706006001,60周岁以上农村籍退役士兵,,2013-01,622200000000000013,7")
    ca, cb, cc = (_case_of(session, n) for n in (a, b, c))
    assert (ca.category, cb.category, cc.category) == ("残疾军人/三级/因公", "烈士遗属", "60周岁以上农村籍退役士兵")

    cycles = {}
    for month in range(1, 10):
        s = run_cycle(session, actor=county_officer, program="youfu", period=Period(2013, month))
        approve_cycle(session, actor=city_admin, cycle_id=s.cycle_id)
        cycles[month] = s.cycle_id
    jan = cycles[1]
    # A: 35155 × 100 = 3515500 fen a year; ÷ 12 = 292958.33 → 292958 a month.
    assert _line(session, jan, ca.id).amount_fen == 292958
    # B: 1300100 ÷ 12 = 108341.67 → 108341, plus the county's supplement of 3000 (30 yuan) a month = 111341.
    line_b = _line(session, jan, cb.id)
    assert (line_b.amount_fen, line_b.addon_fen) == (111341, 3000)
    assert explain_payment(line_b) == "年标准 13001 ÷ 12 + 地方补助 30 = 1113.41"
    # C: 125 yuan per year of service = 12500 fen; ÷ 12 = 1041.67 → 1041; × 7 years = 7287.
    line_c = _line(session, jan, cc.id)
    assert (line_c.amount_fen, line_c.units) == (7287, 7)
    assert explain_payment(line_c) == "年标准 125 ÷ 12 × 服役 7 年 = 72.87"

    # October: the national standard of A's category rises to 37000 a year, dated back to January.
    set_standard(session, actor=city_admin, program="youfu", region_code="320700", amount_fen=3700000,
                 effective=date(2013, 1, 1), category="残疾军人/三级/因公")
    oct_ = run_cycle(session, actor=county_officer, program="youfu", period=Period(2013, 10))
    line_a = _line(session, oct_.cycle_id, ca.id)
    # 3700000 ÷ 12 = 308333.33 → 308333; already paid 292958 a month for January–September:
    # arrears (308333 − 292958) × 9 = 15375 × 9 = 138375.
    assert (line_a.regular_fen, line_a.arrears_fen, line_a.arrears_months) == (308333, 138375, 9)
    assert explain_payment(line_a) == ("年标准 37000 ÷ 12 = 3083.33；补发 2013-01～2013-09：年标准 37000 ÷ 12 = "
                                       "3083.33，已发 2929.58，每月补 153.75，共补 1383.75（9个月）")
    assert oct_.arrears_fen == 138375  # B's and C's standards did not change
    approve_cycle(session, actor=city_admin, cycle_id=oct_.cycle_id)
    nov = run_cycle(session, actor=county_officer, program="youfu", period=Period(2013, 11))
    assert nov.arrears_fen == 0  # arrears are paid once
    approve_cycle(session, actor=city_admin, cycle_id=nov.cycle_id)
    dec = run_cycle(session, actor=county_officer, program="youfu", period=Period(2013, 12))
    # December pays what is left of the year:
    # A: 3700000 − 11 × 308333 = 3700000 − 3391663 = 308337;
    # B: 1300100 − 11 × 108341 = 1300100 − 1191751 = 108349, + 3000 supplement = 111349;
    # C: (12500 − 11 × 1041) × 7 = 1049 × 7 = 7343.
    assert _line(session, dec.cycle_id, ca.id).amount_fen == 308337
    assert _line(session, dec.cycle_id, cb.id).amount_fen == 111349
    line_c_dec = _line(session, dec.cycle_id, cc.id)
    assert line_c_dec.amount_fen == 7343
    assert explain_payment(line_c_dec) == "(年标准 125 − 11×10.41（12月）) × 服役 7 年 = 73.43"
    assert explain_payment(_line(session, dec.cycle_id, cb.id)) == \
        "年标准 13001 − 11×1083.41（12月） + 地方补助 30 = 1113.49"

    # Every calendar year pays exactly the annual standard (plus 12 months of supplement for B).
    def year_total(case_id: int) -> int:
        return sum(p.amount_fen for p in session.execute(select(Payment).join(Cycle, Cycle.id == Payment.cycle_id)
                                                         .where(Payment.case_id == case_id,
                                                                Cycle.program_code == "youfu")).scalars())
    assert year_total(ca.id) == 3700000  # 292958×9 + 138375 + 308333×2 + 308337
    assert year_total(cb.id) == 1300100 + 12 * 3000
    assert year_total(cc.id) == 12500 * 7  # 7287×11 + 7343 = 87500


def _bank_rows(session, actor, cycle_id):
    buf = io.BytesIO()
    export_cycle(session, actor=actor, cycle_id=cycle_id, target=buf, fmt="csv")
    return list(csv.reader(io.StringIO(buf.getvalue().decode("utf-8"))))[1:]


def _result_csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["姓名", "身份证号", "账号", "金额(元)", "摘要", "流水号", "结果", "原因"])
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def test_the_on_time_report_lists_the_payment_the_bank_failed(session, county_officer, other_county_officer,
                                                               city_admin):
    set_standard(session, actor=city_admin, program="youfu", region_code="320700", amount_fen=1200000,
                 effective=date(2013, 2, 1), category="烈士遗属")
    people = [new_id(date(1960, 1, 1)) for _ in range(3)]
    _import(session, county_officer, *(f"烈属{'甲乙丙'[i]},{n},320706006001,烈士遗属,,2013-03,62220000000000002{i},"
                                       for i, n in enumerate(people)))
    gan = new_id(date(1961, 1, 1), region="320707")
    _import(session, other_county_officer, f"赣榆甲,{gan},320707100001,烈士遗属,,2013-03,622200000000000031,")
    period = Period(2013, 3)
    before = ontime_report(session, user=city_admin, period=period)
    assert before.totals()["by_reason"] == {"no_cycle": 4}

    s = run_cycle(session, actor=county_officer, program="youfu", period=period)
    approve_cycle(session, actor=city_admin, cycle_id=s.cycle_id)
    report = ontime_report(session, user=county_officer, period=period)
    assert [c["by_reason"] for c in report.counties] == [{"not_exported": 3}]  # only Haizhou in scope
    rows = _bank_rows(session, county_officer, s.cycle_id)
    failed = rows[1][5]
    res = reconcile_cycle(session, actor=county_officer, cycle_id=s.cycle_id, filename="r.csv", data=_result_csv(
        [[*r, "失败" if r[5] == failed else "成功", "账户冻结" if r[5] == failed else ""] for r in rows]))
    assert res.ok, res.errors
    cycle = session.get(Cycle, s.cycle_id)
    cycle.reconciled_at = datetime(2013, 3, 14, 8, 0, tzinfo=UTC)  # the bank confirmed on the 14th
    session.flush()

    report = ontime_report(session, user=city_admin, period=period)
    hz = next(c for c in report.counties if c["county"] == "320706")
    # 1200000 ÷ 12 = 100000 fen due each; two paid by the 15th, one failed at the bank.
    assert {k: hz[k] for k in ("due", "paid", "on_time", "late", "exceptions", "due_fen", "paid_fen")} == \
        {"due": 3, "paid": 2, "on_time": 2, "late": 0, "exceptions": 1, "due_fen": 300000, "paid_fen": 200000}
    assert hz["by_reason"] == {"failed": 1}
    gy = next(c for c in report.counties if c["county"] == "320707")
    assert (gy["due"], gy["by_reason"]) == (1, {"no_cycle": 1})
    failed_case = [e for e in report.exceptions if e["county"] == "320706"]
    assert len(failed_case) == 1 and failed_case[0]["reason"] == "failed" and failed_case[0]["due_fen"] == 100000
    assert failed_case[0]["name"].endswith("*")  # masked

    # Confirmed after the due day: paid in full but late (not an exception).
    cycle.reconciled_at = datetime(2013, 3, 20, tzinfo=UTC)
    session.flush()
    hz = next(c for c in ontime_report(session, user=city_admin, period=period).counties if c["county"] == "320706")
    assert (hz["paid"], hz["on_time"], hz["late"], hz["exceptions"]) == (2, 0, 2, 1)


def test_a_suspended_case_and_a_short_payment_are_exceptions(session, county_officer, city_admin):
    from minxin.programs.service import step

    set_standard(session, actor=city_admin, program="youfu", region_code="320700", amount_fen=1200000,
                 effective=date(2013, 2, 1), category="病故军人遗属")
    a, b = new_id(date(1960, 1, 1)), new_id(date(1960, 2, 1))
    _import(session, county_officer, f"病属甲,{a},320706006001,病故军人遗属,,2013-03,622200000000000041,",
            f"病属乙,{b},320706006001,病故军人遗属,,2013-03,622200000000000042,")
    step(session, actor=county_officer, case_id=_case_of(session, a).id, action="suspend", reason="待核查")
    s = run_cycle(session, actor=county_officer, program="youfu", period=Period(2013, 3))
    assert s.cases == 1
    # A raise for March after the cycle ran: the line is short until the arrears are paid.
    set_standard(session, actor=city_admin, program="youfu", region_code="320700", amount_fen=1212000,
                 effective=date(2013, 3, 1), category="病故军人遗属")
    report = ontime_report(session, user=county_officer, period=Period(2013, 3))
    assert report.totals()["by_reason"] == {"suspended": 1, "not_exported": 1}
    approve_cycle(session, actor=city_admin, cycle_id=s.cycle_id)
    _bank_rows(session, county_officer, s.cycle_id)
    session.get(Cycle, s.cycle_id).status = "reconciled"
    session.execute(Payment.__table__.update().where(Payment.cycle_id == s.cycle_id).values(status="paid"))
    report = ontime_report(session, user=county_officer, period=Period(2013, 3))
    assert report.totals()["by_reason"] == {"suspended": 1, "short": 1}
    short = next(e for e in report.exceptions if e["reason"] == "short")
    assert (short["due_fen"], short["paid_fen"]) == (101000, 100000)


def test_a_death_ends_the_case_with_that_month_and_is_an_audited_event(session, county_officer, city_admin):
    from minxin.auth.models import AuditEvent

    set_standard(session, actor=city_admin, program="youfu", region_code="320700", amount_fen=600000,
                 effective=date(2013, 1, 1), category="带病回乡退伍军人")
    n = new_id(date(1955, 1, 1))
    _import(session, county_officer, f"带病甲,{n},320706006001,带病回乡退伍军人,,2013-01,622200000000000051,")
    case = _case_of(session, n)
    rid = session.execute(select(VeteranRecipient.id).where(VeteranRecipient.case_id == case.id)).scalar_one()
    record_status(session, actor=county_officer, recipient_id=rid, kind="deceased", on=date(2013, 4, 9),
                  note="病故")
    assert (case.status, case.end_period) == ("terminated", "2013-04")
    kinds = [e.kind for e in session.execute(select(VeteranEvent).where(VeteranEvent.recipient_id == rid)
                                             .order_by(VeteranEvent.id)).scalars()]
    assert kinds == ["new", "deceased"]
    assert session.execute(select(AuditEvent.id).where(AuditEvent.action == "veteran.deceased",
                                                       AuditEvent.entity_id == str(rid))).first() is not None
    # The month of death was due; May is not.
    assert ontime_report(session, user=county_officer, period=Period(2013, 4)).totals()["due"] == 1
    assert ontime_report(session, user=county_officer, period=Period(2013, 5)).totals()["due"] == 0


def test_the_shipped_policy_pays_donghai_the_national_standard_alone(session, county_officer, city_admin):
    from minxin.veterans.calculator import policy_supplements

    assert policy_supplements() == []  # no 地方补助 configured by default: a county's notice adds one
    donghai = make_user(session, username="dh_county", role="county_officer", scope="320722")
    set_standard(session, actor=city_admin, program="youfu", region_code="320700", amount_fen=1300100,
                 effective=date(2012, 12, 1), category="烈士遗属")
    n = new_id(date(1960, 6, 1), region="320722")
    _import(session, donghai, f"东海烈属,{n},320722101001,烈士遗属,,2013-01,622200000000000091,")
    s = run_cycle(session, actor=donghai, program="youfu", period=Period(2013, 1))
    line = _line(session, s.cycle_id, _case_of(session, n).id)
    # 1300100 ÷ 12 = 108341.67 → 108341, nothing on top.
    assert (line.amount_fen, line.addon_fen) == (108341, 0)
    assert explain_payment(line) == "年标准 13001 ÷ 12 = 1083.41"
