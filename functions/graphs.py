"""A routine as a picture: the conventions shared by ``routines graph`` and the console.

- one box per node, labelled with its id and its plugin (conditions as diamonds);
- edges left to right, labelled with their port when it is not ``out`` (``true``/``false``,
  switch ports, ``body``/``done`` of a loop, an approval's ``approved``…);
- ``error`` edges dashed;
- a loop's body grouped in a box of its own (a Mermaid ``subgraph``), nested for nested
  loops; disabled nodes drawn dashed.

:func:`picture` is the plain structure (for any renderer), :func:`mermaid` Mermaid's
``flowchart LR`` text (GitHub and most docs tools draw it), :func:`svg` a self-contained
SVG with a small layered layout (columns by longest path from the start, in topological
order; no crossing minimisation — the console lays graphs out with dagre).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

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

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN, PAD = 170, 46, 70, 28, 24, 12


def _layers(shown: Picture) -> dict[str, int]:
    """Column of each node: the longest path to it from a node without inputs."""
    column = {node.id: 0 for node in shown.nodes}
    incoming: dict[str, list[str]] = {node.id: [] for node in shown.nodes}
    for edge in shown.edges:
        incoming[edge.target].append(edge.source)
    for node in shown.nodes:  # topological order
        for source in incoming[node.id]:
            column[node.id] = max(column[node.id], column[source] + 1)
    return column


def svg(topology: Topology) -> str:
    """A self-contained SVG of the routine: columns left to right (see the module)."""
    shown = picture(topology)
    column = _layers(shown)
    rows: dict[int, int] = {}
    position: dict[str, tuple[float, float]] = {}
    for node in shown.nodes:
        row = rows.get(column[node.id], 0)
        rows[column[node.id]] = row + 1
        position[node.id] = (MARGIN + column[node.id] * (BOX_W + GAP_X), MARGIN + row * (BOX_H + GAP_Y))
    width = MARGIN * 2 + (max(column.values(), default=0) + 1) * (BOX_W + GAP_X) - GAP_X
    height = MARGIN * 2 + max(rows.values(), default=1) * (BOX_H + GAP_Y) - GAP_Y
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='8' "
        "markerHeight='8' orient='auto-start-reverse'>"
        "<path d='M0,0 L10,5 L0,10 z' fill='#555'/></marker></defs>",
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    # Loop bodies: a box around their nodes (nested loops' boxes inside their loop's).
    for loop in sorted(shown.loops, key=lambda name: -len(topology.loop_bodies[name])):
        members = [position[n] for n in topology.loop_bodies[loop] if n in position]
        if not members:
            continue
        depth = len(topology.enclosing.get(loop, ()))
        pad = PAD - 3 * depth
        x0 = min(x for x, _ in members) - pad
        y0 = min(y for _, y in members) - pad - 10
        x1 = max(x for x, _ in members) + BOX_W + pad
        y1 = max(y for _, y in members) + BOX_H + pad
        out.append(
            f'<g class="loop" data-loop="{escape(loop)}"><rect x="{x0}" y="{y0}" width="{x1 - x0}" '
            f'height="{y1 - y0}" rx="8" fill="#f3f6fb" stroke="#9fb3d1"/>'
            f'<text x="{x0 + 6}" y="{y0 + 12}" fill="#4a5f80" font-size="10">'
            f"{escape(loop)}: loop body</text></g>"
        )
    for edge in shown.edges:
        sx, sy = position[edge.source]
        tx, ty = position[edge.target]
        x1, y1, x2, y2 = sx + BOX_W, sy + BOX_H / 2, tx, ty + BOX_H / 2
        mid = (x1 + x2) / 2
        dash = ' stroke-dasharray="6 4"' if edge.dashed else ""
        out.append(
            f'<path class="edge" d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" '
            f'stroke="#555"{dash} marker-end="url(#arrow)"/>'
        )
        if edge.label:
            out.append(
                f'<text x="{mid}" y="{(y1 + y2) / 2 - 4}" text-anchor="middle" fill="#333" '
                f'font-size="10">{escape(edge.label)}</text>'
            )
    for node in shown.nodes:
        x, y = position[node.id]
        dash = ' stroke-dasharray="4 3"' if node.disabled else ""
        if node.condition:
            cx, cy = x + BOX_W / 2, y + BOX_H / 2
            points = f"{x},{cy} {cx},{y} {x + BOX_W},{cy} {cx},{y + BOX_H}"
            shape = f'<polygon points="{points}" fill="#fff8e6" stroke="#b8860b"{dash}/>'
        else:
            shape = (
                f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="#fff" '
                f'stroke="#333"{dash}/>'
            )
        out.append(
            f'<g class="node" data-node="{escape(node.id)}">{shape}'
            f'<text x="{x + BOX_W / 2}" y="{y + 19}" text-anchor="middle" font-weight="bold">'
            f"{escape(node.id)}</text>"
            f'<text x="{x + BOX_W / 2}" y="{y + 35}" text-anchor="middle" fill="#666">'
            f"{escape(node.plugin)}</text></g>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
