"""One table of expressions (tests/data/jsonata_conformance.json), three ways, one answer.

Each case is ``{"name", "template", "context", "expected", "source"}`` — ``source`` says
where ``expected`` comes from (docs.jsonata.org, the AWS Step Functions documentation, or
"reasoned: …"). A case may also carry ``"disagreement"``: a known difference, explained,
under which the case is a strict xfail (it fails the suite the day it is fixed, so the
note goes). Every case is evaluated

(a) as a plugin Lambda does: ``parse_template(template).render(context)``;
(b) natively: :meth:`Template.native` in a JSONata-mode state machine on the local runtime
    (moto with the project's JSONata seam) — a Pass state assigns variables from the
    execution input (each node's output its own, ``nodes.fetch`` → ``$nodes_fetch``, ``null``
    for a node missing from the context, as a node that did not run reads; each other
    root one, ``trigger.body`` → ``$trigger.body``), and the next Pass
    state's ``Output`` is ``{"value": "{% <native text> %}"}`` (wrapped: moto hands back a
    string output as it is, not as JSON text);
(c) ``expected``;

and all three must be the same JSON value (``1`` is ``1.0``, ``true`` is not ``1``). The
recipes of docs/expressions.md run natively as well, and must give what ``render`` gives.
One machine serves every case: a Choice on ``$states.input.case`` leads to the case's
states, and the cases run as concurrent executions of it.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from contract.expressions import Reference, parse_template
from contract.jsonata.lexer import field_text
from functions.local import LocalAWS
from tests.conftest import ROOT
from tests.statemachines.test_expression_cookbook import RECIPES

TABLE = ROOT / "tests" / "data" / "jsonata_conformance.json"
CASES: list[dict[str, Any]] = json.loads(TABLE.read_text(encoding="utf-8"))
KEYS = {"name", "template", "context", "expected", "source"}
# docs/expressions.md's recipes run natively too (their results are checked against the page
# by tests/statemachines/test_expression_cookbook.py); those checked by shape are left out.
COOKBOOK = [
    {"name": f"cookbook {recipe.name}", "template": recipe.template, "context": recipe.context}
    for recipe in RECIPES
    if recipe.pattern is None
]
RUN_TIMEOUT = 60.0  # seconds for every execution together


@dataclass(frozen=True)
class Failed:
    """An evaluation that raised (a) or an execution that did not succeed (b)."""

    error: str
    cause: str

    def __str__(self) -> str:
        return f"<failed {self.error}: {self.cause}>"


def same(left: Any, right: Any) -> bool:
    """JSON equality: numbers by value (``1 == 1.0``), ``true`` is not ``1``, at every depth."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return bool(left == right)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(v, right[k]) for k, v in left.items())
    return type(left) is type(right) and left == right


def shown(value: Any) -> str:
    return str(value) if isinstance(value, Failed) else json.dumps(value, ensure_ascii=False)


# --- (a) the Lambda side ---------------------------------------------------------------------


def render(case: dict[str, Any]) -> Any:
    try:
        return parse_template(case["template"]).render(case["context"])
    except Exception as exc:  # every way of failing is a result to compare
        return Failed(type(exc).__name__, str(exc))


# --- (b) natively, on the local runtime -------------------------------------------------------


def variable(ref: Reference) -> str:
    """The workflow variable a root reference reads: a node's output is a variable of its
    own (``nodes.fetch`` → ``$nodes_fetch``), as each node's output is in a compiled
    routine; any other root is one variable (``trigger.body`` → ``$trigger``)."""
    if ref.root == "nodes" and ref.name is not None:
        return "nodes_" + re.sub(r"[^A-Za-z0-9_]", "_", ref.name)
    return ref.root


def root_text(ref: Reference) -> str:
    if ref.root == "nodes" and ref.name is not None:
        return f"${variable(ref)}"
    return f"${ref.root}" if ref.name is None else f"${ref.root}.{field_text(ref.name)}"


def root_value(context: dict[str, Any], ref: Reference) -> Any:
    """What the variable holds: the node's output (``null`` for a node that did not run,
    as a compiled routine's default gives it), or the whole root."""
    value = context.get(ref.root)
    if ref.root == "nodes" and ref.name is not None:
        return value.get(ref.name) if isinstance(value, dict) else None
    return value


@dataclass
class Plan:
    """One case's states and execution input, or why it has none."""

    states: dict[str, Any]
    start: str
    values: dict[str, Any]
    failed: Failed | None = None


def plan(index: int, case: dict[str, Any]) -> Plan:
    refs: dict[str, Reference] = {}

    def recorded(ref: Reference) -> str:
        refs.setdefault(variable(ref), ref)
        return root_text(ref)

    try:
        text = parse_template(case["template"]).native(recorded)
    except Exception as exc:
        return Plan({}, "", {}, Failed(type(exc).__name__, str(exc)))
    output = f"case_{index}"
    states: dict[str, Any] = {output: {"Type": "Pass", "Output": {"value": f"{{% {text} %}}"}, "End": True}}
    start = output
    if refs:
        start = f"assign_{index}"
        assign = {name: f"{{% $states.input.values.{name} %}}" for name in refs}
        states[start] = {"Type": "Pass", "Assign": assign, "Next": output}
    values = {name: root_value(case["context"], ref) for name, ref in refs.items()}
    return Plan(states, start, values)


