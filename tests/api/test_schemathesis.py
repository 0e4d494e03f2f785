"""A bounded schemathesis run against /openapi.json as ``routines serve`` serves it (every
operation: the API's, the webhook's, the local ones): no 500, every response conforms to
the document (status code, content type, headers, body), requests the document allows
are accepted and requests it forbids are refused.

Configuration (the few documented answers a JSON Schema cannot predict, and why
ignored_auth is off): ``tests/api/schemathesis.toml``, shared with the full run by hand
(docs/api.md, "Checking the API against its document")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from functions.serve import running
from tests.api.conftest import manual
from tests.api.test_serve import http

CONFIG = Path(__file__).with_name("schemathesis.toml")
# Bounded: each of the 22 operations gets 15 positive and 15 negative cases (and 15 more
# on the real routine for the 9 operations on a routine): about 740 requests, ~20 s.
EXAMPLES_PER_STRATEGY = 15
OPERATIONS = 22  # 19 of the API, POST /hooks/{routineId}, 2 under /local/
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    positive_data_acceptance,
    negative_data_rejection,
]


def test_api_conforms_to_its_openapi_document() -> None:
    with running() as server:
        # One real, active routine with a run: the operations on a routine also get it
        # (their success responses are checked too, not only their 404s).
        routine = http(server.url, "POST", "/routines", manual(), user="fuzz")[1]
        http(server.url, "POST", f"/routines/{routine['id']}/activate", user="fuzz")
        http(server.url, "POST", f"/routines/{routine['id']}/executions", {"input": {}}, user="fuzz")
        config = schemathesis.Config.from_path(CONFIG)
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=config)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == OPERATIONS
        # DELETE last: it would take the real routine away from the others.
        operations.sort(key=lambda operation: operation.method.upper() == "DELETE")
        statuses: dict[str, set[int]] = {}
        for operation in operations:
            strategies = [
                operation.as_strategy(GenerationMode.POSITIVE),
                operation.as_strategy(GenerationMode.NEGATIVE),
            ]
            if "{routine_id}" in operation.path:
                pinned = {"routine_id": routine["id"]}
                strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=pinned))
            for strategy in strategies:
                _run(strategy, server.url, statuses)
        assert len(statuses) == OPERATIONS
        # The real routine was reached: success responses were checked, not only errors.
        assert 200 in statuses["GET /routines/{routine_id}"]
        assert 200 in statuses["GET /routines/{routine_id}/executions"]


def _run(strategy: st.SearchStrategy[Any], base_url: str, statuses: dict[str, set[int]]) -> None:
    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES_PER_STRATEGY,
        phases=[Phase.explicit, Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def call(case: Any) -> None:
        # The caller is always "fuzz" (it owns the real routine); a negative case that
        # leaves the identity out keeps it out (then a 401 is the expected answer).
        identity = {"X-User-Id": "fuzz"} if "X-User-Id" in (case.headers or {}) else {}
        response = case.call(base_url=base_url, headers=identity)
        statuses.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
        case.validate_response(response, checks=CHECKS)

    call()
