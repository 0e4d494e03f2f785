"""A routine as a picture: the conventions shared by ``routines graph`` and the console.

- one box per node, labelled with its id and its plugin (conditions as diamonds);
- edges left to right, labelled with their port when it is not ``out`` (``true``/``false``,
  switch ports, ``body``/``done`` of a loop, an approval's ``approved``…);
- ``error`` edges dashed;
- a loop's body grouped in a box of its own (a Mermaid ``subgraph``), nested for nested
  loops; disabled nodes drawn dashed.

:func:`picture` is the plain structure (for any renderer), :func:`mermaid` Mermaid's
``flowchart LR`` text (GitHub and most docs tools draw it), :func:`svg` a self-contained
SVG (laid out in layers by :mod:`functions.graph_layout`, loop bodies as blocks; the
console lays graphs out with dagre).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from itertools import pairwise

from statemachines.topology import Topology

CONDITIONS = ("if", "switch")
ERROR_PORT = "error"
DEFAULT_PORT = "out"


@dataclass(slots=True, frozen=True)
class PictureNode:
    id: str
    plugin: str
    condition: bool
    disabled: bool
    loop: str | None  # the innermost loop whose body it is in


@dataclass(slots=True, frozen=True)
class PictureEdge:
    source: str
    target: str
    label: str | None  # the port, unless it is "out"
    dashed: bool  # an error edge


@dataclass(slots=True)
class Picture:
    nodes: list[PictureNode]  # in topological order
    edges: list[PictureEdge]
    loops: dict[str, list[str]] = field(default_factory=dict)  # loop → nodes directly in its body


def picture(topology: Topology) -> Picture:
    order = topology.order or list(topology.graph.nodes)
    nodes: list[PictureNode] = []
    loops: dict[str, list[str]] = {loop: [] for loop in topology.loop_bodies}
    for node_id in order:
        info = topology.infos[node_id]
        around = topology.enclosing.get(node_id, ())
        innermost = around[-1] if around else None
        nodes.append(
            PictureNode(
                node_id, info.plugin.name, info.plugin.name in CONDITIONS, bool(info.node.disabled), innermost
            )
        )
        if innermost is not None:
            loops[innermost].append(node_id)
    edges = [
        PictureEdge(
            edge.source,
            edge.target,
            None if edge.port == DEFAULT_PORT else edge.port,
            edge.port == ERROR_PORT,
        )
        for edge in topology.graph.edges
    ]
    return Picture(nodes, edges, loops)


def _mermaid_id(node_id: str) -> str:
    return f"n_{node_id}"  # never a Mermaid keyword ("end", "graph", …)


def mermaid(topology: Topology) -> str:
    """``flowchart LR`` text of the routine (see the module for the conventions)."""
    shown = picture(topology)
    by_id = {node.id: node for node in shown.nodes}
    lines = ["flowchart LR"]

    def box(node: PictureNode, indent: str) -> None:
        label = f"{node.id}<br/><small>{node.plugin}</small>"
        shape = f'{{"{label}"}}' if node.condition else f'["{label}"]'
        lines.append(f"{indent}{_mermaid_id(node.id)}{shape}")
        if node.disabled:
            lines.append(f"{indent}class {_mermaid_id(node.id)} disabled")

    def group(loop: str | None, indent: str) -> None:
        members = [node for node in shown.nodes if node.loop == loop]
        for node in members:
            box(node, indent)
        for node in members:
            if node.id in shown.loops:
                lines.append(f'{indent}subgraph loop_{node.id}["{node.id}: loop body"]')
                lines.append(f"{indent}  direction LR")
                group(node.id, indent + "  ")
                lines.append(f"{indent}end")

    group(None, "  ")
    for edge in shown.edges:
        arrow = "-.->" if edge.dashed else "-->"
        label = f"|{edge.label}|" if edge.label else ""
        lines.append(f"  {_mermaid_id(edge.source)} {arrow}{label} {_mermaid_id(edge.target)}")
    if any(node.disabled for node in by_id.values()):
        lines.append("  classDef disabled stroke-dasharray: 4 4,opacity:0.6")
    return "\n".join(lines) + "\n"


# -- SVG -------------------------------------------------------------------------------------


def svg(topology: Topology) -> str:
    """A self-contained SVG of the routine, laid out by :mod:`functions.graph_layout`."""
    from functions.graph_layout import BOX_H, BOX_W, MARGIN, layout

    shown = picture(topology)
    laid = layout(shown, topology.enclosing)
    width, height = laid.width + 2 * MARGIN, laid.height + 2 * MARGIN
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{height:g}" '
        f'viewBox="0 0 {width:g} {height:g}" font-family="sans-serif" font-size="12">',
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='8' "
        "markerHeight='8' orient='auto-start-reverse'>"
        "<path d='M0,0 L10,5 L0,10 z' fill='#555'/></marker></defs>",
        '<rect width="100%" height="100%" fill="white"/>',
        f'<g transform="translate({MARGIN},{MARGIN})">',
    ]
    for loop, box in laid.loops:  # outer bodies first, so inner ones are drawn over them
        out.append(
            f'<g class="loop" data-loop="{escape(loop)}"><rect x="{box.x:g}" y="{box.y:g}" '
            f'width="{box.width:g}" height="{box.height:g}" rx="8" fill="#f3f6fb" stroke="#9fb3d1"/>'
            f'<text x="{box.x + 6:g}" y="{box.y + 12:g}" fill="#4a5f80" font-size="10">'
            f"{escape(loop)}: loop body</text></g>"
        )
    # Two ports of one node may lead to the same node (a switch's "book" and "food"): one
    # edge, both labels, rather than two curves and two labels drawn over each other.
    joined: dict[tuple[str, str, bool], list[str]] = {}
    for edge in shown.edges:
        labels = joined.setdefault((edge.source, edge.target, edge.dashed), [])
        if edge.label:
            labels.append(edge.label)
    for (source, target, dashed), labels in joined.items():
        start, end = laid.nodes[source], laid.nodes[target]
        points = [(start.x + start.width, start.y + start.height / 2)]
        points += laid.routes.get((source, target), [])  # between the boxes of the columns it spans
        points.append((end.x, end.y + end.height / 2))
        path = f"M{points[0][0]:g},{points[0][1]:g}"
        for (xa, ya), (xb, yb) in pairwise(points):
            mid = (xa + xb) / 2
            path += f" C{mid:g},{ya:g} {mid:g},{yb:g} {xb:g},{yb:g}"
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        arrow = 'marker-end="url(#arrow)"'
        out.append(f'<path class="edge" d="{path}" fill="none" stroke="#555"{dash} {arrow}/>')
        (x1, y1), (x2, y2) = points[0], points[1]
        mid = (x1 + x2) / 2
        if labels:
            out.append(
                f'<text class="edge-label" x="{mid:g}" y="{(y1 + y2) / 2 - 4:g}" text-anchor="middle" '
                f'fill="#333" font-size="10">{escape(", ".join(labels))}</text>'
            )
    for node in shown.nodes:
        box = laid.nodes[node.id]
        x, y = box.x, box.y
        dash = ' stroke-dasharray="4 3"' if node.disabled else ""
        if node.condition:
            cx, cy = x + BOX_W / 2, y + BOX_H / 2
            corners = f"{x:g},{cy:g} {cx:g},{y:g} {x + BOX_W:g},{cy:g} {cx:g},{y + BOX_H:g}"
            shape = f'<polygon points="{corners}" fill="#fff8e6" stroke="#b8860b"{dash}/>'
        else:
            shape = (
                f'<rect x="{x:g}" y="{y:g}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="#fff" '
                f'stroke="#333"{dash}/>'
            )
        out.append(
            f'<g class="node" data-node="{escape(node.id)}">{shape}'
            f'<text x="{x + BOX_W / 2:g}" y="{y + 19:g}" text-anchor="middle" font-weight="bold">'
            f"{escape(node.id)}</text>"
            f'<text x="{x + BOX_W / 2:g}" y="{y + 35:g}" text-anchor="middle" fill="#666">'
            f"{escape(node.plugin)}</text></g>"
        )
    out.append("</g></svg>")
    return "\n".join(out) + "\n"
