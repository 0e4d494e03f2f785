"""Values in a JSONata machine: what each root of an expression becomes, node parameters
as a Task's ``Arguments``, and the records states assign.

Roots (DESIGN §2) map to what every state can read without a variable of its own: the
trigger is the execution's input (``$states.context.Execution.Input.trigger``, the same in
Parallel branches and Map iterations), the execution's fields are the context's, the
routine's ``vars`` are constants of the document (written in place), a node is its variable.
Parameters that read ``secrets`` — or a root only the plugin knows (filter's ``item``) — are
not evaluated in the machine: the Lambda gets them as written, with the node outputs they
read, and evaluates the same JSONata text (``deferred``).
"""

from __future__ import annotations

import json
from typing import Any

from contract.expressions import iter_strings, map_strings, parse_template
from contract.jsonata.conditions import literal, value_text
from contract.jsonata.lexer import field_text
from contract.jsonata.references import Reference
from contract.names import EXPRESSION_FAILED, PARTIAL, QUOTED_TEMPLATE
from statemachines.layout import has_unsafe_keys
from statemachines.machine.plan import Plan, expression_roots, is_lambda_evaluated
from statemachines.topology import NodeInfo

INPUT = "$states.context.Execution.Input"
EXECUTION = {
    "id": "$states.context.Execution.Id",
    "startedAt": "$states.context.Execution.StartTime",
}
# A node's output lives in a variable: at most 256 KiB each (AWS), less room for the rest
# of the Task's result.
VARIABLE_ROOM = 250 * 1024
# All the variables in scope hold at most 10 MiB together (AWS; the local seam checks it
# too): the outputs' rooms are cut so that all of them fit at once (walk.share_room).
SCOPE_LIMIT = 10 * 1024 * 1024
# ... less what outputs whose size no room bounds may take (an approval's decision, a
# sub-routine's result: a variable's most each) and the markers, counts and error records.
SCOPE_SLACK = 256 * 1024


