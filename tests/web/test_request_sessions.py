"""The request's database session as the app really runs it: a committed database (SQLite file and
PostgreSQL), the app's own session factory (no test savepoints). A request ends its transaction
before its answer is sent, whatever way it ends, and call intake writes in one short transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from tests.conftest import committed_database, make_user

from minxin.auth.models import ApiToken
from minxin.auth.service import create_token, ensure_system_user
from minxin.eldercare.models import Call
from minxin.infra import db
from minxin.infra.db import utcnow
from minxin.web.app import create_app

LONG_AGO = timedelta(days=3)


@dataclass
class Site:
    engine: Engine
    client: TestClient
    path: Path
    agent: str  # bearer tokens
    officer: str

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def turn_taken(self) -> bool:
        return self.engine.dialect.name == "sqlite" and db._write_turn(str(self.path)).locked()

    def stamps(self) -> list[object]:
        with db.unit_of_work(self.engine, write=False) as s:
            return list(s.execute(select(ApiToken.last_used_at).order_by(ApiToken.id)).scalars())

    def age_stamps(self) -> None:
        with db.unit_of_work(self.engine) as s:
            s.execute(update(ApiToken).values(last_used_at=utcnow() - LONG_AGO))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("sessions")
    with committed_database(request.param, folder, "request_sessions") as engine:
        with db.unit_of_work(engine) as s:
            system = ensure_system_user(s)
            agent = make_user(s, username="rs_agent", role="call_agent", scope="320700")
            officer = make_user(s, username="rs_officer", role="county_officer", scope="320706")
            agent_token = create_token(s, actor=system, user=agent)
            officer_token = create_token(s, actor=system, user=officer)
        with TestClient(create_app(db.session_factory(engine)), base_url="http://testserver",
                        follow_redirects=False) as client:
            yield Site(engine, client, folder / "request_sessions.db", agent_token, officer_token)


def test_a_refused_write_request_has_let_go_of_the_write_lock_when_it_answers(site: Site) -> None:
    call_id = site.client.post("/api/v1/calls", json={"caller": "13800000001"},
                               headers=site.headers(site.agent)).json()["id"]
    assert not site.turn_taken()
    # A write route: its transaction began with the write lock held (BEGIN IMMEDIATE), then the
    # service refused the role (403), the unknown token (401), the missing record (404).
    refused = [
        site.client.post(f"/api/v1/calls/{call_id}/take", headers=site.headers(site.officer)),
        site.client.post(f"/api/v1/calls/{call_id}/take", headers=site.headers("mx_not-a-token")),
        site.client.post("/api/v1/calls/999999/take", headers=site.headers(site.agent)),
    ]
    assert [r.status_code for r in refused] == [403, 401, 404]
    for _ in refused:
        assert not site.turn_taken()
    if site.engine.dialect.name != "sqlite":
        return
    # and the database takes another writer at once (SQLite's own lock is free as well)
    raw = db.sqlite_module().connect(str(site.path), timeout=0)
    try:
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("ROLLBACK")
    finally:
        raw.close()


def test_call_intake_stamps_the_token_in_its_own_write_transaction_and_a_read_does_not(site: Site) -> None:
    site.age_stamps()
    before = site.stamps()
    answer = site.client.get("/api/v1/calls", headers=site.headers(site.agent))
    assert answer.status_code == 200
    assert site.stamps() == before  # a GET writes nothing
    answer = site.client.post("/api/v1/calls", json={"caller": "13800000002", "event_id": "rs-1"},
                              headers=site.headers(site.agent))
    assert answer.status_code == 201
    agent_stamp, officer_stamp = site.stamps()
    assert agent_stamp is not None and utcnow() - agent_stamp < timedelta(minutes=1)  # type: ignore[operator]
    assert officer_stamp == before[1]
    with db.unit_of_work(site.engine, write=False) as s:
        assert s.execute(select(Call.caller).where(Call.event_id == "rs-1")).scalar_one() == "13800000002"
    assert not site.turn_taken()


def test_intake_refused_after_identification_stores_nothing_and_no_stamp(site: Site) -> None:
    site.age_stamps()
    before = site.stamps()
    answer = site.client.post("/api/v1/calls", json={"caller": "13800000003", "event_id": "rs-2"},
                              headers=site.headers(site.officer))
    assert answer.status_code == 403
    assert site.stamps() == before
    with db.unit_of_work(site.engine, write=False) as s:
        assert s.execute(select(Call.id).where(Call.event_id == "rs-2")).first() is None
    assert not site.turn_taken()
