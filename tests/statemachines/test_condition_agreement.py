"""One condition, one answer (DESIGN §3): every operator decides the same whether a native
Choice rule or the evaluator Lambda decides it.

Random conditions — all 13 operators, operands of every JSON type, strings with glob
characters, backslashes, quotes and non-ASCII text, missing values — are compiled by the
compiler's own rule builder (:func:`statemachines.choices.choice_rule`, fed operands the
way the emitter resolves them) and really executed by moto's Step Functions interpreter,
many conditions on several triggers per execution (a Map over the triggers), then compared
with what the evaluator computes for the same trigger (the runtime's template resolution,
then :func:`conditions.evaluate`, as the evaluator Lambda does).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from contract.conditions import OPS, check_condition, evaluate
from contract.expressions import has_expression, parse_template
from plugins.runtime.context import resolve
from statemachines.choices import Const, DocPath, Operand, choice_rule
from statemachines.layout import TRIGGER_PATH, steps_path

ROLE = "arn:aws:iam::123456789012:role/routines"
BATCH = 32  # conditions per execution: one Choice and one Pass state each
TRIGGERS = 6  # trigger documents per execution, each through every condition (a Map)

# Characters that have meant trouble somewhere: glob and regex syntax, JSON and JSONPath
# escapes, quotes, non-ASCII (accents, CJK, an astral emoji), whitespace.
TRICKY = "ab*?[]\\\"'.$^{}-_ é日😀\n"
strings = st.text(alphabet=st.sampled_from(TRICKY), max_size=5).filter(lambda s: "{{" not in s)
numbers = st.integers(-3, 3) | st.sampled_from([0.0, -0.0, 1.0, 2.5, -1.5, 1e20, 2**53 + 1])
# Values that one language or another confuses: true/1, 0/false/-0.0/"", 1/1.0/"1", null/missing.
confusable = st.sampled_from([True, False, 1, 0, 1.0, 0.0, -0.0, "1", "true", "", None, [], {}, [1], [True]])
scalars = st.none() | st.booleans() | numbers | strings | st.sampled_from(["a", "b", "ab", "1", "true"])
values = (
    confusable
    | confusable
    | st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b"]), inner, max_size=2)
        ),
        max_leaves=4,
    )
)
REGEXES = ["^a", "b$", "a.b", "\\*", "日", "^$", "[ab]+", "\\\\"]


def _leaf(draw: st.DrawFn, slots: int) -> dict[str, Any]:
    op = draw(st.sampled_from(sorted(OPS)))
    left: Any = f"{{{{ trigger.v{draw(st.integers(0, slots))} }}}}"  # slot == slots: missing
    if draw(st.integers(0, 9)) == 0:
        left = draw(values)  # a constant on the left: folded, or mirrored when it can be
    leaf: dict[str, Any] = {"left": left, "op": op}
    if op in ("exists", "isEmpty"):
        return leaf
    if op == "matches":
        leaf["right"] = draw(st.sampled_from(REGEXES))
    elif draw(st.integers(0, 4)) == 0:
        leaf["right"] = f"{{{{ trigger.v{draw(st.integers(0, slots))} }}}}"  # path against path
    elif op == "in":  # lists of scalars compile natively (an Or of equalities)
        leaf["right"] = draw(st.lists(confusable | scalars, max_size=4))
    elif op in ("contains", "startsWith", "endsWith"):
        leaf["right"] = draw(strings)
    else:
        leaf["right"] = draw(values)
    return leaf


@st.composite
def conditions(draw: st.DrawFn, slots: int) -> dict[str, Any]:
    shape = draw(st.sampled_from(["leaf", "leaf", "leaf", "all", "any", "not"]))
    if shape == "leaf":
        return _leaf(draw, slots)
    if shape == "not":
        return {"not": _leaf(draw, slots)}
    return {shape: [_leaf(draw, slots) for _ in range(draw(st.integers(1, 3)))]}


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    slots = draw(st.integers(1, 4))
    triggers = [{f"v{i}": draw(values) for i in range(slots)} for _ in range(TRIGGERS)]
    batch = [draw(conditions(slots)) for _ in range(BATCH)]
    return triggers, [c for c in batch if not check_condition(c, "c")]


def operand(value: Any) -> Operand:
    """As the emitter resolves operands of a condition reading the trigger."""
    if not isinstance(value, str) or not has_expression(value):
        return Const(value)
    whole = parse_template(value).whole
    assert whole is not None and whole.reference.root == "trigger"
    path = steps_path(TRIGGER_PATH, whole.reference.steps)
    return DocPath(path) if path else None


def machine(rules: list[dict[str, Any]]) -> str:
    """A Map over trigger documents; per document: Choice i → Pass writing true or false to
    $.r.c<i> → Choice i+1 … → Succeed."""
    states: dict[str, Any] = {}
    for i, rule in enumerate(rules):
        after = f"C{i + 1}" if i + 1 < len(rules) else "Done"
        states[f"C{i}"] = {"Type": "Choice", "Choices": [{**rule, "Next": f"T{i}"}], "Default": f"F{i}"}
        for name, answer in ((f"T{i}", True), (f"F{i}", False)):
            states[name] = {"Type": "Pass", "Result": answer, "ResultPath": f"$.r.c{i}", "Next": after}
    states["Done"] = {"Type": "Succeed"}
    each = {
        "Type": "Map",
        "ItemsPath": "$.cases",
        "MaxConcurrency": 1,
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "C0", "States": states},
        "End": True,
    }
    return json.dumps({"StartAt": "Each", "States": {"Each": each}}, ensure_ascii=False)


@pytest.fixture(scope="module")
def sfn() -> Iterator[Any]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions", region_name="us-east-1")


def run_choices(sfn: Any, rules: list[dict[str, Any]], triggers: list[dict[str, Any]]) -> list[list[bool]]:
    """Per trigger, the answer of each rule, as moto's interpreter executes them."""
    arn = sfn.create_state_machine(name=f"m{time.monotonic_ns()}", definition=machine(rules), roleArn=ROLE)[
        "stateMachineArn"
    ]
    cases = [{"trigger": trigger, "r": {}} for trigger in triggers]
    document = json.dumps({"cases": cases}, ensure_ascii=False)
    execution = sfn.start_execution(stateMachineArn=arn, input=document)["executionArn"]
    for _ in range(2000):
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.005)
    assert described["status"] == "SUCCEEDED", described
    outputs = json.loads(described["output"])
    return [[case["r"][f"c{i}"] for i in range(len(rules))] for case in outputs]