class RootText:
    """``root_text`` for :meth:`Template.native`: the JSONata each root reference becomes."""

    def __init__(self, plan: Plan, carried: frozenset[str] | None = None) -> None:
        self.plan = plan
        # Inside a distributed loop's iterations — child executions, which see neither the
        # parent's variables nor its input — the trigger, the execution's fields and the
        # outputs of these nodes arrive in the iteration's input (the Map's ItemSelector).
        self.carried = carried

    def __call__(self, ref: Reference) -> str:
        if ref.root == "nodes":
            return self.node(ref.name) if ref.name else self.nodes()
        if ref.root == "trigger":
            return self.trigger() + (f".{field_text(ref.name)}" if ref.name else "")
        if ref.root == "vars":
            variables = self.plan.routine_variables
            return literal(variables.get(ref.name) if ref.name else variables)
        if ref.root == "loop":
            # The iteration's input, which every state of the iteration hands on.
            return "$states.input" + (f".{field_text(ref.name)}" if ref.name else "")
        if ref.root == "execution":
            fields = {name: self.execution(name) for name in ("id", "routineId", "startedAt")}
            if ref.name:
                return fields[ref.name]
            return "{" + ", ".join(f"{literal(k)}: {v}" for k, v in fields.items()) + "}"
        raise ValueError(f"'{ref.source}' is not evaluated in the state machine")

    def trigger(self) -> str:
        return "$states.input.trigger" if self.carried is not None else f"{INPUT}.trigger"

    def execution(self, name: str) -> str:
        if name == "routineId":
            return literal(self.plan.options.routine_id)
        return f"$states.input.execution.{name}" if self.carried is not None else EXECUTION[name]

    def node(self, node_id: str) -> str:
        """A node's output: its variable, or, for a merge, the object of its branches that
        ran."""
        if self.carried is not None and node_id in self.carried:
            return f"$states.input.nodes.{field_text(node_id)}"
        if node_id in self.plan.variable:
            return f"${self.plan.variable[node_id]}"
        sources = self.plan.sources.get(node_id)
        if sources is None:
            return "null"  # a node without output: if, switch, wait, stop, a disabled node
        has_output = [s for s in sources if s in self.plan.variable or s in self.plan.sources]
        entries = ", ".join(f"{literal(s)}: {self.node(s)}" for s in has_output)
        outputs = f"($m := $sift({{{entries}}}, function($v) {{ $v != null }}); $exists($m) ? $m : {{}})"
        return f"({self.merge_ran(node_id)} ? {outputs} : null)"

    def merge_ran(self, merge: str) -> str:
        """Whether a merge ran: one of its incoming connections was active."""
        return self._any_active(merge)

    def _any_active(self, node: str) -> str:
        tests = [self._active(edge) for edge in self.plan.graph.incoming[node]]
        return "(" + (" or ".join(tests) or "false") + ")"

    def _active(self, edge: Any) -> str:
        """Whether a connection was active: a port an if or switch took, a wait that ran,
        an output (from an error port: an error record) in its source's variable, a merge
        that ran, a disabled node that was reached (it passes activation on)."""
        source = edge.source
        info = self.plan.topology.infos[source]
        if source in self.plan.markers:
            marker = f"${self.plan.markers[source]}"
            return f"{marker} = true" if info.plugin.name == "wait" else f"{marker} = {literal(edge.port)}"
        if source in self.plan.sources:
            return f"({self.node(source)}) != null"
        if edge.port == "body":  # inside the loop's iteration: the loop is running
            return "true"
        if source in self.plan.variable:
            value = self.node(source)
            is_error = f"($type({value}) = 'object' and $keys({value}) = 'error')"
            if edge.port == "error":
                return is_error
            if info.node.on_error == "continue":  # its error record goes on as its output
                return f"({value} != null)"
            return f"({value} != null and $not{is_error})"
        if info.node.disabled and edge.port == info.pass_through_port:
            return self._any_active(source) if self.plan.graph.incoming[source] else "true"
        return "false"

    def partial(self, value: Any) -> str:
        """A JSONata test: some value the expressions in ``value`` read is an S3 reference
        that lacks what they need (``__partial``); "" when nothing they read can be one."""
        tests: list[str] = []
        for _, text in iter_strings(value):
            if "{{" in text:
                for expression in parse_template(text).expressions:
                    for ref in expression.references:
                        tests.extend(self._left_out(read, first) for read, first in self._offloadable(ref))
        tests = list(dict.fromkeys(tests))
        return "(" + " or ".join(tests) + ")" if tests else ""

    @staticmethod
    def _left_out(text: str, first: str | int | None) -> str:
        """Whether ``text``'s reference left out what is read under its field ``first``
        (None or an index: anything). ``__partial`` marks the top-level fields left out
        (plugins.runtime.offload); ``true in`` is false on a missing field and looks
        through a loop's results, each of which may be a reference."""
        partial = f"{text}.{PARTIAL}"
        if first is None or isinstance(first, int):
            return f"$exists({partial})"
        return f"true in {partial}.{field_text(first)}"

    def _offloadable(self, ref: Reference) -> list[tuple[str, str | int | None]]:
        """What a reference reads that may be an S3 reference — the trigger (its starter
        offloads a large one), a plugin's or a loop's output (a merge: its sources') — and
        the top-level field it reads there (None: the whole value)."""
        if ref.root == "trigger":
            return [(self.trigger(), ref.steps[0] if ref.steps else None)]
        if ref.root == "loop" and ref.name == "previous":
            # An until loop's previous result: its result node's output, maybe in S3.
            previous = self(Reference("loop.previous", "loop", "previous", ("previous",)))
            return [(previous, ref.steps[1] if len(ref.steps) > 1 else None)]
        if ref.root != "nodes":
            return []
        if ref.name is None:
            return [t for node in self.plan.variable for t in self._offloadable_node(node, ())]
        return self._offloadable_node(ref.name, ref.steps[1:])

    def _offloadable_node(
        self, node: str, steps: tuple[str | int, ...]
    ) -> list[tuple[str, str | int | None]]:
        sources = self.plan.sources.get(node)
        if sources is not None:
            if steps and steps[0] in sources:
                return self._offloadable_node(str(steps[0]), steps[1:])
            return [t for source in sources for t in self._offloadable_node(source, ())]
        info = self.plan.topology.infos[node]
        if node not in self.plan.variable or not (info.is_task or info.plugin.name == "loop"):
            return []
        if info.plugin.name == "loop" and steps and isinstance(steps[0], int):
            steps = steps[1:]  # one result of the list: its fields are the result's
        return [(self.node(node), steps[0] if steps else None)]

    def nodes(self) -> str:
        names = [n for n in self.plan.topology.order if n in self.plan.variable]
        return "{" + ", ".join(f"{literal(n)}: {self.node(n)}" for n in names) + "}"


