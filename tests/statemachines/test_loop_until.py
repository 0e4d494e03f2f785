"""``loop`` with ``until`` (issue #27, statemachines/machine/repeat.py): the body repeats until
a condition holds after an iteration, bounded by ``maxIterations``; native Choice states
looping back, no Map. On the local runtime (JSONata machines), against a paged HTTP API
served here."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from functions.local import LocalAWS
from functions.local.runner import run_routine
from statemachines.compiler import compile_routine, validate_for_save
from statemachines.options import CompileOptions
from tests.asl_validator import Validate

JSONATA = CompileOptions()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "paginate.json"
PAGES = {1: ["a", "b"], 2: ["c", "d"], 3: ["e"]}


class PagedAPI:
    """GET /items?page=N → {"items": [...], "next": <url of page N+1> | null}."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.base = ""


@pytest.fixture(scope="module")
def api() -> Iterator[PagedAPI]:
    state = PagedAPI()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            state.requests.append({"path": url.path, "query": query})
            page = int(query.get("page", "1"))
            following = f"{state.base}/items?page={page + 1}" if page + 1 in PAGES else None
            data = json.dumps({"page": page, "items": PAGES.get(page, []), "next": following}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAWS]:
    with LocalAWS() as local:
        yield local


def paginate(**loop: Any) -> dict[str, Any]:
    """examples/paginate.json (fetch every page of a paged API), loop parameters changed."""
    document: dict[str, Any] = json.loads(EXAMPLE.read_text())
    for node in document["nodes"]:
        if node["id"] == "pages":
            node["parameters"].update(loop)
    return document


def counter(**loop: Any) -> dict[str, Any]:
    """A loop whose body counts (no Lambda beyond its transform): until index 2 by default."""
    parameters = {"until": {"left": "{{ loop.index }}", "op": "gte", "right": 2}, "maxIterations": 10, **loop}
    return {
        "name": "count",
        "trigger": {"type": "manual"},
        "nodes": [
            {"id": "count", "plugin": "loop", "parameters": parameters},
            {
                "id": "step",
                "plugin": "transform",
                "parameters": {"fields": {"n": "{{ loop.index }}", "before": "{{ loop.previous.n }}"}},
            },
            {"id": "after", "plugin": "transform", "parameters": {"fields": {"got": "{{ nodes.count }}"}}},
        ],
        "connections": [
            {"sourceNodeId": "count", "sourcePort": "body", "targetNodeId": "step"},
            {"sourceNodeId": "count", "sourcePort": "done", "targetNodeId": "after"},
        ],
    }


def run(aws: LocalAWS, document: dict[str, Any], trigger: Any = None) -> dict[str, Any]:
    result: dict[str, Any] = run_routine(aws, document, trigger, timeout=60).to_json()
    return result


# --- running -----------------------------------------------------------------------------


def test_pagination_follows_next_over_three_pages(aws: LocalAWS, api: PagedAPI) -> None:
    api.requests.clear()
    document = paginate()
    fetch = next(n for n in document["nodes"] if n["id"] == "fetch")
    fetch["parameters"]["query"] = {"i": "{{ loop.index }}"}  # each request says its index
    result = run(aws, document, {"url": api.base + "/items?page=1"})
    assert result["status"] == "SUCCEEDED", result["error"]
    # One request per page, each to the previous page's `next` (loop.previous), the first
    # to the trigger's URL (loop.index = 0).
    assert [r["query"] for r in api.requests] == [
        {"page": "1", "i": "0"},
        {"page": "2", "i": "1"},
        {"page": "3", "i": "2"},
    ]
    pages = result["nodes"]["pages"]["output"]
    assert [p["body"]["page"] for p in pages] == [1, 2, 3]
    assert result["output"]["all"] == {"items": ["a", "b", "c", "d", "e"], "pages": 3}
    runs = result["nodes"]["fetch"]
    assert runs["status"] == "succeeded" and runs["runs"] == 3
    assert [o["body"]["page"] for o in runs["output"]] == [1, 2, 3]


def test_the_body_reads_the_previous_iteration_and_its_index(aws: LocalAWS) -> None:
    result = run(aws, counter())
    assert result["status"] == "SUCCEEDED", result["error"]
    expected = [{"n": 0, "before": None}, {"n": 1, "before": 0}, {"n": 2, "before": 1}]
    assert result["nodes"]["count"]["output"] == expected
    assert result["output"]["after"] == {"got": expected}
    # Per iteration: the Parallel running the body, the body's Task and the loop's Choice;
    # once: the loop's Pass (and `after`).
    assert result["transitions"] == 1 + 3 * 3 + 1


