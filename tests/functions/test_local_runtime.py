"""End to end through the local runtime: compiled state machines executed by moto's Step
Functions interpreter, every plugin Lambda invoked in-process by its handler string."""

from __future__ import annotations

import json
import time
from typing import Any

from functions.local import LocalAWS, run_routine
from functions.local.runner import start_routine
from tests.conftest import link, routine
from tests.functions.conftest import Recorder


def transform(node_id: str, fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}, **extra}


def static(node_id: str, data: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "static-data", "parameters": {"data": data}}


def statuses(result: Any) -> dict[str, str]:
    return {node_id: node["status"] for node_id, node in result.nodes.items()}


def test_expressions_of_every_root_reach_the_plugin(aws: LocalAWS) -> None:
    aws.client("secretsmanager").create_secret(Name="api", SecretString=json.dumps({"token": "s3cr3t-value"}))
    doc = routine(
        static("src", {"n": 2, "items": [{"id": "a"}, {"id": "b"}]}),
        transform(
            "all",
            {
                "whole": "{{ trigger.order }}",
                "text": "order {{ trigger.order.id }} of {{ vars.shop }}",
                "node": "{{ nodes.src.items[1].id }}",
                "wildcard": "{{ nodes.src.items[*].id }}",
                "execution": "{{ execution.id }}",
                "routine": "{{ execution.routineId }}",
                "started": "{{ execution.startedAt }}",
                "secret": "{{ secrets.api.token }}",
                "missing": "{{ nodes.src.nope }}",
            },
        ),
        connections=[link("src", "all")],
        variables={"shop": "Tiny Shop"},
    )
    result = run_routine(aws, doc, {"order": {"id": 7}})
    assert result.status == "SUCCEEDED"
    out = result.nodes["all"]["output"]
    assert out["whole"] == {"id": 7}
    assert out["text"] == "order 7 of Tiny Shop"
    assert out["node"] == "b"
    assert out["wildcard"] == ["a", "b"]
    assert out["execution"] == result.execution_arn
    assert out["routine"] == "local"
    assert out["started"].startswith("20")
    assert out["missing"] is None
    # The plugin saw the secret (it resolved to a value, which its output then masks); the
    # history, logs and trace never hold the plaintext.
    outputs = [
        e["lambdaFunctionSucceededEventDetails"]["output"]
        for e in result.history
        if "lambdaFunctionSucceededEventDetails" in e
    ]
    assert outputs and not any("s3cr3t-value" in o for o in outputs)
    assert out["secret"] == "[secret]"
    logs = aws.client("dynamodb").scan(TableName="node-logs")["Items"]
    logged = json.dumps(logs)
    assert "s3cr3t-value" not in logged, "a resolved secret leaked into the node log"
    assert "[secret]" in logged


def test_if_takes_one_branch_and_skips_the_other(aws: LocalAWS) -> None:
    doc = routine(
        static("a", {"total": 150}),
        {
            "id": "big",
            "plugin": "if",
            "parameters": {
                "condition": {"left": "{{ nodes.a.total }}", "op": "gt", "right": "{{ trigger.limit }}"}
            },
        },
        transform("yes", {"r": "big"}),
        transform("no", {"r": "small"}),
        {"id": "join", "plugin": "merge"},
        transform("after", {"from": "{{ nodes.join }}"}),
        connections=[
            link("a", "big"),
            link("big", "yes", "true"),
            link("big", "no", "false"),
            link("yes", "join"),
            link("no", "join"),
            link("join", "after"),
        ],
    )
    high = run_routine(aws, doc, {"limit": 100})
    assert statuses(high) == {
        "a": "succeeded",
        "big": "succeeded",
        "yes": "succeeded",
        "no": "skipped",
        "join": "succeeded",
        "after": "succeeded",
    }
    assert high.nodes["after"]["output"] == {"from": {"yes": {"r": "big"}}}  # the branch that ran
    low = run_routine(aws, doc, {"limit": 1000})
    assert statuses(low)["yes"] == "skipped" and statuses(low)["no"] == "succeeded"
    assert low.nodes["after"]["output"] == {"from": {"no": {"r": "small"}}}
    # A missing value is null, so the comparison is false rather than a crashed execution.
    missing = run_routine(aws, doc, {})
    assert missing.status == "SUCCEEDED" and statuses(missing)["no"] == "succeeded"