def definition(plans: list[Plan]) -> dict[str, Any]:
    states: dict[str, Any] = {}
    choices = []
    for index, item in enumerate(plans):
        if item.failed is None:
            states.update(item.states)
            choices.append({"Condition": f"{{% $states.input.case = {index} %}}", "Next": item.start})
    states["unknown"] = {"Type": "Fail", "Error": "UnknownCase"}
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "dispatch",
        "States": {"dispatch": {"Type": "Choice", "Choices": choices, "Default": "unknown"}, **states},
    }


def run_natively(aws: LocalAWS, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Each case's execution output (or :class:`Failed`), by case name."""
    plans = [plan(index, case) for index, case in enumerate(cases)]
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"conformance-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition(plans)),
        roleArn=aws.role_arn,
    )["stateMachineArn"]
    results: dict[str, Any] = {}
    running: dict[str, str] = {}
    for index, (case, item) in enumerate(zip(cases, plans, strict=True)):
        if item.failed is not None:
            results[case["name"]] = item.failed
            continue
        data = json.dumps({"case": index, "values": item.values})
        running[case["name"]] = sfn.start_execution(
            stateMachineArn=machine, name=f"case-{index}", input=data
        )["executionArn"]
    deadline = time.monotonic() + RUN_TIMEOUT
    while running and time.monotonic() < deadline:
        for name, arn in list(running.items()):
            described = sfn.describe_execution(executionArn=arn)
            if described["status"] == "RUNNING":
                continue
            del running[name]
            if described["status"] == "SUCCEEDED":
                results[name] = json.loads(described["output"])["value"]
            else:
                results[name] = Failed(
                    described.get("error", described["status"]), described.get("cause", "")
                )
        if running:
            time.sleep(0.02)
    for name in running:
        results[name] = Failed("Timeout", f"still running after {RUN_TIMEOUT:.0f}s")
    return results


@pytest.fixture(scope="module")
def native() -> Iterator[dict[str, Any]]:
    started = time.perf_counter()
    with LocalAWS() as aws:
        up = time.perf_counter()
        results = run_natively(aws, CASES + COOKBOOK)
        ran = time.perf_counter()
    runs = len(CASES) + len(COOKBOOK)
    print(  # shown with -s: what the batch costs
        f"\n{len(CASES)} conformance cases and {len(COOKBOOK)} recipes natively: local AWS up in "
        f"{up - started:.2f}s, one machine, {runs} executions in {ran - up:.2f}s"
    )
    yield results


# --- the table --------------------------------------------------------------------------------


def test_the_table_is_well_formed() -> None:
    assert len(CASES) >= 60
    names = [case["name"] for case in CASES]
    assert len(set(names)) == len(names), "case names are unique"
    for case in CASES:
        assert KEYS <= case.keys() <= KEYS | {"disagreement"}, case["name"]
        assert isinstance(case["context"], dict), case["name"]
        assert case["source"].strip(), case["name"]
        assert "$now()" not in case["template"] or case["expected"] in (True, False), (
            f"{case['name']}: $now() is checked by shape only"
        )


def _params() -> list[Any]:
    params = []
    for case in CASES:
        marks = []
        if "disagreement" in case:
            marks.append(pytest.mark.xfail(strict=True, reason=case["disagreement"]))
        params.append(pytest.param(case, id=case["name"], marks=marks))
    return params


@pytest.mark.parametrize("case", _params())
def test_three_ways_agree(case: dict[str, Any], native: dict[str, Any]) -> None:
    lambda_side = render(case)
    step_functions = native[case["name"]]
    expected = case["expected"]
    report = (
        f"{case['name']}: {case['template']}\n"
        f"  render   {shown(lambda_side)}\n"
        f"  native   {shown(step_functions)}\n"
        f"  expected {shown(expected)}  ({case['source']})"
    )
    assert not isinstance(lambda_side, Failed) and not isinstance(step_functions, Failed), report
    assert same(lambda_side, step_functions), report
    assert same(lambda_side, expected), report


@pytest.mark.parametrize("recipe", COOKBOOK, ids=[recipe["name"] for recipe in COOKBOOK])
def test_cookbook_recipes_give_the_same_natively(recipe: dict[str, Any], native: dict[str, Any]) -> None:
    lambda_side = render(recipe)
    step_functions = native[recipe["name"]]
    report = f"{recipe['template']}\n  render   {shown(lambda_side)}\n  native   {shown(step_functions)}"
    assert not isinstance(step_functions, Failed), report
    assert same(lambda_side, step_functions), report
