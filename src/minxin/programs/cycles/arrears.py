"""Arrears (补发): what a back-dated standard adds to months already paid, in the next cycle.

The natural growth mechanism (plan P2, P21): a standard dated in the past reaches the approved or
exported cycles of its months; the next run pays each case the difference for exactly the months
it was paid, computed from the facts stored on each original line by the program's calculator
(`month_terms`). A calculator that offers a one-pass check (`fast_select`) settles the cases whose
months all agree with today's facts in the same pass that computes the period.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from minxin.core.period import Period
from minxin.infra.db import UTCDateTime, is_sqlite
from minxin.programs.calculator import Calculator, MonthRefs
from minxin.programs.cycles.scratch import (
    ISLAND,
    LINE_COLUMNS,
    NO_REGULAR,
    analyze,
    bulk_reads,
    county_bounds,
    dated,
    fence,
    run_sql,
)
from minxin.programs.models import Cycle, Program, Standard
from minxin.programs.rules import MAX_ARREARS_MONTHS

# An arrears run with up to this many earlier cycles reached checks each case in one pass (see
# fast_arrears); more, or a second raise over months that already had arrears, take the general
# month-by-month computation for every case.
FAST_ARREARS_CYCLES = 12


def _relevant_cycles(program: Program, county: str, city: str) -> list[object]:
    """The cycles whose lines a county's run builds on: its own, and the city-wide ones of before."""
    return [Cycle.program_code == program.code, Cycle.county_code.in_((county, city))]


def cycles_needing_arrears(session: Session, *, program: Program, calc: Calculator, county: str, city: str,
                           period: Period) -> list[Cycle]:
    """Earlier paid cycles of the county that a standard added since its last paid run reaches back into.

    A standard counts when it applies in the county: set for the county, a region inside it, or one
    of its ancestors (the city)."""
    if not calc.uses_standards:
        return []  # amounts assessed elsewhere: a standard cannot raise them afterwards
    where = _relevant_cycles(program, county, city)
    baseline = session.execute(select(func.max(Cycle.computed_at)).where(
        *where, Cycle.status != "draft", Cycle.period < str(period))).scalar()  # type: ignore[arg-type]
    if baseline is None:
        return []
    lo, hi = county_bounds(county)
    dates = [effective for region, effective in session.execute(
        select(Standard.region_code, Standard.effective_from).where(
            Standard.program_code == program.code, Standard.created_at > baseline))
        if lo <= region < hi or lo.startswith(_prefix(region))]
    if not dates:
        return []
    return list(session.execute(select(Cycle).where(
        *where, Cycle.status.in_(("approved", "exported")), Cycle.period < str(period),  # type: ignore[arg-type]
        Cycle.period >= str(Period.of(min(dates)))).order_by(Cycle.period)).scalars())


def _prefix(region: str) -> str:
    from minxin.core.divisions import scope_prefix

    return scope_prefix(region)


def offsets(past: list[Cycle]) -> list[tuple[int, int]]:
    """(cycle id, months after the first) of the reached cycles, oldest first."""
    first = Period.parse(past[0].period)
    return [(c.id, first.months_until(Period.parse(c.period))) for c in past]


_MONTH_INDEX = "(CAST(substr({p}, 1, 4) AS INTEGER) * 12 + CAST(substr({p}, 6, 2) AS INTEGER) - 1)"


def reach(session: Session, *, cycle: Cycle, program: Program, past: list[Cycle], city: str) -> bool:
    """Fill mx_per with the reached cycles and mx_prev with arrears later cycles of the county already paid
    for their months; True when there are such (a second raise over the same months)."""
    if not past:
        return False
    first = Period.parse(past[0].period)
    session.execute(text("INSERT INTO mx_per (cycle_id, period, idx, off) VALUES (:c, :p, :i, :o)"),
                    [{"c": cycle_id, "p": str(first.add(off)), "i": first.index + off, "o": off}
                     for cycle_id, off in offsets(past)])
    analyze(session, "mx_per")
    later = [int(r[0]) for r in session.execute(text(
        "SELECT id FROM cycles WHERE program_code = :p AND county_code IN (:county, :city) AND status <> 'draft' "
        "AND arrears_fen > 0 AND period > :first AND id <> :c"),
        {"p": program.code, "first": str(first), "c": cycle.id, "county": cycle.county_code, "city": city})]
    if not later:
        return False
    lo, hi = county_bounds(cycle.county_code)
    k = f"(x.idx - {_MONTH_INDEX.format(p='a.arrears_from')})"
    session.execute(text(f"""
INSERT INTO mx_prev (case_id, off, paid)
SELECT a.case_id, x.off, SUM(a.arrears_fen / a.arrears_months)
FROM payments a JOIN mx_per x ON {k} >= 0 AND {k} < 63 AND (a.arrears_mask >> {k}) & 1 = 1
WHERE a.cycle_id IN :later AND a.arrears_fen > 0 AND a.region_code >= :lo AND a.region_code < :hi
GROUP BY a.case_id, x.off
""").bindparams(bindparam("later", expanding=True)), {"later": later, "lo": lo, "hi": hi})
    analyze(session, "mx_prev")
    return True


