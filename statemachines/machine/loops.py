"""``loop`` in a JSONata machine: a Map over the items, behind a Choice that they are a list.

- The Choice (``L (items)``) fails the node when the items are not a list (a Map over
  anything else fails with States.Runtime, which no Catch takes), and in a Standard
  machine when there are more than the execution's history holds
  (statemachines/machine/history.py); it counts them for the results' share per item.
- A list that may be in S3 (a trigger over its inline room, an output over its share of
  the variables) is read back by the evaluator (``L (items from S3)``); a distributed
  loop always has the evaluator write its list to S3 (``L (items to S3)``) for its Map's
  ``ItemReader``.
- A loop whose results are read hands them on however many: where each result's share of
  the list's one variable is too small, the iterations store theirs in S3 apart and the
  Map's ``Assign`` says where (statemachines/machine/stored.py); at most 40,000 of them.
- The body is the Map's ``ItemProcessor``, walked in a scope of its own; a distributed
  loop's iterations (child executions) get what they read from outside in their input.
- ``until`` loops (no items): statemachines/machine/repeat.py.
"""

from __future__ import annotations

import copy
from typing import Any

from contract.expressions import parse_template
from contract.limits import MOST_LOOP_RESULTS, TOO_MANY_RESULTS
from statemachines.asl import State
from statemachines.machine.history import loop_warning, most_iterations
from statemachines.machine.plan import variable_name
from statemachines.machine.stored import map_results
from statemachines.machine.values import RootText, object_text
from statemachines.machine.walk import Build, Outcome, Scope, Step, both, set_link
from statemachines.topology import NodeInfo
from statemachines.walk import Sim, start

TYPE_NAMES = "{'string': 'a string', 'number': 'a number', 'boolean': 'a boolean', 'object': 'an object'}"


