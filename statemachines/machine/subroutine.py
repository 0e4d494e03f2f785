"""``execute-routine`` in a JSONata machine: a child execution of another routine's machine.

- a Choice first: the call depth (``meta.depth`` of the execution's input; 0 for one a
  trigger started) must stay within :data:`MAX_DEPTH`, else the node fails with
  ``Routines.CallDepth`` — a Fail, or by ``onError`` the error record — and no child starts;
- with ``wait``: a Task on ``states:startExecution.sync:2``; its output is the child's
  result (``$states.result.Output``, parsed JSON). A child that fails, times out or is
  stopped fails the Task with ``States.TaskFailed`` and the child's DescribeExecution as
  the Cause. ``retry`` is not the Task's ``Retry`` (which would retry every child failure
  alike) but one Task per attempt, with a Choice on the child's own error and a Wait
  between them: never after ``Routines.CallDepth`` nor the errors no node retries. A
  failure that stays becomes
  ``{"error": {"type": <the child's error>, "message": "routine 'x' (execution …) failed: …"}}``
  (:func:`functions.trace.child_error` says the same from the history); under
  ``onError: fail`` a Catch hands it to a Fail state with that type and message, so the
  execution fails with the child's error (and a grandparent reads it plainly);
- without: a Task on ``states:startExecution``; the output is ``{"executionId"}``.

The child's input is the envelope every starter writes (functions.triggers.start):
``{"trigger": <the input parameter>, "meta": {"routineId", "triggerType": "routine",
"parentExecutionId", "parentNodeId", "depth"}}`` — owner and version come from the child machine's tags,
which activation sets — plus ``AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID``, with which the
Step Functions console links the two executions.
"""

from __future__ import annotations

from typing import Any

from contract.errors import CompileError
from contract.expressions import map_strings
from contract.jsonata.conditions import literal
from contract.names import state_machine_prefix
from contract.problems import node_path
from plugins.builtin.control.execute_routine import (
    CALL_DEPTH_ERROR,
    MAX_DEPTH,
    TRIGGER_TYPE,
    routine_id,
)
from plugins.sdk import PortType
from plugins.sdk.errors import NOT_RETRYABLE
from statemachines.asl import State
from statemachines.layout import Status
from statemachines.machine.values import INPUT, native
from statemachines.machine.walk import Build, Outcome, Scope, Step, both, set_link
from statemachines.options import CompileOptions
from statemachines.topology import NodeInfo
from statemachines.walk import Sim, complete

SYNC = "states:startExecution.sync:2"
ASYNC = "states:startExecution"
DEPTH = f"($d := {INPUT}.meta.depth; $type($d) = 'number' ? $d : 0)"
PUBLIC_ID = "$substringAfter({arn}, ':execution:')"  # an execution ARN → its public id


def machine_arn(options: CompileOptions, routine: str) -> str:
    """The state machine activation deploys for ``routine`` (functions.activation.settings:
    ``<stage prefix><routine id>``) in the target's partition, region and account."""
    name = state_machine_prefix(options.stage) + routine
    return f"arn:{options.partition}:states:{options.region}:{options.account}:stateMachine:{name}"


def depth_message(routine: str) -> str:
    return (
        f"routine '{routine}' was not started: sub-routines nest at most {MAX_DEPTH} deep "
        "(does a routine call itself without end?)"
    )


def child_record(routine: str, source: str = "$states.errorOutput") -> str:
    """The caught error (``source``: ``{Error, Cause}``) as ``{"error": {"type",
    "message"}}``: a failed child's own error and message (its Cause unwrapped from a
    Lambda's report), else the Task's error (the child could not be started)."""
    prefix = literal(f"routine '{routine}' (execution ")
    return (
        f"($o := {source}; $c := $o.Cause; "
        "$d := ($o.Error = 'States.TaskFailed' and $type($c) = 'string' and "
        "$contains($c, '\"ExecutionArn\"')) ? $parse($c) : null; "
        "$m := $d ? $d.Cause : $c; "
        "$m := ($type($m) = 'string' and $contains($m, '\"errorMessage\"')) ? $parse($m).errorMessage : $m; "
        "$m := $type($m) = 'string' ? $m : ''; "
        "$how := $d.Status = 'TIMED_OUT' ? 'timed out' : ($d.Status = 'ABORTED' ? 'was stopped' : 'failed'); "
        "$t := $d ? ($type($d.Error) = 'string' and $d.Error != '' ? $d.Error : "
        "($d.Status = 'TIMED_OUT' ? 'States.Timeout' : "
        "($d.Status = 'ABORTED' ? 'States.Aborted' : $o.Error))) : $o.Error; "
        "{'error': {'type': $t, 'message': $d ? "
        f"({prefix} & $substringAfter($d.ExecutionArn, ':execution:') & ') ' & $how & "
        "($m != '' ? ': ' & $m : '')) : $m}})"
    )


