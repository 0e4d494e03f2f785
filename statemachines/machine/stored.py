"""A loop's results stored apart, for loops of many results (issue #23, "big loops").

A loop's results are one list in one variable (256 KiB): each iteration's result node gets
a share of it, ``inlineBytes`` = its room ÷ the count (a Map) or ÷ ``maxIterations`` (an
until loop). Where that share is under contract.limits.SPILL_SHARE — too small even for a
reference to S3 — the result node (``loopResult``: plugins.runtime.handler) stores a result
over its share under its iteration's own key (plugins.runtime.offload.result_key) and:

- in a Map (``"list"``) hands back null: the Map's list holds nulls where results were
  stored apart;
- in an until loop (``"until"``) hands back a reference to it, which ``loop.previous``
  reads (its kept fields, or a Lambda loading it), and the Choice appending it to the
  results appends null instead.

The loop's variable then holds not the list but where its results are:
``{"$storedResults": {"node", "execution", "run", "prefix"}, "results": [...], "__partial": {...}}``
(contract.names.STORED_RESULTS; ``run`` is the loop run's random name, part of every key,
so data shaped like it cannot read another run's results), every field native states read
of it marked as left out, so they ask a Lambda; plugins.runtime.offload.load gathers the
list (as do the trace, the records and the execution's result). No state and no Lambda
more: which form the variable takes is decided when it is assigned, on the share
(Build.share_room knows the rooms).
"""

from __future__ import annotations

from typing import Any

from contract.jsonata.conditions import literal
from contract.limits import SPILL_SHARE
from contract.names import OFFLOADED, PARTIAL, STORED_RESULTS
from statemachines.machine.walk import Build, Scope
from statemachines.topology import NodeInfo


def result_node(build: Build, info: NodeInfo) -> str | None:
    """The loop's result node, when its results may be stored apart: a Task's outputs,
    which no node of the body reads (it would read the null)."""
    result = build.plan.results.get(info.id)
    if result is None or not build.infos[result].is_task:
        return None
    body = build.plan.topology.loop_bodies[info.id]
    if any(result in build.plan.reads[node] for node in body):
        return None
    return str(result)


def run_variable(build: Build, info: NodeInfo) -> str:
    """The variable holding a loop run's own random name (``$uuid()``), part of the S3 keys
    of its results stored apart: where a loop's results are cannot be forged by data that
    names another execution (its keys cannot be guessed)."""
    return f"_run_{build.plan.variable[info.id]}"


def where(build: Build, scope: Scope, info: NodeInfo, result: str, results: str) -> str:
    """JSONata text: the loop's variable when results were stored apart — ``results`` the
    list with nulls for them, the fields native states read marked as left out."""
    read = {
        str(path[1] if isinstance(path[0], int) else path[0])
        for path in build.plan.keep.get(info.id, ())
        if path and not (isinstance(path[0], int) and len(path) == 1)
    }
    # Iteration keys are "outer.index" in a nested loop ($states.input: the outer iteration's).
    prefix = "$states.input.iteration & '.'" if scope.passes_input else "''"
    return (
        f"{{{literal(STORED_RESULTS)}: {{'node': {literal(result)}, "
        f"'execution': {build.root_text.execution('id')}, 'run': ${run_variable(build, info)}, "
        f"'prefix': {prefix}}}, "
        f"'results': {results}, {literal(PARTIAL)}: {literal(dict.fromkeys(sorted(read), True))}}}"
    )


def map_results(
    build: Build,
    scope: Scope,
    info: NodeInfo,
    map_state: tuple[str, dict[str, Any]],
    counts: list[dict[str, Any]],
    count_variable: str,
) -> None:
    """A Map's results: the states counting the items (``counts``: their Assign) also set
    whether each result's share is under SPILL_SHARE, and the run's name, which the
    iterations get in their input; the Map assigns by the first (and ends its scope by it,
    should it be the last state: its Output sees the old variable)."""
    result = result_node(build, info)
    if result is None:
        return
    variable = build.plan.variable[info.id]
    flag, run = f"_stored_{variable}", run_variable(build, info)
    for assign in counts:
        assign[run] = "{% $uuid() %}"
    map_name, fields = map_state
    fields["ItemSelector"]["run"] = "{% $" + run + " %}"

    def decide(room: int) -> str:
        for assign in counts:
            counted = assign[count_variable].removeprefix("{% ").removesuffix(" %}")
            assign[flag] = "{% " + f"$floor({room} / $max([1, {counted}])) < {SPILL_SHARE}" + " %}"
        return "list"

    build.spills[result] = decide
    value = f"(${flag} ? {where(build, scope, info, result, '$states.result')} : $states.result)"
    fields["Assign"][variable] = "{% " + value[1:-1] + " %}"
    scope.ends[map_name] = {info.id: value}


def until_results(
    build: Build,
    scope: Scope,
    info: NodeInfo,
    limit: int,
    names: tuple[str, str, str],
    assigns: tuple[dict[str, Any], dict[str, Any]],
    entry: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """An until loop's results: its share per iteration is its room ÷ ``limit``, known
    when rooms are; when under SPILL_SHARE, the Choice's rules append null for a result
    stored apart (``$last`` a reference) and end with where the results are. ``names``:
    the loop's variable, its results' and its last result's; ``assigns``: the Assign of
    the rule ending the loop and of the rule going on; ``entry``: the Assign of the Pass
    starting the loop (the run's name) and the Arguments of its iterations (given it)."""
    result = result_node(build, info)
    if result is None:
        return
    run = run_variable(build, info)
    start, iteration = entry
    start[run] = "{% $uuid() %}"
    iteration["run"] = "{% $" + run + " %}"
    variable, results, last = names
    done, again = assigns
    stored = f"($type(${last}) = 'object' and $exists($lookup(${last}, {literal(OFFLOADED)})))"
    appended = f"$append(${results}, [{stored} ? null : ${last}])"

    def decide(room: int) -> str | None:
        if room // limit >= SPILL_SHARE:
            return None
        again[results] = "{% " + appended + " %}"
        done[variable] = "{% " + where(build, scope, info, result, appended) + " %}"
        return "until"

    build.spills[result] = decide


__all__ = ["map_results", "result_node", "until_results", "where"]
