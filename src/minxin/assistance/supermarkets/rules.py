"""Charity-supermarket rules without I/O: the plan's target band and the value of goods handed out."""

from __future__ import annotations

from typing import Final

# Plan P10: "督促指导各县区新增10-20家慈善超市" — each county opens 10 to 20 new ones in the year.
NEW_PER_COUNTY_TARGET: Final = (10, 20)

TARGET_STATUS_NAMES: Final = {"below": "未达标", "met": "达标", "above": "超出目标"}


def target_status(opened: int, band: tuple[int, int] = NEW_PER_COUNTY_TARGET) -> str:
    """"below" under the band's floor, "met" inside it, "above" past its ceiling."""
    low, high = band
    if opened < low:
        return "below"
    if opened > high:
        return "above"
    return "met"


def value_out(*, stock_quantity: int, stock_value_fen: int, quantity: int) -> int:
    """The value (fen) of `quantity` units taken from a stock, at the stock's average unit value.

    Rounded half up; taking the whole stock takes its whole value, so no remainder is ever left
    behind or overdrawn: 3 of 10 units worth 1000 → 300; 10 of 10 → 1000; 1 of 3 worth 100 → 33.
    """
    if quantity <= 0 or stock_quantity <= 0:
        raise ValueError("quantity and stock must be positive")
    if quantity > stock_quantity:
        raise ValueError("cannot take more than the stock")
    if stock_value_fen <= 0:
        return 0
    if quantity == stock_quantity:
        return stock_value_fen
    return (2 * stock_value_fen * quantity + stock_quantity) // (2 * stock_quantity)
