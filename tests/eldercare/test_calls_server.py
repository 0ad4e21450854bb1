"""The call centre as it runs: a real `minxin serve` on loopback over a committed database (SQLite file
and PostgreSQL). The console feed (SSE) delivers every step and catches up with Last-Event-ID;
emergencies escalate with no browser open and across a restart; a duplicate event sent by several
clients at the same moment is one call; a server killed during a burst loses no acknowledged call.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select, text
from tests.conftest import committed_database, free_port, make_user, minxin_serve, start_serve, stop_serve
from tests.factories import elderly_person

from minxin.auth import audit
from minxin.auth.service import create_token, ensure_system_user
from minxin.eldercare import calls as svc
from minxin.eldercare.models import Call
from minxin.infra import db

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "lianyungang-2012.toml"


@dataclass
class Centre:
    url: str
    engine: Engine
    env: dict[str, str]
    token: str
    officer_token: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def centre_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Centre]:
    tmp = tmp_path_factory.mktemp("centre")
    # Emergencies escalate at once and the sweep runs every second: the test need not wait a minute.
    policy = tmp / "policy.toml"
    text_ = POLICY.read_text(encoding="utf-8")
    text_ = text_.replace("emergency_ack_seconds = 60", "emergency_ack_seconds = 0")
    policy.write_text(text_.replace("escalation_poll_seconds = 5", "escalation_poll_seconds = 1"), encoding="utf-8")
    with committed_database(request.param, tmp, "eldercare_srv") as engine:
        with db.unit_of_work(engine) as s:
            system = ensure_system_user(s)
            agent = make_user(s, username="srv_agent", role="call_agent", scope="320700")
            officer = make_user(s, username="srv_officer", role="county_officer", scope="320706")
            elderly_person(s, officer, terminal="SRV-1", phone="13855550000")
            token = create_token(s, actor=system, user=agent)
            officer_token = create_token(s, actor=system, user=officer)
        url = engine.url.render_as_string(hide_password=False)
        env = {**os.environ, "MINXIN_DATABASE_URL": url, "MINXIN_POLICY_FILE": str(policy)}
        yield Centre("", engine, env, token, officer_token)


@pytest.fixture(scope="module")
def centre(centre_db: Centre) -> Iterator[Centre]:
    with minxin_serve(centre_db.env, workers=1) as (url, _proc):
        centre_db.url = url
        yield centre_db


class Feed:
    """Reads SSE frames from the console stream in a thread."""

    def __init__(self, centre: Centre, *, after: int | None = None, last_event_id: int | None = None) -> None:
        self.events: list[dict[str, object]] = []
        self.ids: list[int] = []
        self.ready = threading.Event()
        self.stop = threading.Event()
        params = {} if after is None else {"after": str(after)}
        headers = centre.headers() | ({} if last_event_id is None else {"Last-Event-ID": str(last_event_id)})
        self.thread = threading.Thread(target=self._run, args=(centre.url, params, headers), daemon=True)
        self.thread.start()
        assert self.ready.wait(10), "stream did not open"

    def _run(self, url: str, params: dict[str, str], headers: dict[str, str]) -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server going away ends the feed
            self._read(url, params, headers)

    def _read(self, url: str, params: dict[str, str], headers: dict[str, str]) -> None:
        with httpx.Client(timeout=httpx.Timeout(5, read=30)) as client, client.stream(
                "GET", f"{url}/api/v1/calls/stream", params=params, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            frame: dict[str, str] = {}
            for line in response.iter_lines():
                self.ready.set()
                if self.stop.is_set():
                    return
                if line.startswith("id: "):
                    frame["id"] = line[4:]
                elif line.startswith("data: "):
                    frame["data"] = line[6:]
                elif line == "" and "data" in frame:
                    self.ids.append(int(frame["id"]))
                    self.events.append(json.loads(frame["data"]))
                    frame = {}

    def wait_for(self, predicate, timeout: float = 10.0) -> dict[str, object]:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in list(self.events):
                if predicate(e):
                    return e
            time.sleep(0.02)
        raise AssertionError(f"no such event; got {self.events}")

    def close(self) -> None:
        self.stop.set()


def _post(centre: Centre, **body: object) -> httpx.Response:
    return httpx.post(f"{centre.url}/api/v1/calls", json=body, headers=centre.headers(), timeout=10)


def test_an_open_console_receives_every_new_call_and_step(centre: Centre) -> None:
    feed = Feed(centre)
    started = time.monotonic()
    call = _post(centre, caller="SRV-1", kind="service").json()
    got = feed.wait_for(lambda e: e["call_id"] == call["id"] and e["action"] == "received")
    assert time.monotonic() - started < 2.0
    assert got["person_id"] == call["person_id"] is not None and got["status"] == "open"
    httpx.post(f"{centre.url}/api/v1/calls/{call['id']}/take", headers=centre.headers(), timeout=10)
    feed.wait_for(lambda e: e["call_id"] == call["id"] and e["action"] == "take")
    assert feed.ids == sorted(feed.ids)
    feed.close()


def test_a_reconnecting_console_catches_up_with_last_event_id(centre: Centre) -> None:
    feed = Feed(centre)
    first = _post(centre, caller="13855550000").json()
    seen = feed.wait_for(lambda e: e["call_id"] == first["id"])
    feed.close()  # the console drops off …
    missed = [_post(centre, caller=f"0518{i:04d}", kind="consult").json()["id"] for i in range(3)]
    httpx.post(f"{centre.url}/api/v1/calls/{missed[0]}/take", headers=centre.headers(), timeout=10)
    back = Feed(centre, last_event_id=int(seen["event_id"]))  # … and comes back
    back.wait_for(lambda e: e["call_id"] == missed[0] and e["action"] == "take")
    caught = [(e["call_id"], e["action"]) for e in back.events if e["call_id"] in missed]
    assert caught[:4] == [(missed[0], "received"), (missed[1], "received"), (missed[2], "received"),
                          (missed[0], "take")]
    assert min(back.ids) > int(seen["event_id"])
    back.close()


def test_a_county_officer_gets_no_feed(centre: Centre) -> None:
    r = httpx.get(f"{centre.url}/api/v1/calls/stream", headers={"Authorization": f"Bearer {centre.officer_token}"},
                  timeout=10)
    assert r.status_code == 403


def test_an_emergency_escalates_with_no_browser_open(centre: Centre) -> None:
    call = _post(centre, caller="SRV-1", kind="emergency").json()
    deadline = time.monotonic() + 10
    actions: list[str] = []
    while time.monotonic() < deadline:
        detail = httpx.get(f"{centre.url}/api/v1/calls/{call['id']}", headers=centre.headers(), timeout=10).json()
        actions = [s["action"] for s in detail["timeline"]]
        if "escalate" in actions:
            break
        time.sleep(0.2)
    assert actions == ["received", "escalate"] and detail["escalated"]


def test_the_same_event_sent_by_many_clients_at_once_is_one_call(centre: Centre) -> None:
    barrier = threading.Barrier(8)
    answers: list[tuple[int, int]] = []

    def send() -> None:
        barrier.wait()
        r = _post(centre, caller="SRV-1", kind="emergency", event_id="pbx-race-1")
        answers.append((r.status_code, r.json()["id"]))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(answers) == 8
    assert sorted(code for code, _ in answers) == [200] * 7 + [201]
    assert len({cid for _, cid in answers}) == 1
    with centre.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Call).where(Call.event_id == "pbx-race-1")).scalar() == 1


def test_two_transactions_inserting_the_same_event_at_once_store_one_call(centre_db: Centre,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Both have identified the caller before either writes; the audit chain lock (on SQLite the write
    lock) lets one write first, and the other finds its event_id stored and answers with that call."""
    from minxin.auth.models import User

    barrier = threading.Barrier(2)
    identify = svc.identify_caller

    def identify_then_wait(session, caller):  # type: ignore[no-untyped-def]
        found = identify(session, caller)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=1.5)  # SQLite's write lock makes the second wait: then no race at all
        return found

    monkeypatch.setattr(svc, "identify_caller", identify_then_wait)
    results: list[tuple[int, bool]] = []

    def receive() -> None:
        with db.unit_of_work(centre_db.engine) as s:
            agent = s.execute(select(User).where(User.username == "srv_agent")).scalar_one()
            call, created = svc.receive_call(s, actor=agent, caller="SRV-1", event_id="race-2")
            results.append((call.id, created))

    threads = [threading.Thread(target=receive) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(created for _, created in results) == [False, True]
    assert len({cid for cid, _ in results}) == 1
    with centre_db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Call).where(Call.event_id == "race-2")).scalar() == 1


