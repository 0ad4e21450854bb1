"""Charity supermarkets (慈善超市, P10): ledger balances, stock limits, reversals, scope, report, CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from tests.conftest import committed_database
from tests.factories import household
from typer.testing import CliRunner

from minxin.assistance.supermarkets import service
from minxin.assistance.supermarkets.models import CharityLedgerEntry, CharitySupermarket
from minxin.assistance.supermarkets.rules import target_status, value_out
from minxin.auth.models import AuditEvent, User
from minxin.core.errors import Conflict, Forbidden, NotFound, ValidationError

OPENED = date(2012, 3, 1)
GANYU_COMMUNITY = "320707100001"


def _market(session: Session, actor: User, *, name: str = "海州区第一慈善超市", county: str = "320706",
            opened: date = OPENED) -> CharitySupermarket:
    return service.add_supermarket(session, actor=actor, name=name, county_code=county, opened_on=opened,
                                   address="海州区解放路1号")


def _entries(session: Session) -> int:
    return session.execute(select(func.count()).select_from(CharityLedgerEntry)).scalar_one()


def _audits(session: Session) -> int:
    return session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


# ---- pure rules ------------------------------------------------------------------------------------

def test_value_out_takes_the_average_unit_value_and_the_whole_stock_takes_everything() -> None:
    assert value_out(stock_quantity=10, stock_value_fen=1000, quantity=3) == 300
    assert value_out(stock_quantity=3, stock_value_fen=100, quantity=1) == 33
    assert value_out(stock_quantity=3, stock_value_fen=100, quantity=2) == 67
    assert value_out(stock_quantity=10, stock_value_fen=1000, quantity=10) == 1000
    assert value_out(stock_quantity=5, stock_value_fen=0, quantity=2) == 0


@given(st.integers(1, 500), st.integers(0, 10**9), st.lists(st.integers(1, 50), max_size=30))
def test_handing_out_a_stock_piece_by_piece_never_overdraws_its_value(quantity: int, value: int,
                                                                     takes: list[int]) -> None:
    q, v = quantity, value
    for t in takes:
        if t > q:
            break
        out = value_out(stock_quantity=q, stock_value_fen=v, quantity=t)
        assert 0 <= out <= v
        q, v = q - t, v - out
        if q == 0:
            assert v == 0
            break


def test_target_status_against_the_10_to_20_band() -> None:
    assert [target_status(n) for n in (0, 9, 10, 15, 20, 21)] == ["below", "below", "met", "met", "met", "above"]


# ---- supermarkets ----------------------------------------------------------------------------------

def test_a_county_officer_adds_a_supermarket_of_their_county_and_it_is_audited(session: Session,
                                                                               county_officer: User) -> None:
    m = _market(session, county_officer)
    assert (m.county_code, m.opened_on, m.is_active) == ("320706", OPENED, True)
    event = session.execute(select(AuditEvent).where(AuditEvent.action == "supermarket.add")).scalar_one()
    assert event.entity_id == str(m.id) and event.region_code == "320706" and event.actor == county_officer.username


def test_adding_is_refused_for_bad_input_and_other_roles(session: Session, county_officer: User,
                                                         community_worker: User, auditor: User) -> None:
    _market(session, county_officer, name="甲超市")
    with pytest.raises(Conflict, match="名称已存在"):
        _market(session, county_officer, name="甲超市")
    with pytest.raises(NotFound):  # another county is outside the officer's scope
        _market(session, county_officer, name="乙超市", county="320707")
    with pytest.raises(ValidationError, match="已撤销"):
        _market(session, county_officer, name="丙超市", county="320705")
    with pytest.raises(ValidationError, match="县区代码"):
        _market(session, county_officer, name="丁超市", county="320706006")
    with pytest.raises(ValidationError, match="开业日期"):
        _market(session, county_officer, name="戊超市", opened=date(2999, 1, 1))
    for user in (community_worker, auditor):
        with pytest.raises(Forbidden, match="慈善超市"):
            _market(session, user, name="己超市")


def test_another_county_sees_neither_the_supermarket_nor_its_ledger(session: Session, county_officer: User,
                                                                    other_county_officer: User) -> None:
    m = _market(session, county_officer)
    service.record_donation(session, actor=county_officer, supermarket_id=m.id, donor="张三", money_fen=10000)
    with pytest.raises(NotFound):
        service.get_supermarket_for(session, other_county_officer, m.id)
    with pytest.raises(NotFound):
        service.record_donation(session, actor=other_county_officer, supermarket_id=m.id, donor="李四",
                                money_fen=100)
    with pytest.raises(NotFound):
        service.ledger_page(session, user=other_county_officer, supermarket_id=m.id)
    entry_id = service.ledger_all(session, user=county_officer, supermarket_id=m.id)[0].entry.id
    with pytest.raises(NotFound):
        service.reverse_entry(session, actor=other_county_officer, entry_id=entry_id, reason="x")
    assert service.list_supermarkets(session, user=other_county_officer) == []
    assert [x.id for x in service.list_supermarkets(session, user=county_officer)] == [m.id]


def test_an_auditor_reads_but_cannot_write(session: Session, county_officer: User, auditor: User) -> None:
    m = _market(session, county_officer)
    entry = service.record_donation(session, actor=county_officer, supermarket_id=m.id, donor="张三",
                                    money_fen=10000)
    assert service.get_supermarket_for(session, auditor, m.id).id == m.id
    h = household(session, county_officer)
    with pytest.raises(Forbidden):
        service.record_donation(session, actor=auditor, supermarket_id=m.id, donor="李四", money_fen=100)
    with pytest.raises(Forbidden):
        service.record_distribution(session, actor=auditor, supermarket_id=m.id, household_id=h.id, money_fen=100)
    with pytest.raises(Forbidden):
        service.reverse_entry(session, actor=auditor, entry_id=entry.id, reason="错")


# ---- ledger ----------------------------------------------------------------------------------------

def test_balance_is_the_sum_of_the_entries(session: Session, county_officer: User) -> None:
    """1000 元 in, rice 10 bags worth 500 元 in, oil 4 worth 200 元 in; out: rice 3 (150 元) and 300 元."""
    m = _market(session, county_officer)
    h = household(session, county_officer)
    service.record_donation(session, actor=county_officer, supermarket_id=m.id, donor="连云港某公司",
                            money_fen=100000)
    service.record_donation(session, actor=county_officer, supermarket_id=m.id, donor="张三", item="大米",
                            quantity=10, value_fen=50000)
    service.record_donation(session, actor=county_officer, supermarket_id=m.id, donor="李四", item="食用油",
                            quantity=4, value_fen=20000)
    out = service.record_distribution(session, actor=county_officer, supermarket_id=m.id, household_id=h.id,
                                      item="大米", quantity=3, money_fen=30000, note="春节慰问")
    assert [(e.item, e.quantity, e.value_fen, e.household_id) for e in out] == [
        ("大米", -3, -15000, h.id), (None, 0, -30000, h.id)]
    b = service.balance(session, m)
    assert b.money_fen == 70000
    assert [(g.item, g.quantity, g.value_fen) for g in b.goods] == [("大米", 7, 35000), ("食用油", 4, 20000)]
    assert b.goods_value_fen == 55000 and b.total_value_fen == 125000
    assert service.totals_of(session, [m.id])[m.id].total_value_fen == 125000


def test_a_distribution_beyond_the_stock_is_refused_with_nothing_stored(session: Session,
                                                                        county_officer: User) -> None:
    m = _market(session, county_officer)
    h = household(session, county_officer)
    service.record_donation(session, actor=county_officer, supermarket_id=m.id, donor="张三", item="大米",
                            quantity=5, value_fen=25000)
    service.record_donation(session, actor=county_officer, supermarket_id=m.id, donor="张三", money_fen=10000)
    entries, audits = _entries(session), _audits(session)
    with pytest.raises(Conflict) as exc:
        service.record_distribution(session, actor=county_officer, supermarket_id=m.id, household_id=h.id,
                                    item="大米", quantity=6)
    assert "「大米」库存不足：现有 5，申请发放 6" in exc.value.message
    with pytest.raises(Conflict, match="库存不足：现有 0"):
        service.record_distribution(session, actor=county_officer, supermarket_id=m.id, household_id=h.id,
                                    item="面粉", quantity=1)
    # The goods part fits, the money part does not: neither is stored.
    with pytest.raises(Conflict) as exc:
        service.record_distribution(session, actor=county_officer, supermarket_id=m.id, household_id=h.id,
                                    item="大米", quantity=2, money_fen=10001)
    assert "资金余额不足：现有 100.00 元，申请发放 100.01 元" in exc.value.message
    assert (_entries(session), _audits(session)) == (entries, audits)
    b = service.balance(session, m)
    assert (b.money_fen, b.stock_of("大米").quantity) == (10000, 5)
    # Exactly the stock is allowed, and takes its whole value.
    service.record_distribution(session, actor=county_officer, supermarket_id=m.id, household_id=h.id,
                                item="大米", quantity=5, money_fen=10000)
    b = service.balance(session, m)
    assert (b.money_fen, b.goods, b.total_value_fen) == (0, [], 0)


def test_distributions_go_only_to_households_of_the_supermarkets_county(session: Session, county_officer: User,
                                                                        city_admin: User,
                                                                        other_county_officer: User) -> None:
    m = _market(session, county_officer)
    service.record_donation(session, actor=county_officer, supermarket_id=m.id, donor="张三", money_fen=10000)
    ganyu = household(session, other_county_officer, community=GANYU_COMMUNITY)
    with pytest.raises(NotFound):  # not in the Haizhou officer's scope at all
        service.record_distribution(session, actor=county_officer, supermarket_id=m.id, household_id=ganyu.id,
                                    money_fen=100)
    with pytest.raises(ValidationError, match="不在该慈善超市所在县区"):
        service.record_distribution(session, actor=city_admin, supermarket_id=m.id, household_id=ganyu.id,
                                    money_fen=100)


def test_input_is_checked_before_anything_is_written(session: Session, county_officer: User) -> None:
    m = _market(session, county_officer)
    h = household(session, county_officer)

    def donate(**kw: object) -> None:
        service.record_donation(session, actor=county_officer, supermarket_id=m.id, **kw)  # type: ignore[arg-type]

    with pytest.raises(ValidationError, match="捐赠人"):
        donate(donor="  ", money_fen=100)
    with pytest.raises(ValidationError, match="捐款金额必须大于 0"):
        donate(donor="张三", money_fen=0)
    with pytest.raises(ValidationError, match="只能是捐款或捐物"):
        donate(donor="张三", money_fen=100, item="大米", quantity=1, value_fen=100)
    with pytest.raises(ValidationError, match="数量"):
        donate(donor="张三", item="大米", quantity=0, value_fen=100)
    with pytest.raises(ValidationError, match="价值"):
        donate(donor="张三", item="大米", quantity=1)
    with pytest.raises(ValidationError, match="晚于今天"):
        donate(donor="张三", money_fen=100, entry_date=date(2999, 1, 1))
    with pytest.raises(ValidationError, match="早于开业日期"):
        donate(donor="张三", money_fen=100, entry_date=date(2012, 2, 1))
    with pytest.raises(ValidationError, match="发放"):
        service.record_distribution(session, actor=county_officer, supermarket_id=m.id, household_id=h.id)
    assert _entries(session) == 0


def test_a_reversal_is_the_opposite_entry_and_happens_once(session: Session, county_officer: User) -> None:
    m = _market(session, county_officer)
    gift = service.record_donation(session, actor=county_officer, supermarket_id=m.id, donor="张三",
                                   money_fen=50000, entry_date=date(2012, 5, 1))
    c = service.reverse_entry(session, actor=county_officer, entry_id=gift.id, reason="金额录错")
    assert (c.kind, c.reverses_id, c.quantity, c.value_fen, c.donor, c.note) == (
        "correction", gift.id, 0, -50000, "张三", "金额录错")
    session.refresh(gift)
    assert gift.value_fen == 50000  # the original is never edited
    assert service.balance(session, m).money_fen == 0
    with pytest.raises(Conflict, match="已被冲销"):
        service.reverse_entry(session, actor=county_officer, entry_id=gift.id, reason="再来一次")
    with pytest.raises(Conflict, match="不能再冲销"):
        service.reverse_entry(session, actor=county_officer, entry_id=c.id, reason="撤销冲销")
    with pytest.raises(ValidationError, match="冲销理由"):
        service.reverse_entry(session, actor=county_officer, entry_id=gift.id, reason=" ")
    rows = service.ledger_all(session, user=county_officer, supermarket_id=m.id)
    assert [(r.entry.id, r.reversed_by) for r in rows] == [(gift.id, c.id), (c.id, None)]
    actions = session.execute(select(AuditEvent.action).where(AuditEvent.entity == "charity_ledger")
                              .order_by(AuditEvent.id)).scalars().all()
    assert actions == ["supermarket.donate", "supermarket.reverse"]


def test_a_reversal_that_would_leave_stock_or_money_below_zero_is_refused(session: Session,
                                                                          county_officer: User) -> None:
    m = _market(session, county_officer)
    h = household(session, county_officer)
    rice = service.record_donation(session, actor=county_officer, supermarket_id=m.id, donor="张三", item="大米",
                                   quantity=10, value_fen=50000)
    money = service.record_donation(session, actor=county_officer, supermarket_id=m.id, donor="李四",
                                    money_fen=20000)
    out = service.record_distribution(session, actor=county_officer, supermarket_id=m.id, household_id=h.id,
                                      item="大米", quantity=8, money_fen=15000)
    with pytest.raises(Conflict, match="库存将为 -8"):
        service.reverse_entry(session, actor=county_officer, entry_id=rice.id, reason="捐赠人撤回")
    with pytest.raises(Conflict, match=r"资金余额将为 -150\.00 元"):
        service.reverse_entry(session, actor=county_officer, entry_id=money.id, reason="捐赠人撤回")
    # Undo the distribution first (it puts the goods and money back), then the donations may go.
    for e in out:
        service.reverse_entry(session, actor=county_officer, entry_id=e.id, reason="发错户")
    service.reverse_entry(session, actor=county_officer, entry_id=rice.id, reason="捐赠人撤回")
    service.reverse_entry(session, actor=county_officer, entry_id=money.id, reason="捐赠人撤回")
    b = service.balance(session, m)
    assert (b.money_fen, b.goods, _entries(session)) == (0, [], 8)


def test_the_schema_refuses_rows_the_code_must_never_write(session: Session, county_officer: User) -> None:
    m = _market(session, county_officer)
    h = household(session, county_officer)
    gift = service.record_donation(session, actor=county_officer, supermarket_id=m.id, donor="张三",
                                   money_fen=100)
    service.reverse_entry(session, actor=county_officer, entry_id=gift.id, reason="错")
    base = {"supermarket_id": m.id, "entry_date": date(2012, 5, 1), "actor": "t"}
    bad = [
        {"kind": "gift", "donor": "x", "value_fen": 100},
        {"kind": "donation_money", "donor": None, "value_fen": 100},  # a donation names its donor
        {"kind": "donation_money", "donor": "x", "value_fen": -100},
        {"kind": "donation_goods", "donor": "x", "item": "米", "quantity": -1, "value_fen": 0},
        {"kind": "distribution", "household_id": h.id, "item": "米", "quantity": 1, "value_fen": 0},
        {"kind": "distribution", "household_id": None, "value_fen": -100},
        {"kind": "distribution", "household_id": h.id, "value_fen": 0},  # money row moving nothing
        {"kind": "correction", "value_fen": -100},  # a correction names the entry it reverses
        {"kind": "donation_money", "donor": "x", "value_fen": 100, "reverses_id": gift.id},
        {"kind": "correction", "value_fen": -100, "reverses_id": gift.id},  # reversed twice
    ]
    for row in bad:
        nested = session.begin_nested()
        session.add(CharityLedgerEntry(**{**base, **row}))
        with pytest.raises(IntegrityError):
            session.flush()
        nested.rollback()


# ---- report ----------------------------------------------------------------------------------------

def test_report_counts_new_supermarkets_flows_and_households_per_county(session: Session, county_officer: User,
                                                                        other_county_officer: User,
                                                                        city_admin: User) -> None:
    a = _market(session, county_officer, name="海州甲", opened=date(2012, 3, 1))
    _market(session, county_officer, name="海州乙", opened=date(2012, 9, 1))
    _market(session, county_officer, name="海州丙", opened=date(2011, 6, 1))
    _market(session, other_county_officer, name="赣榆甲", county="320707", opened=date(2012, 4, 1))
    h1, h2, h3 = (household(session, county_officer) for _ in range(3))

    def give(**kw: object) -> CharityLedgerEntry:
        return service.record_donation(session, actor=county_officer, supermarket_id=a.id, donor="张三",
                                       **kw)  # type: ignore[arg-type]

    def hand(hh: int, **kw: object) -> list[CharityLedgerEntry]:
        return service.record_distribution(session, actor=county_officer, supermarket_id=a.id, household_id=hh,
                                           **kw)  # type: ignore[arg-type]

    give(money_fen=100000, entry_date=date(2012, 5, 1))
    give(item="大米", quantity=10, value_fen=50000, entry_date=date(2012, 5, 1))
    wrong = give(money_fen=99900, entry_date=date(2012, 5, 2))
    service.reverse_entry(session, actor=county_officer, entry_id=wrong.id, reason="重复录入")
    hand(h1.id, item="大米", quantity=2, entry_date=date(2012, 6, 1))  # 100 元 of rice
    hand(h1.id, money_fen=20000, entry_date=date(2012, 6, 1))
    hand(h2.id, money_fen=5000, entry_date=date(2012, 7, 1))
    mistaken = hand(h3.id, money_fen=1000, entry_date=date(2012, 7, 1))
    service.reverse_entry(session, actor=county_officer, entry_id=mistaken[0].id, reason="发错户")
    hand(h2.id, money_fen=100, entry_date=date(2013, 1, 2))  # next year

    rep = service.county_report(session, user=county_officer, year=2012)
    assert [c.county_code for c in rep.counties] == ["320706"]
    c = rep.counties[0]
    assert (c.supermarkets, c.opened_in_year, c.status) == (3, 2, "below")
    assert (c.donations_money_fen, c.donations_goods_fen) == (100000, 50000)
    assert (c.distributions_money_fen, c.distributions_goods_fen) == (25000, 10000)
    assert c.households_served == 2  # h3's distribution was reversed

    city = service.county_report(session, user=city_admin, year=2012)
    by_code = {r.county_code: r for r in city.counties}
    assert set(by_code) == {"320703", "320706", "320707", "320722", "320723", "320724"}
    assert (by_code["320707"].supermarkets, by_code["320707"].opened_in_year) == (1, 1)
    assert by_code["320722"].supermarkets == 0 and by_code["320722"].status == "below"
    assert city.totals["supermarkets"] == 4 and city.totals["households_served"] == 2
    assert city.as_json()["target_per_county"] == [10, 20]
    assert service.county_report(session, user=county_officer, year=2013).counties[0].households_served == 1


def test_a_town_officer_reads_the_report_row_of_the_county_they_work_in(session: Session, county_officer: User,
                                                                        other_county_officer: User,
                                                                        town_officer: User) -> None:
    _market(session, county_officer, name="海州甲", opened=date(2012, 3, 1))
    _market(session, other_county_officer, name="赣榆甲", county="320707", opened=date(2012, 4, 1))
    rep = service.county_report(session, user=town_officer, year=2012)
    assert [(c.county_code, c.supermarkets, c.opened_in_year) for c in rep.counties] == [("320706", 1, 1)]
    assert service.list_supermarkets(session, user=town_officer) == []  # the county's records stay the county's


def test_reversing_from_one_supermarkets_page_refuses_another_supermarkets_entry(session: Session,
                                                                               county_officer: User) -> None:
    a = _market(session, county_officer, name="海州甲", opened=date(2012, 3, 1))
    b = _market(session, county_officer, name="海州乙", opened=date(2012, 3, 1))
    gift = service.record_donation(session, actor=county_officer, supermarket_id=b.id, donor="张三",
                                   money_fen=1000, entry_date=date(2012, 5, 1))
    with pytest.raises(ValidationError, match="不属于本超市"):
        service.reverse_entry(session, actor=county_officer, entry_id=gift.id, reason="x", supermarket_id=a.id)
    with pytest.raises(ValidationError, match="台账记录不存在"):
        service.reverse_entry(session, actor=county_officer, entry_id=99_999_999, reason="x", supermarket_id=a.id)


# ---- CLI -------------------------------------------------------------------------------------------

def test_cli_happy_path_add_donate_distribute_reverse_ledger_report(cli) -> None:  # type: ignore[no-untyped-def]
    app, facts = cli
    run = CliRunner().invoke
    r = run(app, ["supermarket", "add", "海州区新海慈善超市", "--county", "320706", "--opened", "2012-03-01",
                  "--address", "新海路8号", "--as", "hz_officer"])
    assert r.exit_code == 0, r.output
    listed = json.loads(run(app, ["supermarket", "list", "--json", "--as", "hz_officer"]).stdout)
    sid = str(listed[0]["id"])
    assert listed[0]["name"] == "海州区新海慈善超市" and listed[0]["county"] == "海州区"
    assert run(app, ["supermarket", "donate", sid, "--donor", "某公司", "--money", "1000",
                     "--as", "hz_officer"]).exit_code == 0
    assert run(app, ["supermarket", "donate", sid, "--donor", "张三", "--item", "大米", "--quantity", "10",
                     "--value", "500", "--as", "hz_officer"]).exit_code == 0
    r = run(app, ["supermarket", "distribute", sid, "--household", str(facts["household_no"]), "--item", "大米",
                  "--quantity", "4", "--as", "hz_officer"])
    assert r.exit_code == 0, r.output
    r = run(app, ["supermarket", "distribute", sid, "--household", str(facts["household_no"]), "--money", "250.5",
                  "--as", "hz_officer"])
    assert r.exit_code == 0, r.output
    ledger = json.loads(run(app, ["supermarket", "ledger", sid, "--json", "--as", "hz_officer"]).stdout)
    assert ledger["balance"]["money_fen"] == 74950
    assert ledger["balance"]["goods"] == [{"item": "大米", "quantity": 6, "value_fen": 30000}]
    last = ledger["entries"][-1]["id"]
    r = run(app, ["supermarket", "reverse", str(last), "--reason", "金额有误", "--as", "hz_officer"])
    assert r.exit_code == 0, r.output
    ledger = json.loads(run(app, ["supermarket", "ledger", sid, "--json"]).stdout)
    assert ledger["balance"]["money_fen"] == 100000 and ledger["entries"][-2]["reversed_by"] == last + 1
    text = run(app, ["supermarket", "ledger", sid]).stdout
    assert "大米" in text and "reverses" in text
    rep = json.loads(run(app, ["supermarket", "report", "--year", "2012", "--json"]).stdout)
    hz = next(c for c in rep["counties"] if c["county_code"] == "320706")
    assert (hz["supermarkets"], hz["opened_in_year"], hz["status"], hz["target"]) == (1, 1, "below", [10, 20])
    assert run(app, ["supermarket", "report", "--year", "2012"]).exit_code == 0


def test_cli_errors_are_one_line_and_exit_1_with_nothing_stored(cli) -> None:  # type: ignore[no-untyped-def]
    app, facts = cli
    run = CliRunner().invoke
    assert run(app, ["supermarket", "add", "甲", "--county", "320706", "--opened", "2012-03-01",
                     "--as", "hz_officer"]).exit_code == 0
    sid = str(json.loads(run(app, ["supermarket", "list", "--json"]).stdout)[0]["id"])
    run(app, ["supermarket", "donate", sid, "--donor", "张三", "--item", "大米", "--quantity", "3", "--value", "90",
              "--as", "hz_officer"])
    r = run(app, ["supermarket", "distribute", sid, "--household", str(facts["household_no"]), "--item", "大米",
                  "--quantity", "5", "--money", "1", "--as", "hz_officer"])
    assert r.exit_code == 1
    assert "「大米」库存不足：现有 3，申请发放 5" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert len(json.loads(run(app, ["supermarket", "ledger", sid, "--json"]).stdout)["entries"]) == 1
    cases = [
        (["supermarket", "donate", sid, "--donor", "x", "--money", "1", "--as", "auditor1"], "不能管理慈善超市"),
        (["supermarket", "donate", sid, "--donor", "x", "--money", "1", "--item", "米"], "either --money"),
        (["supermarket", "donate", "999", "--donor", "x", "--money", "1"], "慈善超市不存在"),
        (["supermarket", "donate", sid, "--donor", "x", "--money", "1.234"], "两位小数"),
        (["supermarket", "add", "乙", "--county", "320706", "--opened", "2012-13-01"], "YYYY-MM-DD"),
        (["supermarket", "distribute", sid, "--household", "NOPE", "--money", "1"], "户不存在"),
        (["supermarket", "reverse", "999", "--reason", "x"], "台账记录不存在"),
        (["supermarket", "list", "--as", "nobody"], "unknown user"),
    ]
    for args, message in cases:
        r = run(app, args)
        assert r.exit_code == 1, (args, r.output)
        assert message in r.stderr and "Traceback" not in r.output, (args, r.stderr)
    assert len(json.loads(run(app, ["supermarket", "ledger", sid, "--json"]).stdout)["entries"]) == 1


# ---- two clerks at once -------------------------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def race_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, committed database (the rolled-back test session cannot show two transactions racing)."""
    with committed_database(request.param, tmp_path, "sm_race") as engine:
        yield engine