def fast_arrears(session: Session, *, cycle: Cycle, calc: Calculator, params: dict[str, object], period: Period,
                 past: list[Cycle]) -> None:
    """The regular lines of an arrears run, with the arrears of every case whose months agree, in one pass.

    1. Each active case is read with its line in each reached cycle (a primary-key look-up per
       cycle, no grouping). A case paid in every reached month, the same amount each, on its facts
       of now, whose standard now in force for each of those months is the period's own, is owed
       today's regular amount for each: its arrears are (amount − paid) × months, one part with all
       the months in its mask, resting on the line's own regular facts (its arrears facts columns
       stay empty). The calculator's `fast_select` says which cases agree (column `paid`).
    2. Every other case that had a line in a reached month is marked todo (its line carries
       arrears_months = 0 until finish_arrears), together with the program's cases of the county not
       active now whose status changed after the first reached cycle was computed; arrears_groups
       works out their arrears month by month (a month not paid, or paid differently, is its own
       group there).
    """
    first = Period.parse(past[0].period)
    reached = offsets(past)
    fenced = fence(session)
    mask = sum(1 << off for _, off in reached)
    # SQLite would look a line up through the case index and then the table; the key is one search.
    by_pk = " INDEXED BY sqlite_autoindex_payments_1" if is_sqlite(session) else ""
    source = calc.fast_select(run_sql(session), reached, by_pk)

    def when_due(col: str) -> str:
        return f"CASE WHEN w.arrears > 0 THEN {col} END"

    # A todo case (paid = -2) is written with the mark arrears_months = 0 (and no arrears), even
    # with nothing to pay now: arrears_groups takes it up, and finish_arrears clears the mark.
    with bulk_reads(session):
        session.execute(dated(text(f"""
INSERT INTO payments ({LINE_COLUMNS})
SELECT :c, w.case_id, 0, w.region_code, w.amount + w.arrears, w.amount, w.category, w.rule, w.standard_fen,
       w.standard_id, w.income_fen, w.members, w.units, w.addon_fen, w.n_elderly, w.n_minor, w.n_disabled, w.n_ill,
       w.arrears, {when_due(f"'{first}'")}, {when_due(str(mask))},
       CASE WHEN w.arrears > 0 THEN {len(reached)} WHEN w.paid = -2 THEN 0 END,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, {when_due("w.paid")}, 0, 'pending'
FROM (
  SELECT v.*, CASE WHEN v.paid >= 0 AND v.amount > v.paid THEN (v.amount - v.paid) * {len(reached)} ELSE 0 END
         AS arrears
  FROM ({source}
  ) v{fenced}
) w
WHERE w.amount > 0 OR w.paid = -2
"""), calc), params)
    marked = " INDEXED BY ix_payments_unsettled" if is_sqlite(session) else ""  # the marked few, not the cycle
    session.execute(text(
        f"INSERT INTO mx_todo (case_id) SELECT case_id FROM payments{marked} WHERE cycle_id = :c AND seq = 0 "
        "AND arrears_months = 0"), {"c": cycle.id})
    since = min(c.computed_at for c in past if c.computed_at is not None)
    lo, hi = county_bounds(cycle.county_code)
    # Found through the (program, updated_at) and (program, end_period) indexes: the few cases changed or
    # ended since, never a walk over the program's cases (which every county's run would repeat).
    not_now = ("c.region_code >= :lo AND c.region_code < :hi AND NOT (c.status = 'active' AND c.start_period <= "
               ":period AND (c.end_period IS NULL OR c.end_period >= :period))")
    session.execute(text(f"""
INSERT INTO mx_todo (case_id)
SELECT c.id FROM cases c WHERE c.program_code = :p AND c.updated_at >= :since AND {not_now}
UNION
SELECT c.id FROM cases c WHERE c.program_code = :p AND c.end_period >= :first AND {not_now}
""").bindparams(bindparam("since", type_=UTCDateTime())),
        {"p": cycle.program_code, "period": str(period), "since": since, "first": str(first), "lo": lo, "hi": hi})
    analyze(session, "mx_todo")


