"""The downstream server's view of a retried http-request node (issue #28, "Done when"):
every attempt of one node in one loop iteration of one execution sends the same
Idempotency-Key — so the server can drop the repeat — and any other node, iteration or
execution another one. Run on the local runtime against a real HTTP server."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from functions.local import LocalAWS, run_routine
from plugins.runtime.event import Invocation
from plugins.runtime.idempotency import idempotency_key
from tests.conftest import link, routine
from tests.functions.conftest import Recorder

RETRY = {"maxAttempts": 3, "intervalSeconds": 1, "backoffRate": 1.0}


def expected(execution_arn: str, node: str, iteration: str | None = None) -> str:
    event = {"node": node, "execution": {"id": execution_arn, "routineId": "r", "startedAt": ""}}
    return idempotency_key(Invocation.model_validate({**event, "iteration": iteration}))


def keys_by_path(http: Recorder) -> dict[str, list[str | None]]:
    seen: dict[str, list[str | None]] = defaultdict(list)
    for request in http.requests:
        seen[request["path"]].append(request["headers"].get("Idempotency-Key"))
    return dict(seen)


def post(node_id: str, url: str, **fields: Any) -> dict[str, Any]:
    parameters = {"method": "POST", "url": url, "body": {"order": 7}, **fields.pop("parameters", {})}
    return {"id": node_id, "plugin": "http-request", "parameters": parameters, **fields}


@pytest.mark.parametrize("execution", ["standard", "express"])
def test_a_retried_node_sends_one_key_twice_and_another_node_another(
    aws: LocalAWS, http: Recorder, execution: str
) -> None:
    flaky = http.respond("/charge", (500, {"error": "busy"}), (201, {"charged": True}))
    steady = http.respond("/notify", (200, {}))
    document = routine(
        post("charge", flaky, retry=RETRY), post("notify", steady), connections=[link("charge", "notify")]
    )
    document["execution"] = execution
    result = run_routine(aws, document)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.nodes["charge"]["output"]["body"] == {"charged": True}
    seen = keys_by_path(http)
    # The server answered 500 first: the node's retry sent the request again, with one key.
    assert seen["/charge"] == [expected(result.execution_arn, "charge")] * 2
    assert seen["/notify"] == [expected(result.execution_arn, "notify")]
    assert seen["/charge"][0] != seen["/notify"][0]
    # Another execution of the same routine: other keys.
    http.respond("/charge", (201, {"charged": True}))
    again = run_routine(aws, document)
    assert keys_by_path(http)["/charge"][2] == expected(again.execution_arn, "charge") != seen["/charge"][0]
    # The routine ran on the machine type it asked for: the Express case is the issue's
    # "Express routine whose http node is retried" (issue #28, "Done when").
    assert machine_type(aws, result.execution_arn) == execution.upper()


def machine_type(aws: LocalAWS, execution_arn: str) -> str:
    sfn = aws.client("stepfunctions")
    machine = sfn.describe_execution(executionArn=execution_arn)["stateMachineArn"]
    return str(sfn.describe_state_machine(stateMachineArn=machine)["type"])


def test_each_loop_iteration_has_its_own_key_kept_across_its_retries(aws: LocalAWS, http: Recorder) -> None:
    for item in ("a", "b", "c"):
        http.respond(f"/items/{item}", (503, "later"), (200, {"ok": item}))
    base = http.respond("/", (404, {}))
    # The list comes from a node: the JSONata compiler cannot take a literal list of items
    # yet (statemachines/machine/constructs.py parses it as a template).
    document = routine(
        {"id": "list", "plugin": "static-data", "parameters": {"data": ["a", "b", "c"]}},
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ nodes.list }}", "maxConcurrency": 3}},
        post("put", base + "items/{{ loop.item }}", retry=RETRY),
        connections=[link("list", "each"), link("each", "put", port="body")],
    )
    result = run_routine(aws, document)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    seen = keys_by_path(http)
    for index, item in enumerate(("a", "b", "c")):
        assert seen[f"/items/{item}"] == [expected(result.execution_arn, "put", str(index))] * 2
    assert len({keys[0] for keys in seen.values()}) == 3


def test_the_header_can_be_renamed_turned_off_or_set_by_the_user(aws: LocalAWS, http: Recorder) -> None:
    url = http.respond("/hook", (200, {}))
    nodes = [
        post("renamed", url + "?n=renamed", parameters={"idempotencyHeader": "X-Request-Id"}),
        post("empty", url + "?n=empty", parameters={"idempotencyHeader": ""}),
        post("null", url + "?n=null", parameters={"idempotencyHeader": None}),
        post("own", url + "?n=own", parameters={"headers": {"idempotency-key": "order-7"}}),
    ]
    result = run_routine(aws, routine(*nodes))
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    headers = {r["path"].split("=")[1]: r["headers"] for r in http.requests}
    assert headers["renamed"]["X-Request-Id"] == expected(result.execution_arn, "renamed")
    assert "Idempotency-Key" not in headers["renamed"]
    assert not any(k.lower() == "idempotency-key" for k in headers["empty"])
    assert not any(k.lower() == "idempotency-key" for k in headers["null"])
    own = [v for k, v in headers["own"].items() if k.lower() == "idempotency-key"]
    assert own == ["order-7"]  # the user's header, once, not ours beside it
