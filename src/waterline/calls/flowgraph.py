"""A flow as a drawable graph: its nodes and edges with a layered (Sugiyama-style) layout.

The console's flow editor draws this as SVG. The layout is computed here, in pure Python, so it is
the same in every browser and testable without one:

1. **Cycles**: a depth-first search from ``start`` (then from every node it did not reach, in file
   order) marks each edge that closes a cycle as a *back* edge (a menu's "invalid, try again" loop,
   "no open order → menu"). The other edges form a DAG.
2. **Layers**: each node's layer is the longest path to it over the DAG, so every forward edge
   points down and a node shared by many branches (``goodbye``) sits below all of them.
3. **Long edges**: an edge spanning several layers gets a waypoint in each layer it crosses (a
   narrow slot of its own in that row), so it passes between boxes instead of through them. Long
   edges into the same node share the waypoint of each row (a bundle, like a bus bar), so the many
   "on failure → goodbye" arrows of a hotline flow draw as one line, not a dozen.
4. **Order**: within a layer nodes start in discovery order; a few down-and-up sweeps move each node
   (and waypoint) to the barycentre of its neighbours in the layers already placed, which removes most
   crossings.
5. **Coordinates**: fixed-size boxes and narrow waypoint slots, layers stacked top to bottom, each
   layer centred.

Flows are small (tens of nodes), so the quadratic parts cost nothing worth optimising.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from waterline.calls.flow import (
    BranchNode,
    ClockNode,
    CollectNode,
    ComplaintNode,
    Flow,
    HangupNode,
    IdentifyNode,
    MenuNode,
    OrderStatusNode,
    QueueNode,
    ReorderNode,
    SayItem,
    SetNode,
    SurveyNode,
    TransferNode,
    VoicemailNode,
)

__all__ = ["FlowGraph", "GraphEdge", "GraphNode", "Layout", "flow_graph"]

SUMMARY_WIDTH = 22
"""How much of a summary fits a box, in half-width columns (a Chinese character takes two)."""
SWEEPS = 4


@dataclass(frozen=True, slots=True)
class Layout:
    """Box sizes and gaps of the drawing, in SVG user units."""

    node_width: float = 168.0
    node_height: float = 52.0
    column_gap: float = 28.0
    layer_gap: float = 56.0
    margin: float = 24.0
    waypoint_gap: float = 18.0
    """The width a long edge's waypoint takes in a row it crosses."""


@dataclass(frozen=True, slots=True)
class GraphNode:
    """One flow node placed on the drawing; ``x``/``y`` is the box's top-left corner."""

    id: str
    kind: str
    summary: str
    layer: int
    position: int
    x: float
    y: float
    start: bool
    reachable: bool


@dataclass(frozen=True, slots=True)
class GraphEdge:
    """A way from one node to the next; ``label`` is the digit, case or outcome that takes it and
    ``field`` the flow field it comes from. ``back`` edges close a cycle (they point up or sideways)."""

    source: str
    target: str
    field: str
    label: str
    back: bool
    points: tuple[tuple[float, float], ...] = ()
    """Waypoints of a forward edge spanning several layers: one per layer crossed, at the middle of
    that row's height, from top to bottom."""


@dataclass(frozen=True, slots=True)
class FlowGraph:
    """The drawable flow: nodes in file order, edges in each node's field order, and the drawing size."""

    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    width: float
    height: float


def _edge_label(field: str) -> str:
    if field.startswith("options."):
        return field.removeprefix("options.")
    if field.startswith("cases."):
        return f"case {int(field.split('.')[1]) + 1}"
    return {"next": "", "on_failure": "failure", "on_error": "error", "else": "else"}.get(field, field)


