"""Fuzzing the API from its own OpenAPI document (schemathesis, bounded examples,
authenticated as the admin, on the demo): no server error, no response that breaks the
documented schema."""

from __future__ import annotations

from collections import Counter

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from suivi.app import create_app
from tests.support.api_clients import login

MAX_EXAMPLES = 10
# A valid body here lays out a whole PDF report (10 s and more each): its input validation,
# scopes and errors are covered by tests/reports/ instead.
NOT_FUZZED = {("POST", "/api/reports")}


def _fuzz(operation, headers, statuses: Counter) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case):
        response = case.call_and_validate(
            headers=headers, checks=[not_a_server_error, response_schema_conformance]
        )
        statuses[response.status_code // 100] += 1

    fuzz()


def test_api_fuzzing(demo_db):
    app = create_app(demo_db.settings)
    token = login(TestClient(app), "admin@example.org")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex="^/api/")
    failures, operations, statuses = [], 0, Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in NOT_FUZZED:
            continue
        operations += 1
        headers = {"Authorization": f"Bearer {token}"}
        if operation.path == "/api/auth/token" and operation.method.upper() == "DELETE":
            headers = {}  # keep the token the other operations use

        try:
            _fuzz(operation, headers, statuses)
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert operations >= 30
    assert not failures, "\n\n".join(failures)
    # The fuzzing really went through authentication and reached the routes.
    assert statuses[2] > 0 and statuses[4] > 0, statuses