def test_switch_routes_to_the_first_matching_rule(aws: LocalAWS) -> None:
    rules = [
        {"port": "gold", "condition": {"left": "{{ trigger.tier }}", "op": "eq", "right": "gold"}},
        {"port": "big", "condition": {"left": "{{ trigger.total }}", "op": "gte", "right": 1000}},
        {"port": "vip", "condition": {"left": "{{ trigger.name }}", "op": "matches", "right": "^VIP-\\d+$"}},
    ]
    doc = routine(
        {"id": "route", "plugin": "switch", "parameters": {"rules": rules}},
        transform("g", {"x": 1}),
        transform("b", {"x": 2}),
        transform("v", {"x": 3}),
        transform("d", {"x": 4}),
        connections=[
            link("route", "g", "gold"),
            link("route", "b", "big"),
            link("route", "v", "vip"),
            link("route", "d", "default"),
        ],
    )
    cases = [
        ({"tier": "gold", "total": 5000}, "g"),
        ({"total": 5000}, "b"),
        ({"name": "VIP-12"}, "v"),
        ({"name": "VIP-x"}, "d"),
    ]
    for trigger, expected in cases:
        ran = [
            n
            for n, s in statuses(run_routine(aws, doc, trigger)).items()
            if s == "succeeded" and n != "route"
        ]
        assert ran == [expected], trigger


def test_parallel_branches_run_and_meet(aws: LocalAWS) -> None:
    doc = routine(
        static("src", [1, 2]),
        transform("left", {"l": "{{ nodes.src[0] }}"}),
        transform("right", {"r": "{{ nodes.src[1] }}"}),
        {"id": "both", "plugin": "merge"},
        transform("sum", {"both": "{{ nodes.both }}", "l": "{{ nodes.both.left.l }}"}),
        connections=[
            link("src", "left"),
            link("src", "right"),
            link("left", "both"),
            link("right", "both"),
            link("both", "sum"),
        ],
    )
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED"
    assert result.nodes["sum"]["output"] == {"both": {"left": {"l": 1}, "right": {"r": 2}}, "l": 1}
    assert any(e["type"] == "ParallelStateEntered" for e in result.history)


def test_conditional_branch_inside_parallel_reads_null_when_skipped(aws: LocalAWS) -> None:
    doc = routine(
        static("src", {"v": 1}),
        transform("log", {"v": "{{ nodes.src.v }}"}),
        {
            "id": "check",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ nodes.src.v }}", "op": "gt", "right": 3}},
        },
        transform("notify", {"msg": "big"}),
        transform("final", {"log": "{{ nodes.log.v }}", "notified": "{{ nodes.notify.msg }}"}),
        connections=[
            link("src", "log"),
            link("src", "check"),
            link("check", "notify", "true"),
            link("log", "final"),
            link("notify", "final"),
        ],
    )
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED"
    assert statuses(result)["notify"] == "skipped"
    assert result.nodes["final"]["output"] == {"log": 1, "notified": None}


def test_loop_runs_the_body_per_item_and_collects_results(aws: LocalAWS) -> None:
    doc = routine(
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}", "maxConcurrency": 2}},
        {
            "id": "kind",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ loop.item.k }}", "op": "eq", "right": "a"}},
        },
        transform("isA", {"k": "{{ loop.item.k }}", "i": "{{ loop.index }}"}),
        transform("other", {"k": "{{ loop.item.k }}", "i": "{{ loop.index }}"}),
        {"id": "m", "plugin": "merge"},
        transform("result", {"one": "{{ nodes.m }}"}),
        transform("after", {"all": "{{ nodes.each }}"}),
        connections=[
            link("each", "kind", "body"),
            link("kind", "isA", "true"),
            link("kind", "other", "false"),
            link("isA", "m"),
            link("other", "m"),
            link("m", "result"),
            link("each", "after", "done"),
        ],
    )
    result = run_routine(aws, doc, {"items": [{"k": "a"}, {"k": "b"}, {"k": "c"}]})
    assert result.status == "SUCCEEDED"
    expected = [
        {"one": {"isA": {"k": "a", "i": 0}}},  # a merge holds the branches that ran
        {"one": {"other": {"k": "b", "i": 1}}},
        {"one": {"other": {"k": "c", "i": 2}}},
    ]
    assert result.nodes["after"]["output"] == {"all": expected}
    assert result.nodes["result"]["runs"] == 3