def _columns(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _shorten(text: str) -> str:
    """``text`` on one line, cut to :data:`SUMMARY_WIDTH` columns with an ellipsis."""
    text = " ".join(text.split())
    if sum(_columns(c) for c in text) <= SUMMARY_WIDTH:
        return text
    kept, used = [], 0
    for char in text:
        used += _columns(char)
        if used > SUMMARY_WIDTH - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


def _say(items: Sequence[SayItem]) -> str:
    for item in items:
        if item.prompt is not None:
            return f"♪ {item.prompt}"
        if item.text:
            return item.text
    return ""


def _summary(node: object) -> str:
    """A short line telling what the node does (what it says, where it transfers...)."""
    if isinstance(node, QueueNode):
        return f"queue {node.queue}"
    if isinstance(node, TransferNode):
        return f"→ {node.target}"
    if isinstance(node, SetNode):
        return ", ".join(f"{k}={v}" for k, v in node.values.items())
    if isinstance(node, CollectNode | SurveyNode) and not node.say:
        return f"→ {node.into}"
    if isinstance(node, BranchNode):
        return ", ".join(sorted({name for case in node.cases for name in case.when}))
    if isinstance(node, IdentifyNode | ReorderNode | OrderStatusNode | ClockNode):
        return f"→ {node.into}"
    if isinstance(node, ComplaintNode):
        return node.reason
    if isinstance(node, VoicemailNode) and not node.say:
        return f"≤ {node.max_seconds:g} s"
    if isinstance(node, HangupNode) and not node.say:
        return node.outcome or ""
    if isinstance(node, MenuNode) and not node.say:
        return " ".join(node.options)
    return _say(getattr(node, "say", ()))


def _edges(flow: Flow) -> Iterator[tuple[str, str, str]]:
    for node_id, node in flow.nodes.items():
        for field, target in node.targets():
            yield node_id, field, target


def _back_edges(flow: Flow, roots: Sequence[str]) -> set[tuple[str, str, str]]:
    """Edges that close a cycle in a DFS from ``roots`` in order (iterative: no recursion limit)."""
    successors = {node_id: [(f, t) for _, f, t in _edges_of(flow, node_id)] for node_id in flow.nodes}
    state: dict[str, int] = {}  # 1 on the DFS stack, 2 done
    back: set[tuple[str, str, str]] = set()
    for root in roots:
        if root in state:
            continue
        state[root] = 1
        stack: list[tuple[str, Iterator[tuple[str, str]]]] = [(root, iter(successors[root]))]
        while stack:
            node_id, pending = stack[-1]
            step = next(pending, None)
            if step is None:
                state[node_id] = 2
                stack.pop()
                continue
            field, target = step
            seen = state.get(target)
            if seen == 1:
                back.add((node_id, field, target))
            elif seen is None:
                state[target] = 1
                stack.append((target, iter(successors[target])))
    return back


def _edges_of(flow: Flow, node_id: str) -> Iterator[tuple[str, str, str]]:
    for field, target in flow.nodes[node_id].targets():
        yield node_id, field, target


def _discovery_order(flow: Flow, roots: Sequence[str]) -> list[str]:
    """Nodes in breadth-first order from each root in turn: a natural left-to-right start."""
    order: list[str] = []
    seen: set[str] = set()
    for root in roots:
        if root in seen:
            continue
        seen.add(root)
        queue = [root]
        while queue:
            node_id = queue.pop(0)
            order.append(node_id)
            for _, _, target in _edges_of(flow, node_id):
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
    return order


def _layers(flow: Flow, forward: Sequence[tuple[str, str]], order: Sequence[str]) -> dict[str, int]:
    """Longest-path layering over the acyclic ``forward`` edges (Kahn's topological order)."""
    incoming = {node_id: 0 for node_id in flow.nodes}
    outgoing: dict[str, list[str]] = {node_id: [] for node_id in flow.nodes}
    for source, target in forward:
        incoming[target] += 1
        outgoing[source].append(target)
    layer = dict.fromkeys(flow.nodes, 0)
    ready = [node_id for node_id in order if incoming[node_id] == 0]
    while ready:
        node_id = ready.pop(0)
        for target in outgoing[node_id]:
            layer[target] = max(layer[target], layer[node_id] + 1)
            incoming[target] -= 1
            if incoming[target] == 0:
                ready.append(target)
    return layer


def _order_layers(rows: list[list[str]], forward: Sequence[tuple[str, str]]) -> list[list[str]]:
    """Barycentre sweeps: each node moves towards the mean position of its placed neighbours."""
    above: dict[str, list[str]] = {node_id: [] for row in rows for node_id in row}
    below: dict[str, list[str]] = {node_id: [] for row in rows for node_id in row}
    for source, target in forward:
        above[target].append(source)
        below[source].append(target)

    def place(row: list[str], neighbours: dict[str, list[str]], position: dict[str, float]) -> list[str]:
        def key(item: tuple[int, str]) -> float:
            index, node_id = item
            placed = [position[n] for n in neighbours[node_id] if n in position]
            return sum(placed) / len(placed) if placed else float(index)

        return [node_id for _, node_id in sorted(enumerate(row), key=key)]

    def positions(sweep_rows: list[list[str]]) -> dict[str, float]:
        # relative position in its row, so rows of different widths compare
        return {n: (i + 0.5) / len(row) * 100 for row in sweep_rows for i, n in enumerate(row)}

    for _ in range(SWEEPS):
        for index in range(1, len(rows)):
            others = positions([rows[i] for i in range(index) if rows[i]])
            rows[index] = place(rows[index], above, others)
        for index in range(len(rows) - 2, -1, -1):
            others = positions([rows[i] for i in range(index + 1, len(rows)) if rows[i]])
            rows[index] = place(rows[index], below, others)
    return rows


def _waypoint(target: str, layer: int) -> str:
    # "~" cannot start a node id, so a waypoint never collides with a node
    return f"~{target}~{layer}"


def flow_graph(flow: Flow, layout: Layout | None = None) -> FlowGraph:
    """The nodes and edges of ``flow`` with a layered top-to-bottom layout."""
    layout = layout or Layout()
    unreachable = set(flow.unreachable)
    roots = [flow.start, *(n for n in flow.nodes if n in unreachable)]
    back = _back_edges(flow, roots)
    edges = list(_edges(flow))
    forward = [(s, t) for s, f, t in edges if (s, f, t) not in back and s != t]
    order = _discovery_order(flow, roots)
    layer = _layers(flow, forward, order)
    depth = max(layer.values(), default=0) + 1
    rows: list[list[str]] = [[] for _ in range(depth)]
    for node_id in order:
        rows[layer[node_id]].append(node_id)
    # long edges become chains through waypoints, shared by the edges into the same target
    chained: list[tuple[str, str]] = []
    waypoints: dict[tuple[str, str], list[str]] = {}
    for source, target in dict.fromkeys(forward):
        span = range(layer[source] + 1, layer[target])
        chain = [_waypoint(target, k) for k in span]
        for k, point in zip(span, chain, strict=True):
            if point not in rows[k]:
                rows[k].append(point)
        waypoints[(source, target)] = chain
        hops = [source, *chain, target]
        chained.extend(zip(hops, hops[1:], strict=False))
    rows = _order_layers(rows, chained)

    def slot(item: str) -> float:
        return layout.waypoint_gap if item.startswith("~") else layout.node_width + layout.column_gap

    def extent(row: list[str]) -> float:
        # the last box needs no gap after it
        trailing = layout.column_gap if row and not row[-1].startswith("~") else 0.0
        return sum(slot(item) for item in row) - trailing

    row_widths = [extent(row) for row in rows]
    widest = max(row_widths, default=0.0)
    step_y = layout.node_height + layout.layer_gap
    placed: dict[str, tuple[int, int, float, float]] = {}
    for index, row in enumerate(rows):
        x = layout.margin + (widest - row_widths[index]) / 2
        y = layout.margin + index * step_y
        position = 0
        for item in row:
            if item.startswith("~"):
                placed[item] = (index, -1, x + layout.waypoint_gap / 2, y + layout.node_height / 2)
            else:
                placed[item] = (index, position, x, y)
                position += 1
            x += slot(item)
    nodes = tuple(
        GraphNode(
            id=node_id, kind=node.kind, summary=_shorten(_summary(node)), layer=placed[node_id][0],
            position=placed[node_id][1], x=placed[node_id][2], y=placed[node_id][3],
            start=node_id == flow.start, reachable=node_id not in unreachable,
        )
        for node_id, node in flow.nodes.items()
    )
    graph_edges = tuple(
        GraphEdge(
            source=s, target=t, field=f, label=_edge_label(f), back=(s, f, t) in back or s == t,
            points=tuple((placed[p][2], placed[p][3]) for p in waypoints.get((s, t), ()))
            if (s, f, t) not in back else (),
        )
        for s, f, t in edges
    )
    width = 2 * layout.margin + widest
    height = 2 * layout.margin + depth * step_y - layout.layer_gap
    return FlowGraph(nodes=nodes, edges=graph_edges, width=width, height=height)