# What ``loop.*`` is to a Lambda evaluating a body node's parameters: the iteration's input
# (a Map's ItemSelector, an until loop's Parallel Arguments: {item, index, previous, …}).
THIS_ITERATION = "{% $states.input %}"


def native(text: str, root_text: RootText) -> Any:
    """A string parameter as a state machine field: ``{% … %}`` for a template; a literal
    that happens to look like JSONata is quoted, so Step Functions reads it as text."""
    if "{{" in text:
        return "{% " + parse_template(text).native(root_text) + " %}"
    if text.startswith("{%") and text.endswith("%}"):
        return "{% " + literal(text) + " %}"
    return text


def arguments(
    info: NodeInfo, plan: Plan, root_text: RootText, in_loop: bool = False, loop: str = THIS_ITERATION
) -> dict[str, Any]:
    """The Task's ``Arguments``: the plugin's event (plugins.runtime.event.Invocation).

    A parameter is evaluated here, in the machine, unless it reads secrets or a root only
    the plugin has (``deferred``: the Lambda evaluates the same JSONata text). One that
    reads an output offloaded to S3 without the paths it needs kept inline (the
    reference says ``__partial``) is deferred too, decided at run time: the machine
    could only read the reference, the Lambda loads the value. ``loop``: what ``loop.*``
    is for the Lambda (the iteration's input, unless an until loop's check says otherwise)."""
    parameters: dict[str, Any] = {}
    deferred: list[str] = []
    lambda_reads: set[str] = set()
    native_values: dict[str, Any] = {}
    for name, value in info.parameters.items():
        roots = expression_roots(value)
        if is_lambda_evaluated(info, name, roots):
            parameters[name] = as_written(value)
            deferred.append(name)
            lambda_reads |= roots
        else:
            parameters[name] = _evaluated(value, root_text)
            native_values[name] = value
    partial = root_text.partial(native_values)
    args: dict[str, Any] = {
        "node": info.id,
        "parameters": parameters,
        "execution": _execution(root_text, plan, info.plugin.reads_execution or "execution" in lambda_reads),
        "attempt": "{% $states.context.State.RetryCount %}",
        "deferred": deferred,
    }
    if plan.keep.get(info.id):  # kept inline, should the output go to S3
        args["keep"] = [list(path) for path in plan.keep[info.id]]
    args["inlineBytes"] = VARIABLE_ROOM  # the node's share, set once the machine is built
    if in_loop:  # node logs of different iterations differ by it ("2.0": nested loops)
        args["iteration"] = "{% $states.input.iteration %}"
    if partial:
        late = [n for n, v in native_values.items() if expression_roots(v)]
        for name in late:
            value = native_values[name]
            if has_unsafe_keys(value):
                whole = f"{partial} ? {literal(value)} : {_object_text(value, root_text)}"
                parameters[name] = "{% " + whole + " %}"
            else:
                parameters[name] = map_strings(value, lambda text: _either(text, partial, root_text))
        lambda_reads |= expression_roots({n: native_values[n] for n in late})
        if not deferred:
            # Nothing else for the Lambda to evaluate: what it needs travels only when an
            # offloaded value was read — the names and the values, in one field.
            context: dict[str, Any] = {"deferred": late}
            if "execution" in lambda_reads:
                context["execution"] = _execution(root_text, plan, True)
            _context_for_lambda(context, info, plan, root_text, lambda_reads, loop)
            entries = ", ".join(
                f"{literal(k)}: {_object_text(v, root_text, raw=True)}" for k, v in context.items()
            )
            args["late"] = "{% " + f"{partial} ? {{{entries}}} : null" + " %}"
            return args
        args["deferred"] = "{% " + f"{partial} ? {literal(deferred + late)} : {literal(deferred)}" + " %}"
    if deferred:
        _context_for_lambda(args, info, plan, root_text, lambda_reads, loop)
    return args


def _execution(root_text: RootText, plan: Plan, whole: bool) -> dict[str, Any]:
    """The execution's id (node logs are keyed by it); its routine id and start time only
    for a plugin that reads them or a Lambda-evaluated expression over ``execution``."""
    execution: dict[str, Any] = {"id": "{% " + root_text.execution("id") + " %}"}
    if whole:
        execution["routineId"] = plan.options.routine_id
        execution["startedAt"] = "{% " + root_text.execution("startedAt") + " %}"
    return execution


