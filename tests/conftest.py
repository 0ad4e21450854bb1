"""Shared fixtures: the suite runs on SQLite and, when MINXIN_TEST_DATABASE_URL is set, on PostgreSQL.

Each test runs in a transaction that is rolled back at the end; the schema (by the real Alembic
migrations) and the region seed are laid once per database.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# One audit key for the whole run (and for every `minxin` subprocess the tests start), outside the
# repository; anchors then default to beside each test database (SQLite) or beside this key.
if "MINXIN_AUDIT_KEY_FILE" not in os.environ:
    _AUDIT_DIR = Path(tempfile.mkdtemp(prefix="minxin-audit-"))
    (_AUDIT_DIR / "minxin-audit.key").write_text(secrets.token_hex(32) + "\n", encoding="ascii")
    os.environ["MINXIN_AUDIT_KEY_FILE"] = str(_AUDIT_DIR / "minxin-audit.key")
    atexit.register(shutil.rmtree, _AUDIT_DIR, ignore_errors=True)

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from minxin.auth.models import User
from minxin.auth.service import ensure_system_user, hash_password
from minxin.infra import migrate
from minxin.infra.db import make_engine, write_lock
from minxin.programs.service import init_programs
from minxin.registry.service import seed_regions

TEST_PASSWORD = "Passw0rd-test"
_HASH: list[str] = []


def _database_urls(tmp_root: Path) -> list[str]:
    urls = [f"sqlite:///{tmp_root / 'test.db'}"]
    pg = os.environ.get("MINXIN_TEST_DATABASE_URL")
    if pg:
        urls.append(pg)
    return urls


def _reset_postgres(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_url" in metafunc.fixturenames:
        ids = ["sqlite"] + (["postgresql"] if os.environ.get("MINXIN_TEST_DATABASE_URL") else [])
        # A module that checks what does not depend on the database (who may call which route, the words
        # on every page) and is long runs once, on SQLite: `ONE_DATABASE = "the reason"`. The services it
        # goes through are tested on both databases by their own modules.
        if getattr(metafunc.module, "ONE_DATABASE", None):
            ids = ids[:1]
        metafunc.parametrize("db_url", ids, indirect=True, scope="session")


@pytest.fixture(scope="session")
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    return os.environ["MINXIN_TEST_DATABASE_URL"]


_ENGINES: dict[str, Engine] = {}


def migrate_and_seed(eng: Engine) -> None:
    """The schema and what every database starts with: regions, the system user, the programs."""
    migrate.upgrade(eng)
    with write_lock(), Session(eng) as s:
        seed_regions(s)
        ensure_system_user(s)
        init_programs(s)
        s.commit()


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    if eng.dialect.name == "postgresql":
        _reset_postgres(eng)
    migrate_and_seed(eng)
    _ENGINES[db_url] = eng
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test (commits become savepoints)."""
    with write_lock():
        conn = engine.connect()
        trans = conn.begin()
        s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield s
        finally:
            s.close()
            trans.rollback()
            conn.close()


