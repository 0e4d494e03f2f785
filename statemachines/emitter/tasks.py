"""Tasks and payloads: plugin Tasks, the evaluator Task, what each Lambda receives, error
outcomes by onError, and operands native states read from the document."""

from __future__ import annotations

import json
from typing import Any

from contract.errors import CompileError
from contract.expressions import has_expression, parse_template
from contract.names import EVALUATOR
from contract.problems import node_path
from plugins.sdk import PortType
from plugins.sdk.errors import LAMBDA_THROTTLED, LAMBDA_TRANSIENT, NOT_RETRYABLE
from statemachines.asl import State
from statemachines.budget import chunk_items, inline_bytes, loop_result_bytes
from statemachines.choices import Const, DocPath, Operand
from statemachines.emitter.base import EmitterBase
from statemachines.emitter.scope import Outcome, Scope, Step, both, set_link
from statemachines.layout import (
    EXECUTION_PATH,
    LOOP_PATH,
    TRIGGER_PATH,
    Status,
    has_unsafe_keys,
    steps_path,
)
from statemachines.model import Node
from statemachines.topology import NodeInfo
from statemachines.walk import Sim, complete


class Tasks(EmitterBase):
    def _pass(self, sim: Sim, node_id: str, ports: frozenset[str]) -> Step:
        complete(self.graph, sim, node_id, Status.OK, ports)
        return Step(None, [Outcome(sim, None)])

    def _task(self, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
        fields: dict[str, Any] = {
            "Resource": self.options.function_arn(info.plugin.name),
            "Parameters": self._budgeted(scope, sim, info),
            "ResultPath": self._result_path(info.id, scope, sim),
        }
        if info.node.timeout_seconds:
            fields["TimeoutSeconds"] = info.node.timeout_seconds
        fields["Retry"] = retriers(info.node, lambda_task=True)
        name = self._add(scope, self._name(info.id, info.id), State("Task", fields), info.id)
        ok_ports = frozenset(
            p.name for p in info.plugin.output_ports(info.parameters) if p.type is not PortType.ERROR
        )
        return Step(name, self._error_outcomes(scope, sim, info, fields, ok_ports))

    def _error_outcomes(
        self,
        scope: Scope,
        sim: Sim,
        info: NodeInfo,
        fields: dict[str, Any],
        ok_ports: frozenset[str],
        also: tuple[dict[str, Any], ...] = (),
    ) -> list[Outcome]:
        """Outcomes of a node that may fail, by its onError: fail / continue / route.
        ``also``: other states of the node that fail the same way (a loop's items check)."""
        mode = info.node.on_error
        if mode == "fail":
            complete(self.graph, sim, info.id, Status.OK, ok_ports)
            return [Outcome(sim, set_link(fields, "Next"))]
        path = fields.get("ResultPath")  # None: nobody reads the output, nor its error
        catches = [{"ErrorEquals": ["States.ALL"], "ResultPath": path} for _ in (fields, *also)]
        for holder, catch in zip((fields, *also), catches, strict=True):
            holder.setdefault("Catch", []).append(catch)
        if path is None:
            caught = both(*(set_link(catch, "Next") for catch in catches))
        else:
            record = self._error_record(scope, info, path)
            for catch in catches:
                catch["Next"] = record
            caught = set_link(scope.states[record].fields, "Next")
        if mode == "continue":
            complete(self.graph, sim, info.id, Status.ANY, ok_ports)
            return [Outcome(sim, both(set_link(fields, "Next"), caught))]
        failed = sim.copy()
        complete(self.graph, sim, info.id, Status.OK, ok_ports)
        complete(self.graph, failed, info.id, Status.ERROR, frozenset({"error"}))
        return [Outcome(sim, set_link(fields, "Next")), Outcome(failed, caught)]

    def _error_record(self, scope: Scope, info: NodeInfo, path: str) -> str:
        """A Task turning the caught ``{"Error", "Cause"}`` at ``path`` into the record users
        read, ``{"error": {"type", "message"}}``. A Lambda's Cause is JSON with a Python
        stack trace (on AWS as locally), and from the document it would reach loop results
        and the execution's result untouched. Runs on error paths only."""
        task = {
            "Resource": self.options.function_arn(EVALUATOR),
            "Parameters": {"caught.$": path},
            "ResultPath": path,
            "Retry": retriers(None, lambda_task=True),
        }
        return self._add(scope, self._name(f"{info.id} (error)"), State("Task", task), info.id)

    def _result_path(self, node_id: str, scope: Scope | None = None, sim: Sim | None = None) -> str | None:
        """Where a node's output is kept (None: nobody reads it). A top-level Task takes a
        document slot shared with outputs that are dead by then (statemachines.slots)."""
        if node_id not in self.needed:
            return None
        if scope is None or sim is None or self.fixed or node_id in self.private:
            return self._doc_path(node_id)
        if scope.kind == "top":
            self.keys[node_id] = self.slots.claim(node_id, sim.pending)
        else:
            # A Parallel branch must write a key absent before it (the join merges every
            # branch's copy of the document key by key), so a node that runs in a branch
            # on some path never shares.
            self.slots.forbid(node_id)
        return self._doc_path(node_id)

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

    def _budgeted(self, scope: Scope, sim: Sim, info: NodeInfo) -> dict[str, Any]:
        """The payload of a Lambda whose answer is stored: it gets its output's inline
        budget and the paths to keep inline once the walk knows them (apply_budget)."""
        payload = self._payload(scope, sim, info)
        self.payloads.setdefault(info.id, []).append(payload)
        return payload

    def apply_budget(self) -> None:
        """Give every stored output the same inline budget (statemachines.budget): the
        document then holds at most one budget per slot whatever the outputs' sizes."""
        # An evaluator's answer is a slot only for loops (their items); ports and wait
        # values are a few bytes, inside the reserve.
        items = {n for n in self.evaluated if self.infos[n].plugin.name == "loop"}
        slots = len({self._key_of(n) for n in self.needed | items})  # outputs may share a key
        # A chunk's child execution also holds the chunk and its results: two slots more.
        budget = inline_bytes(slots + (2 if self.chunked else 0), self.width)
        chunk = chunk_items(budget)
        for rule, items_path, payload, field in self.counts:
            rule["Variable"] = f"{items_path}[{chunk}]"  # present: longer than one chunk
            payload[field] = chunk
        for loop, length in self.constant_lists:
            if length > chunk:
                raise CompileError(
                    f"loop '{loop}' runs over a constant list of {length:,} items whose results are "
                    f"read on: at most {chunk:,} results fit the document; give it the list from "
                    "the trigger or a node, which runs in chunks",
                    path=node_path(loop),
                )
        results = {result for result in self.results.values() if result is not None}
        for node_id, payloads in self.payloads.items():
            pins = sorted(self.pins.get(node_id, ()), key=lambda p: (len(p), [str(s) for s in p]))
            for payload in payloads:
                payload["inlineBytes"] = loop_result_bytes(budget) if node_id in results else budget
                if pins:
                    payload["keep"] = [list(p) for p in pins]

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
            return f"{key}.$", self._doc_path(node_id)
        # A merge: the outputs of the branches that ran, by node id (those that cannot
        # have run on this path are left out; the runtime drops unsure ones left null).
        entries = (self._entry(sim, source, source) for source in self.alias_of[node_id])
        return key, {k: v for k, v in entries if v is not None}

    def _operand(self, sim: Sim, value: Any) -> Operand:
        """A condition operand or parameter as a constant, a document path, or None."""
        if not isinstance(value, str) or not has_expression(value):
            return Const(value)
        template = parse_template(value)
        ref = template.whole.path if template.whole is not None else None
        if ref is None:
            return None  # not one plain path (a function, an operator…): the evaluator decides
        if ref.root == "vars":
            return Const(template.render({"vars": self.variables}))
        if ref.root in ("trigger", "loop"):
            path = steps_path(TRIGGER_PATH if ref.root == "trigger" else LOOP_PATH, ref.steps)
            if path and ref.root == "trigger" and ref.steps:
                self.guards.append(TRIGGER_PATH)  # a large trigger is a reference in S3
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
            if not steps:
                return None  # a whole merged object: the evaluator builds it
            if steps[0] not in sources:
                return Const(None)
            return self._node_operand(sim, str(steps[0]), steps[1:])
        if self.infos[node_id].plugin.name == "loop":
            # Each result over its 256 bytes is an S3 reference inside the list, which a
            # native state would read as is: the evaluator loads them.
            return None
        if status in (Status.ERROR, Status.ANY) or self.infos[node_id].node.on_error != "fail":
            return None  # may hold an error record, whose shape only the runtime normalizes
        path = steps_path(self._doc_path(node_id), steps)
        if path:
            # Kept inline by the node's Lambda should its output be offloaded to S3.
            self.pins.setdefault(node_id, set()).add(steps)
            self.guards.append(self._doc_path(node_id))
        return DocPath(path) if path else None

    def _evaluated(self, scope: Scope, sim: Sim, info: NodeInfo, name: str) -> str:
        """A Task asking the evaluator Lambda for a value ASL cannot compute (→ node_<id>)."""
        self.evaluated.add(info.id)
        task = {
            "Resource": self.options.function_arn(EVALUATOR),
            "Parameters": self._budgeted(scope, sim, info),
            "ResultPath": self._doc_path(info.id),
            "Retry": retriers(None, lambda_task=True),
        }
        return self._add(scope, name, State("Task", task), info.id)


# A throttled invocation waits for a reserved-concurrency slot: up to ~5 minutes over 8
# jittered retries (2 s doubling, capped at 60 s) before the error reaches the node.
THROTTLED_RETRY = {
    "ErrorEquals": [LAMBDA_THROTTLED],
    "IntervalSeconds": 2,
    "MaxAttempts": 8,
    "BackoffRate": 2,
    "MaxDelaySeconds": 60,
    "JitterStrategy": "FULL",
}


def retriers(node: Node | None, *, lambda_task: bool, never: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """AWS's transient-Lambda retry, then the node's own policy for errors worth retrying
    (never ``never``: the errors of stop nodes inside a loop end the execution)."""
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
        out.append(dict(THROTTLED_RETRY))
    policy = node.retry if node is not None else None
    if policy is not None and policy.max_attempts > 1:
        out.append({"ErrorEquals": [*NOT_RETRYABLE, *never], "MaxAttempts": 0})
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


__all__ = ["Tasks", "retriers"]