def finish_arrears(session: Session, *, cycle: Cycle) -> None:
    """Clear the marks fast_arrears left on the lines of the cases it could not settle: a line that got
    no arrears loses the mark, one with nothing to pay at all goes."""
    session.execute(text(
        "DELETE FROM payments WHERE cycle_id = :c AND seq = 0 AND amount_fen = 0 "
        "AND case_id IN (SELECT case_id FROM mx_todo)"), {"c": cycle.id})
    session.execute(text(
        "UPDATE payments SET arrears_months = NULL WHERE cycle_id = :c AND seq = 0 AND arrears_months = 0 "
        "AND case_id IN (SELECT case_id FROM mx_todo)"), {"c": cycle.id})


def fold_arrears(session: Session, *, cycle: Cycle) -> None:
    """The first arrears group of a todo case rides on its regular line, where it has one.

    Driven by the groups (a few): each is a key look-up of its line, never a walk over the cycle."""
    session.execute(text("""
UPDATE payments SET (amount_fen, arrears_fen, arrears_from, arrears_mask, arrears_months, arrears_rule,
                     arrears_standard_fen, arrears_standard_id, arrears_income_fen, arrears_members, arrears_units,
                     arrears_addon_fen, arrears_n_elderly, arrears_n_minor, arrears_n_disabled, arrears_n_ill,
                     arrears_paid_fen) = (
  SELECT payments.amount_fen + i.arrears_fen, i.arrears_fen, i.arrears_from, i.arrears_mask, i.arrears_months,
         i.rule, i.standard_fen, i.standard_id, i.income_fen, i.members, i.units, i.addon_fen, i.n_elderly,
         i.n_minor, i.n_disabled, i.n_ill, i.paid_fen
  FROM mx_isl i WHERE i.case_id = payments.case_id AND i.rank = 0)
WHERE cycle_id = :c AND seq = 0 AND case_id IN (SELECT case_id FROM mx_isl WHERE rank = 0)
"""), {"c": cycle.id})


def insert_unfolded_arrears(session: Session, *, cycle: Cycle) -> None:
    """Arrears groups no regular line took along: further groups of a case, and cases not paid this month."""
    # Two statements, so that each is a plain join: `rank > 0 OR NOT EXISTS …` would have PostgreSQL
    # hash every line of the cycle to answer the NOT EXISTS.
    for which in ("i.rank > 0", "i.rank = 0 AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.cycle_id = :c "
                  "AND p.case_id = i.case_id AND p.seq = 0)"):
        session.execute(text(f"""
INSERT INTO payments ({LINE_COLUMNS})
SELECT :c, i.case_id, i.rank, c.region_code, i.arrears_fen, {NO_REGULAR}, {ISLAND}, 0, 'pending'
FROM mx_isl i JOIN cases c ON c.id = i.case_id
WHERE {which}
"""), {"c": cycle.id})


