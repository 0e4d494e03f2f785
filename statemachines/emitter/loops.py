"""Loops: a loop node → a Map state (inline or distributed) whose body is its own scope."""

from __future__ import annotations

import copy
from typing import Any

from contract.names import PARTIAL
from statemachines.asl import State
from statemachines.choices import Const, DocPath
from statemachines.emitter.bodies import Bodies
from statemachines.emitter.exits import STOP_ERROR
from statemachines.emitter.scope import Scope, Step, both, s3_get_object, set_link
from statemachines.emitter.tasks import retriers
from statemachines.topology import NodeInfo
from statemachines.walk import Sim


class Loops(Bodies):
    def _loop(self, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
        body = self.topology.loop_bodies[info.id]
        distributed = scope.distributed or info.parameters.get("mode") == "distributed"
        fields: dict[str, Any] = {}
        entry = None
        checks: tuple[dict[str, Any], ...] = ()  # states that fail when items is not a list
        name = self._name(info.id, info.id)
        self.guards = []
        items = self._operand(sim, info.parameters.get("items"))
        guards = list(dict.fromkeys(self.guards))  # documents the items come from
        if isinstance(items, DocPath):
            fields["ItemsPath"] = items.path
            entry, check = self._items_guard(scope, sim, info, items.path, name)
            checks = (check,)
        elif isinstance(items, Const):
            value = items.value if isinstance(items.value, list) else []
            if info.id in self.needed:
                self.constant_lists.append((info.id, len(value)))  # checked by apply_budget
            pass_fields = {"Result": value, "ResultPath": self._doc_path(info.id)}
            entry = self._add(scope, self._name(f"{info.id} (items)"), State("Pass", pass_fields), info.id)
            fields["ItemsPath"] = self._doc_path(info.id)
        else:
            entry = self._evaluated(scope, sim, info, self._name(f"{info.id} (items)"))
            fields["ItemsPath"] = f"{self._doc_path(info.id)}.items"
            checks = (scope.states[entry].fields,)
            self.pins.setdefault(info.id, set()).add(("items",))
            guards = [self._doc_path(info.id)]
        fields["ItemSelector"] = self._item_selector(scope, sim, info.id, body, distributed)
        fields["ItemProcessor"] = self._body(sim, info.id, body, distributed)
        concurrency = info.parameters.get("maxConcurrency", 10)
        if concurrency:
            fields["MaxConcurrency"] = concurrency
        fields["ResultPath"] = self._result_path(info.id)
        stops = self._stops_within(body)
        if info.node.retry is not None:
            never = tuple(STOP_ERROR + s for s in stops)
            fields["Retry"] = retriers(info.node, lambda_task=False, never=never)
        stop_catches = self._stop_catches(scope, sim, stops, info.node.on_error != "fail")
        if stop_catches:
            fields["Catch"] = stop_catches  # before any States.ALL catch, which comes next
        # A list longer than a chunk goes the chunked way when the results are read on
        # (statemachines/emitter/bodies.py); not with stops inside: a stop cannot end the
        # execution from a child execution.
        counted = fields["ItemsPath"] if info.id in self.needed and not isinstance(items, Const) else None
        if stops:
            counted = None
        large = collect = None
        if counted is not None:
            large, collect = self._chunked_map(scope, sim, info, fields)
        elif guards:
            large = self._map_from_s3(scope, sim, info, fields)
        self._add(scope, name, State("Map", fields), info.id)
        if entry is not None and scope.states[entry].type != "Choice":
            scope.states[entry].fields["Next"] = name
        choice = entry if entry is not None and scope.states[entry].type == "Choice" else None
        if large is not None:
            entry, choice, spill = self._large_items(
                scope, sim, info, guards, entry, name, large, collect, counted
            )
            checks = (*checks, spill, large, *([collect] if collect is not None else []))
        if stops and info.id in self.needed and choice is not None and not isinstance(items, Const):
            checks = (*checks, self._refuse_long(scope, sim, info, choice, name, fields["ItemsPath"]))
        outcomes = self._error_outcomes(scope, sim, info, fields, frozenset({"done"}), checks)
        if large is not None:
            first = outcomes[0]  # done: after either Map (and the chunked results' collection)
            assert first.link is not None
            first.link = both(first.link, set_link(collect if collect is not None else large, "Next"))
        return Step(entry or name, outcomes)

    def _map_from_s3(self, scope: Scope, sim: Sim, info: NodeInfo, inline: dict[str, Any]) -> dict[str, Any]:
        """The loop as a distributed Map reading its items from S3 (ItemReader), for a list
        its producer could not keep inline. ``ResultWriter`` is not used: moto's writes an
        empty manifest instead of the results, so results stay in the document."""
        body = self.topology.loop_bodies[info.id]
        address = self._doc_path(info.id)  # the evaluator's answer: {"bucket", "key"}
        large: dict[str, Any] = {
            "ItemReader": {
                "Resource": s3_get_object(self.options.partition),
                "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Bucket.$": f"{address}.bucket", "Key.$": f"{address}.key"},
            },
            "ItemSelector": self._item_selector(scope, sim, info.id, body, True),
            "ItemProcessor": self._body(sim, info.id, body, True),
        }
        for key in ("MaxConcurrency", "ResultPath", "Retry", "Catch"):
            if key in inline:
                large[key] = copy.deepcopy(inline[key])
        return large

    def _large_items(
        self,
        scope: Scope,
        sim: Sim,
        info: NodeInfo,
        guards: list[str],
        entry: str | None,
        inline: str,
        large: dict[str, Any],
        collect: dict[str, Any] | None,
        counted: str | None,
    ) -> tuple[str, str, dict[str, Any]]:
        """Rules on ``__partial`` (the producer could not keep the list inline in its S3
        reference) send the loop to the evaluator, which writes the list to S3 as a JSON
        array, then to the distributed Map reading it; so does a rule on ``items[chunk]``
        for a chunked loop (``counted``: its items path). They join the items check's
        Choice, so they cost no transition; after an evaluator's items, a Choice of their
        own. Returns the loop's first state, the Choice holding the rules and the spill Task's
        fields (it fails as the loop does: on items that are not a list)."""
        spill = self._evaluated(scope, sim, info, self._name(f"{info.id} (list to S3)"))
        parameters = scope.states[spill].fields["Parameters"]
        parameters["spill"] = True
        from_s3 = self._add(scope, self._name(f"{info.id} (from S3)", info.id), State("Map", large), info.id)
        scope.states[spill].fields["Next"] = from_s3
        if collect is not None:
            name = self._name(f"{info.id} (results)", info.id)
            large["Next"] = self._add(scope, name, State("Task", collect), info.id)
        rules = [{"Variable": f"{guard}.{PARTIAL}", "IsPresent": True, "Next": spill} for guard in guards]
        if counted is not None:
            longer = {"Variable": counted, "IsPresent": True, "Next": spill}  # [chunk]: apply_budget
            self.counts.append((longer, counted, parameters, "chunk"))
            rules.append(longer)
        if entry is not None and scope.states[entry].type == "Choice":
            scope.states[entry].fields["Choices"][:0] = rules
            return entry, entry, scope.states[spill].fields
        choice = self._add(
            scope,
            self._name(f"{info.id} (list size)"),
            State("Choice", {"Choices": rules, "Default": inline}),
            info.id,
        )
        if entry is not None:
            scope.states[entry].fields["Next"] = choice
        return entry or choice, choice, scope.states[spill].fields

    def _refuse_long(
        self, scope: Scope, sim: Sim, info: NodeInfo, choice: str, inline: str, items_path: str
    ) -> dict[str, Any]:
        """A loop with a stop inside cannot run in chunks (a stop cannot end the execution
        from a child execution): a list longer than a chunk, whose results would not fit
        the document, fails the loop with a typed error its onError can catch, instead of
        an uncatchable DataLimitExceeded. The rule joins the items check's Choice."""
        refuse = self._evaluated(scope, sim, info, self._name(f"{info.id} (too many items)"))
        fields = scope.states[refuse].fields
        fields.update({"ResultPath": None, "Next": inline})
        longer = {"Variable": items_path, "IsPresent": True, "Next": refuse}  # [chunk]: apply_budget
        self.counts.append((longer, items_path, fields["Parameters"], "limit"))
        scope.states[choice].fields["Choices"].insert(0, longer)
        return fields

    def _items_guard(
        self, scope: Scope, sim: Sim, info: NodeInfo, path: str, map_name: str
    ) -> tuple[str, dict[str, Any]]:
        """Map states fail uncatchably (States.Runtime, with a Python type name) on items that
        are not a list. A Choice sends a non-empty list straight to the Map; anything else
        goes to the evaluator, which passes an empty list on and fails a non-list with a
        typed, catchable error ("loop items must be a list; got a string")."""
        guard = self._name(f"{info.id} (items?)")
        check = self._evaluated(scope, sim, info, self._name(f"{info.id} (items)"))
        check_fields = scope.states[check].fields
        check_fields.update({"ResultPath": None, "Next": map_name})
        is_list = {
            "And": [
                {"Variable": path, "IsPresent": True},
                {"Not": {"Variable": path, "IsString": True}},
                {"Variable": f"{path}[0]", "IsPresent": True},
            ],
            "Next": map_name,
        }
        self._add(scope, guard, State("Choice", {"Choices": [is_list], "Default": check}), info.id)
        return guard, check_fields


__all__ = ["Loops"]
