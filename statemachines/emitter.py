"""ASL emission: a validated routine → a state machine of typed states.

The emitter walks the static simulation of :mod:`statemachines.walk` and emits, per node:

- plugin → ``Task`` on the plugin's Lambda (``Retry``/``Catch``/``TimeoutSeconds``);
- ``if``/``switch`` → ``Choice`` with native rules, or the evaluator Lambda and a ``Choice``;
- ``loop`` → ``Map``; ``wait`` → ``Wait``; ``approval`` → ``.waitForTaskToken`` Task and a
  ``Choice`` on the decision; ``stop`` → ``Succeed``/``Fail``;
- ``merge`` and disabled nodes → nothing (they only pass activation on).

Several activated nodes at once become a ``Parallel`` when their downstream regions are
disjoint up to where they meet, and when whether each meeting node runs is known without
looking inside the branches; otherwise they run one after another (correct, less
parallel, with a warning). Branch documents are joined with ``States.JsonMerge``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.names import APPROVAL_NOTIFIER, EVALUATOR
from plugins.sdk import PortType
from plugins.sdk.errors import LAMBDA_TRANSIENT, NOT_RETRYABLE
from statemachines.asl import State, StateMachine
from statemachines.choices import Const, DocPath, Operand, Rule, choice_rule, string_equals
from statemachines.errors import CompileError
from statemachines.expressions import first_or_none, has_expression, parse_template
from statemachines.graph import iter_bits
from statemachines.layout import (
    EXECUTION_PATH,
    LOOP_PATH,
    TRIGGER_PATH,
    Status,
    has_unsafe_keys,
    node_doc_path,
    node_key,
    steps_path,
)
from statemachines.liveness import Reads, reads
from statemachines.model import Node
from statemachines.naming import Namer
from statemachines.options import CompileOptions
from statemachines.problems import Problem, Warn, node_path
from statemachines.topology import NodeInfo, Topology
from statemachines.walk import Sim, complete, start

EXIT = "\x00exit"  # end of the scope: End: true, or a shared terminal state
EXIT_NULL = "\x00exit:null"  # end of a loop iteration whose result node did not run
SENTINELS = (EXIT, EXIT_NULL)
MAX_MERGED_BRANCHES = 10  # States.JsonMerge calls nest one level per branch
MAX_STATES = 20_000  # a guard against pathological duplication of shared joins
WAIT_FOR_TOKEN = "arn:aws:states:::lambda:invoke.waitForTaskToken"

Link = Callable[[str], None]


@dataclass(slots=True)
class Outcome:
    sim: Sim
    link: Link | None  # sets the Next of whatever leads on; None: the node emitted nothing


@dataclass(slots=True)
class Step:
    entry: str | None  # the node's first state (None when it compiles to no state)
    outcomes: list[Outcome]


@dataclass(slots=True)
class Scope:
    """One state graph under construction: the top level, a Parallel branch, a Map body."""

    kind: str  # "top" | "branch" | "map"
    owner: str = ""  # the loop node of a map scope
    result: str | None = None  # the node whose output is a loop iteration's result
    distributed: bool = False  # inside child executions of a distributed Map
    states: dict[str, State] = field(default_factory=dict)
    memo: dict[Any, str] = field(default_factory=dict)
    terminals: dict[str, str] = field(default_factory=dict)


def _set(fields: dict[str, Any], key: str) -> Link:
    def link(target: str) -> None:
        fields[key] = target

    return link


def _both(*links: Link) -> Link:
    def link(target: str) -> None:
        for each in links:
            each(target)

    return link


class Emitter:
    def __init__(self, topology: Topology, variables: dict[str, Any], options: CompileOptions) -> None:
        self.topology = topology
        self.graph = topology.graph
        self.infos = topology.infos
        self.variables = variables
        self.options = options
        self.namer = Namer(self.graph.nodes)
        self.position = {n: i for i, n in enumerate(topology.order)}
        self.state_nodes: dict[str, str] = {}
        self.warnings: dict[str, Problem] = {}
        self.state_count = 0
        self.reads: dict[str, Reads] = {n: reads(info) for n, info in self.infos.items()}
        self.kind = {n: self._output_kind(info) for n, info in self.infos.items()}
        self.alias_of = {n: self._sources(n) for n in self.infos if self.kind[n] == "alias"}
        self.results = {loop: self._result_node(body) for loop, body in topology.loop_bodies.items()}
        self.touch = {n: self._touched(n) for n in self.infos}
        self.needed = self._needed()
        self.decided: dict[str, str] = {}  # if/switch nodes whose port is known at compile time
        self.routes: dict[str, dict[str, list[str]]] = {}  # Choice state → {next state: ports}
        self._choices: list[tuple[str, dict[str, Any], list[tuple[dict[str, Any], str]], str]] = []
        self.below, self.future = self._closures()

    # --- analysis -------------------------------------------------------------------

    def _output_kind(self, info: NodeInfo) -> str:
        """stored: an output kept at node_<id>; alias: the outputs it passes on; none: null."""
        if info.node.disabled or info.plugin.name == "merge":
            return "alias"
        if info.is_task or info.plugin.name in ("loop", "approval"):
            return "stored"
        return "none"

    def _sources(self, node_id: str) -> list[str]:
        seen: list[str] = []
        for edge in self.graph.incoming[node_id]:
            if edge.source not in seen:
                seen.append(edge.source)
        return seen

    def _result_node(self, body: set[str]) -> str | None:
        sinks = [n for n in body if not self.graph.outgoing[n]]
        return max(sinks, key=self.position.__getitem__) if sinks else None

    def _expand(self, node_id: str, into: set[str]) -> None:
        stack = [node_id]
        while stack:
            current = stack.pop()
            if current in into:
                continue
            into.add(current)
            stack.extend(self.alias_of.get(current, ()))

    def _touched(self, node_id: str) -> int:
        """Bitset of the nodes whose status shapes this node's states."""
        found: set[str] = set()
        for read in self.reads[node_id].nodes:
            self._expand(read, found)
        result = self.results.get(node_id)
        if result is not None:
            self._expand(result, found)
        bits = 0
        for n in found:
            bits |= self.graph.bit(n)
        return bits

    def _needed(self) -> set[str]:
        """Nodes whose output must be kept in the document."""
        touched = 0
        for bits in self.touch.values():
            touched |= bits
        needed = {n for n in self.graph.members(touched) if self.kind[n] == "stored"}
        needed.update(n for n, info in self.infos.items() if info.plugin.name == "approval")
        return needed

    def _closures(self) -> tuple[dict[str, int], dict[str, int]]:
        below: dict[str, int] = {}
        future: dict[str, int] = {}
        for node in reversed(self.topology.order):
            b, f = self.graph.bit(node), self.touch[node]
            for edge in self.graph.outgoing[node]:
                b |= below[edge.target]
                f |= future[edge.target]
            below[node], future[node] = b, f
        return below, future

    # --- the walk ---------------------------------------------------------------------

    def run(self) -> StateMachine:
        body_nodes = set().union(*self.topology.loop_bodies.values()) if self.topology.loop_bodies else set()
        members = activated = 0
        for node in self.graph.nodes:
            if node in body_nodes:
                continue
            members |= self.graph.bit(node)
            if not self.graph.incoming[node]:
                activated |= self.graph.bit(node)
        scope = Scope("top")
        begin = self.go(scope, start(self.graph, members, activated, {}))
        machine = self.finish(scope, begin)
        for name, fields, rules, default in self._choices:  # targets are final only now
            routes = self.routes.setdefault(name, {})
            for target, port in [(rule["Next"], port) for rule, port in rules] + [
                (fields["Default"], default)
            ]:
                if port not in routes.setdefault(target, []):
                    routes[target].append(port)
        return machine

    def go(self, scope: Scope, sim: Sim) -> str:
        """Emit the states that run from this point of the simulation; return the first.

        Branch outcomes are walked from a work list, not by recursion, so a routine of a
        thousand conditions in a row compiles within Python's recursion limit."""
        first: list[str] = []
        work: list[tuple[Sim, Link]] = [(sim, first.append)]
        while work:
            sim, link = work.pop()
            for outcome in reversed(self._walk(scope, sim, link)):
                assert outcome.link is not None
                work.append((outcome.sim, outcome.link))
        return first[0]

    def _walk(self, scope: Scope, sim: Sim, link: Link) -> list[Outcome]:
        """Emit states along one path until it ends, meets known states, or forks; link
        the first of them with ``link``; return the outcomes of a fork."""
        while True:
            self._skip_inactive(sim)
            key = self._key(scope, sim)
            target = scope.memo.get(key)
            if target is None and not sim.ready:
                target = self._exit(scope, sim)
            if target is not None:
                link(target)
                return []
            ready = sorted(sim.ready, key=self.position.__getitem__)
            step = self._parallel(scope, sim, ready) if len(ready) > 1 else None
            if step is None:
                if len(ready) > 1:
                    self._warn_sequential(ready)
                step = self._node(scope, sim, ready[0])
            if step.entry is not None:
                scope.memo[key] = step.entry
                link(step.entry)
            if len(step.outcomes) != 1:
                return step.outcomes  # a fork, or the end of the path (Fail, Succeed)
            sim = step.outcomes[0].sim
            link = step.outcomes[0].link or link

    def _skip_inactive(self, sim: Sim) -> None:
        while True:
            dead = [n for n in sim.ready if not sim.activated & self.graph.bit(n)]
            if not dead:
                return
            for node in dead:
                complete(self.graph, sim, node, Status.DEAD, frozenset())

    def _key(self, scope: Scope, sim: Sim) -> tuple[Any, ...]:
        relevant = 0
        for node in sim.ready:
            relevant |= self.future[node]
        if scope.result is not None:
            relevant |= self.touch[scope.owner]
        facts = tuple(
            (self.graph.nodes[i], sim.status.get(self.graph.nodes[i]))
            for i in iter_bits(relevant & sim.known)
        )
        return sim.pending, sim.activated & sim.pending, facts

    def _exit(self, scope: Scope, sim: Sim) -> str:
        if scope.kind == "map" and sim.status.get(scope.result or "") is Status.DEAD:
            return EXIT_NULL
        return EXIT

    def _warn_sequential(self, ready: list[str]) -> None:
        self._warn(
            ready[0],
            f"'{', '.join(ready)}' run one after another, not in parallel: their branches "
            "cross before they meet again, so no single Parallel state can hold them",
        )

    def _warn_join(self, node: str, needless: list[str]) -> None:
        self._warn(
            node,
            f"'{node}' also waits for '{', '.join(needless)}', which it does not depend on: "
            "the branches cross, so they are joined before it",
        )

    def _warn(self, node: str, message: str) -> None:
        """One not_series_parallel warning per node, however many paths reach it."""
        path = node_path(node)
        self.warnings.setdefault(path, Problem(Warn.NOT_SERIES_PARALLEL.value, path, message))

    # --- states -------------------------------------------------------------------------

    def _add(self, scope: Scope, name: str, state: State, node_id: str | None) -> str:
        self.state_count += 1
        if self.state_count > MAX_STATES:
            raise CompileError(
                f"the routine needs more than {MAX_STATES} states: too many conditional paths "
                "meet again with different data; use a merge node before reading their outputs"
            )
        scope.states[name] = state
        if node_id is not None:
            self.state_nodes[name] = node_id
        return name

    def _name(self, base: str, owner: str | None = None) -> str:
        return self.namer.take(base, owner)

    def _node(self, scope: Scope, sim: Sim, node_id: str) -> Step:
        info = self.infos[node_id]
        if info.node.disabled:
            return self._pass(sim, node_id, frozenset({info.pass_through_port}))
        if info.is_task:
            return self._task(scope, sim, info)
        handler = {
            "if": self._if,
            "switch": self._switch,
            "merge": lambda s, m, i: self._pass(m, i.id, frozenset({"out"})),
            "loop": self._loop,
            "wait": self._wait,
            "approval": self._approval,
            "stop": self._stop,
        }.get(info.plugin.name)
        if handler is None:
            raise CompileError(
                f"no compile rule for control node '{info.plugin.name}'", path=node_path(node_id)
            )
        return handler(scope, sim, info)

    def _pass(self, sim: Sim, node_id: str, ports: frozenset[str]) -> Step:
        complete(self.graph, sim, node_id, Status.OK, ports)
        return Step(None, [Outcome(sim, None)])

    def _task(self, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
        fields: dict[str, Any] = {
            "Resource": self.options.function_arn(info.plugin.name),
            "Parameters": self._payload(scope, sim, info),
            "ResultPath": self._result_path(info.id),
        }
        if info.node.timeout_seconds:
            fields["TimeoutSeconds"] = info.node.timeout_seconds
        fields["Retry"] = _retriers(info.node, lambda_task=True)
        name = self._add(scope, self._name(info.id, info.id), State("Task", fields), info.id)
        ok_ports = frozenset(
            p.name for p in info.plugin.output_ports(info.parameters) if p.type is not PortType.ERROR
        )
        return Step(name, self._error_outcomes(sim, info, fields, ok_ports))

    def _error_outcomes(
        self, sim: Sim, info: NodeInfo, fields: dict[str, Any], ok_ports: frozenset[str]
    ) -> list[Outcome]:
        """Outcomes of a node that may fail, by its onError: fail / continue / route."""
        mode = info.node.on_error
        if mode == "fail":
            complete(self.graph, sim, info.id, Status.OK, ok_ports)
            return [Outcome(sim, _set(fields, "Next"))]
        catch: dict[str, Any] = {"ErrorEquals": ["States.ALL"], "ResultPath": fields.get("ResultPath")}
        fields.setdefault("Catch", []).append(catch)
        if mode == "continue":
            complete(self.graph, sim, info.id, Status.ANY, ok_ports)
            return [Outcome(sim, _both(_set(fields, "Next"), _set(catch, "Next")))]
        failed = sim.copy()
        complete(self.graph, sim, info.id, Status.OK, ok_ports)
        complete(self.graph, failed, info.id, Status.ERROR, frozenset({"error"}))
        return [Outcome(sim, _set(fields, "Next")), Outcome(failed, _set(catch, "Next"))]

    def _result_path(self, node_id: str) -> str | None:
        return node_doc_path(node_id) if node_id in self.needed else None

    # --- payloads and operands ----------------------------------------------------------

    def _payload(self, scope: Scope, sim: Sim, info: NodeInfo) -> dict[str, Any]:
        """What a Lambda receives: the node, its static parameters and only the document
        slices its expressions read, in the public shape {trigger, execution, loop, nodes}."""
        read = self.reads[info.id]
        out: dict[str, Any] = {"node": info.id}
        if not info.is_task:  # the evaluator serves several kinds of control node
            out["plugin"] = info.plugin.name
        static: dict[str, Any] = {"parameters": info.parameters}
        if "vars" in read.roots:
            static["vars"] = self.variables
        if info.node.on_error != "fail":
            static["onError"] = info.node.on_error
        if has_unsafe_keys(static):
            out["staticJson"] = json.dumps(static, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        else:
            out.update(static)
        if scope.distributed:
            out["execution.$"] = EXECUTION_PATH
        else:
            out["execution"] = self._execution()
        out["attempt.$"] = "$$.State.RetryCount"
        if "trigger" in read.roots:
            out["trigger.$"] = TRIGGER_PATH
        if "loop" in read.roots:
            out["loop.$"] = LOOP_PATH
        if self.topology.enclosing.get(info.id):
            out["iteration.$"] = f"{LOOP_PATH}.iteration"  # so node logs tell iterations apart
        nodes: dict[str, Any] = {}
        merged = []
        for node_id in sorted(read.nodes):
            key, value = self._entry(sim, node_id, node_id)
            nodes[key] = value
            if isinstance(value, dict):
                merged.append(node_id)  # an object of outputs: the runtime normalizes each
        if nodes:
            out["nodes"] = nodes
        if merged:
            out["merged"] = merged
        return out

    def _execution(self) -> dict[str, Any]:
        return {
            "id.$": "$$.Execution.Id",
            "routineId": self.options.routine_id,
            "startedAt.$": "$$.Execution.StartTime",
        }

    def _entry(self, sim: Sim, key: str, node_id: str) -> tuple[str, Any]:
        """A Parameters entry giving ``node_id``'s output (a path, or a constant)."""
        status = sim.status.get(node_id)
        kind = self.kind[node_id]
        if status is None or status is Status.DEAD or kind == "none":
            return key, None
        if kind == "stored":
            return f"{key}.$", node_doc_path(node_id)
        sources = self.alias_of[node_id]
        if len(sources) == 1:
            return self._entry(sim, key, sources[0])
        return key, dict(self._entry(sim, source, source) for source in sources)

    def _operand(self, sim: Sim, value: Any) -> Operand:
        """A condition operand or parameter as a constant, a document path, or None."""
        if not isinstance(value, str) or not has_expression(value):
            return Const(value)
        whole = parse_template(value).whole
        if whole is None or not whole.reference.plain:
            return None
        ref = whole.reference
        if ref.root == "vars":
            return Const(first_or_none(whole.find({"vars": self.variables})))
        if ref.root in ("trigger", "loop"):
            path = steps_path(TRIGGER_PATH if ref.root == "trigger" else LOOP_PATH, ref.steps)
            return DocPath(path) if path else None
        if ref.root == "nodes" and ref.name is not None:
            return self._node_operand(sim, ref.name, ref.steps[1:])
        return None  # execution, secrets: only Lambdas see them

    def _node_operand(self, sim: Sim, node_id: str, steps: tuple[str | int, ...]) -> Operand:
        status = sim.status.get(node_id)
        kind = self.kind.get(node_id, "none")
        if status is None or status is Status.DEAD or kind == "none":
            return Const(None)
        if kind == "alias":
            sources = self.alias_of[node_id]
            if len(sources) == 1:
                return self._node_operand(sim, sources[0], steps)
            if not steps:
                return None  # a whole merged object: the evaluator builds it
            if steps[0] not in sources:
                return Const(None)
            return self._node_operand(sim, str(steps[0]), steps[1:])
        if status in (Status.ERROR, Status.ANY) or self.infos[node_id].node.on_error != "fail":
            return None  # may hold an error record, whose shape only the runtime normalizes
        path = steps_path(node_doc_path(node_id), steps)
        return DocPath(path) if path else None

    # --- control nodes --------------------------------------------------------------------

    def _if(self, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
        return self._branch(scope, sim, info, [("true", info.parameters["condition"])], "false")

    def _switch(self, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
        rules = [(r["port"], r["condition"]) for r in info.parameters.get("rules", [])]
        return self._branch(scope, sim, info, rules, "default")

    def _branch(
        self, scope: Scope, sim: Sim, info: NodeInfo, rules: list[tuple[str, Any]], default: str
    ) -> Step:
        """if/switch: native Choice rules when every condition has them, else the evaluator."""
        compiled: list[tuple[str, dict[str, Any]]] = []
        native = True
        for port, condition in rules:
            rule: Rule = choice_rule(condition, lambda v: self._operand(sim, v))
            if rule is None:
                native = False
                break
            if rule is True:
                default = port
                break
            if isinstance(rule, dict):
                compiled.append((port, rule))
        if native and not compiled:
            self.decided[info.id] = default
            return self._pass(sim, info.id, frozenset({default}))  # decided at compile time
        entry = None
        if not native:
            entry = self._evaluated(scope, sim, info, self._name(info.id, info.id))
            compiled = [(port, string_equals(f"{node_doc_path(info.id)}.port", port)) for port, _ in rules]
            choice_name = self._name(f"{info.id} (route)")
            scope.states[entry].fields["Next"] = choice_name
        else:
            choice_name = self._name(info.id, info.id)
        choices = [{**rule, "Next": ""} for _, rule in compiled]
        fields: dict[str, Any] = {"Choices": choices, "Default": ""}
        self._add(scope, choice_name, State("Choice", fields), info.id)
        self._choices.append(
            (choice_name, fields, [(c, p) for (p, _), c in zip(compiled, choices, strict=True)], default)
        )
        outcomes = []
        ports = list(dict.fromkeys([port for port, _ in compiled] + [default]))
        for port in ports:
            links = [
                _set(choice, "Next") for (p, _), choice in zip(compiled, choices, strict=True) if p == port
            ]
            if port == default:
                links.append(_set(fields, "Default"))
            branch = sim.copy()
            complete(self.graph, branch, info.id, Status.OK, frozenset({port}))
            outcomes.append(Outcome(branch, _both(*links)))
        return Step(entry or choice_name, outcomes)

    def _wait(self, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
        seconds = info.parameters.get("seconds")
        field_name, value = (
            ("Seconds", seconds) if seconds is not None else ("Timestamp", info.parameters.get("until"))
        )
        operand = self._operand(sim, value)
        fields: dict[str, Any] = {}
        entry = None
        if isinstance(operand, DocPath):
            fields[f"{field_name}Path"] = operand.path
        elif isinstance(operand, Const) and operand.value is not None:
            fields[field_name] = operand.value
        elif isinstance(operand, Const):
            fields["Seconds"] = 0  # waits on a value that cannot exist: no wait
        else:
            entry = self._evaluated(scope, sim, info, self._name(f"{info.id} (value)"))
            fields[f"{field_name}Path"] = f"{node_doc_path(info.id)}.{field_name.lower()}"
        name = self._add(scope, self._name(info.id, info.id), State("Wait", fields), info.id)
        if entry is not None:
            scope.states[entry].fields["Next"] = name
        complete(self.graph, sim, info.id, Status.OK, frozenset({"out"}))
        return Step(entry or name, [Outcome(sim, _set(fields, "Next"))])

    def _evaluated(self, scope: Scope, sim: Sim, info: NodeInfo, name: str) -> str:
        """A Task asking the evaluator Lambda for a value ASL cannot compute (→ node_<id>)."""
        task = {
            "Resource": self.options.function_arn(EVALUATOR),
            "Parameters": self._payload(scope, sim, info),
            "ResultPath": node_doc_path(info.id),
            "Retry": _retriers(None, lambda_task=True),
        }
        return self._add(scope, name, State("Task", task), info.id)

    def _approval(self, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
        payload = self._payload(scope, sim, info)
        payload["taskToken.$"] = "$$.Task.Token"
        fields: dict[str, Any] = {
            "Resource": WAIT_FOR_TOKEN,
            "Parameters": {"FunctionName": self.options.function_arn(APPROVAL_NOTIFIER), "Payload": payload},
            "ResultPath": node_doc_path(info.id),
        }
        timeout = info.parameters.get("timeoutSeconds")
        if timeout:
            fields["TimeoutSeconds"] = timeout
        fields["Retry"] = _retriers(None, lambda_task=True)
        catches: list[tuple[str, dict[str, Any]]] = []
        if timeout:
            catches.append(
                ("timeout", {"ErrorEquals": ["States.Timeout"], "ResultPath": node_doc_path(info.id)})
            )
        if info.node.on_error == "route":
            catches.append(("error", {"ErrorEquals": ["States.ALL"], "ResultPath": node_doc_path(info.id)}))
        if catches:
            fields["Catch"] = [c for _, c in catches]
        name = self._add(scope, self._name(info.id, info.id), State("Task", fields), info.id)
        decision = self._name(f"{info.id} (decision)")
        approved = {**string_equals(f"{node_doc_path(info.id)}.decision", "approved"), "Next": ""}
        choice: dict[str, Any] = {"Choices": [approved], "Default": ""}
        self._add(scope, decision, State("Choice", choice), info.id)
        self._choices.append((decision, choice, [(approved, "approved")], "rejected"))
        fields["Next"] = decision
        outcomes = []
        for port, link, status in [
            ("approved", _set(approved, "Next"), Status.OK),
            ("rejected", _set(choice, "Default"), Status.OK),
            *[(port, _set(catch, "Next"), Status.ERROR) for port, catch in catches],
        ]:
            branch = sim.copy()
            complete(self.graph, branch, info.id, status, frozenset({port}))
            outcomes.append(Outcome(branch, link))
        return Step(name, outcomes)

    def _stop(self, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
        if info.parameters.get("status") == "fail":
            fields = {"Error": info.parameters.get("error") or "RoutineStopped"}
            if info.parameters.get("cause"):
                fields["Cause"] = info.parameters["cause"]
            return Step(self._add(scope, self._name(info.id, info.id), State("Fail", fields), info.id), [])
        complete(self.graph, sim, info.id, Status.OK, frozenset())
        if scope.kind == "map" or sim.activated & sim.pending:
            return Step(None, [Outcome(sim, None)])  # other work goes on: the path just ends
        return Step(self._add(scope, self._name(info.id, info.id), State("Succeed"), info.id), [])

    # --- loops ------------------------------------------------------------------------------

    def _loop(self, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
        body = self.topology.loop_bodies[info.id]
        distributed = scope.distributed or info.parameters.get("mode") == "distributed"
        fields: dict[str, Any] = {}
        entry = None
        items = self._operand(sim, info.parameters.get("items"))
        if isinstance(items, DocPath):
            fields["ItemsPath"] = items.path
        elif isinstance(items, Const):
            value = items.value if isinstance(items.value, list) else []
            pass_fields = {"Result": value, "ResultPath": node_doc_path(info.id)}
            entry = self._add(scope, self._name(f"{info.id} (items)"), State("Pass", pass_fields), info.id)
            fields["ItemsPath"] = node_doc_path(info.id)
        else:
            entry = self._evaluated(scope, sim, info, self._name(f"{info.id} (items)"))
            fields["ItemsPath"] = f"{node_doc_path(info.id)}.items"
        fields["ItemSelector"] = self._item_selector(scope, sim, info.id, body, distributed)
        fields["ItemProcessor"] = self._body(sim, info.id, body, distributed)
        concurrency = info.parameters.get("maxConcurrency", 10)
        if concurrency:
            fields["MaxConcurrency"] = concurrency
        fields["ResultPath"] = self._result_path(info.id)
        if info.node.retry is not None:
            fields["Retry"] = _retriers(info.node, lambda_task=False)
        name = self._add(scope, self._name(info.id, info.id), State("Map", fields), info.id)
        if entry is not None:
            scope.states[entry].fields["Next"] = name
        return Step(entry or name, self._error_outcomes(sim, info, fields, frozenset({"done"})))

    def _item_selector(
        self, scope: Scope, sim: Sim, loop_id: str, body: set[str], distributed: bool
    ) -> dict[str, Any]:
        # 'iteration' numbers the iteration across nested loops ("2.0": the first inner
        # iteration of the third outer one), so node logs of different iterations differ.
        nested = bool(self.topology.enclosing.get(loop_id))
        iteration = (
            "States.Format('{}.{}', $.loop.iteration, $$.Map.Item.Index)"
            if nested
            else "States.Format('{}', $$.Map.Item.Index)"
        )
        selector: dict[str, Any] = {
            "loop": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index", "iteration.$": iteration}
        }
        if any("trigger" in self.reads[n].roots for n in body):
            selector["trigger.$"] = TRIGGER_PATH
        if scope.distributed:
            selector["execution.$"] = EXECUTION_PATH
        elif distributed:
            selector["execution"] = self._execution()
        outer = 0
        for node in body:
            outer |= self.touch[node]
        for index in iter_bits(outer):
            node = self.graph.nodes[index]
            if (
                node not in body
                and self.kind[node] == "stored"
                and sim.status.get(node) not in (None, Status.DEAD)
            ):
                selector[f"{node_key(node)}.$"] = node_doc_path(node)
        return selector

    def _body(self, sim: Sim, loop_id: str, body: set[str], distributed: bool) -> dict[str, Any]:
        config = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"} if distributed else {"Mode": "INLINE"}
        result = self.results[loop_id]
        if result is None:  # an empty body returns each item unchanged
            name = self._name(f"{loop_id} (item)")
            machine = StateMachine(name, {name: State("Pass", {"InputPath": "$.loop.item", "End": True})})
            self.state_count += 1
            return {"ProcessorConfig": config, **machine.to_json()}
        scope = Scope("map", owner=loop_id, result=result, distributed=distributed)
        members = activated = 0
        for node in body:
            members |= self.graph.bit(node)
        for edge in self.topology.body_edges(loop_id):
            activated |= self.graph.bit(edge.target)
        begin = self.go(scope, start(self.graph, members, activated, sim.status))
        return {"ProcessorConfig": config, **self.finish(scope, begin).to_json()}

    # --- parallel ---------------------------------------------------------------------------

    def _parallel(self, scope: Scope, sim: Sim, ready: list[str]) -> Step | None:
        reach = [self.below[r] & sim.pending for r in ready]
        own: list[int] = []
        for i, bits in enumerate(reach):
            others = 0
            for j, other in enumerate(reach):
                if j != i:
                    others |= other
            own.append(bits & ~others)
        every_own = 0
        for bits in own:
            every_own |= bits
        certain = [self._certain(sim, r, bits) for r, bits in zip(ready, own, strict=True)]
        all_certain = 0
        for bits in certain:
            all_certain |= bits
        definite = self._joins_activated(sim, every_own, all_certain)
        if definite is None:
            return None
        branches = []
        for root, bits in zip(ready, own, strict=True):
            branch_scope = Scope("branch", distributed=scope.distributed)
            waiting = {n: sim.waiting[n] for n in self.graph.members(bits)}
            activated = (sim.activated & bits) | self.graph.bit(root)
            branch_sim = Sim(bits, activated, waiting, {root}, dict(sim.status))
            begin = self.go(branch_scope, branch_sim)
            branches.append(self.finish(branch_scope, begin))
        defaults: dict[str, None] = {}
        for index in iter_bits(every_own):
            node = self.graph.nodes[index]
            mode = self.infos[node].node.on_error
            if all_certain & (1 << index):
                sim.record(self.graph, node, Status.OK if mode == "fail" else Status.ANY)
            else:
                sim.record(self.graph, node, Status.UNSURE)
                if node in self.needed:
                    defaults[node_key(node)] = None
        for index in iter_bits(every_own):
            for edge in self.graph.outgoing[self.graph.nodes[index]]:
                target = edge.target
                if sim.pending & self.graph.bit(target) and not every_own & self.graph.bit(target):
                    sim.waiting[target] -= 1
                    if sim.waiting[target] == 0:
                        sim.ready.add(target)
        sim.pending &= ~every_own
        sim.activated = (sim.activated | definite) & sim.pending
        sim.ready -= set(ready)
        for node in sorted(sim.ready, key=self.position.__getitem__):
            waits_for = every_own & ~self.topology.upstream.get(node, 0)
            if waits_for:
                self._warn_join(node, self.graph.members(waits_for))
        name = self._name("parallel: " + ", ".join(ready))
        fields = self._merge_fields(name, branches, defaults)
        self._add(scope, name, State("Parallel", fields), None)
        return Step(name, [Outcome(sim, _set(fields, "Next"))])

    def _certain(self, sim: Sim, root: str, members: int) -> int:
        """Nodes of a branch that surely run once its first node runs."""
        certain = self.graph.bit(root)
        for node in sorted(self.graph.members(members), key=self.position.__getitem__):
            bit = self.graph.bit(node)
            if sim.activated & bit or any(
                certain & self.graph.bit(e.source) and e.fires_always and e.can_fire
                for e in self.graph.incoming[node]
            ):
                certain |= bit
        return certain

    def _joins_activated(self, sim: Sim, every_own: int, certain: int) -> int | None:
        """Which nodes after the branches surely run; None if that depends on the branches."""
        definite = maybe = 0
        for source in self.graph.members(every_own):  # only connections out of the branches
            for edge in self.graph.outgoing[source]:
                bit = self.graph.bit(edge.target)
                if not sim.pending & bit or every_own & bit:
                    continue
                if certain & self.graph.bit(source) and edge.fires_always and edge.can_fire:
                    definite |= bit
                elif edge.can_fire:
                    maybe |= bit
        if maybe & ~(definite | sim.activated):
            return None
        return definite

    def _merge_fields(
        self, name: str, branches: list[StateMachine], defaults: dict[str, None]
    ) -> dict[str, Any]:
        machines = [b.to_json() for b in branches]
        if defaults:
            # First in the merge, so every branch's real output wins over the null default.
            pass_name = self._name(f"{name} (defaults)")
            self.state_count += 1
            machines.insert(
                0,
                {
                    "StartAt": pass_name,
                    "States": {pass_name: {"Type": "Pass", "Result": defaults, "End": True}},
                },
            )
        while len(machines) > MAX_MERGED_BRANCHES:
            # Fold the tail into a nested Parallel: JsonMerge calls nest one level per branch.
            tail = machines[MAX_MERGED_BRANCHES - 1 :]
            nested = self._name(f"{name} (more)")
            self.state_count += 1
            nested_state = {"Type": "Parallel", **self._join(tail), "End": True}
            machines = [
                *machines[: MAX_MERGED_BRANCHES - 1],
                {"StartAt": nested, "States": {nested: nested_state}},
            ]
        return self._join(machines)

    @staticmethod
    def _join(machines: list[dict[str, Any]]) -> dict[str, Any]:
        merged = "$[0]"
        for index in range(1, len(machines)):
            merged = f"States.JsonMerge({merged}, $[{index}], false)"
        return {
            "Branches": machines,
            "ResultSelector": {"document.$": merged},
            "ResultPath": "$",
            "OutputPath": "$.document",
        }

    # --- scope ends ----------------------------------------------------------------------

    def finish(self, scope: Scope, begin: str) -> StateMachine:
        """Resolve the scope's exits: End: true where a state can end, else a shared
        terminal state (a Succeed, or a loop iteration's result)."""
        for state in list(scope.states.values()):
            fields = state.fields
            if fields.get("Next") in SENTINELS:
                if self._can_end(scope, state, fields["Next"]):
                    sentinel = fields.pop("Next")
                    fields["End"] = True
                    if scope.kind == "map" and sentinel == EXIT:
                        fields["OutputPath"] = node_doc_path(scope.result or "")
                else:
                    fields["Next"] = self._terminal(scope, fields["Next"])
            for choice in fields.get("Choices", []):
                if choice["Next"] in SENTINELS:
                    choice["Next"] = self._terminal(scope, choice["Next"])
            if fields.get("Default") in SENTINELS:
                fields["Default"] = self._terminal(scope, fields["Default"])
            for catch in fields.get("Catch", []):
                if catch["Next"] in SENTINELS:
                    catch["Next"] = self._terminal(scope, catch["Next"])
        if begin in SENTINELS:
            begin = self._terminal(scope, begin)
        machine = StateMachine(begin, scope.states)
        return machine

    @staticmethod
    def _can_end(scope: Scope, state: State, sentinel: str) -> bool:
        if state.type not in ("Task", "Pass", "Map", "Parallel", "Wait"):
            return False
        if scope.kind != "map":
            return True
        return sentinel == EXIT and "OutputPath" not in state.fields

    def _terminal(self, scope: Scope, sentinel: str) -> str:
        if sentinel in scope.terminals:
            return scope.terminals[sentinel]
        if scope.kind != "map":
            name, state = self._name("Done"), State("Succeed")
        elif sentinel == EXIT:
            name = self._name(f"{scope.owner} (result)")
            state = State("Pass", {"OutputPath": node_doc_path(scope.result or ""), "End": True})
        else:
            name, state = (
                self._name(f"{scope.owner} (no result)"),
                State("Pass", {"Result": None, "End": True}),
            )
        self._add(scope, name, state, None)
        scope.terminals[sentinel] = name
        return name


def _retriers(node: Node | None, *, lambda_task: bool) -> list[dict[str, Any]]:
    """AWS's transient-Lambda retry, then the node's own policy for errors worth retrying."""
    out: list[dict[str, Any]] = []
    if lambda_task:
        out.append(
            {
                "ErrorEquals": list(LAMBDA_TRANSIENT),
                "IntervalSeconds": 1,
                "MaxAttempts": 3,
                "BackoffRate": 2,
                "JitterStrategy": "FULL",
            }
        )
    policy = node.retry if node is not None else None
    if policy is not None and policy.max_attempts > 1:
        out.append({"ErrorEquals": list(NOT_RETRYABLE), "MaxAttempts": 0})
        retrier: dict[str, Any] = {
            "ErrorEquals": ["States.ALL"],
            "IntervalSeconds": policy.interval_seconds,
            "MaxAttempts": policy.max_attempts - 1,  # ours counts the first attempt; ASL's does not
            "BackoffRate": policy.backoff_rate,
        }
        if policy.max_delay_seconds is not None:
            retrier["MaxDelaySeconds"] = policy.max_delay_seconds
        if policy.jitter:
            retrier["JitterStrategy"] = "FULL"
        out.append(retrier)
    return out


__all__ = ["Emitter"]