def test_wait_pauses(aws: LocalAWS) -> None:
    doc = routine(
        {"id": "pause", "plugin": "wait", "parameters": {"seconds": 1}},
        transform("after", {"x": 1}),
        connections=[link("pause", "after")],
    )
    started = time.monotonic()
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED" and statuses(result) == {"pause": "succeeded", "after": "succeeded"}
    assert time.monotonic() - started >= 1.0
    assert any(e["type"] == "WaitStateEntered" for e in result.history)


def _approval_doc(timeout: int | None = None) -> dict[str, Any]:
    parameters: dict[str, Any] = {"message": "Ship order {{ trigger.id }}?"}
    if timeout:
        parameters["timeoutSeconds"] = timeout
    nodes = [
        {"id": "ask", "plugin": "approval", "parameters": parameters},
        transform("ship", {"by": "{{ nodes.ask.by }}", "note": "{{ nodes.ask.data.note }}"}),
        transform("cancel", {"why": "rejected"}),
    ]
    connections = [link("ask", "ship", "approved"), link("ask", "cancel", "rejected")]
    if timeout:
        nodes.append(transform("expired", {"why": "timeout"}))
        connections.append(link("ask", "expired", "timeout"))
    return routine(*nodes, connections=connections)


def _token(aws: LocalAWS, execution_arn: str) -> dict[str, Any]:
    for _ in range(500):
        item = (
            aws.client("dynamodb")
            .get_item(
                TableName="approvals", Key={"executionId": {"S": execution_arn}, "nodeId": {"S": "ask"}}
            )
            .get("Item")
        )
        if item:
            return item
        time.sleep(0.01)
    raise AssertionError("the approval notifier never stored a task token")


def test_approval_resumed_by_send_task_success(aws: LocalAWS) -> None:
    for decision, expected in (("approved", "ship"), ("rejected", "cancel")):
        running = start_routine(aws, _approval_doc(), {"id": 42})
        item = _token(aws, running.arn)
        assert item["message"]["S"] == "Ship order 42?"
        output = {"decision": decision, "data": {"note": "fine"}, "by": "ada"}
        aws.client("stepfunctions").send_task_success(
            taskToken=item["taskToken"]["S"], output=json.dumps(output)
        )
        result = running.wait(timeout=30)
        assert result.status == "SUCCEEDED"
        ran = {n for n, s in statuses(result).items() if s == "succeeded"}
        assert ran == {"ask", expected}
        assert result.nodes["ask"]["output"] == output
    assert result.nodes["cancel"]["output"] == {"why": "rejected"}


def test_approval_times_out_to_the_timeout_port(aws: LocalAWS) -> None:
    running = start_routine(aws, _approval_doc(timeout=1), {"id": 1})
    _token(aws, running.arn)
    result = running.wait(timeout=30)
    assert result.status == "SUCCEEDED"
    assert statuses(result) == {
        "ask": "succeeded",
        "ship": "skipped",
        "cancel": "skipped",
        "expired": "succeeded",
    }


