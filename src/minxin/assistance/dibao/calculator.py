"""The 低保 calculator: the rule of assistance/dibao/rules.py as the engine's set-based SQL.

Household benefit = (standard − per-capita income) × members (三无: the full standard; a floor share
of the standard where the policy sets one), plus 分类施保 add-ons per qualifying member. Members and
their add-on counts come from the household row (kept by triggers on persons), so a cycle reads no
persons for households of five or fewer.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from minxin.assistance.dibao import rules
from minxin.core.period import Period
from minxin.programs.calculator import Calculator, LineFacts, MonthRefs, RunSql, register
from minxin.registry.facts import BIRTH_SLOTS  # households.birth1..birth5, kept by triggers

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from minxin.programs.models import Case
    from minxin.programs.policy import ProgramPolicy

NO_ELDERLY_AGE = 200  # no elderly add-on: nobody qualifies


def _addons(policy: ProgramPolicy) -> tuple[rules.Addon, ...]:
    return rules.parse_addons(policy.extra, where=f"programs.{policy.code}: ")


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def terms(*, sanwu: str, m: str, gap: str, s: str = "s.", ne: str, nm: str, nd: str, ni: str) -> tuple[str, str, str]:
    """The 低保 rule (rules.dibao_entitlement) as SQL: (base, rule, add-ons) expressions.

    `gap` is the standard minus the per-capita income, `s` the prefix of the standard's columns
    (standard_fen, min_pp_fen, a_elderly …). Integer division of non-negative integers floors on
    SQLite and PostgreSQL alike, exactly as `per_capita_income` does in Python.
    """
    base = (f"CASE WHEN {sanwu} THEN {s}standard_fen * {m} WHEN {gap} <= 0 THEN 0 "
            f"WHEN {gap} < {s}min_pp_fen THEN {s}min_pp_fen * {m} ELSE {gap} * {m} END")
    rule = (f"CASE WHEN {sanwu} THEN 'sanwu' WHEN {gap} <= 0 THEN 'ineligible' "
            f"WHEN {gap} < {s}min_pp_fen THEN 'minimum' ELSE 'gap' END")
    addon = f"({ne} * {s}a_elderly + {nm} * {s}a_minor + {nd} * {s}a_disabled + {ni} * {s}a_ill)"
    return base, rule, addon


def _slots_at_most(cut: str) -> str:
    """How many of a household's birth-date slots (ascending) are on or before `cut`."""
    cases = " ".join(f"WHEN h.birth{i} IS NULL OR h.birth{i} > {cut} THEN {i - 1}" for i in range(1, BIRTH_SLOTS + 1))
    return f"CASE {cases} ELSE {BIRTH_SLOTS} END"


def _counted(condition: str) -> str:
    """How many members of the household h meet the condition, counted from persons: a look-up in the
    (household, birth date) index, made only for the few households of more than five members (a CASE
    branch not taken is not evaluated). A grouped subquery joined instead would count every large
    household of the city again for each county's cycle."""
    return f"(SELECT COUNT(*) FROM persons pe WHERE pe.household_id = h.id AND {condition})"