def loop_step(build: Build, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
    """A Map over the items, behind a Choice that the items are a list (a Map over
    anything else fails with States.Runtime, which no Catch takes): not a list fails the
    node with Routines.UserError — a Fail, or by onError the error record."""
    # constructs imports this module (its table of constructs), as race.py and repeat.py do
    from statemachines.machine.constructs import clear_dead, error_outcomes, stop_catches, stops_within

    if info.parameters.get("until") is not None:  # no items: repeat until (issue #27)
        from statemachines.machine.repeat import until_loop

        return until_loop(build, scope, sim, info)
    raw = info.parameters["items"]
    items = (
        parse_template(raw).native(build.root_text)
        if isinstance(raw, str)
        else object_text(raw, build.root_text)
    )
    inner = Scope("map", result=build.plan.results.get(info.id), passes_input=True)
    body = build.plan.topology.loop_bodies[info.id]
    distributed = info.parameters.get("mode") == "distributed"
    outer_root = build.root_text
    carried = _carried(build, body) if distributed else []
    if distributed or outer_root.carried is not None:
        every = frozenset(build.graph.nodes) - body
        build.root_text = RootText(build.plan, every if distributed else outer_root.carried)
    members = activated = 0
    for node in body:
        members |= build.graph.bit(node)
    for edge in build.plan.topology.body_edges(info.id):
        activated |= build.graph.bit(edge.target)
    try:
        begin = build.go(inner, start(build.graph, members, activated, {}))
        processor = build.finish(inner, begin).to_json()
    finally:
        build.root_text = outer_root
    result = build.plan.results.get(info.id)
    counted = info.id in build.plan.needed and result is not None and build.infos[result].is_task
    count_variable = f"_count_{build.plan.variable[info.id]}"  # node ids start with a letter
    if counted:
        # The loop's results are one list, a variable's room for all: the result node's
        # share per item follows from the count, known when the loop starts.
        build.per_item[str(result)] = "$states.input.count"
    index = "$string($states.context.Map.Item.Index)"
    iteration = f"$states.input.iteration & '.' & {index}" if scope.passes_input else index
    selector: dict[str, Any] = {
        "item": "{% $states.context.Map.Item.Value %}",
        "index": "{% $states.context.Map.Item.Index %}",
        "iteration": "{% " + iteration + " %}",
    }
    if counted:
        selector["count"] = "{% $" + count_variable + " %}"
    if distributed or outer_root.carried is not None:
        # What the iterations read from outside them travels in their input.
        selector["trigger"] = "{% " + outer_root.trigger() + " %}"
        selector["execution"] = {n: "{% " + outer_root.execution(n) + " %}" for n in ("id", "startedAt")}
        names = (
            carried if distributed else [n for n in _carried(build, body) if n in (outer_root.carried or ())]
        )
        if outer_root.carried is not None and not distributed:
            names = sorted(set(names) | set(outer_root.carried) & set(_carried(build, body)))
        if names:
            selector["nodes"] = {n: "{% " + outer_root.node(n) + " %}" for n in names}
    mode = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"} if distributed else {"Mode": "INLINE"}
    fields: dict[str, Any] = {
        "Items": "{% " + items + " %}",
        "ItemSelector": selector,
        "ItemProcessor": {"ProcessorConfig": mode, **processor},
        "MaxConcurrency": info.parameters.get("maxConcurrency", 10),
    }
    map_name = build.name(info.id, info.id)
    if build.assigns(scope, info.id):
        fields["Assign"] = {build.plan.variable[info.id]: "{% $states.result %}"}
        scope.ends[map_name] = {info.id: "$states.result"}
    build.add(scope, map_name, State("Map", fields), info.id)
    stop_catch = stop_catches(
        build, scope, stops_within(build, body), catches_all=info.node.on_error != "fail"
    )
    kind = f"($t := $type({items}); $exists($t) ? $t : 'null')"
    named = f"($t := {kind}; $t = 'null' ? 'null' : $lookup({TYPE_NAMES}, $t))"
    message = f"'loop items must be a list; got ' & {named}"
    # A Standard execution ends past 25,000 history events, which an inline loop's
    # iterations write into: a list longer than fits is refused before it starts.
    most = None
    if not distributed and build.plan.options.execution_type != "express":
        most = most_iterations(processor)
        loop_warning(build, info, most)
        message = f"$type({items}) = 'array' ? {_too_many(most, f'$string($count({items}))')} : {message}"
    limit_of = "history"
    if most is None and counted:
        # Express, or distributed: the iterations' list of results (null for one stored
        # apart) is one state's result. An inline Standard loop's history bound is lower.
        most, limit_of = MOST_LOOP_RESULTS, "results"
        message = f"$type({items}) = 'array' ? {_too_many_results(f'$string($count({items}))')} : {message}"
    partial = build.root_text.partial(raw)
    counts = count_variable if counted else None
    loader = (
        _items_to_s3(build, scope, info, (map_name, fields), counts)
        if distributed
        else _items_from_s3(build, scope, info, (map_name, fields), partial, counts, most)
    )
    if loader is not None and most is not None:
        loader[1]["Arguments"]["limit"] = most  # a list it loads is refused there alike
        if limit_of != "history":
            loader[1]["Arguments"]["limitOf"] = limit_of
    guard_name = build.name(f"{info.id} (items)", info.id)
    guard: dict[str, Any] = {
        "Choices": [
            {
                "Condition": "{% "
                + (f"$not{partial} and " if partial else "")
                + "$type("
                + items
                + ") = 'array'"
                + (f" and $count({items}) <= {most}" if most is not None and not distributed else "")
                + " %}",
                "Next": map_name,
            }
        ],
        "Default": "",
    }
    if counted:
        guard["Choices"][0]["Assign"] = {count_variable: "{% $count(" + items + ") %}"}
        # The states that count the items say too whether the results go to S3 apart.
        counting = [guard["Choices"][0]["Assign"]] if not distributed else []
        if loader is not None:
            counting.append(loader[1]["Assign"])
        map_results(build, scope, info, (map_name, fields), counting, count_variable)
    if distributed and loader is not None:  # every list goes through S3 (_items_to_s3)
        listed = (f"{partial} or " if partial else "") + f"$type({items}) = 'array'"
        guard["Choices"][0]["Condition"] = "{% " + listed + " %}"
        guard["Choices"][0]["Next"] = loader[0]
        guard["Choices"][0].pop("Assign", None)  # the count comes with the evaluator's answer
    elif loader is not None:
        guard["Choices"].insert(0, {"Condition": "{% " + partial + " %}", "Next": loader[0]})
    build.add(scope, guard_name, State("Choice", guard), info.id)
    ok_ports = frozenset({"done"})
    if info.node.on_error == "fail":
        failure = build.name(f"{info.id} (not a list)", info.id)
        build.add(
            scope,
            failure,
            State("Fail", {"Error": "Routines.UserError", "Cause": "{% " + message + " %}"}),
            info.id,
        )
        guard["Default"] = failure
        outcomes = _with_stops(error_outcomes(build, sim, info, fields, ok_ports), fields, stop_catch)
        clear_dead(build, scope, info, fields)
        return Step(guard_name, _loader_fails_as_the_loop(info, outcomes, fields, loader))
    record = build.name(f"{info.id} (not a list)", info.id)
    error = "{% {'error': {'type': 'Routines.UserError', 'message': " + message + "}} %}"
    pass_fields: dict[str, Any] = {"Output": error}  # the trace reads the node's error here
    if info.id in build.plan.needed:
        pass_fields["Assign"] = {build.plan.variable[info.id]: error}
    build.add(scope, record, State("Pass", pass_fields), info.id)
    guard["Default"] = record
    outcomes = _with_stops(error_outcomes(build, sim, info, fields, ok_ports), fields, stop_catch)
    clear_dead(build, scope, info, fields)
    outcomes = _loader_fails_as_the_loop(info, outcomes, fields, loader)
    last = outcomes[-1]
    outcomes[-1] = Outcome(last.sim, both(last.link, set_link(pass_fields, "Next")) if last.link else None)
    return Step(guard_name, outcomes)


def _items_from_s3(
    build: Build,
    scope: Scope,
    info: NodeInfo,
    map_state: tuple[str, dict[str, Any]],
    partial: str,
    count_variable: str | None,
    most: int | None,
) -> tuple[str, dict[str, Any]] | None:
    """When the list may be in a value offloaded to S3 without it kept inline (a trigger
    over its inline room, an output over its share of the variables: ``partial`` says so
    at run time), the evaluator loads it and answers it inline — at most a variable's room
    (contract.limits.LOOP_ITEMS_BYTES), else it fails as a list that is not one does — and
    the Map runs over that answer. Returns the evaluator Task (its name and fields)."""
    from statemachines.machine.constructs import evaluator_task  # constructs imports this module

    if not partial:
        return None
    held = f"_items_{build.plan.variable.get(info.id) or variable_name(info.id)}"  # never a node's
    answer = {held: "{% $states.result.items %}"}
    if count_variable is not None:
        answer[count_variable] = "{% $count($states.result.items) %}"
    loader = evaluator_task(build, scope, info, answer)
    name = build.add(scope, build.name(f"{info.id} (items from S3)", info.id), State("Task", loader), info.id)
    map_name, fields = map_state
    loader["Next"] = map_name
    fields["Items"] = "{% " + partial + " ? $" + held + " : " + fields["Items"][3:]
    fields["Assign"] = {**fields.get("Assign", {}), held: None}  # the list, held no longer
    return name, loader


def _items_to_s3(
    build: Build,
    scope: Scope,
    info: NodeInfo,
    map_state: tuple[str, dict[str, Any]],
    count_variable: str | None,
) -> tuple[str, dict[str, Any]]:
    """A distributed loop reads its list from S3, whatever its size: the evaluator writes
    it there as a JSON array (loading it first when it is itself in S3) and answers where,
    and how many items (each result's share of the results' room); the Map's
    ``ItemReader`` reads it. One Lambda invocation per run of the loop buys lists of any
    length, where an inline Map's ``Items`` holds at most a state's 256 KiB. No
    ``ResultWriter`` (moto's writes a manifest without the results): the results come back
    as an inline Map's do, into the loop's variable."""
    from statemachines.machine.constructs import evaluator_task  # constructs imports this module

    listed = f"_list_{build.plan.variable.get(info.id) or variable_name(info.id)}"  # never a node's
    answer = {listed: "{% $states.result %}"}
    if count_variable is not None:
        answer[count_variable] = "{% $states.result.count %}"
    spill = evaluator_task(build, scope, info, answer)
    spill["Arguments"]["spill"] = True
    name = build.add(scope, build.name(f"{info.id} (items to S3)", info.id), State("Task", spill), info.id)
    map_name, fields = map_state
    spill["Next"] = map_name
    reader = {
        "Resource": f"arn:{build.plan.options.partition}:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Arguments": {"Bucket": "{% $" + listed + ".bucket %}", "Key": "{% $" + listed + ".key %}"},
    }
    rest = {key: value for key, value in fields.items() if key != "Items"}
    fields.clear()  # the ItemReader where the Items were: the fields in the order ASL lists them
    fields.update({"ItemReader": reader, **rest})
    fields["Assign"] = {**fields.get("Assign", {}), listed: None}
    return name, spill


def _too_many(most: int, count: str) -> str:
    """The refusal of an inline loop over more items than a Standard execution's history
    holds, as JSONata text (the evaluator says the same of a list it loads:
    plugins/system/evaluate.py)."""
    return (
        f"'loop over ' & {count} & ' items: an inline loop of this body runs at most {most:,} "
        "iterations within the 25,000 events of the history of a Standard execution; give the "
        'loop "mode": "distributed" (each iteration a child execution with a history of its own), '
        "or run the routine as Express'"
    )


def _too_many_results(count: str) -> str:
    """The refusal of a loop over more items than its list of results holds, as JSONata
    text (the evaluator says the same of a list it loads)."""
    return f"'loop over ' & {count} & ' {TOO_MANY_RESULTS}'"


def _loader_fails_as_the_loop(
    info: NodeInfo, outcomes: list[Outcome], fields: dict[str, Any], loader: tuple[str, dict[str, Any]] | None
) -> list[Outcome]:
    """The evaluator loading the list fails as the loop does (a list that is not one, or
    too long to hold): by the loop's onError, with a copy of the Map's Catch."""
    if loader is None or not fields.get("Catch"):
        return outcomes
    own = loader[1]
    own["Catch"] = copy.deepcopy([c for c in fields["Catch"] if c["ErrorEquals"] == ["States.ALL"]])
    links = [set_link(catch, "Next") for catch in own["Catch"]]
    at = 1 if info.node.on_error == "route" else 0  # the error's way on, or the one way on
    way = outcomes[at]
    outcomes[at] = Outcome(way.sim, both(*([way.link] if way.link else []), *links))
    return outcomes


def _carried(build: Build, body: set[str]) -> list[str]:
    """The nodes outside a loop's body that nodes inside it read (a merge as itself)."""
    read: set[str] = set()
    for node in body:
        read |= {n for n in build.plan.reads[node] if n not in body}
    return sorted(read, key=build.plan.position.__getitem__)


def _with_stops(
    outcomes: list[Outcome], fields: dict[str, Any], catches: list[dict[str, Any]]
) -> list[Outcome]:
    """The stops' catches first: an onError catch of everything must not take them."""
    if catches:
        fields["Catch"] = [*catches, *fields.get("Catch", [])]
    return outcomes


__all__ = ["loop_step"]
