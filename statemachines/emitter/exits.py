"""How scopes end: the execution's result, a loop iteration's result, and ``stop``.

- The top scope ends with the **execution's result** (DESIGN §3), built on each path from
  what ran there (:mod:`statemachines.results`): by the last Task or Map's
  ``ResultSelector`` when it only names that state's result, else by one ``Pass``.
- A loop body ends with its last node's output (``OutputPath``), ``null`` when that node
  did not run, or — a ``merge`` — the object of the branches that ran.
- ``stop`` ends the whole execution wherever it stands. At the top it is a ``Fail``, or
  the result. Inside a Parallel branch or a loop body it raises ``Routines.Stop.<id>``,
  which the enclosing top-level Parallel/Map catches and turns into that ``Fail`` or
  result: Step Functions cancels the other branches and iterations. Catching costs no
  transition on the common path.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from statemachines.asl import State, StateMachine
from statemachines.emitter.scope import EXIT, EXIT_NULL, SENTINELS, Scope, Step
from statemachines.emitter.tasks import Tasks
from statemachines.layout import Status
from statemachines.results import MAX_UNSURE, leaves, parse, retarget, sentinel, variants
from statemachines.topology import NodeInfo
from statemachines.walk import Sim, complete

BUILD = "\x00build:"  # end of the scope with a value built from the document
STOP_ERROR = "Routines.Stop."  # + the stop node's id: raised inside Parallel/Map, caught at the top


def is_exit(target: Any) -> TypeGuard[str]:
    return isinstance(target, str) and (target in SENTINELS or target.startswith(BUILD))


class Exits(Tasks):
    # --- scope ends ---------------------------------------------------------------------

    def _exit(self, scope: Scope, sim: Sim) -> str:
        if scope.kind == "top":
            return self._result_sentinel(scope, sim)
        if scope.kind == "map":
            result = scope.result or ""
            if sim.status.get(result) is Status.DEAD or self.kind[result] == "none":
                return EXIT_NULL
            if self.kind[result] == "alias":
                return self._result_sentinel(scope, sim)
        return EXIT

    def _result_sentinel(self, scope: Scope, sim: Sim) -> str:
        """The value the scope hands on, as a template over the document of this path."""
        template: dict[str, Any] = {}
        nodes = [scope.result or ""] if scope.kind == "map" else self.leaves
        for node in nodes:
            status = sim.status.get(node)
            if status is None or status is Status.DEAD:
                continue
            if status is Status.ERROR and any(e.port == "error" for e in self.graph.outgoing[node]):
                continue  # its error was passed on: it does not end this path
            key, value = self._entry(sim, node, node)
            if value is not None:
                template[key] = value
        if scope.kind == "map":
            template = template.get(scope.result or "", {})
        read = set(leaves(template))
        unsure = sorted(
            path
            for n in self._expanded(nodes)
            if sim.status.get(n) is Status.UNSURE and (path := self._doc_path(n)) in read
        )
        return sentinel(BUILD, template, unsure if len(unsure) <= MAX_UNSURE else [])

    def finish(self, scope: Scope, begin: str) -> StateMachine:
        """Resolve the scope's exits: End: true where a state can end (building the
        result itself where it can), else a shared terminal state."""
        for state in list(scope.states.values()):
            fields = state.fields
            target = fields.get("Next")
            if is_exit(target):
                if target.startswith(BUILD):
                    if not self._select_result(state, target):
                        fields["Next"] = self._terminal(scope, target)
                elif self._can_end(scope, state, target):
                    del fields["Next"]
                    fields["End"] = True
                    if scope.kind == "map" and target == EXIT:
                        fields["OutputPath"] = self._doc_path(scope.result or "")
                else:
                    fields["Next"] = self._terminal(scope, target)
            for choice in fields.get("Choices", []):
                if is_exit(choice["Next"]):
                    choice["Next"] = self._terminal(scope, choice["Next"])
            if is_exit(fields.get("Default")):
                fields["Default"] = self._terminal(scope, fields["Default"])
            for catch in fields.get("Catch", []):
                if is_exit(catch["Next"]):
                    catch["Next"] = self._terminal(scope, catch["Next"])
        if is_exit(begin):
            begin = self._terminal(scope, begin)
        return StateMachine(begin, scope.states)

    @staticmethod
    def _select_result(state: State, target: str) -> bool:
        """End at ``state`` with the result as its ``ResultSelector``: possible when the
        result only names the state's own output (no transition more)."""
        template, unsure = parse(BUILD, target)
        fields = state.fields
        path = fields.get("ResultPath")
        if unsure or state.type not in ("Task", "Map") or not path or not leaves(template):
            return False
        if "ResultSelector" in fields or "OutputPath" in fields:
            return False
        selector = retarget(template, path)
        if selector is None:
            return False
        del fields["Next"]
        fields.update({"ResultSelector": selector, "ResultPath": "$", "End": True})
        return True

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
        if sentinel.startswith(BUILD):
            name = self._build(scope, sentinel)
        else:
            if scope.kind != "map":
                name, state = self._name("Done"), State("Succeed")
            elif sentinel == EXIT:
                name = self._name(f"{scope.owner} (result)")
                state = State("Pass", {"OutputPath": self._doc_path(scope.result or ""), "End": True})
            else:
                name = self._name(f"{scope.owner} (no result)")
                state = State("Pass", {"Result": None, "End": True})
            self._add(scope, name, state, None)
        scope.terminals[sentinel] = name
        return name

    def _build(self, scope: Scope, target: str) -> str:
        """Pass states building the value; a Choice first when it depends on which nodes
        of a Parallel branch ran."""
        template, unsure = parse(BUILD, target)
        base = "Result" if scope.kind == "top" else f"{scope.owner} (result)"
        choices: list[dict[str, Any]] = []
        default = ""
        choice = self._name(f"{base} (which ran)") if unsure else ""
        for rule, each in variants(template, unsure):
            name = self._name(base)
            fields = {"Parameters": each} if each else {"Result": {}}
            self._add(scope, name, State("Pass", {**fields, "End": True}), None)
            if rule is None:
                default = name
            else:
                choices.append({**rule, "Next": name})
        if not unsure:
            return default
        self._add(scope, choice, State("Choice", {"Choices": choices, "Default": default}), None)
        return choice

    # --- stop -----------------------------------------------------------------------------

    def _stop(self, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
        failing = info.parameters.get("status") == "fail"
        if scope.kind == "top":
            if failing:
                return Step(self._add(scope, self._name(info.id, info.id), self._failure(info), info.id), [])
            complete(self.graph, sim, info.id, Status.OK, frozenset())
            return Step(self._terminal(scope, self._result_sentinel(scope, sim)), [])
        return Step(self._add(scope, self._name(info.id, info.id), self._reraise(info.id), info.id), [])

    @staticmethod
    def _failure(info: NodeInfo) -> State:
        fields = {"Error": info.parameters.get("error") or "RoutineStopped"}
        if info.parameters.get("cause"):
            fields["Cause"] = info.parameters["cause"]
        return State("Fail", fields)

    def _stops_within(self, members: list[str] | set[str]) -> list[str]:
        """The stop nodes among ``members`` and inside the bodies of loops among them."""
        found: set[str] = set()
        for node in members:
            found.add(node)
            found |= self.topology.loop_bodies.get(node, set())
        stops = (n for n in found if self.infos[n].plugin.name == "stop" and not self.infos[n].node.disabled)
        return sorted(stops, key=self.position.__getitem__)

    def _stop_catches(
        self, scope: Scope, sim: Sim, stops: list[str], catches_all: bool
    ) -> list[dict[str, Any]]:
        """Catch entries of a Parallel or Map holding ``stops``: at the top, the end each
        stop asks for; further in, where the state would catch everything (onError), a
        re-raise so the stop still reaches the top."""
        if not stops or (scope.kind != "top" and not catches_all):
            return []
        out: list[dict[str, Any]] = []
        succeeding = [s for s in stops if self.infos[s].parameters.get("status") != "fail"]
        for stop in stops:
            if stop in succeeding and scope.kind == "top":
                continue
            key = f"stop:{stop}"
            if key not in scope.terminals:
                info = self.infos[stop]
                state = self._failure(info) if scope.kind == "top" else self._reraise(stop)
                scope.terminals[key] = self._add(scope, self._name(f"{stop} (stop)"), state, stop)
            out.append({"ErrorEquals": [STOP_ERROR + stop], "ResultPath": None, "Next": scope.terminals[key]})
        if succeeding and scope.kind == "top":
            done = self._terminal(scope, self._result_sentinel(scope, sim))
            names = [STOP_ERROR + s for s in succeeding]
            out.append({"ErrorEquals": names, "ResultPath": None, "Next": done})
        return out

    @staticmethod
    def _reraise(stop: str) -> State:
        return State("Fail", {"Error": STOP_ERROR + stop, "Cause": f"stop '{stop}' ends the execution"})


__all__ = ["BUILD", "STOP_ERROR", "Exits", "is_exit"]
