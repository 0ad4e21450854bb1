"""Structured request logs: one JSON line per request with its id, never an ID number."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.factories import new_id
from tests.web.conftest import logged_in, xlsx_bytes

from minxin.auth.service import create_token
from minxin.infra import db
from minxin.web.app import create_app
from minxin.web.logs import IdNumberFilter, JsonFormatter, RequestIdFilter, mask_id_numbers

# An ID number stands alone: a run of 18 digits inside a hex request id (uuid4().hex, about one in 300
# has one) is not one, as for the filter itself (minxin.web.logs._ID_LIKE).
_ID = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9X](?![0-9A-Za-z])")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.addFilter(IdNumberFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _lines(stream: io.StringIO) -> list[dict]:  # type: ignore[type-arg]
    text = stream.getvalue()
    assert not _ID.search(text), "an ID number reached the log"
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _access(stream: io.StringIO) -> list[dict]:  # type: ignore[type-arg]
    return [line for line in _lines(stream) if line["logger"] == "minxin.access"]


def test_each_request_writes_one_json_line_with_the_id_it_returns(client, captured):
    response = client.get("/login")
    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    (line,) = _access(captured)
    assert line["request_id"] == request_id
    assert line["method"] == "GET" and line["path"] == "/login" and line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert "user_id" not in line  # nobody is logged in


def test_an_incoming_request_id_is_kept_and_a_hostile_one_replaced(client, captured):
    assert client.get("/login", headers={"X-Request-ID": "lb-7f3a.01"}).headers["X-Request-ID"] == "lb-7f3a.01"
    hostile = client.get("/login", headers={"X-Request-ID": "x" * 200})
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["X-Request-ID"])
    injected = client.get("/login", headers={"X-Request-ID": '{"status": 200} fake'})
    assert re.fullmatch(r"[0-9a-f]{32}", injected.headers["X-Request-ID"])
    ids = [line["request_id"] for line in _access(captured)]
    assert ids == ["lb-7f3a.01", hostile.headers["X-Request-ID"], injected.headers["X-Request-ID"]]


def test_the_logged_in_user_id_is_logged_and_the_query_string_is_not(client, captured, county_officer):
    logged_in(client, county_officer)
    number = new_id()
    response = client.get(f"/registry?q={number}&page=1")
    assert response.status_code == 200
    line = _access(captured)[-1]
    assert line["path"] == "/registry"
    assert line["query_keys"] == ["q", "page"]
    assert line["user_id"] == county_officer.id
    assert number not in captured.getvalue()


def test_an_id_number_in_a_path_is_masked_in_the_log(client, captured, county_officer):
    logged_in(client, county_officer)
    number = new_id()
    client.get(f"/registry/persons/{number}")
    line = _access(captured)[-1]
    assert line["path"].endswith(number[:6] + "********" + number[-4:])


def test_a_line_logged_while_serving_a_request_carries_its_request_id(captured):
    app = create_app(db.session_factory(db.make_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing")))
    with TestClient(app) as c:
        assert c.get("/healthz", headers={"X-Request-ID": "probe-1"}).status_code == 503
    warning = next(line for line in _lines(captured) if line["logger"] == "minxin.health")
    assert warning["level"] == "WARNING" and warning["request_id"] == "probe-1"
    assert _access(captured)[-1]["request_id"] == "probe-1"


def test_a_traceback_reaches_the_log_with_its_id_numbers_masked(captured):
    number = new_id()
    log = logging.getLogger("minxin.test")
    try:
        raise ValueError(f"duplicate person {number}")
    except ValueError:
        log.exception("import failed for %s", number)
    (line,) = _lines(captured)
    assert line["level"] == "ERROR"
    assert number not in line["message"] and number not in line["exc"]
    assert "ValueError: duplicate person " + number[:6] + "********" in line["exc"]


def test_masking_leaves_other_numbers_alone():
    number = new_id()
    assert mask_id_numbers(f"id {number}, account 6228480012345678901, 3 rows") == \
        f"id {number[:6]}********{number[-4:]}, account 6228480012345678901, 3 rows"
    assert mask_id_numbers("old 320706900101123") == "old 320706*****1123"
    assert mask_id_numbers("took 1234 ms") == "took 1234 ms"
    hex_id = "ed9aa471b530450787637568f2f76255"  # a request id with 15 digits in a row
    assert mask_id_numbers(hex_id) == hex_id
    assert mask_id_numbers(f"查{number}。") == f"查{number[:6]}********{number[-4:]}。"


def test_the_user_id_is_logged_after_a_request_whose_transaction_was_rolled_back(
        client, captured, session, city_admin, county_officer):
    headers = {"Authorization": f"Bearer {create_token(session, actor=city_admin, user=county_officer)}"}
    response = client.post("/api/v1/imports/households", headers=headers,
                           files={"file": ("h.xlsx", xlsx_bytes([["X1", "张伟", "123"]]), "application/octet-stream")})
    assert response.status_code == 422
    line = _access(captured)[-1]
    assert line["status"] == 422 and line["user_id"] == county_officer.id
