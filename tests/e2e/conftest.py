"""A real server on a free localhost port over a fresh SQLite file, and the system Chromium."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    import uvicorn

    from minxin import migrate
    from minxin.db import make_engine, session_factory, write_lock
    from minxin.web.app import create_app

    root = tmp_path_factory.mktemp("e2e")
    engine = make_engine(f"sqlite:///{root / 'city.db'}")
    migrate.upgrade(engine)
    with write_lock(), Session(engine) as s:
        households = _seed(s)
        s.commit()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(session_factory(engine)), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="e2e-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the e2e server did not start")
        time.sleep(0.05)
    shots = Path(os.environ.get("MINXIN_E2E_SCREENSHOTS") or root / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    try:
        yield LiveCity(url=f"http://127.0.0.1:{port}", households=households, screenshots=shots)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture(scope="session")
def browser(live_city: LiveCity) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, live_city: LiveCity) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh 1366×768 browser context; fails the test on any console error (e.g. a CSP violation)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                  accept_downloads=True, base_url=live_city.url)
    pg = context.new_page()
    errors: list[str] = []
    # A 4xx page we asked for on purpose is logged as "Failed to load resource"; anything else (a CSP
    # "Refused to …", a script error) is a failure.
    expected = "Failed to load resource: the server responded with a status of 4"
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" and not m.text.startswith(expected) else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.console_errors = errors
    try:
        yield pg
    finally:
        context.close()