def test_stop_fails_the_execution_with_its_error(aws: LocalAWS) -> None:
    doc = routine(
        {
            "id": "valid",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ trigger.ok }}", "op": "eq", "right": True}},
        },
        transform("go", {"x": 1}),
        {
            "id": "abort",
            "plugin": "stop",
            "parameters": {"status": "fail", "error": "InvalidOrder", "cause": "checks failed"},
        },
        connections=[link("valid", "go", "true"), link("valid", "abort", "false")],
    )
    failed = run_routine(aws, doc, {"ok": False})
    assert failed.status == "FAILED" and failed.error == "InvalidOrder" and failed.cause == "checks failed"
    assert statuses(failed) == {"valid": "succeeded", "go": "skipped", "abort": "failed"}
    assert run_routine(aws, doc, {"ok": True}).status == "SUCCEEDED"


def _http_node(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "call",
        "plugin": "http-request",
        "parameters": {"url": url, **extra.pop("parameters", {})},
        **extra,
    }


def test_on_error_route_follows_the_error_port(aws: LocalAWS, http: Recorder) -> None:
    url = http.respond("/missing", (404, {"error": "no such order"}))
    doc = routine(
        _http_node(url, onError="route"),
        transform("use", {"b": "{{ nodes.call.body }}"}),
        transform(
            "fallback", {"type": "{{ nodes.call.error.type }}", "message": "{{ nodes.call.error.message }}"}
        ),
        connections=[link("call", "use"), link("call", "fallback", "error")],
    )
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED"
    assert statuses(result) == {"call": "failed", "use": "skipped", "fallback": "succeeded"}
    assert result.nodes["call"]["error"]["type"] == "Routines.HttpClientError"
    assert result.nodes["fallback"]["output"] == {
        "type": "Routines.HttpClientError",
        "message": f"GET {url} answered 404",
    }
    # The trace shows, as the failed node's output, what the nodes after it read.
    assert result.nodes["call"]["output"] == {"error": result.nodes["fallback"]["output"]}


def test_on_error_continue_records_the_error_as_output(aws: LocalAWS, http: Recorder) -> None:
    url = http.respond("/down", (400, "bad"))
    doc = routine(
        _http_node(url, onError="continue"),
        transform("next", {"e": "{{ nodes.call }}"}),
        connections=[link("call", "next")],
    )
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED"
    read = result.nodes["next"]["output"]["e"]
    assert read == {"error": {"type": "Routines.HttpClientError", "message": f"GET {url} answered 400"}}
    # The trace shows what downstream read, and the error too.
    assert result.nodes["call"]["status"] == "failed"
    assert result.nodes["call"]["output"] == read
    assert result.nodes["call"]["error"] == read["error"]


def test_trace_of_a_caught_failure_inside_a_loop_body_shows_what_was_read(
    aws: LocalAWS, http: Recorder
) -> None:
    ok = http.respond("/ok", (200, {"fine": True}))
    bad = http.respond("/bad", (400, "bad"))
    doc = routine(
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.urls }}", "maxConcurrency": 1}},
        {
            "id": "call",
            "plugin": "http-request",
            "parameters": {"url": "{{ loop.item }}"},
            "onError": "continue",
        },
        transform("seen", {"v": "{{ nodes.call }}"}),
        connections=[link("each", "call", "body"), link("call", "seen")],
    )
    result = run_routine(aws, doc, {"urls": [ok, bad]})
    assert result.status == "SUCCEEDED"
    read = [run["v"] for run in result.nodes["seen"]["output"]]
    assert read[1] == {"error": {"type": "Routines.HttpClientError", "message": f"GET {bad} answered 400"}}
    assert result.nodes["call"]["status"] == "failed"
    assert result.nodes["call"]["output"] == read


def test_on_error_fail_fails_the_execution_without_retrying_user_errors(
    aws: LocalAWS, http: Recorder
) -> None:
    url = http.respond("/bad", (422, {"error": "invalid"}))
    doc = routine(
        _http_node(url, retry={"maxAttempts": 3, "intervalSeconds": 1}),
        transform("next", {"x": 1}),
        connections=[link("call", "next")],
    )
    result = run_routine(aws, doc)
    assert result.status == "FAILED" and result.error == "Routines.HttpClientError"
    assert len(http.requests) == 1, "a 4xx is the caller's mistake: retrying cannot help"
    assert statuses(result) == {"call": "failed", "next": "skipped"}


