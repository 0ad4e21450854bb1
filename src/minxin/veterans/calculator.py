"""The 优抚 calculator (`youfu`): annual standards paid monthly, December paying what is left of the year.

A month pays the annual standard ÷ 12 in whole fen (`年标准 4730 ÷ 12 = 394.16`), December the rest
(`年标准 4730 − 11×394.16（12月） = 394.24`), so a calendar year pays exactly the annual standard; a
category paid per year of service multiplies by the case's years (`年标准 120 ÷ 12 × 服役 10 年 = 100`,
the years stored in the line's `units`); a local supplement (地方补助, policy file) rides on top in the
line's `addon_fen` and reads as its own part (`… + 地方补助 30`). The same rule in Python is
`veterans.rules.monthly_fen` (tests hold the SQL to it).

A case terminated by a move or a death is still paid up to its end month (the month of the event) when
its cycles run after the event was recorded. A recorded death that pays funeral aid (veteran_death_benefits,
rules.death_rule) is a one-off part of the same select: the case gets in the county's next cycle after the
month of death one line of the extra months (`年标准 13001 ÷ 12 × 6 个月（丧葬补助费，条例第十九条）`, the
months in `units`, the rule naming the article); the cycle takes the benefit (after_regular) and a draft
recomputed gives it back (before_regular), so it is paid once. A back-dated raise reaching that month pays
its arrears like any month's.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select, text

from minxin.core.errors import ValidationError
from minxin.core.money import parse_yuan
from minxin.programs.calculator import Calculator, LineFacts, MonthRefs, RunSql, register
from minxin.programs.policy import load_policy
from minxin.veterans import rules
from minxin.veterans.rules import Supplement

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from minxin.core.period import Period
    from minxin.programs.models import Case, Cycle

_REGION = re.compile(r"\d{6}(\d{3}(\d{3})?)?")


def policy_supplements() -> list[Supplement]:
    """The supplements (地方补助) of the policy file's program paid by this calculator, checked."""
    out: list[Supplement] = []
    leaves = set(rules.leaf_categories())
    for program in load_policy().programs.values():
        if program.calculator != YoufuCalculator.name:
            continue
        for raw in program.extra.get("supplements", []):
            try:
                region, category = str(raw["region"]), str(raw.get("category", ""))
                monthly = parse_yuan(str(raw["monthly_yuan"]))
                effective = date.fromisoformat(str(raw["effective"]))
            except (KeyError, ValueError, ValidationError) as exc:
                raise ValidationError(f"programs.{program.code}.supplements: bad entry {raw!r}: {exc}") from exc
            if not _REGION.fullmatch(region) or (category and category not in leaves
                                                 and category not in rules.CATEGORIES) or monthly < 0:
                raise ValidationError(f"programs.{program.code}.supplements: bad entry {raw!r}")
            out.append(Supplement(region=region, category=category, monthly_fen=monthly, effective=effective))
    return out


def month_share_sql(std: str, period: str) -> str:
    """SQL of the month's share of an annual standard: ÷ 12, December what is left."""
    return (f"(CASE WHEN substr({period}, 6, 2) = '12' THEN {std} - 11 * ({std} / 12) "
            f"ELSE {std} / 12 END)")


def base_sql(std: str, units: str, period: str) -> str:
    return f"({month_share_sql(std, period)} * COALESCE({units}, 1))"


def rule_sql(units: str, period: str) -> str:
    dec = f"substr({period}, 6, 2) = '12'"
    return (f"(CASE WHEN {units} IS NULL THEN (CASE WHEN {dec} THEN '{rules.RULE_DECEMBER}' "
            f"ELSE '{rules.RULE_MONTH}' END) ELSE (CASE WHEN {dec} THEN '{rules.RULE_YEARS_DECEMBER}' "
            f"ELSE '{rules.RULE_YEARS}' END) END)")


_DEATH = "(" + ", ".join(f"'{r}'" for r in rules.DEATH_RULES) + ")"
# A case of the run's county ended (a move or a death) in this month or later: its last months are still paid.
ENDING = ("c.program_code = :p AND c.status = 'terminated' AND c.region_code >= :lo AND c.region_code < :hi "
          "AND c.start_period <= :period AND c.end_period >= :period")


def death_share_sql(std: str, units: str) -> str:
    """SQL of the death benefit: the ordinary month's share × the months (rules.death_benefit_fen)."""
    return f"(({std} / 12) * {units})"


def supplement_sql(region: str, category: str, period: str, supplements: list[Supplement] | None = None) -> str:
    """SQL of the supplement for a case: the first rule that matches, tried in the order of
    rules.ordered_supplements (literals from the checked policy file, never from user input)."""
    items = rules.ordered_supplements(policy_supplements() if supplements is None else supplements)
    if not items:
        return "0"
    whens = []
    for s in items:
        cond = [f"{region} LIKE '{s.prefix}%'", f"{period} >= '{s.effective:%Y-%m}'"]
        if s.category:
            cond.append(f"({category} = '{s.category}' OR {category} LIKE '{s.category}/%')")
        whens.append(f"WHEN {' AND '.join(cond)} THEN {s.monthly_fen}")
    return f"(CASE {' '.join(whens)} ELSE 0 END)"


