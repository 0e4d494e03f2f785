"""The compile report: what a compiled routine costs and which state belongs to which node.

Transitions are what Step Functions bills (one per state entered). ``transitions`` gives
the fewest and most over all paths through the machine, counting every Parallel branch
and a Map state itself but not its iterations, which ``loops`` gives per iteration (an
until loop, whose Choice loops back, counts one iteration there and its others in
``loops`` with mode ``until``; an
inline loop's iterations are transitions of the execution; a distributed loop's are
each a child execution billing as many: ``loops[node].childExecutions``).
``execution`` is the machine type chosen (statemachines.express) and ``cost`` the price
of both types (statemachines.cost), both counted from the same paths.
"""

from __future__ import annotations

from typing import Any

from contract.problems import Problem
from statemachines.cost import PathCount, Span, cost_report, lambda_memory_mb
from statemachines.express import ExecutionChoice

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
    execution: ExecutionChoice | None = None,
    node_plugins: dict[str, str] | None = None,
) -> dict[str, Any]:
    """``execution``: the machine type chosen (None: not decided, no ``execution`` and no
    ``cost`` in the report); ``node_plugins``: node → plugin, for the memory of the
    Lambda functions a path invokes."""
    walk = _Walk(state_nodes, evaluator_arn, node_plugins or {})
    span = walk.machine(definition)
    nodes: dict[str, list[str]] = {}
    for state, node in state_nodes.items():
        nodes.setdefault(node, []).append(state)
    report: dict[str, Any] = {
        "queryLanguage": definition.get("QueryLanguage", "JSONata"),
        "states": walk.counts["states"],
        "lambdaTasks": walk.counts["lambdaTasks"],
        "evaluatorTasks": walk.counts["evaluatorTasks"],
        "transitions": {"min": span.low.transitions, "max": span.high.transitions},
        "loops": {
            node: _loop_json(item, child, node in walk.repeats) for node, (item, child) in walk.loops.items()
        },
        "definitionBytes": definition_bytes,
        "stateNodes": state_nodes,
        "nodeStates": nodes,
        # Choice state → {next state: ports}: which port an execution took (several ports
        # when their branches lead to the same state: only merges differ between them).
        "routes": routes,
        "decided": decided,  # if/switch nodes routed at compile time (constant conditions)
        # execute-routine nodes → the routine each starts: its transitions are the child
        # execution's own (its routine's report), never counted in this one's.
        "subroutines": subroutines(definition, state_nodes),
        "warnings": [w.to_json() for w in warnings],
    }
    if execution is not None:
        report["execution"] = execution.to_json()
        express_children = sorted(n for n, (_, child) in walk.loops.items() if child == "EXPRESS")
        if express_children:  # statemachines/machine/records.py, functions/local/express_children.py
            report["execution"]["localChildren"] = (
                f"distributed loop(s) {', '.join(express_children)}: child executions are Express on AWS; "
                "the local runtime (moto) runs them as Standard ones, with the same results"
            )
        report["cost"] = cost_report(execution.type, span, walk.loops, definition_bytes)
    return report


def _loop_json(item: Span, child: str | None, until: bool = False) -> dict[str, Any]:
    """One iteration: its transitions (``min``/``max``, as before), Lambda invocations, and
    for a distributed loop the child execution each item is (billed as one of its type).
    An until loop's (mode ``until``) counts its body and its Choice; the machine's
    ``transitions`` hold its first iteration."""
    out: dict[str, Any] = {
        "min": item.low.transitions,
        "max": item.high.transitions,
        "lambdaTasks": {"min": item.low.lambdas, "max": item.high.lambdas},
        "mode": "until" if until else ("distributed" if child else "inline"),
    }
    if child:
        out["childExecutions"] = {"perItem": 1, "type": child.lower()}
    return out


def successors(state: dict[str, Any]) -> list[str]:
    out = [state["Next"]] if "Next" in state else []
    out += [c["Next"] for c in state.get("Choices", [])]
    out += [state["Default"]] if "Default" in state else []
    out += [c["Next"] for c in state.get("Catch", [])]
    return out


def postorder(machine: dict[str, Any]) -> tuple[list[str], set[tuple[str, str]]]:
    """States in an order where every state comes after all of its successors but those
    it loops back to, and those edges back: an until loop's Choice looping back to the
    first state of its body (statemachines.machine.repeat)."""
    states = machine["States"]
    order: list[str] = []
    seen = {machine["StartAt"]}
    open_: set[str] = {machine["StartAt"]}  # on the current path
    back: set[tuple[str, str]] = set()
    stack: list[tuple[str, int]] = [(machine["StartAt"], 0)]
    while stack:
        name, index = stack.pop()
        following = successors(states[name])
        if index < len(following):
            stack.append((name, index + 1))
            nxt = following[index]
            if nxt in open_:
                back.add((name, nxt))
            elif nxt not in seen:
                seen.add(nxt)
                open_.add(nxt)
                stack.append((nxt, 0))
        else:
            open_.discard(name)
            order.append(name)
    return order, back