def arrears_groups(session: Session, *, cycle: Cycle, calc: Calculator, later: bool, only_todo: bool) -> bool:
    """Fill mx_isl with the arrears due now, month by month; False when there are none.

    1. For each regular line of the county in a reached cycle (of the todo cases only, with
       only_todo): the amount due under the standard now in force, from the facts stored on the line
       (the calculator's month_terms); minus what was paid for that month (the line's regular amount
       and any arrears since).
    2. Months of a case with the same facts, standard and amount paid form one group: its months as
       a bit mask, its amount the per-month difference times the months (groups never span more than
       MAX_ARREARS_MONTHS, so the mask fits 63 bits).
    3. A case's groups are ranked by their first month: rank 0 rides on the case's regular line.
    """
    terms = calc.month_terms(MonthRefs(line="r", std="s", period="x.period"))
    if terms is None:
        return False
    base, rule, addon = terms
    prev_join = "LEFT JOIN mx_prev q ON q.case_id = r.case_id AND q.off = x.off" if later else ""
    prev_paid = "COALESCE(q.paid, 0)" if later else "0"
    chunk, fenced = MAX_ARREARS_MONTHS, fence(session)
    # The todo cases drive the look-ups (a few), or every line of the county in the reached cycles is read.
    source = ("FROM mx_todo t CROSS JOIN mx_per x CROSS JOIN payments r" if only_todo
              else "FROM mx_per x CROSS JOIN payments r")
    match = "r.cycle_id = x.cycle_id AND r.case_id = t.case_id AND r.seq = 0" if only_todo \
        else "r.cycle_id = x.cycle_id AND r.region_code >= :lo AND r.region_code < :hi"
    lo, hi = county_bounds(cycle.county_code)
    # SUM of distinct powers of two is their OR; shifted down so bit 0 is the group's first month.
    session.execute(text(f"""
INSERT INTO mx_isl (case_id, rank, arrears_fen, arrears_from, arrears_mask, arrears_months, rule, standard_fen,
                    standard_id, income_fen, members, units, addon_fen, n_elderly, n_minor, n_disabled, n_ill,
                    paid_fen)
SELECT z.case_id, ROW_NUMBER() OVER (PARTITION BY z.case_id ORDER BY z.lo) - 1, (z.entitled - z.paid) * z.months,
       f.period, z.bits / (CAST(1 AS BIGINT) << (z.lo % {chunk})), z.months, z.rule, z.standard_fen, z.standard_id,
       z.income_fen, z.members, z.units, z.addon_fen, z.n_elderly, z.n_minor, z.n_disabled, z.n_ill, z.paid
FROM (
  SELECT g.case_id AS case_id, MIN(g.off) AS lo, CAST(SUM(CAST(1 AS BIGINT) << (g.off % {chunk})) AS BIGINT) AS bits,
         COUNT(*) AS months, g.rule AS rule, g.standard_fen AS standard_fen, g.standard_id AS standard_id,
         g.income_fen AS income_fen, g.members AS members, g.units AS units, g.addon_fen AS addon_fen,
         g.n_elderly AS n_elderly, g.n_minor AS n_minor, g.n_disabled AS n_disabled, g.n_ill AS n_ill, g.paid AS paid,
         g.entitled AS entitled
  FROM (
    SELECT y.case_id AS case_id, y.off AS off, y.rule AS rule, y.standard_fen AS standard_fen,
           y.standard_id AS standard_id, y.income_fen AS income_fen, y.members AS members, y.units AS units,
           CASE WHEN y.base > 0 THEN y.addon ELSE 0 END AS addon_fen, y.n_elderly AS n_elderly, y.n_minor AS n_minor,
           y.n_disabled AS n_disabled, y.n_ill AS n_ill, y.paid AS paid,
           y.base + CASE WHEN y.base > 0 THEN y.addon ELSE 0 END AS entitled
    FROM (
      SELECT r.case_id AS case_id, x.off AS off, s.standard_fen AS standard_fen, s.standard_id AS standard_id,
             r.income_fen AS income_fen, r.members AS members, r.units AS units, r.n_elderly AS n_elderly,
             r.n_minor AS n_minor, r.n_disabled AS n_disabled, r.n_ill AS n_ill, {base} AS base, {rule} AS rule,
             {addon} AS addon, r.regular_fen + {prev_paid} AS paid
      {source}
      CROSS JOIN mx_std s
      {prev_join}
      WHERE {match} AND r.regular_fen > 0
        AND s.period = x.period AND s.region_code = r.region_code AND s.category = r.category{fenced}
    ) y{fenced}
  ) g
  WHERE g.entitled > g.paid
  GROUP BY g.case_id, g.off / {chunk}, g.rule, g.standard_fen, g.standard_id, g.income_fen, g.members, g.units,
           g.addon_fen, g.n_elderly, g.n_minor, g.n_disabled, g.n_ill, g.paid, g.entitled
) z
JOIN mx_per f ON f.off = z.lo
"""), {"lo": lo, "hi": hi})
    found = session.execute(text("SELECT 1 FROM mx_isl LIMIT 1")).first() is not None
    if found:
        analyze(session, "mx_isl")
    return found