def test_retry_succeeds_on_a_later_attempt(aws: LocalAWS, http: Recorder) -> None:
    url = http.respond("/flaky", (503, "busy"), (200, {"ok": True}))
    doc = routine(_http_node(url, retry={"maxAttempts": 3, "intervalSeconds": 1}))
    result = run_routine(aws, doc)
    assert result.status == "SUCCEEDED"
    assert len(http.requests) == 2
    assert result.nodes["call"]["attempts"] == 2
    assert result.nodes["call"]["output"]["body"] == {"ok": True}


def test_large_outputs_travel_through_s3(aws: LocalAWS) -> None:
    rows = [{"i": i, "text": "x" * 500} for i in range(600)]  # ~300 KB: over any budget
    doc = routine(
        transform("big", {"rows": "{{ trigger.rows }}"}),
        transform("count", {"last": "{{ nodes.big.rows[599].i }}"}),
        connections=[link("big", "count")],
    )
    result = run_routine(aws, doc, {"rows": rows})
    assert result.status == "SUCCEEDED"
    assert result.nodes["count"]["output"] == {"last": 599}
    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket="payloads").get("Contents", [])]
    assert len(keys) == 2, keys  # the trigger (stored by the runner) and big's output
    exits = [e["stateExitedEventDetails"] for e in result.history if "stateExitedEventDetails" in e]
    variable = json.loads(next(d["assignedVariables"]["big"] for d in exits if d["name"] == "big"))
    assert "$offloaded" in variable, "the variable should hold a reference, not the data"
    # What count reads is kept inline, so the machine evaluated it without loading anything.
    assert variable["rows"][599] == {"i": 599} and "__partial" not in variable


def test_secrets_never_reach_error_messages(aws: LocalAWS, http: Recorder) -> None:
    aws.client("secretsmanager").create_secret(Name="path-token", SecretString="tok-9f8e7d")
    http.respond("/tok-9f8e7d", (403, "denied"))
    node = {
        "id": "call",
        "plugin": "http-request",
        "parameters": {"url": http.base + "/{{ secrets.path-token }}"},
    }
    result = run_routine(aws, routine(node))
    assert result.status == "FAILED" and result.error == "Routines.HttpClientError"
    assert "tok-9f8e7d" not in (result.cause or "") and "[secret]" in (result.cause or "")
    assert "tok-9f8e7d" not in json.dumps(result.nodes)


def test_in_gives_one_answer_natively_and_through_the_evaluator(aws: LocalAWS) -> None:
    # A literal list compiles to a native Choice; a list from an expression goes to the
    # evaluator Lambda. true is not 1 on both paths.
    def member(node_id: str, right: Any) -> dict[str, Any]:
        condition = {"left": "{{ trigger.flag }}", "op": "in", "right": right}
        return {"id": node_id, "plugin": "if", "parameters": {"condition": condition}}

    doc = routine(
        member("native", [1]),
        member("evaluated", "{{ trigger.list }}"),
        transform("nativeYes", {"x": 1}),
        transform("nativeNo", {"x": 1}),
        transform("evaluatedYes", {"x": 1}),
        transform("evaluatedNo", {"x": 1}),
        connections=[
            link("native", "nativeYes", "true"),
            link("native", "nativeNo", "false"),
            link("evaluated", "evaluatedYes", "true"),
            link("evaluated", "evaluatedNo", "false"),
        ],
    )
    result = run_routine(aws, doc, {"flag": True, "list": [1]})
    assert result.status == "SUCCEEDED"
    taken = {n for n, s in statuses(result).items() if s == "succeeded" and n.endswith(("Yes", "No"))}
    assert taken == {"nativeNo", "evaluatedNo"}