@contextmanager
def committed_database(kind: str, folder: Path, name: str) -> Iterator[Engine]:
    """A database of a test's own that is really committed to (not the suite's rolled-back session):
    migrated and seeded like the suite's (regions, system user, programs). `kind` "sqlite": a file in
    `folder`; "postgresql": the database `<the suite's>_<name>` on the suite's server, made afresh and
    dropped afterwards (skipped without MINXIN_TEST_DATABASE_URL)."""
    base = os.environ.get("MINXIN_TEST_DATABASE_URL", "")
    server, _, suite_db = base.rpartition("/")
    db_name = f"{suite_db}_{name}"

    def admin(statement: str) -> None:
        eng = create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text(statement))
        eng.dispose()

    if kind == "sqlite":
        url = f"sqlite:///{folder / (name + '.db')}"
    else:
        if not base:
            pytest.skip("MINXIN_TEST_DATABASE_URL not set")
        admin(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        admin(f"CREATE DATABASE {db_name}")
        url = f"{server}/{db_name}"
    eng = make_engine(url)
    try:
        migrate_and_seed(eng)
        yield eng
    finally:
        eng.dispose()
        if kind != "sqlite":
            admin(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")


def _password_hash() -> str:
    if not _HASH:
        _HASH.append(hash_password(TEST_PASSWORD))
    return _HASH[0]


def make_user(session: Session, *, username: str, role: str, scope: str) -> User:
    user = User(username=username, display_name=username, role=role, scope_code=scope,
                password_hash=_password_hash())
    session.add(user)
    session.flush()
    return user


# Three kinds of user in every domain's tests: one who may, one of another county who may not,
# one of a role that may not.
HAIZHOU = "320706"
HAIZHOU_TOWN = "320706006"  # 新海街道
HAIZHOU_COMMUNITY = "320706006001"
GANYU = "320707"
GANYU_COMMUNITY = "320707100001"


@pytest.fixture
def system_user(session: Session) -> User:
    return ensure_system_user(session)


@pytest.fixture
def city_admin(session: Session) -> User:
    return make_user(session, username="t_city", role="city_admin", scope="320700")


@pytest.fixture
def county_officer(session: Session) -> User:
    return make_user(session, username="t_haizhou", role="county_officer", scope=HAIZHOU)


@pytest.fixture
def other_county_officer(session: Session) -> User:
    return make_user(session, username="t_ganyu", role="county_officer", scope=GANYU)


@pytest.fixture
def town_officer(session: Session) -> User:
    return make_user(session, username="t_town", role="town_officer", scope=HAIZHOU_TOWN)


@pytest.fixture
def community_worker(session: Session) -> User:
    return make_user(session, username="t_worker", role="community_worker", scope=HAIZHOU_COMMUNITY)


@pytest.fixture
def call_agent(session: Session) -> User:
    return make_user(session, username="t_agent", role="call_agent", scope="320700")


@pytest.fixture
def auditor(session: Session) -> User:
    return make_user(session, username="t_auditor", role="auditor", scope="320700")


# ---- live servers: written once for the browser tests, the call centre, the flood and hostile uploads ----

def free_port() -> int:
    """A free TCP port on loopback (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_app(engine: Engine, *, name: str = "live") -> Iterator[str]:
    """The web app over `engine` in a uvicorn thread of this process, on a free loopback port; yields its URL.

    For browser tests over a database the test seeded and committed (no rolled-back transaction here).
    """
    import uvicorn

    from minxin.infra.db import session_factory
    from minxin.web.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(session_factory(engine)), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name=f"{name}-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the {name} server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def start_serve(env: dict[str, str], port: int, *, workers: int | None = None, log: Path | None = None,
                timeout: float = 120, preexec_fn: Callable[[], None] | None = None) -> subprocess.Popen[bytes]:
    """`minxin serve` in a process of its own on `port`, once its login page answers (the log, when given,
    takes its output and is shown if it does not start). A busy shared machine starts workers slowly."""
    url = f"http://127.0.0.1:{port}"
    out = log.open("wb") if log is not None else subprocess.DEVNULL
    try:
        command = [sys.executable, "-m", "minxin.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--workers", str(workers)] if workers else []  # else the settings' number
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=preexec_fn)
    finally:
        if log is not None:
            out.close()  # type: ignore[union-attr]
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + "/login", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_serve(proc)
            shown = log.read_text(errors="replace") if log is not None else ""
            raise RuntimeError(f"minxin serve did not start (exit {proc.returncode}) {shown}")
        time.sleep(0.1)


def stop_serve(proc: subprocess.Popen[bytes], *, timeout: float = 15) -> None:
    """Stop a `minxin serve` process: terminate, and kill it if it does not end in time."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


@contextmanager
def minxin_serve(env: dict[str, str], **options: Any) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`minxin serve` on a free port for the length of the block: yields its URL and its process."""
    port = free_port()
    proc = start_serve(env, port, **options)
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        stop_serve(proc)
