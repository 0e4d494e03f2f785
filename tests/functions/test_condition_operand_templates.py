"""Templates nested in a list or object operand of a condition (``"right": ["{{ vars.ok }}",
"shipped"]``, ``"left": {"a": "{{ nodes.d.x }}"}``) are evaluated by the native Choice as the
evaluator Lambda and the filter node evaluate them — never compared as their text.

Each nested string is rendered on its own: a string that is one template keeps its value's
type (a list stays one item of the operand), a node that did not run reads null, a template
inside longer text is text. A nested template reading a value that may be offloaded to S3
sends the condition to the evaluator route, as a top-level operand does.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from contract.conditions import evaluate
from contract.expressions import has_expression, map_strings, parse_template
from contract.jsonata import evaluate as jsonata
from contract.jsonata.conditions import condition_jsonata
from contract.jsonata.lexer import field_text
from contract.jsonata.references import Reference
from functions.local import ExecutionResult, LocalAWS, run_routine

PAD = "{{ $pad('', 300000, 'x') }}"  # over a variable's room: the output goes to S3
SOURCE = {"x": 1, "s": "paid", "list": [1, 2], "obj": {"a": [1]}, "nul": None}
VARIABLES = {"ok": "paid", "n": 2}


def transform(node_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"id": node_id, "plugin": "transform", "parameters": {"fields": fields}}


def static(node_id: str, data: Any) -> dict[str, Any]:
    return {"id": node_id, "plugin": "static-data", "parameters": {"data": data}}


def link(source: str, target: str, port: str | None = None) -> dict[str, Any]:
    edge = {"sourceNodeId": source, "targetNodeId": target}
    return {**edge, "sourcePort": port} if port else edge


def document(nodes: list[dict[str, Any]], connections: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": "condition operand templates",
        "trigger": {"type": "manual"},
        "variables": VARIABLES,
        "nodes": nodes,
        "connections": connections,
    }


def with_a_node_that_did_not_run(nodes: list[dict[str, Any]], connections: list[dict[str, Any]]) -> None:
    """``src`` (SOURCE), then ``gate`` whose true port (never taken) leads to ``never`` and
    false port to ``ran``; both lead to the merge ``join``, after which ``never`` is upstream
    and did not run."""
    nodes += [
        static("src", SOURCE),
        {
            "id": "gate",
            "plugin": "if",
            "parameters": {"condition": {"left": "{{ nodes.src.x }}", "op": "eq", "right": 0}},
        },
        transform("never", {"v": 1}),
        transform("ran", {"v": 2}),
        {"id": "join", "plugin": "merge"},
    ]
    connections += [
        link("src", "gate"),
        link("gate", "never", "true"),
        link("gate", "ran", "false"),
        link("never", "join"),
        link("ran", "join"),
    ]


def entered(result: ExecutionResult) -> set[str]:
    return {e["stateEnteredEventDetails"]["name"] for e in result.history if "stateEnteredEventDetails" in e}


def succeeded(aws: LocalAWS, doc: dict[str, Any], trigger: Any) -> ExecutionResult:
    result = run_routine(aws, doc, trigger)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return result


# Conditions over the trigger ({"status": "paid", "text": "{{ vars.ok }}"}), vars, the node
# ``src`` and the node ``never`` (which does not run), with whether each holds.
IF_CASES: list[tuple[str, dict[str, Any], bool]] = [
    (
        "trigger_in_list_of_var",
        {"left": "{{ trigger.status }}", "op": "in", "right": ["{{ vars.ok }}", "x"]},
        True,
    ),
    (
        "template_text_is_not_in_list_of_var",
        {"left": "{{ trigger.text }}", "op": "in", "right": ["{{ vars.ok }}", "x"]},
        False,
    ),
    (
        "literal_in_list_of_trigger",
        {"left": "paid", "op": "in", "right": ["y", "{{ trigger.status }}"]},
        True,
    ),
    ("node_in_list_of_node", {"left": "{{ nodes.src.s }}", "op": "in", "right": ["{{ nodes.src.s }}"]}, True),
    ("object_of_node_eq_object", {"left": {"a": "{{ nodes.src.x }}"}, "op": "eq", "right": {"a": 1}}, True),
    ("object_of_node_ne_object", {"left": {"a": "{{ nodes.src.x }}"}, "op": "ne", "right": {"a": 2}}, True),
    (
        "deep_object_of_var_and_node",
        {"left": "{{ nodes.src.obj }}", "op": "eq", "right": {"a": ["{{ nodes.src.x }}"]}},
        True,
    ),
    ("whole_template_keeps_its_type", {"left": ["{{ nodes.src.x }}"], "op": "eq", "right": ["1"]}, False),
    ("template_in_text_is_text", {"left": ["n={{ nodes.src.x }}"], "op": "eq", "right": ["n=1"]}, True),
    ("a_list_item_stays_one_item", {"left": ["{{ nodes.src.list }}"], "op": "eq", "right": [[1, 2]]}, True),
    (
        "a_list_in_a_list_of_lists",
        {"left": "{{ nodes.src.list }}", "op": "in", "right": ["{{ nodes.src.list }}", 3]},
        True,
    ),
    ("did_not_run_is_null", {"left": {"a": "{{ nodes.never.v }}"}, "op": "eq", "right": {"a": None}}, True),
    ("did_not_run_in_list", {"left": None, "op": "in", "right": ["{{ nodes.never.v }}"]}, True),
    ("did_not_run_leaves_one_item", {"left": ["{{ nodes.never }}", 1], "op": "eq", "right": [None, 1]}, True),
    ("did_not_run_in_text", {"left": ["<{{ nodes.never.v }}>"], "op": "eq", "right": ["<>"]}, True),
    ("null_field_in_object", {"left": {"k": "{{ nodes.src.nul }}"}, "op": "eq", "right": {"k": None}}, True),
    (
        "in_list_of_object_and_var",
        {"left": {"a": 2}, "op": "in", "right": [{"a": "{{ vars.n }}"}, "{{ nodes.src.obj }}"]},
        True,
    ),
    ("isempty_list_of_missing", {"left": ["{{ nodes.never.v }}"], "op": "isEmpty"}, False),
    ("exists_object_of_missing", {"left": {"a": "{{ nodes.never.v }}"}, "op": "exists"}, True),
    (
        "in_group",
        {
            "all": [
                {"not": {"left": "{{ trigger.status }}", "op": "in", "right": ["{{ trigger.text }}"]}},
                {
                    "any": [
                        {"left": "{{ vars.n }}", "op": "in", "right": ["{{ nodes.src.x }}", "{{ vars.n }}"]}
                    ]
                },
            ]
        },
        True,
    ),
]
TRIGGER = {"status": "paid", "text": "{{ vars.ok }}"}


def test_if_takes_the_branch_its_nested_templates_decide(aws: LocalAWS) -> None:
    nodes: list[dict[str, Any]] = []
    connections: list[dict[str, Any]] = []
    with_a_node_that_did_not_run(nodes, connections)
    for name, condition, _ in IF_CASES:
        nodes += [
            {"id": name, "plugin": "if", "parameters": {"condition": condition}},
            transform(f"{name}_yes", {"v": "yes"}),
            transform(f"{name}_no", {"v": "no"}),
        ]
        connections += [
            link("join", name),
            link(name, f"{name}_yes", "true"),
            link(name, f"{name}_no", "false"),
        ]
    result = succeeded(aws, document(nodes, connections), TRIGGER)
    states = entered(result)
    decided = {}
    for name, _, expected in IF_CASES:
        taken, other = (f"{name}_yes", f"{name}_no") if expected else (f"{name}_no", f"{name}_yes")
        assert result.nodes[taken]["status"] == "succeeded", name
        assert result.nodes[taken]["output"] == {"v": "yes" if expected else "no"}, name
        assert result.nodes[other]["status"] == "skipped", name
        decided[name] = result.nodes[f"{name}_yes"]["status"] == "succeeded"
        assert not any(s.startswith(f"{name} (") for s in states), (name, "decided natively")
    assert decided == {name: expected for name, _, expected in IF_CASES}
    assert result.nodes["never"]["status"] == "skipped"


def test_if_on_a_list_of_a_variable_from_the_routine_file(aws: LocalAWS) -> None:
    """The reported routine: status "paid" is in ["{{ vars.okStatus }}", "shipped"]; the
    text "{{ vars.okStatus }}" is not."""
    doc = {
        "name": "templates inside a condition's list",
        "trigger": {"type": "manual"},
        "variables": {"okStatus": "paid"},
        "nodes": [
            {
                "id": "gate",
                "plugin": "if",
                "parameters": {
                    "condition": {
                        "left": "{{ trigger.body.status }}",
                        "op": "in",
                        "right": ["{{ vars.okStatus }}", "shipped"],
                    }
                },
            },
            transform("yes", {"v": "yes"}),
            transform("no", {"v": "no"}),
        ],
        "connections": [link("gate", "yes", "true"), link("gate", "no", "false")],
    }
    for status, taken, skipped in [
        ("paid", "yes", "no"),
        ("shipped", "yes", "no"),
        ("{{ vars.okStatus }}", "no", "yes"),
        ("other", "no", "yes"),
    ]:
        result = succeeded(aws, doc, {"body": {"status": status}})
        assert result.nodes[taken]["status"] == "succeeded", status
        assert result.nodes[taken]["output"] == {"v": taken}, status
        assert result.nodes[skipped]["status"] == "skipped", status


def test_switch_rules_with_nested_templates(aws: LocalAWS) -> None:
    def switch(node_id: str, rules: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        return {
            "id": node_id,
            "plugin": "switch",
            "parameters": {"rules": [{"port": port, "condition": c} for port, c in rules]},
        }

    switches: dict[str, list[tuple[str, dict[str, Any]]]] = {
        # the first rule compares with the variable's value, not its text: "a" is taken
        "by_var": [
            ("a", {"left": "{{ trigger.status }}", "op": "in", "right": ["{{ vars.ok }}"]}),
            ("b", {"left": "{{ trigger.text }}", "op": "in", "right": ["{{ vars.ok }}"]}),
        ],
        # the text "{{ vars.ok }}" is not the value "paid": "b"
        "by_text": [
            ("a", {"left": "{{ trigger.text }}", "op": "in", "right": ["{{ vars.ok }}"]}),
            ("b", {"left": {"s": "{{ trigger.status }}"}, "op": "eq", "right": {"s": "{{ nodes.src.s }}"}}),
        ],
        # a node that did not run is null inside an object: "b"
        "by_missing": [
            ("a", {"left": {"v": "{{ nodes.never.v }}"}, "op": "eq", "right": {"v": "{{ nodes.never }}x"}}),
            ("b", {"left": {"v": "{{ nodes.never.v }}"}, "op": "eq", "right": {"v": None}}),
        ],
        # no rule holds: the default
        "by_none": [
            ("a", {"left": "{{ nodes.src.x }}", "op": "in", "right": ["{{ vars.n }}", "1"]}),
            ("b", {"left": ["{{ nodes.src.list }}"], "op": "eq", "right": [1, 2]}),
        ],
    }
    expected = {"by_var": "a", "by_text": "b", "by_missing": "b", "by_none": "default"}
    nodes: list[dict[str, Any]] = []
    connections: list[dict[str, Any]] = []
    with_a_node_that_did_not_run(nodes, connections)
    for node_id, rules in switches.items():
        nodes.append(switch(node_id, rules))
        connections.append(link("join", node_id))
        for port in ("a", "b", "default"):
            nodes.append(transform(f"{node_id}_{port}", {"port": port}))
            connections.append(link(node_id, f"{node_id}_{port}", port))
    result = succeeded(aws, document(nodes, connections), TRIGGER)
    states = entered(result)
    taken = {}
    for node_id in switches:
        ran = [p for p in ("a", "b", "default") if result.nodes[f"{node_id}_{p}"]["status"] == "succeeded"]
        assert len(ran) == 1, (node_id, ran)
        taken[node_id] = ran[0]
        assert result.nodes[f"{node_id}_{ran[0]}"]["output"] == {"port": ran[0]}
        assert not any(s.startswith(f"{node_id} (") for s in states), (node_id, "decided natively")
    assert taken == expected


def test_a_loop_until_with_templates_in_its_list(aws: LocalAWS) -> None:
    """``until`` is a condition too: it holds once the previous result is in the list."""
    until = {
        "left": "{{ loop.previous.n }}",
        "op": "in",
        "right": ["{{ trigger.stop }}", {"never": "{{ vars.n }}"}],
    }
    doc = document(
        [
            {"id": "count", "plugin": "loop", "parameters": {"until": until, "maxIterations": 5}},
            transform("step", {"n": "{{ loop.index }}"}),
            transform("after", {"got": "{{ nodes.count }}"}),
        ],
        [link("count", "step", "body"), link("count", "after", "done")],
    )
    result = succeeded(aws, doc, {"stop": 1})
    assert result.nodes["count"]["output"] == [{"n": 0}, {"n": 1}]
    assert result.nodes["after"]["output"] == {"got": [{"n": 0}, {"n": 1}]}


# --- the native Choice and the evaluator Lambda agree --------------------------------------

AGREEMENT: list[tuple[str, dict[str, Any], bool]] = [
    ("in_list_of_templates", {"left": "{{ ROOT.s }}", "op": "in", "right": ["{{ ROOT.s }}", "x"]}, True),
    ("not_in_list_of_other", {"left": "{{ ROOT.s }}", "op": "in", "right": ["{{ ROOT.t }}", "x"]}, False),
    (
        "eq_object_holding_a_template",
        {"left": "{{ ROOT.obj }}", "op": "eq", "right": {"a": ["{{ ROOT.x }}"]}},
        True,
    ),
    ("object_left", {"left": {"a": "{{ ROOT.x }}"}, "op": "eq", "right": {"a": 1}}, True),
    ("typed_item", {"left": ["{{ ROOT.x }}"], "op": "eq", "right": ["1"]}, False),
    ("text_item", {"left": ["x={{ ROOT.x }}"], "op": "eq", "right": ["x=1"]}, True),
    (
        "list_item_stays_one",
        {"left": ["{{ ROOT.list }}", "{{ ROOT.x }}"], "op": "eq", "right": [[1, 2], 1]},
        True,
    ),
    ("missing_item_is_null", {"left": ["{{ ROOT.missing }}"], "op": "eq", "right": [None]}, True),
    ("missing_in_list", {"left": None, "op": "in", "right": ["{{ ROOT.missing }}", 1]}, True),
    ("var_in_list", {"left": "{{ ROOT.s }}", "op": "in", "right": ["{{ vars.ok }}"]}, True),
    ("ordered_nested_is_false", {"left": ["{{ ROOT.x }}"], "op": "gt", "right": 0}, False),
    ("isempty_object", {"left": {"a": "{{ ROOT.missing }}"}, "op": "isEmpty"}, False),
]


def fill(value: Any, root: str) -> Any:
    return map_strings(value, lambda text: text.replace("ROOT", root))


def test_native_choice_and_the_evaluator_agree(aws: LocalAWS) -> None:
    """Each condition twice: over ``small`` (the native Choice decides) and over ``big``
    (offloaded to S3: the evaluator Lambda decides, on the ``(offloaded)`` route)."""
    nodes = [static("small", {"d": SOURCE, "pad": "p"}), static("big", {"d": SOURCE, "pad": PAD})]
    connections = [link("small", "big")]
    for index, (_, condition, _) in enumerate(AGREEMENT):
        for route, node in (("n", "small"), ("o", "big")):
            # exists(pad) always holds; reading big's pad (never inline) sends "o" to the evaluator
            guarded = {
                "all": [
                    {"left": "{{ nodes." + node + ".pad }}", "op": "exists"},
                    fill(condition, f"nodes.{node}.d"),
                ]
            }
            nodes += [
                {"id": f"{route}{index}", "plugin": "if", "parameters": {"condition": guarded}},
                transform(f"yes_{route}{index}", {"taken": True}),
            ]
            connections += [
                link("big", f"{route}{index}"),
                link(f"{route}{index}", f"yes_{route}{index}", "true"),
            ]
    # only a NESTED template reads the offloaded value: the condition still goes to the evaluator
    nested_only = {"left": 300000, "op": "in", "right": [{"n": 1}, "{{ $length(nodes.big.pad) }}"]}
    nodes += [
        {"id": "nested_guard", "plugin": "if", "parameters": {"condition": nested_only}},
        transform("yes_nested_guard", {"taken": True}),
    ]
    connections += [link("big", "nested_guard"), link("nested_guard", "yes_nested_guard", "true")]
    result = succeeded(aws, document(nodes, connections), {})
    states = entered(result)
    decided = {}
    for index, (name, _, _) in enumerate(AGREEMENT):
        assert f"o{index} (offloaded)" in states and f"n{index} (offloaded)" not in states, name
        decided[name] = tuple(result.nodes[f"yes_{r}{index}"]["status"] == "succeeded" for r in ("n", "o"))
    assert decided == {name: (expected, expected) for name, _, expected in AGREEMENT}
    assert "nested_guard (offloaded)" in states
    assert result.nodes["yes_nested_guard"]["output"] == {"taken": True}


def test_filter_keeps_the_items_the_native_choice_would_take(aws: LocalAWS) -> None:
    condition = {
        "left": "{{ item }}",
        "op": "in",
        "right": ["{{ vars.ok }}", "{{ nodes.src.list }}", "{{ nodes.never }}"],
    }
    nodes: list[dict[str, Any]] = []
    connections: list[dict[str, Any]] = []
    with_a_node_that_did_not_run(nodes, connections)
    items = ["paid", "{{ vars.ok }}", [1, 2], 1, None]
    # the filter's Lambda evaluates the condition per item; an if per item decides natively
    nodes.append(
        {
            "id": "f",
            "plugin": "filter",
            "parameters": {"items": "{{ trigger.items }}", "condition": condition},
        }
    )
    connections.append(link("join", "f"))
    for index in range(len(items)):
        test = {**condition, "left": "{{ trigger.items[" + str(index) + "] }}"}
        nodes += [
            {"id": f"i{index}", "plugin": "if", "parameters": {"condition": test}},
            transform(f"kept{index}", {"item": f"{{{{ trigger.items[{index}] }}}}"}),
        ]
        connections += [link("join", f"i{index}"), link(f"i{index}", f"kept{index}", "true")]
    result = succeeded(aws, document(nodes, connections), {"items": items})
    assert result.nodes["f"]["output"] == {"items": ["paid", [1, 2], None]}
    kept = [
        result.nodes[f"kept{i}"]["output"]["item"]
        for i in range(len(items))
        if result.nodes[f"kept{i}"]["status"] == "succeeded"
    ]
    assert kept == ["paid", [1, 2], None]


# --- the JSONata text itself, against the reference semantics ---------------------------------


def root_text(ref: Reference) -> str:
    return "$ctx." + ref.root + (f".{field_text(ref.name)}" if ref.name else "")


def operand(text: str) -> str:
    return parse_template(text).native(root_text)


CONTEXTS: list[dict[str, Any]] = [
    {"nodes": {"a": {"x": 1, "l": [1, 2], "e": [], "s": "t"}}, "vars": {"v": "t"}},
    {"nodes": {"a": {"x": [1], "l": None, "s": 1}}, "vars": {"v": [1, 2]}},
    {"nodes": {}, "vars": {}},
]
OPERANDS: list[Any] = [
    ["{{ nodes.a.x }}", "{{ nodes.a.l }}"],
    ["{{ nodes.a.e }}", 1, "{{ vars.v }}"],
    {"k": "{{ nodes.a.l }}", "m": ["{{ nodes.a.missing }}"]},
    ["s={{ nodes.a.s }}", ["{{ vars.v }}"]],
    [[1, 2], "{{ nodes.a.l }}", [1]],
    [],
    "{{ nodes.a.l }}",
    [1, 2],
    "t",
    None,
]


def test_nested_operand_text_agrees_with_the_reference_semantics() -> None:
    ops = ["eq", "ne", "in", "gt", "contains", "exists", "isEmpty"]
    for op, left, right, context in itertools.product(ops, OPERANDS, OPERANDS, CONTEXTS):
        condition: dict[str, Any] = {"left": left, "op": op}
        if op not in ("exists", "isEmpty"):
            condition["right"] = right
        text = condition_jsonata(condition, operand)
        assert text is not None
        assert "{{" not in text, text

        def resolve(value: Any, context: dict[str, Any] = context) -> Any:
            return map_strings(value, lambda s: parse_template(s).render(context) if has_expression(s) else s)

        expected = evaluate(condition, resolve)
        got = jsonata(text, None, {"ctx": context})
        assert got is expected, (json.dumps(condition), context, text)
