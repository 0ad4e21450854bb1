"""A recipient's death on the engine: the case ends with the month of death and the next cycle pays the funeral
aid once (丧葬补助费: 6 months to 三属, 条例 Art.19; 12 months to a 残疾军人 who died of illness, Art.28), explained,
checked to the fen, with a back-dated raise reaching it as arrears."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from tests.factories import new_id

from minxin.auth.models import AuditEvent
from minxin.core.errors import ValidationError
from minxin.core.period import Period
from minxin.programs.cycles import approve_cycle, explain_payment, run_cycle
from minxin.programs.models import Case, Payment
from minxin.programs.service import set_standard
from minxin.registry.models import Person
from minxin.veterans import rules
from minxin.veterans.importer import import_veterans
from minxin.veterans.models import VeteranDeathBenefit, VeteranRecipient
from minxin.veterans.service import recipient_detail, record_status

HEAD = "姓名,身份证号,社区代码,优抚类别,子类,开始月份,账号,服役年限"


def _recipient(session, id_number: str) -> VeteranRecipient:
    return session.execute(select(VeteranRecipient).join(Person, Person.id == VeteranRecipient.person_id)
                           .where(Person.id_number == id_number)).scalar_one()


def _lines(session, cycle_id: int) -> dict[int, list[Payment]]:
    out: dict[int, list[Payment]] = {}
    for p in session.execute(select(Payment).where(Payment.cycle_id == cycle_id).order_by(Payment.seq)).scalars():
        out.setdefault(p.case_id, []).append(p)
    return out


def test_the_death_rule_names_the_months_and_the_article():
    assert rules.death_rule("烈士遗属", "other") == rules.death_rule("病故军人遗属", "illness") == "youfu_d19"
    assert rules.death_rule("因公牺牲军人遗属", "other") == "youfu_d19"
    assert rules.death_rule("残疾军人/三级/因公", "illness") == "youfu_d28"
    assert rules.death_rule("残疾军人/三级/因公", "other") is None
    assert rules.death_rule("带病回乡退伍军人", "illness") is None
    assert rules.death_rule("60周岁以上农村籍退役士兵", "illness") is None
    # 13001 yuan a year: 1300100 ÷ 12 = 108341.67 → 108341 a month; × 6 = 650046 (never December's remainder).
    assert rules.death_benefit_fen(1300100, 6) == 650046
    assert rules.explain_death(rule="youfu_d28", annual_fen=3515500, months=12, amount_fen=3515496) == \
        "年标准 35155 ÷ 12 × 12 个月（丧葬补助费，条例第二十八条） = 35154.96"


def test_a_death_pays_the_extra_months_once_in_the_next_cycle_and_a_raise_reaches_them(
        session, county_officer, city_admin, supplement_policy):
    set_standard(session, actor=city_admin, program="youfu", region_code="320700", amount_fen=3515500,
                 effective=date(2012, 12, 1), category="残疾军人/三级/因公")
    set_standard(session, actor=city_admin, program="youfu", region_code="320700", amount_fen=2400000,
                 effective=date(2012, 12, 1), category="残疾军人/五级/因战")
    set_standard(session, actor=county_officer, program="youfu", region_code="320706", amount_fen=1300100,
                 effective=date(2012, 12, 1), category="烈士遗属")
    a, b, d, e = (new_id(date(1950 + i, 3, 1)) for i in range(4))
    rows = [f"张伤残,{a},320706006001,残疾军人,三级/因公,2013-01,622200000000000101,",
            f"李烈属,{b},320706006001,烈士遗属,,2013-01,622200000000000102,",
            f"王伤残,{d},320706006001,残疾军人,五级/因战,2013-01,622200000000000103,",
            f"赵带病,{e},320706006001,带病回乡退伍军人,,2013-01,622200000000000104,"]
    res = import_veterans(session, actor=county_officer, filename="d.csv",
                          data=("\n".join([HEAD, *rows]) + "\n").encode())
    assert res.ok, [str(x) for x in res.errors]
    ra, rb, rd, re_ = (_recipient(session, n) for n in (a, b, d, e))
    for month in range(1, 4):
        s = run_cycle(session, actor=county_officer, program="youfu", period=Period(2013, month))
        approve_cycle(session, actor=city_admin, cycle_id=s.cycle_id)

    # A 残疾军人's death must say whether it was from illness (12 months) or not; refused, nothing changes.
    with pytest.raises(ValidationError):
        record_status(session, actor=county_officer, recipient_id=ra.id, kind="deceased", on=date(2013, 4, 5))
    with pytest.raises(ValidationError):
        record_status(session, actor=county_officer, recipient_id=ra.id, kind="deceased", on=date(2013, 4, 5),
                      cause="drowned")
    assert ra.status == "active" and session.get(Case, ra.case_id).status == "active"

    record_status(session, actor=county_officer, recipient_id=ra.id, kind="deceased", on=date(2013, 4, 5),
                  cause="illness")
    record_status(session, actor=county_officer, recipient_id=rb.id, kind="deceased", on=date(2013, 4, 20))
    record_status(session, actor=county_officer, recipient_id=rd.id, kind="deceased", on=date(2013, 4, 10),
                  cause="other")
    record_status(session, actor=county_officer, recipient_id=re_.id, kind="deceased", on=date(2013, 4, 10),
                  cause="illness")
    benefits = {x.recipient_id: x for x in session.execute(select(VeteranDeathBenefit)).scalars()}
    assert {k: (v.rule, v.months, v.pay_from, v.cycle_id) for k, v in benefits.items()} == {
        ra.id: ("youfu_d28", 12, "2013-04", None), rb.id: ("youfu_d19", 6, "2013-04", None)}
    audit = session.execute(select(AuditEvent).where(AuditEvent.action == "veteran.deceased",
                                                     AuditEvent.entity_id == str(ra.id))).scalar_one()
    assert '"benefit_months": 12' in audit.detail and '"cause": "illness"' in audit.detail
    assert all(session.get(Case, r.case_id).status == "terminated" for r in (ra, rb, rd, re_))
    assert recipient_detail(session, user=county_officer, recipient_id=rb.id)["death_benefit"]["paid_in"] is None

    # April, the month of death, run after the deaths were recorded: still paid as usual, no funeral aid yet.
    april = run_cycle(session, actor=county_officer, program="youfu", period=Period(2013, 4))
    lines = _lines(session, april.cycle_id)
    assert set(lines) == {ra.case_id, rb.case_id, rd.case_id, re_.case_id}
    assert (lines[ra.case_id][0].amount_fen, lines[rb.case_id][0].amount_fen) == (292958, 111341)
    assert {lines[c][0].rule for c in lines} == {"youfu"}
    approve_cycle(session, actor=city_admin, cycle_id=april.cycle_id)

    may = run_cycle(session, actor=county_officer, program="youfu", period=Period(2013, 5))
    lines = _lines(session, may.cycle_id)
    assert set(lines) == {ra.case_id, rb.case_id}  # D (因战, other cause) and E (带病回乡) get nothing more
    [la], [lb] = lines[ra.case_id], lines[rb.case_id]
    # A: 3515500 ÷ 12 = 292958.33 → 292958; × 12 months = 3515496.
    assert (la.amount_fen, la.rule, la.units, la.standard_fen) == (3515496, "youfu_d28", 12, 3515500)
    assert explain_payment(la) == "年标准 35155 ÷ 12 × 12 个月（丧葬补助费，条例第二十八条） = 35154.96"
    # B: 1300100 ÷ 12 = 108341.67 → 108341; × 6 months = 650046; the county's 30-yuan supplement is not in it.
    assert (lb.amount_fen, lb.rule, lb.units, lb.addon_fen) == (650046, "youfu_d19", 6, 0)
    assert explain_payment(lb) == "年标准 13001 ÷ 12 × 6 个月（丧葬补助费，条例第十九条） = 6500.46"
    assert (may.cases, may.total_fen) == (2, 3515496 + 650046)
    # The draft recomputed pays them again in this cycle, not twice; the benefits are this cycle's.
    again = run_cycle(session, actor=county_officer, program="youfu", period=Period(2013, 5))
    assert (again.cycle_id, again.cases, again.total_fen) == (may.cycle_id, 2, 4165542)
    assert {x.cycle_id for x in session.execute(select(VeteranDeathBenefit).execution_options(
        populate_existing=True)).scalars()} == {may.cycle_id}
    approve_cycle(session, actor=city_admin, cycle_id=may.cycle_id)
    assert recipient_detail(session, user=county_officer, recipient_id=rb.id)["death_benefit"]["paid_in"] == "2013-05"

    june = run_cycle(session, actor=county_officer, program="youfu", period=Period(2013, 6))
    assert (june.cases, june.total_fen) == (0, 0)  # paid once; the cases have ended
    approve_cycle(session, actor=city_admin, cycle_id=june.cycle_id)

    # A national raise of 烈士遗属 dated back to January reaches B's months and B's funeral aid:
    # 1400000 ÷ 12 = 116666; January–April (116666 + 3000 supplement − 111341 paid) × 4 = 8325 × 4 = 33300;
    # the funeral aid 116666 × 6 − 650046 = 699996 − 650046 = 49950.
    set_standard(session, actor=county_officer, program="youfu", region_code="320706", amount_fen=1400000,
                 effective=date(2013, 1, 1), category="烈士遗属")
    july = run_cycle(session, actor=county_officer, program="youfu", period=Period(2013, 7))
    lines = _lines(session, july.cycle_id)
    assert set(lines) == {rb.case_id}
    parts = sorted((p.arrears_fen, p.arrears_months, p.arrears_rule or p.rule) for p in lines[rb.case_id])
    assert [(f, m) for f, m, _ in parts] == [(33300, 4), (49950, 1)]
    assert july.arrears_fen == 83250
    death_part = next(p for p in lines[rb.case_id] if p.arrears_fen == 49950)
    assert explain_payment(death_part) == \
        "补发 2013-05：年标准 14000 ÷ 12 × 6 个月（丧葬补助费，条例第十九条） = 6999.96，已发 6500.46，补 499.5"
