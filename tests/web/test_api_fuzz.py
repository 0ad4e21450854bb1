"""Schemathesis over the JSON API: generated valid and invalid requests, as two roles, never a 5xx.

Bounded and derandomized (a fixed number of examples per operation and mode, no example database),
so the same requests are sent on every run. `minxin serve` plus `schemathesis run` by hand goes
further (README, *Tests and benchmarks*).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from sqlalchemy.orm import Session
from tests.factories import active_case, household

from minxin.auth.models import User
from minxin.auth.service import create_token

EXAMPLES_PER_MODE = 6


def _fuzz_operation(operation: Any, mode: GenerationMode, headers: dict[str, str], found: list[str]) -> None:
    @settings(max_examples=EXAMPLES_PER_MODE, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(mode))
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        if response.status_code >= 500:
            found.append(f"{case.method} {case.formatted_path} {mode}: {response.status_code} "
                         f"query={case.query} body={case.body!r:.300}")

    run()


@pytest.mark.parametrize("role", ["city_admin", "county_officer"])
def test_no_generated_api_request_gets_a_server_error(app: Any, session: Session, city_admin: User,
                                                      request: pytest.FixtureRequest, role: str) -> None:
    user: User = request.getfixturevalue(role)
    active_case(session, household(session, city_admin))  # records in scope, so small ids can hit something
    headers = {"Authorization": f"Bearer {create_token(session, actor=city_admin, user=user)}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the served schema is valid for every operation
        operations.append(result.ok())
    assert len(operations) >= 20
    found: list[str] = []
    for operation in operations:
        if operation.path == "/api/v1/calls/stream":
            continue  # an endless event stream: each request would hold until the feed's time limit
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz_operation(operation, mode, headers, found)
    assert found == []
