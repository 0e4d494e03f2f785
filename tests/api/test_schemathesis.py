"""A bounded schemathesis run against /openapi.json as ``routines serve`` serves it: no
500, and every response matches the schema the API publishes."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from functions.serve import running
from tests.api.conftest import manual
from tests.api.test_serve import http

EXAMPLES_PER_OPERATION = 8  # bounded: CI stays fast (17 operations)
CHECKS = [not_a_server_error, response_schema_conformance]


def test_api_conforms_to_its_openapi_document() -> None:
    with running() as server:
        # One real, active routine: generated requests sometimes reach existing resources.
        routine = http(server.url, "POST", "/routines", manual(), user="fuzz")[1]
        http(server.url, "POST", f"/routines/{routine['id']}/activate", user="fuzz")
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == 17
        calls: list[str] = []
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                phases=[Phase.explicit, Phase.generate],
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def call(case: Any) -> None:
                response = case.call(base_url=server.url, headers={"X-User-Id": "fuzz"})
                calls.append(f"{case.method} {case.path} {response.status_code}")
                case.validate_response(response, checks=CHECKS)

            call()
        assert len(calls) >= len(operations)