def as_written(value: Any) -> Any:
    """A parameter left for the Lambda, as the routine wrote it."""
    if has_unsafe_keys(value):  # keys ending in '.$' are JSONPath syntax to ASL: one literal
        return "{% " + literal(value) + " %}"
    return map_strings(value, native_literal)


def _evaluated(value: Any, root_text: RootText) -> Any:
    """A parameter evaluated by the machine: its templates as ``{% %}`` fields — or, when
    a key ends in '.$' (JSONPath syntax to ASL, refused in a JSONata machine), the whole
    value as one JSONata expression."""
    if has_unsafe_keys(value):
        return "{% " + _object_text(value, root_text) + " %}"
    return map_strings(value, lambda text: native(text, root_text))


def _object_text(value: Any, root_text: RootText, raw: bool = False) -> str:
    """``value`` written as a JSONata expression, its templates evaluated in place (raw:
    fields already of the form ``{% … %}``, as _context_for_lambda builds them)."""

    def text(string: str) -> str | None:
        if raw and string.startswith("{% ") and string.endswith(" %}"):
            return "(" + string[3:-3] + ")"
        if not raw and "{{" in string:
            return "(" + parse_template(string).native(root_text) + ")"
        return None

    return value_text(value, text)


def _either(text: str, partial: str, root_text: RootText) -> Any:
    """A template evaluated by the machine, or kept as written for the Lambda when a value
    it reads is an S3 reference missing what it needs."""
    if "{{" not in text:
        return native(text, root_text)
    return "{% " + f"{partial} ? {literal(text)} : ({parse_template(text).native(root_text)})" + " %}"


def native_literal(text: str) -> str:
    """A literal string kept as written for the Lambda (never read as JSONata)."""
    if text.startswith("{%") and text.endswith("%}"):
        return "{% " + literal(text) + " %}"
    return text


def _context_for_lambda(
    args: dict[str, Any], info: NodeInfo, plan: Plan, root_text: RootText, roots: set[str], loop: str
) -> None:
    """What the Lambda's own evaluation of deferred parameters reads: the node outputs,
    the trigger and the variables (plugins.runtime.context.build_context)."""
    read = sorted(plan.reads[info.id])
    merges = [n for n in read if n in plan.sources]
    if merges:  # their entries may be S3 references to load (plugins.runtime.context)
        args["merged"] = merges
    if read:
        # One object: a node that did not run may have no variable on this path (one only a
        # skipped Parallel assigns); its entry is left out, and reads as null in the Lambda.
        entries = ", ".join(f"{literal(n)}: ({root_text.node(n)})" for n in read)
        args["nodes"] = "{% {" + entries + "} %}"
    if "trigger" in roots:
        args["trigger"] = "{% " + root_text.trigger() + " %}"
    if "vars" in roots:
        args["vars"] = map_strings(plan.routine_variables, native_literal)
    if "loop" in roots:
        args["loop"] = loop


def error_record() -> str:
    """``{"error": {"type", "message"}}`` from a Catch's ``$states.errorOutput``: a Lambda
    error's Cause is its JSON report, whose ``errorMessage`` is the message. An expression
    that failed in the machine has a Cause quoting the machine's text of it (the compiler's
    translation): the message names the user's template where that text quotes it (the
    guard of a read that may be offloaded does), else "an expression", and says why it
    failed (functions.trace.clean_message tells it alike)."""
    failed = json.dumps(EXPRESSION_FAILED)  # a JSON string is a JSONata string literal
    return (
        "{% ($c := $states.errorOutput.Cause; "
        "{'error': {'type': $states.errorOutput.Error, 'message': $exists($c) ? "
        "($contains($c, '\"errorMessage\"') ? $parse($c).errorMessage"
        f' : $contains($c, "The JSONata expression \'") and $contains($c, {failed})'
        f" ? ($t := $match($c, /{QUOTED_TEMPLATE}/)[0].groups[0];"
        f" ($exists($t) ? $t : 'an expression') & ' failed: ' & $substringAfter($c, {failed}))"
        " : $c) : ''}}) %}"
    )


def object_text(value: Any, root_text: RootText) -> str:
    """A parameter that is not a string (a literal list, an object) as one JSONata
    expression, its templates evaluated in place: what it means in every other parameter."""
    return _object_text(value, root_text)


__all__ = ["RootText", "arguments", "error_record", "native", "object_text"]
