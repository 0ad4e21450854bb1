"""五保 (P6, P7): standards derived within the 50%–60% band, eligibility, institutions, the centralized rate."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from sqlalchemy import select
from tests.factories import household

from minxin.assistance.wubao import centralized_rate, derive_standards, parse_ratio, rural_income_fen
from minxin.core.errors import ValidationError
from minxin.core.period import Period
from minxin.programs.case_import import import_cases
from minxin.programs.cycles import approve_cycle, explain_payment, export_cycle, run_cycle
from minxin.programs.models import Case, Payment
from minxin.programs.service import standard_in_force
from minxin.registry.service import add_institution

RURAL = "320706100201"  # a village of 锦屏镇, 海州区


def test_the_standard_is_last_years_rural_income_times_the_ratio(session, city_admin):
    proposals = derive_standards(session, actor=city_admin, year=2012, ratio_permille=550)
    haizhou = next(p for p in proposals if p.county == "320706")
    assert haizhou.rural_income_fen == 910000 and haizhou.annual_fen == 500500
    assert haizhou.explanation == "2011 年农民人均纯收入 9100 × 55% = 5005 元/年"
    for category in ("集中", "分散"):
        s = standard_in_force(session, program="wubao", region_code=RURAL, period=Period(2012, 3), category=category)
        assert (s.amount_fen, s.effective_from) == (500500, date(2012, 1, 1))


@pytest.mark.parametrize("ratio", [499, 601, 700])
def test_a_ratio_outside_the_band_is_refused(session, city_admin, ratio):
    with pytest.raises(ValidationError, match="50%–60%"):
        derive_standards(session, actor=city_admin, year=2012, ratio_permille=ratio)


def test_a_year_missing_from_the_statistics_is_refused_naming_county_and_year(session, city_admin):
    with pytest.raises(ValidationError, match="2014"):
        derive_standards(session, actor=city_admin, year=2015)
    with pytest.raises(ValidationError, match="320799"):
        rural_income_fen(session, county="320799", year=2011)


def test_ratios_are_read_as_people_write_them():
    assert parse_ratio("0.55") == parse_ratio("55%") == 550
    with pytest.raises(ValidationError):
        parse_ratio("half")


def _elderly_rural(session, actor, *, birth=date(1940, 5, 1)):
    hh = household(session, actor, community=RURAL, hukou="农村", members=1)
    hh.members[0].birth_date = birth
    session.flush()
    return hh.members[0]


def _csv(rows) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["身份证号", "开始月份", "账号", "类别", "机构"])
    w.writerows(rows)
    return buf.getvalue().encode()


def test_import_checks_category_institution_and_eligibility(session, county_officer):
    add_institution(session, actor=county_officer, name="锦屏镇敬老院", region_code="320706100", beds=80,
                    bank_account="320706100000000001")
    old = _elderly_rural(session, county_officer)
    young = _elderly_rural(session, county_officer, birth=date(1980, 1, 1))
    urban = household(session, county_officer, members=1)
    rows = [
        [old.id_number, "2012-01", "", "集中", "锦屏镇敬老院"],       # ok: paid to the institution
        [young.id_number, "2012-01", "6228480000000000001", "分散", ""],  # row 3: not elderly/disabled/minor
        [urban.members[0].id_number, "2012-01", "6228480000000000002", "分散", ""],  # row 4: urban
        [old.id_number, "2012-01", "", "集中", "不存在敬老院"],        # row 5: unknown institution (+ duplicate)
        [old.id_number, "2012-01", "6228480000000000003", "", ""],     # row 6: no category
    ]
    res = import_cases(session, actor=county_officer, program="wubao", data=_csv(rows), filename="wb.csv")
    found = {(e.row, e.column) for e in res.errors}
    assert {(3, "身份证号"), (4, "身份证号"), (5, "机构"), (6, "类别")} <= found
    assert "不符合五保条件" in next(e.reason for e in res.errors if e.row == 3)
    assert not session.execute(select(Case).where(Case.program_code == "wubao")).first()
    ok = import_cases(session, actor=county_officer, program="wubao", data=_csv(rows[:1]), filename="wb.csv")
    assert ok.ok, ok.errors
    case = session.execute(select(Case).where(Case.program_code == "wubao")).scalar_one()
    assert case.category == "集中" and case.bank_account == "320706100000000001" and case.institution_id


def _centralized_case(session, county_officer, city_admin):
    """An elderly villager in 锦屏镇敬老院 (集中供养) from 2012-01, under the derived 2012 standards."""
    derive_standards(session, actor=city_admin, year=2012, ratio_permille=550)
    add_institution(session, actor=county_officer, name="锦屏镇敬老院", region_code="320706100", beds=80,
                    bank_account="320706100000000001")
    old = _elderly_rural(session, county_officer)
    import_cases(session, actor=county_officer, program="wubao",
                 data=_csv([[old.id_number, "2012-01", "", "集中", "锦屏镇敬老院"]]), filename="wb.csv")
    return old


def test_a_wubao_cycle_pays_a_twelfth_of_the_annual_standard_to_the_institution(session, county_officer,
                                                                                 city_admin):
    old = _centralized_case(session, county_officer, city_admin)
    s = run_cycle(session, actor=county_officer, program="wubao", period=Period(2012, 7))
    pay = session.execute(select(Payment).where(Payment.cycle_id == s.cycle_id)).scalar_one()
    assert pay.amount_fen == 500500 // 12
    assert explain_payment(pay) == "年标准 5005 ÷ 12 = 417.08"
    approve_cycle(session, actor=city_admin, cycle_id=s.cycle_id)
    buf = io.BytesIO()
    export_cycle(session, actor=city_admin, cycle_id=s.cycle_id, target=buf, fmt="csv")
    row = list(csv.reader(io.StringIO(buf.getvalue().decode())))[1]
    assert row[0] == "锦屏镇敬老院" and row[1] == old.id_number and row[2] == "320706100000000001"
    assert row[4].startswith("2012-07五保集中供养")


def test_the_centralized_rate_per_county_against_the_target(session, county_officer):
    add_institution(session, actor=county_officer, name="锦屏镇敬老院", region_code="320706100",
                    bank_account="320706100000000001")
    people = [_elderly_rural(session, county_officer) for _ in range(4)]
    rows = [[p.id_number, "2012-01", "" if i < 3 else "6228480000000000009", "集中" if i < 3 else "分散",
             "锦屏镇敬老院" if i < 3 else ""] for i, p in enumerate(people)]
    assert import_cases(session, actor=county_officer, program="wubao", data=_csv(rows), filename="w.csv").ok
    report = centralized_rate(session, user=county_officer)
    haizhou = next(r for r in report if r["county"] == "320706")
    assert (haizhou["recipients"], haizhou["centralized"], haizhou["rate_permille"]) == (4, 3, 750)
    assert haizhou["meets_target"] and report[-1]["name"] == "合计"


def test_a_back_dated_wubao_standard_pays_a_twelfth_of_the_raise_for_each_month_paid(session, county_officer,
                                                                                      city_admin):
    from minxin.programs.service import set_standard

    _centralized_case(session, county_officer, city_admin)
    for month in (7, 8):
        s = run_cycle(session, actor=county_officer, program="wubao", period=Period(2012, month))
        approve_cycle(session, actor=city_admin, cycle_id=s.cycle_id)
    set_standard(session, actor=county_officer, program="wubao", region_code="320706", amount_fen=540000,
                 effective=date(2012, 7, 1), category="集中")
    sep = run_cycle(session, actor=county_officer, program="wubao", period=Period(2012, 9))
    pay = session.execute(select(Payment).where(Payment.cycle_id == sep.cycle_id)).scalar_one()
    # 540000 // 12 = 45000 a month now; 500500 // 12 = 41708 was paid for July and August.
    assert (pay.regular_fen, pay.arrears_fen, pay.arrears_months) == (45000, 2 * 3292, 2)
    assert sep.arrears_fen == 6584 and sep.total_fen == 45000 + 6584
    assert explain_payment(pay) == ("年标准 5400 ÷ 12 = 450；补发 2012-07～2012-08：年标准 5400 ÷ 12 = 450，"
                                    "已发 417.08，每月补 32.92，共补 65.84（2个月）")
