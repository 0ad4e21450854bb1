"""Every registered calculator: its cycle SQL agrees with its pure rule, case by case, on a random population.

Each calculator brings its population here (POPULATIONS); a calculator registered without one fails
`test_every_registered_calculator_has_an_agreement_population`, so no plug-in pays through SQL that no
pure rule checks.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.factories import household

from minxin.auth.models import User
from minxin.core.period import Period
from minxin.programs.calculator import get_calculator, registered
from minxin.programs.cycles import explain_payment, run_cycle
from minxin.programs.models import Case, Payment, Program
from minxin.programs.policy import load_policy
from minxin.programs.service import proposed_amount, set_standard

JUL = Period(2012, 7)
COMMUNITIES = ("320706006001", "320706009001")


def _case(session: Session, hh, program: str, category: str, *, sanwu: bool = False) -> Case:  # type: ignore[no-untyped-def]
    head = next(m for m in hh.members if m.is_head)
    case = Case(program_code=program, household_id=hh.id if program == "dibao" else None, person_id=head.id,
                region_code=hh.region_code, category=category, status="active", start_period="2012-01",
                bank_account=f"62284800{head.id:011d}", sanwu=sanwu)
    session.add(case)
    session.flush()
    return case


def dibao_population(session: Session, officer: User, rng: random.Random) -> str:
    for _ in range(30):
        hukou = rng.choice(["城镇", "农村"])
        hh = household(session, officer, community=rng.choice(COMMUNITIES), hukou=hukou,
                       members=rng.randint(1, 7), income_yuan=rng.choice([0, 40, 120, 300, 700]))
        for m in hh.members:
            m.birth_date = date(rng.randint(1925, 2011), rng.randint(1, 12), rng.randint(1, 28))
            m.disability_grade = rng.choice([None, None, 1, 3])
        _case(session, hh, "dibao", hukou, sanwu=rng.random() < 0.1)
    return "dibao"


def wubao_population(session: Session, officer: User, rng: random.Random) -> str:
    for _ in range(20):
        hh = household(session, officer, community=rng.choice(COMMUNITIES), hukou="农村", members=1)
        _case(session, hh, "wubao", rng.choice(["分散", "集中"]))
    for category, yuan in (("分散", 4001), ("集中", 5005)):  # annual standards that do not divide by 12
        set_standard(session, actor=officer, program="wubao", region_code="320706", amount_fen=yuan * 100 + 7,
                     effective=date(2012, 1, 1), category=category)
    return "wubao"


def flat_population(session: Session, officer: User, rng: random.Random) -> str:
    """A program the test adds to the policy (the city's file names no flat program)."""
    from minxin.programs.policy import ProgramPolicy

    _added.append(("flatx", ProgramPolicy(code="flatx", name="定额补贴", short="定额", unit="person",
                                          calculator="flat", categories=())))
    load_policy().programs["flatx"] = _added[-1][1]
    session.add(Program(code="flatx", name="定额补贴", unit="person", calculator="flat", categories="",
                        notice_days=7))
    session.flush()
    for _ in range(10):
        hh = household(session, officer, community=rng.choice(COMMUNITIES), members=1)
        _case(session, hh, "flatx", "")
    set_standard(session, actor=officer, program="flatx", region_code="320706", amount_fen=rng.randint(1, 90000),
                 effective=date(2012, 1, 1))
    return "flatx"


def orphan_population(session: Session, officer: User, rng: random.Random) -> str:
    """Children on both sides of the 18th birthday in July 2012 (born 1994-06 … 1994-08), and younger ones."""
    for _ in range(20):
        hh = household(session, officer, community=rng.choice(COMMUNITIES), members=3)
        kid = next(m for m in hh.members if not m.is_head and m.relation == "子女")
        kid.birth_date = date(1994, rng.choice([6, 7, 8]), rng.randint(1, 28)) if rng.random() < 0.6 \
            else date(rng.randint(1995, 2011), rng.randint(1, 12), rng.randint(1, 28))
        case = _case(session, hh, "orphan", rng.choice(["集中养育", "社会散居"]))
        case.person_id = kid.id
    session.flush()
    return "orphan"


def youfu_population(session: Session, officer: User, rng: random.Random) -> str:
    """优抚 recipients of several categories, one paid per year of service, through the veterans' import."""
    from tests.factories import new_id

    from minxin.veterans.importer import import_veterans

    cats = [("残疾军人", "四级/因公"), ("烈士遗属", ""), ("在乡复员军人", "解放战争时期"),
            ("60周岁以上农村籍退役士兵", "")]
    for category, sub in cats[:2]:  # county standards that do not divide by 12; the others the city's seed
        set_standard(session, actor=officer, program="youfu", region_code="320706",
                     amount_fen=rng.randint(100_000, 5_000_000), effective=date(2012, 1, 1),
                     category=f"{category}/{sub}" if sub else category)
    rows = []
    for i in range(20):
        category, sub = rng.choice(cats)
        years = rng.randint(1, 30) if category.startswith("60") else ""
        number = new_id(date(rng.randint(1925, 1950), 1, 1))
        rows.append(f"优抚{'甲乙丙丁戊'[i % 5]},{number},{rng.choice(COMMUNITIES)},{category},{sub},2012-01,"
                    f"62220000000{i:07d},{years}")
    data = "\n".join(["姓名,身份证号,社区代码,优抚类别,子类,开始月份,账号,服役年限", *rows]).encode()
    result = import_veterans(session, actor=officer, data=data, filename="youfu.csv")
    assert result.ok, result.errors
    return "youfu"


def homecare_population(session: Session, officer: User, rng: random.Random) -> str:
    """Providers with finished, unfinished and cancelled orders of months before, at and after July 2012, some
    already paid by an approved cycle (never paid twice), one provider stopped (its case suspended)."""
    from datetime import UTC, datetime

    from minxin.eldercare.homecare.service import register_provider, update_provider
    from minxin.eldercare.models import ServiceOrder
    from minxin.programs.models import Cycle

    paid = Cycle(program_code="homecare", period="2012-05", county_code="320706", status="approved",
                 run_by="someone")
    session.add(paid)
    session.flush()
    for i in range(6):
        rep = household(session, officer, community=rng.choice(COMMUNITIES), members=1).members[0]
        provider = register_provider(session, actor=officer, name=f"居家服务{i}号", county_code="320706",
                                     contact_id_number=rep.id_number, phone="0518-1234567",
                                     bank_account=f"6222000011{i:08d}")
        client = household(session, officer, community=rng.choice(COMMUNITIES), members=1).members[0]
        for _ in range(rng.randint(0, 12)):
            status = rng.choice(["finished", "finished", "finished", "started", "ordered", "cancelled"])
            month = rng.choice([5, 6, 7, 7, 8])
            start = datetime(2012, month, rng.randint(1, 28), 9, tzinfo=UTC)
            session.add(ServiceOrder(
                person_id=client.id, provider_id=provider.id, service_type="助洁", created_by="t",
                status=status, period=f"2012-{month:02d}", minutes=60, value_fen=rng.randint(1, 9000),
                scheduled_at=start, started_at=start if status in ("started", "finished") else None,
                finished_at=start if status == "finished" else None,
                settled_cycle_id=paid.id if status == "finished" and month == 5 and rng.random() < 0.5 else None))
        if i == 5:
            update_provider(session, actor=officer, provider_id=provider.id, is_active=False)
    session.flush()
    return "homecare"


_added: list[tuple[str, object]] = []


@pytest.fixture(autouse=True)
def _forget_added_programs():  # type: ignore[no-untyped-def]
    yield
    while _added:
        load_policy().programs.pop(_added.pop()[0], None)


POPULATIONS: dict[str, Callable[[Session, User, random.Random], str]] = {
    "dibao": dibao_population, "wubao": wubao_population, "flat": flat_population,
    "orphan": orphan_population, "youfu": youfu_population, "homecare": homecare_population,
}
# Calculators whose amount is assessed elsewhere (no standard, no proposed amount): their agreement is the
# assessment's own test (medical assistance: tests/assistance/test_medical.py pays each record's assessed
# assistance once, to the fen).
ASSESSED = {"medical"}


def test_every_registered_calculator_has_an_agreement_population() -> None:
    assert set(registered()) == set(POPULATIONS) | ASSESSED
    assert all(not get_calculator(name).uses_standards for name in ASSESSED)


def test_every_program_of_the_policy_names_a_registered_calculator() -> None:
    assert {p.calculator for p in load_policy().programs.values()} <= set(registered())


@pytest.mark.parametrize("calculator", sorted(POPULATIONS))
def test_the_cycle_sql_agrees_with_the_pure_rule(session: Session, county_officer: User, calculator: str) -> None:
    program = POPULATIONS[calculator](session, county_officer, random.Random(hash(calculator) % 1000))
    summary = run_cycle(session, actor=county_officer, program=program, period=JUL)
    lines = {p.case_id: p for p in session.execute(select(Payment).where(Payment.cycle_id == summary.cycle_id))
             .scalars()}
    cases = session.execute(select(Case).where(Case.program_code == program)).scalars().all()
    assert cases
    for case in cases:
        expected = proposed_amount(session, case, period=JUL) or 0
        line = lines.get(case.id)
        assert (line.amount_fen if line else 0) == expected, (calculator, case.id)
        if line is not None:  # the explanation is the calculator's and ends with the amount paid
            assert explain_payment(line).endswith(f"= {line.amount_fen // 100}" + (
                f".{line.amount_fen % 100:02d}".rstrip("0").rstrip(".") if line.amount_fen % 100 else ""))
    assert summary.total_fen == sum(p.amount_fen for p in lines.values())
