"""`minxin homecare …`: government-purchased home care from the command line — providers and their staff,
orders (create, start, finish, cancel), a person's entitlement. Settlements run as every program's:
`minxin cycle run homecare YYYY-MM`."""

from __future__ import annotations

from datetime import datetime

import typer

from minxin.kit.clikit import AS_OPTION, JSON_OPTION, actor_for, console, fail, out, print_json, work

homecare_app = typer.Typer(help="Government-purchased home care: providers, staff, orders, entitlements.",
                           no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(homecare_app, name="homecare")


def _time(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    from minxin.infra.clock import CHINA_TZ

    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(f"{what} must be a time like 2026-11-05T09:00, not {value!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA_TZ)


def _order_dict(o: object) -> dict[str, object]:
    keys = ("id", "provider_id", "person_id", "service_type", "status", "period", "minutes", "value_fen", "staff_id",
            "scheduled_at", "started_at", "finished_at", "created_by", "settled_cycle_id")
    return {k: getattr(o, k) for k in keys}


@homecare_app.command("provider-add")
def provider_add(name: str = typer.Argument(..., help="The provider's name (unique)."),
                 county: str = typer.Option(..., "--county", help="County code, e.g. 320706."),
                 representative: str = typer.Option(..., "--representative",
                                                    help="ID number of its 负责人 (a registry person)."),
                 account: str = typer.Option(..., "--account", help="Bank account the settlements are paid to."),
                 phone: str = typer.Option(None, "--phone"),
                 credit_code: str = typer.Option(None, "--credit-code", help="统一社会信用代码 (18 characters)."),
                 services: str = typer.Option(None, "--services", help="e.g. 助餐、助洁、助医"),
                 as_user: str = AS_OPTION) -> None:
    """Contract a provider: it gets its `homecare` settlement case, paid to its account."""
    from minxin.eldercare.homecare.service import register_provider

    with work() as session:
        p = register_provider(session, actor=actor_for(session, as_user), name=name, county_code=county,
                              contact_id_number=representative, phone=phone, bank_account=account,
                              credit_code=credit_code, services=services)
        console.print(f"provider {p.id}: {p.name} ({p.county_code}), settlement case {p.case_id}")


@homecare_app.command("providers")
def providers(q: str = typer.Option("", "--q", help="Part of the name."), page: int = typer.Option(1, "--page", min=1),
              as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """The providers of the user's county (the city: every county)."""
    from minxin.eldercare.homecare.service import list_providers

    with work(write=False) as session:
        found = list_providers(session, user=actor_for(session, as_user), q=q, page=page, page_size=50)
        rows = [{"id": p.id, "name": p.name, "county": p.county_code, "active": p.is_active, "case_id": p.case_id}
                for p in found.items]
    if as_json:
        print_json({"items": rows, "total": found.total, "page": found.page})
        return
    for r in rows:
        out.print(f"{r['id']:>6} {r['county']} {'在约' if r['active'] else '停用'} {r['name']}", highlight=False)
    console.print(f"{found.total} provider(s)")


@homecare_app.command("staff-add")
def staff_add(provider_id: int = typer.Argument(..., min=1), name: str = typer.Argument(...),
              phone: str = typer.Option(None, "--phone"), qualification: str = typer.Option(None, "--qualification"),
              as_user: str = AS_OPTION) -> None:
    """Register a care worker of a provider."""
    from minxin.eldercare.homecare.service import add_staff

    with work() as session:
        s = add_staff(session, actor=actor_for(session, as_user), provider_id=provider_id, name=name, phone=phone,
                      qualification=qualification)
        console.print(f"staff {s.id}: {s.name}")


@homecare_app.command("order-add")
def order_add(provider_id: int = typer.Argument(..., min=1), person_id: int = typer.Argument(..., min=1),
              service_type: str = typer.Option(..., "--type", help="助餐、助浴、助洁、助医 …"),
              scheduled: str = typer.Option(..., "--at", help="Scheduled time, e.g. 2026-11-05T09:00 (Shanghai)."),
              minutes: int = typer.Option(..., "--minutes", help="Service length; value = minutes × hourly price."),
              staff_id: int = typer.Option(None, "--staff", min=1), note: str = typer.Option(None, "--note"),
              as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """Order a service for an eligible person, drawn on the month's entitlement (refused beyond it)."""
    from minxin.eldercare.homecare.service import create_order

    when = _time(scheduled, "--at")
    assert when is not None
    with work() as session:
        o = create_order(session, actor=actor_for(session, as_user), provider_id=provider_id, person_id=person_id,
                         service_type=service_type, scheduled_at=when, minutes=minutes, staff_id=staff_id, note=note)
        data = _order_dict(o)
    if as_json:
        print_json(data)
    else:
        console.print(f"order {data['id']}: {data['period']} {data['value_fen']} fen")


def _step(action: str, order_id: int, at: str | None, reason: str | None, as_user: str) -> None:
    from minxin.eldercare.homecare import service as svc

    with work() as session:
        actor = actor_for(session, as_user)
        if action == "start":
            o = svc.start_order(session, actor=actor, order_id=order_id, at=_time(at, "--at"))
        elif action == "finish":
            o = svc.finish_order(session, actor=actor, order_id=order_id, at=_time(at, "--at"))
        else:
            o = svc.cancel_order(session, actor=actor, order_id=order_id, reason=reason or "")
        console.print(f"order {o.id}: {o.status}")


@homecare_app.command("order-start")
def order_start(order_id: int = typer.Argument(..., min=1), at: str = typer.Option(None, "--at"),
                as_user: str = AS_OPTION) -> None:
    """The worker started (default: now)."""
    _step("start", order_id, at, None, as_user)


@homecare_app.command("order-finish")
def order_finish(order_id: int = typer.Argument(..., min=1), at: str = typer.Option(None, "--at"),
                 as_user: str = AS_OPTION) -> None:
    """The service finished (default: now); never before it started."""
    _step("finish", order_id, at, None, as_user)


@homecare_app.command("order-cancel")
def order_cancel(order_id: int = typer.Argument(..., min=1), reason: str = typer.Option(..., "--reason"),
                 as_user: str = AS_OPTION) -> None:
    """Cancel an order not started; its value returns to the month's entitlement."""
    _step("cancel", order_id, None, reason, as_user)


@homecare_app.command("orders")
def orders(provider_id: int = typer.Option(None, "--provider", min=1), period: str = typer.Option(None, "--month"),
           status: str = typer.Option(None, "--status"), page: int = typer.Option(1, "--page", min=1),
           as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """Orders of the persons in the user's region, newest first (50 a page)."""
    from minxin.eldercare.homecare.service import list_orders

    with work(write=False) as session:
        found = list_orders(session, user=actor_for(session, as_user), provider_id=provider_id, period=period,
                            status=status, page=page, page_size=50)
        rows = [_order_dict(o) for o, _, _ in found.items]
    if as_json:
        print_json({"items": rows, "total": found.total, "page": found.page})
        return
    for r in rows:
        out.print(f"{r['id']:>7} {r['period']} {r['status']:<9} {r['value_fen']:>7} {r['service_type']}",
                  highlight=False)
    console.print(f"{found.total} order(s)")


@homecare_app.command("entitlement")
def entitlement(person_id: int = typer.Argument(..., min=1), period: str = typer.Option(None, "--month"),
                as_json: bool = JSON_OPTION, as_user: str = AS_OPTION) -> None:
    """A person's standing for a month: eligible and why, the voucher value, used and left (fen)."""
    from minxin.core.period import Period
    from minxin.eldercare.homecare.service import entitlement_for

    with work(write=False) as session:
        e = entitlement_for(session, actor_for(session, as_user), person_id,
                            period=Period.parse(period) if period else None)
        data = {"person_id": e.person.id, "period": str(e.period), "eligible": e.eligible, "reasons": e.reasons,
                "care_level": e.care_level, "limit_fen": e.limit_fen, "used_fen": e.used_fen, "left_fen": e.left_fen}
    if as_json:
        print_json(data)
    else:
        out.print(f"{data['period']} {'eligible: ' + '、'.join(e.reasons) if e.eligible else 'not eligible'} "
                  f"limit {e.limit_fen} used {e.used_fen} left {e.left_fen} (fen)", highlight=False)