def facts_sql(q: RunSql, *, reached: list[tuple[int, int]] | None = None, by_pk: str = "") -> str:
    """Every active case of the run with its household's facts and the standard in force (layer y).

    Members and their 分类施保 counts come from the household row (kept there by triggers on persons):
    the elderly are the leading birth-date slots on or before the cut-off, minors the trailing ones
    after it. Households of more than five members are counted from persons (the others skip that
    look-up, see _counted). With `reached` ((cycle id, month offset) of the earlier cycles an arrears run reaches),
    each case's line in each of them is looked up by its key and summed up in one column, `paid`: -1
    when the case has no line in any of them; the amount paid when it has a line in every one, all
    paid the same amount on the case's facts of now (category, region, income, members, severely
    disabled, seriously ill, 三无) with the same elderly and minors (ne0, nm0: compared with the case's
    own counts in the next layer) and the standard now in force for each of those months is the
    period's own; else -2.
    """
    joins, cols = [], []
    for k, (cycle_id, _off) in enumerate(reached or []):
        joins.append(f"LEFT JOIN payments r{k}{by_pk} ON r{k}.cycle_id = {int(cycle_id)} AND r{k}.case_id = c.id "
                     f"AND r{k}.seq = 0")
    if reached:
        def same_facts(r: str) -> str:
            return (f"{r}.category = c.category AND {r}.region_code = c.region_code "
                    f"AND {r}.income_fen = h.monthly_income_fen AND {r}.members = h.member_count "
                    f"AND {r}.n_disabled = h.severe_disabled AND {r}.n_ill = h.seriously_ill "
                    f"AND (CASE WHEN {r}.rule = 'sanwu' THEN 1 ELSE 0 END) = (CASE WHEN c.sanwu THEN 1 ELSE 0 END)")
        none = " AND ".join(f"r{k}.case_id IS NULL" for k in range(len(reached)))
        alike = " AND ".join(
            [f"s.same_mask = {(1 << len(reached)) - 1}", "r0.regular_fen > 0"]
            + [f"r{k}.regular_fen = r0.regular_fen AND r{k}.n_elderly = r0.n_elderly AND r{k}.n_minor = r0.n_minor"
               for k in range(1, len(reached))]
            + [same_facts(f"r{k}") for k in range(len(reached))])
        cols.append(f"CASE WHEN {none} THEN -1 WHEN {alike} THEN r0.regular_fen ELSE -2 END AS paid, "
                    "r0.n_elderly AS ne0, r0.n_minor AS nm0")
    extra = "".join(f",\n             {c}" for c in cols)
    join_sql = "".join(f"\n      {j}" for j in joins)
    fence = q.fence
    return f"""
      SELECT c.id AS case_id, c.region_code AS region_code, c.category AS category, c.sanwu AS sanwu,
             h.monthly_income_fen AS income_fen, h.member_count AS members, h.severe_disabled AS n_disabled,
             h.seriously_ill AS n_ill,
             CASE WHEN h.member_count > {BIRTH_SLOTS} THEN {_counted("pe.birth_date <= :eld")}
                  ELSE {_slots_at_most(":eld")} END AS n_elderly,
             CASE WHEN h.member_count > {BIRTH_SLOTS} THEN {_counted("pe.birth_date > :minor")}
                  ELSE h.member_count - {_slots_at_most(":minor")} END AS n_minor,
             s.standard_fen AS standard_fen, s.standard_id AS standard_id, s.min_pp_fen AS min_pp_fen,
             s.a_elderly AS a_elderly, s.a_minor AS a_minor, s.a_disabled AS a_disabled, s.a_ill AS a_ill,
             s.standard_fen - h.monthly_income_fen / h.member_count AS gap{extra}
      FROM {q.cases}
      JOIN households h ON h.id = c.household_id{q.households}
      CROSS JOIN mx_std s{join_sql}
      WHERE {q.active} AND h.member_count > 0
        AND s.period = :period AND s.region_code = c.region_code AND s.category = c.category{fence}"""


def amounts_sql(q: RunSql, *, facts: str, keep: str = "y.sanwu OR y.gap > 0", carry: str = "") -> str:
    """Layer z (base, rule and add-ons) over the facts (y): each expression evaluated once."""
    base, rule, addon = terms(sanwu="y.sanwu", m="y.members", gap="y.gap", s="y.", ne="y.n_elderly",
                              nm="y.n_minor", nd="y.n_disabled", ni="y.n_ill")
    return f"""
  SELECT y.case_id AS case_id, y.region_code AS region_code, y.category AS category,
         y.standard_fen AS standard_fen, y.standard_id AS standard_id, y.income_fen AS income_fen,
         y.members AS members, y.n_elderly AS n_elderly, y.n_minor AS n_minor, y.n_disabled AS n_disabled,
         y.n_ill AS n_ill, {base} AS base, {rule} AS rule, {addon} AS addon{carry}
  FROM ({facts}
  ) y
  WHERE {keep}{q.fence}"""


_OUT = """z.case_id AS case_id, z.region_code AS region_code,
       z.base + CASE WHEN z.base > 0 THEN z.addon ELSE 0 END AS amount, z.category AS category, z.rule AS rule,
       z.standard_fen AS standard_fen, z.standard_id AS standard_id, z.income_fen AS income_fen, z.members AS members,
       CAST(NULL AS BIGINT) AS units, CASE WHEN z.base > 0 THEN z.addon ELSE 0 END AS addon_fen,
       z.n_elderly AS n_elderly,
       z.n_minor AS n_minor, z.n_disabled AS n_disabled, z.n_ill AS n_ill"""


