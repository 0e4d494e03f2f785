"""Checks every ``{{ }}`` of every node: syntax, and that what it reads exists there.

A node may read: the trigger, variables, execution fields, secrets (plugins only), the
output of nodes that always finish before it (its upstream), ``loop.*`` inside a loop
body and ``item`` inside a filter condition.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from contract.expressions import (
    EXECUTION_FIELDS,
    JSONATA_FUNCTIONS,
    LOOP_FIELDS,
    ROOTS,
    STEP_FUNCTIONS_FUNCTIONS,
    Expression,
    ExpressionSyntaxError,
    ExpressionTooLong,
    Reference,
    iter_strings,
    parse_template,
)
from contract.problems import Code, Report, Warn, join_path, node_path
from statemachines.gaps import Gaps
from statemachines.topology import NodeInfo, Topology

NO_OUTPUT = frozenset({"if", "switch", "wait", "stop"})
UNTIL_FIELDS = ("index", "previous")


def node_expressions(
    info: NodeInfo, report: Report | None = None
) -> list[tuple[str, Expression, tuple[str, ...]]]:
    """(path, expression, extra roots) of every expression in a node's parameters.

    One walk serves both syntax and reference checks: templates that do not parse are
    reported to ``report`` as ``invalid_expression`` (when given) and left out.
    """
    found: list[tuple[str, Expression, tuple[str, ...]]] = []
    for rel, text in iter_strings(info.parameters):
        if "{{" not in text:
            continue
        path = node_path(info.id, "parameters", *rel)
        try:
            template = parse_template(text)
        except ExpressionSyntaxError as exc:
            if report is not None:
                code = Code.LIMIT_EXCEEDED if isinstance(exc, ExpressionTooLong) else Code.INVALID_EXPRESSION
                report.error(code, path, str(exc))
            continue
        extra = _extra_roots(info, rel)
        found.extend((path, expr, extra) for expr in template.expressions)
    return found


def _extra_roots(info: NodeInfo, rel: tuple[str | int, ...]) -> tuple[str, ...]:
    param = info.plugin.parameter(str(rel[0])) if rel else None
    return param.extra_roots if param else ()


class ReferenceChecker:
    def __init__(
        self, topology: Topology, variables: dict[str, Any], report: Report, gaps: Gaps | None = None
    ) -> None:
        self.topology = topology
        self.variables = variables
        self.report = report
        self.gaps = gaps or Gaps()  # what earlier errors left uncheckable
        self.used_variables: set[str] = set()

    def check_node(self, info: NodeInfo) -> None:
        """Report bad syntax and references that cannot be read from this node."""
        for path, expr, extra in node_expressions(info, self.report):
            if expr.dialect == "jsonpath":
                self.report.warn(
                    Warn.JSONPATH_EXPRESSION,
                    path,
                    f"'{expr.source}' is JSONPath; in JSONata it reads {{{{ {expr.jsonata} }}}} "
                    "(routines migrate rewrites a file)",
                )
            for name in expr.unknown_variables:
                self.report.error(Code.UNKNOWN_REFERENCE, path, _unknown_variable(expr.source, name))
            for ref in expr.references:
                problem = self._problem(info, ref, extra, path)
                if problem:
                    self.report.error(Code.UNKNOWN_REFERENCE, path, problem)

    def _problem(self, info: NodeInfo, ref: Reference, extra: tuple[str, ...], path: str) -> str | None:
        if ref.root not in ROOTS or (ref.root == "item" and "item" not in extra):
            where = " ('item' exists only inside a filter condition)" if ref.root == "item" else ""
            roots = ", ".join(r for r in ROOTS if r != "item" or "item" in extra)
            return f"'{ref.source}': unknown root '{ref.root}'{where}; use one of {roots}"
        if ref.root == "vars":
            return self._variable(ref.name, ref.source)
        if ref.root == "loop":
            return self._loop(info, ref.name, ref.source, "loop" in extra)
        if ref.root == "execution" and ref.name is not None and ref.name not in EXECUTION_FIELDS:
            return f"'{ref.source}': execution has only {', '.join(EXECUTION_FIELDS)}"
        if ref.root == "secrets":
            if not info.is_task:
                return (
                    f"'{ref.source}': secrets are resolved only inside plugin Lambdas, "
                    f"not in '{info.plugin.name}' nodes"
                )
            if ref.name is None:
                return f"'{ref.source}': name the secret, e.g. secrets.apiKey"
        if ref.root == "nodes":
            return self._node(info, ref.name, ref.source, path)
        return None

    def _variable(self, name: str | None, source: str) -> str | None:
        if not self.gaps.variables_known:
            return None  # 'variables' is broken (reported): no name can be judged
        if name is None:
            self.used_variables.update(self.variables)
            return None
        self.used_variables.add(name)
        if name not in self.variables:
            known = ", ".join(sorted(self.variables)) or "none are defined"
            return f"'{source}': no variable '{name}' (variables: {known})"
        return None

    def _loop(self, info: NodeInfo, name: str | None, source: str, own: bool = False) -> str | None:
        """``own``: in a loop's ``until``, which reads its own iteration (issue #27)."""
        loops = self.topology.enclosing.get(info.id)
        if not loops and not own:
            if info.id in self.gaps.blind:
                return None  # it may be inside a loop whose connection is broken
            return f"'{source}': loop.* exists only inside a loop body"
        # An until loop (statemachines.machine.repeat) has no items: loop.index, and
        # loop.previous (the previous iteration's result; in 'until', this iteration's).
        until = own or (loops and self.topology.infos[loops[-1]].parameters.get("until") is not None)
        if until and name is not None and name not in UNTIL_FIELDS:
            return f"'{source}': a loop with 'until' offers only loop.index and loop.previous"
        if not until and name is not None and name not in LOOP_FIELDS:
            return f"'{source}': a loop offers only loop.item and loop.index"
        return None

    def _node(self, info: NodeInfo, name: str | None, source: str, path: str) -> str | None:
        topology = self.topology
        if name is None:
            return f"'{source}': name a node, e.g. nodes.fetch"
        if name == info.id:
            return f"'{source}': a node cannot read its own output"
        if not self.gaps.knows_node(name):
            return None  # the node exists but is broken (reported): nothing more to judge
        if name not in topology.infos:
            return f"'{source}': there is no node '{name}'"
        if not topology.acyclic or info.id in self.gaps.blind:
            return None  # ancestry is undefined or incomplete; its cause is reported instead
        if name in topology.enclosing.get(info.id, ()):
            return (
                f"'{source}': '{name}' is the loop this node runs in; its output exists "
                "only after the loop (its 'done' port)"
            )
        if not topology.is_upstream(info.id, name):
            return (
                f"'{source}': '{name}' is not upstream of '{info.id}', "
                f"so it has not finished when '{info.id}' runs"
            )
        target = topology.infos[name]
        if target.node.disabled:
            self.report.warn(
                Warn.READS_DISABLED,
                path,
                f"'{name}' is disabled: it does not run, so '{source}' is null",
            )
        elif target.plugin.name in NO_OUTPUT:
            self.report.warn(
                Warn.NO_OUTPUT,
                path,
                f"'{name}' is a {target.plugin.name} node and has no output (reads null)",
            )
        elif not topology.surely_ran(info.id, name):
            self.report.warn(
                Warn.MAY_BE_SKIPPED,
                path,
                f"'{name}' may be skipped on some paths to '{info.id}'; then '{source}' is null",
            )
        return None

    def report_unused_variables(self) -> None:
        if not self.gaps.variables_known:
            return
        for name in self.variables:
            if name not in self.used_variables:
                self.report.warn(
                    Warn.UNUSED_VARIABLE, join_path("variables", name), f"variable '{name}' is never used"
                )


def _unknown_variable(source: str, name: str) -> str:
    """Why ``$name`` cannot be read: a misspelt function, when it is called (the closest
    one named), or a value that comes from a root."""
    functions = sorted(JSONATA_FUNCTIONS | STEP_FUNCTIONS_FUNCTIONS)
    called = re.search(rf"\${re.escape(name)}\s*\(", source) is not None
    close = difflib.get_close_matches(name, functions, n=1, cutoff=0.75) if called else []
    if close:
        return f"'{source}': there is no function ${name}; did you mean ${close[0]}?"
    return (
        f"'{source}': ${name} is not a function and is not bound in the expression; "
        f"values come from roots: use vars.{name} / nodes.{name}"
    )
