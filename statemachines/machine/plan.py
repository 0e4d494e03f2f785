"""The analysis a JSONata machine is built from: a pure function of the routine.

A node's output lives in a workflow variable named after the node (``$fetch``); a few ids
would shadow a JSONata function (``$count``, ``$string``…), one of Step Functions' own
(``$hash``, ``$uuid``…), its ``$states``, or the block-local names the compiler's own
expressions use, and get ``node_<id>``. A
``merge`` has no variable: reading it builds the object of the outputs of its branches that
ran. Every variable someone reads may be unassigned on some path (its node skipped), so it
is set to ``null`` when its scope starts: an expression then reads ``null`` for a node that
did not run, as DESIGN §3 says, with no knowledge of which path ran — which is what lets
exclusive branches meet again in one shared state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contract.expressions import (
    JSONATA_FUNCTIONS,
    STEP_FUNCTIONS_FUNCTIONS,
    Expression,
    iter_strings,
    parse_template,
)
from statemachines.graph import Graph
from statemachines.liveness import reads
from statemachines.options import CompileOptions
from statemachines.topology import NodeInfo, Topology

# Names our own generated expressions bind locally (contract.jsonata.translate and
# .conditions): a node variable of the same name would be shadowed inside them.
LOCAL_NAMES = frozenset({"states", "v", "l", "r", "x"})
# JSONata's keywords: a variable may be named so, but not a field step (``.null``).
KEYWORDS = frozenset({"null", "true", "false", "and", "or", "in", "function"})
LAMBDA_ROOTS = frozenset({"secrets", "item"})  # resolved by the plugin Lambda


@dataclass(frozen=True, slots=True)
class Plan:
    topology: Topology
    routine_variables: dict[str, Any]
    options: CompileOptions
    variable: dict[str, str]  # node → the workflow variable holding its output (stored nodes)
    # if/switch/wait nodes a merge joins: a variable records that they ran (the port an
    # if or switch took), which says at run time whether the merge ran.
    markers: dict[str, str]
    sources: dict[str, tuple[str, ...]]  # merge → the nodes it joins (aliases)
    reads: dict[str, frozenset[str]]  # node → the nodes whose outputs its expressions read
    leaves: tuple[str, ...]  # the nodes the execution's result is made of
    results: dict[str, str]  # loop → the node whose output is an iteration's result
    needed: frozenset[str]  # stored nodes whose output someone reads (or the result holds)
    below: dict[str, int]  # node → bitset of itself and every node after it
    position: dict[str, int]  # node → its place in the topological order
    # node → the paths of its output that expressions evaluated in the machine read: kept
    # inline in the S3 reference when the output is offloaded (plugins.runtime.offload).
    keep: dict[str, tuple[tuple[str | int, ...], ...]]
    # node → the variables its state sets to null: it is their last reader (see clears())
    clears: dict[str, tuple[str, ...]]
    # outputs assigned before anything reads them, on every path: no null needed first
    certain: frozenset[str]

    @property
    def graph(self) -> Graph:
        return self.topology.graph

    def variable_of(self, node_id: str) -> str:
        """The variable a node's state assigns: its output's, or its run marker's."""
        return self.variable.get(node_id) or self.markers[node_id]


def variable_name(node_id: str) -> str:
    reserved = (
        node_id in JSONATA_FUNCTIONS
        or node_id in STEP_FUNCTIONS_FUNCTIONS
        or node_id in LOCAL_NAMES
        or node_id in KEYWORDS
    )
    return f"node_{node_id}" if reserved else node_id