def execute_routine(build: Build, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
    if build.root_text.carried is not None:
        # A distributed loop's iterations are child executions whose input is the item:
        # the call depth of the execution is not in it (yet), so recursion could not be
        # bounded.
        raise CompileError(
            "execute-routine nodes inside a distributed loop do not compile yet: use an inline loop",
            path=node_path(info.id),
        )
    routine = routine_id(str(info.parameters["routine"]))
    wait = info.parameters.get("wait", True) is not False
    options = build.plan.options
    value = info.parameters.get("input", "{{ trigger }}")
    arguments: dict[str, Any] = {
        "StateMachineArn": machine_arn(options, routine),
        "Input": {
            "trigger": map_strings(value, lambda text: native(text, build.root_text)),
            "meta": {
                "routineId": routine,
                "triggerType": TRIGGER_TYPE,
                "parentNodeId": info.id,
                "parentExecutionId": "{% " + PUBLIC_ID.format(arn="$states.context.Execution.Id") + " %}",
                "depth": "{% " + DEPTH + " + 1 %}",
            },
            "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": "{% $states.context.Execution.Id %}",
        },
    }
    result = (
        "$states.result.Output"
        if wait
        else "{'executionId': " + PUBLIC_ID.format(arn="$states.result.ExecutionArn") + "}"
    )
    keeps = build.assigns(scope, info.id)
    caught = f"$_failed_{info.id}"  # the last attempt's failure ({Error, Cause})
    record = child_record(routine, caught)
    # The node's retry as states: one Task per attempt (no cycle in the machine), and
    # between them a Choice on the child's own error and a Wait.
    policy = info.node.retry
    attempts = policy.max_attempts if policy is not None else 1
    tasks: list[dict[str, Any]] = []
    failing: list[tuple[dict[str, Any], str]] = []  # (holder, key) that lead to the node's error
    first = ""
    previous: tuple[dict[str, Any], str] | None = None
    for attempt in range(1, attempts + 1):
        fields: dict[str, Any] = {
            "Resource": f"arn:{options.partition}:states:::{SYNC if wait else ASYNC}",
            "Arguments": arguments,
        }
        name = build.name(info.id if attempt == 1 else f"{info.id} (attempt {attempt})", info.id)
        if keeps:
            fields["Assign"] = {build.plan.variable[info.id]: "{% " + result + " %}"}
            scope.ends[name] = {info.id: result}
        if not scope.passes_input:
            fields["Output"] = "{% " + result + " %}"  # what the trace shows as the node's output
        if info.node.timeout_seconds:
            fields["TimeoutSeconds"] = info.node.timeout_seconds
        catch: dict[str, Any] = {
            "ErrorEquals": ["States.ALL"],
            "Assign": {caught[1:]: "{% $states.errorOutput %}"},
        }
        if scope.passes_input:
            catch["Output"] = "{% $states.input %}"  # loop.* reads the iteration's input
        fields["Catch"] = [catch]
        build.add(scope, name, State("Task", fields), info.id)
        tasks.append(fields)
        if previous is None:
            first = name
        else:
            previous[0][previous[1]] = name
        if attempt == attempts:
            failing.append((catch, "Next"))
            break
        assert policy is not None
        again = {"Condition": "{% $not((" + record + f").error.type in {NEVER_RETRIED}) %}}", "Next": ""}
        decide: dict[str, Any] = {"Choices": [again], "Default": ""}
        catch["Next"] = build.add(
            scope, build.name(f"{info.id} (retry {attempt}?)", info.id), State("Choice", decide), info.id
        )
        failing.append((decide, "Default"))
        pause: dict[str, Any] = {"Seconds": _delay(policy, attempt)}
        if scope.passes_input:
            pause["Output"] = "{% $states.input %}"
        again["Next"] = build.add(
            scope, build.name(f"{info.id} (retry {attempt} wait)", info.id), State("Wait", pause), info.id
        )
        previous = (pause, "Next")

    guard_name = build.name(f"{info.id} (call depth)", info.id)
    proceed = {"Condition": "{% " + DEPTH + f" < {MAX_DEPTH} %}}", "Next": first}
    guard: dict[str, Any] = {"Choices": [proceed], "Default": ""}
    build.add(scope, guard_name, State("Choice", guard), info.id)
    too_deep = build.name(f"{info.id} (too deep)", info.id)
    guard["Default"] = too_deep
    message = depth_message(routine)
    ok_ports = frozenset(
        p.name for p in info.plugin.output_ports(info.parameters) if p.type is not PortType.ERROR
    )
    succeeded = both(*(set_link(task, "Next") for task in tasks))
    to_error = both(*(set_link(holder, key) for holder, key in failing))
    mode = info.node.on_error
    if mode == "fail":
        # The execution fails with the child's error, not States.TaskFailed around the
        # child's whole DescribeExecution (which a grandparent would wrap again).
        failed = build.name(f"{info.id} (failed)", info.id)
        failure = {"Error": "{% " + record + ".error.type %}", "Cause": "{% " + record + ".error.message %}"}
        build.add(scope, failed, State("Fail", failure), info.id)
        to_error(failed)
        build.add(scope, too_deep, State("Fail", {"Error": CALL_DEPTH_ERROR, "Cause": message}), info.id)
        complete(build.graph, sim, info.id, Status.OK, ok_ports)
        return Step(guard_name, [Outcome(sim, succeeded)])
    depth_record = {"error": {"type": CALL_DEPTH_ERROR, "message": message}}
    pass_fields: dict[str, Any] = {}
    if not scope.passes_input:
        pass_fields["Output"] = depth_record  # the trace reads the node's error here
    if info.id in build.plan.needed:
        pass_fields["Assign"] = {build.plan.variable[info.id]: depth_record}
        variable = build.plan.variable[info.id]
        for holder, _ in failing:
            if "Choices" in holder:
                # Not the Choice's own Assign (AWS evaluates it only for the Default, moto
                # always): a last rule that always holds says it on both.
                del holder["Default"]
                rule = {"Condition": "{% true %}", "Assign": {variable: "{% " + record + " %}"}, "Next": ""}
                holder["Choices"].append(rule)
            else:  # a Catch's own Assign cannot read the variable it sets: errorOutput
                holder["Assign"][variable] = "{% " + child_record(routine, "$states.errorOutput") + " %}"
    build.add(scope, too_deep, State("Pass", pass_fields), info.id)
    errors = [
        set_link(holder["Choices"][-1], "Next")
        if "Default" not in holder and "Choices" in holder
        else set_link(holder, key)
        for holder, key in failing
    ]
    to_error = both(*errors, set_link(pass_fields, "Next"))
    if mode == "continue":
        complete(build.graph, sim, info.id, Status.ANY, ok_ports)
        return Step(guard_name, [Outcome(sim, both(succeeded, to_error))])
    failed_sim = sim.copy()
    complete(build.graph, sim, info.id, Status.OK, ok_ports)
    complete(build.graph, failed_sim, info.id, Status.ERROR, frozenset({"error"}))
    return Step(guard_name, [Outcome(sim, succeeded), Outcome(failed_sim, to_error)])


# A child failing with these is not started again: retrying bad input repeats the failure,
# and retrying the call depth would multiply a recursive chain's executions level by level.
NEVER_RETRIED = literal([*NOT_RETRYABLE, CALL_DEPTH_ERROR])


def _delay(policy: Any, attempt: int) -> Any:
    """The Wait before attempt ``attempt + 1``, as ``Retry`` would wait: interval times
    backoff to the power of retries so far, at most maxDelaySeconds; FULL jitter draws
    up to that."""
    seconds = policy.interval_seconds * policy.backoff_rate ** (attempt - 1)
    if policy.max_delay_seconds is not None:
        seconds = min(seconds, policy.max_delay_seconds)
    if policy.jitter:
        return "{% $round($random() * " + repr(float(seconds)) + ") %}"
    return max(0, round(seconds))


__all__ = ["child_record", "execute_routine", "machine_arn"]
