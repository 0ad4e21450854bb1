"""/healthz: 200 when the database answers at the schema's head, 503 otherwise, never 500, no login."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from minxin.infra import db, migrate
from minxin.web.app import create_app


def _client_for(url: str) -> TestClient:
    return TestClient(create_app(db.session_factory(db.make_engine(url))), follow_redirects=False)


def test_healthz_answers_200_without_login_when_the_database_is_at_the_schema_head(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "set-cookie" not in response.headers
    assert client.head("/healthz").status_code == 200


def test_healthz_answers_503_for_a_database_that_was_never_migrated(tmp_path: Path):
    with _client_for(f"sqlite:///{tmp_path / 'empty.db'}") as c:
        response = c.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "schema" in response.json()["reason"]


def test_healthz_answers_503_for_a_database_one_migration_behind_the_head(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    cfg = migrate.alembic_config(url)
    (head,) = ScriptDirectory.from_config(cfg).get_heads()
    previous = ScriptDirectory.from_config(cfg).get_revision(head).down_revision
    assert isinstance(previous, str)
    command.upgrade(cfg, previous)
    with _client_for(url) as c:
        assert c.get("/healthz").status_code == 503
    command.upgrade(cfg, "head")
    with _client_for(url) as c:
        assert c.get("/healthz").status_code == 200


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://nobody@127.0.0.1:1/nothing",  # nothing listens on port 1
    "sqlite:////nonexistent-directory/minxin.db",
])
def test_healthz_answers_503_never_500_when_the_database_cannot_be_reached(url: str):
    with _client_for(url) as c:
        response = c.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "database unreachable"}
