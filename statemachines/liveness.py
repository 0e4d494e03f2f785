"""Static liveness of the state document: what each node's expressions read.

A Task receives only the slices of ``{"trigger", "vars", "execution", "nodes"}`` its
expressions reference, never the whole document — payloads stay small and a big output
upstream does not travel through every Lambda.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from statemachines.references import node_expressions
from statemachines.topology import NodeInfo


@dataclass(frozen=True, slots=True)
class Reads:
    nodes: frozenset[str] = field(default_factory=frozenset)  # node ids whose output is read
    roots: frozenset[str] = field(default_factory=frozenset)  # trigger, vars, execution, loop, secrets, item


def reads(info: NodeInfo) -> Reads:
    nodes: set[str] = set()
    roots: set[str] = set()
    for _, expression, _ in node_expressions(info):
        for ref in expression.references:
            roots.add(ref.root)
            if ref.root == "nodes" and ref.name:
                nodes.add(ref.name)
    return Reads(frozenset(nodes), frozenset(roots))
