"""`minxin supermarket …`: charity supermarkets (慈善超市) and their ledger on the command line."""

from __future__ import annotations

from datetime import date
from typing import Any

import typer

from minxin.core.money import format_yuan, format_yuan_display, parse_yuan
from minxin.kit.clikit import AS_OPTION, JSON_OPTION, actor_for, console, fail, out, print_json, work

supermarket_app = typer.Typer(help="Charity supermarkets (慈善超市): donations, distributions, report.",
                              no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(supermarket_app, name="supermarket")


def _date(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        fail(f"{what} must be a date YYYY-MM-DD, not {value!r}")


@supermarket_app.command("add")
def add(
    name: str = typer.Argument(..., help="The supermarket's name (unique in the city)."),
    county: str = typer.Option(..., "--county", help="County code, e.g. 320706."),
    opened: str = typer.Option(..., "--opened", help="Opening date YYYY-MM-DD."),
    address: str = typer.Option(None, "--address"),
    as_user: str = AS_OPTION,
) -> None:
    """Register a charity supermarket of a county."""
    from minxin.assistance.supermarkets.service import add_supermarket

    day = _date(opened, "--opened")
    assert day is not None
    with work() as session:
        actor = actor_for(session, as_user)
        market = add_supermarket(session, actor=actor, name=name, county_code=county, opened_on=day,
                                 address=address)
        console.print(f"supermarket {market.id}: {market.name} ({market.county_code}), opened {market.opened_on}")


@supermarket_app.command("list")
def list_cmd(as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """List the supermarkets in scope with their money balance and goods value."""
    from minxin.assistance.supermarkets.service import list_supermarkets, totals_of
    from minxin.registry.service import region_names

    with work(write=False) as session:
        user = actor_for(session, as_user)
        markets = list_supermarkets(session, user=user)
        names = region_names(session, {m.county_code for m in markets})
        totals = totals_of(session, [m.id for m in markets])
        rows: list[dict[str, Any]] = []
        for m in markets:
            b = totals[m.id]
            rows.append({"id": m.id, "name": m.name, "county_code": m.county_code,
                         "county": names.get(m.county_code, m.county_code), "address": m.address,
                         "opened_on": m.opened_on.isoformat(), "is_active": m.is_active,
                         "money_fen": b.money_fen, "goods_value_fen": b.goods_value_fen,
                         "total_value_fen": b.total_value_fen})
    if as_json:
        print_json(rows)
        return
    for r in rows:
        out.print(f"{r['id']:>5} {r['county']:<6} {r['name']:<24} opened {r['opened_on']}  "
                  f"money {format_yuan_display(r['money_fen']):>12}  "
                  f"goods {format_yuan_display(r['goods_value_fen']):>12}"
                  f"{'' if r['is_active'] else '  (inactive)'}", highlight=False)


@supermarket_app.command("donate")
def donate(
    supermarket_id: int = typer.Argument(..., metavar="ID"),
    donor: str = typer.Option(..., "--donor", help="Who gave it (person or organisation)."),
    money: str = typer.Option(None, "--money", help="A money donation, in yuan."),
    item: str = typer.Option(None, "--item", help="Goods: the item's name."),
    quantity: int = typer.Option(None, "--quantity", help="Goods: number of units."),
    value: str = typer.Option(None, "--value", help="Goods: their total value, in yuan."),
    when: str = typer.Option(None, "--date", help="Entry date YYYY-MM-DD (default today)."),
    note: str = typer.Option(None, "--note"),
    as_user: str = AS_OPTION,
) -> None:
    """Book a donation: --money YUAN, or --item NAME --quantity N --value YUAN."""
    from minxin.assistance.supermarkets.service import record_donation

    if (money is None) == (item is None):
        fail("give either --money, or --item with --quantity and --value")
    if item is not None and (quantity is None or value is None):
        fail("a goods donation needs --quantity and --value")
    day = _date(when, "--date")
    with work() as session:
        actor = actor_for(session, as_user)
        entry = record_donation(
            session, actor=actor, supermarket_id=supermarket_id, donor=donor,
            money_fen=parse_yuan(money, field="--money") if money is not None else None,
            item=item, quantity=quantity, value_fen=parse_yuan(value, field="--value") if value is not None else None,
            entry_date=day, note=note)
        what = (f"{entry.item} × {entry.quantity} ({format_yuan(entry.value_fen)} 元)" if entry.item
                else f"{format_yuan(entry.value_fen)} 元")
        console.print(f"entry {entry.id}: donation from {entry.donor}: {what}")


@supermarket_app.command("distribute")
def distribute(
    supermarket_id: int = typer.Argument(..., metavar="ID"),
    household: str = typer.Option(..., "--household", help="The household number (户编号)."),
    money: str = typer.Option(None, "--money", help="Money handed out, in yuan."),
    item: str = typer.Option(None, "--item", help="Goods: the item's name."),
    quantity: int = typer.Option(None, "--quantity", help="Goods: number of units."),
    when: str = typer.Option(None, "--date", help="Entry date YYYY-MM-DD (default today)."),
    note: str = typer.Option(None, "--note"),
    as_user: str = AS_OPTION,
) -> None:
    """Hand out goods (--item NAME --quantity N) and/or money (--money YUAN) to a household; never beyond stock."""
    from minxin.assistance.supermarkets.service import household_by_no, record_distribution

    if money is None and item is None:
        fail("give --money, or --item with --quantity")
    if item is not None and quantity is None:
        fail("goods need --quantity")
    day = _date(when, "--date")
    with work() as session:
        actor = actor_for(session, as_user)
        hh = household_by_no(session, user=actor, household_no=household)
        entries = record_distribution(
            session, actor=actor, supermarket_id=supermarket_id, household_id=hh.id, item=item, quantity=quantity,
            money_fen=parse_yuan(money, field="--money") if money is not None else None, entry_date=day, note=note)
        for e in entries:
            what = f"{e.item} × {-e.quantity}" if e.item else f"{format_yuan(-e.value_fen)} 元"
            console.print(f"entry {e.id}: distributed to {hh.household_no}: {what}")


@supermarket_app.command("reverse")
def reverse(
    entry_id: int = typer.Argument(..., metavar="ENTRY_ID"),
    reason: str = typer.Option(..., "--reason", help="Why the entry is wrong (kept in the ledger)."),
    as_user: str = AS_OPTION,
) -> None:
    """Reverse a ledger entry with an opposite correction (once; never below zero stock or balance)."""
    from minxin.assistance.supermarkets.service import reverse_entry

    with work() as session:
        actor = actor_for(session, as_user)
        c = reverse_entry(session, actor=actor, entry_id=entry_id, reason=reason)
        console.print(f"entry {c.id}: reverses entry {c.reverses_id}")


@supermarket_app.command("ledger")
def ledger(supermarket_id: int = typer.Argument(..., metavar="ID"), as_json: bool = JSON_OPTION,
           as_user: str = AS_OPTION) -> None:
    """Print a supermarket's balance and its whole ledger, oldest first."""
    from minxin.assistance.supermarkets.service import balance, get_supermarket_for, ledger_all

    with work(write=False) as session:
        user = actor_for(session, as_user)
        market = get_supermarket_for(session, user, supermarket_id)
        b = balance(session, market)
        rows = ledger_all(session, user=user, supermarket_id=market.id)
        data: dict[str, Any] = {
            "id": market.id, "name": market.name, "county_code": market.county_code,
            "balance": {"money_fen": b.money_fen, "goods_value_fen": b.goods_value_fen,
                        "total_value_fen": b.total_value_fen,
                        "goods": [{"item": g.item, "quantity": g.quantity, "value_fen": g.value_fen} for g in b.goods]},
            "entries": [{"id": r.entry.id, "date": r.entry.entry_date.isoformat(), "kind": r.entry.kind,
                         "donor": r.entry.donor, "household_no": r.household_no, "item": r.entry.item,
                         "quantity": r.entry.quantity, "value_fen": r.entry.value_fen,
                         "reverses_id": r.entry.reverses_id, "reversed_by": r.reversed_by, "note": r.entry.note,
                         "actor": r.entry.actor} for r in rows],
        }
    if as_json:
        print_json(data)
        return
    bal = data["balance"]
    out.print(f"{market.id} {market.name}: money {format_yuan_display(bal['money_fen'])} 元, "
              f"goods {format_yuan_display(bal['goods_value_fen'])} 元", highlight=False)
    for g in bal["goods"]:
        out.print(f"  {g['item']:<16} {g['quantity']:>8}  {format_yuan_display(g['value_fen']):>12}", highlight=False)
    for e in data["entries"]:
        what = f"{e['item']} {e['quantity']:+d}" if e["item"] else "money"
        who = e["donor"] or e["household_no"] or ""
        flag = f" reverses {e['reverses_id']}" if e["reverses_id"] else (
            f" (reversed by {e['reversed_by']})" if e["reversed_by"] else "")
        out.print(f"{e['id']:>6} {e['date']} {e['kind']:<15} {who:<16} {what:<20} "
                  f"{format_yuan(e['value_fen']):>12}{flag}", highlight=False)


@supermarket_app.command("report")
def report(year: int = typer.Option(None, "--year", help="Default: this year."), as_json: bool = JSON_OPTION,
           as_user: str = AS_OPTION) -> None:
    """Per county: supermarkets, opened this year vs the plan's 10–20, donations, distributions, households."""
    from minxin.assistance.supermarkets.rules import TARGET_STATUS_NAMES
    from minxin.assistance.supermarkets.service import county_report

    with work(write=False) as session:
        user = actor_for(session, as_user)
        rep = county_report(session, user=user, year=year)
    if as_json:
        print_json(rep.as_json())
        return
    out.print(f"charity supermarkets {rep.year} (target: 10–20 new per county)", highlight=False)
    for c in rep.counties:
        out.print(f"  {c.county_code} {c.name:<6} supermarkets {c.supermarkets:>4}  new {c.opened_in_year:>3} "
                  f"[{TARGET_STATUS_NAMES[c.status]}]  in {format_yuan_display(c.donations_fen):>12}  "
                  f"out {format_yuan_display(c.distributions_fen):>12}  households {c.households_served:>5}",
                  highlight=False)
