"""The installed domains. The engine finds its calculators through here (it names no program itself)."""

from __future__ import annotations

# Modules that register a payment calculator (minxin.programs.calculator.register) when imported.
CALCULATOR_MODULES: tuple[str, ...] = (
    "minxin.programs.flat",
    "minxin.assistance.dibao.calculator",
    "minxin.assistance.wubao.calculator",
    "minxin.assistance.medical.calculator",
)


def calculator_modules() -> tuple[str, ...]:
    return CALCULATOR_MODULES
