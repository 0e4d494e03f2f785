"""One function per construct, registered by node kind: what each node becomes in a
JSONata machine.

- a plugin: a Task whose ``Arguments`` are its parameters evaluated by Step Functions,
  ``Assign`` of its result to its variable, the transient-Lambda and the node's own
  ``Retry``, and by ``onError`` a ``Catch`` assigning ``{"error": {"type", "message"}}``;
- ``if``/``switch``: one Choice, each rule one JSONata ``Condition``;
- ``merge`` and disabled nodes: no state;
- ``wait``: a Wait; ``stop``: Succeed with the result, or Fail;
- several ready nodes whose regions are disjoint until they meet: one Parallel whose
  branches hand back the outputs read after it (``Output``), assigned by the Parallel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contract.conditions import evaluate
from contract.errors import CompileError
from contract.expressions import map_strings, parse_template
from contract.jsonata.conditions import condition_jsonata, literal
from contract.names import APPROVAL_NOTIFIER, EVALUATOR
from contract.problems import node_path
from plugins.sdk import PortType
from statemachines.asl import State
from statemachines.graph import Edge
from statemachines.layout import Status
from statemachines.machine.loops import loop_step
from statemachines.machine.plan import expression_roots, variable_name
from statemachines.machine.race import merge_step
from statemachines.machine.retry import retriers
from statemachines.machine.subroutine import execute_routine
from statemachines.machine.values import (
    THIS_ITERATION,
    RootText,
    arguments,
    error_record,
    native,
)
from statemachines.machine.walk import Build, Outcome, Scope, Step, both, set_link
from statemachines.topology import NodeInfo
from statemachines.walk import Sim, complete

Construct = Callable[[Build, Scope, Sim, NodeInfo], Step]


def node_step(build: Build, scope: Scope, sim: Sim, node_id: str) -> Step:
    info = build.infos[node_id]
    if info.node.disabled:
        return passed(build, sim, node_id, frozenset({info.pass_through_port}))
    construct = task if info.is_task else CONSTRUCTS.get(info.plugin.name)
    if construct is None:
        raise CompileError(
            f"'{info.plugin.name}' nodes do not compile to JSONata machines yet", path=node_path(node_id)
        )
    return construct(build, scope, sim, info)


def passed(build: Build, sim: Sim, node_id: str, ports: frozenset[str]) -> Step:
    complete(build.graph, sim, node_id, Status.OK, ports)
    return Step(None, [Outcome(sim, None)])


def task(build: Build, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
    fields: dict[str, Any] = {
        "Resource": build.plan.options.function_arn(info.plugin.name),
        "Arguments": arguments(info, build.plan, build.root_text, scope.passes_input),
    }
    build.task_args.setdefault(info.id, []).append(fields["Arguments"])
    name = build.name(info.id, info.id)
    if build.assigns(scope, info.id):
        fields["Assign"] = {build.plan.variable[info.id]: "{% $states.result %}"}
        scope.ends[name] = {info.id: "$states.result"}
    if info.node.timeout_seconds:
        fields["TimeoutSeconds"] = info.node.timeout_seconds
    fields["Retry"] = retriers(info.node, lambda_task=True)
    build.add(scope, name, State("Task", fields), info.id)
    ok_ports = frozenset(
        p.name for p in info.plugin.output_ports(info.parameters) if p.type is not PortType.ERROR
    )
    outcomes = error_outcomes(build, sim, info, fields, ok_ports)
    clear_dead(build, scope, info, fields)
    return Step(name, outcomes)


def clear_dead(build: Build, scope: Scope, info: NodeInfo, fields: dict[str, Any]) -> None:
    """Sets to null the variables this node reads last (Plan.clears), in the state's own
    ``Assign`` and its Catches'. Only at the top level: a branch or an iteration cannot
    assign an outer variable."""
    names = build.plan.clears.get(info.id, ()) if scope.kind == "top" else ()
    for holder in [fields, *fields.get("Catch", [])] if names else []:
        holder["Assign"] = {**holder.get("Assign", {}), **dict.fromkeys(names)}


def error_outcomes(
    build: Build, sim: Sim, info: NodeInfo, fields: dict[str, Any], ok_ports: frozenset[str]
) -> list[Outcome]:
    """The ways on from a state that may fail, by the node's onError: fail (no Catch),
    continue (the error record is the output; on as if it succeeded) or route (the error
    port)."""
    mode = info.node.on_error
    if mode == "fail":
        complete(build.graph, sim, info.id, Status.OK, ok_ports)
        return [Outcome(sim, set_link(fields, "Next"))]
    catch: dict[str, Any] = {"ErrorEquals": ["States.ALL"]}
    if info.id in build.plan.needed:
        catch["Assign"] = {build.plan.variable[info.id]: error_record()}
    fields["Catch"] = [catch]
    if mode == "continue":
        complete(build.graph, sim, info.id, Status.ANY, ok_ports)
        return [Outcome(sim, both(set_link(fields, "Next"), set_link(catch, "Next")))]
    failed = sim.copy()
    complete(build.graph, sim, info.id, Status.OK, ok_ports)
    complete(build.graph, failed, info.id, Status.ERROR, frozenset({"error"}))
    return [Outcome(sim, set_link(fields, "Next")), Outcome(failed, set_link(catch, "Next"))]


def branch(build: Build, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
    """One Choice, a JSONata ``Condition`` per rule. The evaluator Lambda decides instead
    — its answer kept in the node's variable, a second Choice routing on it — for
    ``matches`` (Python's, Rust's (jsonatapy) and JavaScript's (AWS) regular expressions
    differ), and, at run time, when an operand is an output offloaded to S3 without the
    paths the condition reads kept inline."""
    if info.plugin.name == "if":
        rules, default = [("true", info.parameters["condition"])], "false"
    else:
        rules = [(r["port"], r["condition"]) for r in info.parameters.get("rules", [])]
        default = "default"
    ports = [port for port, _ in rules]
    decided = _constant_port(build, rules, default)
    if decided is not None:  # conditions on the routine's variables only: no state at all
        build.decided[info.id] = decided
        return passed(build, sim, info.id, frozenset({decided}))

    def operand(text: str) -> str:
        return parse_template(text).native(build.root_text)

    texts = [condition_jsonata(condition, operand) for _, condition in rules]
    partial = build.root_text.partial([condition for _, condition in rules])
    links: dict[str, list[Any]] = {}
    if all(text is not None for text in texts) and not partial:
        entry = _choice(build, scope, info, info.id, [str(t) for t in texts], ports, default, links)
        return Step(entry, _taken(build, sim, info, links))
    variable = build.plan.variable.get(info.id) or variable_name(info.id)
    evaluated = evaluator_task(build, scope, info, {variable: "{% $states.result.port %}"})
    routed = [f"${variable} = {literal(port)}" for port in ports]
    if any(text is None for text in texts):
        evaluator = build.add(scope, build.name(info.id, info.id), State("Task", evaluated), info.id)
        evaluated["Next"] = _choice(build, scope, info, f"{info.id} (route)", routed, ports, default, links)
        return Step(evaluator, _taken(build, sim, info, links))
    entry = _choice(build, scope, info, info.id, [str(t) for t in texts], ports, default, links)
    evaluator = build.add(
        scope, build.name(f"{info.id} (offloaded)", info.id), State("Task", evaluated), info.id
    )
    rules_of_entry = scope.states[entry].fields["Choices"]
    rules_of_entry.insert(0, {"Condition": "{% " + partial + " %}", "Next": evaluator})
    evaluated["Next"] = _choice(build, scope, info, f"{info.id} (route)", routed, ports, default, links)
    return Step(entry, _taken(build, sim, info, links))


def evaluator_task(
    build: Build,
    scope: Scope,
    info: NodeInfo,
    assign: dict[str, Any],
    *,
    roots: RootText | None = None,
    loop: str = THIS_ITERATION,
    plugin: str | None = None,
) -> dict[str, Any]:
    """The fields of a Task asking the evaluator Lambda about a control node (its port, a
    wait's time), its answer assigned as ``assign`` says. ``roots``, ``loop`` and
    ``plugin``: an until loop's check asks as an ``if`` would, over its own roots."""
    return {
        "Resource": build.plan.options.function_arn(EVALUATOR),
        "Arguments": {
            **arguments(info, build.plan, roots or build.root_text, scope.passes_input, loop),
            "plugin": plugin or info.plugin.name,
        },
        "Assign": assign,
        "Retry": retriers(info.node, lambda_task=True),
    }


def _constant_port(build: Build, rules: list[tuple[str, Any]], default: str) -> str | None:
    """The port an if/switch takes when its conditions read nothing but the routine's
    ``vars`` (constants of the document), by the reference semantics; else None."""
    if any(expression_roots(condition) - {"vars"} for _, condition in rules):
        return None
    context = {"vars": build.plan.routine_variables}

    def resolve(value: Any) -> Any:
        return map_strings(value, lambda text: parse_template(text).render(context) if "{{" in text else text)

    for port, condition in rules:
        if evaluate(condition, resolve):
            return str(port)
    return default


def _choice(
    build: Build,
    scope: Scope,
    info: NodeInfo,
    base: str,
    texts: list[str],
    ports: list[str],
    default: str,
    links: dict[str, list[Any]],
) -> str:
    """A Choice state with one rule per port (``texts``) and the default; adds the ways
    out to ``links`` (port → setters of the Next that leads there)."""
    choices: list[dict[str, Any]] = [{"Condition": "{% " + text + " %}", "Next": ""} for text in texts]
    rule_ports = list(ports)
    fields: dict[str, Any] = {"Choices": choices, "Default": ""}
    if build.assigns(scope, info.id) and info.id in build.plan.markers:  # a merge reads which port
        marker = build.plan.markers[info.id]
        for rule, port in zip(choices, rule_ports, strict=True):
            rule["Assign"] = {marker: port}
        # The default's port as a last rule that always holds, rather than the state's own
        # Assign (which AWS and moto 5.2 alike evaluate only when no rule matched): one
        # place per way out, as the rules say theirs.
        choices.append({"Condition": "{% true %}", "Assign": {marker: default}, "Next": ""})
        rule_ports.append(default)
        del fields["Default"]
    name = build.add(
        scope, build.name(base, info.id if base == info.id else None), State("Choice", fields), info.id
    )
    build.choices.append((name, fields, list(zip(choices, rule_ports, strict=True)), default))
    for rule, port in zip(choices, rule_ports, strict=True):
        links.setdefault(port, []).append(set_link(rule, "Next"))
    if "Default" in fields:
        links.setdefault(default, []).append(set_link(fields, "Default"))
    return name


def _taken(build: Build, sim: Sim, info: NodeInfo, links: dict[str, list[Any]]) -> list[Outcome]:
    outcomes = []
    for port, port_links in links.items():
        taken = sim.copy()
        complete(build.graph, taken, info.id, Status.OK, frozenset({port}))
        outcomes.append(Outcome(taken, both(*port_links)))
    return outcomes


def wait(build: Build, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
    """A Wait. A time from an expression is checked first by the evaluator Lambda
    (``<node> (value)``): a missing or malformed value fails the node with a typed
    ``Routines.UserError`` — a Wait given one would fail with States.Runtime, which no
    Catch takes — and a value in an output offloaded to S3 is read whole."""
    seconds = info.parameters.get("seconds")
    key, value = ("Seconds", seconds) if seconds is not None else ("Timestamp", info.parameters.get("until"))
    if isinstance(value, str) and "{{" in value:
        checked = f"_wait_{variable_name(info.id)}"  # node ids start with a letter
        evaluated = evaluator_task(build, scope, info, {checked: "{% $states.result %}"})
        entry: str | None = build.add(
            scope, build.name(f"{info.id} (value)", info.id), State("Task", evaluated), info.id
        )
        fields: dict[str, Any] = {key: "{% $" + checked + "." + key.lower() + " %}"}
    else:
        entry, evaluated = None, {}
        fields = {key: native(value, build.root_text) if isinstance(value, str) else value}
    if build.assigns(scope, info.id):  # a merge reads that it ran
        fields["Assign"] = {build.plan.variable_of(info.id): True}
    name = build.add(scope, build.name(info.id, info.id), State("Wait", fields), info.id)
    if entry is None:
        complete(build.graph, sim, info.id, Status.OK, frozenset({"out"}))
        return Step(name, [Outcome(sim, set_link(fields, "Next"))])
    evaluated["Next"] = name
    mode = info.node.on_error
    if mode == "fail":
        complete(build.graph, sim, info.id, Status.OK, frozenset({"out"}))
        return Step(entry, [Outcome(sim, set_link(fields, "Next"))])
    catch: dict[str, Any] = {"ErrorEquals": ["States.ALL"]}
    evaluated["Catch"] = [catch]
    if mode == "continue":
        complete(build.graph, sim, info.id, Status.ANY, frozenset({"out"}))
        return Step(entry, [Outcome(sim, both(set_link(fields, "Next"), set_link(catch, "Next")))])
    failed = sim.copy()
    complete(build.graph, sim, info.id, Status.OK, frozenset({"out"}))
    complete(build.graph, failed, info.id, Status.ERROR, frozenset({"error"}))
    return Step(entry, [Outcome(sim, set_link(fields, "Next")), Outcome(failed, set_link(catch, "Next"))])


STOP_ERROR = "Routines.Stop."  # + the stop node's id: raised in branches and iterations


def stop(build: Build, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
    """At the top level a Succeed with the result, or a Fail. Inside a Parallel branch or a
    loop's iteration it raises ``Routines.Stop.<id>``, which the top-level Parallel or Map
    around it catches and turns into that end (Step Functions cancels the rest)."""
    name = build.name(info.id, info.id)
    if scope.kind != "top":
        fields = {"Error": STOP_ERROR + info.id, "Cause": f"stop '{info.id}' ends the execution"}
        build.add(scope, name, State("Fail", fields), info.id)
    elif info.parameters.get("status", "succeed") == "fail":
        build.add(scope, name, _failure(info), info.id)
    else:
        build.add(scope, name, State("Succeed", {"Output": build.output(scope, {})}), info.id)
    complete(build.graph, sim, info.id, Status.OK, frozenset())
    return Step(name, [])


def _failure(info: NodeInfo) -> State:
    fields = {"Error": info.parameters.get("error") or "RoutineStopped"}
    if info.parameters.get("cause"):
        fields["Cause"] = info.parameters["cause"]
    return State("Fail", fields)


def stops_within(build: Build, members: list[str] | set[str]) -> list[str]:
    """The stop nodes among ``members`` and inside the bodies of loops among them."""
    found: set[str] = set()
    for node in members:
        found.add(node)
        found |= build.plan.topology.loop_bodies.get(node, set())
    stops = (n for n in found if build.infos[n].plugin.name == "stop" and not build.infos[n].node.disabled)
    return sorted(stops, key=build.plan.position.__getitem__)


def stop_catches(build: Build, scope: Scope, stops: list[str], catches_all: bool) -> list[dict[str, Any]]:
    """Catch entries of a Parallel or Map holding ``stops``: at the top level the end each
    stop asks for; further in, where the state catches everything (onError), a re-raise so
    the stop still reaches the top."""
    if not stops or (scope.kind != "top" and not catches_all):
        return []
    out: list[dict[str, Any]] = []
    succeeding = [s for s in stops if build.infos[s].parameters.get("status", "succeed") != "fail"]
    for node in stops:
        if node in succeeding and scope.kind == "top":
            continue
        info = build.infos[node]
        if scope.kind == "top":
            state = _failure(info)
        else:
            state = State("Fail", {"Error": STOP_ERROR + node, "Cause": f"stop '{node}' ends the execution"})
        target = build.add(scope, build.name(f"{node} (stop)"), state, node)
        out.append({"ErrorEquals": [STOP_ERROR + node], "Next": target})
    if succeeding and scope.kind == "top":
        done = build.add(
            scope, build.name("stopped"), State("Succeed", {"Output": build.output(scope, {})}), None
        )
        out.append({"ErrorEquals": [STOP_ERROR + s for s in succeeding], "Next": done})
    return out


def _text(build: Build, value: str) -> str:
    return native(value, build.root_text) if "{{" in value else value


def approval(build: Build, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
    """A Task that waits for its token (the notifier Lambda stores it; the API's approve or
    reject sends it back with the decision), then a Choice on the decision."""
    payload = arguments(info, build.plan, build.root_text, scope.passes_input)
    payload["taskToken"] = "{% $states.context.Task.Token %}"
    variable = build.plan.variable[info.id]
    build.assigns(scope, info.id)
    fields: dict[str, Any] = {
        "Resource": build.plan.options.wait_for_token,
        "Arguments": {"FunctionName": build.plan.options.function_arn(APPROVAL_NOTIFIER), "Payload": payload},
        "Assign": {variable: "{% $states.result %}"},
    }
    timeout = info.parameters.get("timeoutSeconds")
    if timeout:
        fields["TimeoutSeconds"] = timeout
    fields["Retry"] = retriers(None, lambda_task=True)
    catches: list[tuple[str, dict[str, Any]]] = []
    if timeout:
        catches.append(("timeout", {"ErrorEquals": ["States.Timeout"], "Assign": {variable: error_record()}}))
    if info.node.on_error == "route":
        catches.append(("error", {"ErrorEquals": ["States.ALL"], "Assign": {variable: error_record()}}))
    if catches:
        fields["Catch"] = [c for _, c in catches]
    name = build.add(scope, build.name(info.id, info.id), State("Task", fields), info.id)
    approved = {"Condition": "{% $" + variable + ".decision = 'approved' %}", "Next": ""}
    decision: dict[str, Any] = {"Choices": [approved], "Default": ""}
    decision_name = build.add(scope, build.name(f"{info.id} (decision)"), State("Choice", decision), info.id)
    build.choices.append((decision_name, decision, [(approved, "approved")], "rejected"))
    fields["Next"] = decision_name
    outcomes = []
    ways = [
        ("approved", set_link(approved, "Next"), Status.OK),
        ("rejected", set_link(decision, "Default"), Status.OK),
    ]
    ways += [(port, set_link(catch, "Next"), Status.ERROR) for port, catch in catches]
    for port, link, status in ways:
        branch_sim = sim.copy()
        complete(build.graph, branch_sim, info.id, status, frozenset({port}))
        outcomes.append(Outcome(branch_sim, link))
    return Step(name, outcomes)


CONSTRUCTS: dict[str, Construct] = {
    "if": branch,
    "switch": branch,
    "merge": merge_step,  # no state, but where a race's branch arrives (machine/race.py)
    "wait": wait,
    "stop": stop,
    "loop": loop_step,
    "approval": approval,
    "execute-routine": execute_routine,
}


# --- Parallel -------------------------------------------------------------------------


def parallel_step(build: Build, scope: Scope, sim: Sim, ready: list[str]) -> Step | None:
    """Several ready nodes → one Parallel, when each one's region (what only it leads to)
    is disjoint from the others' until they meet, and what runs after the meeting does not
    depend on which of their nodes ran. Otherwise None: they run one after another."""
    # Branches racing into a merge with mode "first" (issue #27): a Parallel of their own.
    from statemachines.machine.race import race_step

    raced = race_step(build, scope, sim, ready)
    if raced is not None:
        return raced
    graph = build.graph
    own, every_own = own_regions(build, sim, ready)
    certain = 0
    for root, bits in zip(ready, own, strict=True):
        certain |= _certain(build, sim, root, bits)
    definite = _joins_activated(build, sim, every_own, certain)
    if definite is None:
        return None
    branches: list[dict[str, Any]] = []
    assign: dict[str, str] = {}
    for index, (root, bits) in enumerate(zip(ready, own, strict=True)):
        inner = Scope("branch", passes_input=scope.passes_input)
        waiting = {n: sim.waiting[n] for n in graph.members(bits)}
        activated = (sim.activated & bits) | graph.bit(root)
        begin = build.go(inner, Sim(bits, activated, waiting, {root}, {}))
        branches.append(build.finish(inner, begin).to_json())
        for node in dict.fromkeys(inner.assigned):
            variable = build.plan.variable_of(node)
            # Absent when the branch went another way than through the node (its variable
            # lives in a scope nested in the branch, where it cannot be set to null first).
            assign[variable] = f"{{% ($v := $states.result[{index}].{variable}; $exists($v) ? $v : null) %}}"
    regions_done(build, sim, ready, every_own, definite)
    fields: dict[str, Any] = {"Branches": branches}
    if assign:
        fields["Assign"] = assign
    catches = stop_catches(build, scope, stops_within(build, graph.members(every_own)), catches_all=False)
    if catches:
        fields["Catch"] = catches
    name = build.add(scope, build.name("parallel: " + ", ".join(ready)), State("Parallel", fields), None)
    handed = [n for n in build.plan.needed if build.plan.variable_of(n) in assign]
    build.share(handed)  # the Parallel's result holds them all
    scope.assigned.extend(sorted(handed, key=build.plan.position.__getitem__))
    for n in handed:
        build.homes.setdefault(n, []).append(scope)
    scope.ends[name] = {
        n: assign[build.plan.variable_of(n)].removeprefix("{% ").removesuffix(" %}") for n in handed
    }
    return Step(name, [Outcome(sim, set_link(fields, "Next"))])


def own_regions(build: Build, sim: Sim, ready: list[str]) -> tuple[list[int], int]:
    """Each ready node's region — the pending nodes only it leads to — and their union."""
    reach = [build.plan.below[r] & sim.pending for r in ready]
    own = []
    for i, bits in enumerate(reach):
        others = 0
        for j, other in enumerate(reach):
            if j != i:
                others |= other
        own.append(bits & ~others)
    every_own = 0
    for bits in own:
        every_own |= bits
    return own, every_own


def regions_done(build: Build, sim: Sim, ready: list[str], every_own: int, activated: int) -> None:
    """The walk goes on past one Parallel of ``ready``'s regions: their nodes are done,
    what they lead to waits for them no more, ``activated`` surely runs."""
    graph = build.graph
    for node in graph.members(every_own):
        for edge in graph.outgoing[node]:
            target = edge.target
            if sim.pending & graph.bit(target) and not every_own & graph.bit(target):
                sim.waiting[target] -= 1
                if sim.waiting[target] == 0:
                    sim.ready.add(target)
    sim.pending &= ~every_own
    sim.activated = (sim.activated | activated) & sim.pending
    sim.ready -= set(ready)


def _certain(build: Build, sim: Sim, root: str, members: int) -> int:
    """Nodes of a branch that surely run once its first node runs."""
    graph = build.graph
    certain = graph.bit(root)
    for node in sorted(graph.members(members), key=build.plan.position.__getitem__):
        bit = graph.bit(node)
        if sim.activated & bit or any(_fires(certain, e, graph.bit(e.source)) for e in graph.incoming[node]):
            certain |= bit
    return certain


def _fires(certain: int, edge: Edge, source_bit: int) -> bool:
    return bool(certain & source_bit) and edge.fires_always and edge.can_fire


def _joins_activated(build: Build, sim: Sim, every_own: int, certain: int) -> int | None:
    """Which nodes after the branches surely run; None if that depends on the branches."""
    graph = build.graph
    definite = maybe = 0
    for source in graph.members(every_own):
        for edge in graph.outgoing[source]:
            bit = graph.bit(edge.target)
            if not sim.pending & bit or every_own & bit:
                continue
            if _fires(certain, edge, graph.bit(source)):
                definite |= bit
            elif edge.can_fire:
                maybe |= bit
    if maybe & ~(definite | sim.activated):
        return None
    return definite


__all__ = ["CONSTRUCTS", "evaluator_task", "node_step", "own_regions", "parallel_step", "regions_done"]
