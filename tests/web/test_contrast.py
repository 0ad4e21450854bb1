"""WCAG 2.1 AA contrast of the stylesheet's colour pairs, computed from its custom properties.

The browser test (tests/e2e/test_layout_browser.py) measures every rendered text of every page; this
one needs no browser and names the pair that fails: text 4.5:1, the focus ring and large text 3:1.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[2] / "src" / "minxin" / "web" / "static" / "css" / "app.css"


def custom_properties() -> dict[str, str]:
    root = re.search(r":root\s*{(.*?)}", CSS.read_text(encoding="utf-8"), re.S)
    assert root is not None
    found = re.findall(r"(--[\w-]+)\s*:\s*#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b", root.group(1))
    # #fff is #ffffff
    return {name: "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits)).lower()
            for name, digits in found}


def luminance(hex_colour: str) -> float:
    def channel(v: float) -> float:
        v /= 255
        return v / 12.92 if v <= 0.03928 else float(((v + 0.055) / 1.055) ** 2.4)

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def ratio(a: str, b: str) -> float:
    x, y = luminance(a), luminance(b)
    return (max(x, y) + 0.05) / (min(x, y) + 0.05)


WHITE = "#ffffff"
# (text or ring, background, minimum): the pairs the pages draw.
PAIRS = [
    ("--ink", "--bg", 4.5), ("--ink", "--card", 4.5), ("--ink-2", "--card", 4.5), ("--ink-2", "--bg", 4.5),
    ("--muted", "--card", 4.5), ("--muted", "--bg", 4.5), ("--muted", "--line-2", 4.5),  # hints, table heads
    ("--blue-700", "--card", 4.5), ("--blue-700", "--bg", 4.5), ("--blue-700", "--blue-50", 4.5),  # links, tags
    (WHITE, "--blue-700", 4.5), (WHITE, "--blue-800", 4.5), (WHITE, "--red-700", 4.5),  # buttons, brand
    ("--red-700", "--red-50", 4.5), ("--green-700", "--green-50", 4.5), ("--amber-700", WHITE, 4.5),
    ("--topbar-link", "--blue-800", 4.5), ("--topbar-muted", "--blue-800", 4.5),  # the top bar
    ("--topbar-link", "--blue-900", 4.5),  # the phone's menu panel
    ("--topbar-link", "--blue-700", 4.5),  # the login page's footer, on its gradient's light end
    ("--topbar-accent", "--blue-800", 3.0), ("--topbar-accent", "--blue-900", 3.0),  # focus ring on the bar
    ("--blue-700", WHITE, 3.0),  # focus ring on the page
]


def test_the_stylesheet_declares_the_colours_the_pairs_name() -> None:
    props = custom_properties()
    named = {c for pair in PAIRS for c in pair[:2] if c.startswith("--")}
    assert named <= set(props), named - set(props)


@pytest.mark.parametrize(("fg", "bg", "minimum"), PAIRS, ids=[f"{f} on {b}" for f, b, _ in PAIRS])
def test_each_colour_pair_meets_wcag_aa(fg: str, bg: str, minimum: float) -> None:
    props = custom_properties()
    got = ratio(props.get(fg, fg), props.get(bg, bg))
    assert got >= minimum, f"{fg} on {bg}: {got:.2f}:1 < {minimum}:1"


def test_the_ratio_is_wcags() -> None:
    assert ratio("#000000", WHITE) == pytest.approx(21)
    assert ratio("#767676", WHITE) == pytest.approx(4.54, abs=0.01)  # the lightest AA grey on white
    assert ratio(WHITE, WHITE) == 1