def test_two_clerks_handing_out_the_last_stock_at_once_cannot_both_win(race_engine: Engine,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Both read the stock (5) before either writes, unless the supermarket lock makes the second wait."""
    import contextlib
    import threading

    from tests.conftest import make_user

    from minxin.infra import db

    with db.unit_of_work(race_engine) as s:
        officer = make_user(s, username="race_officer", role="county_officer", scope="320706")
        m = _market(s, officer)
        hid = household(s, officer).id
        service.record_donation(s, actor=officer, supermarket_id=m.id, donor="张三", item="大米", quantity=5,
                                value_fen=5000)
        mid = m.id
    barrier = threading.Barrier(2)
    read_stock = service._item_stock

    def stock_then_wait(session: Session, supermarket_id: int, item: str) -> service.ItemStock:
        stock = read_stock(session, supermarket_id, item)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=1.5)  # give the other clerk every chance to read the same stock
        return stock

    monkeypatch.setattr(service, "_item_stock", stock_then_wait)
    results: list[str] = []

    def clerk() -> None:
        try:
            with db.unit_of_work(race_engine) as s:
                actor = s.execute(select(User).where(User.username == "race_officer")).scalar_one()
                service.record_distribution(s, actor=actor, supermarket_id=mid, household_id=hid, item="大米",
                                            quantity=3)
            results.append("ok")
        except Conflict as exc:
            results.append(exc.message)

    threads = [threading.Thread(target=clerk) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results, key=len) == ["ok", "「大米」库存不足：现有 2，申请发放 3 (not enough stock)"]
    with db.unit_of_work(race_engine, write=False) as s:
        market = s.get(CharitySupermarket, mid)
        assert market is not None
        assert service.balance(s, market).stock_of("大米").quantity == 2