class YoufuCalculator(Calculator):
    """优抚 pensions and regular subsidies (抚恤补助)."""

    name = "youfu"
    rules = rules.RULES

    def regular_select(self, q: RunSql) -> str:
        base = base_sql("s.standard_fen", "v.service_years", ":period")
        sup = supplement_sql("c.region_code", "c.category", ":period")

        def regular(source: str, where: str) -> str:
            return f"""
SELECT c.id AS case_id, c.region_code AS region_code, {base} + {sup} AS amount, c.category AS category,
       {rule_sql("v.service_years", ":period")} AS rule, s.standard_fen AS standard_fen,
       s.standard_id AS standard_id, CAST(NULL AS BIGINT) AS income_fen, CAST(NULL AS INTEGER) AS members,
       CAST(v.service_years AS BIGINT) AS units,
       {sup} AS addon_fen, 0 AS n_elderly, 0 AS n_minor, 0 AS n_disabled, 0 AS n_ill
FROM {source} CROSS JOIN mx_std s LEFT JOIN veteran_recipients v ON v.case_id = c.id
WHERE {where} AND s.period = :period AND s.region_code = c.region_code AND s.category = c.category
  AND {base} > 0"""

        # The month of a move or a death is still paid when the case ended before its cycle ran (the few
        # terminated cases are found through the case index, whatever way the run reads the active ones).
        return f"""{regular(q.cases, q.active)}
UNION ALL{regular("cases c", ENDING)}
UNION ALL
SELECT c.id, c.region_code, {death_share_sql("s.standard_fen", "b.months")}, c.category, b.rule, s.standard_fen,
       s.standard_id, CAST(NULL AS BIGINT), CAST(NULL AS INTEGER), CAST(b.months AS BIGINT), 0, 0, 0, 0, 0
FROM veteran_death_benefits b JOIN cases c ON c.id = b.case_id CROSS JOIN mx_std s
WHERE b.cycle_id IS NULL AND b.pay_from < :period AND c.program_code = :p
  AND c.region_code >= :lo AND c.region_code < :hi AND NOT ({q.active}) AND NOT ({ENDING})
  AND s.period = :period AND s.region_code = c.region_code AND s.category = c.category AND s.standard_fen >= 12
"""

    def month_terms(self, m: MonthRefs) -> tuple[str, str, str]:
        # The supplement does not follow the standard: the month keeps the one it was paid with. A death
        # benefit's line is recomputed as a death benefit (its months in units).
        death = f"{m.line}.rule IN {_DEATH}"
        return (f"(CASE WHEN {death} THEN {death_share_sql(f'{m.std}.standard_fen', f'{m.line}.units')} "
                f"ELSE {base_sql(f'{m.std}.standard_fen', f'{m.line}.units', m.period)} END)",
                f"(CASE WHEN {death} THEN {m.line}.rule ELSE {rule_sql(f'{m.line}.units', m.period)} END)",
                f"COALESCE({m.line}.addon_fen, 0)")

    def before_regular(self, session: Session, *, cycle: Cycle, period: Period) -> None:
        """Death benefits a draft took in an earlier run are given back (a draft is recomputed from the data
        of now); an approved cycle is never recomputed, so what it paid stays paid, once."""
        session.execute(text("UPDATE veteran_death_benefits SET cycle_id = NULL WHERE cycle_id = :c"),
                        {"c": cycle.id})

    def after_regular(self, session: Session, *, cycle: Cycle, period: Period) -> None:
        """The death benefits just paid are taken by the cycle (a benefit without a standard in force waits)."""
        session.execute(text(f"""
UPDATE veteran_death_benefits SET cycle_id = :c
WHERE cycle_id IS NULL AND case_id IN (SELECT p.case_id FROM payments p WHERE p.cycle_id = :c AND p.seq = 0
                                       AND p.rule IN {_DEATH})
"""), {"c": cycle.id})

    def proposed_amount(self, session: Session, case: Case, *, period: Period, standard_fen: int | None
                        ) -> int | None:
        if standard_fen is None:
            return None
        from minxin.veterans.models import VeteranRecipient  # the calculator module stays light to import

        years = session.execute(select(VeteranRecipient.service_years).where(
            VeteranRecipient.case_id == case.id)).scalar_one_or_none()
        sup = rules.supplement_fen(policy_supplements(), region_code=case.region_code, category=case.category,
                                   on=period.last_day())
        return rules.monthly_fen(standard_fen, period.month, years=years, supplement_fen=sup)

    def explain_core(self, f: LineFacts, entitled_fen: int) -> str:
        if f.rule in rules.DEATH_RULES:
            return rules.explain_death(rule=f.rule, annual_fen=f.standard_fen, months=f.units)
        return rules.explain(rule=f.rule, annual_fen=f.standard_fen, years=f.units, supplement_fen=f.addon_fen)


CALCULATOR = register(YoufuCalculator())
