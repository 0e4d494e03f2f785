"""Loop bodies: each iteration's document (ItemSelector) and processor, and the chunked
path of loops whose results outgrow the document.

Chunks: the items in chunks, the results in S3. A Map state collects one result per item,
so a loop over enough items overflows 256 KiB however small each result is kept
(``budget.loop_result_bytes``). When a loop's results are read downstream, its long lists
take another path: the evaluator writes the items to S3 as chunks (``{"offset", "items"}``)
of at most ``chunk`` items and one budget of bytes each, with their offsets, under a prefix
of their own; a distributed Map runs one child execution per chunk, whose inline Map runs
the loop's body over the chunk's items (their index is the chunk's offset plus their own)
and whose evaluator Task stores the chunk's results under the prefix by offset, answering
null (the Map's result is discarded). Then the evaluator concatenates the results in the
order of the offsets and answers the list, stored in S3 and referenced like any large
output when it exceeds the loop's budget.

What routes a list there costs nothing on the common path: a rule on ``items[chunk]``
(``IsPresent``: the list is longer than a chunk) joins the Choice that already checks the
items are a list. ``chunk`` and the count rule are filled in by ``apply_budget``, as they
follow from the budget.
"""

from __future__ import annotations

import copy
from typing import Any

from contract.names import EVALUATOR
from statemachines.asl import State, StateMachine
from statemachines.emitter.exits import Exits
from statemachines.emitter.scope import Scope, s3_get_object
from statemachines.emitter.tasks import retriers
from statemachines.graph import iter_bits
from statemachines.layout import EXECUTION_PATH, TRIGGER_PATH, Status
from statemachines.topology import NodeInfo
from statemachines.walk import Sim, start

CHUNK_PATH = "$.chunk"  # a child execution's chunk: {"offset", "items"}
RESULTS_PATH = "$.results"  # the chunk's results, before they are stored


class Bodies(Exits):
    def _chunked_map(
        self, scope: Scope, sim: Sim, info: NodeInfo, inline: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The distributed Map over the chunks of a spilled list, and the evaluator Task
        collecting its results (its ``Next`` is the loop's)."""
        body = self.topology.loop_bodies[info.id]
        address = self._doc_path(info.id)  # the spill's answer: {"bucket", "key", "prefix"}
        outer = self._item_selector(scope, sim, info.id, body, True)
        del outer["loop"]
        inner: dict[str, Any] = {n.removesuffix(".$") + ".$": "$." + n.removesuffix(".$") for n in outer}
        outer["chunk.$"] = "$$.Map.Item.Value"
        outer["prefix.$"] = f"{address}.prefix"  # where the chunks store their results
        nested = bool(self.topology.enclosing.get(info.id))
        if nested:
            outer["loop.$"] = "$.loop"  # the enclosing iteration: iteration numbers nest
        index = f"States.MathAdd({CHUNK_PATH}.offset, $$.Map.Item.Index)"
        if nested:
            iteration = f"States.Format('{{}}.{{}}', $.loop.iteration, {index})"
        else:
            iteration = f"States.Format('{{}}', {index})"
        inner["loop"] = {"item.$": "$$.Map.Item.Value", "index.$": index, "iteration.$": iteration}
        large: dict[str, Any] = {
            "ItemReader": {
                "Resource": s3_get_object(self.options.partition),
                "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Bucket.$": f"{address}.bucket", "Key.$": f"{address}.key"},
            },
            "ItemSelector": outer,
            "ItemProcessor": self._chunk_processor(sim, info, body, inner, inline.get("MaxConcurrency")),
        }
        for key in ("Retry", "Catch"):
            if key in inline:
                large[key] = copy.deepcopy(inline[key])
        large["ResultPath"] = None  # the children answer null; the spill's answer stays
        if inline.get("MaxConcurrency"):
            # One chunk at a time, its items as concurrently as the loop allows: the loop's
            # maxConcurrency bounds its iterations however the list is split.
            large["MaxConcurrency"] = 1
        payload: dict[str, Any] = {
            "node": info.id,
            "plugin": "loop",
            "attempt.$": "$$.State.RetryCount",
            "collect.$": f"{address}.prefix",  # where the chunks stored their results
        }
        if scope.distributed:
            payload["execution.$"] = EXECUTION_PATH
        else:
            payload["execution"] = self._execution()
        if nested:
            payload["iteration.$"] = "$.loop.iteration"
        self.payloads.setdefault(info.id, []).append(payload)  # the list gets the loop's budget
        collect = {
            "Resource": self.options.function_arn(EVALUATOR),
            "Parameters": payload,
            "ResultPath": address,
            "Retry": retriers(None, lambda_task=True),
        }
        self.chunked.add(info.id)
        return large, collect

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
                selector[f"{self._key_of(node)}.$"] = self._doc_path(node)
        return selector

    def _body(
        self, sim: Sim, loop_id: str, body: set[str], distributed: bool, inline: bool = False
    ) -> dict[str, Any]:
        """The loop body as an ItemProcessor. ``distributed``: it runs inside child
        executions; ``inline``: an inline Map all the same (a chunk's, in a child)."""
        distributed_config = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
        config = distributed_config if distributed and not inline else {"Mode": "INLINE"}
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

    def _chunk_processor(
        self, sim: Sim, info: NodeInfo, body: set[str], selector: dict[str, Any], concurrency: Any
    ) -> dict[str, Any]:
        """A child execution: the body over the chunk's items, then their results to S3."""
        child = Scope("map", owner=info.id, distributed=True)
        run = self._name(f"{info.id} (chunk)")
        store = self._name(f"{info.id} (chunk results)")
        inner: dict[str, Any] = {
            "ItemsPath": f"{CHUNK_PATH}.items",
            "ItemSelector": selector,
            "ItemProcessor": self._body(sim, info.id, body, True, inline=True),
            "ResultPath": RESULTS_PATH,
            "Next": store,
        }
        if concurrency:
            inner["MaxConcurrency"] = concurrency
        task = {
            "Resource": self.options.function_arn(EVALUATOR),
            "Parameters": {
                "node": info.id,
                "plugin": "loop",
                "execution.$": EXECUTION_PATH,
                "attempt.$": "$$.State.RetryCount",
                "results.$": RESULTS_PATH,
                "prefix.$": "$.prefix",
                "offset.$": f"{CHUNK_PATH}.offset",
            },
            "Retry": retriers(None, lambda_task=True),
            "End": True,
        }
        self._add(child, run, State("Map", inner), info.id)
        self._add(child, store, State("Task", task), info.id)
        return {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            **StateMachine(run, child.states).to_json(),
        }


__all__ = ["Bodies"]