def test_a_step_whose_transaction_commits_late_is_not_skipped_by_open_or_reconnecting_consoles(
        centre: Centre) -> None:
    """On PostgreSQL a step's id comes from a sequence when it is inserted. Transaction A inserts a step
    (id n) and has not committed; B, begun later, inserts n + 1 and wants to commit first. Were a poll
    to see n + 1 before n, a console reading "id > last sent" would skip n forever. Both consoles (one
    open throughout, one reconnecting with Last-Event-ID from before A) get both steps, in id order."""
    from minxin.auth.models import User

    feed = Feed(centre)
    first = _post(centre, caller="0518-late-0", kind="consult").json()
    mark = feed.wait_for(lambda e: e["call_id"] == first["id"])
    done: dict[str, int] = {}

    def other() -> None:  # B: a whole call, committed as soon as it may
        with db.unit_of_work(centre.engine) as b:
            agent_b = b.execute(select(User).where(User.username == "srv_agent")).scalar_one()
            call_b, _ = svc.receive_call(b, actor=agent_b, caller="0518-late-B", kind="consult", event_id="late-B")
            done["b"] = call_b.id

    with db.unit_of_work(centre.engine) as a:
        step_a = svc._append_step(a, first["id"], "srv_agent", "note", "迟到的备注")  # A: step inserted …
        t = threading.Thread(target=other)
        t.start()
        t.join(1.5)  # … B runs meanwhile (or waits for A: the chain lock / SQLite's write lock) …
        time.sleep(0.3)  # … and the open feed polls a few times
        agent = a.execute(select(User).where(User.username == "srv_agent")).scalar_one()
        audit.record(a, actor=agent.username, action="call.note", entity="call", entity_id=first["id"])
    t.join(30)  # A has committed
    assert "b" in done
    for got in (feed, Feed(centre, last_event_id=int(mark["event_id"]))):
        got.wait_for(lambda e: e["call_id"] == done["b"])
        got.wait_for(lambda e: e["event_id"] == step_a, timeout=3)
        assert got.ids == sorted(got.ids) and len(set(got.ids)) == len(got.ids)
        got.close()


