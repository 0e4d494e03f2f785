"""Adversarial tests of "sizes never change meaning": valid routines that produce, pass on and
read large values must succeed with the exact values, whatever rooms, offloads and clears the
compiler chose (statemachines/machine/walk.py, plugins/runtime/offload.py, plan.py clears)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from functions.local import LocalAWS, run_routine
from tests.conftest import link, routine
from tests.functions.conftest import Recorder

KB = 1024
EXECUTIONS = ["standard", "express"]


def transform(node_id: str, fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}, **extra}


def static(node_id: str, data: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "static-data", "parameters": {"data": data}}


def if_node(node_id: str, left: str, op: str, right: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "plugin": "if",
        "parameters": {"condition": {"left": left, "op": op, "right": right}},
    }


def pad(n: int, ch: str = "x") -> str:
    return "{{ $pad('', " + str(n) + ", '" + ch + "') }}"


def statuses(result: Any) -> dict[str, str]:
    return {node_id: node["status"] for node_id, node in result.nodes.items()}


def ok(aws: LocalAWS, doc: dict[str, Any], trigger: Any = None, execution: str = "standard") -> Any:
    if execution != "standard":
        doc = {**doc, "execution": execution, "timeoutSeconds": 300}
    result = run_routine(aws, doc, trigger if trigger is not None else {})
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


# --- many large outputs alive at once ---------------------------------------------------------


@pytest.mark.parametrize("execution", EXECUTIONS)
def test_fifty_outputs_of_200_kb_all_read_by_one_final_node(aws: LocalAWS, execution: str) -> None:
    n = 50
    nodes = [transform(f"n{i}", {"pad": pad(200_000, "abcdefghij"[i % 10]), "i": i}) for i in range(n)]
    fields = {f"l{i}": f"{{{{ $length(nodes.n{i}.pad) }}}}" for i in range(n)}
    fields |= {f"c{i}": f"{{{{ $substring(nodes.n{i}.pad, 199999, 1) }}}}" for i in range(n)}
    fields |= {f"i{i}": f"{{{{ nodes.n{i}.i }}}}" for i in range(n)}
    nodes.append(transform("last", fields))
    connections = [link(f"n{i}", f"n{i + 1}") for i in range(n - 1)] + [link(f"n{n - 1}", "last")]
    result = ok(aws, routine(*nodes, connections=connections), execution=execution)
    out = result.nodes["last"]["output"]
    assert out == {
        **{f"l{i}": 200_000 for i in range(n)},
        **{f"c{i}": "abcdefghij"[i % 10] for i in range(n)},
        **{f"i{i}": i for i in range(n)},
    }


def test_seventy_outputs_of_150_kb_read_by_several_readers(aws: LocalAWS) -> None:
    # 70 x 150 KB = 10.5 MB stored; three readers at different points read all of them.
    n = 70
    nodes = [transform(f"n{i}", {"pad": pad(150_000, "q"), "i": i}) for i in range(n)]
    early = {f"i{i}": f"{{{{ nodes.n{i}.i }}}}" for i in range(0, 35)}
    nodes.append(transform("mid", early))
    sums = {
        f"s{k}": "{{ " + " + ".join(f"$length(nodes.n{i}.pad)" for i in range(k, min(k + 20, n))) + " }}"
        for k in range(0, n, 20)
    }
    nodes.append(transform("sum", sums))
    nodes.append(transform("tail", {"p": "{{ nodes.n0.pad }}", "q": "{{ nodes.n69.pad }}"}))
    connections = [link(f"n{i}", f"n{i + 1}") for i in range(34)]
    connections += [link("n34", "mid"), link("mid", "n35")]
    connections += [link(f"n{i}", f"n{i + 1}") for i in range(35, n - 1)]
    connections += [link(f"n{n - 1}", "sum"), link("sum", "tail")]
    result = ok(aws, routine(*nodes, connections=connections))
    assert result.nodes["mid"]["output"] == {f"i{i}": i for i in range(35)}
    assert result.nodes["sum"]["output"] == {
        "s0": 3_000_000,
        "s20": 3_000_000,
        "s40": 3_000_000,
        "s60": 1_500_000,
    }
    assert result.nodes["tail"]["output"] == {"p": "q" * 150_000, "q": "q" * 150_000}


def test_one_reader_of_two_whole_200_kb_outputs(aws: LocalAWS) -> None:
    # The reader's arguments (400 KB) are over a state's payload: the read must still work.
    doc = routine(
        transform("a", {"pad": pad(200_000, "a")}),
        transform("b", {"pad": pad(200_000, "b")}),
        transform("both", {"a": "{{ nodes.a.pad }}", "b": "{{ nodes.b.pad }}"}),
        transform("after", {"la": "{{ $length(nodes.both.a) }}", "lb": "{{ $length(nodes.both.b) }}"}),
        transform("whole", {"both": "{{ nodes.both }}"}),
        connections=[link("a", "b"), link("b", "both"), link("both", "after"), link("after", "whole")],
    )
    result = ok(aws, doc)
    assert result.output == {"whole": {"both": {"a": "a" * 200_000, "b": "b" * 200_000}}}
    assert result.nodes["after"]["output"] == {"la": 200_000, "lb": 200_000}


# --- parallel fan-outs ------------------------------------------------------------------------


@pytest.mark.parametrize("execution", EXECUTIONS)
@pytest.mark.parametrize("width", [3, 8])
def test_a_fan_out_of_large_branches_read_after_the_join(aws: LocalAWS, width: int, execution: str) -> None:
    size = 200_000 if width == 3 else 120_000
    names = [f"b{i}" for i in range(width)]
    nodes = [transform("src", {"k": "go"})]
    nodes += [transform(b, {"pad": pad(size, "abcdefgh"[i]), "k": b}) for i, b in enumerate(names)]
    nodes.append({"id": "join", "plugin": "merge"})
    fields = {b: f"{{{{ nodes.{b}.pad }}}}" for b in names[:2]}
    fields |= {f"len_{b}": f"{{{{ $length(nodes.{b}.pad) }}}}" for b in names}
    fields["keys"] = "{{ $keys(nodes.join) }}"
    nodes.append(transform("after", fields))
    connections = [link("src", b) for b in names] + [link(b, "join") for b in names] + [link("join", "after")]
    result = ok(aws, routine(*nodes, connections=connections), execution=execution)
    out = result.nodes["after"]["output"]
    assert out[names[0]] == "a" * size and out[names[1]] == "b" * size
    assert {k: v for k, v in out.items() if k.startswith("len_")} == {f"len_{b}": size for b in names}
    assert sorted(out["keys"]) == sorted(names)


def test_a_merge_of_five_150_kb_branches_read_whole(aws: LocalAWS) -> None:
    names = [f"b{i}" for i in range(5)]
    nodes = [transform("src", {"k": 1})]
    nodes += [transform(b, {"pad": pad(150_000, "vwxyz"[i])}) for i, b in enumerate(names)]
    nodes += [{"id": "join", "plugin": "merge"}, transform("after", {"all": "{{ nodes.join }}"})]
    nodes.append(transform("end", {"n": "{{ $count($keys(nodes.after.all)) }}"}))
    connections = [link("src", b) for b in names] + [link(b, "join") for b in names]
    connections += [link("join", "after"), link("after", "end")]
    result = ok(aws, routine(*nodes, connections=connections))
    assert result.nodes["after"]["output"] == {
        "all": {b: {"pad": "vwxyz"[i] * 150_000} for i, b in enumerate(names)}
    }
    assert result.output == {"end": {"n": 5}}


def test_branches_each_with_a_chain_of_large_outputs_read_after_the_join(aws: LocalAWS) -> None:
    # Four branches, each a chain of three 150 KB outputs; after the join every one is read.
    nodes = [transform("src", {"k": 1})]
    connections = []
    for b in range(4):
        for j in range(3):
            nodes.append(transform(f"b{b}_{j}", {"pad": pad(150_000, "pqrs"[b]), "at": f"{b}.{j}"}))
        connections += [link("src", f"b{b}_0"), link(f"b{b}_0", f"b{b}_1"), link(f"b{b}_1", f"b{b}_2")]
        connections.append(link(f"b{b}_2", "join"))
    nodes.append({"id": "join", "plugin": "merge"})
    fields = {f"a{b}_{j}": f"{{{{ nodes.b{b}_{j}.at }}}}" for b in range(4) for j in range(3)}
    fields |= {f"l{b}_{j}": f"{{{{ $length(nodes.b{b}_{j}.pad) }}}}" for b in range(4) for j in range(3)}
    nodes.append(transform("after", fields))
    connections.append(link("join", "after"))
    result = ok(aws, routine(*nodes, connections=connections))
    out = result.nodes["after"]["output"]
    assert out == {
        **{f"a{b}_{j}": f"{b}.{j}" for b in range(4) for j in range(3)},
        **{f"l{b}_{j}": 150_000 for b in range(4) for j in range(3)},
    }


# --- loops ------------------------------------------------------------------------------------


@pytest.mark.parametrize("execution", EXECUTIONS)
@pytest.mark.parametrize(("count", "size"), [(30, 20_000), (200, 2_000), (120, 9_000)])
def test_a_loop_of_large_results_read_whole_after(
    aws: LocalAWS, count: int, size: int, execution: str
) -> None:
    doc = routine(
        {
            "id": "each",
            "plugin": "loop",
            "parameters": {"items": "{{ trigger.items }}", "maxConcurrency": 10},
        },
        transform("row", {"i": "{{ loop.item }}", "pad": pad(size, "r")}),
        transform("after", {"all": "{{ nodes.each }}", "n": "{{ $count(nodes.each) }}"}),
        transform(
            "end",
            {
                "n": "{{ nodes.after.n }}",
                "lens": "{{ $sum(nodes.after.all.($length(pad))) }}",
                "last": "{{ nodes.each[-1].i }}",
            },
        ),
        connections=[link("each", "row", "body"), link("each", "after", "done"), link("after", "end")],
    )
    result = ok(aws, doc, {"items": list(range(count))}, execution)
    assert result.nodes["after"]["output"]["all"] == [{"i": i, "pad": "r" * size} for i in range(count)]
    assert result.output == {"end": {"n": count, "lens": count * size, "last": count - 1}}


def test_a_loop_whose_body_reads_a_large_outer_output_and_an_item(aws: LocalAWS) -> None:
    doc = routine(
        transform("big", {"pad": pad(200_000, "o"), "tag": "T"}),
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}", "maxConcurrency": 5}},
        transform(
            "row",
            {
                "i": "{{ loop.item }}",
                "head": "{{ $substring(nodes.big.pad, 0, 3000) }}",
                "t": "{{ nodes.big.tag }}",
            },
        ),
        transform(
            "after",
            {
                "n": "{{ $count(nodes.each) }}",
                "l": "{{ $length(nodes.big.pad) }}",
                "h": "{{ nodes.each[39].head }}",
            },
        ),
        connections=[link("big", "each"), link("each", "row", "body"), link("each", "after", "done")],
    )
    result = ok(aws, doc, {"items": list(range(40))})
    assert result.output == {"after": {"n": 40, "l": 200_000, "h": "o" * 3000}}


def test_an_until_loop_with_100_kb_iteration_results(aws: LocalAWS) -> None:
    doc = routine(
        {
            "id": "again",
            "plugin": "loop",
            "parameters": {
                "until": {"left": "{{ loop.previous.n }}", "op": "gte", "right": 6},
                "maxIterations": 10,
            },
        },
        transform(
            "grow",
            {"n": "{{ (loop.previous.n ? loop.previous.n : 0) + 1 }}", "pad": pad(100_000, "u")},
        ),
        transform("end", {"ns": "{{ nodes.again.n }}", "l": "{{ $sum(nodes.again.($length(pad))) }}"}),
        connections=[link("again", "grow", "body"), link("again", "end", "done")],
    )
    result = ok(aws, doc)
    assert result.output == {"end": {"ns": [1, 2, 3, 4, 5, 6], "l": 600_000}}


@pytest.mark.parametrize("execution", EXECUTIONS)
def test_an_until_loop_reading_a_large_field_of_the_previous_result(aws: LocalAWS, execution: str) -> None:
    doc = routine(
        {
            "id": "again",
            "plugin": "loop",
            "parameters": {
                "until": {"left": "{{ loop.index }}", "op": "gte", "right": 1},
                "maxIterations": 5,
            },
        },
        transform("grow", {"saw": "{{ $length(loop.previous.pad) }}", "pad": pad(100_000, "y")}),
        connections=[link("again", "grow", "body")],
    )
    result = ok(aws, doc, execution=execution)
    # The first iteration has no previous result ($length of nothing: null); the second
    # reads the first's 100 KB field, which is in S3 (a share of the results' variable).
    first, second = result.output["again"]
    assert first == {"saw": None, "pad": "y" * 100_000}
    assert second == {"saw": 100_000, "pad": "y" * 100_000}


def test_an_until_loop_reading_the_previous_large_result_whole(aws: LocalAWS) -> None:
    doc = routine(
        {
            "id": "again",
            "plugin": "loop",
            "parameters": {
                "until": {"left": "{{ loop.index }}", "op": "gte", "right": 3},
                "maxIterations": 10,
            },
        },
        transform(
            "grow",
            {"pad": "{{ loop.previous ? loop.previous.pad & 'z' : $pad('', 150000, 'y') }}"},
        ),
        transform("end", {"lens": "{{ nodes.again.($length(pad)) }}"}),
        connections=[link("again", "grow", "body"), link("again", "end", "done")],
    )
    result = ok(aws, doc)
    # Seen: {"end": {"lens": [150000, 1, 2, 3]}}
    assert result.output == {"end": {"lens": [150_000, 150_001, 150_002, 150_003]}}


@pytest.mark.parametrize("execution", EXECUTIONS)
def test_an_until_loop_whose_condition_reads_a_large_field_of_the_previous_result(
    aws: LocalAWS, execution: str
) -> None:
    doc = routine(
        {
            "id": "again",
            "plugin": "loop",
            "parameters": {
                "until": {"left": "{{ $length(loop.previous.pad) }}", "op": "gte", "right": 150_000},
                "maxIterations": 10,
            },
        },
        transform("grow", {"pad": "{{ $pad('', 50000 * (loop.index + 1), 'g') }}"}),
        transform("end", {"lens": "{{ nodes.again.($length(pad)) }}"}),
        connections=[link("again", "grow", "body"), link("again", "end", "done")],
    )
    result = ok(aws, doc, execution=execution)
    # The third iteration's 150,000 characters end it: decided by the evaluator, which loads
    # the previous result from S3 (the machine sees only its reference).
    assert result.output == {"end": {"lens": [50_000, 100_000, 150_000]}}
    assert result.nodes["again"]["status"] == "succeeded"


# --- conditions on large values ----------------------------------------------------------------


@pytest.mark.parametrize("execution", EXECUTIONS)
def test_if_and_switch_on_large_values(aws: LocalAWS, execution: str) -> None:
    doc = routine(
        transform("big", {"pad": pad(300_000, "c"), "state": "go"}),
        transform("same", {"pad": pad(300_000, "c")}),
        if_node("whole", "{{ nodes.big.pad }}", "eq", "{{ nodes.same.pad }}"),
        if_node("len", "{{ $length(nodes.big.pad) }}", "gt", 299_999),
        {
            "id": "route",
            "plugin": "switch",
            "parameters": {
                "rules": [
                    {
                        "port": "a",
                        "condition": {"left": "{{ nodes.big.pad }}", "op": "startsWith", "right": "d"},
                    },
                    {
                        "port": "b",
                        "condition": {"left": "{{ nodes.big.pad }}", "op": "endsWith", "right": "ccc"},
                    },
                ]
            },
        },
        transform("yes", {"r": "{{ nodes.big.state }}"}),
        transform("no", {"r": "no"}),
        transform("ra", {"r": "a"}),
        transform("rb", {"r": "b", "l": "{{ $length(nodes.big.pad) }}"}),
        transform("rd", {"r": "d"}),
        connections=[
            link("big", "same"),
            link("same", "whole"),
            link("whole", "len", "true"),
            link("whole", "no", "false"),
            link("len", "route", "true"),
            link("route", "ra", "a"),
            link("route", "rb", "b"),
            link("route", "rd", "default"),
            link("rb", "yes"),
        ],
    )
    result = ok(aws, doc, execution=execution)
    s = statuses(result)
    assert (s["no"], s["ra"], s["rb"], s["rd"], s["yes"]) == (
        "skipped",
        "skipped",
        "succeeded",
        "skipped",
        "succeeded",
    )
    assert result.nodes["rb"]["output"] == {"r": "b", "l": 300_000}
    assert result.nodes["yes"]["output"] == {"r": "go"}


def test_an_if_on_a_field_of_many_large_outputs(aws: LocalAWS) -> None:
    # Forty 200 KB outputs stored; an if late on compares a field of the first.
    n = 40
    nodes = [transform(f"n{i}", {"pad": pad(200_000, "k"), "flag": i == 0}) for i in range(n)]
    nodes += [
        if_node("chk", "{{ nodes.n0.flag }}", "eq", True),
        transform("yes", {"l": "{{ $length(nodes.n0.pad) }}", "f": "{{ nodes.n39.flag }}"}),
        transform("no", {"r": "no"}),
    ]
    connections = [link(f"n{i}", f"n{i + 1}") for i in range(n - 1)]
    connections += [link(f"n{n - 1}", "chk"), link("chk", "yes", "true"), link("chk", "no", "false")]
    result = ok(aws, routine(*nodes, connections=connections))
    assert statuses(result)["no"] == "skipped"
    assert result.nodes["yes"]["output"] == {"l": 200_000, "f": False}


# --- secrets (a Lambda-evaluated parameter) ----------------------------------------------------


@pytest.mark.parametrize("execution", EXECUTIONS)
def test_a_parameter_reading_a_secret_and_large_values(aws: LocalAWS, execution: str) -> None:
    aws.client("secretsmanager").create_secret(Name="bigkey", SecretString="K")
    doc = routine(
        transform("a", {"pad": pad(200_000, "a")}),
        transform("b", {"pad": pad(200_000, "b")}),
        transform(
            "r",
            {
                "s": "{{ $length(secrets.bigkey & nodes.a.pad & nodes.b.pad) }}",
                "whole": "{{ nodes.a.pad }}",
                "k": "{{ $length(nodes.b.pad) }}",
            },
        ),
        transform("after", {"l": "{{ $length(nodes.r.whole) }}", "b": "{{ $substring(nodes.b.pad, 0, 2) }}"}),
        connections=[link("a", "b"), link("b", "r"), link("r", "after")],
    )
    result = ok(aws, doc, execution=execution)
    assert result.nodes["r"]["output"] == {"s": 400_001, "whole": "a" * 200_000, "k": 200_000}
    assert result.output == {"after": {"l": 200_000, "b": "bb"}}


# --- chains reading the whole previous output --------------------------------------------------


@pytest.mark.parametrize("execution", EXECUTIONS)
def test_a_chain_where_each_node_reads_the_whole_previous_output(aws: LocalAWS, execution: str) -> None:
    n = 15
    nodes = [transform("n0", {"pad": pad(200_000, "h"), "i": 0})]
    nodes += [transform(f"n{i}", {"prev": f"{{{{ nodes.n{i - 1} }}}}", "i": i}) for i in range(1, n)]
    nodes.append(
        transform(
            "end", {"depth": "{{ nodes.n14.prev.prev.prev.i }}", "l": "{{ $length(nodes.n1.prev.pad) }}"}
        )
    )
    connections = [link(f"n{i}", f"n{i + 1}") for i in range(n - 1)] + [link(f"n{n - 1}", "end")]
    result = ok(aws, routine(*nodes, connections=connections), execution=execution)
    assert result.output == {"end": {"depth": 11, "l": 200_000}}
    inner: Any = result.nodes["n14"]["output"]
    for i in range(14, 0, -1):
        assert inner["i"] == i
        inner = inner["prev"]
    assert inner == {"pad": "h" * 200_000, "i": 0}


def test_a_chain_passing_a_200_kb_string_on_thirty_times(aws: LocalAWS) -> None:
    n = 30
    nodes = [transform("n0", {"pad": pad(200_000, "m"), "i": 0})]
    nodes += [transform(f"n{i}", {"pad": f"{{{{ nodes.n{i - 1}.pad }}}}", "i": i}) for i in range(1, n)]
    nodes.append(
        transform("end", {"ls": "{{ [" + ", ".join(f"$length(nodes.n{i}.pad)" for i in range(n)) + "] }}"})
    )
    connections = [link(f"n{i}", f"n{i + 1}") for i in range(n - 1)] + [link(f"n{n - 1}", "end")]
    result = ok(aws, routine(*nodes, connections=connections))
    assert result.output == {"end": {"ls": [200_000] * n}}
    assert result.nodes["n29"]["output"] == {"pad": "m" * 200_000, "i": 29}


# --- large error records -------------------------------------------------------------------------


@pytest.mark.parametrize("on_error", ["route", "continue"])
def test_a_failing_node_whose_error_carries_a_300_kb_body(
    aws: LocalAWS, http: Recorder, on_error: str
) -> None:
    url = http.respond("/boom", (500, {"why": "w" * 300_000}))
    bad = {"id": "bad", "plugin": "http-request", "parameters": {"url": url}, "onError": on_error}
    doc = routine(
        bad,
        transform(
            "handle",
            {
                "t": "{{ nodes.bad.error.type }}",
                "m": "{{ nodes.bad.error.message }}",
                "e": "{{ $string(nodes.bad.error) }}",
            },
        ),
        transform("end", {"l": "{{ $length(nodes.handle.e) }}", "t": "{{ nodes.handle.t }}"}),
        connections=[link("bad", "handle", "error" if on_error == "route" else None), link("handle", "end")],
    )
    result = ok(aws, doc)
    out = result.nodes["handle"]["output"]
    assert out["m"] == f"GET {url} answered 500"
    assert json.loads(out["e"]) == {"type": "Routines.HttpServerError", "message": out["m"]}
    assert result.output["end"] == {"l": len(out["e"]), "t": out["t"]}


# --- a large trigger -------------------------------------------------------------------------------


@pytest.mark.parametrize("execution", EXECUTIONS)
def test_a_250_kb_trigger_read_in_many_places(aws: LocalAWS, execution: str) -> None:
    trigger = {"kind": "bulk", "blob": "t" * 250_000, "n": 3, "nested": {"blob": "u" * 5_000, "k": "v"}}
    n = 20
    nodes = [
        transform(f"r{i}", {"blob": "{{ trigger.blob }}", "i": i, "k": "{{ trigger.nested.k }}"})
        if i % 2 == 0
        else transform(f"r{i}", {"l": "{{ $length(trigger.blob) }}", "kind": "{{ trigger.kind }}"})
        for i in range(n)
    ]
    nodes += [
        if_node("chk", "{{ trigger.kind }}", "eq", "bulk"),
        transform(
            "end",
            {
                "whole": "{{ trigger }}",
                "ls": "{{ [" + ", ".join(f"$length(nodes.r{i}.blob)" for i in range(0, n, 2)) + "] }}",
            },
        ),
    ]
    connections = [link(f"r{i}", f"r{i + 1}") for i in range(n - 1)] + [
        link(f"r{n - 1}", "chk"),
        link("chk", "end", "true"),
    ]
    result = ok(aws, routine(*nodes, connections=connections), trigger, execution)
    assert result.nodes["end"]["output"]["ls"] == [250_000] * (n // 2)
    assert digest(result.nodes["end"]["output"]["whole"]) == digest(trigger)
    assert result.nodes["r1"]["output"] == {"l": 250_000, "kind": "bulk"}
    assert result.nodes["r18"]["output"] == {"blob": "t" * 250_000, "i": 18, "k": "v"}


# --- loops in branches, conditions in loop bodies, large items ----------------------------------


@pytest.mark.parametrize("execution", EXECUTIONS)
def test_loops_in_parallel_branches_with_large_results_read_after_the_join(
    aws: LocalAWS, execution: str
) -> None:
    nodes: list[dict[str, Any]] = [transform("src", {"k": 1})]
    connections = []
    for b in range(3):
        nodes.append(
            {
                "id": f"l{b}",
                "plugin": "loop",
                "parameters": {"items": "{{ trigger.items }}", "maxConcurrency": 5},
            }
        )
        nodes.append(transform(f"row{b}", {"i": "{{ loop.item }}", "b": b, "pad": pad(10_000, "abc"[b])}))
        connections += [link("src", f"l{b}"), link(f"l{b}", f"row{b}", "body"), link(f"l{b}", "join", "done")]
    nodes.append({"id": "join", "plugin": "merge"})
    fields = {f"n{b}": f"{{{{ $count(nodes.l{b}) }}}}" for b in range(3)}
    fields |= {f"s{b}": f"{{{{ $sum(nodes.l{b}.($length(pad))) }}}}" for b in range(3)}
    fields["last"] = "{{ nodes.l2[-1] }}"
    nodes.append(transform("after", fields))
    connections.append(link("join", "after"))
    result = ok(aws, routine(*nodes, connections=connections), {"items": list(range(40))}, execution)
    assert result.output == {
        "after": {
            **{f"n{b}": 40 for b in range(3)},
            **{f"s{b}": 400_000 for b in range(3)},
            "last": {"i": 39, "b": 2, "pad": "c" * 10_000},
        }
    }


def test_an_if_in_a_loop_body_on_a_large_body_output(aws: LocalAWS) -> None:
    doc = routine(
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}", "maxConcurrency": 5}},
        transform(
            "make", {"pad": "{{ $pad('', 150000, loop.item % 2 = 0 ? 'e' : 'o') }}", "i": "{{ loop.item }}"}
        ),
        if_node("even", "{{ nodes.make.pad }}", "startsWith", "eee"),
        transform("yes", {"i": "{{ nodes.make.i }}", "l": "{{ $length(nodes.make.pad) }}"}),
        transform("no", {"i": "{{ nodes.make.i }}", "odd": True}),
        {"id": "m", "plugin": "merge"},
        transform("after", {"all": "{{ nodes.each }}"}),
        connections=[
            link("each", "make", "body"),
            link("make", "even"),
            link("even", "yes", "true"),
            link("even", "no", "false"),
            link("yes", "m"),
            link("no", "m"),
            link("each", "after", "done"),
        ],
    )
    result = ok(aws, doc, {"items": list(range(6))})
    assert result.output == {
        "after": {
            "all": [
                {"yes": {"i": i, "l": 150_000}} if i % 2 == 0 else {"no": {"i": i, "odd": True}}
                for i in range(6)
            ]
        }
    }


def generated_loop(after: dict[str, Any]) -> dict[str, Any]:
    """A loop over 25 generated items of 8,000 characters (200 KB), and a node after it."""
    return routine(
        transform("gen", {"rows": "{{ [1..25].($pad('', 8000, $string(($ % 10)))) }}"}),
        {
            "id": "each",
            "plugin": "loop",
            "parameters": {"items": "{{ nodes.gen.rows }}", "maxConcurrency": 5},
        },
        transform("row", {"l": "{{ $length(loop.item) }}", "c": "{{ $substring(loop.item, 0, 1) }}"}),
        transform("after", after),
        connections=[link("gen", "each"), link("each", "row", "body"), link("each", "after", "done")],
    )


ROWS = [{"l": 8000, "c": str(i % 10)} for i in range(1, 26)]


def test_a_loop_over_a_generated_list_of_large_items(aws: LocalAWS) -> None:
    doc = generated_loop({"all": "{{ nodes.each }}", "first": "{{ $length(nodes.gen.rows[0]) }}"})
    assert ok(aws, doc).output == {"after": {"all": ROWS, "first": 8000}}


def test_a_loop_over_a_generated_list_of_large_items_not_read_after(aws: LocalAWS) -> None:
    assert ok(aws, generated_loop({"all": "{{ nodes.each }}"})).output == {"after": {"all": ROWS}}


@pytest.mark.parametrize("execution", EXECUTIONS)
def test_a_250_kb_trigger_read_inside_a_loop_and_a_branch(aws: LocalAWS, execution: str) -> None:
    trigger = {"blob": "t" * 250_000, "items": [1, 2, 3]}
    doc = routine(
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}"}},
        transform("row", {"i": "{{ loop.item }}", "l": "{{ $length(trigger.blob) }}"}),
        transform("side", {"b": "{{ trigger.blob }}"}),
        {"id": "join", "plugin": "merge"},
        transform(
            "after", {"rows": "{{ nodes.each }}", "l": "{{ $length(nodes.side.b) }}", "t": "{{ trigger }}"}
        ),
        connections=[
            link("each", "row", "body"),
            link("each", "join", "done"),
            link("side", "join"),
            link("join", "after"),
        ],
    )
    result = ok(aws, doc, trigger, execution)
    out = result.output["after"]
    assert out["rows"] == [{"i": i, "l": 250_000} for i in (1, 2, 3)]
    assert out["l"] == 250_000
    assert digest(out["t"]) == digest(trigger)


# --- more sharing: outer large values read inside branches and loop bodies ---------------------


def test_ten_branches_each_reading_a_large_outer_output_then_all_read_after(aws: LocalAWS) -> None:
    names = [f"b{i}" for i in range(10)]
    nodes = [transform("src", {"pad": pad(200_000, "s"), "k": "K"})]
    nodes += [
        transform(
            b, {"pad": pad(100_000, "0123456789"[i]), "head": "{{ $substring(nodes.src.pad, 0, 100) }}"}
        )
        for i, b in enumerate(names)
    ]
    nodes.append({"id": "join", "plugin": "merge"})
    fields = {b: f"{{{{ $substring(nodes.{b}.pad, 99999, 1) & $length(nodes.{b}.head) }}}}" for b in names}
    fields["src"] = "{{ $length(nodes.src.pad) }}"
    fields["k"] = "{{ nodes.src.k }}"
    nodes.append(transform("after", fields))
    connections = [link("src", b) for b in names] + [link(b, "join") for b in names] + [link("join", "after")]
    result = ok(aws, routine(*nodes, connections=connections))
    assert result.output == {
        "after": {**{b: f"{i}100" for i, b in enumerate(names)}, "src": 200_000, "k": "K"}
    }


@pytest.mark.parametrize("execution", EXECUTIONS)
def test_a_loop_of_200_results_and_a_large_outer_output_read_together_after(
    aws: LocalAWS, execution: str
) -> None:
    doc = routine(
        transform("big", {"pad": pad(200_000, "B")}),
        {
            "id": "each",
            "plugin": "loop",
            "parameters": {"items": "{{ trigger.items }}", "maxConcurrency": 10},
        },
        transform("row", {"i": "{{ loop.item }}", "pad": pad(2_000, "r")}),
        transform(
            "after",
            {"n": "{{ $count(nodes.each) }}", "s": "{{ $sum(nodes.each.i) }}", "big": "{{ nodes.big.pad }}"},
        ),
        connections=[link("big", "each"), link("each", "row", "body"), link("each", "after", "done")],
    )
    result = ok(aws, doc, {"items": list(range(200))}, execution)
    assert result.output == {"after": {"n": 200, "s": sum(range(200)), "big": "B" * 200_000}}


def test_an_if_in_a_loop_body_on_a_large_outer_output(aws: LocalAWS) -> None:
    doc = routine(
        transform("big", {"pad": pad(250_000, "Z"), "cut": 2}),
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}"}},
        if_node("chk", "{{ $length(nodes.big.pad) > loop.item * 100000 }}", "eq", True),
        transform("yes", {"i": "{{ loop.item }}"}),
        transform("no", {"i": "{{ loop.item }}", "no": True}),
        {"id": "m", "plugin": "merge"},
        transform("after", {"all": "{{ nodes.each }}"}),
        connections=[
            link("big", "each"),
            link("each", "chk", "body"),
            link("chk", "yes", "true"),
            link("chk", "no", "false"),
            link("yes", "m"),
            link("no", "m"),
            link("each", "after", "done"),
        ],
    )
    result = ok(aws, doc, {"items": [0, 1, 2, 3]})
    assert result.output == {
        "after": {
            "all": [{"yes": {"i": 0}}, {"yes": {"i": 1}}, {"yes": {"i": 2}}, {"no": {"i": 3, "no": True}}]
        }
    }


TRIGGER_LISTS = [
    pytest.param(1_000, id="20 KB"),
    pytest.param(2_500, id="50 KB"),
    # Over the trigger's 64 KiB inline room: the list is in S3, and the loop reads it there
    # (the evaluator writes it out as a JSON array; a distributed Map's ItemReader reads it).
    pytest.param(5_000, id="100 KB"),
]


@pytest.mark.parametrize("size", TRIGGER_LISTS)
def test_a_loop_over_a_large_trigger_list(aws: LocalAWS, size: int) -> None:
    trigger = {"items": [f"{i:02d}" + "v" * (size - 2) for i in range(20)], "tag": "T"}
    doc = routine(
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}", "maxConcurrency": 4}},
        transform(
            "row",
            {
                "h": "{{ $substring(loop.item, 0, 2) }}",
                "l": "{{ $length(loop.item) }}",
                "t": "{{ trigger.tag }}",
            },
        ),
        transform("after", {"all": "{{ nodes.each }}"}),
        connections=[link("each", "row", "body"), link("each", "after", "done")],
    )
    result = ok(aws, doc, trigger)
    assert result.output == {"after": {"all": [{"h": f"{i:02d}", "l": size, "t": "T"} for i in range(20)]}}


def test_a_filter_over_a_large_list(aws: LocalAWS) -> None:
    doc = routine(
        transform("gen", {"rows": "{{ [0..39].({'i': $, 'pad': $pad('', 5000, 'f')}) }}"}),
        {
            "id": "keep",
            "plugin": "filter",
            "parameters": {
                "items": "{{ nodes.gen.rows }}",
                "condition": {"left": "{{ item.i }}", "op": "gte", "right": 30},
            },
        },
        transform(
            "after", {"is": "{{ nodes.keep.items.i }}", "l": "{{ $sum(nodes.keep.items.($length(pad))) }}"}
        ),
        connections=[link("gen", "keep"), link("keep", "after")],
    )
    result = ok(aws, doc)
    assert result.output == {"after": {"is": list(range(30, 40)), "l": 50_000}}


def test_an_if_on_a_large_merge_read_whole(aws: LocalAWS) -> None:
    doc = routine(
        transform("src", {"k": 1}),
        transform("a", {"pad": pad(150_000, "a")}),
        transform("b", {"pad": pad(150_000, "b")}),
        {"id": "join", "plugin": "merge"},
        if_node(
            "chk", "{{ $count($keys(nodes.join)) = 2 and $length(nodes.join.b.pad) = 150000 }}", "eq", True
        ),
        transform("yes", {"l": "{{ $length(nodes.join.a.pad) }}"}),
        transform("no", {"r": "no"}),
        connections=[
            link("src", "a"),
            link("src", "b"),
            link("a", "join"),
            link("b", "join"),
            link("join", "chk"),
            link("chk", "yes", "true"),
            link("chk", "no", "false"),
        ],
    )
    result = ok(aws, doc)
    assert statuses(result)["no"] == "skipped"
    assert result.output == {"yes": {"l": 150_000}}


@pytest.mark.parametrize("execution", EXECUTIONS)
def test_an_until_loop_with_large_results_reading_a_large_outer_output(aws: LocalAWS, execution: str) -> None:
    doc = routine(
        transform("big", {"pad": pad(200_000, "O")}),
        {
            "id": "again",
            "plugin": "loop",
            "parameters": {
                "until": {"left": "{{ loop.previous.n }}", "op": "gte", "right": 4},
                "maxIterations": 10,
            },
        },
        transform(
            "grow",
            {
                "n": "{{ (loop.previous.n ? loop.previous.n : 0) + 1 }}",
                "pad": "{{ $substring(nodes.big.pad, 0, 60000) }}",
            },
        ),
        transform(
            "end",
            {
                "ns": "{{ nodes.again.n }}",
                "l": "{{ $sum(nodes.again.($length(pad))) }}",
                "b": "{{ $length(nodes.big.pad) }}",
            },
        ),
        connections=[link("big", "again"), link("again", "grow", "body"), link("again", "end", "done")],
    )
    result = ok(aws, doc, execution=execution)
    assert result.output == {"end": {"ns": [1, 2, 3, 4], "l": 240_000, "b": 200_000}}


# --- values that are references: loop results fed on ---------------------------------------------


def loop_over_a_loop(size: int, *body: dict[str, Any], inner: list[Any]) -> dict[str, Any]:
    """A loop ``first`` making results of ``size`` characters (``make``), and a loop
    ``second`` over them whose body is ``body`` (``inner``: its connections; the body's
    first node is linked from ``second``), then ``after`` reading ``second``."""
    return routine(
        {"id": "first", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}"}},
        transform("make", {"i": "{{ loop.item }}", "pad": pad(size, "p")}),
        {"id": "second", "plugin": "loop", "parameters": {"items": "{{ nodes.first }}"}},
        *body,
        transform("after", {"all": "{{ nodes.second }}"}),
        connections=[
            link("first", "make", "body"),
            link("first", "second", "done"),
            link("second", body[0]["id"], "body"),
            *inner,
            link("second", "after", "done"),
        ],
    )


@pytest.mark.parametrize("size", [100, 5_000])
def test_a_loop_over_the_results_of_a_loop(aws: LocalAWS, size: int) -> None:
    use = transform("use", {"i": "{{ loop.item.i }}", "l": "{{ $length(loop.item.pad) }}"})
    result = ok(aws, loop_over_a_loop(size, use, inner=[]), {"items": list(range(5))})
    assert result.output == {"after": {"all": [{"i": i, "l": size} for i in range(5)]}}


@pytest.mark.parametrize("size", [100, 5_000])
def test_a_loop_body_reads_a_secret_and_a_large_loop_item(aws: LocalAWS, size: int) -> None:
    aws.client("secretsmanager").create_secret(Name=f"lk{size}", SecretString="S")
    use = transform("use", {"s": "{{ secrets.lk" + str(size) + " & $length(loop.item.pad) }}"})
    result = ok(aws, loop_over_a_loop(size, use, inner=[]), {"items": list(range(3))})
    assert result.output == {"after": {"all": [{"s": f"S{size}"}] * 3}}


def test_an_if_on_a_field_of_a_loop_item_that_is_a_large_result(aws: LocalAWS) -> None:
    odd = if_node("odd", "{{ loop.item.i % 2 }}", "eq", 1)
    yes = transform("yes", {"i": "{{ loop.item.i }}"})
    doc = loop_over_a_loop(5_000, odd, yes, inner=[link("odd", "yes", "true")])
    result = ok(aws, doc, {"items": list(range(4))})
    assert result.output == {"after": {"all": [None, {"i": 1}, None, {"i": 3}]}}


def test_eighty_outputs_of_130_kb_all_read_at_the_end(aws: LocalAWS) -> None:
    n = 80
    nodes = [transform(f"n{i}", {"pad": pad(130_000, "abcdefghij"[i % 10]), "i": i}) for i in range(n)]
    fields = {
        f"c{i}": f"{{{{ $substring(nodes.n{i}.pad, 129999, 1) & $length(nodes.n{i}.pad) }}}}"
        for i in range(n)
    }
    nodes.append(transform("last", fields))
    connections = [link(f"n{i}", f"n{i + 1}") for i in range(n - 1)] + [link(f"n{n - 1}", "last")]
    result = ok(aws, routine(*nodes, connections=connections))
    assert result.output == {"last": {f"c{i}": "abcdefghij"[i % 10] + "130000" for i in range(n)}}


@pytest.mark.parametrize("execution", EXECUTIONS)
def test_a_chain_reading_whole_outputs_over_256_kib(aws: LocalAWS, execution: str) -> None:
    n = 6
    nodes = [transform("n0", {"a": pad(150_000, "a"), "b": pad(150_000, "b"), "i": 0})]
    nodes += [transform(f"n{i}", {"prev": f"{{{{ nodes.n{i - 1} }}}}", "i": i}) for i in range(1, n)]
    nodes.append(
        transform(
            "end",
            {
                "i": "{{ nodes.n5.prev.prev.i }}",
                "a": "{{ $length(nodes.n5.prev.prev.prev.prev.prev.a) }}",
                "b": "{{ $substring(nodes.n3.prev.prev.prev.b, 0, 3) }}",
            },
        )
    )
    connections = [link(f"n{i}", f"n{i + 1}") for i in range(n - 1)] + [link(f"n{n - 1}", "end")]
    result = ok(aws, routine(*nodes, connections=connections), execution=execution)
    assert result.output == {"end": {"i": 3, "a": 150_000, "b": "bbb"}}


def test_a_choice_on_a_whole_output_over_256_kib(aws: LocalAWS) -> None:
    doc = routine(
        transform("big", {"a": pad(150_000, "a"), "b": pad(150_000, "b")}),
        transform("copy", {"a": "{{ nodes.big.a }}", "b": "{{ nodes.big.b }}"}),
        if_node("same", "{{ nodes.big }}", "eq", "{{ nodes.copy }}"),
        transform("yes", {"r": "yes"}),
        transform("no", {"r": "no"}),
        connections=[
            link("big", "copy"),
            link("copy", "same"),
            link("same", "yes", "true"),
            link("same", "no", "false"),
        ],
    )
    result = ok(aws, doc)
    assert statuses(result)["yes"] == "succeeded" and statuses(result)["no"] == "skipped"


def test_nested_loops_with_large_inner_results_read_by_the_outer_and_after(aws: LocalAWS) -> None:
    doc = routine(
        {"id": "rows", "plugin": "loop", "parameters": {"items": "{{ trigger.rows }}", "maxConcurrency": 2}},
        {"id": "cells", "plugin": "loop", "parameters": {"items": "{{ loop.item }}", "maxConcurrency": 5}},
        transform("cell", {"v": "{{ loop.item }}", "pad": pad(6_000, "c")}),
        transform(
            "count",
            {
                "n": "{{ $count(nodes.cells) }}",
                "l": "{{ $sum(nodes.cells.($length(pad))) }}",
                "last": "{{ nodes.cells[-1].v }}",
            },
        ),
        transform("after", {"rows": "{{ nodes.rows }}"}),
        connections=[
            link("rows", "cells", "body"),
            link("cells", "cell", "body"),
            link("cells", "count", "done"),
            link("rows", "after", "done"),
        ],
    )
    rows = [list(range(30)), list(range(30, 60)), list(range(60, 90))]
    result = ok(aws, doc, {"rows": rows})
    assert result.output == {"after": {"rows": [{"n": 30, "l": 180_000, "last": r[-1]} for r in rows]}}


def test_a_loop_over_two_100_kb_items(aws: LocalAWS) -> None:
    doc = routine(
        transform("gen", {"rows": "{{ [1..2].($pad('', 100000, $string($))) }}"}),
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ nodes.gen.rows }}"}},
        transform(
            "row",
            {
                "l": "{{ $length(loop.item) }}",
                "c": "{{ $substring(loop.item, 0, 1) }}",
                "w": "{{ loop.item }}",
            },
        ),
        transform(
            "after",
            {"ls": "{{ nodes.each.l }}", "cs": "{{ nodes.each.c }}", "w": "{{ $length(nodes.each[1].w) }}"},
        ),
        connections=[link("gen", "each"), link("each", "row", "body"), link("each", "after", "done")],
    )
    result = ok(aws, doc)
    assert result.output == {"after": {"ls": [100_000, 100_000], "cs": ["1", "2"], "w": 100_000}}


def test_a_switch_in_a_loop_body_on_a_large_iteration_output(aws: LocalAWS) -> None:
    doc = routine(
        {"id": "each", "plugin": "loop", "parameters": {"items": "{{ trigger.items }}", "maxConcurrency": 3}},
        transform("make", {"pad": "{{ $pad('', 120000, $substring('abc', loop.item % 3, 1)) }}"}),
        {
            "id": "route",
            "plugin": "switch",
            "parameters": {
                "rules": [
                    {
                        "port": "a",
                        "condition": {"left": "{{ nodes.make.pad }}", "op": "startsWith", "right": "aa"},
                    },
                    {
                        "port": "b",
                        "condition": {
                            "left": "{{ $substring(nodes.make.pad, 119999) }}",
                            "op": "eq",
                            "right": "b",
                        },
                    },
                ]
            },
        },
        transform("ra", {"r": "a"}),
        transform("rb", {"r": "b"}),
        transform("rd", {"r": "d", "l": "{{ $length(nodes.make.pad) }}"}),
        {"id": "m", "plugin": "merge"},
        transform("after", {"all": "{{ nodes.each }}"}),
        connections=[
            link("each", "make", "body"),
            link("make", "route"),
            link("route", "ra", "a"),
            link("route", "rb", "b"),
            link("route", "rd", "default"),
            link("ra", "m"),
            link("rb", "m"),
            link("rd", "m"),
            link("each", "after", "done"),
        ],
    )
    result = ok(aws, doc, {"items": list(range(6))})
    expected = [{"ra": {"r": "a"}}, {"rb": {"r": "b"}}, {"rd": {"r": "d", "l": 120_000}}] * 2
    assert result.output == {"after": {"all": expected}}


@pytest.mark.parametrize("execution", EXECUTIONS)
def test_an_output_of_many_small_fields_just_under_its_room_compactly(aws: LocalAWS, execution: str) -> None:
    # 238,904 bytes as compact JSON, under the 250 KiB room; 278,904 as the Lambda runtime
    # writes it (", " and ": "): it went inline and failed with States.DataLimitExceeded.
    make = {"rows": "{{ $map([1..10000], function($i) { {'k': $i, 'v': 'abcdef'} }) }}"}
    doc = routine(
        transform("make", make),
        transform("after", {"n": "{{ $count(nodes.make.rows) }}", "last": "{{ nodes.make.rows[9999].k }}"}),
        connections=[link("make", "after")],
    )
    assert ok(aws, doc, execution=execution).output == {"after": {"n": 10_000, "last": 10_000}}
