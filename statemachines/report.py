"""The compile report: what a compiled routine costs and which state belongs to which node.

Transitions are what Step Functions bills (one per state entered). ``transitions`` gives
the fewest and most over all paths through the machine, counting every Parallel branch
and a Map state itself but not its iterations, which ``loops`` gives per iteration.
"""

from __future__ import annotations

from typing import Any

from statemachines.problems import Problem

LAMBDA_RESOURCE = ":lambda:"
SUBSTITUTED = "${FunctionArn_"  # a Lambda ARN left to DefinitionSubstitutions


def build_report(
    definition: dict[str, Any],
    definition_bytes: int,
    state_nodes: dict[str, str],
    warnings: list[Problem],
    evaluator_arn: str,
    routes: dict[str, dict[str, list[str]]],
    decided: dict[str, str],
) -> dict[str, Any]:
    counts = {"states": 0, "lambdaTasks": 0, "evaluatorTasks": 0}
    loops: dict[str, dict[str, int]] = {}
    low, high = _transitions(definition, state_nodes, counts, loops, evaluator_arn)
    nodes: dict[str, list[str]] = {}
    for state, node in state_nodes.items():
        nodes.setdefault(node, []).append(state)
    return {
        "queryLanguage": definition.get("QueryLanguage", "JSONPath"),
        "states": counts["states"],
        "lambdaTasks": counts["lambdaTasks"],
        "evaluatorTasks": counts["evaluatorTasks"],
        "transitions": {"min": low, "max": high},
        "loops": loops,
        "definitionBytes": definition_bytes,
        "stateNodes": state_nodes,
        "nodeStates": nodes,
        # Choice state → {next state: ports}: which port an execution took (several ports
        # when their branches lead to the same state: only merges differ between them).
        "routes": routes,
        "decided": decided,  # if/switch nodes routed at compile time (constant conditions)
        "warnings": [w.to_json() for w in warnings],
    }


def _successors(state: dict[str, Any]) -> list[str]:
    out = [state["Next"]] if "Next" in state else []
    out += [c["Next"] for c in state.get("Choices", [])]
    out += [state["Default"]] if "Default" in state else []
    out += [c["Next"] for c in state.get("Catch", [])]
    return out


def _postorder(machine: dict[str, Any]) -> list[str]:
    """States in an order where every state comes after all of its successors."""
    states = machine["States"]
    order: list[str] = []
    seen = {machine["StartAt"]}
    stack: list[tuple[str, int]] = [(machine["StartAt"], 0)]
    while stack:
        name, index = stack.pop()
        successors = _successors(states[name])
        if index < len(successors):
            stack.append((name, index + 1))
            nxt = successors[index]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, 0))
        else:
            order.append(name)
    return order


def _transitions(
    machine: dict[str, Any],
    state_nodes: dict[str, str],
    counts: dict[str, int],
    loops: dict[str, dict[str, int]],
    evaluator_arn: str,
) -> tuple[int, int]:
    states = machine["States"]
    cost: dict[str, tuple[int, int]] = {}
    for name in _postorder(machine):
        state = states[name]
        counts["states"] += 1
        resource = str(state.get("Resource", ""))
        if state["Type"] == "Task" and (
            LAMBDA_RESOURCE in resource or resource.startswith(("arn:aws:states:::lambda", SUBSTITUTED))
        ):
            counts["lambdaTasks"] += 1
            counts["evaluatorTasks"] += resource == evaluator_arn
        low = high = 1
        for branch in state.get("Branches", []):
            b_low, b_high = _transitions(branch, state_nodes, counts, loops, evaluator_arn)
            low, high = low + b_low, high + b_high
        if "ItemProcessor" in state:
            i_low, i_high = _transitions(state["ItemProcessor"], state_nodes, counts, loops, evaluator_arn)
            loops[state_nodes.get(name, name)] = {"min": i_low, "max": i_high}
        # Every way on: a Next, a Choice, a Catch — or ending here.
        ways = [cost[s] for s in _successors(state)]
        if state.get("End") or state["Type"] in ("Succeed", "Fail"):
            ways.append((0, 0))
        low += min(w[0] for w in ways)
        high += max(w[1] for w in ways)
        cost[name] = (low, high)
    return cost[machine["StartAt"]]