class _Walk:
    """Counts every state once, and each path's transitions, Lambda invocations (with the
    memory of their functions) and literal waits, in the machine and in every branch and
    iteration."""

    def __init__(self, state_nodes: dict[str, str], evaluator_arn: str, node_plugins: dict[str, str]) -> None:
        self.state_nodes, self.evaluator_arn, self.node_plugins = state_nodes, evaluator_arn, node_plugins
        self.counts = {"states": 0, "lambdaTasks": 0, "evaluatorTasks": 0}
        # Map state's node → (one iteration, child execution type if distributed)
        self.loops: dict[str, tuple[Span, str | None]] = {}
        self.repeats: set[str] = set()  # loops of those that repeat until a condition holds

    def machine(self, machine: dict[str, Any]) -> Span:
        """The span of every path from the start: an until loop counted for one iteration
        (its edge back is not followed), and each of its iterations in ``loops``."""
        states = machine["States"]
        cost: dict[str, Span] = {}
        alone: dict[str, Span] = {}  # each state itself, its branches and iterations included
        order, back = postorder(machine)
        for name in order:
            state = states[name]
            self.counts["states"] += 1
            own = self._own(name, state)
            low = high = own
            for branch in state.get("Branches", []):
                inner = self.machine(branch)
                low, high = low + inner.low, high + inner.high
            if "ItemProcessor" in state:
                processor = state["ItemProcessor"]
                config = processor.get("ProcessorConfig", {})
                child = (
                    config.get("ExecutionType", "STANDARD") if config.get("Mode") == "DISTRIBUTED" else None
                )
                self.loops[self.state_nodes.get(name, name)] = (self.machine(processor), child)
            alone[name] = Span(low, high)
            # Every way on: a Next, a Choice, a Catch — or ending here.
            ways = [cost[s] for s in successors(state) if (name, s) not in back]
            if state.get("End") or state["Type"] in ("Succeed", "Fail"):
                ways.append(Span(PathCount(), PathCount()))
            least, most = ways[0].low, ways[0].high
            for way in ways[1:]:
                least, most = least.least(way.low), most.most(way.high)
            cost[name] = Span(low + least, high + most)
        for source, target in sorted(back):
            self.loops[self.state_nodes.get(source, source)] = (
                _iteration(states, order, alone, target, source),
                None,
            )
            self.repeats.add(self.state_nodes.get(source, source))
        return cost[machine["StartAt"]]

    def _own(self, name: str, state: dict[str, Any]) -> PathCount:
        """What entering this one state counts: a transition, maybe a Lambda or a wait."""
        resource = str(state.get("Resource", ""))
        if state["Type"] == "Task" and (
            LAMBDA_RESOURCE in resource or resource.startswith(("arn:aws:states:::lambda", SUBSTITUTED))
        ):
            self.counts["lambdaTasks"] += 1
            self.counts["evaluatorTasks"] += resource == self.evaluator_arn
            plugin = self.node_plugins.get(self.state_nodes.get(name, ""), "")
            return PathCount(1, 1, lambda_memory_mb(plugin))
        seconds = state.get("Seconds") if state["Type"] == "Wait" else None
        # A computed wait (a JSONata expression, a timestamp) counts nothing.
        if isinstance(seconds, int | float) and not isinstance(seconds, bool):
            return PathCount(1, wait_seconds=float(seconds))
        return PathCount(1)


def _iteration(
    states: dict[str, Any], order: list[str], alone: dict[str, Span], first: str, last: str
) -> Span:
    """One iteration of an until loop: every path from its first state to the Choice that
    loops back (``last``, counted too); paths that leave the loop on the way are not."""
    through: dict[str, Span] = {}
    for name in order:  # successors first
        if name == last:
            through[name] = alone[name]
            continue
        ways = [through[s] for s in successors(states[name]) if s in through and s != first]
        if not ways:
            continue
        least, most = ways[0].low, ways[0].high
        for way in ways[1:]:
            least, most = least.least(way.low), most.most(way.high)
        through[name] = Span(alone[name].low + least, alone[name].high + most)
    return through.get(first, alone[last])


# The Task of an execute-routine node (statemachines.machine.subroutine).
START_EXECUTION = ":states:::states:startExecution"


def subroutines(machine: dict[str, Any], state_nodes: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Node → ``{"routine", "stateMachineArn", "wait"}`` for every Task that starts another
    routine's execution, in Parallel branches and loop bodies too."""
    found: dict[str, dict[str, Any]] = {}
    stack = [machine]
    while stack:
        states = stack.pop().get("States", {})
        for name, state in states.items():
            stack.extend(state.get("Branches", []))
            if "ItemProcessor" in state:
                stack.append(state["ItemProcessor"])
            resource = str(state.get("Resource", ""))
            if state.get("Type") != "Task" or START_EXECUTION not in resource:
                continue
            arguments = state.get("Arguments") or {}
            meta = (arguments.get("Input") or {}).get("meta") or {}
            found[state_nodes.get(name, name)] = {
                "routine": meta.get("routineId"),
                "stateMachineArn": arguments.get("StateMachineArn"),
                "wait": resource.endswith(".sync:2"),
            }
    return dict(sorted(found.items()))
