"""``loop`` with ``until`` in a JSONata machine (issue #27): the body again and again, until a
condition holds after an iteration — pagination, polling. No Map and no Lambda of its own:
Choice states looping back.

::

    L (Pass) → L (iteration): Parallel, one branch: the body → L (until): Choice
                    ▲                        ├─ until holds ──────────────► done (or error)
                    │                        ├─ index + 1 = maxIterations ► Routines.LoopLimit
                    └────────────────────────┴─ otherwise: next iteration

- The iteration state is workflow variables of the loop's scope: ``$_index_<loop>``,
  ``$_last_<loop>`` (the last iteration's result) and ``$_results_<loop>`` (the results so
  far; none with ``collect: "last"``), set by the Pass (0, null, []), the Parallel (the
  result) and the Choice's rule looping back (index + 1, the result appended). Ending, the
  Choice assigns the loop's own variable: the results, or the last one.
- The body runs as the one branch of a Parallel, a new scope each iteration: its variables
  start null (a node skipped in an iteration reads null, not the previous iteration's), and
  a Parallel inside the body may assign its branches' variables again (in the loop's own
  scope the second iteration would fail with IllegalOuterScopeWrite). Like a Map
  iteration, the branch gets ``{item: null, index, previous, iteration}`` (the Parallel's
  ``Arguments``), which every body state hands on: ``loop.*`` reads it as ``$states.input``
  (:class:`statemachines.machine.values.RootText`) and Tasks pass ``iteration`` on to
  their node logs ("0", "1"…; "2.0" in an outer loop's third item). The branch ends with
  the iteration's result; the loop's states hand their own input on unchanged.
- ``until`` is decided by the Choice on the iteration just run: there ``loop.index`` is its
  index and ``loop.previous`` its result (:class:`UntilText`). When that result is in S3
  without the fields ``until`` reads, the Choice's first rule asks the evaluator instead
  (``L (until offloaded)``, which loads it), and ``L (until route)`` goes on by its answer
  with the same rules — as an if/switch on an offloaded value does.
- Bounded by ``maxIterations``: one iteration more fails the node with
  ``Routines.LoopLimit`` — a Fail, or by ``onError`` the error record (a Pass). In a
  Standard machine also by the execution's history (25,000 events, which the iterations
  write into: statemachines/machine/history.py): a loop that would outlast it stops after
  the most iterations that fit, saying so, rather than failing on AWS mid-way; under
  ``onError`` continue/route the Parallel's Catch makes a failure in the body the loop's
  error, as a Map's does. Stops inside the body end the execution through that Catch
  (constructs.stop_catches).
- Sizes: the results share one variable's room (256 KiB), so the result node's
  ``inlineBytes`` is its share per iteration, room / maxIterations (``Build.per_item``):
  a larger output goes to S3 and its reference is kept, with the paths the machine reads
  (``loop.previous.body.next`` included: plan.native_paths). Where that share is too
  small even for a reference (many iterations), results over it are stored apart and the
  results list holds null for them (statemachines/machine/stored.py).

Cost: one Pass per run of the loop; per iteration the Parallel, the body's states and the
Choice (the compile report's ``loops`` entry, mode ``until``, statemachines.report).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from contract.errors import CompileError
from contract.expressions import parse_template
from contract.jsonata.conditions import condition_jsonata
from contract.jsonata.references import Reference
from contract.problems import node_path
from statemachines.asl import State
from statemachines.layout import Status
from statemachines.machine.history import HISTORY_EVENTS, OWN_EVENTS, STATE_EVENTS, least_events, loop_warning
from statemachines.machine.stored import until_results
from statemachines.machine.values import RootText, error_record
from statemachines.machine.walk import Build, Link, Outcome, Scope, Step, both, set_link
from statemachines.topology import NodeInfo
from statemachines.walk import Sim, complete, start

LOOP_LIMIT = "Routines.LoopLimit"


class UntilText(RootText):
    """The roots of an ``until`` condition: ``loop.previous`` is the iteration just run's
    result, ``loop.index`` its index; the rest as everywhere."""

    def __init__(self, outer: RootText, previous: str, index: str) -> None:
        super().__init__(outer.plan, outer.carried)
        self.previous, self.index = previous, index

    def __call__(self, ref: Reference) -> str:
        if ref.root == "loop":
            if ref.name == "previous":
                return self.previous
            if ref.name == "index":
                return self.index
            return "null"  # loop.item: an until loop has no items
        return super().__call__(ref)


def until_loop(build: Build, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
    plan = build.plan
    loop_id = info.id
    variable = plan.variable[loop_id]
    limit = int(info.parameters["maxIterations"])
    collect_all = info.parameters.get("collect", "all") != "last"
    result = plan.results.get(loop_id)
    # Node ids start with a letter: these never clash with a node's variable.
    index, last, results = (f"_{name}_{variable}" for name in ("index", "last", "results"))
    roots = UntilText(build.root_text, f"${last}", f"${index}")
    until = _until_text(info, roots)
    if collect_all and result is not None and build.infos[result].is_task:
        build.per_item[result] = str(limit)  # its share of the results' one variable

    check = build.name(f"{loop_id} (until)", loop_id)
    iteration = build.name(f"{loop_id} (iteration)", loop_id)
    build.add(scope, iteration, _iteration(build, scope, info, index, last, check), loop_id)
    first: dict[str, Any] = {
        "Assign": {index: 0, last: None, **({results: []} if collect_all else {})},
        "Next": iteration,
    }
    entry = build.add(scope, build.name(loop_id, loop_id), State("Pass", first), loop_id)

    collected = f"$append(${results}, [${last}])" if collect_all else f"${last}"
    build.assigns(scope, loop_id)
    ending: dict[str, Any] = {variable: "{% " + collected + " %}"}
    done = {"Condition": "{% " + until + " %}", "Assign": ending}
    # A Standard execution ends past 25,000 history events, which the iterations write into:
    # the loop stops, saying why, after the most iterations that fit (if fewer than its own).
    most = limit
    if build.plan.options.execution_type != "express":
        branch = scope.states[iteration].fields["Branches"][0]
        most = min(limit, HISTORY_EVENTS // (OWN_EVENTS["Parallel"] + least_events(branch) + STATE_EVENTS))
        loop_warning(build, info, most)
    over = {"Condition": "{% $" + index + f" + 1 >= {most} %}}", "Next": ""}
    going_on: dict[str, Any] = {
        index: "{% $" + index + " + 1 %}",
        **({results: "{% " + collected + " %}"} if collect_all else {}),
    }
    again = {
        "Condition": "{% true %}",  # not the Default: a Choice's own Assign differs on moto
        "Assign": going_on,
        "Next": iteration,
    }
    build.add(scope, check, State("Choice", {"Choices": [done, over, again]}), loop_id)
    parallel_arguments = scope.states[iteration].fields["Arguments"]
    if collect_all:  # many results: those over their share may be stored apart
        until_results(
            build,
            scope,
            info,
            limit,
            (variable, results, last),
            (ending, going_on),
            (first["Assign"], parallel_arguments),
        )
    decided = _offloaded_until(build, scope, info, roots, check, index, last, [done, over, again])

    message = f"loop '{loop_id}' ran {limit} iterations (its maxIterations) and its 'until' never held"
    if most < limit:
        message = (
            f"loop '{loop_id}' ran {most:,} iterations, the most its body runs within the 25,000 "
            "events of the history of a Standard execution, and its 'until' never held: lower "
            "its maxIterations, or run the routine as Express"
        )
    mode = info.node.on_error
    if mode == "fail":
        failure = build.name(f"{loop_id} (limit)", loop_id)
        build.add(scope, failure, State("Fail", {"Error": LOOP_LIMIT, "Cause": message}), loop_id)
        over["Next"] = failure
        complete(build.graph, sim, loop_id, Status.OK, frozenset({"done"}))
        return Step(entry, [Outcome(sim, both(*(set_link(rule, "Next") for rule in decided)))])
    record = {"error": {"type": LOOP_LIMIT, "message": message}}
    limited: dict[str, Any] = {"Assign": {variable: record}}
    if not scope.passes_input:
        limited["Output"] = record  # the trace reads the node's error here
    over["Next"] = build.add(
        scope, build.name(f"{loop_id} (limit)", loop_id), State("Pass", limited), loop_id
    )
    # A failure in the body is the loop's error too.
    catch: dict[str, Any] = {
        "ErrorEquals": ["States.ALL"],
        "Assign": {variable: error_record()},
        "Output": "{% $states.input %}" if scope.passes_input else "{% $states.errorOutput %}",
    }
    parallel = scope.states[iteration].fields
    parallel["Catch"] = [*parallel.get("Catch", []), catch]
    errors: list[Link] = [set_link(limited, "Next"), set_link(catch, "Next")]
    if mode == "continue":
        complete(build.graph, sim, loop_id, Status.ANY, frozenset({"done"}))
        return Step(entry, [Outcome(sim, both(*(set_link(rule, "Next") for rule in decided), *errors))])
    failed = sim.copy()
    complete(build.graph, sim, loop_id, Status.OK, frozenset({"done"}))
    complete(build.graph, failed, loop_id, Status.ERROR, frozenset({"error"}))
    ended = both(*(set_link(rule, "Next") for rule in decided))
    return Step(entry, [Outcome(sim, ended), Outcome(failed, both(*errors))])


def _iteration(build: Build, scope: Scope, info: NodeInfo, index: str, last: str, check: str) -> State:
    """The Parallel running the body once: its one branch is the body, walked in a scope
    of its own, ending with the iteration's result."""
    from statemachines.machine.constructs import stop_catches, stops_within

    plan = build.plan
    body = plan.topology.loop_bodies[info.id]
    inner = Scope("branch", passes_input=True)
    members = activated = 0
    for node in body:
        members |= build.graph.bit(node)
    for edge in plan.topology.body_edges(info.id):
        activated |= build.graph.bit(edge.target)
    begin = build.go(inner, start(build.graph, members, activated, {}))
    branch = build.finish(inner, begin).to_json()
    _end_with_result(build, inner, branch, plan.results.get(info.id))
    step = "$string($" + index + ")"
    fields: dict[str, Any] = {
        "Arguments": {
            "item": None,
            "index": "{% $" + index + " %}",
            "previous": "{% $" + last + " %}",
            "iteration": "{% "
            + (f"$states.input.iteration & '.' & {step}" if scope.passes_input else step)
            + " %}",
            # In a distributed loop's iteration (a child execution) the body reads the
            # trigger, the execution and outer outputs from its input: handed on.
            **(
                {
                    name: "{% " + f"$exists($states.input.{name}) ? $states.input.{name} : null" + " %}"
                    for name in _CARRIED
                }
                if build.root_text.carried is not None
                else {}
            ),
        },
        "Branches": [branch],
        "Assign": {last: "{% $states.result[0] %}"},
        "Output": "{% $states.input %}",  # the loop's states hand their input on
        "Next": check,
    }
    ordered = sorted(body, key=plan.position.__getitem__)
    catches = stop_catches(
        build, scope, stops_within(build, ordered), catches_all=info.node.on_error != "fail"
    )
    if catches:
        fields["Catch"] = catches
    return State("Parallel", fields)