class DibaoCalculator(Calculator):
    """低保: (standard − per-capita income) × members + 分类施保, per household."""

    name = "dibao"
    rules = rules.RULES
    unit_word = "户"
    standard_terms = ("min_pp_fen", "a_elderly", "a_minor", "a_disabled", "a_ill")
    date_params = ("eld", "minor")
    one_pass_arrears = True

    def standard_values(self, policy: ProgramPolicy, amount_fen: int) -> dict[str, int]:
        shares = {a.kind: a.permille for a in _addons(policy)}
        return {"min_pp_fen": amount_fen * int(policy.extra.get("min_payment_permille", 0)) // 1000,
                **{f"a_{k}": amount_fen * shares.get(k, 0) // 1000 for k in rules.ADDON_KINDS}}

    def params(self, policy: ProgramPolicy, period: Period) -> dict[str, Any]:
        first = period.first_day()
        age = rules.elderly_age(_addons(policy)) or NO_ELDERLY_AGE
        return {"eld": years_before(first, age), "minor": years_before(first, 18)}

    def regular_select(self, q: RunSql) -> str:
        return f"""
SELECT {_OUT}
FROM ({amounts_sql(q, facts=facts_sql(q))}
) z
WHERE z.base > 0
"""

    def fast_select(self, q: RunSql, reached: list[tuple[int, int]], by_pk: str) -> str:
        # Counts of now differing from the months' (a birthday across an age limit) make the case todo.
        carry = (", CASE WHEN y.paid >= 0 AND (y.ne0 <> y.n_elderly OR y.nm0 <> y.n_minor) THEN -2 ELSE y.paid END "
                 "AS paid")
        amounts = amounts_sql(q, facts=facts_sql(q, reached=reached, by_pk=by_pk),
                              keep="y.sanwu OR y.gap > 0 OR y.paid <> -1", carry=carry)
        return f"""
    SELECT {_OUT}, z.paid AS paid
    FROM ({amounts}
    ) z{q.fence}"""

    def month_terms(self, m: MonthRefs) -> tuple[str, str, str]:
        r = m.line
        return terms(sanwu=f"{r}.rule = 'sanwu'", m=f"{r}.members",
                     gap=f"({m.std}.standard_fen - {r}.income_fen / {r}.members)", s=f"{m.std}.",
                     ne=f"{r}.n_elderly", nm=f"{r}.n_minor", nd=f"{r}.n_disabled", ni=f"{r}.n_ill")

    def proposed_amount(self, session: Session, case: Case, *, period: Period, standard_fen: int | None
                        ) -> int | None:
        from minxin.programs.policy import load_policy
        from minxin.registry.models import Household, Person

        if standard_fen is None or case.household_id is None:
            return None
        household = session.get(Household, case.household_id)
        members = list(session.execute(select(Person).where(Person.household_id == case.household_id)).scalars())
        if household is None or not members:
            return None
        policy = load_policy().program(case.program_code)
        addons = _addons(policy)
        facts = rules.HouseholdFacts(members=len(members), income_fen=household.monthly_income_fen,
                                     sanwu=case.sanwu,
                                     addon_counts=addon_counts(members, period, rules.elderly_age(addons)))
        return rules.dibao_entitlement(facts, rules.params_from_policy(policy.extra, standard_fen)).amount_fen

    def explain(self, f: LineFacts, amount_fen: int) -> str:
        return rules.explain(rule=f.rule, standard_fen=f.standard_fen, income_fen=f.income_fen, members=f.members,
                             addon_fen=f.addon_fen, addon_persons=f.addon_persons, amount_fen=amount_fen)

    def explain_core(self, f: LineFacts, entitled_fen: int) -> str:
        return rules.formula(f.rule, f.standard_fen, f.income_fen, f.members, f.addon_fen, f.addon_persons,
                             entitled_fen)


def addon_counts(members: list[Any], period: Period, min_age: int | None) -> dict[str, int]:
    """Members qualifying for each 分类施保 add-on on the period's first day (as the cycle's SQL counts)."""
    first = period.first_day()
    elderly_born_by = years_before(first, min_age) if min_age else None
    minor_born_after = years_before(first, 18)
    return {
        "elderly": sum(1 for p in members if elderly_born_by and p.birth_date <= elderly_born_by),
        "minor": sum(1 for p in members if p.birth_date > minor_born_after),
        "disabled": sum(1 for p in members if p.disability_grade in (1, 2)),
        "ill": sum(1 for p in members if p.health_status == "重病"),
    }


CALCULATOR = register(DibaoCalculator())