def test_collect_last_carries_only_the_last_result(aws: LocalAWS, api: PagedAPI) -> None:
    result = run(aws, paginate(collect="last"), {"url": api.base + "/items?page=1"})
    assert result["status"] == "SUCCEEDED", result["error"]
    last = result["nodes"]["pages"]["output"]
    assert last["body"] == {"page": 3, "items": ["e"], "next": None}
    assert result["output"]["all"] == {"items": ["e"], "pages": 1}


def test_until_holding_after_the_first_iteration_runs_it_once(aws: LocalAWS) -> None:
    result = run(aws, counter(until={"left": "{{ loop.previous.n }}", "op": "eq", "right": 0}))
    assert result["status"] == "SUCCEEDED", result["error"]
    assert result["nodes"]["count"]["output"] == [{"n": 0, "before": None}]
    assert result["nodes"]["step"].get("runs") is None  # one run


def test_the_loop_limit_fails_the_execution(aws: LocalAWS) -> None:
    result = run(aws, counter(maxIterations=2))
    assert result["status"] == "FAILED"
    assert result["error"]["type"] == "Routines.LoopLimit"
    assert "maxIterations" in result["error"]["message"]
    assert result["nodes"]["step"]["runs"] == 2
    assert result["nodes"]["after"]["status"] == "skipped"


def test_the_loop_limit_is_routed_by_on_error(aws: LocalAWS) -> None:
    document = counter(maxIterations=2)
    document["nodes"][0]["onError"] = "route"
    document["nodes"].append(
        {"id": "tooLong", "plugin": "transform", "parameters": {"fields": {"why": "{{ nodes.count.error }}"}}}
    )
    document["connections"].append(
        {"sourceNodeId": "count", "sourcePort": "error", "targetNodeId": "tooLong"}
    )
    result = run(aws, document)
    assert result["status"] == "SUCCEEDED", result["error"]
    assert result["nodes"]["after"]["status"] == "skipped"
    why = result["output"]["tooLong"]["why"]
    assert why["type"] == "Routines.LoopLimit"
    assert "ran 2 iterations" in why["message"]
    assert result["nodes"]["count"]["status"] == "failed"
    assert result["nodes"]["count"]["error"]["type"] == "Routines.LoopLimit"


def test_a_body_failure_is_the_loops_error_under_on_error(aws: LocalAWS) -> None:
    document = counter()
    document["nodes"][0]["onError"] = "continue"
    document["nodes"][1] = {
        "id": "step",
        "plugin": "code",
        "parameters": {
            "code": "def main(input, ctx):\n    raise ValueError('page ' + str(input))\n",
            "input": "{{ loop.index }}",
        },
    }
    result = run(aws, document)
    assert result["status"] == "SUCCEEDED", result["error"]
    got = result["output"]["after"]["got"]
    assert got["error"]["type"] == "Routines.CodeError"  # the code node's ValueError
    assert "page 0" in got["error"]["message"]  # the first iteration ended the loop


def test_results_over_their_share_go_to_s3_and_mean_the_same(aws: LocalAWS) -> None:
    """maxIterations 1000: each result's share of the results' variable is 256 bytes; a
    result of 2 KB is offloaded to S3, and the loop still reads loop.previous.n (kept
    inline in the reference) and hands every whole result on."""
    document = counter(maxIterations=1000, until={"left": "{{ loop.previous.n }}", "op": "gte", "right": 2})
    document["nodes"][1]["parameters"]["fields"]["pad"] = "x" * 2000
    execution = run_routine(aws, document, None, timeout=60)
    result = execution.to_json()
    assert result["status"] == "SUCCEEDED", result["error"]
    got = result["output"]["after"]["got"]
    assert [r["n"] for r in got] == [0, 1, 2]
    assert [r["before"] for r in got] == [None, 0, 1]
    assert all(r["pad"] == "x" * 2000 for r in got)
    # What the machine held of each: an S3 reference keeping `n` (read by `until`).
    held = [
        json.loads(e["stateExitedEventDetails"]["assignedVariables"]["step"])
        for e in execution.history
        if "step" in e.get("stateExitedEventDetails", {}).get("assignedVariables", {})
    ]
    assert [h["n"] for h in held] == [0, 1, 2]
    assert all(h["$offloaded"].startswith("s3://") and "pad" not in h for h in held)


