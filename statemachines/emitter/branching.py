"""Branching: if/switch as Choice states (native rules, or the evaluator then a Choice),
wait, approval (a token Task and a Choice on the decision) and stop."""

from __future__ import annotations

from typing import Any

from contract.names import APPROVAL_NOTIFIER, PARTIAL
from statemachines.asl import State
from statemachines.choices import Const, Rule, choice_rule, string_equals
from statemachines.emitter.exits import Exits
from statemachines.emitter.scope import Link, Outcome, Scope, Step, both, set_link
from statemachines.emitter.tasks import retriers
from statemachines.layout import Status
from statemachines.topology import NodeInfo
from statemachines.walk import Sim, complete


class Branching(Exits):
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
        self.guards = []
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
            compiled = [(port, string_equals(f"{self._doc_path(info.id)}.port", port)) for port, _ in rules]
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
        ports = list(dict.fromkeys([port for port, _ in compiled] + [default]))
        links: dict[str, list[Link]] = {port: [] for port in ports}
        for (port, _), choice in zip(compiled, choices, strict=True):
            links[port].append(set_link(choice, "Next"))
        links[default].append(set_link(fields, "Default"))
        guards = list(dict.fromkeys(self.guards)) if native else []
        if guards:
            self._large_value_route(scope, sim, info, guards, fields, ports, default, links)
        outcomes = []
        for port in ports:
            branch = sim.copy()
            complete(self.graph, branch, info.id, Status.OK, frozenset({port}))
            outcomes.append(Outcome(branch, both(*links[port])))
        return Step(entry or choice_name, outcomes)

    def _large_value_route(
        self,
        scope: Scope,
        sim: Sim,
        info: NodeInfo,
        guards: list[str],
        fields: dict[str, Any],
        ports: list[str],
        default: str,
        links: dict[str, list[Link]],
    ) -> None:
        """A native Choice reads values its producers keep inline in their S3 reference;
        when one did not fit (``__partial``), the evaluator decides instead. The extra rules
        cost nothing when every value is inline: one Choice, as before."""
        entry = self._evaluated(scope, sim, info, self._name(f"{info.id} (large value)", info.id))
        route = self._name(f"{info.id} (large value route)")
        scope.states[entry].fields["Next"] = route
        rules = [
            {**string_equals(f"{self._doc_path(info.id)}.port", p), "Next": ""} for p in ports if p != default
        ]
        route_fields: dict[str, Any] = {"Choices": rules, "Default": ""}
        self._add(scope, route, State("Choice", route_fields), info.id)
        by_port = [(rule, p) for rule, p in zip(rules, [p for p in ports if p != default], strict=True)]
        self._choices.append((route, route_fields, by_port, default))
        for rule, port in by_port:
            links[port].append(set_link(rule, "Next"))
        links[default].append(set_link(route_fields, "Default"))
        fields["Choices"][:0] = [
            {"Variable": f"{guard}.{PARTIAL}", "IsPresent": True, "Next": entry} for guard in guards
        ]

    def _wait(self, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
        """A constant wait is a Wait state alone. A wait on data asks the evaluator first: a
        Wait on a value that is missing, of the wrong type, or not kept inline (a large
        trigger keeps only its smallest fields) fails with States.Runtime, which nothing can
        catch; the evaluator fails with a typed error instead, and answers a number of
        seconds or a timestamp the Wait reads."""
        seconds = info.parameters.get("seconds")
        field_name, value = (
            ("Seconds", seconds) if seconds is not None else ("Timestamp", info.parameters.get("until"))
        )
        operand = self._operand(sim, value)
        fields: dict[str, Any] = {}
        entry = None
        if isinstance(operand, Const) and operand.value is not None:
            fields[field_name] = operand.value
        elif isinstance(operand, Const):
            fields["Seconds"] = 0  # waits on a value that cannot exist: no wait
        else:
            entry = self._evaluated(scope, sim, info, self._name(f"{info.id} (value)"))
            fields[f"{field_name}Path"] = f"{self._doc_path(info.id)}.{field_name.lower()}"
        name = self._add(scope, self._name(info.id, info.id), State("Wait", fields), info.id)
        if entry is not None:
            scope.states[entry].fields["Next"] = name
        complete(self.graph, sim, info.id, Status.OK, frozenset({"out"}))
        return Step(entry or name, [Outcome(sim, set_link(fields, "Next"))])

    def _approval(self, scope: Scope, sim: Sim, info: NodeInfo) -> Step:
        payload = self._payload(scope, sim, info)
        payload["taskToken.$"] = "$$.Task.Token"
        fields: dict[str, Any] = {
            "Resource": self.options.wait_for_token,
            "Parameters": {"FunctionName": self.options.function_arn(APPROVAL_NOTIFIER), "Payload": payload},
            "ResultPath": self._doc_path(info.id),
        }
        timeout = info.parameters.get("timeoutSeconds")
        if timeout:
            fields["TimeoutSeconds"] = timeout
        fields["Retry"] = retriers(None, lambda_task=True)
        catches: list[tuple[str, dict[str, Any]]] = []
        if timeout:
            catches.append(
                ("timeout", {"ErrorEquals": ["States.Timeout"], "ResultPath": self._doc_path(info.id)})
            )
        if info.node.on_error == "route":
            catches.append(("error", {"ErrorEquals": ["States.ALL"], "ResultPath": self._doc_path(info.id)}))
        if catches:
            fields["Catch"] = [c for _, c in catches]
        name = self._add(scope, self._name(info.id, info.id), State("Task", fields), info.id)
        decision = self._name(f"{info.id} (decision)")
        approved = {**string_equals(f"{self._doc_path(info.id)}.decision", "approved"), "Next": ""}
        choice: dict[str, Any] = {"Choices": [approved], "Default": ""}
        self._add(scope, decision, State("Choice", choice), info.id)
        self._choices.append((decision, choice, [(approved, "approved")], "rejected"))
        fields["Next"] = decision
        caught = []
        for port, catch in catches:  # timeout and error records as users read them
            catch["Next"] = self._error_record(scope, info, self._doc_path(info.id))
            caught.append((port, set_link(scope.states[catch["Next"]].fields, "Next"), Status.ERROR))
        outcomes = []
        for port, link, status in [
            ("approved", set_link(approved, "Next"), Status.OK),
            ("rejected", set_link(choice, "Default"), Status.OK),
            *caught,
        ]:
            branch = sim.copy()
            complete(self.graph, branch, info.id, status, frozenset({port}))
            outcomes.append(Outcome(branch, link))
        return Step(name, outcomes)


__all__ = ["Branching"]
