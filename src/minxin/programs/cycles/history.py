"""A case's payment history and the parts of its lines as people read them (regular, 补发, 重发), each
explained from the facts stored on the line by the calculator that wrote them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, select, tuple_
from sqlalchemy.orm import Session

from minxin.programs.calculator import LineFacts, explain_line
from minxin.programs.models import Case, Cycle, FailedPayment, Payment
from minxin.programs.rules import describe_months, explain_arrears, explain_carryover


def payments_of_case(session: Session, case_id: int) -> list[tuple[Payment, Cycle]]:
    """A case's lines, newest first: one key look-up per cycle of its program."""
    program = select(Case.program_code).where(Case.id == case_id).scalar_subquery()
    return list(session.execute(
        select(Payment, Cycle).select_from(Cycle)
        .join(Payment, and_(Payment.cycle_id == Cycle.id, Payment.case_id == case_id))
        .where(Cycle.program_code == program)
        .order_by(Cycle.period.desc(), Payment.seq)).all())


@dataclass(frozen=True)
class PaymentItem:
    """One part of a payment line as people read it: regular, arrears (补发) or carry-over (重发)."""

    kind: str
    for_period: str
    amount_fen: int
    explanation: str


def carried_sources(session: Session, lines: Iterable[Payment]) -> dict[tuple[int, int], list[str]]:
    """For lines with a carry-over part: the periods of the failed payments they pay again."""
    keys = {(p.cycle_id, p.case_id) for p in lines if p.carryover_fen}
    out: dict[tuple[int, int], list[str]] = defaultdict(list)
    if not keys:
        return out
    rows = session.execute(
        select(FailedPayment.carried_into, FailedPayment.case_id, Cycle.period)
        .join(Cycle, Cycle.id == FailedPayment.cycle_id)
        .where(tuple_(FailedPayment.carried_into, FailedPayment.case_id).in_(sorted(keys)))
        .order_by(Cycle.period).distinct())
    for into, case_id, period in rows:
        if into is not None:
            out[(int(into), int(case_id))].append(str(period))
    return out


def _persons(counts: Iterable[int | None]) -> int:
    return sum(c or 0 for c in counts)


def regular_facts(p: Payment, period: str = "") -> LineFacts:
    """The facts of a line's regular part."""
    return LineFacts(rule=p.rule or "", standard_fen=p.standard_fen or 0, income_fen=p.income_fen or 0,
                     members=p.members or 1, units=p.units or 1, addon_fen=p.addon_fen or 0,
                     addon_persons=_persons((p.n_elderly, p.n_minor, p.n_disabled, p.n_ill)) if p.addon_fen else 0,
                     period=period, category=p.category or "")


def arrears_facts(p: Payment) -> LineFacts:
    """The facts of a line's arrears part: its own where it has them, else the regular part's."""
    if p.arrears_rule is None:  # the arrears rest on the line's regular facts
        return regular_facts(p)
    return LineFacts(rule=p.arrears_rule, standard_fen=p.arrears_standard_fen or 0,
                     income_fen=p.arrears_income_fen or 0, members=p.arrears_members or 1,
                     units=p.arrears_units or 1, addon_fen=p.arrears_addon_fen or 0,
                     addon_persons=_persons((p.arrears_n_elderly, p.arrears_n_minor, p.arrears_n_disabled,
                                             p.arrears_n_ill)) if p.arrears_addon_fen else 0,
                     category=p.category or "")


def payment_items(p: Payment, *, period: str, carried_from: list[str] | None = None) -> list[PaymentItem]:
    """The parts of a line (period = its cycle's), each with its explanation from the facts stored on it."""
    items: list[PaymentItem] = []
    if p.regular_fen and p.rule is not None:
        items.append(PaymentItem("regular", period, p.regular_fen, explain_line(regular_facts(p, period),
                                                                                p.regular_fen)))
    if p.arrears_fen and p.arrears_from and p.arrears_mask:
        items.append(PaymentItem("arrears", describe_months(p.arrears_from, p.arrears_mask), p.arrears_fen,
                                 explain_arrears(first=p.arrears_from, mask=p.arrears_mask,
                                                 months=p.arrears_months or 1, facts=arrears_facts(p),
                                                 paid_fen=p.arrears_paid_fen or 0, amount_fen=p.arrears_fen)))
    if p.carryover_fen:
        sources = carried_from or []
        items.append(PaymentItem("carryover", "、".join(sources) or period, p.carryover_fen,
                                 explain_carryover(periods=sources, amount_fen=p.carryover_fen)))
    return items


def explain_payment(p: Payment, *, carried_from: list[str] | None = None) -> str:
    """A line's explanation: its parts' explanations, joined ("(460−100)×3 = 1080；补发 …")."""
    return "；".join(i.explanation for i in payment_items(p, period="", carried_from=carried_from))


def items_of_lines(session: Session, rows: list[tuple[Payment, str]]) -> list[tuple[PaymentItem, Payment]]:
    """(line, its cycle's period) pairs as display rows: one per part, each with its line (status, note)."""
    sources = carried_sources(session, [p for p, _ in rows])
    return [(item, p) for p, period in rows
            for item in payment_items(p, period=period, carried_from=sources.get((p.cycle_id, p.case_id)))]


def case_payment_items(session: Session, case_id: int) -> list[tuple[PaymentItem, Payment, Cycle]]:
    """A case's payment history, newest first: one row per part of each line, with its line and cycle."""
    lines = payments_of_case(session, case_id)
    cycles = {p.cycle_id: c for p, c in lines}
    rows = items_of_lines(session, [(p, c.period) for p, c in lines])
    return [(item, p, cycles[p.cycle_id]) for item, p in rows]
