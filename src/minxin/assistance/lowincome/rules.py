"""低收入居民倍增计划 (plan P1) arithmetic without I/O: growth, the doubling path, the rate still needed."""

from __future__ import annotations

from typing import Final

DEFAULT_HORIZON: Final = 2020  # the doubling plans of 2011–2012 aim at 2020
LINE_PERMILLE_OF_DIBAO: Final = 1500  # the default low-income line: 1.5 × the 低保 standard
PLAN_YEARS: Final = 10  # a doubling plan's span, when the default horizon lies behind the base year


def default_years(first: int | None, last: int | None, *, this_year: int, year: int | None = None,
                  base_year: int | None = None, horizon: int | None = None) -> tuple[int, int, int]:
    """(base year, report year, horizon) for what is not given, from the years that have declarations.

    The report year is the latest year with a declaration (this year when there is none); the base year
    the first year with one, if earlier, else the year before; the horizon 2020, or ten years after the
    base year once 2020 is not after it: declarations 2011–2013 → (2011, 2013, 2020); only 2025 → (2024,
    2025, 2034).
    """
    y = year or last or this_year
    base = base_year or (first if first is not None and first < y else y - 1)
    end = horizon or (DEFAULT_HORIZON if base < DEFAULT_HORIZON else base + PLAN_YEARS)
    return base, y, end


def per_capita(total_fen: int, persons: int) -> int:
    """Integer fen per person, rounded half up: 1000 over 3 → 333; 1001 over 2 → 501."""
    if persons <= 0:
        return 0
    return (2 * total_fen + persons) // (2 * persons)


def default_line(dibao_standard_fen: int) -> int:
    """The low-income line from the 低保 standard: 1.5 × 460 元 → 690 元."""
    return (dibao_standard_fen * LINE_PERMILLE_OF_DIBAO + 500) // 1000


def growth_pct(base_fen: int, now_fen: int) -> float | None:
    """Growth from base to now in percent (None when the base is zero): 500 → 650 is 30.0."""
    if base_fen <= 0:
        return None
    return round((now_fen - base_fen) * 100 / base_fen, 1)


def on_path_fen(base_fen: int, *, base_year: int, year: int, horizon: int) -> int:
    """Where income would stand in `year` on an even (constant-rate) path to double by `horizon`."""
    span = horizon - base_year
    if span <= 0:
        return 2 * base_fen
    done = min(max(year - base_year, 0), span)
    return round(base_fen * 2 ** (done / span))


def required_annual_pct(now_fen: int, target_fen: int, *, year: int, horizon: int) -> float | None:
    """The yearly growth (percent) that takes `now` to `target` by `horizon`; 0 when already there,
    None when the horizon has passed (or there is nothing to grow from)."""
    if now_fen >= target_fen:
        return 0.0
    years = horizon - year
    if years <= 0 or now_fen <= 0:
        return None
    growth: float = (target_fen / now_fen) ** (1 / years)
    return round((growth - 1) * 100, 1)


def progress_pct(base_fen: int, now_fen: int) -> float | None:
    """How far along the doubling is: the gained share of the base (100 = doubled), floored at 0."""
    g = growth_pct(base_fen, now_fen)
    return None if g is None else max(g, 0.0)
