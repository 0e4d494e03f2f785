"""Where ``routines graph --format svg`` puts each box: a layered layout, left to right, in
which a loop's body is a block of its own.

The console lays graphs out with dagre in the browser; a command-line picture cannot count
on a JavaScript engine, so this is the same idea (Sugiyama's layers) kept small:

- each loop body is laid out on its own first, and then stands in its loop's group as one
  block, in the column after its loop — so a body's box never encloses a node outside it,
  and nested loops nest;
- a node's column is the longest path to it within its group (every edge points right);
  an edge that spans columns passes through a point of its own in each column between,
  placed like a box, so it runs between boxes rather than through them;
- within a column, items follow the barycentre of their predecessors (fewer crossings),
  and sit level with it where the column has room (straight edges).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from functions.graphs import Picture

BOX_W, BOX_H, GAP_X, GAP_Y, PAD, TITLE, MARGIN = 170, 46, 70, 28, 12, 14, 24


@dataclass(slots=True, frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float


@dataclass(slots=True)
class Layout:
    width: float
    height: float
    nodes: dict[str, Box] = field(default_factory=dict)
    loops: list[tuple[str, Box]] = field(default_factory=list)  # outer bodies before inner ones
    # (source, target) → where an edge that spans columns enters and leaves each column between
    routes: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=dict)

    def moved(self, dx: float, dy: float) -> Layout:
        def shift(box: Box) -> Box:
            return Box(box.x + dx, box.y + dy, box.width, box.height)

        return Layout(
            self.width,
            self.height,
            {node: shift(box) for node, box in self.nodes.items()},
            [(loop, shift(box)) for loop, box in self.loops],
            {edge: [(x + dx, y + dy) for x, y in points] for edge, points in self.routes.items()},
        )


def layout(shown: Picture, enclosing: dict[str, tuple[str, ...]]) -> Layout:
    """Positions of every node and loop body of ``shown`` (``enclosing``: each node's loops,
    outermost first, as :class:`statemachines.topology.Topology` has them)."""
    return _group(shown, enclosing, None)


def _body(loop: str) -> str:
    return f"body:{loop}"  # an item name no node id can take (ids have no ':')


def _via(source: str, target: str, step: int) -> str:
    return f"via:{source}:{target}:{step}"


def _group(shown: Picture, enclosing: dict[str, tuple[str, ...]], group: str | None) -> Layout:
    depth = 0 if group is None else len(enclosing.get(group, ())) + 1
    members = [node.id for node in shown.nodes if node.loop == group]
    blocks = {loop: _group(shown, enclosing, loop) for loop in members if shown.loops.get(loop)}
    items: list[str] = []
    size: dict[str, tuple[float, float]] = {}
    for node in members:
        items.append(node)
        size[node] = (BOX_W, BOX_H)
        if node in blocks:
            block = blocks[node]
            items.append(_body(node))
            size[_body(node)] = (block.width + 2 * PAD, block.height + 2 * PAD + TITLE)

    def item_of(node: str) -> str | None:
        """The item of this group that stands for ``node``, if the node is in the group."""
        loops = enclosing.get(node, ())
        if len(loops) < depth or (group is not None and loops[depth - 1] != group):
            return None
        return node if len(loops) == depth else _body(loops[depth])

    before: dict[str, list[str]] = {item: [] for item in items}
    for loop in blocks:
        before[_body(loop)].append(loop)
    for edge in shown.edges:
        source, target = item_of(edge.source), item_of(edge.target)
        if source and target and source != target and source not in before[target]:
            before[target].append(source)

    column = _columns(items, before)
    routes: dict[tuple[str, str], list[str]] = {}
    for target in list(items):
        for index, source in enumerate(before[target]):
            span = column[target] - column[source]
            if span < 2:
                continue
            points = [_via(source, target, step) for step in range(1, span)]
            for step, point in enumerate(points, start=1):
                items.append(point)
                size[point] = (0.0, GAP_Y / 2)
                column[point] = column[source] + step
                before[point] = [points[step - 2] if step > 1 else source]
            before[target][index] = points[-1]
            routes[(source, target)] = points
    place = _rows(items, before, column, size)
    widths = [0.0] * (max(column.values(), default=0) + 1)
    for item in items:
        widths[column[item]] = max(widths[column[item]], size[item][0])
    lefts = [sum(widths[:index]) + GAP_X * index for index in range(len(widths))]

    result = Layout(sum(widths) + GAP_X * (len(widths) - 1), 0)
    for (source, target), points in routes.items():
        if not source.startswith("body:") and not target.startswith("body:"):
            result.routes[(source, target)] = [
                (x, place[point] + size[point][1] / 2)
                for point in points
                for x in (lefts[column[point]], lefts[column[point]] + widths[column[point]])
            ]
    for item in items:
        x, y = lefts[column[item]], place[item]
        width, height = size[item]
        result.height = max(result.height, y + height)
        if item.startswith("via:"):
            continue
        if not item.startswith("body:"):
            result.nodes[item] = Box(x, y, width, height)
            continue
        loop = item.removeprefix("body:")
        result.loops.append((loop, Box(x, y, width, height)))
        inner = blocks[loop].moved(x + PAD, y + PAD + TITLE)
        result.nodes.update(inner.nodes)
        result.loops.extend(inner.loops)
        result.routes.update(inner.routes)
    return result


def _columns(items: list[str], before: dict[str, list[str]]) -> dict[str, int]:
    """Longest path from a source, over the items in an order where every edge points on."""
    column: dict[str, int] = {}
    pending = list(items)
    while pending:
        ready = [item for item in pending if all(source in column for source in before[item])]
        if not ready:  # cannot happen in a valid routine (a DAG); never loop forever
            ready = pending[:1]
        for item in ready:
            column[item] = max((column.get(source, -1) + 1 for source in before[item]), default=0)
            pending.remove(item)
    return column


def _rows(
    items: list[str],
    before: dict[str, list[str]],
    column: dict[str, int],
    size: dict[str, tuple[float, float]],
) -> dict[str, float]:
    """Top of each item: columns filled left to right, each in its predecessors' order."""
    top: dict[str, float] = {}
    rank = {item: index for index, item in enumerate(items)}
    for current in range(max(column.values(), default=-1) + 1):
        here = [item for item in items if column[item] == current]

        def centre(item: str) -> float:
            placed = [top[source] + size[source][1] / 2 for source in before[item] if source in top]
            return sum(placed) / len(placed) if placed else float(rank[item]) * (BOX_H + GAP_Y)

        cursor = 0.0
        for item in sorted(here, key=lambda item: (centre(item), rank[item])):
            top[item] = max(cursor, centre(item) - size[item][1] / 2)
            cursor = top[item] + size[item][1] + GAP_Y
    return top