def evaluator(condition: dict[str, Any], trigger: dict[str, Any]) -> bool:
    """What the evaluator Lambda answers: the runtime resolves the condition's templates
    against its (JSON) input, then ``evaluate`` decides."""
    resolved = resolve(condition, {"trigger": json.loads(json.dumps(trigger))})
    return evaluate(resolved, lambda value: value)


SEEN: Counter[str] = Counter()  # native decisions per operator, over the whole run


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_native_choice_rules_and_the_evaluator_agree(sfn: Any, batch: Any) -> None:
    triggers, batch_conditions = batch
    native: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for condition in batch_conditions:
        rule = choice_rule(condition, operand)
        if isinstance(rule, bool):  # decided at compile time
            assert all(rule == evaluator(condition, trigger) for trigger in triggers), condition
        elif rule is not None:
            native.append((condition, rule))
            SEEN.update(_ops(condition))
    if not native:
        return
    rules = [rule for _, rule in native]
    for trigger, answers in zip(triggers, run_choices(sfn, rules, triggers), strict=True):
        for (condition, rule), answer in zip(native, answers, strict=True):
            expected = evaluator(condition, trigger)
            assert answer == expected, {"condition": condition, "rule": rule, "trigger": trigger}


def test_the_property_exercised_every_operator_choice_rules_can_express() -> None:
    # Runs after the property (file order): proof that it did not pass by compiling nothing.
    expressible = OPS - {"matches", "isEmpty"}  # these always go to the evaluator
    assert expressible <= set(SEEN), f"never decided natively: {sorted(expressible - set(SEEN))}"


def _ops(condition: dict[str, Any]) -> list[str]:
    if "op" in condition:
        return [condition["op"]]
    body = condition.get("all") or condition.get("any") or [condition.get("not")]
    return [op for item in body for op in _ops(item)]


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (True, [1], False),
        (1, [True], False),
        (1, [1.0], True),
        ([True], [[1]], False),
        ({"a": 1}, [{"a": True}], False),
        ({"a": [1]}, [{"a": [1.0]}], True),
        (None, [None], True),
    ],
)
def test_in_uses_json_equality(left: Any, right: Any, expected: bool) -> None:
    assert evaluate({"left": left, "op": "in", "right": right}, lambda v: v) is expected
    assert evaluate({"left": [left], "op": "eq", "right": [right[0]]}, lambda v: v) is expected


def test_a_literal_starting_with_a_dollar_goes_to_the_evaluator() -> None:
    # A JSONPath state reads "$name" in a rule as a workflow variable, not as text.
    from statemachines.choices import Const, DocPath, choice_rule

    def operand(value: Any) -> Any:
        return DocPath("$.trigger.v") if isinstance(value, str) and "{{" in value else Const(value)

    for op in ("eq", "ne", "gt", "startsWith", "in"):
        right: Any = ["$x"] if op == "in" else "$x"
        assert choice_rule({"left": "{{ trigger.v }}", "op": op, "right": right}, operand) is None, op
    assert choice_rule({"left": "{{ trigger.v }}", "op": "eq", "right": "x$"}, operand) is not None
