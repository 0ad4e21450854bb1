"""Login floods against a real `minxin serve` process on SQLite, over loopback.

Clients come from different loopback addresses (127.0.0.x), as different machines would. Every loop
here is bounded in count and time.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.conftest import minxin_serve

from minxin.auth.service import LOGIN_NAME_MAX_WAIT, add_user, ensure_system_user
from minxin.infra.db import make_engine, unit_of_work

PASSWORD = "Strong-pass1"
ATTEMPTS = 1  # per client
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_ERROR = re.compile(r'id="login-error">([^<]*)<')


@dataclass(frozen=True)
class Server:
    url: str
    log: Path


def _env(db: Path) -> dict[str, str]:
    return {**os.environ, "MINXIN_DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "200"}


def _cli(db: Path, *args: str, stdin: str | None = None) -> None:
    r = subprocess.run([sys.executable, "-m", "minxin.cli", *args], capture_output=True, text=True, env=_env(db),
                       input=stdin, timeout=120, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("flood")
    db = tmp / "flood.db"
    _cli(db, "init")
    engine = make_engine(f"sqlite:///{db}")
    with unit_of_work(engine) as session:
        system = ensure_system_user(session)
        for name, role, scope in (("admin", "city_admin", "320700"), ("clerk", "community_worker", "320706006001"),
                                  ("worker", "community_worker", "320706006001"),
                                  ("victim", "community_worker", "320706006001"),
                                  ("known", "community_worker", "320706006001")):
            add_user(session, actor=system, username=name, password=PASSWORD, role=role, scope_code=scope)
    engine.dispose()
    log = tmp / "server.log"
    with minxin_serve(_env(db), log=log, timeout=60) as (url, _proc):
        yield Server(url=url, log=log)


def _client(server: Server, address: str = "127.0.0.1") -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=server.url, transport=transport, timeout=120, follow_redirects=False)


def _login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    page = client.get("/login")
    match = _CSRF.search(page.text)
    assert match, page.text[:300]
    return client.post("/login", data={"username": username, "password": password, "next": "/",
                                       "csrf_token": match.group(1)})


def _error(response: httpx.Response) -> str:
    match = _ERROR.search(response.text)
    return match.group(1) if match else ""


def test_forty_parallel_logins_while_a_clerk_works_give_no_server_error(server: Server) -> None:
    clerk = _client(server)
    assert _login(clerk, "clerk", PASSWORD).status_code == 303
    statuses: Counter[int] = Counter()
    clerk_statuses: Counter[int] = Counter()
    lock = threading.Lock()
    flooding = threading.Event()
    flooding.set()

    def flood(i: int) -> None:
        for attempt in range(ATTEMPTS):
            name, password = [("worker", PASSWORD), ("victim", "wrong-pass-9"), (f"ghost{i}", "wrong-pass-9")][
                (i + attempt) % 3]
            with _client(server, f"127.0.1.{i + 1}") as c:
                status = _login(c, name, password).status_code
            with lock:
                statuses[status] += 1

    def work() -> None:
        deadline = time.monotonic() + 180
        while flooding.is_set() and time.monotonic() < deadline:
            response = clerk.get("/registry")
            with lock:
                clerk_statuses[response.status_code] += 1

    worker = threading.Thread(target=work)
    worker.start()
    threads = [threading.Thread(target=flood, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    flooding.clear()
    worker.join(timeout=60)
    clerk.close()
    assert sum(statuses.values()) == 40 * ATTEMPTS, statuses
    assert not [s for s in statuses if s >= 500], (statuses, server.log.read_text()[-3000:])
    assert set(statuses) <= {303, 401, 429}, statuses
    assert statuses[303] >= 1
    assert set(clerk_statuses) == {200}, clerk_statuses  # never refused, never sent back to the login page
    assert "database is locked" not in server.log.read_text()


def test_an_attacker_hammering_admin_from_one_address_does_not_stop_admin_from_another(server: Server) -> None:
    attacker_statuses: Counter[int] = Counter()
    stop = threading.Event()

    def attack() -> None:
        deadline = time.monotonic() + 30
        with _client(server, "127.0.0.2") as c:
            for _ in range(300):
                if stop.is_set() or time.monotonic() > deadline:
                    return
                attacker_statuses[_login(c, "admin", "guess-0000").status_code] += 1

    attacker = threading.Thread(target=attack)
    attacker.start()
    until = time.monotonic() + 40
    while not attacker_statuses[429] and time.monotonic() < until:  # until the attacker is being slowed
        time.sleep(0.2)
    started = time.monotonic()
    admin = _client(server, "127.0.0.3")
    try:
        while True:
            response = _login(admin, "admin", PASSWORD)
            if response.status_code != 429 or time.monotonic() - started > LOGIN_NAME_MAX_WAIT + 15:
                break
            time.sleep(int(response.headers["Retry-After"]))
        waited = time.monotonic() - started
    finally:
        stop.set()
        attacker.join(timeout=60)
    assert response.status_code == 303, (response.status_code, _error(response), attacker_statuses)
    assert admin.get("/").status_code == 200
    admin.close()
    assert waited <= LOGIN_NAME_MAX_WAIT + 10
    # The attacker's own address was slowed (refused before any password check), and never got in.
    assert attacker_statuses[429] >= 1 and attacker_statuses[401] >= 5, attacker_statuses
    assert set(attacker_statuses) <= {401, 429}, attacker_statuses


def test_an_unknown_name_gets_the_same_answer_in_the_same_time_as_a_known_one(server: Server) -> None:
    timings: dict[str, list[float]] = {"known": [], "nobody_at_all": []}
    answers = set()
    for i in range(3):
        for name in timings:
            with _client(server, f"127.0.2.{i * 2 + len(name) % 2 + 1}") as c:
                page = c.get("/login")
                token = _CSRF.search(page.text).group(1)  # type: ignore[union-attr]
                t0 = time.perf_counter()
                response = c.post("/login", data={"username": name, "password": "wrong-pass-9", "next": "/",
                                                  "csrf_token": token})
                timings[name].append(time.perf_counter() - t0)
                answers.add((response.status_code, _error(response)))
    assert answers == {(401, "用户名或密码错误")}
    # An unknown name runs the same argon2 verify (on a dummy hash): not measurably faster.
    assert min(timings["nobody_at_all"]) >= 0.5 * min(timings["known"]), timings


class _HasherThatTriesToWrite:
    """Wraps the real argon2 hasher: while a password is being verified, another connection tries to
    take the SQLite write lock without waiting. It gets it only if the login holds no write lock."""

    def __init__(self, real: object, db: Path) -> None:
        self.real = real
        self.db = db
        self.lock_free: list[bool] = []

    def verify(self, stored: str, password: str) -> bool:
        con = sqlite3.connect(self.db, timeout=0, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute("ROLLBACK")
            self.lock_free.append(True)
        except sqlite3.OperationalError:  # database is locked
            self.lock_free.append(False)
        finally:
            con.close()
        return self.real.verify(stored, password)  # type: ignore[attr-defined, no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


def test_the_password_is_checked_while_other_writers_can_write(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from minxin.auth import service
    from minxin.infra import migrate
    from minxin.infra.db import session_factory
    from minxin.registry.service import seed_regions
    from minxin.web.app import create_app

    db = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    with unit_of_work(engine) as session:
        seed_regions(session)
        add_user(session, actor=ensure_system_user(session), username="clerk", password=PASSWORD,
                 role="community_worker", scope_code="320706006001")
    spy = _HasherThatTriesToWrite(service._hasher, db)
    monkeypatch.setattr(service, "_hasher", spy)
    with TestClient(create_app(session_factory(engine)), follow_redirects=False) as client:
        for name, password, status in (("clerk", "wrong-pass-9", 401), ("nobody", "wrong-pass-9", 401),
                                       ("clerk", PASSWORD, 303)):
            page = client.get("/login")
            token = _CSRF.search(page.text).group(1)  # type: ignore[union-attr]
            response = client.post("/login", data={"username": name, "password": password, "next": "/",
                                                   "csrf_token": token})
            assert response.status_code == status
    engine.dispose()
    assert spy.lock_free == [True, True, True]