def make_plan(topology: Topology, routine_variables: dict[str, Any], options: CompileOptions) -> Plan:
    graph = topology.graph
    infos = topology.infos
    stored = [
        n
        for n, i in infos.items()
        if not i.node.disabled and (i.is_task or i.plugin.name in ("loop", "approval", "execute-routine"))
    ]
    sources = {
        n: tuple(dict.fromkeys(e.source for e in graph.incoming[n]))
        for n, i in infos.items()
        if i.plugin.name == "merge" and not i.node.disabled
    }
    node_reads = {n: reads(info).nodes for n, info in infos.items()}
    leaves = tuple(
        n
        for n in topology.order
        if (n in stored or n in sources)
        and not topology.enclosing.get(n)
        and all(e.port_type in ("error", "loop") for e in graph.outgoing[n])
    )
    results = {}
    for loop_id, body in topology.loop_bodies.items():
        # The body's last node (of the body itself, not of a loop nested in it) with no
        # connection out of it but a nested loop's body port.
        sinks = [
            n
            for n in body
            if topology.enclosing[n][-1] == loop_id and all(e.port_type == "loop" for e in graph.outgoing[n])
        ]
        if sinks:
            results[loop_id] = max(sinks, key=topology.order.index)
    # An approval's Choice reads its decision from its variable.
    approvals = [n for n in stored if infos[n].plugin.name == "approval"]
    # A loop with until (statemachines.machine.repeat) assigns its result as it ends, where
    # the trace reads it, whether or not a later node does.
    repeats = [n for n in stored if is_until_loop(infos[n])]
    needed: set[str] = set()
    stack = [n for r in node_reads.values() for n in r] + list(leaves) + list(results.values()) + approvals
    stack += repeats
    while stack:
        node = stack.pop()
        if node in needed:
            continue
        needed.add(node)
        # Whether a merge ran is read from what leads into it (through disabled nodes).
        stack.extend(sources.get(node, ()))
        if infos[node].node.disabled:
            stack.extend(e.source for e in graph.incoming[node])
    # What reading a node reads: a merge, the outputs it joins; a disabled node, what leads
    # into it (whether a merge ran is read there: values.RootText._active). Kept to the end
    # (see clears()): what the result reads, and what a loop's Map or an approval's or an
    # until loop's own states read.
    through = {
        **{n: tuple(e.source for e in graph.incoming[n]) for n, i in infos.items() if i.node.disabled},
        **sources,
    }
    kept = _through_merges(set(leaves) | set(results.values()), through) | set(approvals) | set(repeats)
    readers = _readers(through, node_reads, frozenset(stored))
    markers = {
        n: variable_name(n)
        for n in needed
        if infos[n].plugin.name in ("if", "switch", "wait") and not infos[n].node.disabled
    }
    below: dict[str, int] = {}
    for node in reversed(topology.order):
        bits = graph.bit(node)
        for edge in graph.outgoing[node]:
            bits |= below[edge.target]
        below[node] = bits
    return Plan(
        topology=topology,
        routine_variables=routine_variables,
        options=options,
        variable={n: variable_name(n) for n in stored},
        markers=markers,
        sources=sources,
        reads=node_reads,
        leaves=leaves,
        results=results,
        needed=frozenset(n for n in needed if n in stored) | frozenset(markers),
        below=below,
        position={n: i for i, n in enumerate(topology.order)},
        keep=native_paths(topology, sources, results),
        clears=clears(topology, readers, below, kept),
        certain=certain(topology, readers, kept),
    )


def _through_merges(nodes: set[str], through: dict[str, tuple[str, ...]]) -> set[str]:
    """The nodes, and what reading them reads (``through``): the outputs a merge joins (a
    merge has no variable), what leads into a disabled node — and so on."""
    out: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if node not in out:
            out.add(node)
            stack.extend(through.get(node, ()))
    return out


def _readers(
    through: dict[str, tuple[str, ...]], node_reads: dict[str, frozenset[str]], stored: frozenset[str]
) -> dict[str, set[str]]:
    """Stored node → the nodes whose expressions read its output (through merges and
    disabled nodes: :func:`_through_merges`). Every read names its node: the validator
    refuses ``nodes`` as a whole."""
    readers: dict[str, set[str]] = {}
    for node, read in node_reads.items():
        for source in _through_merges(set(read), through) & stored:
            readers.setdefault(source, set()).add(node)
    return readers


def certain(topology: Topology, readers: dict[str, set[str]], kept: set[str]) -> frozenset[str]:
    """The outputs no expression can read unassigned: their node dominates every node that
    reads them (each path to a reader runs through it, and a node that ran has assigned its
    variable: its result, or its error record). The top level's first state need not set
    them to null. Not: disabled nodes (they assign nothing), the result and what the
    machine's own states read (``kept``), nodes inside loops (their iteration's scope)."""
    graph = topology.graph
    dominators: dict[str, int] = {}
    for node in topology.order:
        preds = [dominators[e.source] for e in graph.incoming[node]]
        common = preds[0] if preds else 0
        for bits in preds[1:]:
            common &= bits
        dominators[node] = common | graph.bit(node)
    out = set()
    for source, read_by in readers.items():
        info = topology.infos[source]
        if source in kept or info.node.disabled or topology.enclosing.get(source):
            continue
        if all(r != source and dominators[r] & graph.bit(source) for r in read_by):
            out.add(source)
    return frozenset(out)


