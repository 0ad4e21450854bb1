"""Calculators: the plug-in interface through which a program tells the engine how much it pays.

The engine (cycles, arrears, workflow, notice, explanations) names no program. Each program's
policy entry names a calculator (`calculator = "…"` in the policy file); the calculator is a subclass
of `Calculator`, registered by the domain package that brings it (its descriptor lists the module),
and found here by that name. A calculator provides:

1. `regular_select`: the set-based SQL for the period's regular amount of every active case of one
   run (one county), in the engine's line columns (`REGULAR_COLUMNS`);
2. `month_terms`: the SQL of one month's amount from the facts stored on an earlier line and the
   standard in force now — what arrears (补发) recompute for months already paid;
3. the same rule as a pure function in its program's `rules.py` (tests hold the SQL to it);
4. `proposed_amount`: what a case would get for a month (the workflow and the public notice);
5. `explain`: the one-line explanation a caseworker can check by hand.

The fact slots of a payment line (models.Payment) have one meaning each, whatever the calculator:

| slot | meaning |
|---|---|
| `rule` | the calculator's rule that produced the amount (its `rules`; explanations are found by it); a rule may
  carry a qualifier after a colon that its calculator reads (`<rule>:2014-05`: paid until that month) |
| `standard_fen`, `standard_id` | the standard applied (the row of `standards`) |
| `income_fen` | the household's assessed monthly income the rule deducts (NULL where none is deducted) |
| `members` | the household members the amount is for (NULL for person programs) |
| `units` | how many of the rule's units the amount counts: assessed records, years of service (NULL: one) |
| `addon_fen`, `n_elderly` … `n_ill` | supplements per member class on top of the base, and the members in each class |
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from minxin.core.errors import ValidationError
from minxin.core.money import fen_to_yuan_compact as y

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from minxin.core.period import Period
    from minxin.programs.models import Case, Cycle
    from minxin.programs.policy import ProgramPolicy

# What a regular select yields per case, in this order and with these names.
REGULAR_COLUMNS = ("case_id", "region_code", "amount", "category", "rule", "standard_fen", "standard_id",
                   "income_fen", "members", "units", "addon_fen", "n_elderly", "n_minor", "n_disabled", "n_ill")
# The per-standard values every standard row of a run carries (the calculator may add its own).
ADDON_CLASSES = ("elderly", "minor", "disabled", "ill")


@dataclass(frozen=True)
class RunSql:
    """What the engine hands a calculator to build a run's SQL.

    `active` is the condition on `cases c` that selects the run's active cases (program, status,
    start/end period and the run's county); `cases` is how the run reads the cases table (`FROM
    {q.cases}`, aliased `c`); `fence` keeps the database from flattening a subquery (evaluated once per
    row, see cycles.scratch.fence); `sqlite` tells the dialect. A calculator that joins the cases'
    households (`JOIN households h ON h.id = c.household_id{q.households}`) adds `households` to the
    join: a condition naming the run's households, so the database reads only those ("" where it
    needs none).
    """

    active: str
    fence: str
    sqlite: bool
    cases: str = "cases c"
    households: str = ""


@dataclass(frozen=True)
class MonthRefs:
    """SQL names of what one arrears month is recomputed from: the stored line, the standard now in force
    for that month (mx_std row) and the month itself ('YYYY-MM')."""

    line: str = "r"
    std: str = "s"
    period: str = "x.period"


@dataclass(frozen=True)
class LineFacts:
    """The stored facts of a regular (or arrears) part, as explanations read them."""

    rule: str
    standard_fen: int
    income_fen: int
    members: int
    units: int
    addon_fen: int
    addon_persons: int
    period: str = ""
    category: str = ""  # the case's category the standard was for (the line's `category`; "" where not stored)


class Calculator:
    """Base of every program calculator. Subclasses set `name` and `rules` and write `regular_select`."""

    name: ClassVar[str]
    rules: ClassVar[tuple[str, ...]]  # the rule names this calculator writes on lines
    unit_word: ClassVar[str] = "人"  # what the cycle pages count: 户 (households) or 人 (persons)
    # Extra per-standard values the run's standard table (mx_std) carries, computed by standard_values.
    standard_terms: ClassVar[tuple[str, ...]] = ()
    # Bind parameters of type DATE that `params` returns.
    date_params: ClassVar[tuple[str, ...]] = ()
    # True when the calculator reads standards (a back-dated standard then creates arrears).
    uses_standards: ClassVar[bool] = True
    # True when `fast_select` checks a case's reached months in the pass that computes the period.
    one_pass_arrears: ClassVar[bool] = False

    # ---- the cycle's SQL ----
    def standard_values(self, policy: ProgramPolicy, amount_fen: int) -> dict[str, int]:
        """Values derived from one standard row (a floor, supplements …), one per `standard_terms`."""
        return {}

    def params(self, policy: ProgramPolicy, period: Period) -> dict[str, Any]:
        """Bind parameters the calculator's SQL uses besides the engine's (:c, :p, :period, :county_lo …)."""
        return {}

    def regular_select(self, q: RunSql) -> str:
        """SELECT of REGULAR_COLUMNS for every case of the run with a positive regular amount."""
        raise NotImplementedError

    def month_terms(self, m: MonthRefs) -> tuple[str, str, str] | None:
        """(base, rule, add-ons) of one earlier month as SQL over the stored line and the standard now
        in force; None when the amount does not depend on a standard (no arrears can arise)."""
        return None

    def fast_select(self, q: RunSql, reached: list[tuple[int, int]], by_pk: str) -> str | None:
        """Optional one-pass arrears (cycles.arrears.fast_arrears): the regular select, plus per case a
        column `paid` (−1: no line in any reached month; ≥ 0: paid that amount in every one, alike on
        today's facts; −2: anything else). None: the engine takes the month-by-month path."""
        return None

    def before_regular(self, session: Session, *, cycle: Cycle, period: Period) -> None:
        """Side work before the regular lines are written (e.g. releasing records a draft had taken)."""

    def after_regular(self, session: Session, *, cycle: Cycle, period: Period) -> None:
        """Side work after the regular lines are written (e.g. linking the records paid)."""

    # ---- workflow, notice, explanation ----
    def proposed_amount(self, session: Session, case: Case, *, period: Period, standard_fen: int | None
                        ) -> int | None:
        """拟补助金额 for one month (None: not computable, e.g. no standard in force)."""
        return None

    def explain_core(self, f: LineFacts, entitled_fen: int) -> str:
        """The formula part of an explanation ("(460−100)×3"), before " = amount"."""
        return f"标准 {y(f.standard_fen)}"

    def explain(self, f: LineFacts, amount_fen: int) -> str:
        """A regular part's one-line explanation."""
        return f"{self.explain_core(f, amount_fen)} = {y(amount_fen)}"

    def institution_memo(self, category: str, masked_name: str) -> str:
        """The bank memo of a case paid to its care institution: whose payment it is."""
        return f"{category} {masked_name}".strip()

    def payee(self) -> tuple[str, str, str] | None:
        """Cases this program pays to an organisation rather than their person (a service provider): a
        LEFT JOIN on `cases c` and the SQL of the payee's name and identifier for the bank file's 姓名 and
        身份证号 columns (NULL name: the person as usual). None: the bank file pays the person."""
        return None


_REGISTRY: dict[str, Calculator] = {}
_BY_RULE: dict[str, Calculator] = {}
_LOADED = False


def register(calc: Calculator) -> Calculator:
    """Make a calculator known by its name (and its rules, for explanations). Twice the same name: an error."""
    if calc.name in _REGISTRY and type(_REGISTRY[calc.name]) is not type(calc):
        raise ValueError(f"two calculators named {calc.name!r}")
    _REGISTRY[calc.name] = calc
    for rule in calc.rules:
        _BY_RULE[rule] = calc
    return calc


def _load() -> None:
    """Import every installed domain's calculator modules (they register themselves on import)."""
    global _LOADED
    if _LOADED:
        return
    domains = importlib.import_module("minxin.domains")  # the installed domains, outside the engine
    for module in domains.calculator_modules():
        importlib.import_module(module)
    _LOADED = True


def get_calculator(name: str) -> Calculator:
    """The calculator a program's policy names."""
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValidationError(f"未知计算方法：{name}；可选：{', '.join(sorted(_REGISTRY))} (unknown calculator)",
                              field="calculator") from None


def calculator_for_rule(rule: str) -> Calculator | None:
    """The calculator that writes this rule (a qualified rule `name:qualifier` is found by its name)."""
    _load()
    return _BY_RULE.get(rule) or _BY_RULE.get(rule.partition(":")[0])


def registered() -> dict[str, Calculator]:
    _load()
    return dict(_REGISTRY)


def explain_line(f: LineFacts, amount_fen: int) -> str:
    """The explanation of a regular part, by the calculator that wrote its rule."""
    calc = calculator_for_rule(f.rule)
    if calc is None:
        return f"{f.rule} = {y(amount_fen)}"
    return calc.explain(f, amount_fen)


def explain_core(f: LineFacts, entitled_fen: int) -> str:
    """The formula part of an explanation (for arrears, which add what was paid before)."""
    calc = calculator_for_rule(f.rule)
    return calc.explain_core(f, entitled_fen) if calc else f.rule
