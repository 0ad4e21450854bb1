"""A real server on a free localhost port over a fresh SQLite file, and the system Chromium.

Every browser test module starts its city the same way: `city_db` (a migrated SQLite file, seeded by the
module's own function and committed), `live_app` (tests/conftest.py: the app in a uvicorn thread) and
`browser_page` (a fresh context whose console errors fail the test).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from tests.conftest import live_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
E2E_USER = "e2e_officer"
E2E_PASSWORD = "E2e-passw0rd"


@dataclass
class LiveCity:
    url: str
    households: list[dict[str, object]]  # household_no, id, members: [(id, name, id_number)]
    screenshots: Path


T = TypeVar("T")


@contextmanager
def city_db(root: Path, seed: Callable[[Session], T]) -> Iterator[tuple[Engine, T]]:
    """A migrated SQLite file under `root`, seeded by `seed` and committed; yields the engine and the seed's
    result, and disposes of the engine after the block."""
    from minxin.infra import migrate
    from minxin.infra.db import make_engine, write_lock

    engine = make_engine(f"sqlite:///{root / 'city.db'}")
    migrate.upgrade(engine)
    with write_lock(), Session(engine) as s:
        seeded = seed(s)
        s.commit()
    try:
        yield engine, seeded
    finally:
        engine.dispose()


def screenshots(root: Path) -> Path:
    """Where a module's screenshots go: MINXIN_E2E_SCREENSHOTS, else beside its database."""
    shots = Path(os.environ.get("MINXIN_E2E_SCREENSHOTS") or root / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def _seed(session: Session) -> list[dict[str, object]]:
    from tests.factories import household

    from minxin.auth.service import add_user, ensure_system_user
    from minxin.registry.service import seed_regions

    seed_regions(session)
    system = ensure_system_user(session)
    officer = add_user(session, actor=system, username=E2E_USER, password=E2E_PASSWORD, role="county_officer",
                       scope_code="320706", display_name="王海州")
    out = []
    for i in range(4):
        h = household(session, officer, members=3, income_yuan=800 + 100 * i, hukou="城镇" if i % 2 else "农村")
        out.append({"id": h.id, "household_no": h.household_no,
                    "members": [(p.id, p.name, p.id_number) for p in h.members]})
    return out


@pytest.fixture(scope="session")
def live_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCity]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    root = tmp_path_factory.mktemp("e2e")
    with city_db(root, _seed) as (engine, households), live_app(engine, name="e2e") as url:
        yield LiveCity(url=url, households=households, screenshots=screenshots(root))


@pytest.fixture(scope="session")
def browser(live_city: LiveCity) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@contextmanager
def browser_page(browser: Any, url: str, *, accept_dialogs: bool = False) -> Iterator[Any]:
    """A fresh 1366×768 browser context on `url`; its console errors (a CSP refusal, a script error) are
    collected in `page.console_errors` for the test to assert empty. Confirm dialogs are accepted on request."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                  accept_downloads=True, base_url=url)
    pg = context.new_page()
    errors: list[str] = []
    # A 4xx page we asked for on purpose is logged as "Failed to load resource"; anything else (a CSP
    # "Refused to …", a script error) is a failure.
    expected = "Failed to load resource: the server responded with a status of 4"
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" and not m.text.startswith(expected) else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    if accept_dialogs:
        pg.on("dialog", lambda d: d.accept())
    pg.console_errors = errors
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def page(browser: Any, live_city: LiveCity) -> Iterator[Any]:
    """A fresh page on the staff city; console errors fail the test."""
    with browser_page(browser, live_city.url) as pg:
        yield pg