# --- compiling ---------------------------------------------------------------------------


def test_an_until_loop_is_choice_states_looping_back(asl_validator: Validate) -> None:
    compiled = compile_routine(counter())  # JSONPath asked: only the JSONata compiler has it
    asl = compiled.asl
    assert asl["QueryLanguage"] == "JSONata"
    states = _states(asl)
    assert "Map" not in {s["Type"] for s in states.values()}
    check = states["count (until)"]
    assert check["Type"] == "Choice"
    assert [rule["Next"] for rule in check["Choices"]] == ["after", "count (limit)", "count (iteration)"]
    iteration = states["count (iteration)"]
    assert iteration["Type"] == "Parallel" and iteration["Next"] == "count (until)"
    assert (
        iteration["Arguments"]["previous"] == "{% $_last_node_count %}"
    )  # count is a JSONata function: node_count
    assert states["count (limit)"] == {
        "Type": "Fail",
        "Error": "Routines.LoopLimit",
        "Cause": "loop 'count' ran 10 iterations (its maxIterations) and its 'until' never held",
    }
    # The result node's share of the results' one variable: room / maxIterations.
    assert states["step"]["Arguments"]["inlineBytes"] == "{% $floor(256000 / $max([1, 10])) %}"
    report = compiled.report
    assert report["loops"]["count"] == {
        "min": 3,
        "max": 3,
        "lambdaTasks": {"min": 1, "max": 1},
        "mode": "until",
    }
    [checked] = asl_validator([asl])
    assert checked.ok and not checked.warnings, checked.describe()


def test_the_report_counts_one_iteration_in_the_machine() -> None:
    report = compile_routine(counter(), options=JSONATA).report
    # The loop's Pass, one iteration (the Parallel, the body's Task, the Choice), then
    # `after` — or the limit's Fail instead of `after`.
    assert report["transitions"] == {"min": 5, "max": 5}


def test_the_pagination_example_passes_aws_validator(asl_validator: Validate) -> None:
    asl = compile_routine(json.loads(EXAMPLE.read_text()), options=JSONATA).asl
    [checked] = asl_validator([asl])
    assert checked.ok and not checked.warnings, checked.describe()


def test_collect_last_keeps_no_list_and_the_whole_room() -> None:
    asl = compile_routine(counter(collect="last"), options=JSONATA).asl
    assert "_results_" not in json.dumps(asl) and "_last_node_count" in json.dumps(asl)
    assert _states(asl)["step"]["Arguments"]["inlineBytes"] == 256000


@pytest.mark.parametrize(
    ("change", "code", "path"),
    [
        ({"maxIterations": None}, "missing_parameter", "nodes[count].parameters.maxIterations"),
        ({"maxIterations": 10_001}, "invalid_parameter", "nodes[count].parameters.maxIterations"),
        ({"collect": "each"}, "invalid_parameter", "nodes[count].parameters.collect"),
        (
            {"until": {"left": "{{ loop.item }}", "op": "exists"}},
            "unknown_reference",
            "nodes[count].parameters.until.left",
        ),
        ({"until": {"left": 1, "op": "bogus"}}, "invalid_parameter", "nodes[count].parameters.until.op"),
    ],
)
def test_save_time_errors(change: dict[str, Any], code: str, path: str) -> None:
    document = counter()
    parameters = document["nodes"][0]["parameters"]
    for key, value in change.items():
        if value is None:
            parameters.pop(key)
        else:
            parameters[key] = value
    report = validate_for_save(document)
    assert (code, path) in [(e.code, e.path) for e in report.errors], report.errors


def test_loop_previous_only_in_an_until_loop() -> None:
    document = counter()
    del document["nodes"][0]["parameters"]["until"]
    document["nodes"][0]["parameters"].pop("maxIterations")
    document["nodes"][0]["parameters"]["items"] = [1, 2]
    report = validate_for_save(document)
    assert [(e.code, e.path) for e in report.errors] == [
        ("unknown_reference", "nodes[step].parameters.fields.before")
    ]