def clears(
    topology: Topology, readers: dict[str, set[str]], below: dict[str, int], kept: set[str]
) -> dict[str, tuple[str, ...]]:
    """Liveness: the variables a Task or loop at the top level sets to null in its own
    ``Assign`` because it is their last reader — every other node that reads them comes
    before it on every path (or runs inside it: a loop's iterations), so none reads them
    after. The history and the 10 MiB of variables in scope then hold only live outputs.

    Kept to the end (``kept``): the execution's result, loops' iteration results,
    approvals and until loops (their states read their own variables). A reader in a
    loop's body counts as its outermost loop; an until loop's body runs at the top level
    again and again, so what it reads is never cleared."""
    graph = topology.graph
    infos = topology.infos

    def effective(node: str) -> str:
        loops = topology.enclosing.get(node)
        return loops[0] if loops else node

    out: dict[str, list[str]] = {}
    for source, read_by in readers.items():
        who = {effective(r) for r in read_by}
        if source in kept or topology.enclosing.get(source):
            continue
        last = [r for r in who if all(below[other] & graph.bit(r) for other in who)]
        if len(last) != 1 or last[0] == source:
            continue
        reader = infos[last[0]]
        if not (reader.is_task or reader.plugin.name == "loop") or is_until_loop(reader):
            continue
        if not below[source] & graph.bit(reader.id) or reader.node.disabled:
            continue
        out.setdefault(reader.id, []).append(variable_name(source))
    return {node: tuple(sorted(names)) for node, names in out.items()}


def is_lambda_evaluated(info: NodeInfo, name: str, roots: set[str]) -> bool:
    """Whether a parameter's expressions are left to the plugin Lambda: they read secrets,
    or a root only the plugin has (filter's ``item``)."""
    definition = info.plugin.parameter(name)
    return bool((definition is not None and definition.extra_roots) or roots & LAMBDA_ROOTS)


def expression_roots(value: Any) -> set[str]:
    """The roots of every expression inside ``value``."""
    return {ref.root for expression in _expressions(value) for ref in expression.references}


def _expressions(value: Any) -> list[Expression]:
    return [e for _, text in iter_strings(value) if "{{" in text for e in parse_template(text).expressions]


def native_paths(
    topology: Topology, sources: dict[str, tuple[str, ...]], results: dict[str, str]
) -> dict[str, tuple[tuple[str | int, ...], ...]]:
    """For each node, the paths of its output read by expressions the machine evaluates
    (Arguments, Conditions, Items, Wait times): a path's plain steps, or the whole output
    (``()``) for ``nodes.a`` itself. A merge's paths are its sources'; a loop's are its
    iterations' result node's, without a leading index (``nodes.each[0].id`` and
    ``nodes.each.id`` both read ``id`` of results)."""
    keep: dict[str, set[tuple[str | int, ...]]] = {}

    def add(node: str | None, steps: tuple[str | int, ...]) -> None:
        if node is None:  # nodes itself: every output, whole
            for each in topology.order:
                add(each, ())
            return
        if node in sources:
            if steps and steps[0] in sources[node]:
                add(str(steps[0]), steps[1:])
            else:
                for source in sources[node]:
                    add(source, ())
            return
        keep.setdefault(node, set()).add(steps)
        if node in results:
            add(results[node], steps[1:] if steps and isinstance(steps[0], int) else steps)

    for info in topology.infos.values():
        if info.node.disabled:
            continue
        for name, value in info.parameters.items():
            if info.is_task and is_lambda_evaluated(info, name, expression_roots(value)):
                continue
            for expression in _expressions(value):
                for ref in expression.references:
                    if ref.root == "nodes":
                        add(ref.name, ref.steps[1:] if ref.name else ())
                    elif ref.root == "loop" and ref.name == "previous":
                        # An until loop's previous result: its result node's output.
                        repeat = _repeating(topology, info, name)
                        if repeat in results:
                            add(results[repeat], ref.steps[1:])
    return {
        node: tuple(sorted(paths, key=lambda p: (len(p), [str(s) for s in p])))
        for node, paths in keep.items()
    }


def is_until_loop(info: NodeInfo) -> bool:
    """A loop repeating its body until a condition holds (statemachines.machine.repeat)."""
    return info.plugin.name == "loop" and info.parameters.get("until") is not None and not info.node.disabled


def _repeating(topology: Topology, info: NodeInfo, parameter: str) -> str | None:
    """The until loop whose ``loop.previous`` a parameter reads: the node's own for its
    ``until``, else the loop the node runs in."""
    if parameter == "until" and is_until_loop(info):
        return info.id
    loops = topology.enclosing.get(info.id)
    return loops[-1] if loops and is_until_loop(topology.infos[loops[-1]]) else None


__all__ = [
    "LAMBDA_ROOTS",
    "LOCAL_NAMES",
    "Plan",
    "expression_roots",
    "is_lambda_evaluated",
    "is_until_loop",
    "make_plan",
    "native_paths",
    "variable_name",
]