def test_a_server_killed_in_a_burst_loses_no_acknowledged_call_and_escalates_after_restart(centre_db: Centre) -> None:
    port = free_port()
    proc = start_serve(centre_db.env, port, workers=1)
    url = f"http://127.0.0.1:{port}"
    acknowledged: list[int] = []
    stop = threading.Event()

    def burst() -> None:
        with httpx.Client(timeout=5) as client:
            for i in range(10_000):
                if stop.is_set():
                    return
                try:
                    r = client.post(f"{url}/api/v1/calls", headers={"Authorization": f"Bearer {centre_db.token}"},
                                    json={"caller": f"0518{i:06d}", "kind": "emergency", "event_id": f"burst-{i}"})
                except httpx.HTTPError:
                    return
                if r.status_code == 201:
                    acknowledged.append(r.json()["id"])

    sender = threading.Thread(target=burst)
    sender.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    stop.set()
    sender.join(30)
    assert len(acknowledged) >= 30
    with centre_db.engine.connect() as conn:
        stored = set(conn.execute(select(Call.id).where(Call.id.in_(acknowledged))).scalars())
        steps = conn.execute(text("SELECT COUNT(*) FROM call_events WHERE action = 'received' AND call_id IN "
                                  f"({','.join(map(str, acknowledged))})")).scalar()
    assert stored == set(acknowledged) and steps == len(acknowledged)
    # Every burst call is an emergency that nobody took: the restarted server escalates them.
    proc = start_serve(centre_db.env, port, workers=1)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with centre_db.engine.connect() as conn:
                left = conn.execute(select(func.count()).select_from(Call).where(
                    Call.id.in_(acknowledged), Call.escalated_at.is_(None))).scalar()
            if left == 0:
                break
            time.sleep(0.3)
        assert left == 0
    finally:
        stop_serve(proc)


def test_with_two_worker_processes_every_console_sees_every_call(centre_db: Centre) -> None:
    """Calls land on either worker; each console's feed, served by either worker, reads them all from the
    database."""
    with minxin_serve(centre_db.env, workers=2) as (url, _proc):
        centre = Centre(url, centre_db.engine, centre_db.env, centre_db.token,
                        centre_db.officer_token)
        feeds = [Feed(centre) for _ in range(3)]
        ids = []
        with httpx.Client(timeout=10) as client:  # a new connection each time: the kernel spreads them
            for i in range(20):
                r = httpx.post(f"{centre.url}/api/v1/calls", json={"caller": f"0518{i:05d}", "kind": "consult"},
                               headers=centre.headers(), timeout=10)
                assert r.status_code == 201
                ids.append(r.json()["id"])
            assert client is not None
        for feed in feeds:
            feed.wait_for(lambda e: e["call_id"] == ids[-1])
            got = [e["call_id"] for e in feed.events if e["action"] == "received" and e["call_id"] in ids]
            assert got == ids
            feed.close()