def _states(machine: dict[str, Any]) -> dict[str, Any]:
    """Every state by name, in branches too (an Express machine's records wrap the routine)."""
    out: dict[str, Any] = {}
    for name, state in machine["States"].items():
        out[name] = state
        for branch in state.get("Branches", []):
            out.update(_states(branch))
    return out


def test_a_body_that_forks_runs_again_each_iteration(aws: LocalAWS, asl_validator: Validate) -> None:
    """Two branches in the body (here a race): a Parallel's branches may not assign again
    what the Parallel assigned around them (IllegalOuterScopeWrite), which the body's
    Parallel of its own, a new scope each iteration, allows."""
    document = {
        "name": "polls",
        "trigger": {"type": "manual"},
        # Short enough for Express since until loops are bounded by maxIterations: Standard
        # keeps the loop's states at the top (an Express machine wraps them in its records).
        "execution": "standard",
        "nodes": [
            {
                "id": "polls",
                "plugin": "loop",
                "parameters": {
                    "until": {"left": "{{ loop.index }}", "op": "gte", "right": 2},
                    "maxIterations": 5,
                },
            },
            {"id": "ask", "plugin": "transform", "parameters": {"fields": {"v": "{{ loop.index }}"}}},
            {"id": "stall", "plugin": "wait", "parameters": {"seconds": 3}},
            {"id": "first", "plugin": "merge", "parameters": {"mode": "first"}},
            {
                "id": "got",
                "plugin": "transform",
                "parameters": {
                    "fields": {"won": "{{ nodes.first }}", "before": "{{ loop.previous.won.ask.v }}"}
                },
            },
        ],
        "connections": [
            {"sourceNodeId": "polls", "sourcePort": "body", "targetNodeId": "ask"},
            {"sourceNodeId": "polls", "sourcePort": "body", "targetNodeId": "stall"},
            {"sourceNodeId": "ask", "targetNodeId": "first"},
            {"sourceNodeId": "stall", "targetNodeId": "first"},
            {"sourceNodeId": "first", "targetNodeId": "got"},
        ],
    }
    asl = compile_routine(document, options=JSONATA).asl
    assert asl["States"]["polls (iteration)"]["Type"] == "Parallel"
    [checked] = asl_validator([asl])
    assert checked.ok and not checked.warnings, checked.describe()
    result = run(aws, document)
    assert result["status"] == "SUCCEEDED", result["error"]
    assert result["output"]["polls"] == [
        {"won": {"ask": {"v": 0}}, "before": None},
        {"won": {"ask": {"v": 1}}, "before": 0},
        {"won": {"ask": {"v": 2}}, "before": 1},
    ]
    assert result["nodes"]["stall"]["status"] == "cancelled"


def test_the_report_counts_each_loop_per_iteration_nested_and_branching() -> None:
    """The report walks a machine with cycles (each until loop's Choice loops back) without
    looping itself: per iteration, the fewest and most transitions over the body's paths."""
    document = counter()
    document["nodes"][1:2] = [
        {
            "id": "odd",
            "plugin": "if",
            "parameters": {"condition": {"expression": "{{ loop.index % 2 = 1 }}"}},
        },
        {
            "id": "inner",
            "plugin": "loop",
            "parameters": {
                "until": {"left": "{{ loop.index }}", "op": "gte", "right": 1},
                "maxIterations": 3,
            },
        },
        {"id": "step", "plugin": "transform", "parameters": {"fields": {"n": "{{ loop.index }}"}}},
    ]
    document["connections"][0:1] = [
        {"sourceNodeId": "count", "sourcePort": "body", "targetNodeId": "odd"},
        {"sourceNodeId": "odd", "sourcePort": "true", "targetNodeId": "inner"},
        {"sourceNodeId": "inner", "sourcePort": "body", "targetNodeId": "step"},
    ]
    report = compile_routine(document, options=JSONATA).report
    # inner: its Parallel, step, its Choice.
    assert report["loops"]["inner"] == {
        "min": 3,
        "max": 3,
        "lambdaTasks": {"min": 1, "max": 1},
        "mode": "until",
    }
    # count: its Parallel, odd, then — odd false — the branch's end (a Succeed), or inner's
    # Pass, one iteration of inner (3) and inner's limit (a Fail) at most; and count's Choice.
    assert report["loops"]["count"]["min"] == 1 + 1 + 1 + 1
    assert report["loops"]["count"]["max"] == 1 + 1 + (1 + 3 + 1) + 1