# A distributed loop's iteration's input (loops.py: its ItemSelector; "nodes" only when its
# body reads outer outputs, so each is handed on only if there).
_CARRIED = ("trigger", "execution", "nodes")


def _end_with_result(build: Build, inner: Scope, branch: dict[str, Any], result: str | None) -> None:
    """Every way the branch ends (but a Fail: a stop) gives the iteration's result instead
    of the variables a branch hands back. A state assigning the result node's variable
    itself ends with what it assigns (its Output sees the old value)."""
    text = build.root_text.node(result) if result is not None else "null"
    done: str | None = None
    for name, state in list(branch["States"].items()):
        if not (state.get("End") or state["Type"] == "Succeed"):
            continue
        own = inner.ends.get(name, {})
        if result in own or not own:
            state["Output"] = "{% " + own.get(result or "", text) + " %}"
            continue
        # It assigns variables the result may be made of (a merge's sources): read them
        # in a state after it.
        if done is None:
            done = build.name(f"{inner.states[name].fields.get('Next', name)} (iteration done)")
            branch["States"][done] = {"Type": "Succeed", "Output": "{% " + text + " %}"}
        del state["End"]
        state.pop("Output", None)
        state["Next"] = done


def _offloaded_until(
    build: Build,
    scope: Scope,
    info: NodeInfo,
    roots: UntilText,
    check: str,
    index: str,
    last: str,
    rules: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """When the iteration's result is in S3 without the fields ``until`` reads (a large
    ``loop.previous.pad``), the machine cannot decide: the check's first rule asks the
    evaluator, which loads the value and answers as an ``if`` would, and a second Choice
    routes on its answer with the check's own rules. The rules that end the loop: the
    ``until`` rule, and the route's rule on the answer (both lead where the loop goes on)."""
    done, over, again = rules
    partial = roots.partial(info.parameters["until"])
    if not partial:
        return [done]
    from statemachines.machine.constructs import evaluator_task

    holds = f"_until_{build.plan.variable[info.id]}"
    probe = replace(info, parameters={"condition": info.parameters["until"]})
    loop = "{% {'item': null, 'index': $" + index + ", 'previous': $" + last + "} %}"
    assign = {holds: "{% $states.result.port = 'true' %}"}
    evaluated = evaluator_task(build, scope, probe, assign, roots=roots, loop=loop, plugin="if")
    # The answer decides as the until rule would; the limit and the next iteration are the
    # check's own rules (the same objects: their Next is set once, for both Choices).
    answered = {"Condition": "{% $" + holds + " %}", "Assign": done["Assign"], "Next": ""}
    route = build.name(f"{info.id} (until offloaded)", info.id)
    routing = State("Choice", {"Choices": [answered, over, again]})
    evaluated["Next"] = build.add(scope, build.name(f"{info.id} (until route)", info.id), routing, info.id)
    build.add(scope, route, State("Task", evaluated), info.id)
    scope.states[check].fields["Choices"].insert(0, {"Condition": "{% " + partial + " %}", "Next": route})
    return [done, answered]


def _until_text(info: NodeInfo, roots: UntilText) -> str:
    def operand(text: str) -> str:
        return parse_template(text).native(roots)

    text = condition_jsonata(info.parameters["until"], operand)
    if text is None:
        raise CompileError(
            "'until' cannot use 'matches' yet: write it as an expression, e.g. "
            '{"expression": "{{ $contains(loop.previous.next, /^https:/) }}"}',
            path=node_path(info.id, "parameters", "until"),
        )
    return text


__all__ = ["LOOP_LIMIT", "UntilText", "until_loop"]