def test_each_plugin_invocation_emits_one_metrics_document(aws: LocalAWS) -> None:
    """Duration and Errors of a plugin invocation reach CloudWatch as one EMF document
    (what the Lambda prints), per plugin, with Errors 1 for a failed node."""
    missing = "https://sqs.us-east-1.amazonaws.com/123456789012/nope"  # not created: an expression
    document = routine(
        {"id": "ok", "plugin": "transform", "parameters": {"fields": {"a": 1}}},
        {
            "id": "bad",
            "plugin": "sqs-send",
            "parameters": {"queueUrl": "{{ trigger.url }}", "messageBody": "x"},
        },
        connections=[link("ok", "bad")],
    )
    seen = len(aws.lambdas.invocations)
    result = run_routine(aws, document, {"url": missing})
    assert result.status == "FAILED"
    documents = []
    for invocation in aws.lambdas.invocations[seen:]:
        lines = [json.loads(line) for line in invocation.logs.splitlines() if '"_aws"' in line]
        assert len(lines) == 1, invocation.logs
        documents.append(lines[0])
    errors = [(d["plugin"], d["Errors"]) for d in documents]
    assert errors == [("transform", [0.0]), ("sqs-send", [1.0])]
    for emitted in documents:
        (directive,) = emitted["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Routines" and directive["Dimensions"] == [["plugin"]]
        assert [m["Name"] for m in directive["Metrics"]] == ["Duration", "Errors"]
        assert emitted["Duration"][0] >= 0


EVENT: dict[str, Any] = {
    "node": "n",
    "parameters": {"fields": {"a": 1}, "data": {"b": 2}},
    "execution": {
        "id": "arn:aws:states:us-east-1:123456789012:execution:m:e",
        "routineId": "r",
        "startedAt": "2026-11-22T08:00:00.000Z",
    },
    "attempt": 0,
}


def test_invocations_on_one_thread_each_emit_only_their_own_metrics(aws: LocalAWS) -> None:
    """A container (here: a thread) keeps one metrics object across invocations: each
    document still holds one Duration and one Errors value, under its own plugin."""
    import io
    import sys

    from functions.local.lambdas import LambdaContext
    from plugins.builtin.static_data import handler as static_data
    from plugins.builtin.transform import handler as transform

    context = LambdaContext("f", "arn:aws:lambda:us-east-1:123456789012:function:f", 128, 3)
    stdout, sys.stdout = sys.stdout, io.StringIO()
    try:
        for handler in (transform.handler, transform.handler, static_data.handler, transform.handler):
            handler(EVENT, context)
        printed = sys.stdout.getvalue()
    finally:
        sys.stdout = stdout
    documents = [json.loads(line) for line in printed.splitlines() if '"_aws"' in line]
    assert [d["plugin"] for d in documents] == ["transform", "transform", "static-data", "transform"]
    for emitted in documents:
        assert emitted["Errors"] == [0.0] and len(emitted["Duration"]) == 1
        assert set(emitted) == {"_aws", "plugin", "Duration", "Errors"}


def test_metrics_switched_off_do_not_pile_up_on_a_thread(aws: LocalAWS, monkeypatch: Any) -> None:
    from functions.local.lambdas import LambdaContext
    from plugins.builtin.transform import handler as transform
    from plugins.runtime import handler as runtime

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")  # nothing flushed, nothing cleared
    context = LambdaContext("f", "arn:aws:lambda:us-east-1:123456789012:function:f", 128, 3)
    for _ in range(3):
        transform.handler(EVENT, context)
    kept = runtime._thread_metrics().metric_set
    assert [len(kept[name]["Value"]) for name in ("Duration", "Errors")] == [1, 1]


def test_the_local_aws_is_frozen_for_the_collector_while_it_is_up() -> None:
    import gc

    before, threshold = gc.get_freeze_count(), gc.get_threshold()
    with LocalAWS() as local:
        frozen = gc.get_freeze_count()
        assert frozen > before  # moto's backends, botocore's models: not walked by collections
        assert gc.get_threshold()[0] >= 10_000
        document = routine({"id": "a", "plugin": "transform", "parameters": {"fields": {"x": 1}}})
        assert run_routine(local, document).status == "SUCCEEDED"
    assert gc.get_freeze_count() == before  # collectable again once it stops
    assert gc.get_threshold() == threshold
